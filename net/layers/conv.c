/* conv.c — conv<F>x<K>: F filters of K x K, with options conv<F>x<K>(stride=S,pad=P,nobias).
 * Defaults: stride 1, pad (K - 1) / 2 (same size for odd K, none for even K), a bias. The output
 * size is floor((H + 2P - K) / S) + 1, as in PyTorch. nobias drops the bias parameter (for a conv
 * before batchnorm, whose mean subtraction cancels it); the ops then get a zero bias. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "layer_kind.h"
#include "reference.h"

enum { ZERO_BIAS, BIAS_GRAD_SCRATCH }; /* the buffers: used only without a bias parameter */

static int default_pad(int K) { return (K - 1) / 2; }

static int conv_geom(ConvGeom *g, const Layer *l, int N)
{
    int K = l->spec.size;
    return conv_geom_init_floor(g, N, l->in[0], l->in[1], l->in[2], l->spec.units, l->in[0], K, K, l->spec.stride,
                                l->spec.pad);
}

static ConvGeom geom(const Layer *l, int N)
{
    ConvGeom g;
    conv_geom(&g, l, N);
    return g;
}

/* A non-negative integer (pad may be 0). */
static int parse_size(const char **p, int *v)
{
    if (**p == '0' && !isdigit((unsigned char)(*p)[1])) return ++*p, *v = 0, 1;
    return layer_parse_count(p, v);
}

static int set_option(LayerSpec *l, const char *name, size_t len, const char **value)
{
    if (len == 6 && strncmp(name, "stride", len) == 0) return value && layer_parse_count(value, &l->stride);
    if (len == 3 && strncmp(name, "pad", len) == 0) return value && parse_size(value, &l->pad);
    if (len == 6 && strncmp(name, "nobias", len) == 0) return !value && (l->flags |= LAYER_NO_BIAS);
    return 0;
}

static int parse_args(const char **p, LayerSpec *l)
{
    if (!layer_parse_count(p, &l->units) || **p != 'x' || (++*p, !layer_parse_count(p, &l->size))) return 0;
    l->stride = 1, l->pad = default_pad(l->size);
    return layer_parse_options(p, l, set_option);
}

static int format_args(char *buf, size_t size, const LayerSpec *l)
{
    char stride[32], pad[32];
    snprintf(stride, sizeof stride, "stride=%d", l->stride);
    snprintf(pad, sizeof pad, "pad=%d", l->pad);
    const char *items[] = {l->stride != 1 ? stride : NULL, l->pad != default_pad(l->size) ? pad : NULL,
                           l->flags & LAYER_NO_BIAS ? "nobias" : NULL};
    int used = snprintf(buf, size, "%dx%d", l->units, l->size);
    return used + layer_format_options(used < (int)size ? buf + used : NULL, used < (int)size ? size - used : 0,
                                       items, 3);
}

static int shape(Layer *l, int index)
{
    char token[96];
    format_args(token, sizeof token, &l->spec);
    if (!l->spatial)
        return nndl_fail("layer %d (conv%s) needs a (C, H, W) input but gets a vector of %d values (after an "
                         "affine layer)", index + 1, token, l->in[0]);
    ConvGeom g;
    if (conv_geom(&g, l, 1) != NNDL_OK) return nndl_fail_context("layer %d (conv%s)", index + 1, token);
    l->out[0] = g.F, l->out[1] = g.Ho, l->out[2] = g.Wo;
    return NNDL_OK;
}

static size_t weights(const Layer *l)
{
    size_t K = (size_t)l->spec.size;
    return layer_size_mul(layer_size_mul((size_t)l->spec.units, layer_in_channels(l)), layer_size_mul(K, K));
}
static size_t fan_in(const Layer *l)
{
    size_t K = (size_t)l->spec.size;
    return layer_size_mul(layer_in_channels(l), layer_size_mul(K, K));
}
static size_t biases(const Layer *l) { return (size_t)l->spec.units; }
static int has_bias(const Layer *l) { return !(l->spec.flags & LAYER_NO_BIAS); }
static size_t bias_stand_in(const Layer *l) { return has_bias(l) ? 0 : (size_t)l->spec.units; }

static int reserve(const Layer *l, const Backend *be, int N)
{
    ConvGeom g = geom(l, N);
    return be->conv_reserve(be, &g);
}

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    ConvGeom g = geom(l, c->N);
    c->be->conv_forward(c->be, out, in, c->w[0], c->w[1] ? c->w[1] : l->buffer[ZERO_BIAS], &g);
}

static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    ConvGeom g = geom(l, c->N);
    c->be->conv_backward(c->be, dx, c->dw[0], c->dw[1] ? c->dw[1] : l->buffer[BIAS_GRAD_SCRATCH], dout, in, c->w[0],
                         &g);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ConvGeom g = geom(l, c->N);
    double *zero = c->w[1] ? NULL : calloc((size_t)g.F, sizeof *zero);
    ref_conv_forward_naive(out, in, c->w[0], c->w[1] ? c->w[1] : zero, &g);
    free(zero);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    ConvGeom g = geom(l, c->N);
    double *scratch = c->dw[1] ? NULL : calloc((size_t)g.F, sizeof *scratch);
    ref_conv_backward_naive(dx, c->dw[0], c->dw[1] ? c->dw[1] : scratch, dout, in, c->w[0], &g);
    free(scratch);
}

const LayerKind layer_conv = {
    .token = "conv", .syntax = "conv<F>x<K>[(stride=S,pad=P,nobias)]",
    .example = "conv4x3(stride=2,nobias)",
    .parse_args = parse_args, .format_args = format_args,
    .shape = shape,
    .numbered = 1, .n_params = 2,
    .params = {{"W", 1, PARAM_GAUSSIAN, weights, fan_in, NULL}, {"b", 0, PARAM_ZEROS, biases, NULL, has_bias}},
    .n_buffers = 2,
    .buffers = {[ZERO_BIAS] = {0, bias_stand_in, 0}, [BIAS_GRAD_SCRATCH] = {0, bias_stand_in, 0}},
    .reserve = reserve,
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
