/* pool.h — the pool layer's geometry for code that runs it itself (net/fused_group.c). */
#ifndef NNDL_LAYER_POOL_H
#define NNDL_LAYER_POOL_H

#include "layer_kind.h"

/* The pool geometry of layer l for a batch of N. */
PoolGeom pool_layer_geom(const Layer *l, int N);

extern const LayerKind layer_pool;

#endif
