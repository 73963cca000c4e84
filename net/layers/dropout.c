/* dropout.c — dropout<p>: inverted dropout keeping each unit with probability p (the seed's
 * p), with the counter-based mask of dropout_mask.h, so the backends and the reference draw the
 * same mask. */
#include "layer_kind.h"
#include "reference.h"

/* Below this the keep rate is lost in the mask's 24-bit resolution (2^-24 = 6e-8) and 1/p
 * nears float's range. */
#define MIN_KEEP 1e-6
#define TEXT(x) #x
#define NUMBER(x) TEXT(x)

/* A plain decimal number in [MIN_KEEP, 1]. */
static int parse_args(const char **p, LayerSpec *l)
{
    double v;
    if (!layer_parse_decimal(p, &v) || !(v >= MIN_KEEP && v <= 1)) return 0;
    l->p_keep = (float)v;
    return 1;
}

static int format_args(char *buf, size_t size, const LayerSpec *l) { return layer_format_float(buf, size, l->p_keep); }

/* Two dropout layers never share a mask: the layer index goes into the top bits of the seed. */
static uint64_t mask_seed(uint64_t model_seed, int index) { return model_seed ^ (uint64_t)index << 48; }

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    DropoutConfig d = {c->train, l->spec.p_keep, mask_seed(c->seed, c->index), c->step, c->step_at};
    c->be->dropout_forward(c->be, out, in, layer_shape_size(l->out) * c->N, &d);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    (void)in;
    DropoutConfig d = {1, l->spec.p_keep, mask_seed(c->seed, c->index), c->step, c->step_at};
    if (dx) c->be->dropout_backward(c->be, dx, dout, layer_shape_size(l->in) * c->N, &d);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ref_dropout_forward(out, in, layer_shape_size(l->out) * c->N, l->spec.p_keep, mask_seed(c->seed, c->index),
                        c->step, 1);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    (void)in;
    ref_dropout_backward(dx, dout, layer_shape_size(l->in) * c->N, l->spec.p_keep, mask_seed(c->seed, c->index),
                         c->step, 1);
}

const LayerKind layer_dropout = {
    .token = "dropout", .syntax = "dropout<p>",
    .rule = "with p, the probability of keeping a unit, a decimal number in [" NUMBER(MIN_KEEP) ", 1]",
    .example = "dropout0.5",
    .parse_args = parse_args, .format_args = format_args,
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
