/* model.h — a network built from a layer spec (model_spec.h), running on one backend.
 *
 * The model knows no layer kind: it walks each layer's descriptor (net/layers/layer_kind.h) for
 * shapes, parameters, extra arrays and the forward and backward calls.
 *
 * Holds the parameters (weights, biases, batchnorm gamma/beta) with their gradients, the
 * batchnorm running statistics, and per-layer activations for up to max_batch examples. Names
 * follow the seed: W1, b1 for the first conv/affine layer, gamma1, beta1 for a batchnorm after
 * it, and so on; a residual block's projection is Wproj<k>. Weights start as weight_scale *
 * N(0, 1) (or He's sqrt(2 / fan_in) * N(0, 1)) drawn on the host from one seeded generator, then
 * uploaded, so a seed gives the same model on every device. The loss is the
 * seed's: data loss + 0.5 * reg * sum(W^2) over weights only (not biases, gamma, beta). */
#ifndef NNDL_MODEL_H
#define NNDL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "model_spec.h"

typedef enum LossKind { LOSS_SOFTMAX, LOSS_SVM } LossKind;

typedef struct Param {
    char name[16];
    size_t n;
    int is_weight;              /* L2 regularised (unless frozen: a constant) */
    int frozen;                 /* conv(frozen) filters: never updated, averaged or penalised */
    float *w, *dw;              /* device */
} Param;

/* Whether the L2 penalty (--reg) counts p: weights, not frozen ones (constants). */
static inline int param_penalised(const Param *p) { return p->is_weight && !p->frozen; }

/* Where a step's time goes, accumulated while Model.profile points here (NULL: nothing is timed
 * and the loops cost one branch per layer). Each entry waits for the device before and after
 * (Backend.synchronize), so on a GPU a profiled step is slower than a plain one. */
typedef struct ModelProfile {
    double forward[MODEL_MAX_LAYERS], backward[MODEL_MAX_LAYERS]; /* seconds; a fused group's
                                                                     * sit on its first layer */
    double upload, loss, l2, update;    /* the batch's copy in, the loss op, the L2 penalties,
                                         * the Solver's update rule */
    long steps;                         /* training steps (model_loss_into calls) timed */
} ModelProfile;

typedef struct Model {
    const Backend *be;
    char spec[MODEL_SPEC_MAX];  /* canonical spec text */
    int in_c, in_h, in_w, num_classes, max_batch;
    float reg;
    /* 1 while a Solver's step runs whose update adds reg * w to the gradient (OptimConfig.l2):
     * the loss then counts the penalty without adding its gradient to dw */
    int l2_gradient_in_update;
    LossKind loss;
    float label_smoothing;      /* softmax targets (1 - e) one_hot + e / classes; 0: none (the seed) */
    int tta;                    /* test-time augmentation of predictions: 0 none, 1 flip, 2 flip + shifts */
    uint64_t seed;              /* weights and dropout masks */
    int n_layers;
    Layer layers[MODEL_MAX_LAYERS];
    /* group[i]: how many layers from layer i run as one fused op (fused_group.h), 1 for a plain
     * layer, 0 for a layer inside a group */
    int group[MODEL_MAX_LAYERS];
    int n_params;
    Param params[LAYER_MAX_PARAMS * MODEL_MAX_LAYERS];
    /* Every parameter lies in one block, each starting 64-byte aligned (the gaps stay 0), and
     * its gradient at the same offset in grad_block: an update rule runs over all of them in
     * one call (param_values floats; the Solver lays its state out the same way). */
    float *param_block, *grad_block;
    size_t param_values;
    ModelProfile *profile;      /* NULL unless profiling (bench train --profile) */
    float *x;                   /* input staging, device */
    int *labels;                /* device */
    float *grad[2];             /* ping-pong activation gradients, device */
    double *loss_slot;          /* model_loss's loss, device */
    float *host_scores;         /* (max_batch, classes): scores read back for predictions */
    Comm *sync_bn;              /* batchnorm statistics over the whole group (--sync-bn); NULL:
                                 * over this process's batch */
} Model;

/* Size limits, refused with a message naming the layer before anything is allocated or drawn:
 * they keep a model's memory sane and every tensor's element count within int. Parameters of
 * the whole model (1 GiB of float32; the optimizer holds up to three times as much again): */
#define MODEL_MAX_PARAMS ((size_t)1 << 28)
/* The activations of one batch of max_batch examples: the input and every layer's output. */
#define MODEL_MAX_BATCH_VALUES ((size_t)1 << 30)

/* How weights (conv, affine, projection) start; biases start at 0 either way. */
typedef enum WeightInit {
    INIT_NORMAL,    /* weight_scale * N(0, 1): the seed's */
    INIT_HE,        /* Kaiming normal, fan-in: sqrt(2 / fan_in) * N(0, 1) (weight_scale unused) */
} WeightInit;

/* Everything a model is built from. */
typedef struct ModelConfig {
    const char *spec;
    int C, H, W;                /* one input example */
    WeightInit init;
    float weight_scale, reg;
    LossKind loss;
    uint64_t seed;
    int max_batch;
    size_t file_bytes;          /* a model rebuilt from a file of this size (0: none): more parameters
                                 * than its bytes can hold are refused before anything is allocated */
} ModelConfig;

/* Validates every layer's shapes against the input (C, H, W) and the size limits, and
 * allocates. */
int model_create(Model *m, const Backend *be, const ModelConfig *cfg);
/* The same with the seed's initialisation (INIT_NORMAL). */
int model_init(Model *m, const Backend *be, const char *spec, int C, int H, int W,
               float weight_scale, float reg, LossKind loss, uint64_t seed, int max_batch);
/* "normal" / "he", and back; -1 / NULL for others. */
int weight_init_parse(const char *name);
const char *weight_init_name(WeightInit init);
void model_free(Model *m);

/* Training step: forward in train mode (batch statistics, dropout with the mask of `step`),
 * loss + L2 into the device double *loss, backward filling every Param.dw. X (N, C, H, W) and y
 * are host arrays. No device-to-host copy: the loss stays on the device until read back. */
void model_loss_into(Model *m, double *loss, const float *X, const int *y, int N, uint64_t step);
/* The training step on a batch already on the device, in model_input(m) (the caller built it
 * there, e.g. augmented); y is a host array. */
void model_loss_on_input(Model *m, double *loss, const int *y, int N, uint64_t step);
/* The device array (max_batch examples) the model reads its input batch from. */
static inline float *model_input(Model *m) { return m->x; }
/* The same on the batch already in m->x and m->labels (the backend's gather put it there).
 * step_at: device memory holding the step number, read when the ops run (dropout masks), so a
 * recorded step replays with the current one; NULL: `step`. */
void model_loss_on_device(Model *m, double *loss, int N, uint64_t step, const int64_t *step_at);
/* The same with the loss read back (one device-to-host copy): for tests and single steps. */
double model_loss(Model *m, const float *X, const int *y, int N, uint64_t step);

/* Test mode (running statistics, no dropout): class scores (N, classes) into host memory; with
 * m->tta the sum of the scores of the views of model_tta_views (the image, its mirror, shifted
 * copies). */
int model_scores(Model *m, float *scores, const float *X, int N);

/* Test mode on the batch already in m->x: the scores (N, classes; with m->tta summed over the
 * views, as model_scores, which overwrites m->x), device memory. */
const float *model_scores_on_device(Model *m, int N);

/* Predicted labels for N examples (model_scores), in batches of at most max_batch. */
int model_predict(Model *m, int *pred, const float *X, int N);

/* How many of N examples X the model labels as y says; NNDL_ERR (message set) when out of memory
 * for the predictions. */
int model_count_correct(Model *m, const float *X, const int *y, int N);

/* The fixed transforms test-time augmentation level `tta` averages over: 1 view (the image) at
 * level 0, 2 (and its mirror) at 1, 6 (both shifted one pixel up-left and down-right, reflected
 * at the border) at 2. Writes up to MODEL_TTA_MAX_VIEWS and returns the count. */
#define MODEL_TTA_MAX_VIEWS 6
int model_tta_views(int tta, AugmentConfig *views);

/* Everything that defines the trained model (params, then batchnorm running statistics) as one
 * flat host array of model_state_size floats: for best-params snapshots and checkpoints. */
size_t model_state_size(const Model *m);
void model_state_save(const Model *m, float *host);
void model_state_load(Model *m, const float *host);
/* Where each array sits in that layout (params in order, then every layer's saved buffers):
 * parameter p, and buffer j of layer i (which must be a saved one). */
size_t model_param_offset(const Model *m, int p);
size_t model_buffer_offset(const Model *m, int layer, int buffer);

#endif
