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
 * different images. Any stride, pad and non-square filter work since nothing assumes HH == WW.
 * 3x3 stride-1 pad-1 convolutions of 8+ channels take Winograd instead (below), in chunks of
 * images spread over the threads the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "cpu_gemm.h"
#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "cpu_winograd.h"
#include "error.h"

static size_t rows_k(const ConvGeom *g) { return (size_t)g->C * g->HH * g->WW; }
static size_t cols_size(const ConvGeom *g) { return (rows_k(g) + 1) * g->Ho * g->Wo; } /* with the ones */
static size_t dcols_size(const ConvGeom *g) { return rows_k(g) * g->Ho * g->Wo; }
static size_t wb_size(const ConvGeom *g) { return (size_t)g->F * (rows_k(g) + 1); } /* [W | b] */

/* Winograd (cpu_winograd.c) replaces the forward and the backward (dx and dW) of 3x3, stride-1,
 * pad-1 convolutions whose GEMMs are wide enough for its smaller GEMMs to pay: measured on the
 * 2-core development machine (`nndl bench conv`, docs/benchmarks.md), faster from 8 channels in
 * and out, slower with 3 input channels. Small maps gather several images into each GEMM
 * (winograd_chunk_images). */
static int winograd_geometry(const ConvGeom *g)
{
    return g->HH == 3 && g->WW == 3 && g->stride == 1 && g->pad == 1 && g->Ho == g->H && g->Wo == g->W;
}

static int use_winograd(const Backend *be, const ConvGeom *g)
{
    int algo = ((CpuContext *)be->ctx)->conv_algo;
    if (!winograd_geometry(g) || algo == CPU_CONV_IM2COL) return 0;
    return algo == CPU_CONV_WINOGRAD || algo == CPU_CONV_WINOGRAD4 || (g->C >= 8 && g->F >= 8);
}

/* The output tile: F(4x4, 3x3) unless F(2x2, 3x3) is forced. In the cifar-fast net's step
 * (batch 512, `nndl bench train --profile`) F(4x4) took the 7x7 layers from 48 to 32 ms forward
 * and 93-96 to 66 ms backward, the 15x15 ones 22-69 to 18-50 ms forward, and was level on the
 * 31x31 one (docs/benchmarks.md). */
static int wino_m(const Backend *be)
{
    return ((CpuContext *)be->ctx)->conv_algo == CPU_CONV_WINOGRAD ? 2 : 4;
}

int cpu_conv_winograd_tile(const Backend *be, const ConvGeom *g) { return use_winograd(be, g) ? wino_m(be) : 0; }

/* Images per Winograd chunk at most (no more than the batch). */
static int wino_images(int m, const ConvGeom *g)
{
    int most = winograd_chunk_images(m, g->H, g->W);
    return most < g->N ? most : g->N;
}

/* Images per chunk for this call: at most wino_images, and chunks spread evenly over the
 * threads (a multiple of them where the batch allows). */
static int wino_chunk(int m, const ConvGeom *g, int threads)
{
    int most = wino_images(m, g), chunks = (g->N + most - 1) / most;
    chunks = (chunks + threads - 1) / threads * threads;
    if (chunks > g->N) chunks = g->N;
    return (g->N + chunks - 1) / chunks;
}

/* Winograd's scratch per thread, enough for either tile size: V and M for a chunk of
 * wino_images images (the forward: C in, F out; dx: F in, C out; dW: x's V and dout's dM), then
 * a partial dU (P, F, C) and db (F); the shared U (P, F, C). Bounded: P (C + F) max(T, 256 + T)
 * floats for the chunk (9.4 MiB per thread for 128 -> 128 channels at 4x4 tiles). */
static size_t wino_dwb_size(const ConvGeom *g) { return (size_t)winograd_points(4) * g->F * g->C + g->F; }
static size_t wino_size(const ConvGeom *g)
{
    size_t f2 = winograd_scratch(2, g->C, g->F, g->H, g->W, wino_images(2, g)),
           f4 = winograd_scratch(4, g->C, g->F, g->H, g->W, wino_images(4, g));
    return (f2 > f4 ? f2 : f4) + wino_dwb_size(g);
}
static size_t wino_u_size(const ConvGeom *g) { return (size_t)winograd_points(4) * g->F * g->C; }

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

/* Winograd's forward over the batch, chunk by chunk across the threads; U is in `shared`. */
static void wino_forward(int m, float *out, const float *x, const float *U, const float *b, const ConvGeom *g,
                         float *ws, int threads)
{
    int B = wino_chunk(m, g, threads), chunks = (g->N + B - 1) / B;
    size_t plane = (size_t)g->H * g->W, slice = slice_size(g);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int k = 0; k < chunks; k++) {
        float *wv = ws + (size_t)omp_get_thread_num() * slice + cols_size(g) + dcols_size(g) + wb_size(g);
        int n = k * B, count = g->N - n < B ? g->N - n : B;
        winograd_forward(m, out + (size_t)n * g->F * plane, x + (size_t)n * g->C * plane, U, b, g->C, g->F,
                         g->H, g->W, count, wv);
    }
}

void cpu_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b,
                      const ConvGeom *g)
{
    int K = (int)rows_k(g), P = g->Ho * g->Wo, threads = conv_threads(be, g);
    float *ws = ((CpuContext *)be->ctx)->conv_ws;
    float *shared = ws + slice_size(g) - shared_size(g); /* in the first slice, read by every thread */
    if (use_winograd(be, g)) {
        int m = wino_m(be);
        winograd_weights(m, shared, w, g->F, g->C, 0);
        wino_forward(m, out, x, shared, b, g, ws, threads);
        return;
    }
    for (int f = 0; f < g->F; f++) {
        memcpy(shared + (size_t)f * (K + 1), w + (size_t)f * K, (size_t)K * sizeof *w);
        shared[(size_t)f * (K + 1) + K] = b[f];
    }
#pragma omp parallel num_threads(threads)
    {
        float *cols = ws + (size_t)omp_get_thread_num() * slice_size(g);
        fill_ones(cols, g);
#pragma omp for schedule(static)
        for (int n = 0; n < g->N; n++) {
            im2col(cols, x + (size_t)n * g->C * g->H * g->W, g);
            cpu_sgemm(false, false, g->F, P, K + 1, 1.0f, shared, K + 1, cols, P, 0.0f, out + (size_t)n * g->F * P, P);
        }
    }
}

/* im2col's weight gradient of one image into the thread's partial [dW | db] (cols' ones row
 * sums dout into db). */
static void im2col_dw_image(float *dwb_part, float *cols, const float *dout_n, const float *x_n, const ConvGeom *g)
{
    int K = (int)rows_k(g), P = g->Ho * g->Wo;
    im2col(cols, x_n, g);
    cpu_sgemm(false, true, g->F, K + 1, P, 1.0f, dout_n, P, cols, P, 1.0f, dwb_part, K + 1);
}

/* dw, db from the threads' partial [dW | db], summed in thread order: deterministic for a fixed
 * thread count. */
static void im2col_dw_sum(float *dw, float *db, const float *ws, int team, const ConvGeom *g)
{
    int K = (int)rows_k(g);
    memset(dw, 0, (size_t)g->F * K * sizeof *dw);
    memset(db, 0, (size_t)g->F * sizeof *db);
    for (int t = 0; t < team; t++) {
        const float *part = ws + (size_t)t * slice_size(g) + cols_size(g) + dcols_size(g);
        for (int f = 0; f < g->F; f++) {
            const float *row = part + (size_t)f * (K + 1);
            for (int k = 0; k < K; k++) dw[(size_t)f * K + k] += row[k];
            db[f] += row[K];
        }
    }
}

/* Winograd's dW and db of one chunk into the thread's partial dU and db. */
static void wino_dw_chunk(int m, float *dU, const float *dout_n, const float *x_n, int count, const ConvGeom *g,
                          float *wv)
{
    size_t plane = (size_t)g->H * g->W;
    float *dbp = dU + (size_t)winograd_points(m) * g->F * g->C;
    winograd_weight_grad(m, dU, dout_n, x_n, g->C, g->F, g->H, g->W, count, wv);
    for (int i = 0; i < count; i++)
        for (int f = 0; f < g->F; f++) {
            const float *d = dout_n + ((size_t)i * g->F + f) * plane;
            float s = 0;
            for (size_t p = 0; p < plane; p++) s += d[p];
            dbp[f] += s;
        }
}

/* Winograd's backward, chunk by chunk: dx through the turned filters' U (in `shared`) when dx is
 * wanted, and dW by Winograd: partial dU and db per thread, summed in thread order and turned
 * into dw. (dW by Winograd pays also where the output has 4x the input's channels: 32 -> 128 on
 * 15x15 maps, 160 -> 102-113 ms per cifar-fast step at F(4x4); at F(2x2) it ran ~20% slower
 * than im2col's dW there.) */
static void wino_backward(int m, float *dx, float *dw, float *db, const float *dout, const float *x,
                          const float *U, const ConvGeom *g, float *ws, int threads)
{
    int B = wino_chunk(m, g, threads), chunks = (g->N + B - 1) / B, team = 1;
    size_t plane = (size_t)g->H * g->W, slice = slice_size(g);
    size_t at = cols_size(g) + dcols_size(g) + wb_size(g), part = at + wino_size(g) - wino_dwb_size(g);
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        team = omp_get_num_threads();
        float *mine = ws + (size_t)omp_get_thread_num() * slice, *wv = mine + at, *dU = mine + part;
        memset(dU, 0, wino_dwb_size(g) * sizeof *dU);
#pragma omp for schedule(static)
        for (int k = 0; k < chunks; k++) {
            int n = k * B, count = g->N - n < B ? g->N - n : B;
            const float *dout_n = dout + (size_t)n * g->F * plane, *x_n = x + (size_t)n * g->C * plane;
            wino_dw_chunk(m, dU, dout_n, x_n, count, g, wv);
            if (dx) /* dx = dout convolved with the turned filters, F channels in, C out */
                winograd_forward(m, dx + (size_t)n * g->C * plane, dout_n, U, NULL, g->F, g->C, g->H, g->W, count,
                                 wv);
        }
    }
    float *sum = ws + part; /* thread 0's partials collect the others' */
    for (int t = 1; t < team; t++) {
        const float *p = ws + (size_t)t * slice + part;
        for (size_t i = 0; i < wino_dwb_size(g); i++) sum[i] += p[i];
    }
    winograd_weight_grad_finish(m, dw, sum, g->F, g->C);
    memcpy(db, sum + (size_t)winograd_points(m) * g->F * g->C, (size_t)g->F * sizeof *db);
}

void cpu_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                       const float *w, const ConvGeom *g)
{
    int K = (int)rows_k(g), P = g->Ho * g->Wo, threads = conv_threads(be, g);
    float *ws = ((CpuContext *)be->ctx)->conv_ws;
    size_t slice = slice_size(g);
    if (use_winograd(be, g)) {
        float *shared = ws + slice - shared_size(g);
        int m = wino_m(be);
        if (dx) winograd_weights(m, shared, w, g->F, g->C, 1);
        wino_backward(m, dx, dw, db, dout, x, shared, g, ws, threads);
        return;
    }
    int team = 1; /* the threads that really ran (OpenMP may give fewer than asked) */
#pragma omp parallel num_threads(threads)
    {
#pragma omp single
        team = omp_get_num_threads();
        float *cols = ws + (size_t)omp_get_thread_num() * slice, *dcols = cols + cols_size(g);
        float *dwb_part = dcols + dcols_size(g);
        memset(dwb_part, 0, wb_size(g) * sizeof *dwb_part);
        fill_ones(cols, g);
#pragma omp for schedule(static)
        for (int n = 0; n < g->N; n++) {
            const float *dout_n = dout + (size_t)n * g->F * P;
            size_t img = (size_t)n * g->C * g->H * g->W;
            im2col_dw_image(dwb_part, cols, dout_n, x + img, g);
            if (!dx) continue;
            cpu_sgemm(true, false, K, P, g->F, 1.0f, w, K, dout_n, P, 0.0f, dcols, P);
            col2im(dx + img, dcols, g);
        }
    }
    im2col_dw_sum(dw, db, ws, team, g);
}
