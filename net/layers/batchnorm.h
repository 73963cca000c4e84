/* batchnorm.h — what code outside batchnorm.c needs to run a bn layer's arrays itself (the
 * model's fused bn-relu[-pool] groups, net/fused_group.c): its buffers, constants and layout. */
#ifndef NNDL_LAYER_BATCHNORM_H
#define NNDL_LAYER_BATCHNORM_H

#include "layer_kind.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.9

/* the buffers, saved ones first in state order; the next two stand in for gamma under noscale;
 * the last holds synchronised batchnorm's sums (--sync-bn) */
enum { BN_RUNNING_MEAN, BN_RUNNING_VAR, BN_BATCH_MEAN, BN_BATCH_INV_STD, BN_FIXED_GAMMA, BN_GAMMA_GRAD_SCRATCH,
       BN_SYNC_SUMS };

/* The inner size S of the (N, C, S) layout: H*W after a conv, 1 after an affine. */
static inline int batchnorm_inner(const Layer *l) { return l->spatial ? l->in[1] * l->in[2] : 1; }

/* The layer's eps and momentum (its options) for a call in c's mode. */
static inline BNConfig batchnorm_config(const Layer *l, const LayerCall *c)
{
    return (BNConfig){c->train, (float)l->spec.eps, (float)l->spec.momentum};
}

/* gamma, or the ones standing in for it under noscale; and where its gradient goes */
static inline const float *batchnorm_gamma(const Layer *l, const LayerCall *c)
{
    return c->w[0] ? c->w[0] : l->buffer[BN_FIXED_GAMMA];
}
static inline float *batchnorm_dgamma(const Layer *l, const LayerCall *c)
{
    return c->dw[0] ? c->dw[0] : l->buffer[BN_GAMMA_GRAD_SCRATCH];
}

extern const LayerKind layer_batchnorm;

#endif
