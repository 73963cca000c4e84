/* compare.h — how far a result is from a reference: the seed's rel_error and the float32
 * yardstick used by the tests, `nndl bench layers` and the backend checks. */
#ifndef NNDL_COMPARE_H
#define NNDL_COMPARE_H

#include <stddef.h>

/* The seed's rel_error: max |a - b| / max(1e-8, |a| + |b|). */
double rel_error(const double *a, const double *b, size_t n);

/* Float result against a double reference: max |a - ref| / max(1, |ref|). Absolute error for
 * small values, relative for large ones: the yardstick of a float32 backend. */
double float_error(const float *a, const double *ref, size_t n);

/* max |a - ref| / max |ref|: a whole-array relative error that tiny elements cannot dominate.
 * An array that is zero in exact arithmetic (a bias feeding batchnorm, which subtracts it out
 * again) has no scale of its own: its values are held to 1e-6 absolute, reported as 1e-3 per
 * 1e-6 so that one tolerance of 1e-3 serves both. */
double max_scaled_error(const float *a, const double *ref, size_t n);

#endif
