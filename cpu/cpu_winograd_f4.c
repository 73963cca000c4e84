/* cpu_winograd_f4.c — the transforms of Winograd F(4x4, 3x3) (Lavin & Gray 2015, interpolation
 * points 0, ±1, ±2, ∞): 4x4 output tiles from 6x6 input patches, 36 GEMMs of 4x fewer
 * multiply-adds than im2col's (F(2x2, 3x3): 2.25x), and 36 transformed values per 16 outputs
 * (F(2x2): 16 per 4), so less memory traffic too. The price is accuracy: the transforms scale by
 * up to 8 and divide by 6 and 24, so the error is several times F(2x2)'s (measured against the
 * double reference in the cpu backend suite).
 *   Bᵀ = [4  0 -5  0 1 0]   G = [ 1/4     0    0 ]   Aᵀ = [1 1  1 1  1 0]
 *        [0 -4 -4  1 1 0]       [-1/6 -1/6 -1/6]        [0 1 -1 2 -2 0]
 *        [0  4 -4 -1 1 0]       [-1/6  1/6 -1/6]        [0 1  1 4  4 0]
 *        [0 -2 -1  2 1 0]       [1/24 1/12  1/6]        [0 1 -1 8 -8 1]
 *        [0  2 -1 -2 1 0]       [1/24 -1/12 1/6]
 *        [0  4  0 -5 0 1]       [   0    0    1]
 * The loops mirror cpu_winograd_f2.c's: a row of tiles at a time, vectorised over the tiles. */
#include <string.h>

#include "cpu_simd.h"
#include "cpu_winograd_kernels.h"

/* Bᵀ applied to 6 values (a column of the patch, or a row of Bᵀ d). */
#define BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                                     \
    (o0 = 4 * (d0) - 5 * (d2) + (d4), o1 = (d3) + (d4) - 4 * ((d1) + (d2)), o2 = 4 * ((d1) - (d2)) + (d4) - (d3), \
     o3 = 2 * ((d3) - (d1)) + (d4) - (d2), o4 = 2 * ((d1) - (d3)) + (d4) - (d2), o5 = 4 * (d1) - 5 * (d3) + (d5))

/* Aᵀ applied to 6 values. */
#define AT6(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                             \
    (y0 = (m0) + (m1) + (m2) + (m3) + (m4), y1 = (m1) - (m2) + 2 * ((m3) - (m4)), y2 = (m1) + (m2) + 4 * ((m3) + (m4)), \
     y3 = (m1) - (m2) + 8 * ((m3) - (m4)) + (m5))

/* A applied to 4 values (Aᵀ's adjoint). */
#define A4(y0, y1, y2, y3, m0, m1, m2, m3, m4, m5)                                                              \
    (m0 = (y0), m1 = (y0) + (y1) + (y2) + (y3), m2 = (y0) - (y1) + (y2) - (y3),                                \
     m3 = (y0) + 2 * (y1) + 4 * (y2) + 8 * (y3), m4 = (y0) - 2 * (y1) + 4 * (y2) - 8 * (y3), m5 = (y3))

/* G applied to 3 values, and Gᵀ to 6. */
#define G3(g0, g1, g2, u)                                                                                       \
    (u[0] = (g0) / 4, u[1] = -((g0) + (g1) + (g2)) / 6, u[2] = -((g0) - (g1) + (g2)) / 6,                       \
     u[3] = (g0) / 24 + (g1) / 12 + (g2) / 6, u[4] = (g0) / 24 - (g1) / 12 + (g2) / 6, u[5] = (g2))
#define GT6(u0, u1, u2, u3, u4, u5, k0, k1, k2)                                                                 \
    (k0 = (u0) / 4 - ((u1) + (u2)) / 6 + ((u3) + (u4)) / 24, k1 = ((u2) - (u1)) / 6 + ((u3) - (u4)) / 12,        \
     k2 = ((u3) + (u4) - (u1) - (u2)) / 6 + (u5))

/* u (6x6) = G g Gᵀ for one 3x3 filter g. */
static void filter(float *u, const float *g)
{
    float t[6][3], r[6]; /* G g, then one row of it through G */
    for (int j = 0; j < 3; j++) {
        G3(g[j], g[3 + j], g[6 + j], r);
        for (int i = 0; i < 6; i++) t[i][j] = r[i];
    }
    for (int i = 0; i < 6; i++) G3(t[i][0], t[i][1], t[i][2], (u + 6 * i));
}

/* k (3x3) = Gᵀ u G: the adjoint of filter(), from a 6x6 gradient u. */
static void filter_grad(float *k, const float *u)
{
    float t[3][6]; /* Gᵀ u */
    for (int j = 0; j < 6; j++)
        GT6(u[j], u[6 + j], u[12 + j], u[18 + j], u[24 + j], u[30 + j], t[0][j], t[1][j], t[2][j]);
    for (int i = 0; i < 3; i++)
        GT6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], k[3 * i], k[3 * i + 1], k[3 * i + 2]);
}

/* V[ξ][c][t] = (Bᵀ d B)[ξ] for every channel and tile of one image: the 6 input rows of a tile
 * row go down the columns (Bᵀ d) into 6 padded rows (column p holds x = p - 1, the padding stays
 * zero), then each tile's 6 columns p = 4t..4t+5 go along the row. row (6 x (4 tw + 2)) and zero
 * (W floats) are scratch. */
CPU_VECTOR_CLONES static void input_transform(float *V, const float *img, int C, int H, int W, int ld, size_t step,
                                              float *row, float *zero)
{
    int tw = (W + 3) / 4, th = (H + 3) / 4, wp = 4 * tw + 2;
    float *b[6];
    for (int i = 0; i < 6; i++) b[i] = row + (size_t)i * wp;
    memset(row, 0, 6 * (size_t)wp * sizeof *row);
    memset(zero, 0, (size_t)W * sizeof *zero);
    for (int c = 0; c < C; c++) {
        const float *plane = img + (size_t)c * H * W;
        for (int ty = 0; ty < th; ty++) {
            const float *d[6]; /* the tile row's 6 input rows, zero outside the image */
            for (int i = 0; i < 6; i++) {
                int y = 4 * ty - 1 + i;
                d[i] = y >= 0 && y < H ? plane + (size_t)y * W : zero;
            }
            float *b0 = b[0] + 1, *b1 = b[1] + 1, *b2 = b[2] + 1, *b3 = b[3] + 1, *b4 = b[4] + 1, *b5 = b[5] + 1;
#pragma omp simd
            for (int x = 0; x < W; x++)
                BT6(d[0][x], d[1][x], d[2][x], d[3][x], d[4][x], d[5][x], b0[x], b1[x], b2[x], b3[x], b4[x], b5[x]);
            for (int i = 0; i < 6; i++) {
                const float *r = b[i];
                float *v = V + (size_t)(6 * i) * step + (size_t)c * ld + (size_t)ty * tw;
#pragma omp simd
                for (int t = 0; t < tw; t++) {
                    const float *p = r + 4 * t;
                    BT6(p[0], p[1], p[2], p[3], p[4], p[5], v[t], v[step + t], v[2 * step + t], v[3 * step + t],
                        v[4 * step + t], v[5 * step + t]);
                }
            }
        }
    }
}

/* out[f] tiles = Aᵀ M[·][f][t] A (+ bias[f]); edge tiles clipped. s (24 x tw) is scratch: Aᵀ M
 * for a row of tiles, row i and column j of every tile at s + (6 i + j) tw. */
CPU_VECTOR_CLONES static void output_transform(float *out, const float *M, const float *bias, int F, int H, int W,
                                               int ld, size_t step, float *s)
{
    int tw = (W + 3) / 4, th = (H + 3) / 4, full = W / 4; /* tiles with all 4 columns inside */
    for (int f = 0; f < F; f++) {
        float b = bias ? bias[f] : 0;
        float *plane = out + (size_t)f * H * W;
        for (int ty = 0; ty < th; ty++) {
            const float *m = M + (size_t)f * ld + (size_t)ty * tw;
            for (int j = 0; j < 6; j++) { /* Aᵀ down column j of every tile */
                const float *m0 = m + j * step, *m1 = m + (6 + j) * step, *m2 = m + (12 + j) * step,
                            *m3 = m + (18 + j) * step, *m4 = m + (24 + j) * step, *m5 = m + (30 + j) * step;
                float *s0 = s + (size_t)j * tw, *s1 = s + (size_t)(6 + j) * tw, *s2 = s + (size_t)(12 + j) * tw,
                      *s3 = s + (size_t)(18 + j) * tw;
#pragma omp simd
                for (int t = 0; t < tw; t++) AT6(m0[t], m1[t], m2[t], m3[t], m4[t], m5[t], s0[t], s1[t], s2[t], s3[t]);
            }
            for (int i = 0; i < 4 && 4 * ty + i < H; i++) { /* Aᵀ along row i of every tile */
                const float *a = s + (size_t)(6 * i) * tw;
                float *o = plane + (size_t)(4 * ty + i) * W;
#pragma omp simd
                for (int t = 0; t < full; t++) {
                    float y0, y1, y2, y3;
                    AT6(a[t], a[tw + t], a[2 * tw + t], a[3 * tw + t], a[4 * tw + t], a[5 * tw + t], y0, y1, y2, y3);
                    o[4 * t] = y0 + b, o[4 * t + 1] = y1 + b, o[4 * t + 2] = y2 + b, o[4 * t + 3] = y3 + b;
                }
                if (full < tw) {
                    float y[4];
                    AT6(a[full], a[tw + full], a[2 * tw + full], a[3 * tw + full], a[4 * tw + full], a[5 * tw + full],
                        y[0], y[1], y[2], y[3]);
                    for (int x = 4 * full; x < W; x++) o[x] = y[x - 4 * full] + b;
                }
            }
        }
    }
}

/* dM of one tile from its 4x4 of dout (rows r[0..3], each read at columns 0..3): A down the
 * columns, then A along the rows; the 36 values go ξ-block by ξ-block. */
static inline __attribute__((always_inline)) void grad_tile(float *m, size_t step, const float y[4][4])
{
    float c[6][4]; /* A dY */
    for (int l = 0; l < 4; l++) A4(y[0][l], y[1][l], y[2][l], y[3][l], c[0][l], c[1][l], c[2][l], c[3][l], c[4][l], c[5][l]);
    for (int k = 0; k < 6; k++) {
        float *mk = m + (size_t)(6 * k) * step;
        A4(c[k][0], c[k][1], c[k][2], c[k][3], mk[0], mk[step], mk[2 * step], mk[3 * step], mk[4 * step], mk[5 * step]);
    }
}

/* The output transform's adjoint: dM[ξ][f][t] = (A dY Aᵀ)[ξ] for every channel and tile of one
 * image, dY the tile's 4x4 of dout, zero past the edge (where the forward clipped). zero (W
 * floats) is scratch. */
CPU_VECTOR_CLONES static void grad_transform(float *dM, const float *dout, int F, int H, int W, int ld, size_t step,
                                             float *zero)
{
    int tw = (W + 3) / 4, th = (H + 3) / 4, full = W / 4;
    memset(zero, 0, (size_t)W * sizeof *zero);
    for (int f = 0; f < F; f++) {
        const float *plane = dout + (size_t)f * H * W;
        for (int ty = 0; ty < th; ty++) {
            const float *r[4];
            for (int i = 0; i < 4; i++) r[i] = 4 * ty + i < H ? plane + (size_t)(4 * ty + i) * W : zero;
            float *m = dM + (size_t)f * ld + (size_t)ty * tw;
#pragma omp simd
            for (int t = 0; t < full; t++) {
                float y[4][4];
                for (int i = 0; i < 4; i++)
                    for (int l = 0; l < 4; l++) y[i][l] = r[i][4 * t + l];
                grad_tile(m + t, step, y);
            }
            if (full < tw) { /* the clipped last tile: columns past W are zero */
                float y[4][4] = {{0}};
                for (int i = 0; i < 4; i++)
                    for (int x = 4 * full; x < W; x++) y[i][x - 4 * full] = r[i][x];
                grad_tile(m + full, step, y);
            }
        }
    }
}

const WinogradKernels winograd_f4 = {4, input_transform, output_transform, grad_transform, filter, filter_grad};
