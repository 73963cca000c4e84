/* cpu_pool.c — max pooling. A fast path when the windows are disjoint (each pixel in at most
 * one window: straight loops, no window search on the way back) and a general path for
 * overlapping or gapped windows. Both give dout to every element equal to its window's max, as
 * the seed's naive mask does, so the two paths and the reference agree exactly. */
#include <stdint.h>
#include <string.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "cpu_simd.h"

static float window_max(const float *plane, const PoolGeom *g, int i, int j)
{
    const float *p = plane + (size_t)i * g->stride * g->W + (size_t)j * g->stride;
    float m = p[0];
    for (int di = 0; di < g->ph; di++)
        for (int dj = 0; dj < g->pw; dj++)
            if (p[(size_t)di * g->W + dj] > m) m = p[(size_t)di * g->W + dj];
    return m;
}

void cpu_max_pool_forward(const Backend *be, float *out, const float *x, const PoolGeom *g)
{
    (void)be;
    size_t planes = (size_t)g->N * g->C, in_plane = (size_t)g->H * g->W;
#pragma omp parallel for if (planes * in_plane > CPU_PARALLEL_MIN)
    for (size_t nc = 0; nc < planes; nc++)
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++)
                out[(nc * g->Ho + i) * g->Wo + j] = window_max(x + nc * in_plane, g, i, j);
}

/* a == b ? v : 0 without a branch: with random data half the pixels of a 2x2 window would
 * mispredict. Bit masking keeps v exact (0 * v would turn an infinite v into NaN). */
static inline float select_if_equal(float a, float b, float v)
{
    uint32_t bits, mask = -(uint32_t)(a == b);
    memcpy(&bits, &v, sizeof bits);
    bits &= mask;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Disjoint windows (pool_geom_disjoint): every pixel lies in at most one window, so each dx is
 * written once (no clearing, no accumulation) straight from its window's max and gradient;
 * pixels past the last window (a floor output size, pool2 on 31x31) get 0. One (n, c) plane. */
CPU_VECTOR_CLONES static void backward_disjoint_plane(float *dx, const float *dout, const float *x, const float *out,
                                                      const PoolGeom *g)
{
    int covered_w = g->Wo * g->pw, covered_h = g->Ho * g->ph;
    for (int i = 0; i < g->Ho; i++)
        for (int di = 0; di < g->ph; di++) {
            size_t row = ((size_t)i * g->ph + di) * g->W;
            const float *o = out + (size_t)i * g->Wo, *d = dout + (size_t)i * g->Wo;
            for (int j = 0; j < g->Wo; j++)
                for (int dj = 0; dj < g->pw; dj++) {
                    size_t at = row + (size_t)j * g->pw + dj;
                    dx[at] = select_if_equal(x[at], o[j], d[j]);
                }
            memset(dx + row + covered_w, 0, (size_t)(g->W - covered_w) * sizeof *dx);
        }
    memset(dx + (size_t)covered_h * g->W, 0, (size_t)(g->H - covered_h) * g->W * sizeof *dx);
}

static void backward_disjoint(float *dx, const float *dout, const float *x, const float *out,
                              const PoolGeom *g)
{
    size_t planes = (size_t)g->N * g->C, in_plane = (size_t)g->H * g->W, out_plane = (size_t)g->Ho * g->Wo;
#pragma omp parallel for if (planes * in_plane > CPU_PARALLEL_MIN)
    for (size_t nc = 0; nc < planes; nc++)
        backward_disjoint_plane(dx + nc * in_plane, dout + nc * out_plane, x + nc * in_plane, out + nc * out_plane, g);
}

/* General: scatter each window's gradient to its maxima; overlapping windows accumulate. */
static void backward_general(float *dx, const float *dout, const float *x, const float *out,
                             const PoolGeom *g)
{
    size_t planes = (size_t)g->N * g->C, in_plane = (size_t)g->H * g->W;
    memset(dx, 0, planes * in_plane * sizeof *dx);
#pragma omp parallel for if (planes * in_plane > CPU_PARALLEL_MIN)
    for (size_t nc = 0; nc < planes; nc++)
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++) {
                size_t o = (nc * g->Ho + i) * g->Wo + j;
                size_t base = nc * in_plane + (size_t)i * g->stride * g->W + (size_t)j * g->stride;
                for (int di = 0; di < g->ph; di++)
                    for (int dj = 0; dj < g->pw; dj++) {
                        size_t xi = base + (size_t)di * g->W + dj;
                        if (x[xi] == out[o]) dx[xi] += dout[o];
                    }
            }
}

void cpu_max_pool_backward(const Backend *be, float *dx, const float *dout, const float *x, const float *out,
                           const PoolGeom *g)
{
    (void)be;
    if (pool_geom_disjoint(g)) backward_disjoint(dx, dout, x, out, g);
    else backward_general(dx, dout, x, out, g);
}

/* Global average pool: one row (an image's channel) per iteration, summed in double so that a
 * large H*W loses nothing. */
void cpu_global_avg_pool_forward(const Backend *be, float *out, const float *x, size_t rows, int S)
{
    (void)be;
#pragma omp parallel for if (rows * S > CPU_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (int k = 0; k < S; k++) s += x[r * S + k];
        out[r] = (float)(s / S);
    }
}

void cpu_global_avg_pool_backward(const Backend *be, float *dx, const float *dout, size_t rows, int S)
{
    (void)be;
#pragma omp parallel for if (rows * S > CPU_PARALLEL_MIN)
    for (size_t r = 0; r < rows; r++) {
        float d = dout[r] / (float)S;
        for (int k = 0; k < S; k++) dx[r * S + k] = d;
    }
}
