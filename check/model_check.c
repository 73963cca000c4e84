/* model_check.c — see model_check.h. Tolerances are those of the model suite: the loss within
 * 1e-5 relative, every gradient within 1e-3 of its largest element, or of a thousandth of the
 * model's largest gradient element when that is larger: a gradient that is zero in exact
 * arithmetic (a bias straight before batchnorm, which subtracts it out again) is then judged by
 * the model's gradient scale, not by its own rounding noise. */
#include "model_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_data.h"
#include "compare.h"
#include "error.h"
#include "model.h"
#include "ref_model.h"
#include "reference.h"

#define STEP_LR 1e-2f

static double largest_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

/* max |a - ref| / max(max |ref|, floor), with a copied back from the device; NaN fails. */
static double gradient_error(const Backend *be, const float *dev, const double *ref, size_t n, double floor)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    if (!h) return INFINITY;
    be->to_host(be, h, dev, n * sizeof *h);
    double diff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)h[i] - ref[i]);
        diff = isnan(d) ? INFINITY : fmax(diff, d);
    }
    free(h);
    return diff / fmax(fmax(largest_abs(ref, n), floor), 1e-30);
}

/* The model's parameters in double; gamma and beta start at 1 and 0, so they are perturbed (on
 * the device too) to exercise their gradients. */
static double **params_to_double(Model *m, Rng *r)
{
    const Backend *be = m->be;
    double **params = calloc((size_t)m->n_params, sizeof *params);
    for (int i = 0; i < m->n_params; i++) {
        Param *p = &m->params[i];
        float *h = malloc(p->n * sizeof *h);
        be->to_host(be, h, p->w, p->n * sizeof *h);
        if (!p->is_weight)
            for (size_t k = 0; k < p->n; k++) h[k] = (float)(h[k] + 0.1 * rng_gaussian(r));
        be->to_device(be, p->w, h, p->n * sizeof *h);
        params[i] = to_double(h, p->n);
        free(h);
    }
    return params;
}

void check_model_step(CheckRun *run, const char *spec, int C, int H, int W, int N)
{
    const Backend *be = run->be;
    char shape[96];
    snprintf(shape, sizeof shape, "%.60s x(%d,%d,%d,%d)", spec, N, C, H, W);
    Model m;
    if (model_init(&m, be, spec, C, H, W, 5e-2f, 1e-3f, LOSS_SOFTMAX, 7, N) != NNDL_OK) {
        check_expect(run, "model", shape, nndl_last_error(), INFINITY, 0);
        return;
    }
    Rng r;
    rng_seed(&r, 99);
    size_t nx = (size_t)N * C * H * W;
    double *X = randn(&r, nx, 1, 0);
    round_to_float(X, nx);
    float *Xf = to_float(X, nx);
    int *y = rand_labels(&r, N, m.num_classes);
    double **params = params_to_double(&m, &r), **grads = calloc((size_t)m.n_params, sizeof *grads);
    for (int i = 0; i < m.n_params; i++) grads[i] = zeros(m.params[i].n);

    double want = ref_model_loss(&m, params, grads, X, y, N, 3);
    double got = model_loss(&m, Xf, y, N, 3);
    check_expect(run, "model", shape, "loss", fabs(got - want) / fmax(1e-12, fabs(want)), 1e-5);
    double model_scale = 0;
    for (int i = 0; i < m.n_params; i++) model_scale = fmax(model_scale, largest_abs(grads[i], m.params[i].n));
    OptimConfig sgd = optim_config_default(UPDATE_SGD);
    sgd.learning_rate = STEP_LR;
    for (int i = 0; i < m.n_params; i++) {
        Param *p = &m.params[i];
        check_expect(run, "model", shape, p->name, gradient_error(be, p->dw, grads[i], p->n, 1e-3 * model_scale), 1e-3);
        backend_update(be, &sgd, p->w, p->dw, NULL, NULL, p->n);
        ref_update(&sgd, params[i], grads[i], NULL, NULL, p->n);
    }
    for (int i = 0; i < m.n_params; i++) {
        char what[48];
        snprintf(what, sizeof what, "%s after an sgd step", m.params[i].name);
        /* float_error: parameters are O(1e-1); the step changes them by lr * gradient */
        check_expect(run, "model", shape, what,
                     device_error(be, float_error, m.params[i].w, params[i], m.params[i].n), 1e-5);
    }
    for (int i = 0; i < m.n_params; i++) free(params[i]), free(grads[i]);
    free(params), free(grads), free(X), free(Xf), free(y);
    model_free(&m);
}
