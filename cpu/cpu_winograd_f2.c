/* cpu_winograd_f2.c — the transforms of Winograd F(2x2, 3x3) (Lavin & Gray 2015): 2x2 output
 * tiles from 4x4 input patches, 16 GEMMs (cpu_winograd.c). Bᵀ, G and Aᵀ only add, subtract and
 * halve, so the error stays at float rounding of the sums.
 *   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   Aᵀ = [1 1 1 0; 0 1 -1 -1] */
#include <string.h>

#include "cpu_simd.h"
#include "cpu_winograd_kernels.h"

/* The 4 rows of Bᵀ d (or the 4 columns of t B). */
#define BT(v0, v1, v2, v3, o0, o1, o2, o3) (o0 = v0 - v2, o1 = v1 + v2, o2 = v2 - v1, o3 = v1 - v3)

/* u (4x4) = G g Gᵀ for one 3x3 filter g. */
static void filter(float *u, const float *g)
{
    float t[4][3]; /* G g */
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = t[i][0];
        u[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[4 * i + 3] = t[i][2];
    }
}

/* k (3x3) = Gᵀ u G: the adjoint of filter(), from a 4x4 gradient u. */
static void filter_grad(float *k, const float *u)
{
    float t[3][4]; /* Gᵀ u */
    for (int j = 0; j < 4; j++) {
        float d0 = u[j], d1 = u[4 + j], d2 = u[8 + j], d3 = u[12 + j];
        t[0][j] = d0 + 0.5f * (d1 + d2);
        t[1][j] = 0.5f * (d1 - d2);
        t[2][j] = 0.5f * (d1 + d2) + d3;
    }
    for (int i = 0; i < 3; i++) {
        k[i * 3] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        k[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
        k[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
    }
}

/* Tile rows are transformed a whole row of tiles at a time, in loops over the tiles that the
 * compiler vectorises: the 4 input rows of a tile row are first combined down the columns
 * (Bᵀ d) into 4 padded rows (column p holds x = p - 1), then each tile's 4 columns p = 2t..2t+3
 * are combined along the row ((Bᵀ d) B). */

/* V[ξ][c][t] = (Bᵀ d B)[ξ] for every channel and tile of one image, rows of V ld apart (the
 * chunk's tiles), ξ blocks step apart; row (4 x (2 tw + 2)) and zero (W floats) are scratch. */
CPU_VECTOR_CLONES static void input_transform(float *V, const float *img, int C, int H, int W, int ld, size_t step,
                                              float *row, float *zero)
{
    int tw = (W + 1) / 2, th = (H + 1) / 2, wp = 2 * tw + 2;
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
CPU_VECTOR_CLONES static void output_transform(float *out, const float *M, const float *bias, int F, int H, int W,
                                               int ld, size_t step, float *s)
{
    int tw = (W + 1) / 2, th = (H + 1) / 2;
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
CPU_VECTOR_CLONES static void grad_transform(float *dM, const float *dout, int F, int H, int W, int ld, size_t step,
                                             float *zero)
{
    int tw = (W + 1) / 2, th = (H + 1) / 2, full = W / 2; /* tiles with both columns inside */
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

/* The kernel interface (cpu_winograd_kernels.h): image n of the chunk starts at column n T of
 * every row; the scratch holds the rows of one tile row and a zero row. */
static size_t row_floats(int W) { return 4 * (size_t)(W + 3); } /* 4 x (2 tw + 2) */
static size_t scratch(int Cin, int Cout, int H, int W)
{
    (void)Cin, (void)Cout, (void)H;
    return row_floats(W) + 8 * (size_t)((W + 1) / 2 + 1);
}
static size_t image_at(int n, int H, int W) { return (size_t)n * ((H + 1) / 2) * ((W + 1) / 2); }

static void input(float *V, const float *img, int C, int H, int W, int n, int ld, size_t step, float *s)
{
    input_transform(V + image_at(n, H, W), img, C, H, W, ld, step, s, s + row_floats(W));
}
static void output(float *out, const float *M, const float *bias, int F, int H, int W, int n, int ld, size_t step,
                   float *s)
{
    output_transform(out, M + image_at(n, H, W), bias, F, H, W, ld, step, s);
}
static void grad(float *dM, const float *dout, int F, int H, int W, int n, int ld, size_t step, float *s)
{
    grad_transform(dM + image_at(n, H, W), dout, F, H, W, ld, step, s);
}

const WinogradKernels winograd_f2 = {2, 0, scratch, input, output, grad, filter, filter_grad};
