// k_bn_relu.cu — batchnorm + relu (+ a tiling max pool) fused on the GPU: fewer passes over
// memory and fewer launches. Semantics are cpu/cpu_bn_relu.c's (and the unfused ops'): relu'(0)
// = 0; a window's gradient goes to every element equal to its max, the max taken over the relu
// outputs recomputed from x, so the tie test never depends on how the forward rounded.
//
// Every kernel runs on a (C, BN_SLICES) grid: a block works on one slice of one channel, so the
// per-channel values (statistics, gradient sums) are derived by each block from the channel's
// partial sums (added in order, as k_batchnorm.cu does) instead of by a launch of their own.
//   forward, train: partial sums of x, then normalise + relu (+ pool) writing only out  (2 launches)
//   forward, test:  normalise + relu (+ pool) from the running statistics              (1 launch)
//   backward: dy (through pool and relu) written into dx with its partial sums, then
//             dgamma, dbeta and dx in place from them                                   (2 launches)
// Unfused these are 6, 4 and 6 launches; the batchnorm and relu outputs are never stored.
#include "k_bn_common.h"

#include <string.h>

// The normalisation of one channel: y = (x - mean) * scale + shift.
struct Affine1 {
    float mean, scale, shift;
};

__device__ inline float bn_y(Affine1 a, float x) { return (x - a.mean) * a.scale + a.shift; }
__device__ inline float relu_of(float y) { return y > 0 ? y : 0; }

// Where unit k of channel c lies: units are the pooled windows (pooled) or the elements of the
// channel's N planes of S values. *plane is the offset of the unit's (n, c) plane of x, *at the
// unit's first element within it, *o the unit's index in out's (n, c) plane.
struct Units {
    int pooled, So;   // So: out's plane size
    PoolGeom g;
};

__device__ inline void unit_at(const Units &u, size_t k, int c, int C, int S, size_t *plane, int *at, size_t *o)
{
    size_t n = k / u.So;
    int j = (int)(k % u.So);
    *plane = (n * C + c) * S;
    *o = (n * C + c) * u.So + j;
    *at = u.pooled ? (j / u.g.Wo) * u.g.ph * u.g.W + (j % u.g.Wo) * u.g.pw : j;
}

// The max of a window's relu outputs, p its first element.
__device__ inline float window_max(const float *p, Affine1 a, const PoolGeom &g)
{
    float m = relu_of(bn_y(a, p[0]));
    for (int di = 0; di < g.ph; di++)
        for (int dj = 0; dj < g.pw; dj++) m = fmaxf(m, relu_of(bn_y(a, p[(size_t)di * g.W + dj])));
    return m;
}

__global__ void bn_relu_pool_forward_kernel(float *out, float *mean, float *inv_std, float *running_mean,
                                            float *running_var, const float *x, const float *gamma, const float *beta,
                                            const double *partials, BNConfig cfg, Units u, int N, int C, int S)
{
    int c = blockIdx.x;
    double s1 = 0, s2 = 0;
    if (cfg.train) bn_combine(&s1, &s2, partials, c);
    float mu, istd;
    bn_channel_stats(&mu, &istd, mean, inv_std, running_mean, running_var, s1, s2, (double)N * S, cfg, c,
                     blockIdx.y == 0 && threadIdx.x == 0);
    Affine1 a = {mu, gamma[c] * istd, beta[c]};
    size_t lo, hi;
    bn_slice(&lo, &hi, (size_t)N * u.So, blockIdx.y, gridDim.y);
    for (size_t k = lo + threadIdx.x; k < hi; k += blockDim.x) {
        size_t plane, o;
        int at;
        unit_at(u, k, c, C, S, &plane, &at, &o);
        const float *p = x + plane + at;
        out[o] = u.pooled ? window_max(p, a, u.g) : relu_of(bn_y(a, *p));
    }
}

// dy, the gradient at y = batchnorm(x), written into dy (dx's buffer); the slice's sums of dy and
// dy * x into partials.
__global__ void bn_relu_pool_dy_kernel(double *partials, float *dy, const float *dout, const float *out,
                                       const float *x, const float *gamma, const float *beta, const float *mean,
                                       const float *inv_std, Units u, int N, int C, int S)
{
    int c = blockIdx.x;
    Affine1 a = {mean[c], gamma[c] * inv_std[c], beta[c]};
    size_t lo, hi;
    bn_slice(&lo, &hi, (size_t)N * u.So, blockIdx.y, gridDim.y);
    double s1 = 0, s2 = 0;
    for (size_t k = lo + threadIdx.x; k < hi; k += blockDim.x) {
        size_t plane, o;
        int at;
        unit_at(u, k, c, C, S, &plane, &at, &o);
        size_t e = plane + at;
        float d = dout[o];
        if (!u.pooled) {
            float r = out[o] > 0 ? d : 0;
            dy[e] = r;
            s1 += r, s2 += (double)r * x[e];
            continue;
        }
        float m = window_max(x + e, a, u.g);
        for (int di = 0; di < u.g.ph; di++)
            for (int dj = 0; dj < u.g.pw; dj++) {
                size_t f = e + (size_t)di * u.g.W + dj;
                float v = relu_of(bn_y(a, x[f])), r = v > 0 && v == m ? d : 0;
                dy[f] = r;
                s1 += r, s2 += (double)r * x[f];
            }
    }
    double t1 = block_sum(s1), t2 = block_sum(s2);
    if (threadIdx.x == 0) {
        partials[2 * ((size_t)c * gridDim.y + blockIdx.y)] = t1;
        partials[2 * ((size_t)c * gridDim.y + blockIdx.y) + 1] = t2;
    }
}

// dgamma, dbeta from the channel's sums (block (c, 0) writes them) and dx = k (M dy - sum(dy) -
// x_hat sum(dy x_hat)) in place, as cpu_bn_relu.c.
__global__ void bn_relu_pool_dx_kernel(float *dx, float *dgamma, float *dbeta, const double *partials, const float *x,
                                       const float *gamma, const float *mean, const float *inv_std, int N, int C,
                                       int S)
{
    int c = blockIdx.x;
    double sum_d, sum_dx, count = (double)N * S;
    bn_combine(&sum_d, &sum_dx, partials, c);
    double sum_dxhat = (sum_dx - mean[c] * sum_d) * inv_std[c];
    if (blockIdx.y == 0 && threadIdx.x == 0) dgamma[c] = (float)sum_dxhat, dbeta[c] = (float)sum_d;
    float k = (float)(gamma[c] * inv_std[c] / count), M = (float)count;
    float sd = (float)sum_d, sdh = (float)sum_dxhat, mu = mean[c], istd = inv_std[c];
    size_t lo, hi;
    bn_slice(&lo, &hi, (size_t)N * S, blockIdx.y, gridDim.y);
    for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
        size_t e = ((i / S) * C + c) * S + i % S;
        dx[e] = k * (M * dx[e] - sd - (x[e] - mu) * istd * sdh);
    }
}

static Units units_of(const PoolGeom *pool, int S)
{
    Units u;
    memset(&u, 0, sizeof u);
    u.pooled = pool != NULL;
    if (pool) u.g = *pool;
    u.So = pool ? pool->Ho * pool->Wo : S;
    return u;
}

void cuda_bn_relu_pool_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                               float *running_var, const float *x, const float *gamma, const float *beta,
                               const BNConfig *cfg, const PoolGeom *pool, int N, int C, int S)
{
    double *partials = cuda_bn_scratch(be, C).partials;
    if (cfg->train) cuda_bn_partials(partials, x, NULL, N, C, S);
    NNDL_LAUNCH(bn_relu_pool_forward_kernel, dim3(C, BN_SLICES), CUDA_BLOCK, 0, out, mean, inv_std, running_mean,
                running_var, x, gamma, beta, (const double *)partials, *cfg, units_of(pool, S), N, C, S);
}

void cuda_bn_relu_pool_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                                const float *out, const float *x, const float *gamma, const float *beta,
                                const float *mean, const float *inv_std, const PoolGeom *pool, int N, int C, int S)
{
    double *partials = cuda_bn_scratch(be, C).partials;
    NNDL_LAUNCH(bn_relu_pool_dy_kernel, dim3(C, BN_SLICES), CUDA_BLOCK, 0, partials, dx, dout, out, x, gamma, beta,
                mean, inv_std, units_of(pool, S), N, C, S);
    NNDL_LAUNCH(bn_relu_pool_dx_kernel, dim3(C, BN_SLICES), CUDA_BLOCK, 0, dx, dgamma, dbeta,
                (const double *)partials, x, gamma, mean, inv_std, N, C, S);
}
