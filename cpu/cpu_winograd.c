/* cpu_winograd.c — Winograd convolutions F(m x m, 3x3), m = 2 or 4: a 3x3, stride-1, pad-1
 * convolution in (m + 2)² GEMMs of 2.25x (m = 2) or 4x (m = 4) fewer multiply-adds than im2col's
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
 *
 * The output is cut into m x m tiles, each computed from the (m + 2)² input patch around it (zero
 * outside the image): with d the patch and g a filter, the tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
 * Over channels this is, for each of the P = (m + 2)² positions ξ of the transformed tile, one
 * matrix product M[ξ] (Cout, T) = U[ξ] (Cout, Cin) · V[ξ] (Cin, T), T the tiles of a chunk of
 * images (several small images share each GEMM, so that its T is in the hundreds):
 *   U = G g Gᵀ per (out, in) filter, V = Bᵀ d B per (in channel, tile), tile = Aᵀ M A.
 * The weight gradient is this map's adjoint: dM = A dY Aᵀ per (out channel, tile) from dout's
 * m x m tile dY, dU[ξ] (Cout, Cin) = Σ_tiles dM[ξ] · V[ξ]ᵀ (again one GEMM per ξ), dW = Gᵀ dU G.
 * This file drives the GEMMs; the transforms of each m are in cpu_winograd_f2.c and
 * cpu_winograd_f4.c (checked against the double reference in the cpu backend suite). */
#include <string.h>

#include "cpu_gemm.h"
#include "cpu_winograd.h"
#include "cpu_winograd_kernels.h"

/* Tiles worth gathering into one GEMM: sgemm with a few dozen columns runs far below its rate
 * (the 7x7 and 3x3 maps of a CIFAR net give 16 and 4 tiles of 2x2 per image). From
 * WINOGRAD_ALONE_TILES an image goes alone: 4 images of 128 channels at 15x15 ran ~10% slower
 * forward than one at a time (their V and M, 4 MiB, leave the 512 KiB L2). */
#define WINOGRAD_CHUNK_TILES 256
#define WINOGRAD_ALONE_TILES 64

static const WinogradKernels *kernels(int m) { return m == 4 ? &winograd_f4 : &winograd_f2; }

int winograd_points(int m) { return (m + 2) * (m + 2); }

int winograd_tiles(int m, int H, int W) { return ((H + m - 1) / m) * ((W + m - 1) / m); }

/* Floats from one ξ's (rows, tiles) block of V, M or dM to the next, for blocks of n floats: an
 * odd multiple of 16 floats (64-byte lines). The transforms write or read all P blocks at once,
 * and n is usually a multiple of 4 KiB (channels x 256 tiles): unpadded, the streams share one
 * L1 set and evict each other (measured: input_transform ~16% of the cifar-fast step). Spaced
 * this way, 16 k mod 64 lines apart, up to 64 streams fall in different sets. */
static size_t xi_stride(size_t n) { return (n + 31) / 32 * 32 + 16; }

int winograd_chunk_images(int m, int H, int W)
{
    int T = winograd_tiles(m, H, W);
    return T >= WINOGRAD_ALONE_TILES ? 1 : (WINOGRAD_CHUNK_TILES + T - 1) / T;
}

void winograd_weights(int m, float *U, const float *w, int F, int C, int for_dx)
{
    const WinogradKernels *k = kernels(m);
    int P = winograd_points(m), rows = for_dx ? C : F, cols = for_dx ? F : C; /* U[ξ] is (rows, cols) */
    size_t step = (size_t)rows * cols;
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++) {
            const float *w9 = w + ((size_t)f * C + c) * 9;
            float g[9], u[36];
            for (int i = 0; i < 9; i++) g[i] = for_dx ? w9[8 - i] : w9[i]; /* dx: each filter turned 180 degrees */
            k->filter(u, g);
            float *at = U + (for_dx ? (size_t)c * cols + f : (size_t)f * cols + c);
            for (int xi = 0; xi < P; xi++) at[xi * step] = u[xi];
        }
}

size_t winograd_scratch(int m, int Cin, int Cout, int H, int W, int images)
{
    const WinogradKernels *k = kernels(m);
    size_t ld = (size_t)winograd_tiles(m, H, W) * images;
    return winograd_points(m) * (xi_stride(Cin * ld) + xi_stride(Cout * ld)) + k->scratch(Cin, Cout, H, W);
}

void winograd_forward(int m, float *out, const float *in, const float *U, const float *bias, int Cin, int Cout,
                      int H, int W, int images, float *scratch)
{
    const WinogradKernels *k = kernels(m);
    int ld = winograd_tiles(m, H, W) * images, P = winograd_points(m);
    size_t plane = (size_t)H * W, vs = xi_stride((size_t)Cin * ld), ms = xi_stride((size_t)Cout * ld);
    float *V = scratch, *M = V + P * vs, *s = M + P * ms;
    for (int n = 0; n < images; n++) k->input(V, in + (size_t)n * Cin * plane, Cin, H, W, n, ld, vs, s);
    for (int xi = 0; xi < P; xi++) {
        const float *u = U + (size_t)xi * Cout * Cin;
        if (k->tiles_major) /* M (ld, Cout) = V (ld, Cin) Uᵀ */
            cpu_sgemm(false, true, ld, Cout, Cin, 1.0f, V + xi * vs, Cin, u, Cin, 0.0f, M + xi * ms, Cout);
        else /* M (Cout, ld) = U (Cout, Cin) V */
            cpu_sgemm(false, false, Cout, ld, Cin, 1.0f, u, Cin, V + xi * vs, ld, 0.0f, M + xi * ms, ld);
    }
    for (int n = 0; n < images; n++) k->output(out + (size_t)n * Cout * plane, M, bias, Cout, H, W, n, ld, ms, s);
}

void winograd_weight_grad(int m, float *dU, const float *dout, const float *x, int C, int F, int H, int W,
                          int images, float *scratch)
{
    const WinogradKernels *k = kernels(m);
    int ld = winograd_tiles(m, H, W) * images, P = winograd_points(m);
    size_t plane = (size_t)H * W, vs = xi_stride((size_t)C * ld), ms = xi_stride((size_t)F * ld);
    float *V = scratch, *dM = V + P * vs, *s = dM + P * ms;
    for (int n = 0; n < images; n++) {
        k->input(V, x + (size_t)n * C * plane, C, H, W, n, ld, vs, s);
        k->grad(dM, dout + (size_t)n * F * plane, F, H, W, n, ld, ms, s);
    }
    for (int xi = 0; xi < P; xi++) {
        float *du = dU + (size_t)xi * F * C;
        if (k->tiles_major) /* dU (F, C) += dMᵀ (F, ld) V (ld, C) */
            cpu_sgemm(true, false, F, C, ld, 1.0f, dM + xi * ms, F, V + xi * vs, C, 1.0f, du, C);
        else /* dU (F, C) += dM (F, ld) Vᵀ (ld, C) */
            cpu_sgemm(false, true, F, C, ld, 1.0f, dM + xi * ms, ld, V + xi * vs, ld, 1.0f, du, C);
    }
}

void winograd_weight_grad_finish(int m, float *dw, const float *dU, int F, int C)
{
    const WinogradKernels *k = kernels(m);
    int P = winograd_points(m);
    size_t step = (size_t)F * C;
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++) {
            float u[36];
            for (int xi = 0; xi < P; xi++) u[xi] = dU[xi * step + (size_t)f * C + c];
            k->filter_grad(dw + ((size_t)f * C + c) * 9, u);
        }
}
