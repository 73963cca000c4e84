// k_batchnorm.cu — batchnorm on the layout (N, C, S) on the GPU, in three steps so that every SM
// has work even with few channels: (1) a grid of (C, BN_SLICES) blocks each reduces a slice of
// one channel's N*S values in double into partials; (2) one thread per channel adds its slices in
// order (deterministic) into the channel's sums; (3) one thread per channel derives the statistics
// from the sums; (4) an elementwise kernel applies them. Synchronised batchnorm (--sync-bn) adds
// every process's sums between (2) and (3): batchnorm_sums, then the *_sums ops.
#include "k_bn_common.h"

// Slice `blockIdx.y` of channel `blockIdx.x`: sums of a and of a*b (b == NULL: of a*a).
__global__ void bn_partials_kernel(double *partials, const float *a, const float *b, int N, int C, int S)
{
    int c = blockIdx.x;
    size_t lo, hi;
    bn_slice(&lo, &hi, (size_t)N * S, blockIdx.y, gridDim.y);
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

// Slices to sums: sums[c] = sum(a), sums[C + c] = sum(a * b), the slices added in order.
__global__ void bn_combine_kernel(double *sums, const double *partials, int C)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        bn_combine(&sums[c], &sums[C + c], partials, c);
    }
}

// Train mode: mean, 1/std and the running statistics from the sums over count values; test
// mode: from the running statistics. scale = gamma * inv_std, shift = mean (applied as
// (x - shift) * scale + beta).
__global__ void bn_stats_kernel(float *mean, float *inv_std, float *running_mean, float *running_var,
                                float *scale, float *shift, const double *sums, const float *gamma,
                                BNConfig cfg, int C, double count)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        float mu, istd;
        bn_channel_stats(&mu, &istd, mean, inv_std, running_mean, running_var, sums[c], sums[C + c], count, cfg, c,
                         true);
        scale[c] = gamma[c] * istd;
        shift[c] = mu;
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

// sum(dout * x_hat) and sum(dout) per channel (dgamma and dbeta) from the sums of dout and
// dout * x.
__global__ void bn_grad_stats_kernel(float *dgamma, float *dbeta, const double *sums, const float *mean,
                                     const float *inv_std, int C)
{
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        dgamma[c] = (float)((sums[C + c] - mean[c] * sums[c]) * inv_std[c]);
        dbeta[c] = (float)sums[c];
    }
}

// dx = gamma inv_std / M * (M dout - sum(dout) - x_hat sum(dout x_hat)), as on the CPU; M = count.
__global__ void bn_dx_kernel(float *dx, const float *dout, const float *x, const float *gamma, const float *mean,
                             const float *inv_std, const float *sum_dxhat, const float *sum_d, float M, int N, int C,
                             int S)
{
    size_t total = (size_t)N * C * S;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int c = (int)((i / S) % C);
        float k = gamma[c] * inv_std[c] / M;
        dx[i] = k * (M * dout[i] - sum_d[c] - (x[i] - mean[c]) * inv_std[c] * sum_dxhat[c]);
    }
}

BnScratch cuda_bn_scratch(const Backend *be, int C)
{
    double *p = cuda_partials(be, 2 * (size_t)C * BN_SLICES + 2 * (size_t)C + (size_t)C);
    BnScratch s;
    s.partials = p;
    s.sums = p + 2 * (size_t)C * BN_SLICES;
    s.a = (float *)(s.sums + 2 * (size_t)C);
    s.b = s.a + C;
    return s;
}

void cuda_bn_partials(double *partials, const float *a, const float *b, int N, int C, int S)
{
    NNDL_LAUNCH(bn_partials_kernel, dim3(C, BN_SLICES), CUDA_BLOCK, 0, partials, a, b, N, C, S);
}

void cuda_batchnorm_sums(const Backend *be, double *sums, const float *a, const float *b, int N, int C, int S)
{
    double *partials = cuda_bn_scratch(be, C).partials;
    cuda_bn_partials(partials, a, b, N, C, S);
    NNDL_LAUNCH(bn_combine_kernel, cuda_grid((size_t)C), CUDA_BLOCK, 0, sums, (const double *)partials, C);
}

void cuda_batchnorm_forward_sums(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                                 float *running_var, const float *x, const float *gamma, const float *beta,
                                 const double *sums, double count, const BNConfig *cfg, int N, int C, int S)
{
    BnScratch t = cuda_bn_scratch(be, C);
    NNDL_LAUNCH(bn_stats_kernel, cuda_grid((size_t)C), CUDA_BLOCK, 0, mean, inv_std, running_mean, running_var, t.a,
                t.b, sums, gamma, *cfg, C, count);
    NNDL_LAUNCH(bn_apply_kernel, cuda_grid((size_t)N * C * S), CUDA_BLOCK, 0, out, x, (const float *)t.a,
                (const float *)t.b, beta, N, C, S);
}

void cuda_batchnorm_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean, float *running_var,
                            const float *x, const float *gamma, const float *beta, const BNConfig *cfg, int N,
                            int C, int S)
{
    double *sums = cuda_bn_scratch(be, C).sums;
    if (cfg->train) cuda_batchnorm_sums(be, sums, x, NULL, N, C, S);
    cuda_batchnorm_forward_sums(be, out, mean, inv_std, running_mean, running_var, x, gamma, beta, sums,
                                (double)N * S, cfg, N, C, S);
}

void cuda_batchnorm_backward_sums(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                                  const float *x, const float *gamma, const float *mean, const float *inv_std,
                                  const double *local, const double *global, double count, int N, int C, int S)
{
    BnScratch t = cuda_bn_scratch(be, C);
    NNDL_LAUNCH(bn_grad_stats_kernel, cuda_grid((size_t)C), CUDA_BLOCK, 0, dgamma, dbeta, local, mean, inv_std, C);
    const float *sum_dxhat = dgamma, *sum_d = dbeta;
    if (global != local) { // the group's sums for dx
        NNDL_LAUNCH(bn_grad_stats_kernel, cuda_grid((size_t)C), CUDA_BLOCK, 0, t.a, t.b, global, mean, inv_std, C);
        sum_dxhat = t.a, sum_d = t.b;
    }
    NNDL_LAUNCH(bn_dx_kernel, cuda_grid((size_t)N * C * S), CUDA_BLOCK, 0, dx, dout, x, gamma, mean, inv_std, sum_dxhat,
                sum_d, (float)count, N, C, S);
}

void cuda_batchnorm_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout, const float *x,
                             const float *gamma, const float *mean, const float *inv_std, int N, int C, int S)
{
    double *sums = cuda_bn_scratch(be, C).sums;
    cuda_batchnorm_sums(be, sums, dout, x, N, C, S);
    cuda_batchnorm_backward_sums(be, dx, dgamma, dbeta, dout, x, gamma, mean, inv_std, sums, sums, (double)N * S, N, C,
                                 S);
}
