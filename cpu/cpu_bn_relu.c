/* cpu_bn_relu.c — batchnorm + relu (+ a tiling max pool) fused: fewer passes over memory.
 *
 * Unfused, the forward reads x twice (statistics, normalisation) and writes the batchnorm output,
 * relu reads it and writes its own, the pool reads that and writes the pooled map: 4 full-size
 * reads and 2 full-size writes. Fused: x is read twice and only the (pooled) output is written.
 * The backward recomputes y = batchnorm(x) from x, beta, mean and inv_std instead of reading
 * stored activations: per channel, one pass writes dy (the gradient at y, through pool and relu)
 * into dx plane by plane and sums it while the plane is in cache, one turns dx's dy into dx in
 * place; no other intermediate is stored.
 *
 * Semantics are the unfused ops': relu'(0) = 0; a window's gradient goes to every element equal
 * to its max (the seed's mask), the max taken over the recomputed relu outputs, so the tie test
 * never depends on how the forward rounded. Statistics in double, as cpu_batchnorm.c. Channels
 * are spread over threads; each channel's planes are (N, S) with stride C*S. */
#include <math.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "cpu_simd.h"

#define AT(n, c) (((size_t)(n) * C + (c)) * S)

/* The normalisation of one channel: y = (x - mean) * scale + shift. */
typedef struct Affine1 {
    float mean, scale, shift;
} Affine1;

static inline float bn_y(Affine1 a, float x) { return (x - a.mean) * a.scale + a.shift; }
static inline float relu(float y) { return y > 0 ? y : 0; }

/* Batch statistics of channel c (train mode), running statistics updated; or the running ones. */
static Affine1 channel_affine(float *mean, float *inv_std, float *running_mean, float *running_var,
                              const float *x, const float *gamma, const float *beta, const BNConfig *cfg,
                              int N, int C, int S, int c)
{
    double sum = 0, sq = 0;
    if (cfg->train) cpu_bn_channel_sums(&sum, &sq, x, NULL, N, C, S, c);
    float m, istd;
    cpu_bn_channel_stats(&m, &istd, mean, inv_std, running_mean, running_var, sum, sq, (double)N * S, cfg, c);
    return (Affine1){m, gamma[c] * istd, beta[c]};
}

/* The relu(batchnorm) plane is built in a buffer on the stack (in L1, one vectorised pass) and
 * pooled from there when it fits; larger planes are pooled straight from x. */
#define PLANE_BUF 4096

/* One (n, c) plane of H x W pooled into Ho x Wo (tiled windows). */
CPU_VECTOR_CLONES static void pool_plane(float *o, const float *xs, Affine1 a, const PoolGeom *g)
{
    int S = g->H * g->W;
    if (S <= PLANE_BUF) {
        float r[PLANE_BUF];
#pragma omp simd
        for (int s = 0; s < S; s++) r[s] = relu(bn_y(a, xs[s]));
        if (g->ph == 2 && g->pw == 2) { /* the common window, in a loop the compiler vectorises */
            for (int i = 0; i < g->Ho; i++) {
                const float *r0 = r + (size_t)2 * i * g->W, *r1 = r0 + g->W;
                float *oi = o + (size_t)i * g->Wo;
#pragma omp simd
                for (int j = 0; j < g->Wo; j++) {
                    float m0 = r0[2 * j] > r0[2 * j + 1] ? r0[2 * j] : r0[2 * j + 1];
                    float m1 = r1[2 * j] > r1[2 * j + 1] ? r1[2 * j] : r1[2 * j + 1];
                    oi[j] = m0 > m1 ? m0 : m1;
                }
            }
            return;
        }
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++) {
                const float *p = r + (size_t)i * g->ph * g->W + (size_t)j * g->pw;
                float m = p[0];
                for (int di = 0; di < g->ph; di++)
                    for (int dj = 0; dj < g->pw; dj++)
                        if (p[(size_t)di * g->W + dj] > m) m = p[(size_t)di * g->W + dj];
                o[(size_t)i * g->Wo + j] = m;
            }
        return;
    }
    for (int i = 0; i < g->Ho; i++)
        for (int j = 0; j < g->Wo; j++) {
            const float *p = xs + (size_t)i * g->ph * g->W + (size_t)j * g->pw;
            float m = relu(bn_y(a, p[0]));
            for (int di = 0; di < g->ph; di++)
                for (int dj = 0; dj < g->pw; dj++) {
                    float r = relu(bn_y(a, p[(size_t)di * g->W + dj]));
                    if (r > m) m = r;
                }
            o[(size_t)i * g->Wo + j] = m;
        }
}

/* Channel c of the fused forward. */
CPU_VECTOR_CLONES static void forward_channel(float *out, float *mean, float *inv_std, float *running_mean,
                                              float *running_var, const float *x, const float *gamma,
                                              const float *beta, const BNConfig *cfg, const PoolGeom *pool, int N,
                                              int C, int S, int So, int c)
{
    Affine1 a = channel_affine(mean, inv_std, running_mean, running_var, x, gamma, beta, cfg, N, C, S, c);
    for (int n = 0; n < N; n++) {
        const float *xs = x + AT(n, c);
        float *os = out + ((size_t)n * C + c) * So;
        if (pool) {
            pool_plane(os, xs, a, pool);
            continue;
        }
#pragma omp simd
        for (int s = 0; s < S; s++) os[s] = relu(bn_y(a, xs[s]));
    }
}

void cpu_bn_relu_pool_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                              float *running_var, const float *x, const float *gamma, const float *beta,
                              const BNConfig *cfg, const PoolGeom *pool, int N, int C, int S)
{
    (void)be;
    int So = pool ? pool->Ho * pool->Wo : S;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++)
        forward_channel(out, mean, inv_std, running_mean, running_var, x, gamma, beta, cfg, pool, N, C, S, So, c);
}

/* dy (the gradient at y = batchnorm(x)) of one pooled (n, c) plane, written into dys: a
 * window's dout goes to each element whose relu output is the window's max, and y > 0. */
CPU_VECTOR_CLONES static void pooled_dy(float *dys, const float *xs, const float *ds, Affine1 a, const PoolGeom *g)
{
    int S = g->H * g->W;
#pragma omp simd
    for (int s = 0; s < S; s++) dys[s] = relu(bn_y(a, xs[s]));
    if (g->ph == 2 && g->pw == 2) { /* the common window, in a loop the compiler vectorises */
        for (int i = 0; i < g->Ho; i++) {
            float *r0 = dys + (size_t)2 * i * g->W, *r1 = r0 + g->W;
            const float *d = ds + (size_t)i * g->Wo;
#pragma omp simd
            for (int j = 0; j < g->Wo; j++) {
                /* every load unconditional and & instead of &&: no branch, so it vectorises */
                float a0 = r0[2 * j], a1 = r0[2 * j + 1], b0 = r1[2 * j], b1 = r1[2 * j + 1], dj = d[j];
                float m0 = a0 > a1 ? a0 : a1, m1 = b0 > b1 ? b0 : b1, m = m0 > m1 ? m0 : m1;
                r0[2 * j] = ((a0 > 0) & (a0 == m)) ? dj : 0.0f;
                r0[2 * j + 1] = ((a1 > 0) & (a1 == m)) ? dj : 0.0f;
                r1[2 * j] = ((b0 > 0) & (b0 == m)) ? dj : 0.0f;
                r1[2 * j + 1] = ((b1 > 0) & (b1 == m)) ? dj : 0.0f;
            }
        }
        return;
    }
    for (int i = 0; i < g->Ho; i++)
        for (int j = 0; j < g->Wo; j++) {
            float *p = dys + (size_t)i * g->ph * g->W + (size_t)j * g->pw;
            float m = p[0], d = ds[(size_t)i * g->Wo + j];
            for (int di = 0; di < g->ph; di++)
                for (int dj = 0; dj < g->pw; dj++)
                    if (p[(size_t)di * g->W + dj] > m) m = p[(size_t)di * g->W + dj];
            for (int di = 0; di < g->ph; di++)
                for (int dj = 0; dj < g->pw; dj++) {
                    float *v = &p[(size_t)di * g->W + dj];
                    *v = *v > 0 && *v == m ? d : 0;
                }
        }
}

/* Channel c of the fused backward, in two passes: the first writes dy into dx (the plane is in
 * cache while it is summed), the second turns it into dx in place. */
CPU_VECTOR_CLONES static void backward_channel(float *dx, float *dgamma, float *dbeta, const float *dout,
                                               const float *out, const float *x, const float *gamma,
                                               const float *beta, const float *mean, const float *inv_std,
                                               const PoolGeom *pool, int N, int C, int S, int So, int c)
{
    double count = (double)N * S;
    Affine1 a = {mean[c], gamma[c] * inv_std[c], beta[c]};
    double sum_d = 0, sum_dx = 0; /* sum(dy), sum(dy * x) */
    for (int n = 0; n < N; n++) {
        const float *xs = x + AT(n, c), *ds = dout + ((size_t)n * C + c) * So;
        float *dys = dx + AT(n, c);
        if (pool) {
            pooled_dy(dys, xs, ds, a, pool);
        } else {
            const float *os = out + AT(n, c);
#pragma omp simd
            for (int s = 0; s < S; s++) {
                float d = ds[s]; /* loaded unconditionally: the select vectorises */
                dys[s] = os[s] > 0 ? d : 0.0f;
            }
        }
#pragma omp simd reduction(+ : sum_d, sum_dx)
        for (int s = 0; s < S; s++) sum_d += dys[s], sum_dx += (double)dys[s] * xs[s];
    }
    double sum_dxhat = (sum_dx - mean[c] * sum_d) * inv_std[c];
    dgamma[c] = (float)sum_dxhat;
    dbeta[c] = (float)sum_d;
    /* dx = k * (M dy - sum(dy) - x_hat sum(dy x_hat)), as cpu_batchnorm.c */
    float k = (float)(gamma[c] * inv_std[c] / count), M = (float)count;
    float sd = (float)sum_d, sdh = (float)sum_dxhat, mu = mean[c], istd = inv_std[c];
    for (int n = 0; n < N; n++) {
        const float *xs = x + AT(n, c);
        float *dxs = dx + AT(n, c);
#pragma omp simd
        for (int s = 0; s < S; s++) dxs[s] = k * (M * dxs[s] - sd - (xs[s] - mu) * istd * sdh);
    }
}

void cpu_bn_relu_pool_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                               const float *out, const float *x, const float *gamma, const float *beta,
                               const float *mean, const float *inv_std, const PoolGeom *pool, int N, int C,
                               int S)
{
    (void)be;
    int So = pool ? pool->Ho * pool->Wo : S;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++)
        backward_channel(dx, dgamma, dbeta, dout, out, x, gamma, beta, mean, inv_std, pool, N, C, S, So, c);
}
