/* conv.c — conv<F>x<K>: F filters of K x K, with options
 * conv<F>x<K>(stride=S,pad=P,nobias,frozen,whiten,dirac).
 * Defaults: stride 1, pad (K - 1) / 2 (same size for odd K, none for even K), a bias. The output
 * size is floor((H + 2P - K) / S) + 1, as in PyTorch. nobias drops the bias parameter (for a conv
 * before batchnorm, whose mean subtraction cancels it); the ops then get a zero bias.
 * How the filters start and whether they train (airbench94's stem and convs):
 *   whiten  the first layer only, F = 2 C K K: a whitening of the training images' K x K patches,
 *           each direction and its negative (net/whiten.h; written when training starts);
 *   frozen  the filters keep their start (the Solver does not update them; a bias still trains);
 *   dirac   odd K: the first min(F, C) filters start as the identity (1 at the centre tap of
 *           their own channel), so the layer begins by passing its input through. */
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
    if (len == 6 && strncmp(name, "frozen", len) == 0) return !value && (l->flags |= LAYER_FROZEN);
    if (len == 6 && strncmp(name, "whiten", len) == 0) return !value && (l->flags |= LAYER_WHITEN);
    if (len == 5 && strncmp(name, "dirac", len) == 0) return !value && (l->flags |= LAYER_DIRAC);
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
                           l->flags & LAYER_NO_BIAS ? "nobias" : NULL, l->flags & LAYER_FROZEN ? "frozen" : NULL,
                           l->flags & LAYER_WHITEN ? "whiten" : NULL, l->flags & LAYER_DIRAC ? "dirac" : NULL};
    int used = snprintf(buf, size, "%dx%d", l->units, l->size);
    return used + layer_format_options(used < (int)size ? buf + used : NULL, used < (int)size ? size - used : 0,
                                       items, (int)(sizeof items / sizeof *items));
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
    int K = l->spec.size;
    if ((l->spec.flags & LAYER_WHITEN) && index != 0)
        return nndl_fail("layer %d (conv%s): whiten is for the first layer, which sees the images' patches", index + 1,
                         token);
    if (l->spec.flags & LAYER_WHITEN) {
        size_t directions = layer_size_mul(layer_in_channels(l), layer_size_mul((size_t)K, (size_t)K));
        if (directions > WHITEN_MAX_DIRECTIONS)
            return nndl_fail("layer %d (conv%s): whiten's patches of C x K x K = %zu values are more than its "
                             "eigenproblem's limit of %d", index + 1, token, directions, WHITEN_MAX_DIRECTIONS);
        if ((size_t)l->spec.units != 2 * directions)
            return nndl_fail("layer %d (conv%s): whiten makes 2 x C x K x K = %zu filters (each of the %zu patch "
                             "directions and its negative), not %d",
                             index + 1, token, 2 * directions, directions, l->spec.units);
    }
    if ((l->spec.flags & LAYER_DIRAC) && (l->spec.flags & LAYER_WHITEN))
        return nndl_fail("layer %d (conv%s): dirac and whiten are two starts for the same filters: choose one",
                         index + 1, token);
    if ((l->spec.flags & LAYER_DIRAC) && K % 2 == 0)
        return nndl_fail("layer %d (conv%s): dirac needs an odd filter size (a centre tap), not %d", index + 1, token, K);
    l->out[0] = g.F, l->out[1] = g.Ho, l->out[2] = g.Wo;
    return NNDL_OK;
}

/* conv(dirac): filter f < min(F, C) is 1 at the centre of its own channel, 0 elsewhere. */
static void dirac_start(const Layer *l, float *w)
{
    if (!(l->spec.flags & LAYER_DIRAC)) return;
    int F = l->spec.units, C = (int)layer_in_channels(l), K = l->spec.size, n = F < C ? F : C;
    size_t filter = (size_t)C * K * K;
    for (int f = 0; f < n; f++) {
        memset(w + f * filter, 0, filter * sizeof *w);
        w[f * filter + (size_t)f * K * K + (size_t)(K / 2) * K + K / 2] = 1;
    }
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
    .token = "conv", .syntax = "conv<F>x<K>[(stride=S,pad=P,nobias,frozen,whiten,dirac)]",
    .example = "conv4x3(stride=2,nobias)",
    .parse_args = parse_args, .format_args = format_args,
    .shape = shape,
    .numbered = 1, .n_params = 2,
    .params = {{"W", 1, PARAM_GAUSSIAN, weights, fan_in, NULL, dirac_start}, {"b", 0, PARAM_ZEROS, biases, NULL, has_bias}},
    .n_buffers = 2,
    .buffers = {[ZERO_BIAS] = {0, bias_stand_in, 0}, [BIAS_GRAD_SCRATCH] = {0, bias_stand_in, 0}},
    .reserve = reserve,
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};
