/* backend.h — the dispatch table: one struct of function pointers per device.
 *
 * Models, the Solver and the tests call layers only through a Backend, so they never know which
 * device they run on. All pointers given to an op belong to that backend's memory (alloc /
 * to_device); ops never mix devices. Argument order: outputs, inputs, weights, then sizes.
 * Tensors are float32, NCHW; labels are int. Shapes are validated before they get here
 * (geometry.h), so ops trust them. */
#ifndef NNDL_BACKEND_H
#define NNDL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "geometry.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct BNConfig {
    int train;              /* 1: batch statistics (and running stats updated); 0: running */
    float eps, momentum;    /* seed defaults 1e-5, 0.9 */
} BNConfig;

typedef struct DropoutConfig {
    int train;              /* test mode is the identity */
    float p_keep;           /* the seed's p: probability of keeping a unit */
    uint64_t seed, step;    /* inputs of the shared counter-based mask (dropout_mask.h) */
} DropoutConfig;

/* All five update rules share one signature so they can be indexed by UpdateRule; a rule
 * ignores the state arrays it does not use. Adam expects c->t already incremented. */
typedef void (*UpdateFn)(float *w, const float *dw, float *s1, float *s2, size_t n,
                         const OptimConfig *c);

typedef struct Backend {
    const char *name;

    /* one line on what runs the ops: processor or GPU, versions, memory, libraries */
    void (*describe)(char *buf, size_t size);

    /* memory: byte counts; alloc returns NULL when out of memory */
    void *(*alloc)(size_t bytes);
    void (*release)(void *p);
    void (*to_device)(void *dst, const void *host_src, size_t bytes);
    void (*to_host)(void *host_dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*fill)(float *x, float value, size_t n);

    /* affine: x (N, D), w (D, M), b (M), out (N, M); backward skips dx when it is NULL (the
     * first layer's input gradient is never needed) */
    void (*affine_forward)(float *out, const float *x, const float *w, const float *b, int N,
                           int D, int M);
    void (*affine_backward)(float *dx, float *dw, float *db, const float *dout, const float *x,
                            const float *w, int N, int D, int M);

    void (*relu_forward)(float *out, const float *x, size_t n);
    void (*relu_backward)(float *dx, const float *dout, const float *x, size_t n);

    /* conv: scratch of conv_workspace(g) floats, allocated by the caller; backward skips dx
     * when it is NULL */
    size_t (*conv_workspace)(const ConvGeom *g);
    void (*conv_forward)(float *out, const float *x, const float *w, const float *b,
                         const ConvGeom *g, float *ws);
    void (*conv_backward)(float *dx, float *dw, float *db, const float *dout, const float *x,
                          const float *w, const ConvGeom *g, float *ws);

    /* max pool; backward gets the forward output and gives dout to every element equal to
     * its window's max (the seed's mask semantics) */
    void (*max_pool_forward)(float *out, const float *x, const PoolGeom *g);
    void (*max_pool_backward)(float *dx, const float *dout, const float *x, const float *out,
                              const PoolGeom *g);

    /* batchnorm on the layout (N, C, S): S = 1 for (N, D), S = H*W for spatial. Train mode
     * writes the batch mean and 1/sqrt(var + eps) per channel (kept for backward) and updates
     * the running statistics; test mode reads the running statistics only. */
    void (*batchnorm_forward)(float *out, float *mean, float *inv_std, float *running_mean,
                              float *running_var, const float *x, const float *gamma,
                              const float *beta, const BNConfig *cfg, int N, int C, int S);
    void (*batchnorm_backward)(float *dx, float *dgamma, float *dbeta, const float *dout,
                               const float *x, const float *gamma, const float *mean,
                               const float *inv_std, int N, int C, int S);

    void (*dropout_forward)(float *out, const float *x, size_t n, const DropoutConfig *d);
    void (*dropout_backward)(float *dx, const float *dout, size_t n, const DropoutConfig *d);

    /* scores x (N, C), labels y (N); return the mean loss, write dx (N, C) */
    double (*softmax_loss)(float *dx, const float *x, const int *y, int N, int C);
    double (*svm_loss)(float *dx, const float *x, const int *y, int N, int C);

    UpdateFn update[UPDATE_RULE_COUNT];

    /* L2 regularisation in one pass over the weights: dw += reg * w; returns sum(w^2) */
    double (*l2_penalty)(float *dw, const float *w, float reg, size_t n);
} Backend;

/* One update of w (n floats, on be's device) from dw; s1/s2 are the rule's state arrays. */
static inline void backend_update(const Backend *be, OptimConfig *c, float *w, const float *dw,
                                  float *s1, float *s2, size_t n)
{
    if (c->rule == UPDATE_ADAM) c->t++;
    be->update[c->rule](w, dw, s1, s2, n, c);
}

/* The backend of that name ("cpu", "cuda"), or NULL with the reason in nndl_last_error()
 * (unknown name, built without CUDA, no GPU present, ...). */
const Backend *backend_get(const char *name);

/* The fastest available backend: cuda when usable, else cpu; *note explains a fallback. */
const Backend *backend_auto(const char **note);

/* A --device choice: "auto" (printing the fallback note, if any, on stderr) or a name. */
const Backend *backend_choose(const char *choice);

#ifdef __cplusplus
}
#endif
#endif
