/* registry.c — every layer kind the spec language knows: one line each. (A residual block's
 * closing kind is not listed: only its opening kind names it.) */
#include "layer_kind.h"

#define LAYER_KINDS(X) \
    X(layer_conv)      \
    X(layer_pool)      \
    X(layer_affine)    \
    X(layer_relu)      \
    X(layer_batchnorm) \
    X(layer_dropout)   \
    X(layer_gap)       \
    X(layer_gmp)       \
    X(layer_gelu)      \
    X(layer_scale)     \
    X(layer_residual)

#define DECLARE(kind) extern const LayerKind kind;
#define LIST(kind) &kind,
LAYER_KINDS(DECLARE)
const LayerKind *const layer_kinds[] = {LAYER_KINDS(LIST)};
const int layer_kind_count = sizeof layer_kinds / sizeof *layer_kinds;
