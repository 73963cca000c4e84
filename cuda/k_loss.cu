// k_loss.cu — softmax and SVM losses on the GPU: one thread per example runs the same row formula
// as the CPU (loss_rows.h); one device thread adds the per-example losses in order (deterministic)
// into the caller's loss slot, so the loss never leaves the device here.
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

__global__ void softmax_smoothed_loss_kernel(float *dx, double *row_loss, const float *x, const int *y, int N, int C,
                                             float eps)
{
    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x)
        row_loss[n] = softmax_smoothed_loss_row(dx + (size_t)n * C, x + (size_t)n * C, y[n], C, N, eps);
}

enum LossOp { LOSS_OP_SOFTMAX, LOSS_OP_SVM, LOSS_OP_SMOOTHED };

static void run_loss(const Backend *be, LossOp op, float *dx, double *loss, const float *x, const int *y, int N,
                     int C, float eps)
{
    double *row_loss = cuda_partials(be, (size_t)N);
    if (op == LOSS_OP_SVM) NNDL_LAUNCH(svm_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C);
    else if (op == LOSS_OP_SMOOTHED)
        NNDL_LAUNCH(softmax_smoothed_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C, eps);
    else NNDL_LAUNCH(softmax_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C);
    cuda_sum_into(loss, row_loss, N, 1, N, 0);
}

void cuda_softmax_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C)
{
    run_loss(be, LOSS_OP_SOFTMAX, dx, loss, x, y, N, C, 0);
}

void cuda_svm_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C)
{
    run_loss(be, LOSS_OP_SVM, dx, loss, x, y, N, C, 0);
}

void cuda_softmax_smoothed_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C,
                                float eps)
{
    run_loss(be, LOSS_OP_SMOOTHED, dx, loss, x, y, N, C, eps);
}
