// k_optim.cu — the five update rules, one thread per parameter element (formulas as on the CPU).
#include "cuda_ops.h"

#include <math.h>

#define FOR_EACH(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ void sgd_kernel(float *w, const float *dw, size_t n, float lr)
{
    FOR_EACH(i, n) w[i] -= lr * dw[i];
}

__global__ void momentum_kernel(float *w, const float *dw, float *v, size_t n, float lr, float mu, int nesterov)
{
    FOR_EACH(i, n) {
        float v_old = v[i];
        v[i] = mu * v[i] - lr * dw[i];
        w[i] += nesterov ? v[i] + mu * (v[i] - v_old) : v[i];
    }
}

__global__ void rmsprop_kernel(float *w, const float *dw, float *cache, size_t n, float lr, float decay, float eps)
{
    FOR_EACH(i, n) {
        cache[i] = decay * cache[i] + (1 - decay) * dw[i] * dw[i];
        w[i] -= lr * dw[i] / (sqrtf(cache[i]) + eps);
    }
}

__global__ void adam_kernel(float *w, const float *dw, float *m, float *v, size_t n, float b1, float b2, float eps,
                            float step, float inv_bias2)
{
    FOR_EACH(i, n) {
        m[i] = b1 * m[i] + (1 - b1) * dw[i];
        v[i] = b2 * v[i] + (1 - b2) * dw[i] * dw[i];
        w[i] -= step * m[i] / (sqrtf(v[i] * inv_bias2) + eps);
    }
}

void cuda_sgd(const Backend *, float *w, const float *dw, float *, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(sgd_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, n, c->learning_rate);
}

void cuda_sgd_momentum(const Backend *, float *w, const float *dw, float *v, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(momentum_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, v, n, c->learning_rate, c->momentum, 0);
}

void cuda_sgd_nesterov_momentum(const Backend *, float *w, const float *dw, float *v, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(momentum_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, v, n, c->learning_rate, c->momentum, 1);
}

void cuda_rmsprop(const Backend *, float *w, const float *dw, float *cache, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(rmsprop_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, cache, n, c->learning_rate, c->decay_rate,
                c->epsilon);
}

void cuda_adam(const Backend *, float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c)
{
    // bias corrections once per step on the host, as the CPU backend does
    float bias1 = (float)(1.0 - pow(c->beta1, c->t)), bias2 = (float)(1.0 - pow(c->beta2, c->t));
    NNDL_LAUNCH(adam_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, m, v, n, c->beta1, c->beta2, c->epsilon,
                c->learning_rate / bias1, 1.0f / bias2);
}
