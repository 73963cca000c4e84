/* op_checks.h — every op of the dispatch table, forward and backward, against the double
 * reference on shapes that find mistakes (batch 1, odd sizes, stride 1-3, pad 0-2, non-square
 * filters and pools, tiled / overlapping / gapped windows, tied maxima).
 *
 * One source of truth for two users: `nndl check` prints every comparison as a table row, and
 * the CUnit suites (tests/backend_checks.c) assert that every row passes. A comparison passes
 * when its error (float_error: max |a - ref| / max(1, |ref|)) is at most its tolerance and not
 * NaN. Inputs are rounded to float first, so the reference sees exactly what the backend sees
 * and only the backend's float arithmetic differs. */
#ifndef NNDL_OP_CHECKS_H
#define NNDL_OP_CHECKS_H

#include <stddef.h>

#include "backend.h"

/* float32 rounding of sums of ~1e3 unit terms */
#define CHECK_FLOAT_TOL 1e-4

typedef struct CheckRow {
    const char *op;         /* the check's name, e.g. "conv" */
    char shape[96];         /* the case, e.g. "x(2,3,7,7) w(4,3,3,3) s2 p0" */
    const char *what;       /* the compared quantity, e.g. "dx" */
    double error, tol;
    int pass;
} CheckRow;

/* A row and its strings are valid during the call only. */
typedef void (*CheckSink)(const CheckRow *row, void *ctx);

/* One run of checks on one backend; rows go to sink as they are computed. */
typedef struct CheckRun {
    const Backend *be;
    CheckSink sink;
    void *ctx;
    int rows, failed;
} CheckRun;

typedef struct OpCheck {
    const char *name;       /* what --op selects */
    const char *title;      /* what the test suite calls it */
    void (*run)(CheckRun *run);
} OpCheck;

extern const OpCheck op_checks[];
extern const size_t op_check_count;

/* The check of that name, or NULL. */
const OpCheck *op_check_find(const char *name);

/* How far a device array is from a double reference, by a host measure such as float_error or
 * max_scaled_error (compare.h): the array is copied to the host for it. */
typedef double (*ErrorMeasure)(const float *a, const double *ref, size_t n);
double device_error(const Backend *be, ErrorMeasure measure, const float *dev, const double *ref, size_t n);

/* Records one comparison: pass = error <= tol (NaN fails). */
void check_expect(CheckRun *run, const char *op, const char *shape, const char *what,
                  double error, double tol);

#endif
