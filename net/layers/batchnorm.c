/* batchnorm.c — bn: batchnorm with learned gamma and beta; spatial (per channel over H*W) when
 * its input is a (C, H, W) feature map. Options bn(noscale,momentum=M,eps=E): noscale fixes gamma
 * at 1 (no parameter; beta stays), momentum and eps default to the seed's 0.9 and 1e-5 (running
 * = momentum * running + (1 - momentum) * batch; PyTorch's momentum is 1 - this one). Running
 * statistics start at zero.
 *
 * Synchronised (LayerCall.sync, --sync-bn): the per-channel sums of every process's batch are
 * added by one all-reduce in the forward pass (sum x, sum x^2) and one in the backward pass
 * (sum dout, sum dout * x), so that each process normalises with the statistics of the whole
 * batch and computes the input gradient one process with that batch would (PyTorch's
 * SyncBatchNorm). dgamma and dbeta come from this process's own sums: the gradient all-reduce
 * adds them up like every other parameter's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "error.h"
#include "reference.h"

enum { RUNNING_MEAN = BN_RUNNING_MEAN, RUNNING_VAR = BN_RUNNING_VAR, BATCH_MEAN = BN_BATCH_MEAN,
       BATCH_INV_STD = BN_BATCH_INV_STD, FIXED_GAMMA = BN_FIXED_GAMMA, GAMMA_GRAD_SCRATCH = BN_GAMMA_GRAD_SCRATCH,
       SYNC_SUMS = BN_SYNC_SUMS };

static int set_option(LayerSpec *l, const char *name, size_t len, const char **value)
{
    double v;
    if (len == 7 && strncmp(name, "noscale", len) == 0) return !value && (l->flags |= LAYER_NO_SCALE);
    if (len == 8 && strncmp(name, "momentum", len) == 0) {
        if (!value || !layer_parse_decimal(value, &v) || !(v >= 0 && v < 1)) return 0;
        return l->momentum = v, 1;
    }
    if (len == 3 && strncmp(name, "eps", len) == 0) {
        if (!value || !layer_parse_decimal(value, &v) || !(v >= 1e-30 && v <= 1)) return 0;
        return l->eps = v, 1;
    }
    return 0;
}

static int parse_args(const char **p, LayerSpec *l)
{
    l->momentum = BN_MOMENTUM, l->eps = BN_EPS;
    return layer_parse_options(p, l, set_option);
}

static int format_args(char *buf, size_t size, const LayerSpec *l)
{
    char momentum[48] = "momentum=", eps[48] = "eps=";
    layer_format_double(momentum + strlen(momentum), sizeof momentum - strlen(momentum), l->momentum);
    layer_format_double(eps + strlen(eps), sizeof eps - strlen(eps), l->eps);
    const char *items[] = {l->flags & LAYER_NO_SCALE ? "noscale" : NULL, l->momentum != BN_MOMENTUM ? momentum : NULL,
                           l->eps != BN_EPS ? eps : NULL};
    return layer_format_options(buf, size, items, 3);
}

static int inner(const Layer *l) { return batchnorm_inner(l); }

static int has_scale(const Layer *l) { return !(l->spec.flags & LAYER_NO_SCALE); }
static size_t scale_stand_in(const Layer *l) { return has_scale(l) ? 0 : layer_in_channels(l); }

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
    BNConfig cfg = batchnorm_config(l, c);
    const float *gamma = batchnorm_gamma(l, c);
    if (c->train && c->sync) {
        const Backend *be = c->be;
        int C = l->in[0], S = inner(l);
        double *sums = (double *)l->buffer[SYNC_SUMS];
        be->batchnorm_sums(be, sums, in, NULL, c->N, C, S);
        sync_sums(c, sums, C);
        be->batchnorm_forward_sums(be, out, l->buffer[BATCH_MEAN], l->buffer[BATCH_INV_STD], l->buffer[RUNNING_MEAN],
                                   l->buffer[RUNNING_VAR], in, gamma, c->w[1], sums,
                                   (double)c->N * S * c->sync->size, &cfg, c->N, C, S);
        return;
    }
    c->be->batchnorm_forward(c->be, out, l->buffer[BATCH_MEAN], l->buffer[BATCH_INV_STD], l->buffer[RUNNING_MEAN],
                             l->buffer[RUNNING_VAR], in, batchnorm_gamma(l, c), c->w[1], &cfg, c->N, l->in[0],
                             inner(l));
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    float *d = dx ? dx : c->spare; /* the first layer's dx is not wanted, dgamma/dbeta are */
    const float *gamma = batchnorm_gamma(l, c);
    float *dgamma = batchnorm_dgamma(l, c);
    if (c->sync) {
        const Backend *be = c->be;
        int C = l->in[0], S = inner(l);
        double *local = (double *)l->buffer[SYNC_SUMS], *global = local + 2 * (size_t)C;
        be->batchnorm_sums(be, local, dout, in, c->N, C, S);
        be->copy(be, global, local, 2 * (size_t)C * sizeof *global);
        sync_sums(c, global, C);
        be->batchnorm_backward_sums(be, d, dgamma, c->dw[1], dout, in, gamma, l->buffer[BATCH_MEAN],
                                    l->buffer[BATCH_INV_STD], local, global, (double)c->N * S * c->sync->size,
                                    c->N, C, S);
        return;
    }
    c->be->batchnorm_backward(c->be, d, dgamma, c->dw[1], dout, in, gamma, l->buffer[BATCH_MEAN],
                              l->buffer[BATCH_INV_STD], c->N, l->in[0], inner(l));
}

/* gamma, or ones standing in for it (freed by the caller) */
static const double *ref_gamma(const RefLayerCall *c, int C, double **ones)
{
    *ones = NULL;
    if (c->w[0]) return c->w[0];
    *ones = malloc((size_t)C * sizeof **ones);
    for (int i = 0; i < C; i++) (*ones)[i] = 1;
    return *ones;
}

/* The reference model runs train mode only: its running statistics are thrown away. */
static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    int C = l->in[0];
    double *rm = calloc((size_t)C, sizeof *rm), *rv = calloc((size_t)C, sizeof *rv), *ones;
    RefBNParam p = {1, l->spec.eps, l->spec.momentum, rm, rv};
    ref_batchnorm_forward(out, in, ref_gamma(c, C, &ones), c->w[1], &p, c->N, C, inner(l));
    free(rm), free(rv), free(ones);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    int C = l->in[0];
    double *ones, *dgamma = c->dw[0] ? c->dw[0] : calloc((size_t)C, sizeof *dgamma);
    ref_batchnorm_backward(dx, dgamma, c->dw[1], dout, in, ref_gamma(c, C, &ones), l->spec.eps, c->N, C, inner(l));
    if (!c->dw[0]) free(dgamma);
    free(ones);
}

const LayerKind layer_batchnorm = {
    .token = "bn", .syntax = "bn[(noscale,momentum=M,eps=E)]", .example = "bn(noscale,momentum=0.6,eps=0.001)",
    .parse_args = parse_args, .format_args = format_args,
    .n_params = 2,
    .params = {{"gamma", 0, PARAM_ONES, layer_in_channels, NULL, has_scale},
               {"beta", 0, PARAM_ZEROS, layer_in_channels, NULL, NULL}},
    .n_buffers = 7,
    .buffers = {[RUNNING_MEAN] = {1, layer_in_channels, 0}, [RUNNING_VAR] = {1, layer_in_channels, 0},
                [BATCH_MEAN] = {0, layer_in_channels, 0}, [BATCH_INV_STD] = {0, layer_in_channels, 0},
                [FIXED_GAMMA] = {0, scale_stand_in, 1}, [GAMMA_GRAD_SCRATCH] = {0, scale_stand_in, 0},
                [SYNC_SUMS] = {0, sync_sums_size, 0}},
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
