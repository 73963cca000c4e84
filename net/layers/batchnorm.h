/* batchnorm.h — what code outside batchnorm.c needs to run a bn layer's arrays itself (the
 * model's fused bn-relu[-pool] groups, net/fused_group.c): its buffers, constants and layout. */
#ifndef NNDL_LAYER_BATCHNORM_H
#define NNDL_LAYER_BATCHNORM_H

#include "layer_kind.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.9

enum { BN_RUNNING_MEAN, BN_RUNNING_VAR, BN_BATCH_MEAN, BN_BATCH_INV_STD }; /* the buffers, in state order */

/* The inner size S of the (N, C, S) layout: H*W after a conv, 1 after an affine. */
static inline int batchnorm_inner(const Layer *l) { return l->spatial ? l->in[1] * l->in[2] : 1; }

extern const LayerKind layer_batchnorm;

#endif
