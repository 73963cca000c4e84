/* global_pool.c — gap and gmp: global average and global max pooling, (C, H, W) -> (C), a vector
 * for the layers after it (an affine, say). gmp is a max pool whose window is the whole map, so
 * it shares the max pool ops (and their gradient to every tied maximum). */
#include "error.h"
#include "layer_kind.h"
#include "reference.h"

static int shape(Layer *l, int index)
{
    if (!l->spatial)
        return nndl_fail("layer %d (%s) needs a (C, H, W) input but gets a vector of %d values (after an "
                         "affine layer or another global pool)", index + 1, l->spec.kind->token, l->in[0]);
    l->out[1] = l->out[2] = 1;
    return NNDL_OK;
}

static size_t rows(const Layer *l, int N) { return (size_t)N * l->in[0]; }
static int plane(const Layer *l) { return l->in[1] * l->in[2]; }

static void avg_forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    c->be->global_avg_pool_forward(c->be, out, in, rows(l, c->N), plane(l));
}

static void avg_backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    (void)in;
    if (dx) c->be->global_avg_pool_backward(c->be, dx, dout, rows(l, c->N), plane(l));
}

static void avg_ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    ref_global_avg_pool_forward(out, in, rows(l, c->N), plane(l));
}

static void avg_ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    (void)in;
    ref_global_avg_pool_backward(dx, dout, rows(l, c->N), plane(l));
}

const LayerKind layer_gap = {
    .token = "gap", .syntax = "gap", .example = "gap",
    .shape = shape, .flattens = 1,
    .forward = avg_forward, .backward = avg_backward, .ref_forward = avg_ref_forward, .ref_backward = avg_ref_backward,
};

/* one window over the whole (H, W) map */
static PoolGeom whole_map(const Layer *l, int N)
{
    PoolGeom g;
    pool_geom_init(&g, N, l->in[0], l->in[1], l->in[2], l->in[1], l->in[2], 1);
    return g;
}

static void max_forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    PoolGeom g = whole_map(l, c->N);
    c->be->max_pool_forward(c->be, out, in, &g);
}

static void max_backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    PoolGeom g = whole_map(l, c->N);
    if (dx) c->be->max_pool_backward(c->be, dx, dout, in, l->act, &g);
}

static void max_ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    PoolGeom g = whole_map(l, c->N);
    ref_max_pool_forward_naive(out, in, &g);
}

static void max_ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    PoolGeom g = whole_map(l, c->N);
    ref_max_pool_backward_naive(dx, dout, in, &g);
}

const LayerKind layer_gmp = {
    .token = "gmp", .syntax = "gmp", .example = "gmp",
    .shape = shape, .flattens = 1,
    .forward = max_forward, .backward = max_backward, .ref_forward = max_ref_forward, .ref_backward = max_ref_backward,
};
