/* ref_spatial.c — the seed's conv_*_naive and max_pool_*_naive loops (double precision). */
#include <string.h>

#include "reference.h"

/* Input value at padded coordinates (i, j), zero outside the image. */
static double padded(const double *plane, const ConvGeom *g, int i, int j)
{
    i -= g->pad;
    j -= g->pad;
    return (i < 0 || j < 0 || i >= g->H || j >= g->W) ? 0 : plane[(size_t)i * g->W + j];
}

void ref_conv_forward_naive(double *out, const double *x, const double *w, const double *b,
                            const ConvGeom *g)
{
    for (int n = 0; n < g->N; n++)
        for (int f = 0; f < g->F; f++)
            for (int i = 0; i < g->Ho; i++)
                for (int j = 0; j < g->Wo; j++) {
                    double s = b[f];
                    for (int c = 0; c < g->C; c++) {
                        const double *plane = x + ((size_t)n * g->C + c) * g->H * g->W;
                        const double *filt = w + ((size_t)f * g->C + c) * g->HH * g->WW;
                        for (int di = 0; di < g->HH; di++)
                            for (int dj = 0; dj < g->WW; dj++)
                                s += padded(plane, g, i * g->stride + di, j * g->stride + dj) *
                                     filt[di * g->WW + dj];
                    }
                    out[(((size_t)n * g->F + f) * g->Ho + i) * g->Wo + j] = s;
                }
}

void ref_conv_backward_naive(double *dx, double *dw, double *db, const double *dout,
                             const double *x, const double *w, const ConvGeom *g)
{
    memset(dx, 0, conv_in_size(g) * sizeof *dx);
    memset(dw, 0, conv_w_size(g) * sizeof *dw);
    memset(db, 0, (size_t)g->F * sizeof *db);
    for (int n = 0; n < g->N; n++)
        for (int f = 0; f < g->F; f++)
            for (int i = 0; i < g->Ho; i++)
                for (int j = 0; j < g->Wo; j++) {
                    double d = dout[(((size_t)n * g->F + f) * g->Ho + i) * g->Wo + j];
                    db[f] += d;
                    for (int c = 0; c < g->C; c++)
                        for (int di = 0; di < g->HH; di++)
                            for (int dj = 0; dj < g->WW; dj++) {
                                int xi = i * g->stride + di - g->pad;
                                int xj = j * g->stride + dj - g->pad;
                                if (xi < 0 || xj < 0 || xi >= g->H || xj >= g->W) continue;
                                size_t xo = (((size_t)n * g->C + c) * g->H + xi) * g->W + xj;
                                size_t wo = (((size_t)f * g->C + c) * g->HH + di) * g->WW + dj;
                                dw[wo] += x[xo] * d;
                                dx[xo] += w[wo] * d;
                            }
                }
}

static double window_max(const double *plane, const PoolGeom *g, int i, int j)
{
    double m = plane[(size_t)i * g->stride * g->W + j * g->stride];
    for (int di = 0; di < g->ph; di++)
        for (int dj = 0; dj < g->pw; dj++) {
            double v = plane[(size_t)(i * g->stride + di) * g->W + j * g->stride + dj];
            if (v > m) m = v;
        }
    return m;
}

void ref_max_pool_forward_naive(double *out, const double *x, const PoolGeom *g)
{
    for (int nc = 0; nc < g->N * g->C; nc++)
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++)
                out[((size_t)nc * g->Ho + i) * g->Wo + j] =
                    window_max(x + (size_t)nc * g->H * g->W, g, i, j);
}

void ref_max_pool_backward_naive(double *dx, const double *dout, const double *x,
                                 const PoolGeom *g)
{
    memset(dx, 0, pool_in_size(g) * sizeof *dx);
    for (int nc = 0; nc < g->N * g->C; nc++) {
        const double *plane = x + (size_t)nc * g->H * g->W;
        double *dplane = dx + (size_t)nc * g->H * g->W;
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++) {
                double m = window_max(plane, g, i, j);
                double d = dout[((size_t)nc * g->Ho + i) * g->Wo + j];
                for (int di = 0; di < g->ph; di++)
                    for (int dj = 0; dj < g->pw; dj++) {
                        size_t o = (size_t)(i * g->stride + di) * g->W + j * g->stride + dj;
                        if (plane[o] == m) dplane[o] += d;
                    }
            }
    }
}

void ref_global_avg_pool_forward(double *out, const double *x, size_t rows, int S)
{
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (int k = 0; k < S; k++) s += x[r * S + k];
        out[r] = s / S;
    }
}

void ref_global_avg_pool_backward(double *dx, const double *dout, size_t rows, int S)
{
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k < S; k++) dx[r * S + k] = dout[r] / S;
}
