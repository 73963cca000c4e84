/* dataset.c — see dataset.h. */
#include "dataset.h"

#include <stdlib.h>

#include "error.h"

int dataset_alloc(Dataset *d, int n, int c, int h, int w)
{
    *d = (Dataset){n, c, h, w, NULL, NULL};
    size_t values = (size_t)n * c * h * w;
    d->x = malloc((values ? values : 1) * sizeof *d->x);
    d->y = malloc((n ? (size_t)n : 1) * sizeof *d->y);
    if (!d->x || !d->y) {
        dataset_free(d);
        return nndl_fail("out of memory for %d examples of (%d, %d, %d)", n, c, h, w);
    }
    return NNDL_OK;
}

void dataset_free(Dataset *d)
{
    free(d->x);
    free(d->y);
    d->x = NULL;
    d->y = NULL;
}

int dataset_mean(const Dataset *d, float *mean)
{
    size_t size = dataset_example_size(d);
    double *sum = calloc(size ? size : 1, sizeof *sum);
    if (!sum) return nndl_fail("out of memory for the mean image");
    for (int n = 0; n < d->n; n++)
        for (size_t i = 0; i < size; i++) sum[i] += d->x[(size_t)n * size + i];
    for (size_t i = 0; i < size; i++) mean[i] = (float)(sum[i] / d->n);
    free(sum);
    return NNDL_OK;
}

void dataset_subtract(Dataset *d, const float *mean)
{
    size_t size = dataset_example_size(d);
    for (int n = 0; n < d->n; n++)
        for (size_t i = 0; i < size; i++) d->x[(size_t)n * size + i] -= mean[i];
}
