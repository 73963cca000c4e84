/* relu.c — relu: max(0, x), elementwise. */
#include "layer_kind.h"
#include "reference.h"

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    c->be->relu_forward(c->be, out, in, layer_shape_size(l->out) * c->N);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    if (dx) c->be->relu_backward(c->be, dx, dout, in, layer_shape_size(l->in) * c->N);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ref_relu_forward(out, in, layer_shape_size(l->out) * c->N);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    ref_relu_backward(dx, dout, in, layer_shape_size(l->in) * c->N);
}

const LayerKind layer_relu = {
    .token = "relu", .syntax = "relu", .example = "relu",
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
