// k_optim.cu — the five update rules, one thread per parameter element (formulas as on the CPU),
// each after the decoupled weight decay, and the moving average of the weights.
// With OptimConfig.vars the learning rate (and Adam's step count) are read on the device when
// the kernel runs, so that a recorded step replays with the current values; the per-step
// scalars are then computed by each block, with the host's formulas (in double, rounded once).
#include "cuda_ops.h"

#include <math.h>

#define FOR_EACH(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

// The learning rate: from the device's StepVars when given, else the launch's value.
__device__ inline float rate(const StepVars *vars, int which, float lr) { return vars ? vars->learning_rate[which] : lr; }

// The decoupled weight decay's factor on w before the rule's step, with the step's rate (the
// CPU's float formula); 1 (nothing to do) without decay.
__device__ inline float keep_of(float lr, float wd) { return wd > 0 ? 1.0f - lr * wd : 1.0f; }

__global__ void sgd_kernel(float *w, const float *dw, size_t n, float lr_arg, float wd, const StepVars *vars, int which)
{
    float lr = rate(vars, which, lr_arg), keep = keep_of(lr, wd);
    FOR_EACH(i, n) {
        if (keep != 1.0f) w[i] = keep * w[i];
        w[i] -= lr * dw[i];
    }
}

__global__ void momentum_kernel(float *w, const float *dw, float *v, size_t n, float lr_arg, float wd, float mu,
                                int nesterov, const StepVars *vars, int which)
{
    float lr = rate(vars, which, lr_arg), keep = keep_of(lr, wd);
    FOR_EACH(i, n) {
        if (keep != 1.0f) w[i] = keep * w[i];
        float v_old = v[i];
        v[i] = mu * v[i] - lr * dw[i];
        w[i] += nesterov ? v[i] + mu * (v[i] - v_old) : v[i];
    }
}

__global__ void rmsprop_kernel(float *w, const float *dw, float *cache, size_t n, float lr_arg, float wd, float decay,
                               float eps, const StepVars *vars, int which)
{
    float lr = rate(vars, which, lr_arg), keep = keep_of(lr, wd);
    FOR_EACH(i, n) {
        if (keep != 1.0f) w[i] = keep * w[i];
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

__global__ void adam_kernel(float *w, const float *dw, float *m, float *v, size_t n, float lr_arg, float wd, float b1,
                            float b2, float eps, int t_arg, const StepVars *vars, int which)
{
    float lr = rate(vars, which, lr_arg), keep = keep_of(lr, wd), step, inv_bias2;
    adam_scalars(lr, b1, b2, vars ? vars->t : t_arg, &step, &inv_bias2);
    FOR_EACH(i, n) {
        if (keep != 1.0f) w[i] = keep * w[i];
        m[i] = b1 * m[i] + (1 - b1) * dw[i];
        v[i] = b2 * v[i] + (1 - b2) * dw[i] * dw[i];
        w[i] -= step * m[i] / (sqrtf(v[i] * inv_bias2) + eps);
    }
}

void cuda_sgd(const Backend *, float *w, const float *dw, float *, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(sgd_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, n, c->learning_rate, c->weight_decay, c->vars,
                c->vars_rate);
}

void cuda_sgd_momentum(const Backend *, float *w, const float *dw, float *v, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(momentum_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, v, n, c->learning_rate, c->weight_decay,
                c->momentum, 0, c->vars, c->vars_rate);
}

void cuda_sgd_nesterov_momentum(const Backend *, float *w, const float *dw, float *v, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(momentum_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, v, n, c->learning_rate, c->weight_decay,
                c->momentum, 1, c->vars, c->vars_rate);
}

void cuda_rmsprop(const Backend *, float *w, const float *dw, float *cache, float *, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(rmsprop_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, cache, n, c->learning_rate, c->weight_decay,
                c->decay_rate, c->epsilon, c->vars, c->vars_rate);
}

void cuda_adam(const Backend *, float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c)
{
    NNDL_LAUNCH(adam_kernel, cuda_grid(n), CUDA_BLOCK, 0, w, dw, m, v, n, c->learning_rate, c->weight_decay, c->beta1,
                c->beta2, c->epsilon, c->t, c->vars, c->vars_rate);
}

// The moving average's step (backend.h ema_step): the decay from the step count the device is at.
__global__ void ema_kernel(float *avg, const float *w, size_t n, float ema, const StepVars *vars)
{
    float b = (float)ema_decay(ema, vars->iteration), a = 1 - b;
    FOR_EACH(i, n) avg[i] = a * w[i] + b * avg[i];
}

void cuda_ema_step(const Backend *, float *avg, const float *w, size_t n, float ema, const StepVars *v)
{
    NNDL_LAUNCH(ema_kernel, cuda_grid(n), CUDA_BLOCK, 0, avg, w, n, ema, v);
}
