// k_loss.cu — softmax and SVM losses on the GPU: one thread per example runs the same row formula
// as the CPU (loss_rows.h); the host adds the per-example losses in order (deterministic).
#include "cuda_ops.h"

#include "loss_rows.h"

__global__ void softmax_loss_kernel(float *dx, double *row_loss, const float *x, const int *y, int N, int C)
{
    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x)
        row_loss[n] = softmax_loss_row(dx + (size_t)n * C, x + (size_t)n * C, y[n], C, N);
}

__global__ void svm_loss_kernel(float *dx, double *row_loss, const float *x, const int *y, int N, int C)
{
    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x)
        row_loss[n] = svm_loss_row(dx + (size_t)n * C, x + (size_t)n * C, y[n], C, N);
}

static double run_loss(bool svm, float *dx, const float *x, const int *y, int N, int C)
{
    double *row_loss = cuda_partials((size_t)N);
    if (svm) NNDL_LAUNCH(svm_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C);
    else NNDL_LAUNCH(softmax_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C);
    return cuda_sum_partials(row_loss, N) / N;
}

double cuda_softmax_loss(float *dx, const float *x, const int *y, int N, int C) { return run_loss(false, dx, x, y, N, C); }
double cuda_svm_loss(float *dx, const float *x, const int *y, int N, int C) { return run_loss(true, dx, x, y, N, C); }
