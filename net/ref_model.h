/* ref_model.h — a Model (net/model.h) evaluated in double precision with the reference
 * layers: the oracle for model-level gradient checks and for the float backends' models.
 *
 * It reads only the model's description (layers, shapes, loss, reg, dropout seed); the
 * parameters come as double arrays, in m->params order. Train mode: batch statistics, dropout
 * masks of `step` (the same masks the backends draw). */
#ifndef NNDL_REF_MODEL_H
#define NNDL_REF_MODEL_H

#include "model.h"

/* Loss (data + 0.5 reg sum W^2) of N examples X (N, C, H, W) with labels y; with grads non-NULL,
 * grads[i] receives the gradient of params[i]. */
double ref_model_loss(const Model *m, double *const *params, double **grads, const double *X,
                      const int *y, int N, uint64_t step);

#endif
