/* cpu_conv.c — convolution as im2col + sgemm, one image at a time, images spread over threads.
 *
 * For image n, cols (K+1, P) holds every receptive field as a column, K = C*HH*WW rows indexed
 * (c, di, dj) and P = Ho*Wo columns indexed (i, j), and a last row of ones; then out_n (F, P) =
 * [W | b] (F, K+1) · cols: the bias rides in the GEMM instead of a pass of its own over out.
 * Backward reuses the same cols: [dW | db] += dout_n · colsᵀ (the row of ones sums dout into db),
 * dcols = Wᵀ · dout_n, and col2im scatter-adds dcols into dx_n. Each thread owns a slice of the
 * workspace (cols, dcols, a partial [dW | db] summed at the end, and room for [W | b], which the
 * forward builds once in the first slice); the workspace belongs to the backend's context,
 * reserved for the model's largest layer at the thread count of that moment, and checked against
 * the thread count of each call: a raised thread count grows it (or, when memory is short, runs on
 * as many threads as it has slices for) instead of writing past its end. The sgemm inside the
 * parallel loop runs single-threaded (OpenBLAS's OpenMP build), so the two cores work on
 * different images. Any stride, pad and non-square filter work since nothing assumes HH == WW. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "cpu_winograd.h"
#include "error.h"

static size_t rows_k(const ConvGeom *g) { return (size_t)g->C * g->HH * g->WW; }
static size_t cols_size(const ConvGeom *g) { return (rows_k(g) + 1) * g->Ho * g->Wo; } /* with the ones */
static size_t dcols_size(const ConvGeom *g) { return rows_k(g) * g->Ho * g->Wo; }
static size_t wb_size(const ConvGeom *g) { return (size_t)g->F * (rows_k(g) + 1); } /* [W | b] */

/* Winograd F(2x2, 3x3) (cpu_winograd.c) replaces the forward and the dx product of 3x3, stride-1,
 * pad-1 convolutions whose GEMMs are wide enough for its 16 smaller GEMMs to pay: measured on
 * the 2-core development machine (`nndl bench conv`, docs/benchmarks.md), faster from 8 channels
 * in and out (1.1x to 1.7x), slower with 3 input channels (0.5x). The
 * weight gradient stays im2col + sgemm. */
static int winograd_geometry(const ConvGeom *g)
{
    return g->HH == 3 && g->WW == 3 && g->stride == 1 && g->pad == 1 && g->Ho == g->H && g->Wo == g->W;
}

static int use_winograd(const Backend *be, const ConvGeom *g)
{
    int algo = ((CpuContext *)be->ctx)->conv_algo;
    if (!winograd_geometry(g) || algo == CPU_CONV_IM2COL) return 0;
    return algo == CPU_CONV_WINOGRAD || (g->C >= 8 && g->F >= 8);
}

int cpu_conv_uses_winograd(const Backend *be, const ConvGeom *g) { return use_winograd(be, g); }

/* Winograd's scratch per thread: V (16, Cin, T) and M (16, Cout, T) for the forward (C in, F out)
 * or the dx product (F in, C out); the shared U (16, F, C). */
static size_t wino_size(const ConvGeom *g) { return winograd_scratch(g->C, g->F, g->H, g->W); }
static size_t wino_u_size(const ConvGeom *g) { return 16 * (size_t)g->F * g->C; }

/* Per-thread slice: cols, dcols, partial [dW | db], Winograd's V and M, then room shared by all
 * threads (used in the first slice only): [W | b] or Winograd's U. Every slice has it, so the
 * thread-count bookkeeping needs one size. */
static size_t shared_size(const ConvGeom *g)
{
    size_t u = winograd_geometry(g) ? wino_u_size(g) : 0;
    return wb_size(g) > u ? wb_size(g) : u;
}
static size_t slice_size(const ConvGeom *g)
{
    return cols_size(g) + dcols_size(g) + wb_size(g) + (winograd_geometry(g) ? wino_size(g) : 0) + shared_size(g);
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

/* cols' last row: the ones that multiply the bias column. */
static void fill_ones(float *cols, const ConvGeom *g)
{
    float *ones = cols + rows_k(g) * g->Ho * g->Wo;
    for (int p = 0; p < g->Ho * g->Wo; p++) ones[p] = 1;
}

void cpu_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b,
                      const ConvGeom *g)
{
    int K = (int)rows_k(g), P = g->Ho * g->Wo, threads = conv_threads(be, g), wino = use_winograd(be, g);
    float *ws = ((CpuContext *)be->ctx)->conv_ws;
    float *shared = ws + slice_size(g) - shared_size(g); /* in the first slice, read by every thread */
    if (wino) {
        winograd_weights(shared, w, g->F, g->C, 0);
    } else {
        for (int f = 0; f < g->F; f++) {
            memcpy(shared + (size_t)f * (K + 1), w + (size_t)f * K, (size_t)K * sizeof *w);
            shared[(size_t)f * (K + 1) + K] = b[f];
        }
    }
#pragma omp parallel num_threads(threads)
    {
        float *cols = ws + (size_t)omp_get_thread_num() * slice_size(g);
        float *wv = cols + cols_size(g) + dcols_size(g) + wb_size(g);
        if (!wino) fill_ones(cols, g);
#pragma omp for schedule(static)
        for (int n = 0; n < g->N; n++) {
            const float *x_n = x + (size_t)n * g->C * g->H * g->W;
            float *out_n = out + (size_t)n * g->F * P;
            if (wino) {
                winograd_image(out_n, x_n, shared, b, g->C, g->F, g->H, g->W, wv);
                continue;
            }
            im2col(cols, x_n, g);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->F, P, K + 1, 1.0f, shared, K + 1, cols, P,
                        0.0f, out_n, P);
        }
    }
}

void cpu_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, const ConvGeom *g)
{
    int K = (int)rows_k(g), P = g->Ho * g->Wo, threads = conv_threads(be, g), wino = dx && use_winograd(be, g);
    float *ws = ((CpuContext *)be->ctx)->conv_ws;
    size_t slice = slice_size(g), nwb = wb_size(g);
    float *shared = ws + slice - shared_size(g);
    if (wino) winograd_weights(shared, w, g->F, g->C, 1);
    int team = 1; /* the threads that really ran (OpenMP may give fewer than asked) */
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        team = omp_get_num_threads();
        float *cols = ws + (size_t)omp_get_thread_num() * slice, *dcols = cols + cols_size(g);
        float *dwb_part = dcols + dcols_size(g), *wv = dwb_part + nwb;
        memset(dwb_part, 0, nwb * sizeof *dwb_part);
        fill_ones(cols, g);
#pragma omp for schedule(static)
        for (int n = 0; n < g->N; n++) {
            const float *dout_n = dout + (size_t)n * g->F * P;
            size_t img = (size_t)n * g->C * g->H * g->W;
            im2col(cols, x + img, g);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->F, K + 1, P, 1.0f, dout_n, P,
                        cols, P, 1.0f, dwb_part, K + 1);
            if (!dx) continue;
            if (wino) { /* dx = dout convolved with the turned filters, F channels in, C out */
                winograd_image(dx + img, dout_n, shared, NULL, g->F, g->C, g->H, g->W, wv);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, g->F, 1.0f, w, K, dout_n,
                        P, 0.0f, dcols, P);
            col2im(dx + img, dcols, g);
        }
    }
    /* partial sums in thread order: deterministic for a fixed thread count */
    memset(dw, 0, (size_t)g->F * K * sizeof *dw);
    memset(db, 0, (size_t)g->F * sizeof *db);
    for (int t = 0; t < team; t++) {
        const float *part = ws + (size_t)t * slice + cols_size(g) + dcols_size(g);
        for (int f = 0; f < g->F; f++) {
            const float *row = part + (size_t)f * (K + 1);
            for (int k = 0; k < K; k++) dw[(size_t)f * K + k] += row[k];
            db[f] += row[K];
        }
    }
}
