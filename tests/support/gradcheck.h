/* gradcheck.h — numeric gradients by centered differences.
 *
 * The functions perturb x in place (and restore it), as the seed's eval_numerical_gradient does,
 * so f reads its inputs through ctx. Double precision: numeric gradients need it. Test-only:
 * the product compares results with compare.h. */
#ifndef NNDL_GRADCHECK_H
#define NNDL_GRADCHECK_H

#include <stddef.h>

#include "compare.h"

typedef double (*ScalarFn)(void *ctx);
typedef void (*ArrayFn)(double *out, void *ctx);

/* grad[i] = (f(x + h e_i) - f(x - h e_i)) / 2h */
void eval_numerical_gradient(double *grad, ScalarFn f, void *ctx, double *x, size_t n, double h);

/* grad[i] = sum_k dout[k] * (f(x + h e_i)[k] - f(x - h e_i)[k]) / 2h, f writing n_out values. */
void eval_numerical_gradient_array(double *grad, ArrayFn f, void *ctx, double *x, size_t n,
                                   const double *dout, size_t n_out, double h);

#endif
