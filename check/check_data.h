/* check_data.h — inputs for checks against the double reference: random arrays, float/double
 * conversion. Used by `nndl check` and by the CUnit suites. */
#ifndef NNDL_CHECK_DATA_H
#define NNDL_CHECK_DATA_H

#include <stddef.h>

#include "rng.h"

double *randn(Rng *r, size_t n, double scale, double shift); /* malloc'd N(shift, scale^2) */
double *zeros(size_t n);
double *linspace(double lo, double hi, size_t n);
float *to_float(const double *x, size_t n);                   /* malloc'd copy */
double *to_double(const float *x, size_t n);
/* Rounds a double array through float, so the reference sees exactly the backend's inputs. */
void round_to_float(double *x, size_t n);
int *rand_labels(Rng *r, int N, int C);

#endif
