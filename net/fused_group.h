/* fused_group.h — runs of layers the model executes as one op: bn-relu and bn-relu-pool<k>
 * become one backend_bn_relu_pool_forward / _backward call (core/backend.h), which is the fused
 * op where the backend has it and the unfused ops otherwise. Same results as running the layers
 * one by one, up to float rounding; fewer passes over memory. */
#ifndef NNDL_FUSED_GROUP_H
#define NNDL_FUSED_GROUP_H

#include "layer_kind.h"

/* How many layers from layers[i] form a group (2 or 3), or 1 when layer i starts none. */
int fused_group_length(const Layer *layers, int n, int i);

/* The group's forward: the last layer's act receives the output; the earlier layers' acts are
 * written only by the unfused path. c is the batchnorm layer's call. */
void fused_group_forward(const Layer *first, int count, const LayerCall *c, const float *in);

/* Its backward from dout (the gradient of the last layer's output; overwritten), into the
 * batchnorm layer's dgamma, dbeta; spare has room for the input's gradient. Returns the buffer
 * holding the input's gradient (spare or dout). */
float *fused_group_backward(const Layer *first, int count, const LayerCall *c, float *dout, float *spare,
                            const float *in);

/* A name for profiles: "bn+relu", "bn+relu+pool2". */
void fused_group_name(char *buf, size_t size, const Layer *first, int count);

#endif
