/* batchnorm.c — bn: batchnorm with learned gamma and beta; spatial (per channel over H*W) when
 * its input is a (C, H, W) feature map. The seed's constants: eps 1e-5, momentum 0.9, running
 * statistics starting at zero. */
#include <stdlib.h>

#include "batchnorm.h"
#include "reference.h"

enum { RUNNING_MEAN = BN_RUNNING_MEAN, RUNNING_VAR = BN_RUNNING_VAR, BATCH_MEAN = BN_BATCH_MEAN,
       BATCH_INV_STD = BN_BATCH_INV_STD };

static int inner(const Layer *l) { return batchnorm_inner(l); }

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    BNConfig cfg = {c->train, (float)BN_EPS, (float)BN_MOMENTUM};
    c->be->batchnorm_forward(c->be, out, l->buffer[BATCH_MEAN], l->buffer[BATCH_INV_STD], l->buffer[RUNNING_MEAN],
                             l->buffer[RUNNING_VAR], in, c->w[0], c->w[1], &cfg, c->N, l->in[0], inner(l));
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    float *d = dx ? dx : c->spare; /* the first layer's dx is not wanted, dgamma/dbeta are */
    c->be->batchnorm_backward(c->be, d, c->dw[0], c->dw[1], dout, in, c->w[0], l->buffer[BATCH_MEAN],
                              l->buffer[BATCH_INV_STD], c->N, l->in[0], inner(l));
}

/* The reference model runs train mode only: its running statistics are thrown away. */
static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    int C = l->in[0];
    double *rm = calloc((size_t)C, sizeof *rm), *rv = calloc((size_t)C, sizeof *rv);
    RefBNParam p = {1, BN_EPS, BN_MOMENTUM, rm, rv};
    ref_batchnorm_forward(out, in, c->w[0], c->w[1], &p, c->N, C, inner(l));
    free(rm), free(rv);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    ref_batchnorm_backward(dx, c->dw[0], c->dw[1], dout, in, c->w[0], BN_EPS, c->N, l->in[0], inner(l));
}

const LayerKind layer_batchnorm = {
    .token = "bn", .syntax = "bn", .example = "bn",
    .n_params = 2,
    .params = {{"gamma", 0, PARAM_ONES, layer_in_channels}, {"beta", 0, PARAM_ZEROS, layer_in_channels}},
    .n_buffers = 4,
    .buffers = {[RUNNING_MEAN] = {1, layer_in_channels}, [RUNNING_VAR] = {1, layer_in_channels},
                [BATCH_MEAN] = {0, layer_in_channels}, [BATCH_INV_STD] = {0, layer_in_channels}},
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
