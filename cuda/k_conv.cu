// k_conv.cu — convolution on the GPU as im2col + cuBLAS, a chunk of images at a time: the engine of
// the SIMT host and of builds without cuDNN; in builds with it, conv_cudnn.cu serves the ops unless
// the im2col engine is chosen (cuda_conv_set_engine, NNDL_CUDA_CONV=im2col).
//
// The batch is cut into chunks of nc images whose im2col columns fit the conv workspace (a budget
// sized to stay in L2, cuda_ops.h), instead of one (N, K, P) buffer for the whole batch (K =
// C*HH*WW rows, P = Ho*Wo columns per image). A chunk's columns are laid out (K, nc, P), so that
// for the weight gradient the chunk's images form one matrix of K rows and nc*P columns:
//   forward   out_n (F, P) = W (F, K) · cols_n         one strided-batched gemm per chunk
//   dW        dW (F, K) += doutᵀ (F, nc*P) · colsᵀ      one gemm per chunk, over all its images
//                                                      (dout's chunk transposed to (F, nc, P))
//   dx        dcols_n (K, P) = Wᵀ (K, F) · dout_n      one strided-batched gemm, then col2im
// dW accumulates chunk after chunk in a fixed order (deterministic), as does col2im (one thread per
// input pixel, summing the column entries that came from it: no atomics).
#include "cuda_ops.h"

#include "cuda_tuning.h"
#include "error.h"

static size_t cols_per_image(const ConvGeom *g) { return (size_t)g->C * g->HH * g->WW * g->Ho * g->Wo; }
static size_t out_per_image(const ConvGeom *g) { return (size_t)g->F * g->Ho * g->Wo; }

static int clamp_chunk(size_t budget, size_t per_image, int N)
{
    size_t nc = budget / (per_image ? per_image : 1);
    return nc < 1 ? 1 : nc > (size_t)N ? N : (int)nc;
}

// Images per chunk: forward needs the columns, backward the columns (reused for their gradient)
// and dout transposed.
static int forward_chunk(const Backend *be, const ConvGeom *g)
{
    return clamp_chunk(cuda_ctx(be)->conv_chunk_floats, cols_per_image(g), g->N);
}
static int backward_chunk(const Backend *be, const ConvGeom *g)
{
    return clamp_chunk(cuda_ctx(be)->conv_chunk_floats, cols_per_image(g) + out_per_image(g), g->N);
}

static size_t workspace_floats(const Backend *be, const ConvGeom *g)
{
    size_t fwd = (size_t)forward_chunk(be, g) * cols_per_image(g);
    size_t bwd = (size_t)backward_chunk(be, g) * (cols_per_image(g) + out_per_image(g));
    return fwd > bwd ? fwd : bwd;
}

extern "C" void cuda_conv_set_chunk_floats(const Backend *be, size_t floats)
{
    cuda_ctx(be)->conv_chunk_floats = floats ? floats : 1;
}

extern "C" int cuda_conv_set_engine(const Backend *be, int cudnn)
{
    CudaContext *c = cuda_ctx(be);
#if NNDL_CUDNN_ENGINE
    if (!cudnn) {
        cudnn_free(c);
        return NNDL_OK;
    }
    return c->cudnn ? NNDL_OK : cudnn_init(c);
#else
    (void)c;
    return cudnn ? nndl_fail("cuda conv: this build has no cuDNN (a CUDA=1 build where cudnn.h is found has)") : NNDL_OK;
#endif
}

int cuda_conv_reserve(const Backend *be, const ConvGeom *g)
{
    CudaContext *c = cuda_ctx(be);
#if NNDL_CUDNN_ENGINE
    if (c->cudnn) return cudnn_conv_reserve(be, g);
#endif
    return cuda_conv_workspace_grow(c, workspace_floats(be, g));
}

int cuda_conv_workspace_grow(CudaContext *c, size_t floats)
{
    if (floats <= c->conv_ws_floats) return NNDL_OK;
    float *ws = NULL;
    if (cudaMalloc(&ws, floats * sizeof *ws) != cudaSuccess)
        return nndl_fail("out of cuda memory for the conv workspace (%zu floats)", floats);
    if (c->conv_ws) CUDA_CHECK(cudaFree(c->conv_ws));
    c->conv_ws = ws, c->conv_ws_floats = floats;
    return NNDL_OK;
}

/* The reserved workspace; a geometry larger than reserved is a caller's bug. */
static float *workspace(const Backend *be, const ConvGeom *g)
{
    if (workspace_floats(be, g) > cuda_ctx(be)->conv_ws_floats) {
        fprintf(stderr, "cuda conv: workspace not reserved for this geometry (conv_reserve)\n");
        abort();
    }
    return cuda_ctx(be)->conv_ws;
}

#define FOR_EACH(i, n) \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

// cols (K, nc, P) of images n0 .. n0 + nc.
__global__ void im2col_chunk_kernel(float *cols, const float *x, ConvGeom g, int n0, int nc)
{
    size_t P = (size_t)g.Ho * g.Wo, K = (size_t)g.C * g.HH * g.WW;
    FOR_EACH(idx, K * nc * P) {
        size_t p = idx % P, i_local = (idx / P) % nc, k = idx / (P * nc);
        int i = (int)(p / g.Wo), j = (int)(p % g.Wo);
        int dj = (int)(k % g.WW), di = (int)((k / g.WW) % g.HH), c = (int)(k / ((size_t)g.WW * g.HH));
        int xi = i * g.stride + di - g.pad, xj = j * g.stride + dj - g.pad;
        cols[idx] = (xi >= 0 && xi < g.H && xj >= 0 && xj < g.W)
                        ? x[(((size_t)(n0 + i_local) * g.C + c) * g.H + xi) * g.W + xj] : 0.0f;
    }
}

// dx pixel (n, c, xi, xj) of images n0 .. n0 + nc = sum of the dcols (K, nc, P) entries that
// im2col copied from it.
__global__ void col2im_chunk_kernel(float *dx, const float *dcols, ConvGeom g, int n0, int nc)
{
    size_t P = (size_t)g.Ho * g.Wo, image = (size_t)g.C * g.H * g.W;
    FOR_EACH(idx, (size_t)nc * image) {
        int xj = (int)(idx % g.W), xi = (int)((idx / g.W) % g.H), c = (int)((idx / ((size_t)g.W * g.H)) % g.C);
        size_t i_local = idx / image;
        const float *base = dcols + i_local * P;
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
                s += base[k * nc * P + (size_t)i * g.Wo + j];
            }
        }
        dx[(size_t)n0 * image + idx] = s;
    }
}

// doutᵀ (F, nc, P) of dout (N, F, P) for images n0 .. n0 + nc.
__global__ void dout_chunk_kernel(float *dout_t, const float *dout, int F, size_t P, int n0, int nc)
{
    FOR_EACH(idx, (size_t)F * nc * P) {
        size_t p = idx % P, i_local = (idx / P) % nc, f = idx / (P * nc);
        dout_t[idx] = dout[((size_t)(n0 + i_local) * F + f) * P + p];
    }
}

// out (N, F, P) starts as the bias of each filter.
__global__ void conv_bias_kernel(float *out, const float *b, int N, int F, size_t P)
{
    FOR_EACH(i, (size_t)N * F * P) out[i] = b[(i / P) % F];
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

void cuda_conv_bias_grad(float *db, const float *dout, const ConvGeom *g)
{
    NNDL_LAUNCH(conv_db_kernel, g->F, CUDA_BLOCK, 0, db, dout, g->N, g->F, (size_t)g->Ho * g->Wo);
}

void cuda_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, const ConvGeom *g)
{
#if NNDL_CUDNN_ENGINE
    if (cuda_ctx(be)->cudnn) return cudnn_conv_forward(be, out, x, w, b, g);
#endif
    const float one = 1.0f;
    float *cols = workspace(be, g);
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo, chunk = forward_chunk(be, g);
    NNDL_LAUNCH(conv_bias_kernel, cuda_grid(conv_out_size(g)), CUDA_BLOCK, 0, out, b, g->N, g->F, (size_t)P);
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        int nc = g->N - n0 < chunk ? g->N - n0 : chunk;
        NNDL_LAUNCH(im2col_chunk_kernel, cuda_grid((size_t)nc * cols_per_image(g)), CUDA_BLOCK, 0, cols, x, *g, n0, nc);
        // out_n (F, P) += W (F, K) · cols[:, n, :] (K, P), for every n of the chunk
        CUBLAS_CHECK(cublasSgemmStridedBatched(cuda_blas(be), CUBLAS_OP_N, CUBLAS_OP_N, P, g->F, K, &one, cols,
                                               nc * P, P, w, K, 0, &one, out + (size_t)n0 * g->F * P, P,
                                               (long long)g->F * P, nc));
    }
}

void cuda_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x, const float *w,
                        const ConvGeom *g)
{
#if NNDL_CUDNN_ENGINE
    if (cuda_ctx(be)->cudnn) return cudnn_conv_backward(be, dx, dw, db, dout, x, w, g);
#endif
    const float one = 1.0f, zero = 0.0f;
    float *ws = workspace(be, g);
    int K = g->C * g->HH * g->WW, P = g->Ho * g->Wo, chunk = backward_chunk(be, g);
    float *cols = ws, *dout_t = ws + (size_t)chunk * cols_per_image(g);
    cuda_conv_bias_grad(db, dout, g);
    for (int n0 = 0; n0 < g->N; n0 += chunk) {
        int nc = g->N - n0 < chunk ? g->N - n0 : chunk;
        NNDL_LAUNCH(im2col_chunk_kernel, cuda_grid((size_t)nc * cols_per_image(g)), CUDA_BLOCK, 0, cols, x, *g, n0, nc);
        NNDL_LAUNCH(dout_chunk_kernel, cuda_grid((size_t)nc * out_per_image(g)), CUDA_BLOCK, 0, dout_t, dout, g->F,
                    (size_t)P, n0, nc);
        // dW (F, K) (+)= doutᵀ (F, nc*P) · colsᵀ (nc*P, K): the chunk's images in one gemm
        CUBLAS_CHECK(cublasSgemm(cuda_blas(be), CUBLAS_OP_T, CUBLAS_OP_N, K, g->F, nc * P, &one, cols, nc * P, dout_t,
                                 nc * P, n0 == 0 ? &zero : &one, dw, K));
        if (!dx) continue;
        // dcols[:, n, :] (K, P) = Wᵀ (K, F) · dout_n (F, P), into the columns' place (read above)
        CUBLAS_CHECK(cublasSgemmStridedBatched(cuda_blas(be), CUBLAS_OP_N, CUBLAS_OP_T, P, K, g->F, &one, dout_t,
                                               nc * P, P, w, K, 0, &zero, cols, nc * P, P, nc));
        NNDL_LAUNCH(col2im_chunk_kernel, cuda_grid((size_t)nc * g->C * g->H * g->W), CUDA_BLOCK, 0, dx, cols, *g, n0,
                    nc);
    }
}
