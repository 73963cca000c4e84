/* model.h — a network built from a layer spec (model_spec.h), running on one backend.
 *
 * Holds the parameters (weights, biases, batchnorm gamma/beta) with their gradients, the
 * batchnorm running statistics, and per-layer activations for up to max_batch examples. Names
 * follow the seed: W1, b1 for the first conv/affine layer, gamma1, beta1 for a batchnorm after
 * it, and so on. Weights start as weight_scale * N(0, 1) drawn on the host from one seeded
 * generator, then uploaded, so a seed gives the same model on every device. The loss is the
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
    int is_weight;              /* L2 regularised */
    float *w, *dw;              /* device */
} Param;

typedef struct Layer {
    LayerSpec spec;
    int in[3], out[3];          /* per-example shape (C, H, W); a vector of D is (D, 1, 1) */
    int spatial;                /* the input is a feature map, not a flat vector */
    int w, b, gamma, beta;      /* indices into Model.params, -1 if none */
    float *running_mean, *running_var, *mean, *inv_std; /* batchnorm, device, (C) */
    float *act;                 /* output activations for max_batch examples, device */
} Layer;

typedef struct Model {
    const Backend *be;
    char spec[MODEL_SPEC_MAX];  /* canonical spec text */
    int in_c, in_h, in_w, num_classes, max_batch;
    float reg;
    LossKind loss;
    uint64_t seed;              /* weights and dropout masks */
    int n_layers;
    Layer layers[MODEL_MAX_LAYERS];
    int n_params;
    Param params[2 * MODEL_MAX_LAYERS];
    float *x;                   /* input staging, device */
    int *labels;                /* device */
    float *grad[2];             /* ping-pong activation gradients, device */
    double *loss_slot;          /* model_loss's loss, device */
    float *host_scores;         /* (max_batch, classes) */
} Model;

/* Validates every layer's shapes against the input (C, H, W) and allocates. */
int model_init(Model *m, const Backend *be, const char *spec, int C, int H, int W,
               float weight_scale, float reg, LossKind loss, uint64_t seed, int max_batch);
void model_free(Model *m);

/* Training step: forward in train mode (batch statistics, dropout with the mask of `step`),
 * loss + L2 into the device double *loss, backward filling every Param.dw. X (N, C, H, W) and y
 * are host arrays. No device-to-host copy: the loss stays on the device until read back. */
void model_loss_into(Model *m, double *loss, const float *X, const int *y, int N, uint64_t step);
/* The same with the loss read back (one device-to-host copy): for tests and single steps. */
double model_loss(Model *m, const float *X, const int *y, int N, uint64_t step);

/* Test mode (running statistics, no dropout): class scores (N, classes) into host memory. */
int model_scores(Model *m, float *scores, const float *X, int N);

/* Predicted labels for N examples, in batches of at most max_batch. */
int model_predict(Model *m, int *pred, const float *X, int N);

/* The seed's batchnorm constants, used by every model layer and by the reference model. */
#define MODEL_BN_EPS 1e-5
#define MODEL_BN_MOMENTUM 0.9

/* A batchnorm layer's inner size S of the (N, C, S) layout: H*W after a conv, 1 after an affine. */
static inline int layer_bn_inner(const Layer *l) { return l->spatial ? l->in[1] * l->in[2] : 1; }

/* A conv or pool layer's geometry for a batch of N, and a layer shape's element count. */
ConvGeom model_layer_conv_geom(const Layer *l, int N);
PoolGeom model_layer_pool_geom(const Layer *l, int N);
static inline size_t layer_shape_size(const int s[3]) { return (size_t)s[0] * s[1] * s[2]; }

/* The dropout mask seed of layer i: the model's seed with the layer index in the top bits, so
 * two dropout layers never share a mask. */
static inline uint64_t model_dropout_seed(const Model *m, int layer) { return m->seed ^ (uint64_t)layer << 48; }

/* Everything that defines the trained model (params, then batchnorm running statistics) as one
 * flat host array of model_state_size floats: for best-params snapshots and checkpoints. */
size_t model_state_size(const Model *m);
void model_state_save(const Model *m, float *host);
void model_state_load(Model *m, const float *host);

#endif
