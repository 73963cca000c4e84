/* reference.h — the seed's layers in double precision: the test oracle.
 *
 * Clarity first: these are the seed's *_naive loops and formulas, written to be read next to the
 * notebook, not to be fast. Backends compute in float32 and are tested against these. Backward
 * functions take the forward inputs again (the seed's `cache`) and recompute what they need.
 *
 * Shapes: affine x (N, D) (any (N, d1..dk) flattened), w (D, M), b (M); conv/pool NCHW with a
 * ConvGeom/PoolGeom; batchnorm works on the layout (N, C, S): S = 1 is the seed's batchnorm on
 * (N, D), S = H*W is spatial batchnorm on (N, C, H, W), statistics per channel C. */
#ifndef NNDL_REFERENCE_H
#define NNDL_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "augment.h"
#include "geometry.h"
#include "optim.h"

void ref_affine_forward(double *out, const double *x, const double *w, const double *b,
                        int N, int D, int M);
void ref_affine_backward(double *dx, double *dw, double *db, const double *dout,
                         const double *x, const double *w, int N, int D, int M);

void ref_relu_forward(double *out, const double *x, size_t n);
void ref_relu_backward(double *dx, const double *dout, const double *x, size_t n);

/* GELU, exact form: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (torch.nn.GELU's default) */
void ref_gelu_forward(double *out, const double *x, size_t n);
void ref_gelu_backward(double *dx, const double *dout, const double *x, size_t n);

/* out = alpha * x; out = a + b (a residual block's output: its last layer plus its input) */
void ref_scale(double *out, const double *x, double alpha, size_t n);
void ref_add(double *out, const double *a, const double *b, size_t n);

/* Global average pool of x (rows, S) to out (rows): rows = N*C, S = H*W. */
void ref_global_avg_pool_forward(double *out, const double *x, size_t rows, int S);
void ref_global_avg_pool_backward(double *dx, const double *dout, size_t rows, int S);

void ref_conv_forward_naive(double *out, const double *x, const double *w, const double *b,
                            const ConvGeom *g);
void ref_conv_backward_naive(double *dx, double *dw, double *db, const double *dout,
                             const double *x, const double *w, const ConvGeom *g);

/* Backward gives dout to every element equal to its window's max, as the seed's mask does. */
void ref_max_pool_forward_naive(double *out, const double *x, const PoolGeom *g);
void ref_max_pool_backward_naive(double *dx, const double *dout, const double *x,
                                 const PoolGeom *g);

typedef struct RefBNParam {
    int train;              /* 1: batch statistics, running stats updated; 0: running stats */
    double eps, momentum;   /* seed defaults 1e-5 and 0.9 */
    double *running_mean, *running_var; /* (C), updated in train mode */
} RefBNParam;

void ref_batchnorm_forward(double *out, const double *x, const double *gamma,
                           const double *beta, RefBNParam *p, int N, int C, int S);
/* Train-mode backward; batch statistics are recomputed from x. */
void ref_batchnorm_backward(double *dx, double *dgamma, double *dbeta, const double *dout,
                            const double *x, const double *gamma, double eps, int N, int C,
                            int S);

/* Inverted dropout with the shared counter-based mask (dropout_mask.h); p_keep is the seed's p. */
void ref_dropout_forward(double *out, const double *x, size_t n, float p_keep, uint64_t seed,
                         uint64_t step, int train);
void ref_dropout_backward(double *dx, const double *dout, size_t n, float p_keep,
                          uint64_t seed, uint64_t step, int train);

/* Scores x (N, C), labels y; return the loss averaged over N and write dx (may be NULL). */
double ref_softmax_loss(double *dx, const double *x, const int *y, int N, int C);
double ref_svm_loss(double *dx, const double *x, const int *y, int N, int C);
/* Softmax cross-entropy against smoothed targets: (1 - eps) on the label plus eps / C on every
 * class (PyTorch's cross_entropy(label_smoothing=eps)); eps = 0 is ref_softmax_loss. */
double ref_softmax_loss_smoothed(double *dx, const double *x, const int *y, int N, int C, double eps);

/* Training-batch augmentation of N images (C, H, W) with the draws of augment.h, examples[n]
 * being image n's index in its dataset (NULL: all 0, for a fixed transform). */
void ref_augment(double *out, const double *in, const int *examples, int N, int C, int H, int W,
                 const AugmentConfig *a);

/* One update of n weights by rule c->rule (Adam expects c->t already incremented, as the backend
 * update ops do); s1/s2 the rule's state arrays, NULL when unused. */
void ref_update(const OptimConfig *c, double *w, const double *dw, double *s1, double *s2, size_t n);

/* Sandwiches. Each forward fills a cache (intermediates it allocates and the inputs it points
 * to); the matching backward consumes it; ref_cache_free releases it. */
typedef struct RefCache {
    const double *x, *w, *gamma;
    ConvGeom cg;
    PoolGeom pg;
    int N, D, M;            /* affine shapes */
    double eps;
    double *a;              /* affine / conv output */
    double *bn;             /* batchnorm output */
    double *r;              /* relu output (pool input) */
} RefCache;

void ref_cache_free(RefCache *c);

void ref_affine_relu_forward(double *out, RefCache *c, const double *x, const double *w,
                             const double *b, int N, int D, int M);
void ref_affine_relu_backward(double *dx, double *dw, double *db, const double *dout,
                              const RefCache *c);

void ref_affine_bn_relu_forward(double *out, RefCache *c, const double *x, const double *w,
                                const double *b, const double *gamma, const double *beta,
                                RefBNParam *p, int N, int D, int M);
void ref_affine_bn_relu_backward(double *dx, double *dw, double *db, double *dgamma,
                                 double *dbeta, const double *dout, const RefCache *c);

void ref_conv_relu_forward(double *out, RefCache *c, const double *x, const double *w,
                           const double *b, const ConvGeom *g);
void ref_conv_relu_backward(double *dx, double *dw, double *db, const double *dout,
                            const RefCache *c);

void ref_conv_relu_pool_forward(double *out, RefCache *c, const double *x, const double *w,
                                const double *b, const ConvGeom *g, const PoolGeom *pg);
void ref_conv_relu_pool_backward(double *dx, double *dw, double *db, const double *dout,
                                 const RefCache *c);

/* pg == NULL gives conv_bn_relu; otherwise conv_bn_relu_pool. */
void ref_conv_bn_relu_pool_forward(double *out, RefCache *c, const double *x, const double *w,
                                   const double *b, const double *gamma, const double *beta,
                                   RefBNParam *p, const ConvGeom *g, const PoolGeom *pg);
void ref_conv_bn_relu_pool_backward(double *dx, double *dw, double *db, double *dgamma,
                                    double *dbeta, const double *dout, const RefCache *c);

#endif
