/* check_data.c — see check_data.h. */
#include "check_data.h"

#include <stdlib.h>

double *randn(Rng *r, size_t n, double scale, double shift)
{
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = shift + scale * rng_gaussian(r);
    return x;
}

double *zeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

double *linspace(double lo, double hi, size_t n)
{
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = n == 1 ? lo : lo + (hi - lo) * (double)i / (double)(n - 1);
    return x;
}

float *to_float(const double *x, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}

double *to_double(const float *x, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

void round_to_float(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)x[i];
}

int *rand_labels(Rng *r, int N, int C)
{
    int *y = malloc((size_t)(N ? N : 1) * sizeof *y);
    for (int i = 0; i < N; i++) y[i] = (int)rng_below(r, (uint32_t)C);
    return y;
}
