/* compare.c — error measures between results (see compare.h). */
#include "compare.h"

#include <math.h>

double rel_error(const double *a, const double *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / fmax(1e-8, fabs(a[i]) + fabs(b[i]));
        if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

double float_error(const float *a, const double *ref, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - ref[i]) / fmax(1.0, fabs(ref[i]));
        if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

double max_scaled_error(const float *a, const double *ref, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (isnan(d)) return INFINITY;
        diff = fmax(diff, d);
        scale = fmax(scale, fabs(ref[i]));
    }
    return scale > 1e-12 ? diff / scale : diff * 1e-3 / 1e-6;
}
