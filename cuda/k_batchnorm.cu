// k_batchnorm.cu — batchnorm on the layout (N, C, S) on the GPU: one block per channel reduces
// its N*S values in double (fixed order within the block: deterministic), then normalises them.
#include "cuda_ops.h"

__global__ void batchnorm_forward_kernel(float *out, float *mean, float *inv_std, float *running_mean,
                                         float *running_var, const float *x, const float *gamma,
                                         const float *beta, BNConfig cfg, int N, int C, int S)
{
    int c = blockIdx.x;
    size_t count = (size_t)N * S;
    __shared__ float stats[2];
    if (cfg.train) {
        double sum = 0, sq = 0;
        for (size_t k = threadIdx.x; k < count; k += blockDim.x) {
            double v = x[((k / S) * C + c) * S + k % S];
            sum += v, sq += v * v;
        }
        double total = block_sum(sum), total_sq = block_sum(sq);
        if (threadIdx.x == 0) {
            double mu = total / count, var = fmax(total_sq / count - mu * mu, 0.0);
            running_mean[c] = cfg.momentum * running_mean[c] + (1 - cfg.momentum) * (float)mu;
            running_var[c] = cfg.momentum * running_var[c] + (1 - cfg.momentum) * (float)var;
            mean[c] = stats[0] = (float)mu;
            inv_std[c] = stats[1] = (float)(1.0 / sqrt(var + cfg.eps));
        }
    } else if (threadIdx.x == 0) {
        stats[0] = running_mean[c];
        stats[1] = (float)(1.0 / sqrt((double)running_var[c] + cfg.eps));
    }
    __syncthreads();
    float m = stats[0], scale = gamma[c] * stats[1], shift = beta[c];
    for (size_t k = threadIdx.x; k < count; k += blockDim.x) {
        size_t at = ((k / S) * C + c) * S + k % S;
        out[at] = (x[at] - m) * scale + shift;
    }
}

__global__ void batchnorm_backward_kernel(float *dx, float *dgamma, float *dbeta, const float *dout,
                                          const float *x, const float *gamma, const float *mean,
                                          const float *inv_std, int N, int C, int S)
{
    int c = blockIdx.x;
    size_t count = (size_t)N * S;
    __shared__ float sums[2];
    double sd = 0, sdx = 0;
    for (size_t k = threadIdx.x; k < count; k += blockDim.x) {
        size_t at = ((k / S) * C + c) * S + k % S;
        sd += dout[at], sdx += (double)dout[at] * x[at];
    }
    double sum_d = block_sum(sd), sum_dx = block_sum(sdx);
    if (threadIdx.x == 0) {
        double sum_dxhat = (sum_dx - mean[c] * sum_d) * inv_std[c];
        dgamma[c] = sums[1] = (float)sum_dxhat;
        dbeta[c] = sums[0] = (float)sum_d;
    }
    __syncthreads();
    // dx = gamma inv_std / M * (M dout - sum(dout) - x_hat sum(dout x_hat)), as on the CPU
    float k = (float)(gamma[c] * inv_std[c] / (double)count), M = (float)count;
    float mu = mean[c], istd = inv_std[c], sdh = sums[1], sdd = sums[0];
    for (size_t i = threadIdx.x; i < count; i += blockDim.x) {
        size_t at = ((i / S) * C + c) * S + i % S;
        dx[at] = k * (M * dout[at] - sdd - (x[at] - mu) * istd * sdh);
    }
}

void cuda_batchnorm_forward(float *out, float *mean, float *inv_std, float *running_mean, float *running_var,
                            const float *x, const float *gamma, const float *beta, const BNConfig *cfg, int N,
                            int C, int S)
{
    NNDL_LAUNCH(batchnorm_forward_kernel, C, CUDA_BLOCK, 0, out, mean, inv_std, running_mean, running_var, x,
                gamma, beta, *cfg, N, C, S);
}

void cuda_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout, const float *x,
                             const float *gamma, const float *mean, const float *inv_std, int N, int C, int S)
{
    NNDL_LAUNCH(batchnorm_backward_kernel, C, CUDA_BLOCK, 0, dx, dgamma, dbeta, dout, x, gamma, mean, inv_std, N,
                C, S);
}
