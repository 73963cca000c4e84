/* geometry.h — validated shapes of the spatial layers.
 *
 * Every conv / pool call carries one of these, built by the *_geom_init functions, which refuse
 * zero or negative sizes, channel mismatches and windows that do not fit the input a whole number
 * of times, with a message naming the layer and the shapes. Backends can then trust them.
 *
 * Layout legend: N batch, C channels, H/W input height/width, F filters, HH/WW filter height/width,
 * Ho/Wo output height/width; tensors are NCHW, filters FCHW. */
#ifndef NNDL_GEOMETRY_H
#define NNDL_GEOMETRY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ConvGeom {
    int N, C, H, W;     /* input */
    int F, HH, WW;      /* filters (F, C, HH, WW) */
    int stride, pad;    /* same stride both ways; symmetric zero padding */
    int Ho, Wo;         /* output (N, F, Ho, Wo) */
} ConvGeom;

typedef struct PoolGeom {
    int N, C, H, W;
    int ph, pw, stride; /* no padding, as in the seed */
    int Ho, Wo;
} PoolGeom;

/* w_channels is the filter tensor's second dimension, checked against C. */
int conv_geom_init(ConvGeom *g, int N, int C, int H, int W, int F, int w_channels, int HH,
                   int WW, int stride, int pad);
/* The same with PyTorch's output size, floor((H + 2 pad - HH) / stride) + 1: input rows and
 * columns after the last window are left out (their gradient is 0), so a stride-2 conv halves
 * an even size. The spec's conv layers use this; every backend handles it (nothing assumes the
 * windows reach the input's end). */
int conv_geom_init_floor(ConvGeom *g, int N, int C, int H, int W, int F, int w_channels, int HH,
                         int WW, int stride, int pad);
int pool_geom_init(PoolGeom *g, int N, int C, int H, int W, int ph, int pw, int stride);
/* The same with PyTorch's floor output size (pool2 takes 31x31 to 15x15): the spec's pool<k>. */
int pool_geom_init_floor(PoolGeom *g, int N, int C, int H, int W, int ph, int pw, int stride);

/* affine: an input of N rows of x_row_size values against weights (w_rows, M). */
int affine_check(int N, int x_row_size, int w_rows, int M);

/* True when the pooling windows do not overlap (the stride is the window): each input element
 * lies in at most one window; with a floor output size some lie in none. */
int pool_geom_disjoint(const PoolGeom *g);
/* True when the pooling windows tile the input exactly (disjoint, and no input past them). */
int pool_geom_tiles(const PoolGeom *g);

static inline size_t conv_in_size(const ConvGeom *g) { return (size_t)g->N * g->C * g->H * g->W; }
static inline size_t conv_w_size(const ConvGeom *g) { return (size_t)g->F * g->C * g->HH * g->WW; }
static inline size_t conv_out_size(const ConvGeom *g) { return (size_t)g->N * g->F * g->Ho * g->Wo; }
static inline size_t pool_in_size(const PoolGeom *g) { return (size_t)g->N * g->C * g->H * g->W; }
static inline size_t pool_out_size(const PoolGeom *g) { return (size_t)g->N * g->C * g->Ho * g->Wo; }

#ifdef __cplusplus
}
#endif
#endif
