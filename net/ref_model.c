/* ref_model.c — see ref_model.h. */
#include "ref_model.h"

#include <stdlib.h>

#include "reference.h"

/* What layer i's reference call sees: its parameters and gradients (grads may be NULL). */
static RefLayerCall ref_call(const Model *m, int i, double *const *params, double **grads, int N, uint64_t step)
{
    const Layer *l = &m->layers[i];
    RefLayerCall c = {.N = N, .index = i, .seed = m->seed, .step = step};
    for (int j = 0; j < l->spec.kind->n_params; j++) {
        if (l->param[j] < 0) continue;
        c.w[j] = params[l->param[j]];
        c.dw[j] = grads ? grads[l->param[j]] : NULL;
    }
    return c;
}

/* A residual block's layers see the opening layer's output (a copy of the block's input) and
 * its skip-path gradient. */
static void block_call(const Model *m, int i, RefLayerCall *c, double *const *acts, double *const *skip)
{
    const Layer *l = &m->layers[i];
    if (!l->spec.kind->block) return;
    int open = l->spec.kind->block == BLOCK_OPEN ? i : l->pair;
    c->block_in = acts[open + 1];
    c->skip_grad = skip[open];
}

double ref_model_loss(const Model *m, double *const *params, double **grads, const double *X,
                      const int *y, int N, uint64_t step)
{
    int L = m->n_layers;
    double **acts = calloc((size_t)L + 1, sizeof *acts), **skip = calloc((size_t)L, sizeof *skip);
    acts[0] = (double *)X;
    for (int i = 0; i < L; i++) {
        const Layer *l = &m->layers[i];
        acts[i + 1] = calloc(layer_shape_size(l->out) * N, sizeof(double));
        if (l->spec.kind->block == BLOCK_OPEN) skip[i] = calloc(layer_shape_size(l->in) * N, sizeof(double));
        RefLayerCall c = ref_call(m, i, params, grads, N, step);
        block_call(m, i, &c, acts, skip);
        l->spec.kind->ref_forward(l, &c, acts[i + 1], acts[i]);
    }
    int C = m->num_classes;
    double *dout = calloc((size_t)N * C, sizeof *dout);
    double loss = m->loss == LOSS_SVM ? ref_svm_loss(dout, acts[L], y, N, C)
                  : m->label_smoothing > 0 ? ref_softmax_loss_smoothed(dout, acts[L], y, N, C, m->label_smoothing)
                                           : ref_softmax_loss(dout, acts[L], y, N, C);
    for (int i = 0; i < m->n_params; i++) {
        if (!param_penalised(&m->params[i])) continue;
        for (size_t k = 0; k < m->params[i].n; k++) {
            loss += 0.5 * m->reg * params[i][k] * params[i][k];
        }
    }
    for (int i = L - 1; grads && i >= 0; i--) {
        const Layer *l = &m->layers[i];
        double *dx = calloc(layer_shape_size(l->in) * N, sizeof *dx);
        RefLayerCall c = ref_call(m, i, params, grads, N, step);
        block_call(m, i, &c, acts, skip);
        l->spec.kind->ref_backward(l, &c, dx, dout, acts[i]);
        free(dout);
        dout = dx;
    }
    for (int i = 0; grads && i < m->n_params; i++)
        if (param_penalised(&m->params[i]))
            for (size_t k = 0; k < m->params[i].n; k++) grads[i][k] += m->reg * params[i][k];
    free(dout);
    for (int i = 1; i <= L; i++) free(acts[i]);
    for (int i = 0; i < L; i++) free(skip[i]);
    free(acts), free(skip);
    return loss;
}
