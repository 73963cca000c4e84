/* ref_model.c — see ref_model.h. */
#include "ref_model.h"

#include <stdlib.h>
#include <string.h>

#include "reference.h"

double ref_model_loss(const Model *m, double *const *params, double **grads, const double *X,
                      const int *y, int N, uint64_t step)
{
    int L = m->n_layers;
    double **acts = calloc((size_t)L + 1, sizeof *acts);
    acts[0] = (double *)X;
    for (int i = 0; i < L; i++) {
        const Layer *l = &m->layers[i];
        size_t n_out = layer_shape_size(l->out) * N;
        double *in = acts[i], *out = acts[i + 1] = calloc(n_out, sizeof(double));
        switch (l->spec.kind) {
        case LAYER_CONV: {
            ConvGeom g = model_layer_conv_geom(l, N);
            ref_conv_forward_naive(out, in, params[l->w], params[l->b], &g);
            break;
        }
        case LAYER_POOL: {
            PoolGeom g = model_layer_pool_geom(l, N);
            ref_max_pool_forward_naive(out, in, &g);
            break;
        }
        case LAYER_AFFINE:
            ref_affine_forward(out, in, params[l->w], params[l->b], N, (int)layer_shape_size(l->in), l->spec.units);
            break;
        case LAYER_RELU: ref_relu_forward(out, in, n_out); break;
        case LAYER_BN: {
            int C = l->in[0], S = layer_bn_inner(l);
            double *rm = calloc((size_t)C, sizeof *rm), *rv = calloc((size_t)C, sizeof *rv);
            RefBNParam p = {1, MODEL_BN_EPS, MODEL_BN_MOMENTUM, rm, rv};
            ref_batchnorm_forward(out, in, params[l->gamma], params[l->beta], &p, N, C, S);
            free(rm), free(rv);
            break;
        }
        case LAYER_DROPOUT:
            ref_dropout_forward(out, in, n_out, l->spec.p_keep, model_dropout_seed(m, i), step, 1);
            break;
        }
    }
    int C = m->num_classes;
    double *dout = calloc((size_t)N * C, sizeof *dout);
    double loss = m->loss == LOSS_SVM ? ref_svm_loss(dout, acts[L], y, N, C) : ref_softmax_loss(dout, acts[L], y, N, C);
    for (int i = 0; i < m->n_params; i++) {
        if (!m->params[i].is_weight) continue;
        for (size_t k = 0; k < m->params[i].n; k++) {
            loss += 0.5 * m->reg * params[i][k] * params[i][k];
        }
    }
    for (int i = L - 1; grads && i >= 0; i--) {
        const Layer *l = &m->layers[i];
        size_t n_in = layer_shape_size(l->in) * N;
        double *in = acts[i], *dx = calloc(n_in, sizeof *dx);
        switch (l->spec.kind) {
        case LAYER_CONV: {
            ConvGeom g = model_layer_conv_geom(l, N);
            ref_conv_backward_naive(dx, grads[l->w], grads[l->b], dout, in, params[l->w], &g);
            break;
        }
        case LAYER_POOL: {
            PoolGeom g = model_layer_pool_geom(l, N);
            ref_max_pool_backward_naive(dx, dout, in, &g);
            break;
        }
        case LAYER_AFFINE:
            ref_affine_backward(dx, grads[l->w], grads[l->b], dout, in, params[l->w], N,
                                (int)layer_shape_size(l->in), l->spec.units);
            break;
        case LAYER_RELU: ref_relu_backward(dx, dout, in, n_in); break;
        case LAYER_BN:
            ref_batchnorm_backward(dx, grads[l->gamma], grads[l->beta], dout, in, params[l->gamma],
                                   MODEL_BN_EPS, N, l->in[0], layer_bn_inner(l));
            break;
        case LAYER_DROPOUT:
            ref_dropout_backward(dx, dout, n_in, l->spec.p_keep, model_dropout_seed(m, i), step, 1);
            break;
        }
        free(dout);
        dout = dx;
    }
    for (int i = 0; grads && i < m->n_params; i++)
        if (m->params[i].is_weight)
            for (size_t k = 0; k < m->params[i].n; k++) grads[i][k] += m->reg * params[i][k];
    free(dout);
    for (int i = 1; i <= L; i++) free(acts[i]);
    free(acts);
    return loss;
}
