// k_dense.cu — affine (cuBLAS), relu, GELU, scale, add, dropout, fill and the L2 penalty on the GPU.
//
// Row-major matrices are column-major transposes, so a row-major C = A·B is the column-major
// Cᵀ = Bᵀ·Aᵀ: each cublasSgemm below is the row-major product written with the operands swapped.
#include "cuda_ops.h"

#include "dropout_mask.h"

__global__ void fill_kernel(float *x, float value, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] = value;
}

void cuda_fill(const Backend *, float *x, float value, size_t n)
{
    if (n) NNDL_LAUNCH(fill_kernel, cuda_grid(n), CUDA_BLOCK, 0, x, value, n);
}

// out (N, M) rows start as the bias, then the product is added.
__global__ void bias_rows_kernel(float *out, const float *b, int N, int M)
{
    size_t n = (size_t)N * M;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = b[i % M];
}

// db[m] = sum over rows of dout (N, M): one thread per column, rows in a fixed order.
__global__ void column_sums_kernel(float *db, const float *dout, int N, int M)
{
    for (int m = blockIdx.x * blockDim.x + threadIdx.x; m < M; m += gridDim.x * blockDim.x) {
        double s = 0;
        for (int n = 0; n < N; n++) s += dout[(size_t)n * M + m];
        db[m] = (float)s;
    }
}

void cuda_affine_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, int N, int D, int M)
{
    const float one = 1.0f;
    NNDL_LAUNCH(bias_rows_kernel, cuda_grid((size_t)N * M), CUDA_BLOCK, 0, out, b, N, M);
    CUBLAS_CHECK(cublasSgemm(cuda_blas(be), CUBLAS_OP_N, CUBLAS_OP_N, M, N, D, &one, w, M, x, D, &one, out, M));
}

void cuda_affine_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                          const float *w, int N, int D, int M)
{
    const float one = 1.0f, zero = 0.0f;
    NNDL_LAUNCH(column_sums_kernel, cuda_grid((size_t)M), CUDA_BLOCK, 0, db, dout, N, M);
    // dw (D, M) = xᵀ (D, N) · dout (N, M)
    CUBLAS_CHECK(cublasSgemm(cuda_blas(be), CUBLAS_OP_N, CUBLAS_OP_T, M, D, N, &one, dout, M, x, D, &zero, dw, M));
    // dx (N, D) = dout (N, M) · wᵀ (M, D)
    if (dx) CUBLAS_CHECK(cublasSgemm(cuda_blas(be), CUBLAS_OP_T, CUBLAS_OP_N, D, N, M, &one, w, M, dout, M, &zero, dx, D));
}

__global__ void relu_forward_kernel(float *out, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = x[i] > 0 ? x[i] : 0.0f;
}

__global__ void relu_backward_kernel(float *dx, const float *dout, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = x[i] > 0 ? dout[i] : 0.0f;
}

void cuda_relu_forward(const Backend *, float *out, const float *x, size_t n)
{
    if (n) NNDL_LAUNCH(relu_forward_kernel, cuda_grid(n), CUDA_BLOCK, 0, out, x, n);
}

void cuda_relu_backward(const Backend *, float *dx, const float *dout, const float *x, size_t n)
{
    if (n) NNDL_LAUNCH(relu_backward_kernel, cuda_grid(n), CUDA_BLOCK, 0, dx, dout, x, n);
}

// Exact GELU: x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2.
__global__ void gelu_forward_kernel(float *out, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

// d/dx x Phi(x) = Phi(x) + x phi(x)
__global__ void gelu_backward_kernel(float *dx, const float *dout, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = x[i], cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
        dx[i] = dout[i] * (cdf + v * 0.3989422804014327f * expf(-0.5f * v * v));
    }
}

void cuda_gelu_forward(const Backend *, float *out, const float *x, size_t n)
{
    if (n) NNDL_LAUNCH(gelu_forward_kernel, cuda_grid(n), CUDA_BLOCK, 0, out, x, n);
}

void cuda_gelu_backward(const Backend *, float *dx, const float *dout, const float *x, size_t n)
{
    if (n) NNDL_LAUNCH(gelu_backward_kernel, cuda_grid(n), CUDA_BLOCK, 0, dx, dout, x, n);
}

__global__ void scale_kernel(float *out, const float *x, float alpha, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = alpha * x[i];
}

__global__ void add_kernel(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = a[i] + b[i];
}

void cuda_scale(const Backend *, float *out, const float *x, float alpha, size_t n)
{
    if (n) NNDL_LAUNCH(scale_kernel, cuda_grid(n), CUDA_BLOCK, 0, out, x, alpha, n);
}

void cuda_add(const Backend *, float *out, const float *a, const float *b, size_t n)
{
    if (n) NNDL_LAUNCH(add_kernel, cuda_grid(n), CUDA_BLOCK, 0, out, a, b, n);
}

// Forward and backward are the same masked scaling, with the mask of dropout_mask.h.
// The step may be read from device memory (DropoutConfig.step_at): a recorded step.
__global__ void dropout_kernel(float *y, const float *v, size_t n, DropoutConfig d)
{
    float scale = 1.0f / d.p_keep;
    uint64_t step = dropout_step(&d);
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = !d.train ? v[i] : dropout_keep(d.seed, step, i, d.p_keep) ? v[i] * scale : 0.0f;
}

void cuda_dropout_forward(const Backend *, float *out, const float *x, size_t n, const DropoutConfig *d)
{
    if (n) NNDL_LAUNCH(dropout_kernel, cuda_grid(n), CUDA_BLOCK, 0, out, x, n, *d);
}

void cuda_dropout_backward(const Backend *, float *dx, const float *dout, size_t n, const DropoutConfig *d)
{
    if (n) NNDL_LAUNCH(dropout_kernel, cuda_grid(n), CUDA_BLOCK, 0, dx, dout, n, *d);
}

// dw += reg * w, and each block's share of sum(w^2) into partials[blockIdx.x].
__global__ void l2_kernel(float *dw, const float *w, float reg, size_t n, double *partials)
{
    double s = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        s += (double)w[i] * w[i];
        dw[i] += reg * w[i];
    }
    double total = block_sum(s);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

void cuda_l2_penalty(const Backend *be, float *dw, double *loss, const float *w, float reg, size_t n)
{
    unsigned blocks = cuda_grid(n);
    double *partials = cuda_partials(be, blocks);
    NNDL_LAUNCH(l2_kernel, blocks, CUDA_BLOCK, 0, dw, w, reg, n, partials);
    cuda_sum_into(loss, partials, (int)blocks, 0.5 * reg, 1, 1);
}
