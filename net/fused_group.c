/* fused_group.c — see fused_group.h. */
#include "fused_group.h"

#include <stdio.h>

#include "batchnorm.h"
#include "pool.h"

extern const LayerKind layer_relu; /* registry.c */

int fused_group_length(const Layer *layers, int n, int i)
{
    if (i + 1 >= n || layers[i].spec.kind != &layer_batchnorm || layers[i + 1].spec.kind != &layer_relu) return 1;
    return i + 2 < n && layers[i + 2].spec.kind == &layer_pool ? 3 : 2;
}

void fused_group_forward(const Layer *first, int count, const LayerCall *c, const float *in)
{
    const Layer *bn = first;
    BNConfig cfg = batchnorm_config(bn, c);
    PoolGeom g, *pool = NULL;
    if (count == 3) g = pool_layer_geom(&first[2], c->N), pool = &g;
    backend_bn_relu_pool_forward(c->be, first[count - 1].act, first[0].act, first[1].act,
                                 bn->buffer[BN_BATCH_MEAN], bn->buffer[BN_BATCH_INV_STD],
                                 bn->buffer[BN_RUNNING_MEAN], bn->buffer[BN_RUNNING_VAR], in, batchnorm_gamma(bn, c), c->w[1],
                                 &cfg, pool, c->N, bn->in[0], batchnorm_inner(bn));
}

float *fused_group_backward(const Layer *first, int count, const LayerCall *c, float *dout, float *spare,
                            const float *in)
{
    const Layer *bn = first;
    PoolGeom g, *pool = NULL;
    if (count == 3) g = pool_layer_geom(&first[2], c->N), pool = &g;
    return backend_bn_relu_pool_backward(c->be, batchnorm_dgamma(bn, c), c->dw[1], dout, spare, first[count - 1].act,
                                         first[0].act, first[1].act, in, batchnorm_gamma(bn, c), c->w[1],
                                         bn->buffer[BN_BATCH_MEAN],
                                         bn->buffer[BN_BATCH_INV_STD], pool, c->N, bn->in[0], batchnorm_inner(bn));
}

void fused_group_name(char *buf, size_t size, const Layer *first, int count)
{
    if (count == 3) snprintf(buf, size, "bn+relu+pool%d", first[2].spec.units);
    else snprintf(buf, size, "bn+relu");
}
