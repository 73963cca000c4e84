/* dataset.h — labelled examples in host memory, whatever file they came from. */
#ifndef NNDL_DATASET_H
#define NNDL_DATASET_H

#include <stddef.h>

/* n examples of shape (c, h, w), host memory */
typedef struct Dataset {
    int n, c, h, w;
    float *x;   /* (n, c, h, w) */
    int *y;     /* (n) */
} Dataset;

int dataset_alloc(Dataset *d, int n, int c, int h, int w);
void dataset_free(Dataset *d);
/* The mean example of d (c*h*w values, accumulated in double); d must not be empty. */
int dataset_mean(const Dataset *d, float *mean);
/* Subtracts mean (one example's size) from every example. */
void dataset_subtract(Dataset *d, const float *mean);
static inline size_t dataset_example_size(const Dataset *d) { return (size_t)d->c * d->h * d->w; }

#endif
