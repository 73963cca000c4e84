/* model_spec.h — networks described by a short layer spec.
 *
 * Every model nndl trains is a stack of layers written as tokens joined by '-', with groups
 * repeated by [ ... ]xN:
 *   conv<F>x<K>   F filters of KxK, stride 1, same padding ((K-1)/2), K odd
 *   pool<k>       k x k max pool, stride k
 *   affine<M>     fully connected to M units (flattens a spatial input)
 *   relu          rectified linear unit
 *   bn            batchnorm; spatial batchnorm when its input is (C, H, W)
 *   dropout<p>    inverted dropout keeping units with probability p (the seed's p)
 * The last layer must be an affine giving the class scores. Examples:
 *   seed's batchnorm CNN:  conv64x3-bn-relu-pool2-affine500-bn-relu-affine10
 *   a deeper net:          [conv32x3-bn-relu-conv32x3-bn-relu-pool2]x2-[affine256-relu]x1-affine10 */
#ifndef NNDL_MODEL_SPEC_H
#define NNDL_MODEL_SPEC_H

typedef enum LayerKind { LAYER_CONV, LAYER_POOL, LAYER_AFFINE, LAYER_RELU, LAYER_BN, LAYER_DROPOUT } LayerKind;

typedef struct LayerSpec {
    LayerKind kind;
    int units;      /* conv: filters F; affine: outputs M; pool: window k */
    int size;       /* conv: filter size K */
    float p_keep;   /* dropout */
} LayerSpec;

#define MODEL_MAX_LAYERS 128
#define MODEL_SPEC_MAX 1024

typedef struct ModelSpec {
    int n;
    LayerSpec layers[MODEL_MAX_LAYERS];
} ModelSpec;

/* Parses and expands repeats; errors name the offending token. */
int model_spec_parse(ModelSpec *out, const char *text);
/* The flat, canonical text of a spec (repeats expanded): what checkpoints store and compare. */
void model_spec_format(const ModelSpec *s, char *buf, int size);

/* The seed's models as specs. hidden has n_hidden entries; dropout_keep 0 or 1 means none. */
void model_spec_fc(char *buf, int size, const int *hidden, int n_hidden, int num_classes,
                   int batchnorm, float dropout_keep);
void model_spec_three_layer_cnn(char *buf, int size, int filters, int filter_size, int hidden,
                                int num_classes, int batchnorm);

#endif
