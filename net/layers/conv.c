/* conv.c — conv<F>x<K>: F filters of K x K, stride 1, same padding (K - 1) / 2, K odd. */
#include <stdio.h>

#include "error.h"
#include "layer_kind.h"
#include "reference.h"

static ConvGeom geom(const Layer *l, int N)
{
    ConvGeom g;
    int K = l->spec.size;
    conv_geom_init(&g, N, l->in[0], l->in[1], l->in[2], l->spec.units, l->in[0], K, K, 1, (K - 1) / 2);
    return g;
}

static int parse_args(const char **p, LayerSpec *l)
{
    return layer_parse_count(p, &l->units) && **p == 'x' && (++*p, layer_parse_count(p, &l->size)) &&
           l->size % 2 == 1;
}

static int format_args(char *buf, size_t size, const LayerSpec *l)
{
    return snprintf(buf, size, "%dx%d", l->units, l->size);
}

static int shape(Layer *l, int index)
{
    if (!l->spatial)
        return nndl_fail("layer %d (conv%dx%d) needs a (C, H, W) input but gets a vector of %d "
                         "values (after an affine layer)", index + 1, l->spec.units, l->spec.size, l->in[0]);
    ConvGeom g;
    int K = l->spec.size;
    if (conv_geom_init(&g, 1, l->in[0], l->in[1], l->in[2], l->spec.units, l->in[0], K, K, 1, (K - 1) / 2) != NNDL_OK)
        return nndl_fail_context("layer %d", index + 1);
    l->out[0] = g.F, l->out[1] = g.Ho, l->out[2] = g.Wo;
    return NNDL_OK;
}

static size_t weights(const Layer *l)
{
    size_t K = (size_t)l->spec.size;
    return layer_size_mul(layer_size_mul((size_t)l->spec.units, layer_in_channels(l)), layer_size_mul(K, K));
}
static size_t biases(const Layer *l) { return (size_t)l->spec.units; }

static int reserve(const Layer *l, const Backend *be, int N)
{
    ConvGeom g = geom(l, N);
    return be->conv_reserve(be, &g);
}

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    ConvGeom g = geom(l, c->N);
    c->be->conv_forward(c->be, out, in, c->w[0], c->w[1], &g);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    ConvGeom g = geom(l, c->N);
    c->be->conv_backward(c->be, dx, c->dw[0], c->dw[1], dout, in, c->w[0], &g);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ConvGeom g = geom(l, c->N);
    ref_conv_forward_naive(out, in, c->w[0], c->w[1], &g);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    ConvGeom g = geom(l, c->N);
    ref_conv_backward_naive(dx, c->dw[0], c->dw[1], dout, in, c->w[0], &g);
}

const LayerKind layer_conv = {
    .token = "conv", .syntax = "conv<F>x<K>", .rule = "with K odd",
    .example = "conv4x3",
    .parse_args = parse_args, .format_args = format_args,
    .shape = shape,
    .numbered = 1, .n_params = 2,
    .params = {{"W", 1, PARAM_GAUSSIAN, weights}, {"b", 0, PARAM_ZEROS, biases}},
    .reserve = reserve,
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
