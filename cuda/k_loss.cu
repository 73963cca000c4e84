// k_loss.cu — softmax and SVM losses on the GPU: one thread per example writes its row of dx and
// its loss; the host adds the per-example losses in order (deterministic).
#include "cuda_ops.h"

__global__ void softmax_loss_kernel(float *dx, double *row_loss, const float *x, const int *y, int N, int C)
{
    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x) {
        const float *row = x + (size_t)n * C;
        float mx = row[0];
        for (int c = 1; c < C; c++) mx = fmaxf(mx, row[c]);
        double z = 0;
        for (int c = 0; c < C; c++) z += exp((double)row[c] - mx);
        row_loss[n] = log(z) - ((double)row[y[n]] - mx);
        for (int c = 0; c < C; c++)
            dx[(size_t)n * C + c] = (float)((exp((double)row[c] - mx) / z - (c == y[n])) / N);
    }
}

__global__ void svm_loss_kernel(float *dx, double *row_loss, const float *x, const int *y, int N, int C)
{
    for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x) {
        const float *row = x + (size_t)n * C;
        int positive = 0;
        double loss = 0;
        for (int c = 0; c < C; c++) {
            float margin = c == y[n] ? 0.0f : fmaxf(0.0f, row[c] - row[y[n]] + 1.0f);
            loss += margin;
            positive += margin > 0;
            dx[(size_t)n * C + c] = margin > 0 ? 1.0f / N : 0.0f;
        }
        dx[(size_t)n * C + y[n]] = -(float)positive / N;
        row_loss[n] = loss;
    }
}

static double run_loss(bool svm, float *dx, const float *x, const int *y, int N, int C)
{
    double *row_loss;
    CUDA_CHECK(cudaMalloc(&row_loss, (size_t)N * sizeof *row_loss));
    if (svm) NNDL_LAUNCH(svm_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C);
    else NNDL_LAUNCH(softmax_loss_kernel, cuda_grid((size_t)N), CUDA_BLOCK, 0, dx, row_loss, x, y, N, C);
    double total = cuda_sum_partials(row_loss, N);
    CUDA_CHECK(cudaFree(row_loss));
    return total / N;
}

double cuda_softmax_loss(float *dx, const float *x, const int *y, int N, int C) { return run_loss(false, dx, x, y, N, C); }
double cuda_svm_loss(float *dx, const float *x, const int *y, int N, int C) { return run_loss(true, dx, x, y, N, C); }
