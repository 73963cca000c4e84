/* cpu_winograd_kernels.h — the transforms of one Winograd tiling F(m x m, 3x3): m x m output
 * tiles from (m + 2) x (m + 2) input patches, P = (m + 2)² products per tile, one GEMM each
 * (cpu_winograd.c drives them). F(2x2, 3x3) in cpu_winograd_f2.c, F(4x4, 3x3) in
 * cpu_winograd_f4.c. For a chunk of images of T tiles each, ld = T x images tiles in all:
 *   channels-major (tiles_major 0): V[ξ] (C, ld), M[ξ] and dM[ξ] (F, ld); image n's tiles are
 *     columns n T .. n T + T - 1;
 *   tiles-major (tiles_major 1): V[ξ] (ld, C), M[ξ] and dM[ξ] (ld, F); image n's tiles are rows
 *     n T .. n T + T - 1, so a tile's channels are contiguous and the transforms run over them.
 * The P blocks ξ are `step` floats apart. */
#ifndef NNDL_CPU_WINOGRAD_KERNELS_H
#define NNDL_CPU_WINOGRAD_KERNELS_H

#include <stddef.h>

typedef struct WinogradKernels {
    int m;           /* output tile m x m */
    int tiles_major; /* the layout above */
    /* floats of scratch the transforms below need */
    size_t (*scratch)(int Cin, int Cout, int H, int W);
    /* V = Bᵀ d B of every channel and tile of image n, img (C, H, W) */
    void (*input)(float *V, const float *img, int C, int H, int W, int n, int ld, size_t step, float *scratch);
    /* out (F, H, W) of image n = Aᵀ M A of its tiles, edge tiles clipped, + bias[f] unless NULL */
    void (*output)(float *out, const float *M, const float *bias, int F, int H, int W, int n, int ld, size_t step,
                   float *scratch);
    /* dM = A dY Aᵀ of every tile of image n's dout (F, H, W): the output transform's adjoint */
    void (*grad)(float *dM, const float *dout, int F, int H, int W, int n, int ld, size_t step, float *scratch);
    /* u (P values, row-major (m+2) x (m+2)) = G g Gᵀ of one 3x3 filter g */
    void (*filter)(float *u, const float *g);
    /* k (3x3) = Gᵀ u G: the filter transform's adjoint */
    void (*filter_grad)(float *k, const float *u);
} WinogradKernels;

extern const WinogradKernels winograd_f2, winograd_f4;

#endif
