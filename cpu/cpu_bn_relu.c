/* cpu_bn_relu.c — batchnorm + relu (+ a tiling max pool) fused: fewer passes over memory.
 *
 * Unfused, the forward reads x twice (statistics, normalisation) and writes the batchnorm output,
 * relu reads it and writes its own, the pool reads that and writes the pooled map: 4 full-size
 * reads and 2 full-size writes. Fused: x is read twice and only the (pooled) output is written.
 * The backward recomputes y = batchnorm(x) from x, beta, mean and inv_std instead of reading
 * stored activations: one pass for the two channel sums of dy (the gradient at y, through pool
 * and relu), one that writes dx; no intermediate gradient is stored.
 *
 * Semantics are the unfused ops': relu'(0) = 0; a window's gradient goes to every element equal
 * to its max (the seed's mask), the max taken over the recomputed relu outputs, so the tie test
 * never depends on how the forward rounded. Statistics in double, as cpu_batchnorm.c. Channels
 * are spread over threads; each channel's planes are (N, S) with stride C*S. */
#include <math.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"

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
    double mu, var;
    if (cfg->train) {
        double sum = 0, sq = 0;
        for (int n = 0; n < N; n++) {
            const float *xs = x + AT(n, c);
#pragma omp simd reduction(+ : sum, sq)
            for (int s = 0; s < S; s++) sum += xs[s], sq += (double)xs[s] * xs[s];
        }
        double count = (double)N * S;
        mu = sum / count;
        var = sq / count - mu * mu;
        if (var < 0) var = 0;
        running_mean[c] = cfg->momentum * running_mean[c] + (1 - cfg->momentum) * (float)mu;
        running_var[c] = cfg->momentum * running_var[c] + (1 - cfg->momentum) * (float)var;
    } else {
        mu = running_mean[c];
        var = running_var[c];
    }
    float m = (float)mu, istd = (float)(1.0 / sqrt(var + cfg->eps));
    if (cfg->train) mean[c] = m, inv_std[c] = istd;
    return (Affine1){m, gamma[c] * istd, beta[c]};
}

/* One (n, c) plane of H x W pooled into Ho x Wo (tiled windows). */
static void pool_plane(float *o, const float *xs, Affine1 a, const PoolGeom *g)
{
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

void cpu_bn_relu_pool_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                              float *running_var, const float *x, const float *gamma, const float *beta,
                              const BNConfig *cfg, const PoolGeom *pool, int N, int C, int S)
{
    (void)be;
    int So = pool ? pool->Ho * pool->Wo : S;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
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
}

/* Runs BODY for each element of one pooled (n, c) plane with at (its offset), xv (its x) and dy
 * (the gradient at its y: the window's dout if its relu output is the window's max and y > 0).
 * Both backward passes walk the plane through this, so they see the same dy. */
#define FOR_EACH_DY_POOLED(xs, ds, a, g, BODY)                                                    \
    for (int i = 0; i < (g)->Ho; i++)                                                             \
        for (int j = 0; j < (g)->Wo; j++) {                                                       \
            size_t base_ = (size_t)i * (g)->ph * (g)->W + (size_t)j * (g)->pw;                    \
            float m_ = relu(bn_y(a, xs[base_]));                                                  \
            for (int di = 0; di < (g)->ph; di++)                                                  \
                for (int dj = 0; dj < (g)->pw; dj++) {                                            \
                    float r_ = relu(bn_y(a, xs[base_ + (size_t)di * (g)->W + dj]));               \
                    if (r_ > m_) m_ = r_;                                                         \
                }                                                                                 \
            float d_ = ds[(size_t)i * (g)->Wo + j];                                               \
            for (int di = 0; di < (g)->ph; di++)                                                  \
                for (int dj = 0; dj < (g)->pw; dj++) {                                            \
                    size_t at = base_ + (size_t)di * (g)->W + dj;                                 \
                    float xv = xs[at], y_ = bn_y(a, xv);                                          \
                    float dy = y_ > 0 && relu(y_) == m_ ? d_ : 0;                                 \
                    BODY;                                                                         \
                }                                                                                 \
        }

void cpu_bn_relu_pool_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                               const float *out, const float *x, const float *gamma, const float *beta,
                               const float *mean, const float *inv_std, const PoolGeom *pool, int N, int C,
                               int S)
{
    (void)be;
    int So = pool ? pool->Ho * pool->Wo : S;
    double count = (double)N * S;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        Affine1 a = {mean[c], gamma[c] * inv_std[c], beta[c]};
        double sum_d = 0, sum_dx = 0; /* sum(dy), sum(dy * x) */
        for (int n = 0; n < N; n++) {
            const float *xs = x + AT(n, c), *ds = dout + ((size_t)n * C + c) * So, *os = pool ? NULL : out + AT(n, c);
            if (pool) {
                FOR_EACH_DY_POOLED(xs, ds, a, pool, (sum_d += dy, sum_dx += (double)dy * xv));
                continue;
            }
#pragma omp simd reduction(+ : sum_d, sum_dx)
            for (int s = 0; s < S; s++) {
                float dy = os[s] > 0 ? ds[s] : 0;
                sum_d += dy, sum_dx += (double)dy * xs[s];
            }
        }
        double sum_dxhat = (sum_dx - mean[c] * sum_d) * inv_std[c];
        dgamma[c] = (float)sum_dxhat;
        dbeta[c] = (float)sum_d;
        /* dx = k * (M dy - sum(dy) - x_hat sum(dy x_hat)), as cpu_batchnorm.c */
        float k = (float)(gamma[c] * inv_std[c] / count), M = (float)count;
        float sd = (float)sum_d, sdh = (float)sum_dxhat, mu = mean[c], istd = inv_std[c];
        for (int n = 0; n < N; n++) {
            const float *xs = x + AT(n, c), *ds = dout + ((size_t)n * C + c) * So, *os = pool ? NULL : out + AT(n, c);
            float *dxs = dx + AT(n, c);
            if (pool) {
                FOR_EACH_DY_POOLED(xs, ds, a, pool, dxs[at] = k * (M * dy - sd - (xv - mu) * istd * sdh));
                continue;
            }
#pragma omp simd
            for (int s = 0; s < S; s++) {
                float dy = os[s] > 0 ? ds[s] : 0;
                dxs[s] = k * (M * dy - sd - (xs[s] - mu) * istd * sdh);
            }
        }
    }
}
