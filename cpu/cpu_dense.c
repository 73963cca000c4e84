/* cpu_dense.c — affine (sgemm), relu, dropout, the losses and the L2 helpers on the CPU. */
#include <math.h>
#include <omp.h>

#include "cpu_gemm.h"
#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "dropout_mask.h"
#include "loss_rows.h"

void cpu_affine_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, int N, int D,
                        int M)
{
    (void)be;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) out[(size_t)n * M + m] = b[m];
    cpu_sgemm(false, false, N, M, D, 1.0f, x, D, w, M, 1.0f, out, M);
}

void cpu_affine_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, int N, int D, int M)
{
    (void)be;
    for (int m = 0; m < M; m++) db[m] = 0;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) db[m] += dout[(size_t)n * M + m];
    /* A small batch makes both products thin (N rows, or N deep), and two threads gain little
     * on each; side by side, one thread each (both GEMM libraries run single-threaded inside a
     * parallel region), the seed's affine500 backward at batch 50 took 18.5-19.8 ms instead of
     * 26.9 on OpenBLAS, and 13.4-13.9 instead of 15.2-17.8 on oneDNN (docs/benchmarks.md). */
#pragma omp parallel sections num_threads(2) if (dx && N <= 256 && omp_get_max_threads() > 1)
    {
#pragma omp section
        cpu_sgemm(true, false, D, M, N, 1.0f, x, D, dout, M, 0.0f, dw, M);
#pragma omp section
        if (dx) cpu_sgemm(false, true, N, D, M, 1.0f, dout, M, w, M, 0.0f, dx, D);
    }
}

void cpu_relu_forward(const Backend *be, float *out, const float *x, size_t n)
{
    (void)be;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void cpu_relu_backward(const Backend *be, float *dx, const float *dout, const float *x, size_t n)
{
    (void)be;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}

void cpu_scale(const Backend *be, float *out, const float *x, float alpha, size_t n)
{
    (void)be;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) out[i] = alpha * x[i];
}

void cpu_add(const Backend *be, float *out, const float *a, const float *b, size_t n)
{
    (void)be;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* Forward and backward are the same masked scaling; test mode is the identity. */
static void dropout_apply(float *y, const float *v, size_t n, const DropoutConfig *d)
{
    float scale = 1.0f / d->p_keep;
    uint64_t step = dropout_step(d);
#pragma omp parallel for if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = !d->train ? v[i] : dropout_keep(d->seed, step, i, d->p_keep) ? v[i] * scale : 0;
}

void cpu_dropout_forward(const Backend *be, float *out, const float *x, size_t n, const DropoutConfig *d)
{
    (void)be;
    dropout_apply(out, x, n, d);
}

void cpu_dropout_backward(const Backend *be, float *dx, const float *dout, size_t n, const DropoutConfig *d)
{
    (void)be;
    dropout_apply(dx, dout, n, d);
}

void cpu_softmax_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C)
{
    (void)be;
    double sum = 0;
    for (int n = 0; n < N; n++) sum += softmax_loss_row(dx + (size_t)n * C, x + (size_t)n * C, y[n], C, N);
    *loss = sum / N;
}

void cpu_softmax_smoothed_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N,
                               int C, float eps)
{
    (void)be;
    double sum = 0;
    for (int n = 0; n < N; n++)
        sum += softmax_smoothed_loss_row(dx + (size_t)n * C, x + (size_t)n * C, y[n], C, N, eps);
    *loss = sum / N;
}

void cpu_axpby(const Backend *be, float *y, float a, const float *x, float b, size_t n)
{
    (void)be;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) y[i] = a * x[i] + b * y[i];
}

void cpu_svm_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C)
{
    (void)be;
    double sum = 0;
    for (int n = 0; n < N; n++) sum += svm_loss_row(dx + (size_t)n * C, x + (size_t)n * C, y[n], C, N);
    *loss = sum / N;
}

void cpu_l2_penalty(const Backend *be, float *dw, double *loss, const float *w, float reg, size_t n)
{
    (void)be;
    double s = 0;
    if (!dw) { /* the update adds reg * w to the gradient (OptimConfig.l2): the loss's term alone */
#pragma omp parallel for simd reduction(+ : s) if (n > CPU_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) s += (double)w[i] * w[i];
    } else {
#pragma omp parallel for simd reduction(+ : s) if (n > CPU_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) {
            s += (double)w[i] * w[i];
            dw[i] += reg * w[i];
        }
    }
    *loss += 0.5 * reg * s;
}
