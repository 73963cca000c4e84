/* cpu_winograd.c — Winograd F(2x2, 3x3): a 3x3, stride-1, pad-1 convolution in 16 GEMMs of
 * 2.25x fewer multiply-adds than im2col's (Lavin & Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2015).
 *
 * The output is cut into 2x2 tiles, each computed from the 4x4 input patch around it (zero
 * outside the image): with d the patch and g a filter, the tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A.
 * Over channels this is, for each of the 16 positions ξ of the 4x4 transformed tile, one matrix
 * product M[ξ] (Cout, T) = U[ξ] (Cout, Cin) · V[ξ] (Cin, T), T the tiles of a chunk of images
 * (several small images share each GEMM, so that its T is in the hundreds):
 *   U = G g Gᵀ per (out, in) filter, V = Bᵀ d B per (in channel, tile), tile = Aᵀ M A.
 * The weight gradient is this map's adjoint: dM = A dY Aᵀ per (out channel, tile) from dout's
 * 2x2 tile dY, dU[ξ] (Cout, Cin) = Σ_tiles dM[ξ] · V[ξ]ᵀ (again one GEMM per ξ), dW = Gᵀ dU G.
 * The transforms only add, subtract and halve, so the error stays at float rounding of the
 * sums (checked against the double reference in the cpu backend suite). */
#include <cblas.h>
#include <string.h>

#include "cpu_simd.h"
#include "cpu_winograd.h"

/* Tiles worth gathering into one GEMM: sgemm with a few dozen columns runs far below its rate
 * (the 7x7 and 3x3 maps of a CIFAR net give 16 and 4 tiles per image). From WINOGRAD_ALONE_TILES
 * (15x15) an image goes alone: 4 images of 128 channels at 15x15 ran ~10% slower forward than
 * one at a time (their V and M, 4 MiB, leave the 512 KiB L2). */
#define WINOGRAD_CHUNK_TILES 256
#define WINOGRAD_ALONE_TILES 64

/* The 4 rows of Bᵀ d (or the 4 columns of t B): Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. */
#define BT(v0, v1, v2, v3, o0, o1, o2, o3) (o0 = v0 - v2, o1 = v1 + v2, o2 = v2 - v1, o3 = v1 - v3)

int winograd_tiles(int H, int W) { return ((H + 1) / 2) * ((W + 1) / 2); }

/* Floats from one ξ's (rows, tiles) block of V, M or dM to the next, for blocks of n floats: an
 * odd multiple of 16 floats (64-byte lines). The transforms write or read all 16 blocks at once,
 * and n is usually a multiple of 4 KiB (channels x 256 tiles): unpadded, the 16 streams share one
 * L1 set and evict each other (measured: input_transform ~16% of the cifar-fast step). Spaced
 * this way, 16 k mod 64 lines apart, they fall in 16 different sets. */
static size_t xi_stride(size_t n) { return (n + 31) / 32 * 32 + 16; }

int winograd_chunk_images(int H, int W)
{
    int T = winograd_tiles(H, W);
    return T >= WINOGRAD_ALONE_TILES ? 1 : (WINOGRAD_CHUNK_TILES + T - 1) / T;
}
void winograd_weights(float *U, const float *w, int F, int C, int for_dx)
{
    int rows = for_dx ? C : F, cols = for_dx ? F : C; /* U[ξ] is (rows, cols) */
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++) {
            const float *k = w + ((size_t)f * C + c) * 9;
            float g[3][3], u[4][3];
            for (int i = 0; i < 3; i++) /* dx convolves with each filter turned 180 degrees */
                for (int j = 0; j < 3; j++) g[i][j] = for_dx ? k[(2 - i) * 3 + (2 - j)] : k[i * 3 + j];
            for (int j = 0; j < 3; j++) { /* u = G g, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
                u[0][j] = g[0][j];
                u[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                u[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                u[3][j] = g[2][j];
            }
            size_t at = for_dx ? (size_t)c * cols + f : (size_t)f * cols + c;
            for (int i = 0; i < 4; i++) { /* (G g) Gᵀ */
                float *row = U + (size_t)(4 * i) * rows * cols + at;
                size_t step = (size_t)rows * cols;
                row[0] = u[i][0];
                row[step] = 0.5f * (u[i][0] + u[i][1] + u[i][2]);
                row[2 * step] = 0.5f * (u[i][0] - u[i][1] + u[i][2]);
                row[3 * step] = u[i][2];
            }
        }
}

/* Tile rows are transformed a whole row of tiles at a time, in loops over the tiles that the
 * compiler vectorises: the 4 input rows of a tile row are first combined down the columns
 * (Bᵀ d) into 4 padded rows (column p holds x = p - 1), then each tile's 4 columns p = 2t..2t+3
 * are combined along the row ((Bᵀ d) B). */
size_t winograd_scratch(int Cin, int Cout, int H, int W, int images)
{
    int tw = (W + 1) / 2;
    size_t ld = (size_t)winograd_tiles(H, W) * images;
    return 16 * (xi_stride(Cin * ld) + xi_stride(Cout * ld)) + 4 * (size_t)(2 * tw + 2) +
           8 * (size_t)(tw + 1);
}

/* V[ξ][c][t] = (Bᵀ d B)[ξ] for every channel and tile of one image, rows of V ld apart (the
 * chunk's tiles); row (4 x (2 tw + 2)) and zero (at least W floats) are scratch. */
CPU_VECTOR_CLONES static void input_transform(float *V, const float *img, int C, int H, int W, int ld, float *row,
                                              float *zero)
{
    int tw = (W + 1) / 2, th = (H + 1) / 2, wp = 2 * tw + 2;
    size_t step = xi_stride((size_t)C * ld);
    float *b[4]; /* Bᵀ d, row by row; the padding columns stay zero */
    for (int i = 0; i < 4; i++) b[i] = row + (size_t)i * wp;
    memset(row, 0, 4 * (size_t)wp * sizeof *row);
    memset(zero, 0, (size_t)W * sizeof *zero);
    for (int c = 0; c < C; c++) {
        const float *plane = img + (size_t)c * H * W;
        for (int ty = 0; ty < th; ty++) {
            const float *d[4]; /* the tile row's 4 input rows, zero outside the image */
            for (int i = 0; i < 4; i++) {
                int y = 2 * ty - 1 + i;
                d[i] = y >= 0 && y < H ? plane + (size_t)y * W : zero;
            }
            float *b0 = b[0] + 1, *b1 = b[1] + 1, *b2 = b[2] + 1, *b3 = b[3] + 1;
#pragma omp simd
            for (int x = 0; x < W; x++) BT(d[0][x], d[1][x], d[2][x], d[3][x], b0[x], b1[x], b2[x], b3[x]);
            for (int i = 0; i < 4; i++) {
                const float *r = b[i];
                float *v = V + (size_t)(4 * i) * step + (size_t)c * ld + (size_t)ty * tw;
#pragma omp simd
                for (int t = 0; t < tw; t++) {
                    float r0 = r[2 * t], r1 = r[2 * t + 1], r2 = r[2 * t + 2], r3 = r[2 * t + 3];
                    BT(r0, r1, r2, r3, v[t], v[step + t], v[2 * step + t], v[3 * step + t]);
                }
            }
        }
    }
}

/* out[f] tiles = Aᵀ M[·][f][t] A (+ bias[f]), Aᵀ = [1 1 1 0; 0 1 -1 -1]; edge tiles clipped;
 * rows of M ld apart. s (8 x tw) is scratch: Aᵀ M for a row of tiles. */
CPU_VECTOR_CLONES static void output_transform(float *out, const float *M, const float *bias, int F, int H, int W, int ld, float *s)
{
    int tw = (W + 1) / 2, th = (H + 1) / 2;
    size_t step = xi_stride((size_t)F * ld);
    for (int f = 0; f < F; f++) {
        float b = bias ? bias[f] : 0;
        float *plane = out + (size_t)f * H * W;
        for (int ty = 0; ty < th; ty++) {
            const float *m = M + (size_t)f * ld + (size_t)ty * tw;
            for (int j = 0; j < 4; j++) {
                const float *m0 = m + j * step, *m1 = m + (4 + j) * step, *m2 = m + (8 + j) * step,
                            *m3 = m + (12 + j) * step;
                float *s0 = s + (size_t)j * tw, *s1 = s + (size_t)(4 + j) * tw;
#pragma omp simd
                for (int t = 0; t < tw; t++) s0[t] = m0[t] + m1[t] + m2[t], s1[t] = m1[t] - m2[t] - m3[t];
            }
            for (int i = 0; i < 2 && 2 * ty + i < H; i++) {
                const float *a0 = s + (size_t)(4 * i) * tw, *a1 = a0 + tw, *a2 = a1 + tw, *a3 = a2 + tw;
                float *o = plane + (size_t)(2 * ty + i) * W;
                int full = W / 2; /* tiles with both columns inside */
#pragma omp simd
                for (int t = 0; t < full; t++) {
                    o[2 * t] = a0[t] + a1[t] + a2[t] + b;
                    o[2 * t + 1] = a1[t] - a2[t] - a3[t] + b;
                }
                if (full < tw) o[2 * full] = a0[full] + a1[full] + a2[full] + b;
            }
        }
    }
}

/* dM of one tile from its 2x2 of dout (e0 o0 / e1 o1: rows, then even and odd columns): A dY
 * down the columns (re, ro), then A along the rows; the 16 values go ξ-block by ξ-block. */
static inline __attribute__((always_inline)) void grad_tile(float *m, size_t step, float e0, float o0, float e1,
                                                            float o1)
{
    float re[4] = {e0, e0 + e1, e0 - e1, -e1};
    float ro[4] = {o0, o0 + o1, o0 - o1, -o1};
    for (int a = 0; a < 4; a++) {
        m[(size_t)(4 * a) * step] = re[a];
        m[(size_t)(4 * a + 1) * step] = re[a] + ro[a];
        m[(size_t)(4 * a + 2) * step] = re[a] - ro[a];
        m[(size_t)(4 * a + 3) * step] = -ro[a];
    }
}

/* The output transform's adjoint: dM[ξ][f][t] = (A dY Aᵀ)[ξ] for every channel and tile of one
 * image, dY the tile's 2x2 of dout, zero past the edge (where the forward clipped); rows of dM
 * ld apart. zero (at least W floats) is scratch. */
CPU_VECTOR_CLONES static void grad_transform(float *dM, const float *dout, int F, int H, int W, int ld, float *zero)
{
    int tw = (W + 1) / 2, th = (H + 1) / 2, full = W / 2; /* tiles with both columns inside */
    size_t step = xi_stride((size_t)F * ld);
    memset(zero, 0, (size_t)W * sizeof *zero);
    for (int f = 0; f < F; f++) {
        const float *plane = dout + (size_t)f * H * W;
        for (int ty = 0; ty < th; ty++) {
            const float *r0 = plane + (size_t)2 * ty * W, *r1 = 2 * ty + 1 < H ? r0 + W : zero;
            float *m = dM + (size_t)f * ld + (size_t)ty * tw;
#pragma omp simd
            for (int t = 0; t < full; t++) grad_tile(m + t, step, r0[2 * t], r0[2 * t + 1], r1[2 * t], r1[2 * t + 1]);
            if (full < tw) grad_tile(m + full, step, r0[2 * full], 0, r1[2 * full], 0);
        }
    }
}

void winograd_forward(float *out, const float *in, const float *U, const float *bias, int Cin, int Cout, int H,
                      int W, int images, float *scratch)
{
    int T = winograd_tiles(H, W), ld = T * images, tw = (W + 1) / 2;
    size_t plane = (size_t)H * W, vs = xi_stride((size_t)Cin * ld), ms = xi_stride((size_t)Cout * ld);
    float *V = scratch, *M = V + 16 * vs, *rows = M + 16 * ms;
    for (int n = 0; n < images; n++)
        input_transform(V + (size_t)n * T, in + (size_t)n * Cin * plane, Cin, H, W, ld, rows,
                        rows + 4 * (size_t)(2 * tw + 2));
    for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Cout, ld, Cin, 1.0f, U + (size_t)xi * Cout * Cin, Cin,
                    V + xi * vs, ld, 0.0f, M + xi * ms, ld);
    for (int n = 0; n < images; n++)
        output_transform(out + (size_t)n * Cout * plane, M + (size_t)n * T, bias, Cout, H, W, ld, rows);
}

void winograd_weight_grad(float *dU, const float *dout, const float *x, int C, int F, int H, int W, int images,
                          float *scratch)
{
    int T = winograd_tiles(H, W), ld = T * images, tw = (W + 1) / 2;
    size_t plane = (size_t)H * W, vs = xi_stride((size_t)C * ld), ms = xi_stride((size_t)F * ld);
    float *V = scratch, *dM = V + 16 * vs, *rows = dM + 16 * ms;
    float *eo = rows + 4 * (size_t)(2 * tw + 2);
    for (int n = 0; n < images; n++) {
        input_transform(V + (size_t)n * T, x + (size_t)n * C * plane, C, H, W, ld, rows, eo);
        grad_transform(dM + (size_t)n * T, dout + (size_t)n * F * plane, F, H, W, ld, eo);
    }
    for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, F, C, ld, 1.0f, dM + xi * ms, ld, V + xi * vs, ld, 1.0f,
                    dU + (size_t)xi * F * C, C);
}

void winograd_weight_grad_finish(float *dw, const float *dU, int F, int C)
{
    size_t step = (size_t)F * C;
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++) {
            const float *u = dU + (size_t)f * C + c;
            float t[3][4]; /* Gᵀ dU, then (Gᵀ dU) G: the adjoint of winograd_weights' G g Gᵀ */
            for (int j = 0; j < 4; j++) {
                float d0 = u[j * step], d1 = u[(4 + j) * step], d2 = u[(8 + j) * step], d3 = u[(12 + j) * step];
                t[0][j] = d0 + 0.5f * (d1 + d2);
                t[1][j] = 0.5f * (d1 - d2);
                t[2][j] = 0.5f * (d1 + d2) + d3;
            }
            float *k = dw + ((size_t)f * C + c) * 9;
            for (int i = 0; i < 3; i++) {
                k[i * 3] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
                k[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
                k[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
            }
        }
}
