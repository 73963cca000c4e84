// k_optim.cu — the five update rules, one thread per parameter element (formulas as on the CPU).
// With OptimConfig.vars the learning rate (and Adam's step count) are read on the device when
// the kernel runs, so that a recorded step replays with the current values; the per-step
// scalars are then computed by each block, with the host's formulas (in double, rounded once).
#include "cuda_ops.h"

#include <math.h>

#define FOR_EACH(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

// The learning rate: from the device's StepVars when given, else the launch's value.
__device__ inline float rate(const StepVars *vars, float lr) { return vars ? vars->learning_rate : lr; }

__global__ void sgd_kernel(float *w, const float *dw, size_t n, float lr_arg, const StepVars *vars)
{
    float lr = rate(vars, lr_arg);
    FOR_EACH(i, n) w[i] -= lr * dw[i];
}

__global__ void momentum_kernel(float *w, const float *dw, float *v, size_t n, float lr_arg, float mu, int nesterov,
                                const StepVars *vars)
{
    float lr = rate(vars, lr_arg);
    FOR_EACH(i, n) {
        float v_old = v[i];
        v[i] = mu * v[i] - lr * dw[i];
        w[i] += nesterov ? v[i] + mu * (v[i] - v_old) : v[i];
    }
}

__global__ void rmsprop_kernel(float *w, const float *dw, float *cache, size_t n, float lr_arg, float decay, float eps,
                               const StepVars *vars)
{
    float lr = rate(vars, lr_arg);
    FOR_EACH(i, n) {
        cache[i] = decay * cache[i] + (1 - decay) * dw[i] * dw[i];
        w[i] -= lr * dw[i] / (sqrtf(cache[i]) + eps);
    }
}

// Adam's bias corrections for step count t, as the host computes them (cpu_optim.c).
__host__ __device__ inline void adam_scalars(float lr, float b1, float b2, int t, float *step, float *inv_bias2)
{
    float bias1 = (float)(1.0 - pow((double)b1, (double)t)), bias2 = (float)(1.0 - pow((double)b2, (double)t));
    *step = lr / bias1, *inv_bias2 = 1.0f / bias2;
}

__global__ void adam_kernel(float *w, const float *dw, float *m, float *v, size_t n, float b1, float b2, float eps,
                            float step_arg, float inv_bias2_arg, const StepVars *vars)
{
    float step = step_arg, inv_bias2 = inv_bias2_arg;
    if (vars) adam_scalars(vars->learning_rate, b1, b2, vars->t, &step, &inv_bias2);
    FOR_EACH(i, n) {
        m[i] = b1 * m[i] + (1 - b1) * dw[i];
        v[i] = b2 * v[i] + (1 - b2) * dw[i] * dw[i];
        w[i] -= step * m[i] / (sqrtf(v[i] * inv_bias2) + eps);
    }
}

void cuda_sgd(const Backend *, float *w, const float *dw, float *, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(sgd_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, n, c->learning_rate, c->vars);
}

void cuda_sgd_momentum(const Backend *, float *w, const float *dw, float *v, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(momentum_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, v, n, c->learning_rate, c->momentum, 0, c->vars);
}

void cuda_sgd_nesterov_momentum(const Backend *, float *w, const float *dw, float *v, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(momentum_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, v, n, c->learning_rate, c->momentum, 1, c->vars);
}

void cuda_rmsprop(const Backend *, float *w, const float *dw, float *cache, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(rmsprop_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, cache, n, c->learning_rate, c->decay_rate,
                c->epsilon, c->vars);
}

void cuda_adam(const Backend *, float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c)
{
    // bias corrections once per step on the host, as the CPU backend does (on the device from
    // c->vars, when given)
    float step, inv_bias2;
    adam_scalars(c->learning_rate, c->beta1, c->beta2, c->t, &step, &inv_bias2);
    NNDL_LAUNCH(adam_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, m, v, n, c->beta1, c->beta2, c->epsilon, step,
                inv_bias2, c->vars);
}
