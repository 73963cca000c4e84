/* cpu_winograd.h — Winograd F(2x2, 3x3) for 3x3, stride-1, pad-1 convolutions (cpu_winograd.c);
 * cpu_conv.c decides when it runs and owns the workspace. */
#ifndef NNDL_CPU_WINOGRAD_H
#define NNDL_CPU_WINOGRAD_H

#include <stddef.h>

/* 2x2 output tiles of an H x W image (edge tiles clipped). */
int winograd_tiles(int H, int W);

/* U (16, F, C) from filters w (F, C, 3, 3) for the forward; with for_dx, U (16, C, F) from the
 * filters turned 180 degrees, which convolve dout into dx. */
void winograd_weights(float *U, const float *w, int F, int C, int for_dx);

/* Floats of scratch winograd_image needs for these sizes (the transformed input and products). */
size_t winograd_scratch(int Cin, int Cout, int H, int W);

/* One image: out (Cout, H, W) = in (Cin, H, W) convolved (3x3, stride 1, pad 1) through U
 * (16, Cout, Cin), plus bias (Cout) unless NULL. */
void winograd_image(float *out, const float *in, const float *U, const float *bias, int Cin, int Cout, int H,
                    int W, float *scratch);

#endif
