// k_batchnorm.cu — batchnorm on the layout (N, C, S) on the GPU, in three steps so that every SM
// has work even with few channels: (1) a grid of (C, BN_SLICES) blocks each reduces a slice of
// one channel's N*S values in double into partials; (2) one thread per channel adds its slices in
// order (deterministic) and derives the statistics; (3) an elementwise kernel applies them.
#include "cuda_ops.h"

/* Blocks per channel. The SIMT host runs blocks one after another, so there two slices suffice to
 * exercise the combining step without paying for sixteen. */
#ifdef NNDL_SIMT_HOST
#define BN_SLICES 2
#else
#define BN_SLICES 16
#endif

// Slice `blockIdx.y` of channel `blockIdx.x`: sums of a and of a*b (b == NULL: of a*a).
__global__ void bn_partials_kernel(double *partials, const float *a, const float *b, int N, int C, int S)
{
    int c = blockIdx.x;
    size_t count = (size_t)N * S, per = (count + gridDim.y - 1) / gridDim.y;
    size_t lo = blockIdx.y * per, hi = lo + per < count ? lo + per : count;
    double s1 = 0, s2 = 0;
    for (size_t k = lo + threadIdx.x; k < hi; k += blockDim.x) {
        size_t at = ((k / S) * C + c) * S + k % S;
        double v = a[at];
        s1 += v;
        s2 += v * (b ? (double)b[at] : v);
    }
    double t1 = block_sum(s1), t2 = block_sum(s2);
    if (threadIdx.x == 0) {
        partials[2 * ((size_t)c * gridDim.y + blockIdx.y)] = t1;
        partials[2 * ((size_t)c * gridDim.y + blockIdx.y) + 1] = t2;
    }
}

// Train mode: mean, 1/std and the running statistics from the slices; test mode: from the
// running statistics. scale = gamma * inv_std, shift = mean (applied as (x - shift) * scale + beta).
__global__ void bn_stats_kernel(float *mean, float *inv_std, float *running_mean, float *running_var,
                                float *scale, float *shift, const double *partials, const float *gamma,
                                BNConfig cfg, int C, double count)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        double mu, var;
        if (cfg.train) {
            double sum = 0, sq = 0;
            for (int k = 0; k < BN_SLICES; k++) sum += partials[2 * (c * BN_SLICES + k)], sq += partials[2 * (c * BN_SLICES + k) + 1];
            mu = sum / count;
            var = fmax(sq / count - mu * mu, 0.0);
            running_mean[c] = cfg.momentum * running_mean[c] + (1 - cfg.momentum) * (float)mu;
            running_var[c] = cfg.momentum * running_var[c] + (1 - cfg.momentum) * (float)var;
        } else {
            mu = running_mean[c];
            var = running_var[c];
        }
        float istd = (float)(1.0 / sqrt(var + cfg.eps));
        if (cfg.train) mean[c] = (float)mu, inv_std[c] = istd;
        scale[c] = gamma[c] * istd;
        shift[c] = (float)mu;
    }
}

__global__ void bn_apply_kernel(float *out, const float *x, const float *scale, const float *shift,
                                const float *beta, int N, int C, int S)
{
    size_t total = (size_t)N * C * S;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)((i / S) % C);
        out[i] = (x[i] - shift[c]) * scale[c] + beta[c];
    }
}

// dgamma, dbeta from the slices of sum(dout) and sum(dout * x).
__global__ void bn_grad_stats_kernel(float *dgamma, float *dbeta, const double *partials, const float *mean,
                                     const float *inv_std, int C)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        double sum_d = 0, sum_dx = 0;
        for (int k = 0; k < BN_SLICES; k++) sum_d += partials[2 * (c * BN_SLICES + k)], sum_dx += partials[2 * (c * BN_SLICES + k) + 1];
        dgamma[c] = (float)((sum_dx - mean[c] * sum_d) * inv_std[c]);
        dbeta[c] = (float)sum_d;
    }
}

// dx = gamma inv_std / M * (M dout - sum(dout) - x_hat sum(dout x_hat)), as on the CPU.
__global__ void bn_dx_kernel(float *dx, const float *dout, const float *x, const float *gamma, const float *mean,
                             const float *inv_std, const float *dgamma, const float *dbeta, int N, int C, int S)
{
    size_t total = (size_t)N * C * S;
    float M = (float)((size_t)N * S);
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)((i / S) % C);
        float k = gamma[c] * inv_std[c] / M;
        dx[i] = k * (M * dout[i] - dbeta[c] - (x[i] - mean[c]) * inv_std[c] * dgamma[c]);
    }
}

void cuda_batchnorm_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean, float *running_var,
                            const float *x, const float *gamma, const float *beta, const BNConfig *cfg, int N,
                            int C, int S)
{
    // scratch: slice partials, then scale and shift per channel (as floats after the doubles)
    double *partials = cuda_partials(be, 2 * (size_t)C * BN_SLICES + (size_t)C);
    float *scale = (float *)(partials + 2 * (size_t)C * BN_SLICES), *shift = scale + C;
    if (cfg->train) NNDL_LAUNCH(bn_partials_kernel, dim3(C, BN_SLICES), CUDA_BLOCK, 0, partials, x, (const float *)NULL, N, C, S);
    NNDL_LAUNCH(bn_stats_kernel, cuda_grid((size_t)C), CUDA_BLOCK, 0, mean, inv_std, running_mean, running_var, scale,
                shift, (const double *)partials, gamma, *cfg, C, (double)N * S);
    NNDL_LAUNCH(bn_apply_kernel, cuda_grid((size_t)N * C * S), CUDA_BLOCK, 0, out, x, (const float *)scale,
                (const float *)shift, beta, N, C, S);
}

void cuda_batchnorm_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout, const float *x,
                             const float *gamma, const float *mean, const float *inv_std, int N, int C, int S)
{
    double *partials = cuda_partials(be, 2 * (size_t)C * BN_SLICES);
    NNDL_LAUNCH(bn_partials_kernel, dim3(C, BN_SLICES), CUDA_BLOCK, 0, partials, dout, x, N, C, S);
    NNDL_LAUNCH(bn_grad_stats_kernel, cuda_grid((size_t)C), CUDA_BLOCK, 0, dgamma, dbeta, (const double *)partials,
                mean, inv_std, C);
    NNDL_LAUNCH(bn_dx_kernel, cuda_grid((size_t)N * C * S), CUDA_BLOCK, 0, dx, dout, x, gamma, mean, inv_std,
                (const float *)dgamma, (const float *)dbeta, N, C, S);
}
