/* batchnorm.c — bn: batchnorm with learned gamma and beta; spatial (per channel over H*W) when
 * its input is a (C, H, W) feature map. The seed's constants: eps 1e-5, momentum 0.9, running
 * statistics starting at zero.
 *
 * Synchronised (LayerCall.sync, --sync-bn): the per-channel sums of every process's batch are
 * added by one all-reduce in the forward pass (sum x, sum x^2) and one in the backward pass
 * (sum dout, sum dout * x), so that each process normalises with the statistics of the whole
 * batch and computes the input gradient one process with that batch would (PyTorch's
 * SyncBatchNorm). dgamma and dbeta come from this process's own sums: the gradient all-reduce
 * adds them up like every other parameter's. */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "layer_kind.h"
#include "reference.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.9

enum { RUNNING_MEAN, RUNNING_VAR, BATCH_MEAN, BATCH_INV_STD, SYNC_SUMS }; /* the buffers, in state order */

/* The inner size S of the (N, C, S) layout: H*W after a conv, 1 after an affine. */
static int inner(const Layer *l) { return l->spatial ? l->in[1] * l->in[2] : 1; }

/* Room for two sets of 2C double sums (this process's and the group's), in floats. */
static size_t sync_sums_size(const Layer *l) { return 8 * layer_in_channels(l); }

/* A collective that fails leaves the group out of step: this process cannot go on. */
static void sync_sums(const LayerCall *c, double *sums, int C)
{
    if (comm_allreduce_on(c->sync, c->be, sums, 2 * (size_t)C, COMM_DOUBLE, COMM_SUM, NULL) == NNDL_OK) return;
    fprintf(stderr, "nndl (rank %d): synchronised batchnorm, layer %d: %s\n", c->sync->rank, c->index + 1,
            nndl_last_error());
    c->sync->abort(c->sync, 1);
}

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    BNConfig cfg = {c->train, (float)BN_EPS, (float)BN_MOMENTUM};
    const Backend *be = c->be;
    int C = l->in[0], S = inner(l);
    if (c->train && c->sync) {
        double *sums = (double *)l->buffer[SYNC_SUMS];
        be->batchnorm_sums(be, sums, in, NULL, c->N, C, S);
        sync_sums(c, sums, C);
        be->batchnorm_forward_sums(be, out, l->buffer[BATCH_MEAN], l->buffer[BATCH_INV_STD], l->buffer[RUNNING_MEAN],
                                   l->buffer[RUNNING_VAR], in, c->w[0], c->w[1], sums,
                                   (double)c->N * S * c->sync->size, &cfg, c->N, C, S);
        return;
    }
    be->batchnorm_forward(be, out, l->buffer[BATCH_MEAN], l->buffer[BATCH_INV_STD], l->buffer[RUNNING_MEAN],
                          l->buffer[RUNNING_VAR], in, c->w[0], c->w[1], &cfg, c->N, C, S);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    float *d = dx ? dx : c->spare; /* the first layer's dx is not wanted, dgamma/dbeta are */
    const Backend *be = c->be;
    int C = l->in[0], S = inner(l);
    if (c->sync) {
        double *local = (double *)l->buffer[SYNC_SUMS], *global = local + 2 * (size_t)C;
        be->batchnorm_sums(be, local, dout, in, c->N, C, S);
        be->copy(be, global, local, 2 * (size_t)C * sizeof *global);
        sync_sums(c, global, C);
        be->batchnorm_backward_sums(be, d, c->dw[0], c->dw[1], dout, in, c->w[0], l->buffer[BATCH_MEAN],
                                    l->buffer[BATCH_INV_STD], local, global, (double)c->N * S * c->sync->size,
                                    c->N, C, S);
        return;
    }
    be->batchnorm_backward(be, d, c->dw[0], c->dw[1], dout, in, c->w[0], l->buffer[BATCH_MEAN],
                           l->buffer[BATCH_INV_STD], c->N, C, S);
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
    .n_buffers = 5,
    .buffers = {[RUNNING_MEAN] = {1, layer_in_channels}, [RUNNING_VAR] = {1, layer_in_channels},
                [BATCH_MEAN] = {0, layer_in_channels}, [BATCH_INV_STD] = {0, layer_in_channels},
                [SYNC_SUMS] = {0, sync_sums_size}},
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
