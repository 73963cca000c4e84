/* cpu_conv.c — convolution as im2col + sgemm, one image at a time.
 *
 * For image n, cols (K, P) holds every receptive field as a column, K = C*HH*WW rows indexed
 * (c, di, dj) and P = Ho*Wo columns indexed (i, j); then out_n (F, P) = W (F, K) · cols. Backward
 * reuses the same cols: dW += dout_n · colsᵀ, dcols = Wᵀ · dout_n, and col2im scatter-adds dcols
 * into dx_n. Per-image columns keep the workspace small (2*K*P floats) at any batch size, and
 * any stride, pad and non-square filter work since nothing assumes HH == WW. */
#include <cblas.h>
#include <string.h>

#include "cpu_ops.h"

static size_t cols_size(const ConvGeom *g)
{
    return (size_t)g->C * g->HH * g->WW * g->Ho * g->Wo;
}

size_t cpu_conv_workspace(const ConvGeom *g) { return 2 * cols_size(g); }

static void im2col(float *cols, const float *img, const ConvGeom *g)
{
    int P = g->Ho * g->Wo;
    for (int c = 0; c < g->C; c++)
        for (int di = 0; di < g->HH; di++)
            for (int dj = 0; dj < g->WW; dj++) {
                float *row = cols + (((size_t)c * g->HH + di) * g->WW + dj) * P;
                const float *plane = img + (size_t)c * g->H * g->W;
                for (int i = 0; i < g->Ho; i++) {
                    int xi = i * g->stride + di - g->pad;
                    for (int j = 0; j < g->Wo; j++) {
                        int xj = j * g->stride + dj - g->pad;
                        int inside = xi >= 0 && xi < g->H && xj >= 0 && xj < g->W;
                        row[i * g->Wo + j] = inside ? plane[(size_t)xi * g->W + xj] : 0;
                    }
                }
            }
}

/* Adjoint of im2col: every column entry adds back into the pixel it was copied from. */
static void col2im(float *img, const float *cols, const ConvGeom *g)
{
    int P = g->Ho * g->Wo;
    memset(img, 0, (size_t)g->C * g->H * g->W * sizeof *img);
    for (int c = 0; c < g->C; c++)
        for (int di = 0; di < g->HH; di++)
            for (int dj = 0; dj < g->WW; dj++) {
                const float *row = cols + (((size_t)c * g->HH + di) * g->WW + dj) * P;
                float *plane = img + (size_t)c * g->H * g->W;
                for (int i = 0; i < g->Ho; i++) {
                    int xi = i * g->stride + di - g->pad;
                    if (xi < 0 || xi >= g->H) continue;
                    for (int j = 0; j < g->Wo; j++) {
                        int xj = j * g->stride + dj - g->pad;
                        if (xj >= 0 && xj < g->W) plane[(size_t)xi * g->W + xj] += row[i * g->Wo + j];
                    }
                }
            }
}

void cpu_conv_forward(float *out, const float *x, const float *w, const float *b,
                      const ConvGeom *g, float *ws)
{
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo;
    for (int n = 0; n < g->N; n++) {
        float *out_n = out + (size_t)n * g->F * P;
        im2col(ws, x + (size_t)n * g->C * g->H * g->W, g);
        for (int f = 0; f < g->F; f++)
            for (int p = 0; p < P; p++) out_n[(size_t)f * P + p] = b[f];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->F, P, K, 1.0f, w, K, ws, P,
                    1.0f, out_n, P);
    }
}

void cpu_conv_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, const ConvGeom *g, float *ws)
{
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo;
    float *cols = ws, *dcols = ws + cols_size(g);
    memset(db, 0, (size_t)g->F * sizeof *db);
    for (int n = 0; n < g->N; n++) {
        const float *dout_n = dout + (size_t)n * g->F * P;
        size_t img = (size_t)n * g->C * g->H * g->W;
        for (int f = 0; f < g->F; f++)
            for (int p = 0; p < P; p++) db[f] += dout_n[(size_t)f * P + p];
        im2col(cols, x + img, g);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->F, K, P, 1.0f, dout_n, P, cols,
                    P, n ? 1.0f : 0.0f, dw, K);
        if (!dx) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, g->F, 1.0f, w, K, dout_n, P,
                    0.0f, dcols, P);
        col2im(dx + img, dcols, g);
    }
}
