/* cpu_conv.c — convolution as im2col + sgemm, one image at a time, images spread over threads.
 *
 * For image n, cols (K, P) holds every receptive field as a column, K = C*HH*WW rows indexed
 * (c, di, dj) and P = Ho*Wo columns indexed (i, j); then out_n (F, P) = W (F, K) · cols. Backward
 * reuses the same cols: dW += dout_n · colsᵀ, dcols = Wᵀ · dout_n, and col2im scatter-adds dcols
 * into dx_n. Each thread owns a slice of the workspace (cols, dcols, and partial dW, db that are
 * summed at the end); the workspace belongs to the backend's context, reserved for the model's
 * largest layer at the thread count of that moment, and checked against the thread count of
 * each call: a raised thread count grows it (or, when memory is short, runs on as many threads
 * as it has slices for) instead of writing past its end. The sgemm inside the parallel loop runs single-threaded (OpenBLAS's
 * OpenMP build), so the two cores work on different images. Any stride, pad and non-square
 * filter work since nothing assumes HH == WW. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "error.h"

static size_t cols_size(const ConvGeom *g) { return (size_t)g->C * g->HH * g->WW * g->Ho * g->Wo; }

/* Per-thread slice: cols, dcols, dW partial (F*K), db partial (F). */
static size_t slice_size(const ConvGeom *g)
{
    size_t K = (size_t)g->C * g->HH * g->WW;
    return 2 * cols_size(g) + (size_t)g->F * K + g->F;
}

/* Grows the workspace to `threads` slices of the largest reserved slice. */
static int grow(const Backend *be, int threads)
{
    CpuContext *c = be->ctx;
    size_t want = (size_t)threads * c->conv_slice;
    if (want <= c->conv_ws_floats) return NNDL_OK;
    float *ws = cpu_scratch_alloc(be, want * sizeof *ws);
    if (!ws) return nndl_fail("out of memory for the cpu conv workspace (%zu floats)", want);
    free(c->conv_ws);
    c->conv_ws = ws, c->conv_ws_floats = want;
    return NNDL_OK;
}

int cpu_conv_reserve(const Backend *be, const ConvGeom *g)
{
    CpuContext *c = be->ctx;
    if (slice_size(g) > c->conv_slice) c->conv_slice = slice_size(g);
    return grow(be, omp_get_max_threads());
}

/* The threads this call runs on: all OpenMP would use if the workspace holds (or can grow to)
 * a slice for each, else as many as it holds. */
static int conv_threads(const Backend *be, const ConvGeom *g)
{
    CpuContext *c = be->ctx;
    int threads = omp_get_max_threads();
    if ((size_t)threads * slice_size(g) <= c->conv_ws_floats) return threads;
    if (slice_size(g) > c->conv_slice) c->conv_slice = slice_size(g);
    if (grow(be, threads) == NNDL_OK) return threads;
    threads = (int)(c->conv_ws_floats / slice_size(g));
    if (threads == 0) {
        fprintf(stderr, "cpu conv: no workspace (conv_reserve failed or was not called)\n");
        abort();
    }
    return threads;
}

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
                    float *out = row + (size_t)i * g->Wo;
                    if (xi < 0 || xi >= g->H) {
                        memset(out, 0, (size_t)g->Wo * sizeof *out);
                        continue;
                    }
                    const float *src = plane + (size_t)xi * g->W;
                    for (int j = 0; j < g->Wo; j++) {
                        int xj = j * g->stride + dj - g->pad;
                        out[j] = xj >= 0 && xj < g->W ? src[xj] : 0;
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

void cpu_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b,
                      const ConvGeom *g)
{
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo, threads = conv_threads(be, g);
    float *ws = ((CpuContext *)be->ctx)->conv_ws;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int n = 0; n < g->N; n++) {
        float *cols = ws + (size_t)omp_get_thread_num() * slice_size(g);
        float *out_n = out + (size_t)n * g->F * P;
        im2col(cols, x + (size_t)n * g->C * g->H * g->W, g);
        for (int f = 0; f < g->F; f++)
            for (int p = 0; p < P; p++) out_n[(size_t)f * P + p] = b[f];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->F, P, K, 1.0f, w, K, cols, P,
                    1.0f, out_n, P);
    }
}

void cpu_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, const ConvGeom *g)
{
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo, threads = conv_threads(be, g);
    float *ws = ((CpuContext *)be->ctx)->conv_ws;
    size_t slice = slice_size(g), nw = (size_t)g->F * K;
    int team = 1; /* the threads that really ran (OpenMP may give fewer than asked) */
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        team = omp_get_num_threads();
        float *cols = ws + (size_t)omp_get_thread_num() * slice, *dcols = cols + cols_size(g);
        float *dw_part = dcols + cols_size(g), *db_part = dw_part + nw;
        memset(dw_part, 0, (nw + g->F) * sizeof *dw_part);
#pragma omp for schedule(static)
        for (int n = 0; n < g->N; n++) {
            const float *dout_n = dout + (size_t)n * g->F * P;
            size_t img = (size_t)n * g->C * g->H * g->W;
            for (int f = 0; f < g->F; f++) {
                float s = 0;
                for (int p = 0; p < P; p++) s += dout_n[(size_t)f * P + p];
                db_part[f] += s;
            }
            im2col(cols, x + img, g);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->F, K, P, 1.0f, dout_n, P,
                        cols, P, 1.0f, dw_part, K);
            if (!dx) continue;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, g->F, 1.0f, w, K, dout_n,
                        P, 0.0f, dcols, P);
            col2im(dx + img, dcols, g);
        }
    }
    /* partial sums in thread order: deterministic for a fixed thread count */
    memset(dw, 0, nw * sizeof *dw);
    memset(db, 0, (size_t)g->F * sizeof *db);
    for (int t = 0; t < team; t++) {
        const float *dw_part = ws + (size_t)t * slice + 2 * cols_size(g), *db_part = dw_part + nw;
        for (size_t i = 0; i < nw; i++) dw[i] += dw_part[i];
        for (int f = 0; f < g->F; f++) db[f] += db_part[f];
    }
}
