/* affine.c — affine<M> (alias fc<M>): fully connected to M units; flattens a spatial input. */
#include <stdio.h>

#include "error.h"
#include "layer_kind.h"
#include "reference.h"

static int parse_args(const char **p, LayerSpec *l) { return layer_parse_count(p, &l->units); }

static int format_args(char *buf, size_t size, const LayerSpec *l) { return snprintf(buf, size, "%d", l->units); }

static int shape(Layer *l, int index)
{
    (void)index;
    l->out[0] = l->spec.units, l->out[1] = l->out[2] = 1;
    return NNDL_OK;
}

/* D, the flattened input size; the model's size limits keep it within int */
static int inputs(const Layer *l) { return (int)layer_shape_size(l->in); }
static size_t weights(const Layer *l) { return layer_size_mul(layer_shape_size(l->in), (size_t)l->spec.units); }
static size_t fan_in(const Layer *l) { return layer_shape_size(l->in); }
static size_t biases(const Layer *l) { return (size_t)l->spec.units; }

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    c->be->affine_forward(c->be, out, in, c->w[0], c->w[1], c->N, inputs(l), l->spec.units);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    c->be->affine_backward(c->be, dx, c->dw[0], c->dw[1], dout, in, c->w[0], c->N, inputs(l), l->spec.units);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ref_affine_forward(out, in, c->w[0], c->w[1], c->N, inputs(l), l->spec.units);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    ref_affine_backward(dx, c->dw[0], c->dw[1], dout, in, c->w[0], c->N, inputs(l), l->spec.units);
}

const LayerKind layer_affine = {
    .token = "affine", .alias = "fc", .syntax = "affine<M>", .example = "affine6",
    .parse_args = parse_args, .format_args = format_args,
    .shape = shape, .flattens = 1,
    .numbered = 1, .n_params = 2,
    .params = {{"W", 1, PARAM_GAUSSIAN, weights, fan_in, NULL}, {"b", 0, PARAM_ZEROS, biases, NULL, NULL}},
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
