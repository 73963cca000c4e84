/* cpu_optim.c — the five update rules, elementwise (the seed's formulas), each after the
 * decoupled weight decay, on the gradient g = dw + l2 * w (OptimConfig.l2: the L2 penalty folded
 * into the update's pass over w; l2 is 0 when there is a decay, which must come after it). */
#include <math.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"

/* w *= 1 - lr * weight_decay, a pass of its own before the rule's step (PyTorch's AdamW order) */
static void decay(float *w, size_t n, const OptimConfig *c)
{
    if (!(c->weight_decay > 0)) return;
    float keep = 1.0f - c->learning_rate * c->weight_decay;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) w[i] = keep * w[i];
}

void cpu_sgd(const Backend *be, float *w, const float *dw, float *s1, float *s2, size_t n, const OptimConfig *c)
{
    (void)be;
    (void)s1, (void)s2;
    decay(w, n, c);
    float l2 = c->l2;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) w[i] -= c->learning_rate * (dw[i] + l2 * w[i]);
}

void cpu_sgd_momentum(const Backend *be, float *w, const float *dw, float *v, float *s2, size_t n,
                      const OptimConfig *c)
{
    (void)be;
    (void)s2;
    decay(w, n, c);
    float l2 = c->l2;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        v[i] = c->momentum * v[i] - c->learning_rate * (dw[i] + l2 * w[i]);
        w[i] += v[i];
    }
}

void cpu_sgd_nesterov_momentum(const Backend *be, float *w, const float *dw, float *v, float *s2, size_t n,
                               const OptimConfig *c)
{
    (void)be;
    (void)s2;
    decay(w, n, c);
    float l2 = c->l2;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float v_old = v[i];
        v[i] = c->momentum * v[i] - c->learning_rate * (dw[i] + l2 * w[i]);
        w[i] += v[i] + c->momentum * (v[i] - v_old);
    }
}

void cpu_rmsprop(const Backend *be, float *w, const float *dw, float *cache, float *s2, size_t n,
                 const OptimConfig *c)
{
    (void)be;
    (void)s2;
    decay(w, n, c);
    float l2 = c->l2;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = dw[i] + l2 * w[i];
        cache[i] = c->decay_rate * cache[i] + (1 - c->decay_rate) * g * g;
        w[i] -= c->learning_rate * g / (sqrtf(cache[i]) + c->epsilon);
    }
}

void cpu_adam(const Backend *be, float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c)
{
    (void)be;
    float bias1 = (float)(1.0 - pow(c->beta1, c->t)), bias2 = (float)(1.0 - pow(c->beta2, c->t));
    float step = c->learning_rate / bias1, inv_bias2 = 1.0f / bias2;
    decay(w, n, c);
    float l2 = c->l2;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float g = dw[i] + l2 * w[i];
        m[i] = c->beta1 * m[i] + (1 - c->beta1) * g;
        v[i] = c->beta2 * v[i] + (1 - c->beta2) * g * g;
        w[i] -= step * m[i] / (sqrtf(v[i] * inv_bias2) + c->epsilon);
    }
}
