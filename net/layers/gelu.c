/* gelu.c — gelu: x Phi(x), the exact (erf) form of torch.nn.GELU's default, elementwise. */
#include "layer_kind.h"
#include "reference.h"

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    c->be->gelu_forward(c->be, out, in, layer_shape_size(l->out) * c->N);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    if (dx) c->be->gelu_backward(c->be, dx, dout, in, layer_shape_size(l->in) * c->N);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ref_gelu_forward(out, in, layer_shape_size(l->out) * c->N);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    ref_gelu_backward(dx, dout, in, layer_shape_size(l->in) * c->N);
}

const LayerKind layer_gelu = {
    .token = "gelu", .syntax = "gelu", .example = "gelu",
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
