/* model_spec.h — networks described by a short layer spec.
 *
 * Every model nndl trains is a stack of layers written as tokens joined by '-', with groups
 * repeated by [ ... ]xN. The tokens are those of the registered layer kinds (net/layers/):
 *   conv<F>x<K>   F filters of KxK; options conv<F>x<K>(stride=S,pad=P,nobias): stride 1, pad
 *                 (K-1)/2 (none for even K) and a bias by default; output floor((H+2P-K)/S)+1;
 *                 starts: whiten (first layer), dirac, and frozen filters (net/layers/conv.c)
 *   pool<k>       k x k max pool, stride k; output floor(H / k) (input past the last window left out)
 *   affine<M>     fully connected to M units (flattens a spatial input); also fc<M>
 *   relu, gelu    rectified linear unit; GELU x*Phi(x) (exact, erf)
 *   bn            batchnorm; spatial batchnorm when its input is (C, H, W); options
 *                 bn(noscale,momentum=M,eps=E): no gamma (fixed 1), the seed's 0.9 and 1e-5
 *   dropout<p>    inverted dropout keeping units with probability p (the seed's p), p in [1e-6, 1]
 *   gap, gmp      global average / max pool: (C, H, W) -> a vector of C
 *   scale<c>      multiplies by the constant c (may follow the last affine: scale0.125)
 *   res[...]      residual block: its layers' output plus its input (shapes must agree);
 *                 res(proj)[...] uses a 1x1 conv (no bias, strided as needed) on the skip path
 *                 when they differ. Blocks nest and repeat: [res[conv64x3-bn-relu]]x2
 * The last layer must be an affine giving the class scores, or scale layers after it. The
 * canonical text leaves defaults out (conv64x3(stride=1) is conv64x3). Examples:
 *   seed's batchnorm CNN:  conv64x3-bn-relu-pool2-affine500-bn-relu-affine10
 *   a deeper net:          [conv32x3-bn-relu-conv32x3-bn-relu-pool2]x2-[affine256-relu]x1-affine10
 *   a residual net:        conv32x3-bn-relu-[res[conv32x3(nobias)-bn-relu-conv32x3(nobias)-bn]-relu]x2-
 *                          res(proj)[conv64x3(stride=2,nobias)-bn-relu-conv64x3]-gap-affine10
 * Limits, each refused with a message: a spec is at most MODEL_SPEC_MAX - 1 characters both as
 * written and as its canonical text, has at most MODEL_MAX_LAYERS layers after expanding
 * repeats, and nests groups at most MODEL_SPEC_MAX_DEPTH deep. */
#ifndef NNDL_MODEL_SPEC_H
#define NNDL_MODEL_SPEC_H

#include "layer_kind.h"

#define MODEL_MAX_LAYERS 128
#define MODEL_SPEC_MAX 1024
#define MODEL_SPEC_MAX_DEPTH 16

typedef struct ModelSpec {
    int n;
    LayerSpec layers[MODEL_MAX_LAYERS];
} ModelSpec;

/* Parses and expands repeats; errors name the offending token. */
int model_spec_parse(ModelSpec *out, const char *text);
/* The flat, canonical text of a spec (repeats expanded): what checkpoints store and compare. It
 * parses back to the same layers, and fits MODEL_SPEC_MAX for every spec the parser accepts. */
void model_spec_format(const ModelSpec *s, char *buf, int size);
/* Whether two layers are the same (kind and every argument). */
int layer_spec_equal(const LayerSpec *a, const LayerSpec *b);
/* One layer's canonical token ("conv64x3"), with snprintf's contract. */
int layer_spec_format(char *buf, size_t size, const LayerSpec *l);

/* The seed's models as specs. hidden has n_hidden entries; dropout_keep 0 or 1 means none.
 * NNDL_ERR with a message when the text does not fit size. */
int model_spec_fc(char *buf, int size, const int *hidden, int n_hidden, int num_classes,
                  int batchnorm, float dropout_keep);
int model_spec_three_layer_cnn(char *buf, int size, int filters, int filter_size, int hidden,
                               int num_classes, int batchnorm);

#endif
