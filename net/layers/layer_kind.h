/* layer_kind.h — everything about one kind of layer, in one descriptor.
 *
 * A LayerKind says how the kind is written in a spec (token, arguments, canonical text), the
 * output shape it gives an input shape, its parameters and extra arrays with their sizes and
 * starting values, and how it runs: forward and backward on a Backend (float32) and in double
 * with the reference layers (the test oracle). The spec language (model_spec.c), the model
 * (model.c) and the reference model (ref_model.c) only walk these descriptors; registry.c lists
 * them, one file per kind (conv.c, pool.c, ...). See the README's "Adding a layer". */
#ifndef NNDL_LAYER_KIND_H
#define NNDL_LAYER_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

typedef struct LayerKind LayerKind;

/* Options written in parentheses after a token, as bits of LayerSpec.flags. */
enum {
    LAYER_NO_BIAS = 1,      /* conv(nobias): no bias parameter (a batchnorm follows) */
    LAYER_NO_SCALE = 2,     /* bn(noscale): gamma fixed at 1, not a parameter */
    LAYER_PROJECT = 4,      /* res(proj): a 1x1 conv on the skip path when the shapes differ */
    LAYER_FROZEN = 8,       /* conv(frozen): the filters keep their start (the bias trains) */
    LAYER_WHITEN = 16,      /* conv(whiten): the filters start as a whitening of the training
                             * images' patches (net/whiten.h) */
    LAYER_DIRAC = 32,       /* conv(dirac): the first min(F, C) filters start as the identity */
};

/* conv(whiten): the most values of a patch (C K K) its eigenproblem takes (Jacobi is O(D^3)) */
#define WHITEN_MAX_DIRECTIONS 192

/* One layer as a spec writes it: its kind and the kind's arguments (unused ones stay 0). A
 * kind's parse_args fills in its defaults, so two specs of the same layer are equal. */
typedef struct LayerSpec {
    const LayerKind *kind;
    int units;      /* conv: filters F; affine: outputs M; pool: window k */
    int size;       /* conv: filter size K */
    float p_keep;   /* dropout */
    int stride, pad;        /* conv: default 1 and (K - 1) / 2 */
    int flags;              /* LAYER_* options */
    double momentum, eps;   /* bn: default the seed's 0.9 and 1e-5 (the reference runs in double) */
    float factor;           /* scale */
} LayerSpec;

#define LAYER_MAX_PARAMS 2
#define LAYER_MAX_BUFFERS 7

/* One layer of a built model. */
typedef struct Layer {
    LayerSpec spec;
    int in[3], out[3];                  /* per-example shape (C, H, W); a vector of D is (D, 1, 1) */
    int spatial;                        /* the input is a feature map, not a flat vector */
    int param[LAYER_MAX_PARAMS];        /* kind->params[j] as an index into Model.params */
    float *buffer[LAYER_MAX_BUFFERS];   /* kind->buffers[j]: buffer_n[j] floats, device */
    size_t buffer_n[LAYER_MAX_BUFFERS];
    float *act;                         /* output activations for max_batch examples, device */
    /* residual blocks: the index of the layer that opens or closes this one's block (-1: none);
     * an opening layer keeps the gradient its closing layer sends down the skip path */
    int pair;
    int block_in[3];                    /* closing layer: the block's input shape */
    float *skip_grad;                   /* opening layer: max_batch block inputs, device */
} Layer;

typedef enum ParamInit {
    PARAM_GAUSSIAN,     /* drawn from the model's one seeded Rng: weight_scale * N(0, 1), or
                         * with He initialisation sqrt(2 / fan_in) * N(0, 1) */
    PARAM_ZEROS,
    PARAM_ONES,
} ParamInit;

typedef struct ParamKind {
    const char *name;                   /* "W": the model names it W<k>, k the layer's number */
    int is_weight;                      /* L2-regularised (weights; not biases, gamma, beta) */
    ParamInit init;
    size_t (*size)(const Layer *l);
    /* the inputs each output sums over, for He initialisation (PARAM_GAUSSIAN only) */
    size_t (*fan_in)(const Layer *l);
    /* whether this layer has the parameter (NULL: always); an absent one gets no name, no
     * number and no state, and the calls see w[j] = dw[j] = NULL */
    int (*present)(const Layer *l);
    /* a structured start written over the drawn values, on the host (NULL: none) */
    void (*shape_init)(const Layer *l, float *w);
} ParamKind;

/* An array a layer keeps besides its parameters, starting at `value` (0 unless set). */
typedef struct BufferKind {
    int saved;                          /* part of the model state (running statistics) */
    size_t (*size)(const Layer *l);
    float value;
} BufferKind;

/* What one forward or backward call on a Backend sees besides its tensors. */
typedef struct LayerCall {
    const Backend *be;
    int N, index, train;                /* batch; the layer's position (0-based); train mode */
    uint64_t seed, step;                /* the model's seed and the training step (dropout) */
    const int64_t *step_at;             /* device: the step, read when the op runs; NULL: step */
    float *w[LAYER_MAX_PARAMS], *dw[LAYER_MAX_PARAMS]; /* the layer's params, in kind order */
    float *spare;                       /* backward: room for dx, free to use when dx is NULL */
    Comm *sync;                         /* train-mode batchnorm statistics over this group's
                                         * batches (equal shares; --sync-bn); NULL: this batch */
    /* layers of a residual block (below): the block's input as the opening layer's copy of it,
     * and the opening layer's skip-path gradient (max_batch block inputs) */
    const float *block_in;
    float *skip_grad;
} LayerCall;

/* The same for the double reference model, which always runs in train mode. */
typedef struct RefLayerCall {
    int N, index;
    uint64_t seed, step;
    const double *w[LAYER_MAX_PARAMS];
    double *dw[LAYER_MAX_PARAMS];
    const double *block_in;
    double *skip_grad;
} RefLayerCall;

/* Residual blocks: an opening kind (res) is followed in the spec by "[ layers ]"; the parser
 * puts its `closer` kind after those layers, with the same arguments. The opening layer passes
 * its input on (keeping a copy: block_in); the closing one adds the block's input, or its
 * projection, to the last inner layer's output and sends the gradient down both paths. */
enum { BLOCK_NONE, BLOCK_OPEN, BLOCK_CLOSE };

struct LayerKind {
    /* spec text: token<arguments> */
    const char *token, *alias;          /* "affine", "fc"; alias NULL when none */
    const char *syntax;                 /* "conv<F>x<K>", for the list of known layers */
    const char *rule;                   /* what the arguments must be ("with K odd"), or NULL */
    const char *example;                /* a small instance: for messages, and the tests build
                                         * a model around it for every registered kind */
    int block;                          /* BLOCK_*: a residual block's opening or closing layer */
    const LayerKind *closer;            /* BLOCK_OPEN: the kind that closes the block */
    /* reads the arguments just after the token, advancing *p; 1 when they are valid. NULL:
     * none. format_args writes them back (snprintf's contract) so that they parse to the
     * same LayerSpec. */
    int (*parse_args)(const char **p, LayerSpec *l);
    int (*format_args)(char *buf, size_t size, const LayerSpec *l);

    /* l->out from l->in and l->spatial (NULL: the same shape); errors name layer index + 1. */
    int (*shape)(Layer *l, int index);
    int flattens;                       /* the output is a vector for the layers after it */
    int follows_scores;                 /* may come after the final affine (scale0.125) */

    /* parameters, named <name><k>: a numbered kind takes the next k, others use the current */
    int numbered, n_params;
    ParamKind params[LAYER_MAX_PARAMS];
    int n_buffers;
    BufferKind buffers[LAYER_MAX_BUFFERS];
    /* reserves the backend scratch the ops need for batches up to N (NULL: none) */
    int (*reserve)(const Layer *l, const Backend *be, int N);

    /* out is l->act; backward gets dx NULL for the first layer (only parameter gradients) */
    void (*forward)(const Layer *l, const LayerCall *c, float *out, const float *in);
    void (*backward)(const Layer *l, const LayerCall *c, float *dx, const float *dout,
                     const float *in);
    /* train mode in double, with the cpu/reference layers; dx is always wanted */
    void (*ref_forward)(const Layer *l, const RefLayerCall *c, double *out, const double *in);
    void (*ref_backward)(const Layer *l, const RefLayerCall *c, double *dx, const double *dout,
                         const double *in);
};

/* The registered kinds (registry.c), in the order the "known layers" message lists them. */
extern const LayerKind *const layer_kinds[];
extern const int layer_kind_count;
/* The kind written as token (or its alias), or NULL. */
const LayerKind *layer_kind_find(const char *token);

/* Helpers for the kind files. */
#define LAYER_MAX_COUNT 1000000         /* largest integer argument (units, size, window) */
/* A positive integer argument at *p, at most LAYER_MAX_COUNT; 1 when read. */
int layer_parse_count(const char **p, int *v);
/* A plain decimal number at *p (digits, '.', an exponent; no sign, hex, inf or nan); 1 when
 * read. */
int layer_parse_decimal(const char **p, double *v);
/* The shortest text that reads back as the same float ("0.5", never "0.500000"), or double. */
int layer_format_float(char *buf, size_t size, float v);
int layer_format_double(char *buf, size_t size, double v);
/* Options in parentheses at *p, "(name,name=value,...)", if there are any (none is fine):
 * set() gets each option's name (len characters) and, for name=value, *value at the value
 * (to advance past it) or value NULL for a bare name; 1 when all are valid. */
int layer_parse_options(const char **p, LayerSpec *l,
                        int (*set)(LayerSpec *l, const char *name, size_t len, const char **value));
/* Writes the text of the options that differ from their defaults, "(a,b=2)" or "" (snprintf's
 * contract); items are the option texts, NULL ones left out. */
int layer_format_options(char *buf, size_t size, const char *const *items, int n);
/* a * b, or SIZE_MAX when that overflows: sizes checked against limits never wrap. */
static inline size_t layer_size_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }
static inline size_t layer_shape_size(const int s[3]) { return layer_size_mul(layer_size_mul(s[0], s[1]), s[2]); }
static inline size_t layer_in_channels(const Layer *l) { return (size_t)l->in[0]; }

#endif
