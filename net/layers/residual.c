/* residual.c — res[ ... ]: a residual block, whose output is its layers' output plus its input.
 * The shapes must agree, else the spec is refused naming the block; res(proj)[ ... ] instead
 * puts a 1x1 conv (no bias, with the stride that gives the block's output size) on the skip
 * path when they differ, and the identity when they agree. The parser turns the block into an
 * opening layer (res), the inner layers and a closing layer (written "]"), paired by the model
 * (see BLOCK_OPEN in layer_kind.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "layer_kind.h"
#include "reference.h"

/* ---- the opening layer: passes its input on and keeps it for the closing layer -------------- */

static int set_option(LayerSpec *l, const char *name, size_t len, const char **value)
{
    if (len == 4 && strncmp(name, "proj", len) == 0) return !value && (l->flags |= LAYER_PROJECT);
    return 0;
}

static int parse_args(const char **p, LayerSpec *l) { return layer_parse_options(p, l, set_option); }

static int format_args(char *buf, size_t size, const LayerSpec *l)
{
    const char *items[] = {l->flags & LAYER_PROJECT ? "proj" : NULL};
    return layer_format_options(buf, size, items, 1);
}

static void open_forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    c->be->copy(c->be, out, in, layer_shape_size(l->in) * c->N * sizeof *out);
}

/* the gradient of the block's input: through the layers plus down the skip path */
static void open_backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    (void)in;
    if (dx) c->be->add(c->be, dx, dout, c->skip_grad, layer_shape_size(l->in) * c->N);
}

static void open_ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    memcpy(out, in, layer_shape_size(l->in) * c->N * sizeof *out);
}

static void open_ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    (void)in;
    ref_add(dx, dout, c->skip_grad, layer_shape_size(l->in) * c->N);
}

/* ---- the closing layer: adds the block's input (or its projection) ----------------------- */

static int shapes_differ(const Layer *l) { return memcmp(l->in, l->block_in, sizeof l->in) != 0; }
static int projects(const Layer *l) { return (l->spec.flags & LAYER_PROJECT) && shapes_differ(l); }

/* The stride of a 1x1 conv that takes the block's input (H, W) to the output's, or 0. */
static int projection_stride(const Layer *l)
{
    for (int s = 1; s <= l->block_in[1] && s <= l->block_in[2]; s++)
        if ((l->block_in[1] - 1) / s + 1 == l->in[1] && (l->block_in[2] - 1) / s + 1 == l->in[2]) return s;
    return 0;
}

static ConvGeom projection(const Layer *l, int N)
{
    ConvGeom g;
    conv_geom_init_floor(&g, N, l->block_in[0], l->block_in[1], l->block_in[2], l->in[0], l->block_in[0], 1, 1,
                         projection_stride(l), 0);
    return g;
}

static int close_shape(Layer *l, int index)
{
    if (!shapes_differ(l)) return NNDL_OK;
    const int *a = l->block_in, *b = l->in;
    if (!(l->spec.flags & LAYER_PROJECT))
        return nndl_fail("layer %d: the res block of layers %d-%d gives (%d, %d, %d) but its input is (%d, %d, %d); "
                         "a residual sum needs equal shapes (res(proj)[...] adds a 1x1 conv projection on the "
                         "skip path)", index + 1, l->pair + 1, index + 1, b[0], b[1], b[2], a[0], a[1], a[2]);
    if ((a[1] * a[2] > 1 && !l->spatial) || !projection_stride(l))
        return nndl_fail("layer %d: no 1x1 conv projection takes the input (%d, %d, %d) of the res(proj) block of "
                         "layers %d-%d to its output (%d, %d, %d) (the stride must give the output's height and "
                         "width)", index + 1, a[0], a[1], a[2], l->pair + 1, index + 1, b[0], b[1], b[2]);
    return NNDL_OK;
}

static size_t proj_weights(const Layer *l) { return layer_size_mul((size_t)l->in[0], (size_t)l->block_in[0]); }
static size_t proj_fan_in(const Layer *l) { return (size_t)l->block_in[0]; }
static size_t proj_bias_stand_in(const Layer *l) { return projects(l) ? (size_t)l->in[0] : 0; }
enum { ZERO_BIAS, BIAS_GRAD_SCRATCH };

static int close_reserve(const Layer *l, const Backend *be, int N)
{
    if (!projects(l)) return NNDL_OK;
    ConvGeom g = projection(l, N);
    return be->conv_reserve(be, &g);
}

static void close_forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    size_t n = layer_shape_size(l->out) * c->N;
    if (projects(l)) {
        ConvGeom g = projection(l, c->N);
        c->be->conv_forward(c->be, out, c->block_in, c->w[0], l->buffer[ZERO_BIAS], &g);
        c->be->add(c->be, out, out, in, n);
    } else {
        c->be->add(c->be, out, in, c->block_in, n);
    }
}

static void close_backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    (void)in;
    size_t n = layer_shape_size(l->out) * c->N;
    if (dx) c->be->copy(c->be, dx, dout, n * sizeof *dx);
    if (projects(l)) {
        ConvGeom g = projection(l, c->N);
        c->be->conv_backward(c->be, c->skip_grad, c->dw[0], l->buffer[BIAS_GRAD_SCRATCH], dout, c->block_in, c->w[0],
                             &g);
    } else {
        c->be->copy(c->be, c->skip_grad, dout, n * sizeof *dx);
    }
}

static void close_ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    size_t n = layer_shape_size(l->out) * c->N;
    if (projects(l)) {
        ConvGeom g = projection(l, c->N);
        double *zero = calloc((size_t)g.F, sizeof *zero);
        ref_conv_forward_naive(out, c->block_in, c->w[0], zero, &g);
        free(zero);
        ref_add(out, out, in, n);
    } else {
        ref_add(out, in, c->block_in, n);
    }
}

static void close_ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    (void)in;
    size_t n = layer_shape_size(l->out) * c->N;
    memcpy(dx, dout, n * sizeof *dx);
    if (projects(l)) {
        ConvGeom g = projection(l, c->N);
        double *db = calloc((size_t)g.F, sizeof *db);
        ref_conv_backward_naive(c->skip_grad, c->dw[0], db, dout, c->block_in, c->w[0], &g);
        free(db);
    } else {
        memcpy(c->skip_grad, dout, n * sizeof *dx);
    }
}

const LayerKind layer_residual_end = {
    .token = "]", .syntax = "]", .example = "]",
    .block = BLOCK_CLOSE,
    .shape = close_shape,
    .numbered = 1, .n_params = 1,
    .params = {{"Wproj", 1, PARAM_GAUSSIAN, proj_weights, proj_fan_in, projects}},
    .n_buffers = 2,
    .buffers = {[ZERO_BIAS] = {0, proj_bias_stand_in, 0}, [BIAS_GRAD_SCRATCH] = {0, proj_bias_stand_in, 0}},
    .reserve = close_reserve,
    .forward = close_forward, .backward = close_backward,
    .ref_forward = close_ref_forward, .ref_backward = close_ref_backward,
};

const LayerKind layer_residual = {
    .token = "res", .syntax = "res[(proj)][...]", .example = "res(proj)[conv5x3(stride=2)-relu]",
    .parse_args = parse_args, .format_args = format_args,
    .block = BLOCK_OPEN, .closer = &layer_residual_end,
    .forward = open_forward, .backward = open_backward, .ref_forward = open_ref_forward,
    .ref_backward = open_ref_backward,
};
