/* cpu_winograd_kernels.h — the transforms of one Winograd tiling F(m x m, 3x3): m x m output
 * tiles from (m + 2) x (m + 2) input patches, P = (m + 2)² products per tile, one GEMM each
 * (cpu_winograd.c drives them). F(2x2, 3x3) in cpu_winograd_f2.c, F(4x4, 3x3) in
 * cpu_winograd_f4.c. Layouts, for one image of a chunk of tiles ld wide:
 *   V[ξ][c][t], M[ξ][f][t], dM[ξ][f][t]: ξ blocks `step` floats apart, rows ld apart, the
 *   image's tiles t = ty * tw + tx contiguous from the pointer passed. */
#ifndef NNDL_CPU_WINOGRAD_KERNELS_H
#define NNDL_CPU_WINOGRAD_KERNELS_H

#include <stddef.h>

typedef struct WinogradKernels {
    int m; /* output tile m x m */
    /* V = Bᵀ d B of every channel and tile of img (C, H, W); row and zero are scratch
     * (winograd_row_scratch) */
    void (*input)(float *V, const float *img, int C, int H, int W, int ld, size_t step, float *row, float *zero);
    /* out (F, H, W) = Aᵀ M A of every tile, edge tiles clipped, + bias[f] unless bias is NULL */
    void (*output)(float *out, const float *M, const float *bias, int F, int H, int W, int ld, size_t step,
                   float *row);
    /* dM = A dY Aᵀ of every tile of dout (F, H, W): the output transform's adjoint */
    void (*grad)(float *dM, const float *dout, int F, int H, int W, int ld, size_t step, float *zero);
    /* u (P values, row-major (m+2) x (m+2)) = G g Gᵀ of one 3x3 filter g */
    void (*filter)(float *u, const float *g);
    /* k (3x3) = Gᵀ u G: the filter transform's adjoint */
    void (*filter_grad)(float *k, const float *u);
} WinogradKernels;

extern const WinogradKernels winograd_f2, winograd_f4;

#endif
