/* backend.h — a device behind one dispatch table, as an instance with its own context.
 *
 * A Backend is created by name (backend_create("cpu"), "cuda") and destroyed explicitly; it holds
 * its device context (the cuBLAS handle, scratch buffers, the CPU's conv workspace) in ctx, and
 * every op receives the instance first, so no op keeps process-wide state. One instance is used
 * by one host thread at a time (its scratch is shared by its ops, like a CUDA stream).
 *
 * Models, the Solver and the tests call layers only through a Backend, so they never know which
 * device they run on. All pointers given to an op belong to that backend's memory (alloc /
 * to_device); ops never mix devices. Argument order: the backend, outputs, inputs, weights, then
 * sizes. Tensors are float32, NCHW; labels are int. Shapes are validated before they get here
 * (geometry.h), so ops trust them.
 *
 * Losses stay on the device: the loss ops write into a device double (loss slot) instead of
 * returning a number, so a training step needs no device-to-host copy; callers read slots back
 * in bulk (to_host) when they need the values.
 *
 * Optional ops (marked OPTIONAL) may be NULL when a backend does not implement them: callers use
 * the backend_<op>() helper below the struct, which falls back to the unfused sequence of
 * required ops. This is how fused ops are added: one backend at a time, never breaking another. */
#ifndef NNDL_BACKEND_H
#define NNDL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "comm.h"
#include "augment.h"
#include "geometry.h"
#include "hd.h"
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
    /* NULL: step above. Otherwise device memory holding the step, read when the op runs, so
     * that a recorded step replays with the current mask */
    const int64_t *step_at;
} DropoutConfig;

static inline NNDL_HD uint64_t dropout_step(const DropoutConfig *d)
{
    return d->step_at ? (uint64_t)*d->step_at : d->step;
}

typedef struct Backend Backend;

/* Examples held in device memory (the training set uploaded once): n examples of `size` values,
 * as uint8 (u8 = 1; each value is (float)byte - mean[i % size], the host preprocessing's exact
 * arithmetic) or as float32 (u8 = 0, mean NULL); labels y (n ints). */
typedef struct DeviceExamples {
    const void *x;
    int u8;
    const float *mean;
    const int *y;
    int n;
    size_t size;
} DeviceExamples;

/* A recorded sequence of a backend's ops (a CUDA graph), replayed by graph_launch. */
typedef struct BackendGraph BackendGraph;

typedef enum Precision { PRECISION_FP32, PRECISION_TF32 } Precision;

/* What a device's runtime was asked to do (the SIMT host counts it; see cuda/simt/simt.h). */
typedef struct DeviceCounters {
    unsigned long launches, graph_launches, blas_calls, h2d, h2d_bytes, d2h, d2h_bytes, syncs, allocs;
} DeviceCounters;

/* All five update rules share one signature so they can be indexed by UpdateRule; a rule
 * ignores the state arrays it does not use. Adam expects c->t already incremented. Each first
 * applies the decoupled weight decay, w *= 1 - lr * c->weight_decay with the step's rate (on the
 * device, from c->vars when given, so that a recorded step replays with the current rate). */
typedef void (*UpdateFn)(const Backend *be, float *w, const float *dw, float *s1, float *s2,
                         size_t n, const OptimConfig *c);

struct Backend {
    const char *name;
    void *ctx;              /* the device context, owned by the instance */

    /* one line on what runs the ops: processor or GPU, versions, memory, libraries */
    void (*describe)(const Backend *be, char *buf, size_t size);

    /* memory: byte counts; alloc returns NULL when out of memory */
    void *(*alloc)(const Backend *be, size_t bytes);
    void (*release)(const Backend *be, void *p);
    void (*to_device)(const Backend *be, void *dst, const void *host_src, size_t bytes);
    void (*to_host)(const Backend *be, void *host_dst, const void *src, size_t bytes);
    void (*copy)(const Backend *be, void *dst, const void *src, size_t bytes);
    void (*fill)(const Backend *be, float *x, float value, size_t n);

    /* affine: x (N, D), w (D, M), b (M), out (N, M); backward skips dx when it is NULL (the
     * first layer's input gradient is never needed) */
    void (*affine_forward)(const Backend *be, float *out, const float *x, const float *w,
                           const float *b, int N, int D, int M);
    void (*affine_backward)(const Backend *be, float *dx, float *dw, float *db, const float *dout,
                            const float *x, const float *w, int N, int D, int M);
    /* OPTIONAL fused affine + relu: act = affine(x), out = relu(act) (act kept for backward) */
    void (*affine_relu_forward)(const Backend *be, float *out, float *act, const float *x,
                                const float *w, const float *b, int N, int D, int M);

    void (*relu_forward)(const Backend *be, float *out, const float *x, size_t n);
    void (*relu_backward)(const Backend *be, float *dx, const float *dout, const float *x, size_t n);

    /* conv: the scratch lives in the backend; conv_reserve sizes it for geometry g (at most
     * g->N images) once, at model creation, so that the ops never allocate device memory.
     * Returns NNDL_ERR ("out of memory for ...") when it cannot. Backward skips dx when NULL. */
    int (*conv_reserve)(const Backend *be, const ConvGeom *g);
    void (*conv_forward)(const Backend *be, float *out, const float *x, const float *w,
                         const float *b, const ConvGeom *g);
    void (*conv_backward)(const Backend *be, float *dx, float *dw, float *db, const float *dout,
                          const float *x, const float *w, const ConvGeom *g);

    /* max pool; backward gets the forward output and gives dout to every element equal to
     * its window's max (the seed's mask semantics) */
    void (*max_pool_forward)(const Backend *be, float *out, const float *x, const PoolGeom *g);
    void (*max_pool_backward)(const Backend *be, float *dx, const float *dout, const float *x,
                              const float *out, const PoolGeom *g);

    /* batchnorm on the layout (N, C, S): S = 1 for (N, D), S = H*W for spatial. Train mode
     * writes the batch mean and 1/sqrt(var + eps) per channel (kept for backward) and updates
     * the running statistics; test mode reads the running statistics only. */
    void (*batchnorm_forward)(const Backend *be, float *out, float *mean, float *inv_std,
                              float *running_mean, float *running_var, const float *x,
                              const float *gamma, const float *beta, const BNConfig *cfg, int N,
                              int C, int S);
    void (*batchnorm_backward)(const Backend *be, float *dx, float *dgamma, float *dbeta,
                               const float *dout, const float *x, const float *gamma,
                               const float *mean, const float *inv_std, int N, int C, int S);

    /* OPTIONAL fused batchnorm + relu (+ max pool): out = pool(relu(batchnorm(x))), pool NULL
     * for none, else a geometry whose windows tile the input (pool_geom_tiles). One pass for
     * the statistics and one that writes only out: the batchnorm and relu outputs are never
     * stored. mean / inv_std / running statistics as batchnorm_forward. */
    void (*bn_relu_pool_forward)(const Backend *be, float *out, float *mean, float *inv_std,
                                 float *running_mean, float *running_var, const float *x,
                                 const float *gamma, const float *beta, const BNConfig *cfg,
                                 const PoolGeom *pool, int N, int C, int S);
    /* Its backward from dout (the gradient of out) to dx, dgamma, dbeta; the batchnorm output
     * is recomputed from x, beta, mean and inv_std; out is the forward's output. */
    void (*bn_relu_pool_backward)(const Backend *be, float *dx, float *dgamma, float *dbeta,
                                  const float *dout, const float *out, const float *x,
                                  const float *gamma, const float *beta, const float *mean,
                                  const float *inv_std, const PoolGeom *pool, int N, int C, int S);
    /* global average pool: x (rows, S) -> out (rows): each row's mean (rows = N*C, S = H*W);
     * backward spreads dout[r] / S over row r */
    void (*global_avg_pool_forward)(const Backend *be, float *out, const float *x, size_t rows, int S);
    void (*global_avg_pool_backward)(const Backend *be, float *dx, const float *dout, size_t rows, int S);

    /* GELU, exact form x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); backward takes the input */
    void (*gelu_forward)(const Backend *be, float *out, const float *x, size_t n);
    void (*gelu_backward)(const Backend *be, float *dx, const float *dout, const float *x, size_t n);

    /* out = alpha * x (in place allowed), and out = a + b (out may be a or b) */
    void (*scale)(const Backend *be, float *out, const float *x, float alpha, size_t n);
    void (*add)(const Backend *be, float *out, const float *a, const float *b, size_t n);

    void (*dropout_forward)(const Backend *be, float *out, const float *x, size_t n,
                            const DropoutConfig *d);
    void (*dropout_backward)(const Backend *be, float *dx, const float *dout, size_t n,
                             const DropoutConfig *d);

    /* scores x (N, C), labels y (N): the mean loss into the device double *loss (overwritten),
     * dx (N, C) */
    void (*softmax_loss)(const Backend *be, float *dx, double *loss, const float *x, const int *y,
                         int N, int C);
    void (*svm_loss)(const Backend *be, float *dx, double *loss, const float *x, const int *y,
                     int N, int C);
    /* softmax against smoothed targets (1 - eps) one_hot + eps / C, as softmax_loss otherwise */
    void (*softmax_smoothed_loss)(const Backend *be, float *dx, double *loss, const float *x,
                                  const int *y, int N, int C, float eps);

    /* training-batch augmentation (augment.h): out (N, C, H, W) from in, a different array;
     * examples (device, N ints) the images' indices in their dataset, which key the draws
     * (NULL for a fixed transform); with a->vars, an epoch order read from vars->batch_start */
    void (*augment)(const Backend *be, float *out, const float *in, const int *examples, int N,
                    int C, int H, int W, const AugmentConfig *a);

    /* y = a * x + b * y elementwise: the moving average of the weights */
    void (*axpby)(const Backend *be, float *y, float a, const float *x, float b, size_t n);

    UpdateFn update[UPDATE_RULE_COUNT];
    /* 1: the update ops add OptimConfig.l2 * w to the gradient; 0: they ignore l2 (a Solver then
     * leaves the penalty's gradient to l2_penalty) */
    int update_folds_l2;

    /* L2 regularisation in one pass over the weights: dw += reg * w, and the device double
     * *loss += 0.5 * reg * sum(w^2). A backend with update_folds_l2 also takes dw NULL (the
     * update adds reg * w): the loss's term alone; the others are never given NULL. */
    void (*l2_penalty)(const Backend *be, float *dw, double *loss, const float *w, float reg,
                       size_t n);

    /* OPTIONAL: waits until the device has finished the work queued so far (NULL: every op
     * completes before it returns, as on the CPU). For timing ops one by one (profiles). */
    void (*synchronize)(const Backend *be);
    /* OPTIONAL, data-parallel training across processes (core/comm.h). allreduce: in place
     * over n values (CommType t, CommOp op) of this backend's memory on every rank of c: NCCL
     * on the GPU, or comm_allreduce_host_memory where the memory is host memory; NULL makes
     * comm_allreduce_on stage the values through host memory. */
    int (*allreduce)(const Backend *be, Comm *c, void *buf, size_t n, int t, int op);
    /* OPTIONAL, synchronised batchnorm (--sync-bn): per-channel sums in double into sums[0..2C):
     * sum(a) and sum(a * b), b NULL meaning sum(a * a). Forward: a = x; backward: a = dout,
     * b = x. Train-mode forward and backward from sums over `count` values of every rank's batch
     * (the backward takes dgamma and dbeta from this rank's own sums, local, and dx from the
     * group's, global, as one process with the whole batch would). */
    void (*batchnorm_sums)(const Backend *be, double *sums, const float *a, const float *b, int N, int C, int S);
    void (*batchnorm_forward_sums)(const Backend *be, float *out, float *mean, float *inv_std,
                                   float *running_mean, float *running_var, const float *x,
                                   const float *gamma, const float *beta, const double *sums,
                                   double count, const BNConfig *cfg, int N, int C, int S);
    void (*batchnorm_backward_sums)(const Backend *be, float *dx, float *dgamma, float *dbeta,
                                    const float *dout, const float *x, const float *gamma,
                                    const float *mean, const float *inv_std, const double *local,
                                    const double *global, double count, int N, int C, int S);

    /* ---- OPTIONAL: training from the device's own copy of the data. A backend with all three
     * lets the Solver upload the data once and copy nothing per step; without them the Solver
     * copies each minibatch from host memory (the cpu backend: its memory is the host's). */
    /* x (n, size) and y (n) of examples order[p] for the n positions p = base + *start + i
     * (start NULL: 0; order NULL: the positions themselves), as float (see DeviceExamples). */
    void (*gather)(const Backend *be, float *x, int *y, const DeviceExamples *src, const int *order,
                   const int32_t *start, int base, int n);
    /* *count (+)= the rows of scores (N, C) whose first maximum is at the label y[row] (the
     * prediction of model_predict); accumulate 0 overwrites */
    void (*count_correct)(const Backend *be, int *count, const float *scores, const int *y, int N, int C,
                          int accumulate);
    /* The end of a step on the device: loss_slots[v->loss_slot] = *loss, then v advances to the
     * next step (iteration, loss_slot and t by one, batch_start by batch; the rates from the
     * schedule's table when v->lr_table is set). */
    void (*step_finish)(const Backend *be, StepVars *v, double *loss_slots, const double *loss, int batch);
    /* OPTIONAL, for a run with a moving average of the weights on that path: axpby's
     * avg = (1 - d) * w + d * avg with d = ema_decay(ema, v->iteration) (step_vars.h), the decay
     * of the step the device is at when it runs */
    void (*ema_step)(const Backend *be, float *avg, const float *w, size_t n, float ema, const StepVars *v);

    /* ---- OPTIONAL: graphs. capture runs record(ctx) with the backend's ops recorded instead of
     * run (nothing may synchronise or allocate meanwhile) and returns the recording, or NULL
     * with the reason in nndl_last_error(); graph_launch replays it. */
    BackendGraph *(*capture)(const Backend *be, void (*record)(void *ctx), void *ctx);
    void (*graph_launch)(const Backend *be, BackendGraph *g);
    void (*graph_destroy)(const Backend *be, BackendGraph *g);

    /* OPTIONAL: the arithmetic of the matrix products (NULL: float32 only). NNDL_ERR with a
     * message when the device cannot. */
    int (*set_precision)(const Backend *be, Precision p);
    /* OPTIONAL: the runtime's counters since the last reset (reset != 0 resets them after
     * reading); NNDL_ERR where nothing counts them (a real GPU: use a profiler). */
    int (*counters)(const Backend *be, DeviceCounters *c, int reset);
};

/* One update of w (n floats, on be's device) from dw; s1/s2 are the rule's state arrays. The
 * decoupled weight decay comes first, inside the rule's op (PyTorch's AdamW order). */
static inline void backend_update(const Backend *be, OptimConfig *c, float *w, const float *dw,
                                  float *s1, float *s2, size_t n)
{
    if (c->rule == UPDATE_ADAM) c->t++;
    be->update[c->rule](be, w, dw, s1, s2, n, c);
}

/* The caller-side fallback of an optional op: the fused op where the backend has one, else the
 * unfused sequence it stands for (same results up to float rounding). */
static inline void backend_affine_relu_forward(const Backend *be, float *out, float *act,
                                               const float *x, const float *w, const float *b,
                                               int N, int D, int M)
{
    if (be->affine_relu_forward) {
        be->affine_relu_forward(be, out, act, x, w, b, N, D, M);
        return;
    }
    be->affine_forward(be, act, x, w, b, N, D, M);
    be->relu_forward(be, out, act, (size_t)N * M);
}

/* Batchnorm + relu (+ pool) through the fused op where the backend has it and the pool tiles,
 * else the unfused ops: bn_act and relu_act then receive the batchnorm and relu outputs (relu_act
 * is out when pool is NULL); the fused op leaves them untouched. */
static inline void backend_bn_relu_pool_forward(const Backend *be, float *out, float *bn_act, float *relu_act,
                                                float *mean, float *inv_std, float *running_mean,
                                                float *running_var, const float *x, const float *gamma,
                                                const float *beta, const BNConfig *cfg, const PoolGeom *pool,
                                                int N, int C, int S)
{
    if (be->bn_relu_pool_forward && (!pool || pool_geom_tiles(pool))) {
        be->bn_relu_pool_forward(be, out, mean, inv_std, running_mean, running_var, x, gamma, beta, cfg, pool, N,
                                 C, S);
        return;
    }
    be->batchnorm_forward(be, bn_act, mean, inv_std, running_mean, running_var, x, gamma, beta, cfg, N, C, S);
    be->relu_forward(be, pool ? relu_act : out, bn_act, (size_t)N * C * S);
    if (pool) be->max_pool_forward(be, out, relu_act, pool);
}

/* Its backward. dout (the gradient of out) is overwritten; spare holds N*C*S floats. Returns the
 * buffer that holds dx: spare, or dout when the unfused pool path needed spare for its own
 * gradient (the caller's ping-pong follows the pointer). bn_act and relu_act are only read by
 * the unfused path, which the forward filled. */
static inline float *backend_bn_relu_pool_backward(const Backend *be, float *dgamma, float *dbeta, float *dout,
                                                   float *spare, const float *out, const float *bn_act,
                                                   const float *relu_act, const float *x, const float *gamma,
                                                   const float *beta, const float *mean, const float *inv_std,
                                                   const PoolGeom *pool, int N, int C, int S)
{
    size_t n = (size_t)N * C * S;
    if (be->bn_relu_pool_backward && (!pool || pool_geom_tiles(pool))) {
        be->bn_relu_pool_backward(be, spare, dgamma, dbeta, dout, out, x, gamma, beta, mean, inv_std, pool, N, C,
                                  S);
        return spare;
    }
    if (!pool) { /* relu's gradient in place, then batchnorm's into spare */
        be->relu_backward(be, dout, dout, bn_act, n);
        be->batchnorm_backward(be, spare, dgamma, dbeta, dout, x, gamma, mean, inv_std, N, C, S);
        return spare;
    }
    be->max_pool_backward(be, spare, dout, relu_act, out, pool);
    be->relu_backward(be, spare, spare, bn_act, n);
    be->batchnorm_backward(be, dout, dgamma, dbeta, spare, x, gamma, mean, inv_std, N, C, S);
    return dout;
}

/* A new instance of the backend of that name ("cpu", "cuda"), or NULL with the reason in
 * nndl_last_error() (unknown name, built without CUDA, no GPU present, out of memory, ...). The
 * reason is the same on every call. */
Backend *backend_create(const char *name);
/* Frees the instance and its context; every allocation made through it must be released first.
 * NULL is ignored. */
void backend_destroy(Backend *be);

/* The fastest available backend: cuda when usable, else cpu; *note explains a fallback. */
Backend *backend_create_auto(const char **note);

/* A --device choice: "auto" (printing the fallback note, if any, on stderr) or a name. */
Backend *backend_choose(const char *choice);

/* One entry of the registry (core/backend_registry.c): which devices exist in this build is
 * decided by the Makefile, which links exactly one definition of each driver (see there). */
typedef struct BackendDriver {
    const char *name;
    /* Fills the instance (table and context) or returns NNDL_ERR with the reason. */
    int (*init)(Backend *be);
    /* Frees the context (the instance itself is freed by backend_destroy). */
    void (*fini)(Backend *be);
} BackendDriver;

#ifdef __cplusplus
}
#endif
#endif
