/* gradcheck.c — centered-difference gradients (see gradcheck.h). */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>

void eval_numerical_gradient(double *grad, ScalarFn f, void *ctx, double *x, size_t n, double h)
{
    for (size_t i = 0; i < n; i++) {
        double old = x[i];
        x[i] = old + h;
        double fp = f(ctx);
        x[i] = old - h;
        double fm = f(ctx);
        x[i] = old;
        grad[i] = (fp - fm) / (2 * h);
    }
}

void eval_numerical_gradient_array(double *grad, ArrayFn f, void *ctx, double *x, size_t n,
                                   const double *dout, size_t n_out, double h)
{
    double *pos = malloc(n_out * sizeof *pos), *neg = malloc(n_out * sizeof *neg);
    for (size_t i = 0; i < n; i++) {
        double old = x[i];
        x[i] = old + h;
        f(pos, ctx);
        x[i] = old - h;
        f(neg, ctx);
        x[i] = old;
        double s = 0;
        for (size_t k = 0; k < n_out; k++) s += (pos[k] - neg[k]) * dout[k];
        grad[i] = s / (2 * h);
    }
    free(pos);
    free(neg);
}
