/* scale.c — scale<c>: multiplies its input by the constant c (a plain positive decimal, e.g.
 * scale0.125 on the final scores, as fast CIFAR recipes temper their logits). */
#include "layer_kind.h"
#include "reference.h"

#define MAX_FACTOR 1e6

static int parse_args(const char **p, LayerSpec *l)
{
    double v;
    if (!layer_parse_decimal(p, &v) || !(v > 0 && v <= MAX_FACTOR) || (float)v == 0) return 0;
    l->factor = (float)v;
    return 1;
}

static int format_args(char *buf, size_t size, const LayerSpec *l) { return layer_format_float(buf, size, l->factor); }

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    c->be->scale(c->be, out, in, l->spec.factor, layer_shape_size(l->out) * c->N);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    (void)in;
    if (dx) c->be->scale(c->be, dx, dout, l->spec.factor, layer_shape_size(l->in) * c->N);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ref_scale(out, in, l->spec.factor, layer_shape_size(l->out) * c->N);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    (void)in;
    ref_scale(dx, dout, l->spec.factor, layer_shape_size(l->in) * c->N);
}

const LayerKind layer_scale = {
    .token = "scale", .syntax = "scale<c>", .rule = "with c a positive decimal number, at most 1e6",
    .example = "scale0.125",
    .parse_args = parse_args, .format_args = format_args,
    .follows_scores = 1,
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
