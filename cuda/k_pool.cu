// k_pool.cu — max pooling and global average pooling on the GPU. Backward gathers: one thread per input pixel sums dout of
// every window containing it whose max it equals (the seed's mask semantics, ties included), so
// overlapping windows need no atomics and the result is deterministic.
#include "cuda_ops.h"

__global__ void max_pool_forward_kernel(float *out, const float *x, PoolGeom g)
{
    size_t total = (size_t)g.N * g.C * g.Ho * g.Wo;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        int j = (int)(idx % g.Wo), i = (int)((idx / g.Wo) % g.Ho);
        const float *p = x + (idx / ((size_t)g.Wo * g.Ho)) * g.H * g.W + (size_t)i * g.stride * g.W + (size_t)j * g.stride;
        float m = p[0];
        for (int di = 0; di < g.ph; di++)
            for (int dj = 0; dj < g.pw; dj++) m = fmaxf(m, p[(size_t)di * g.W + dj]);
        out[idx] = m;
    }
}

__global__ void max_pool_backward_kernel(float *dx, const float *dout, const float *x, const float *out, PoolGeom g)
{
    size_t total = (size_t)g.N * g.C * g.H * g.W;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        int c = (int)(idx % g.W), r = (int)((idx / g.W) % g.H);
        size_t plane = idx / ((size_t)g.W * g.H);
        // windows i with i*stride <= r < i*stride + ph
        int i_lo = r - g.ph + 1 > 0 ? (r - g.ph + 1 + g.stride - 1) / g.stride : 0, i_hi = min(r / g.stride, g.Ho - 1);
        int j_lo = c - g.pw + 1 > 0 ? (c - g.pw + 1 + g.stride - 1) / g.stride : 0, j_hi = min(c / g.stride, g.Wo - 1);
        float v = x[idx], s = 0;
        for (int i = i_lo; i <= i_hi; i++)
            for (int j = j_lo; j <= j_hi; j++) {
                size_t o = (plane * g.Ho + i) * g.Wo + j;
                if (v == out[o]) s += dout[o];
            }
        dx[idx] = s;
    }
}

void cuda_max_pool_forward(const Backend *, float *out, const float *x, const PoolGeom *g)
{
    NNDL_LAUNCH(max_pool_forward_kernel, cuda_grid(pool_out_size(g)), CUDA_BLOCK, 0, out, x, *g);
}

void cuda_max_pool_backward(const Backend *, float *dx, const float *dout, const float *x, const float *out, const PoolGeom *g)
{
    NNDL_LAUNCH(max_pool_backward_kernel, cuda_grid(pool_in_size(g)), CUDA_BLOCK, 0, dx, dout, x, out, *g);
}

// Global average pool: one thread per row (an image's channel), summed in order in double.
__global__ void global_avg_pool_forward_kernel(float *out, const float *x, size_t rows, int S)
{
    for (size_t r = blockIdx.x * (size_t)blockDim.x + threadIdx.x; r < rows; r += (size_t)gridDim.x * blockDim.x) {
        double s = 0;
        for (int k = 0; k < S; k++) s += x[r * S + k];
        out[r] = (float)(s / S);
    }
}

__global__ void global_avg_pool_backward_kernel(float *dx, const float *dout, size_t rows, int S)
{
    size_t total = rows * S;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = dout[i / S] / (float)S;
}

void cuda_global_avg_pool_forward(const Backend *, float *out, const float *x, size_t rows, int S)
{
    if (rows) NNDL_LAUNCH(global_avg_pool_forward_kernel, cuda_grid(rows), CUDA_BLOCK, 0, out, x, rows, S);
}

void cuda_global_avg_pool_backward(const Backend *, float *dx, const float *dout, size_t rows, int S)
{
    if (rows) NNDL_LAUNCH(global_avg_pool_backward_kernel, cuda_grid(rows * S), CUDA_BLOCK, 0, dx, dout, rows, S);
}
