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
 */
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

/* Tiles-major layout (cpu_winograd_kernels.h): every transform runs over the channels of one
 * tile, contiguous in V, M and dM, in loops the compiler vectorises whatever the map size (the
 * channels-major layout of F(2x2) vectorises over a row's tiles: 4 or fewer on 15x15 maps and
 * below at m = 4). The image is first copied channels-last into a zero-bordered buffer. */
static size_t tiles_w(int W) { return (size_t)(W + 3) / 4; }
static size_t padded_floats(int H, int W, int C) { return (4 * tiles_w(H) + 2) * (4 * tiles_w(W) + 2) * C; }

static size_t scratch(int Cin, int Cout, int H, int W)
{
    int C = Cin > Cout ? Cin : Cout;
    return padded_floats(H, W, C) + 40 * (size_t)C;
}

/* 8x8 transposes in generic vectors (GCC 12 and clang both have __builtin_shufflevector): 24
 * shuffles per 64 floats in the x86-64-v3 clone (unpack, shuffle, lane permute), where
 * element-wise copies cost a load and a store each. */
typedef float Vec8 __attribute__((vector_size(32)));

#define UNPACK_LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define UNPACK_HI(a, b) __builtin_shufflevector(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define PAIRS_LO(a, b) __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define PAIRS_HI(a, b) __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define HALVES_LO(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define HALVES_HI(a, b) __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15)

static inline __attribute__((always_inline)) void transpose8(Vec8 r[8])
{
    Vec8 t[8], u[8];
    for (int k = 0; k < 8; k += 2) t[k] = UNPACK_LO(r[k], r[k + 1]), t[k + 1] = UNPACK_HI(r[k], r[k + 1]);
    for (int k = 0; k < 8; k += 4) {
        u[k] = PAIRS_LO(t[k], t[k + 2]), u[k + 1] = PAIRS_HI(t[k], t[k + 2]);
        u[k + 2] = PAIRS_LO(t[k + 1], t[k + 3]), u[k + 3] = PAIRS_HI(t[k + 1], t[k + 3]);
    }
    for (int k = 0; k < 4; k++) r[k] = HALVES_LO(u[k], u[k + 4]), r[k + 4] = HALVES_HI(u[k], u[k + 4]);
}

/* pad (Hp, Wp, C) = img (C, H, W) channels-last at (y + 1, x + 1), zero elsewhere; blocks of 8
 * channels x 8 columns go through transpose8. */
CPU_VECTOR_CLONES static void pad_channels_last(float *pad, const float *img, int C, int H, int W)
{
    size_t Wp = 4 * tiles_w(W) + 2, Hp = 4 * tiles_w(H) + 2, row = Wp * C, plane = (size_t)H * W;
    for (size_t py = 0; py < Hp; py++) {
        float *r = pad + py * row;
        if (py == 0 || py > (size_t)H) {
            memset(r, 0, row * sizeof *r);
            continue;
        }
        memset(r, 0, (size_t)C * sizeof *r);
        memset(r + (size_t)(W + 1) * C, 0, (Wp - W - 1) * C * sizeof *r);
    }
    int C8 = C / 8 * 8, W8 = W / 8 * 8;
    for (int y = 0; y < H; y++) {
        float *dst = pad + ((size_t)(y + 1) * Wp + 1) * C;
        const float *src = img + (size_t)y * W;
        for (int c = 0; c < C8; c += 8) {
            for (int x = 0; x < W8; x += 8) {
                Vec8 r[8];
                for (int k = 0; k < 8; k++) memcpy(&r[k], src + (c + k) * plane + x, sizeof r[k]);
                transpose8(r);
                for (int k = 0; k < 8; k++) memcpy(dst + (size_t)(x + k) * C + c, &r[k], sizeof r[k]);
            }
            for (int x = W8; x < W; x++)
                for (int k = 0; k < 8; k++) dst[(size_t)x * C + c + k] = src[(c + k) * plane + x];
        }
        for (int c = C8; c < C; c++)
            for (int x = 0; x < W; x++) dst[(size_t)x * C + c] = src[c * plane + x];
    }
}

/* V[ξ][t][c] = (Bᵀ d B)[ξ] for every tile and channel of image n. */
CPU_VECTOR_CLONES static void input(float *V, const float *img, int C, int H, int W, int n, int ld, size_t step,
                                    float *s)
{
    (void)ld;
    int tw = (int)tiles_w(W), th = (int)tiles_w(H);
    size_t Wp = 4 * (size_t)tw + 2, rs = Wp * C; /* floats from one padded row to the next */
    float *pad = s, *d = s + padded_floats(H, W, C); /* d: Bᵀ d of one tile, row k column j at (6 k + j) C */
    pad_channels_last(pad, img, C, H, W);
    float *v0 = V + (size_t)n * th * tw * C;
    for (int ty = 0; ty < th; ty++)
        for (int tx = 0; tx < tw; tx++) {
            const float *p = pad + ((size_t)(4 * ty) * Wp + 4 * (size_t)tx) * C;
            for (int j = 0; j < 6; j++) { /* Bᵀ down column j */
                const float *q = p + (size_t)j * C;
                float *o = d + (size_t)j * C;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    BT6(q[c], q[rs + c], q[2 * rs + c], q[3 * rs + c], q[4 * rs + c], q[5 * rs + c], o[c], o[6 * C + c],
                        o[12 * C + c], o[18 * C + c], o[24 * C + c], o[30 * C + c]);
            }
            float *v = v0 + ((size_t)ty * tw + tx) * C;
            for (int k = 0; k < 6; k++) { /* B along row k */
                const float *r = d + (size_t)(6 * k) * C;
                float *o = v + (size_t)(6 * k) * step;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    BT6(r[c], r[C + c], r[2 * C + c], r[3 * C + c], r[4 * C + c], r[5 * C + c], o[c], o[step + c],
                        o[2 * step + c], o[3 * step + c], o[4 * step + c], o[5 * step + c]);
            }
        }
}

/* out (F, H, W) of image n: each tile's Aᵀ M A (+ bias[f]), edge tiles clipped. */
CPU_VECTOR_CLONES static void output(float *out, const float *M, const float *bias, int F, int H, int W, int n,
                                     int ld, size_t step, float *s)
{
    (void)ld;
    int tw = (int)tiles_w(W), th = (int)tiles_w(H);
    float *a = s, *y = s + 24 * (size_t)F; /* Aᵀ M: row i column j at (6 i + j) F; the tile: (4 i + l) F */
    const float *m0 = M + (size_t)n * th * tw * F;
    for (int ty = 0; ty < th; ty++)
        for (int tx = 0; tx < tw; tx++) {
            const float *m = m0 + ((size_t)ty * tw + tx) * F;
            for (int j = 0; j < 6; j++) { /* Aᵀ down column j */
                const float *q = m + (size_t)j * step;
                float *o = a + (size_t)j * F;
#pragma omp simd
                for (int f = 0; f < F; f++)
                    AT6(q[f], q[6 * step + f], q[12 * step + f], q[18 * step + f], q[24 * step + f], q[30 * step + f],
                        o[f], o[6 * F + f], o[12 * F + f], o[18 * F + f]);
            }
            for (int i = 0; i < 4; i++) { /* A along row i */
                const float *r = a + (size_t)(6 * i) * F;
                float *o = y + (size_t)(4 * i) * F;
#pragma omp simd
                for (int f = 0; f < F; f++)
                    AT6(r[f], r[F + f], r[2 * F + f], r[3 * F + f], r[4 * F + f], r[5 * F + f], o[f], o[F + f],
                        o[2 * F + f], o[3 * F + f]);
            }
            int rows = H - 4 * ty < 4 ? H - 4 * ty : 4, cols = W - 4 * tx < 4 ? W - 4 * tx : 4;
            int f8 = rows == 4 && cols == 4 ? F / 8 * 8 : 0; /* whole tiles: 8 channels x 2 rows at a time */
            for (int f = 0; f < f8; f += 8)
                for (int i = 0; i < 4; i += 2) {
                    Vec8 r[8];
                    for (int p = 0; p < 8; p++) memcpy(&r[p], y + (size_t)(4 * i + p) * F + f, sizeof r[p]);
                    transpose8(r); /* r[k]: channel f + k, rows i and i + 1 */
                    for (int k = 0; k < 8; k++) {
                        float b = bias ? bias[f + k] : 0, *dst = out + ((size_t)(f + k) * H + 4 * ty + i) * W + 4 * tx;
                        for (int l = 0; l < 4; l++) dst[l] = r[k][l] + b, dst[W + l] = r[k][4 + l] + b;
                    }
                }
            for (int f = f8; f < F; f++) {
                float b = bias ? bias[f] : 0;
                float *dst = out + ((size_t)f * H + 4 * ty) * W + 4 * tx;
                for (int i = 0; i < rows; i++)
                    for (int l = 0; l < cols; l++) dst[(size_t)i * W + l] = y[(size_t)(4 * i + l) * F + f] + b;
            }
        }
}

/* The output transform's adjoint: dM[ξ][t][f] = (A dY Aᵀ)[ξ] for every tile and channel of image
 * n, dY the tile's 4x4 of dout, zero past the edge (where the forward clipped). */
CPU_VECTOR_CLONES static void grad(float *dM, const float *dout, int F, int H, int W, int n, int ld, size_t step,
                                   float *s)
{
    (void)ld;
    int tw = (int)tiles_w(W), th = (int)tiles_w(H);
    float *y = s, *c = s + 16 * (size_t)F; /* dY: (4 i + l) F; A dY: row k column l at (4 k + l) F */
    float *m0 = dM + (size_t)n * th * tw * F;
    for (int ty = 0; ty < th; ty++)
        for (int tx = 0; tx < tw; tx++) {
            int rows = H - 4 * ty < 4 ? H - 4 * ty : 4, cols = W - 4 * tx < 4 ? W - 4 * tx : 4;
            int f8 = rows == 4 && cols == 4 ? F / 8 * 8 : 0; /* whole tiles: 8 channels x 2 rows at a time */
            if (rows < 4 || cols < 4) memset(y, 0, 16 * (size_t)F * sizeof *y);
            for (int f = 0; f < f8; f += 8)
                for (int i = 0; i < 4; i += 2) {
                    Vec8 r[8];
                    for (int k = 0; k < 8; k++) {
                        const float *src = dout + ((size_t)(f + k) * H + 4 * ty + i) * W + 4 * tx;
                        for (int l = 0; l < 4; l++) r[k][l] = src[l], r[k][4 + l] = src[W + l];
                    }
                    transpose8(r); /* r[p]: position 4 i + p, channels f .. f + 7 */
                    for (int p = 0; p < 8; p++) memcpy(y + (size_t)(4 * i + p) * F + f, &r[p], sizeof r[p]);
                }
            for (int f = f8; f < F; f++) {
                const float *src = dout + ((size_t)f * H + 4 * ty) * W + 4 * tx;
                for (int i = 0; i < rows; i++)
                    for (int l = 0; l < cols; l++) y[(size_t)(4 * i + l) * F + f] = src[(size_t)i * W + l];
            }
            for (int l = 0; l < 4; l++) { /* A down column l */
                const float *q = y + (size_t)l * F;
                float *o = c + (size_t)l * F;
#pragma omp simd
                for (int f = 0; f < F; f++)
                    A4(q[f], q[4 * F + f], q[8 * F + f], q[12 * F + f], o[f], o[4 * F + f], o[8 * F + f], o[12 * F + f],
                       o[16 * F + f], o[20 * F + f]);
            }
            float *m = m0 + ((size_t)ty * tw + tx) * F;
            for (int k = 0; k < 6; k++) { /* A along row k */
                const float *r = c + (size_t)(4 * k) * F;
                float *o = m + (size_t)(6 * k) * step;
#pragma omp simd
                for (int f = 0; f < F; f++)
                    A4(r[f], r[F + f], r[2 * F + f], r[3 * F + f], o[f], o[step + f], o[2 * step + f], o[3 * step + f],
                       o[4 * step + f], o[5 * step + f]);
            }
        }
}

const WinogradKernels winograd_f4 = {4, 1, scratch, input, output, grad, filter, filter_grad};
