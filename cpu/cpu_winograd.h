/* cpu_winograd.h — Winograd F(m x m, 3x3), m = 2 or 4, for 3x3, stride-1, pad-1 convolutions
 * (cpu_winograd.c); cpu_conv.c decides when it runs, with which m, and owns the workspace. */
#ifndef NNDL_CPU_WINOGRAD_H
#define NNDL_CPU_WINOGRAD_H

#include <stddef.h>

/* (m + 2)²: the products per tile, so the GEMMs per call and the rows of U and dU. */
int winograd_points(int m);

/* m x m output tiles of an H x W image (edge tiles clipped). */
int winograd_tiles(int m, int H, int W);

/* Images whose tiles one GEMM should gather: 1 for maps of 64 tiles or more, else enough for
 * ~256 tiles (for m = 2: 16 images at 7x7 or 8x8, 64 at 3x3). */
int winograd_chunk_images(int m, int H, int W);

/* U (P, F, C) from filters w (F, C, 3, 3) for the forward; with for_dx, U (P, C, F) from the
 * filters turned 180 degrees, which convolve dout into dx. */
void winograd_weights(int m, float *U, const float *w, int F, int C, int for_dx);

/* Floats of scratch winograd_forward and winograd_weight_grad need for a chunk of `images`
 * images: P (Cin + Cout) tiles * images, plus rows of tiles. */
size_t winograd_scratch(int m, int Cin, int Cout, int H, int W, int images);

/* `images` consecutive images: out (images, Cout, H, W) = in (images, Cin, H, W) convolved
 * (3x3, stride 1, pad 1) through U (P, Cout, Cin), plus bias (Cout) unless NULL. */
void winograd_forward(int m, float *out, const float *in, const float *U, const float *bias, int Cin, int Cout,
                      int H, int W, int images, float *scratch);

/* dU (P, F, C) += the gradient, in the transformed domain, of the forward's U over `images`
 * images: x (images, C, H, W) and dout (images, F, H, W). */
void winograd_weight_grad(int m, float *dU, const float *dout, const float *x, int C, int F, int H, int W,
                          int images, float *scratch);

/* dw (F, C, 3, 3) = Gᵀ dU G for each filter: the summed dU back to the filters. */
void winograd_weight_grad_finish(int m, float *dw, const float *dU, int F, int C);

#endif
