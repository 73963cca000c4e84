/* cpu_ops.h — the CPU backend's ops, one file per family; cpu_backend.c puts them in the table.
 * Contracts are those of the matching Backend members (core/backend.h). */
#ifndef NNDL_CPU_OPS_H
#define NNDL_CPU_OPS_H

#include "backend.h"

void cpu_describe(char *buf, size_t size);
void cpu_affine_forward(float *out, const float *x, const float *w, const float *b, int N, int D,
                        int M);
void cpu_affine_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, int N, int D, int M);
void cpu_relu_forward(float *out, const float *x, size_t n);
void cpu_relu_backward(float *dx, const float *dout, const float *x, size_t n);
void cpu_dropout_forward(float *out, const float *x, size_t n, const DropoutConfig *d);
void cpu_dropout_backward(float *dx, const float *dout, size_t n, const DropoutConfig *d);
double cpu_softmax_loss(float *dx, const float *x, const int *y, int N, int C);
double cpu_svm_loss(float *dx, const float *x, const int *y, int N, int C);
double cpu_l2_penalty(float *dw, const float *w, float reg, size_t n);

size_t cpu_conv_workspace(const ConvGeom *g);
void cpu_conv_forward(float *out, const float *x, const float *w, const float *b,
                      const ConvGeom *g, float *ws);
void cpu_conv_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, const ConvGeom *g, float *ws);

void cpu_max_pool_forward(float *out, const float *x, const PoolGeom *g);
void cpu_max_pool_backward(float *dx, const float *dout, const float *x, const float *out,
                           const PoolGeom *g);

void cpu_batchnorm_forward(float *out, float *mean, float *inv_std, float *running_mean,
                           float *running_var, const float *x, const float *gamma,
                           const float *beta, const BNConfig *cfg, int N, int C, int S);
void cpu_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout,
                            const float *x, const float *gamma, const float *mean,
                            const float *inv_std, int N, int C, int S);

void cpu_sgd(float *w, const float *dw, float *s1, float *s2, size_t n, const OptimConfig *c);
void cpu_sgd_momentum(float *w, const float *dw, float *v, float *s2, size_t n,
                      const OptimConfig *c);
void cpu_sgd_nesterov_momentum(float *w, const float *dw, float *v, float *s2, size_t n,
                               const OptimConfig *c);
void cpu_rmsprop(float *w, const float *dw, float *cache, float *s2, size_t n,
                 const OptimConfig *c);
void cpu_adam(float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c);

#endif
