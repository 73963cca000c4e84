/* pool.c — pool<k>: k x k max pool with stride k, no padding; the output size is PyTorch's,
 * floor(H / k), so rows and columns past the last window are left out (pool2 on 31x31 gives
 * 15x15). */
#include <stdio.h>

#include "error.h"
#include "pool.h"
#include "reference.h"

static PoolGeom geom(const Layer *l, int N)
{
    PoolGeom g;
    int k = l->spec.units;
    pool_geom_init_floor(&g, N, l->in[0], l->in[1], l->in[2], k, k, k);
    return g;
}

static int parse_args(const char **p, LayerSpec *l) { return layer_parse_count(p, &l->units); }

static int format_args(char *buf, size_t size, const LayerSpec *l) { return snprintf(buf, size, "%d", l->units); }

static int shape(Layer *l, int index)
{
    if (!l->spatial)
        return nndl_fail("layer %d (pool%d) needs a (C, H, W) input but gets a vector of %d values (after an "
                         "affine layer)", index + 1, l->spec.units, l->in[0]);
    PoolGeom g;
    int k = l->spec.units;
    if (pool_geom_init_floor(&g, 1, l->in[0], l->in[1], l->in[2], k, k, k) != NNDL_OK)
        return nndl_fail_context("layer %d", index + 1);
    l->out[1] = g.Ho, l->out[2] = g.Wo;
    return NNDL_OK;
}

static void forward(const Layer *l, const LayerCall *c, float *out, const float *in)
{
    PoolGeom g = geom(l, c->N);
    c->be->max_pool_forward(c->be, out, in, &g);
}

/* the backend's backward compares the input with the forward output, l->act */
static void backward(const Layer *l, const LayerCall *c, float *dx, const float *dout, const float *in)
{
    PoolGeom g = geom(l, c->N);
    if (dx) c->be->max_pool_backward(c->be, dx, dout, in, l->act, &g);
}

static void ref_forward(const Layer *l, const RefLayerCall *c, double *out, const double *in)
{
    PoolGeom g = geom(l, c->N);
    ref_max_pool_forward_naive(out, in, &g);
}

static void ref_backward(const Layer *l, const RefLayerCall *c, double *dx, const double *dout, const double *in)
{
    PoolGeom g = geom(l, c->N);
    ref_max_pool_backward_naive(dx, dout, in, &g);
}

const LayerKind layer_pool = {
    .token = "pool", .syntax = "pool<k>", .example = "pool2",
    .parse_args = parse_args, .format_args = format_args,
    .shape = shape,
    .forward = forward, .backward = backward, .ref_forward = ref_forward, .ref_backward = ref_backward,
};

PoolGeom pool_layer_geom(const Layer *l, int N) { return geom(l, N); }
