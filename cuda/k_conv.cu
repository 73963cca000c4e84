// k_conv.cu — convolution on the GPU as im2col + cuBLAS, all images of the batch at once.
//
// cols holds, per image n, the (K, P) matrix of receptive fields (K = C*HH*WW rows, P = Ho*Wo
// columns), as on the CPU. Forward is one strided-batched gemm out_n = W · cols_n; backward gets
// each image's dW_n with one strided-batched gemm and sums them over n in a fixed order
// (deterministic), and dcols_n = Wᵀ · dout_n with another, which col2im gathers back into dx (one
// thread per input pixel, summing the column entries that came from it: no atomics).
#include "cuda_ops.h"

#include "error.h"

static size_t cols_per_image(const ConvGeom *g) { return (size_t)g->C * g->HH * g->WW * g->Ho * g->Wo; }

/* cols, dcols, and one dW per image */
static size_t workspace_floats(const ConvGeom *g)
{
    return 2 * (size_t)g->N * cols_per_image(g) + (size_t)g->N * g->F * g->C * g->HH * g->WW;
}

int cuda_conv_reserve(const Backend *be, const ConvGeom *g)
{
    CudaContext *c = cuda_ctx(be);
    size_t want = workspace_floats(g);
    if (want <= c->conv_ws_floats) return NNDL_OK;
    float *ws = NULL;
    if (cudaMalloc(&ws, want * sizeof *ws) != cudaSuccess)
        return nndl_fail("out of cuda memory for the conv workspace (%zu floats)", want);
    if (c->conv_ws) CUDA_CHECK(cudaFree(c->conv_ws));
    c->conv_ws = ws, c->conv_ws_floats = want;
    return NNDL_OK;
}

/* The reserved workspace; a geometry larger than reserved is a caller's bug. */
static float *workspace(const Backend *be, const ConvGeom *g)
{
    if (workspace_floats(g) > cuda_ctx(be)->conv_ws_floats) {
        fprintf(stderr, "cuda conv: workspace not reserved for this geometry (conv_reserve)\n");
        abort();
    }
    return cuda_ctx(be)->conv_ws;
}

// dw[i] = sum over n of per_image[n][i], n in order.
__global__ void sum_images_kernel(float *dw, const float *per_image, int N, size_t n_w)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n_w; i += (size_t)gridDim.x * blockDim.x) {
        float s = 0;
        for (int n = 0; n < N; n++) s += per_image[(size_t)n * n_w + i];
        dw[i] = s;
    }
}

__global__ void im2col_kernel(float *cols, const float *x, ConvGeom g)
{
    size_t P = (size_t)g.Ho * g.Wo, K = (size_t)g.C * g.HH * g.WW, total = (size_t)g.N * K * P;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        size_t p = idx % P, k = (idx / P) % K, n = idx / (P * K);
        int i = (int)(p / g.Wo), j = (int)(p % g.Wo);
        int dj = (int)(k % g.WW), di = (int)((k / g.WW) % g.HH), c = (int)(k / ((size_t)g.WW * g.HH));
        int xi = i * g.stride + di - g.pad, xj = j * g.stride + dj - g.pad;
        cols[idx] = (xi >= 0 && xi < g.H && xj >= 0 && xj < g.W)
                        ? x[(((size_t)n * g.C + c) * g.H + xi) * g.W + xj] : 0.0f;
    }
}

// dx pixel (n, c, xi, xj) = sum of the dcols entries that im2col copied from it.
__global__ void col2im_kernel(float *dx, const float *dcols, ConvGeom g)
{
    size_t P = (size_t)g.Ho * g.Wo, K = (size_t)g.C * g.HH * g.WW, total = (size_t)g.N * g.C * g.H * g.W;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < total; idx += (size_t)gridDim.x * blockDim.x) {
        int xj = (int)(idx % g.W), xi = (int)((idx / g.W) % g.H), c = (int)((idx / ((size_t)g.W * g.H)) % g.C);
        size_t n = idx / ((size_t)g.W * g.H * g.C);
        const float *base = dcols + n * K * P;
        float s = 0;
        for (int di = 0; di < g.HH; di++) {
            int t = xi + g.pad - di; // = i * stride
            if (t < 0 || t % g.stride) continue;
            int i = t / g.stride;
            if (i >= g.Ho) continue;
            for (int dj = 0; dj < g.WW; dj++) {
                int u = xj + g.pad - dj;
                if (u < 0 || u % g.stride) continue;
                int j = u / g.stride;
                if (j >= g.Wo) continue;
                size_t k = ((size_t)c * g.HH + di) * g.WW + dj;
                s += base[k * P + (size_t)i * g.Wo + j];
            }
        }
        dx[idx] = s;
    }
}

// out (N, F, P) starts as the bias of each filter.
__global__ void conv_bias_kernel(float *out, const float *b, int N, int F, size_t P)
{
    size_t total = (size_t)N * F * P;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        out[i] = b[(i / P) % F];
}

// db[f] = sum over n, p of dout (N, F, P): one block per filter.
__global__ void conv_db_kernel(float *db, const float *dout, int N, int F, size_t P)
{
    int f = blockIdx.x;
    double s = 0;
    for (size_t idx = threadIdx.x; idx < (size_t)N * P; idx += blockDim.x)
        s += dout[((idx / P) * F + f) * P + idx % P];
    double total = block_sum(s);
    if (threadIdx.x == 0) db[f] = (float)total;
}

void cuda_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, const ConvGeom *g)
{
    const float one = 1.0f;
    float *ws = workspace(be, g);
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo;
    NNDL_LAUNCH(im2col_kernel, cuda_grid((size_t)g->N * cols_per_image(g)), CUDA_BLOCK, 0, ws, x, *g);
    NNDL_LAUNCH(conv_bias_kernel, cuda_grid(conv_out_size(g)), CUDA_BLOCK, 0, out, b, g->N, g->F, (size_t)P);
    // out_n (F, P) = W (F, K) · cols_n (K, P), for every n
    CUBLAS_CHECK(cublasSgemmStridedBatched(cuda_blas(be), CUBLAS_OP_N, CUBLAS_OP_N, P, g->F, K, &one, ws, P,
                                           (long long)K * P, w, K, 0, &one, out, P, (long long)g->F * P, g->N));
}

void cuda_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                        const ConvGeom *g)
{
    const float one = 1.0f, zero = 0.0f;
    float *ws = workspace(be, g);
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo;
    size_t n_w = (size_t)g->F * K;
    float *cols = ws, *dcols = ws + (size_t)g->N * cols_per_image(g), *dw_per_image = dcols + (size_t)g->N * cols_per_image(g);
    NNDL_LAUNCH(conv_db_kernel, g->F, CUDA_BLOCK, 0, db, dout, g->N, g->F, (size_t)P);
    NNDL_LAUNCH(im2col_kernel, cuda_grid((size_t)g->N * cols_per_image(g)), CUDA_BLOCK, 0, cols, x, *g);
    // dW_n (F, K) = dout_n (F, P) · cols_nᵀ (P, K) for every n, then dW = sum_n dW_n
    CUBLAS_CHECK(cublasSgemmStridedBatched(cuda_blas(be), CUBLAS_OP_T, CUBLAS_OP_N, K, g->F, P, &one, cols, P,
                                           (long long)K * P, dout, P, (long long)g->F * P, &zero, dw_per_image, K,
                                           (long long)n_w, g->N));
    NNDL_LAUNCH(sum_images_kernel, cuda_grid(n_w), CUDA_BLOCK, 0, dw, dw_per_image, g->N, n_w);
    if (!dx) return;
    // dcols_n (K, P) = Wᵀ (K, F) · dout_n (F, P)
    CUBLAS_CHECK(cublasSgemmStridedBatched(cuda_blas(be), CUBLAS_OP_N, CUBLAS_OP_T, P, K, g->F, &one, dout, P,
                                           (long long)g->F * P, w, K, 0, &zero, dcols, P, (long long)K * P, g->N));
    NNDL_LAUNCH(col2im_kernel, cuda_grid(conv_in_size(g)), CUDA_BLOCK, 0, dx, dcols, *g);
}
