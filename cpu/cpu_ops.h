/* cpu_ops.h — the CPU backend's ops, one file per family; cpu_backend.c puts them in the table.
 * Contracts are those of the matching Backend members (core/backend.h). */
#ifndef NNDL_CPU_OPS_H
#define NNDL_CPU_OPS_H

#include "backend.h"

/* The cpu instance's context: the conv workspace (per-thread slices of im2col columns and
 * partial gradients) and the allocation counters behind cpu_backend.h's test hooks. */
typedef enum CpuConvAlgo {
    CPU_CONV_AUTO,          /* Winograd where it applies and pays (cpu_conv.c), else im2col */
    CPU_CONV_IM2COL,
    CPU_CONV_WINOGRAD,      /* F(2x2, 3x3) wherever the geometry allows (3x3, stride 1, pad 1) */
    CPU_CONV_WINOGRAD4,     /* F(4x4, 3x3) wherever the geometry allows */
} CpuConvAlgo;

typedef struct CpuContext {
    CpuConvAlgo conv_algo;      /* AUTO unless a test or bench sets it (cpu_backend.h) */
    float *conv_ws;
    size_t conv_ws_floats;      /* capacity */
    size_t conv_slice;          /* largest per-thread slice reserved (floats) */
    long live_allocs;           /* alloc minus release */
    long fail_after;            /* allocations left before one fails; < 0: never */
} CpuContext;

/* Host memory for the backend's own scratch, under the same failure hook as alloc. */
void *cpu_scratch_alloc(const Backend *be, size_t bytes);

void cpu_describe(const Backend *be, char *buf, size_t size);

void cpu_affine_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, int N, int D,
                        int M);
void cpu_affine_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, int N, int D, int M);
void cpu_relu_forward(const Backend *be, float *out, const float *x, size_t n);
void cpu_relu_backward(const Backend *be, float *dx, const float *dout, const float *x, size_t n);
void cpu_gelu_forward(const Backend *be, float *out, const float *x, size_t n);
void cpu_gelu_backward(const Backend *be, float *dx, const float *dout, const float *x, size_t n);
void cpu_scale(const Backend *be, float *out, const float *x, float alpha, size_t n);
void cpu_add(const Backend *be, float *out, const float *a, const float *b, size_t n);
void cpu_dropout_forward(const Backend *be, float *out, const float *x, size_t n, const DropoutConfig *d);
void cpu_dropout_backward(const Backend *be, float *dx, const float *dout, size_t n, const DropoutConfig *d);
void cpu_softmax_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C);
void cpu_svm_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C);
void cpu_softmax_smoothed_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N,
                               int C, float eps);
void cpu_augment(const Backend *be, float *out, const float *in, const int *examples, int N, int C, int H, int W,
                 const AugmentConfig *a);
void cpu_axpby(const Backend *be, float *y, float a, const float *x, float b, size_t n);
void cpu_l2_penalty(const Backend *be, float *dw, double *loss, const float *w, float reg, size_t n);

int cpu_conv_reserve(const Backend *be, const ConvGeom *g);
void cpu_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b,
                      const ConvGeom *g);
void cpu_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, const ConvGeom *g);

void cpu_max_pool_forward(const Backend *be, float *out, const float *x, const PoolGeom *g);
void cpu_max_pool_backward(const Backend *be, float *dx, const float *dout, const float *x, const float *out,
                           const PoolGeom *g);

void cpu_global_avg_pool_forward(const Backend *be, float *out, const float *x, size_t rows, int S);
void cpu_global_avg_pool_backward(const Backend *be, float *dx, const float *dout, size_t rows, int S);

void cpu_batchnorm_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                           float *running_var, const float *x, const float *gamma,
                           const float *beta, const BNConfig *cfg, int N, int C, int S);
void cpu_batchnorm_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                            const float *x, const float *gamma, const float *mean,
                            const float *inv_std, int N, int C, int S);
/* Channel c's sum and sum of products a*b (b NULL: a*a) over (N, S), in double. */
void cpu_bn_channel_sums(double *s1, double *s2, const float *a, const float *b, int N, int C, int S, int c);
/* Channel c's mean and 1/std: from its sums over count values in training (the running
 * statistics updated, mean and inv_std kept for backward), else the running statistics. */
void cpu_bn_channel_stats(float *m, float *istd, float *mean, float *inv_std, float *running_mean,
                          float *running_var, double sum, double sq, double count, const BNConfig *cfg, int c);
void cpu_batchnorm_sums(const Backend *be, double *sums, const float *a, const float *b, int N, int C, int S);
void cpu_batchnorm_forward_sums(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                                float *running_var, const float *x, const float *gamma, const float *beta,
                                const double *sums, double count, const BNConfig *cfg, int N, int C, int S);
void cpu_batchnorm_backward_sums(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                                 const float *x, const float *gamma, const float *mean, const float *inv_std,
                                 const double *local, const double *global, double count, int N, int C, int S);

void cpu_bn_relu_pool_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                              float *running_var, const float *x, const float *gamma, const float *beta,
                              const BNConfig *cfg, const PoolGeom *pool, int N, int C, int S);
void cpu_bn_relu_pool_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                               const float *out, const float *x, const float *gamma, const float *beta,
                               const float *mean, const float *inv_std, const PoolGeom *pool, int N, int C,
                               int S);

void cpu_sgd(const Backend *be, float *w, const float *dw, float *s1, float *s2, size_t n, const OptimConfig *c);
void cpu_sgd_momentum(const Backend *be, float *w, const float *dw, float *v, float *s2, size_t n,
                      const OptimConfig *c);
void cpu_sgd_nesterov_momentum(const Backend *be, float *w, const float *dw, float *v, float *s2, size_t n,
                               const OptimConfig *c);
void cpu_rmsprop(const Backend *be, float *w, const float *dw, float *cache, float *s2, size_t n,
                 const OptimConfig *c);
void cpu_adam(const Backend *be, float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c);

#endif
