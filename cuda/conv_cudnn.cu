// conv_cudnn.cu — the cuda backend's convolutions through cuDNN, in CUDA=1 builds that find
// cudnn.h (NNDL_CUDNN). k_conv.cu's im2col + cuBLAS kernels stay the engine of the SIMT host and
// of builds without cuDNN, and can be chosen on a GPU too (NNDL_CUDA_CONV=im2col, or
// cuda_conv_set_engine): on the small-channel layers of CIFAR nets their thin GEMMs ran at 1-18 %
// of the GPU's sgemm rate (docs/gpu-results.md), which cuDNN's direct and implicit-GEMM kernels do
// not suffer from.
//
// Everything that allocates or chooses happens in conv_reserve, at setup and never while a step is
// recorded as a graph: one plan per geometry and precision (descriptors and the fastest
// deterministic algorithm of each direction by cuDNN's heuristics, so runs stay bit-reproducible),
// the shared workspace sized for the largest plan, and one warm-up call of each algorithm (cuDNN
// loads its kernels on first use, which a graph capture must not see). fp32 plans ask for FMA math
// (no TF32 on tensor cores); tf32 plans let cuDNN use them, as cuBLAS does at that precision.
#include "cuda_ops.h"

#if defined(NNDL_CUDNN) && !defined(NNDL_SIMT_HOST)
#include <cudnn.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define CUDNN_PLANS 64                          // geometries kept (train, eval and last batches)
#define CUDNN_WORKSPACE_LIMIT ((size_t)1 << 30) // algorithms asking for more are passed over

typedef struct CudnnPlan {
    ConvGeom g;
    int tf32;
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t fwd_conv, data_conv, filter_conv; // each with its algorithm's math
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t data;
    cudnnConvolutionBwdFilterAlgo_t filter;
    size_t ws_bytes;
} CudnnPlan;

struct CudnnState {
    cudnnHandle_t handle;
    CudnnPlan plans[CUDNN_PLANS];
    int n_plans, next_evict;
};

#define DNN_OK(call) ((call) == CUDNN_STATUS_SUCCESS)

static CudnnState *state(const Backend *be) { return cuda_ctx(be)->cudnn; }

// The backend's precision, which set_precision keeps as cuBLAS's math mode.
static int backend_tf32(const Backend *be)
{
    cublasMath_t mode;
    return cublasGetMathMode(cuda_blas(be), &mode) == CUBLAS_STATUS_SUCCESS && mode == CUBLAS_TF32_TENSOR_OP_MATH;
}

static int same_geom(const ConvGeom *a, const ConvGeom *b) { return memcmp(a, b, sizeof *a) == 0; }

static void plan_free(CudnnPlan *p)
{
    cudnnDestroyTensorDescriptor(p->x), cudnnDestroyTensorDescriptor(p->y), cudnnDestroyTensorDescriptor(p->bias);
    cudnnDestroyFilterDescriptor(p->w);
    cudnnDestroyConvolutionDescriptor(p->fwd_conv), cudnnDestroyConvolutionDescriptor(p->data_conv);
    cudnnDestroyConvolutionDescriptor(p->filter_conv);
    memset(p, 0, sizeof *p);
}

static int conv_desc(cudnnConvolutionDescriptor_t *d, const ConvGeom *g, cudnnMathType_t math)
{
    return DNN_OK(cudnnCreateConvolutionDescriptor(d)) &&
           DNN_OK(cudnnSetConvolution2dDescriptor(*d, g->pad, g->pad, g->stride, g->stride, 1, 1,
                                                  CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)) &&
           DNN_OK(cudnnSetConvolutionMathType(*d, math));
}

// An algorithm's math is acceptable when it keeps fp32 at fp32 precision, or tf32 was asked for.
static int math_ok(cudnnMathType_t m, int tf32) { return tf32 || m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH; }

// The first (fastest by the heuristics) deterministic algorithm that fits: its index, or -1.
#define PICK(results, count, tf32, limit)                                                                \
    ([&]() {                                                                                         \
        for (int i_ = 0; i_ < (count); i_++)                                                         \
            if ((results)[i_].status == CUDNN_STATUS_SUCCESS &&                                      \
                (results)[i_].determinism == CUDNN_DETERMINISTIC && (results)[i_].memory <= (limit) && \
                math_ok((results)[i_].mathType, tf32))                                               \
                return i_;                                                                           \
        return -1;                                                                                   \
    })()

// The plan of g: descriptors, and algorithms whose workspace is at most ws_limit bytes.
static int plan_make(CudnnPlan *p, cudnnHandle_t h, const ConvGeom *g, int tf32, size_t ws_limit)
{
    memset(p, 0, sizeof *p);
    p->g = *g, p->tf32 = tf32;
    cudnnMathType_t ask = tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
    if (!DNN_OK(cudnnCreateTensorDescriptor(&p->x)) || !DNN_OK(cudnnCreateTensorDescriptor(&p->y)) ||
        !DNN_OK(cudnnCreateTensorDescriptor(&p->bias)) || !DNN_OK(cudnnCreateFilterDescriptor(&p->w)) ||
        !DNN_OK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g->N, g->C, g->H, g->W)) ||
        !DNN_OK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, g->N, g->F, g->Ho, g->Wo)) ||
        !DNN_OK(cudnnSetTensor4dDescriptor(p->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g->F, 1, 1)) ||
        !DNN_OK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g->F, g->C, g->HH, g->WW)) ||
        !conv_desc(&p->fwd_conv, g, ask) || !conv_desc(&p->data_conv, g, ask) || !conv_desc(&p->filter_conv, g, ask))
        return nndl_fail("cuDNN: cannot describe the convolution");

    cudnnConvolutionFwdAlgoPerf_t fwd[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    cudnnConvolutionBwdDataAlgoPerf_t data[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnnConvolutionBwdFilterAlgoPerf_t filter[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int nf = 0, nd = 0, nw = 0;
    if (!DNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->fwd_conv, p->y,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &nf, fwd)) ||
        !DNN_OK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->data_conv, p->x,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &nd, data)) ||
        !DNN_OK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->filter_conv, p->w,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &nw, filter)))
        return nndl_fail("cuDNN: no algorithm list for the convolution");
    int i = PICK(fwd, nf, tf32, ws_limit), j = PICK(data, nd, tf32, ws_limit), k = PICK(filter, nw, tf32, ws_limit);
    if (i < 0 || j < 0 || k < 0)
        return nndl_fail("cuDNN: no deterministic algorithm for a %dx%d conv of %d channels to %d", g->HH, g->WW,
                         g->C, g->F);
    p->fwd = fwd[i].algo, p->data = data[j].algo, p->filter = filter[k].algo;
    if (!DNN_OK(cudnnSetConvolutionMathType(p->fwd_conv, fwd[i].mathType)) ||
        !DNN_OK(cudnnSetConvolutionMathType(p->data_conv, data[j].mathType)) ||
        !DNN_OK(cudnnSetConvolutionMathType(p->filter_conv, filter[k].mathType)))
        return nndl_fail("cuDNN: cannot set the algorithms' math type");
    size_t a = 0, b = 0, c = 0;
    if (!DNN_OK(cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->fwd_conv, p->y, p->fwd, &a)) ||
        !DNN_OK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->data_conv, p->x, p->data, &b)) ||
        !DNN_OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->filter_conv, p->w, p->filter, &c)))
        return nndl_fail("cuDNN: no workspace size for the convolution");
    p->ws_bytes = a > b ? (a > c ? a : c) : (b > c ? b : c);
    return NNDL_OK;
}

static CudnnPlan *find_plan(CudnnState *s, const ConvGeom *g, int tf32)
{
    for (int i = 0; i < s->n_plans; i++)
        if (s->plans[i].tf32 == tf32 && same_geom(&s->plans[i].g, g)) return &s->plans[i];
    return NULL;
}

// A free plan slot; when all are taken, the oldest plan goes (a recorded graph holds no reference
// to a plan).
static CudnnPlan *new_slot(CudnnState *s)
{
    if (s->n_plans < CUDNN_PLANS) return &s->plans[s->n_plans++];
    CudnnPlan *p = &s->plans[s->next_evict];
    s->next_evict = (s->next_evict + 1) % CUDNN_PLANS;
    plan_free(p);
    return p;
}

// The plan of g at the backend's precision. conv_reserve made it for the batch it was given; other
// batches of a reserved layer (a smaller evaluation batch, the short last batch, test-time views)
// are planned here, within the workspace already reserved: nothing is allocated or warmed up,
// since this may be a step being recorded as a graph.
static const CudnnPlan *plan(const Backend *be, const ConvGeom *g)
{
    CudnnState *s = state(be);
    int tf32 = backend_tf32(be);
    const CudnnPlan *p = find_plan(s, g, tf32);
    if (p) return p;
    CudnnPlan *q = new_slot(s);
    if (plan_make(q, s->handle, g, tf32, cuda_ctx(be)->conv_ws_floats * sizeof(float)) != NNDL_OK) {
        fprintf(stderr, "cuda conv (cuDNN): %s, within the reserved workspace (conv_reserve)\n", nndl_last_error());
        abort();
    }
    return q;
}


// One call of each of the plan's algorithms on zeroed scratch tensors, outside any capture.
static int warm_up(const Backend *be, const CudnnPlan *p)
{
    const ConvGeom *g = &p->g;
    size_t nx = (size_t)g->N * g->C * g->H * g->W, ny = (size_t)g->N * g->F * g->Ho * g->Wo,
           nw = (size_t)g->F * g->C * g->HH * g->WW;
    float *x = NULL, *y = NULL, *w = NULL;
    int ok = cudaMalloc(&x, nx * sizeof *x) == cudaSuccess && cudaMalloc(&y, ny * sizeof *y) == cudaSuccess &&
             cudaMalloc(&w, nw * sizeof *w) == cudaSuccess && cudaMemset(x, 0, nx * sizeof *x) == cudaSuccess &&
             cudaMemset(y, 0, ny * sizeof *y) == cudaSuccess && cudaMemset(w, 0, nw * sizeof *w) == cudaSuccess;
    const float one = 1.0f, zero = 0.0f;
    cudnnHandle_t h = state(be)->handle;
    void *ws = cuda_ctx(be)->conv_ws;
    ok = ok &&
         DNN_OK(cudnnConvolutionForward(h, &one, p->x, x, p->w, w, p->fwd_conv, p->fwd, ws, p->ws_bytes, &zero, p->y, y)) &&
         DNN_OK(cudnnConvolutionBackwardData(h, &one, p->w, w, p->y, y, p->data_conv, p->data, ws, p->ws_bytes, &zero,
                                             p->x, x)) &&
         DNN_OK(cudnnConvolutionBackwardFilter(h, &one, p->x, x, p->y, y, p->filter_conv, p->filter, ws, p->ws_bytes,
                                               &zero, p->w, w)) &&
         cudaStreamSynchronize(NNDL_STREAM) == cudaSuccess;
    cudaFree(x), cudaFree(y), cudaFree(w);
    return ok ? NNDL_OK : nndl_fail("cuDNN: the convolution's algorithms failed their first run");
}

int cudnn_conv_reserve(const Backend *be, const ConvGeom *g)
{
    CudnnState *s = state(be);
    for (int tf32 = 0; tf32 <= 1; tf32++) { // both precisions: set_precision may come after setup
        if (find_plan(s, g, tf32)) continue;
        CudnnPlan *p = new_slot(s);
        if (plan_make(p, s->handle, g, tf32, CUDNN_WORKSPACE_LIMIT) != NNDL_OK ||
            cuda_conv_workspace_grow(cuda_ctx(be), (p->ws_bytes + sizeof(float) - 1) / sizeof(float)) != NNDL_OK ||
            warm_up(be, p) != NNDL_OK) {
            plan_free(p);
            p->g.N = -1; // never found again
            return NNDL_ERR;
        }
    }
    return NNDL_OK;
}

void cudnn_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, const ConvGeom *g)
{
    const CudnnPlan *p = plan(be, g);
    const float one = 1.0f, zero = 0.0f;
    CudaContext *c = cuda_ctx(be);
    cudnnHandle_t h = state(be)->handle;
    if (!DNN_OK(cudnnConvolutionForward(h, &one, p->x, x, p->w, w, p->fwd_conv, p->fwd, c->conv_ws, p->ws_bytes, &zero,
                                        p->y, out)) ||
        !DNN_OK(cudnnAddTensor(h, &one, p->bias, b, &one, p->y, out))) {
        fprintf(stderr, "cuda conv (cuDNN): forward failed\n");
        abort();
    }
}

void cudnn_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, const ConvGeom *g)
{
    const CudnnPlan *p = plan(be, g);
    const float one = 1.0f, zero = 0.0f;
    CudaContext *c = cuda_ctx(be);
    cudnnHandle_t h = state(be)->handle;
    cuda_conv_bias_grad(db, dout, g); // k_conv.cu's ordered sum, as the im2col engine
    if (!DNN_OK(cudnnConvolutionBackwardFilter(h, &one, p->x, x, p->y, dout, p->filter_conv, p->filter, c->conv_ws,
                                               p->ws_bytes, &zero, p->w, dw)) ||
        (dx && !DNN_OK(cudnnConvolutionBackwardData(h, &one, p->w, w, p->y, dout, p->data_conv, p->data, c->conv_ws,
                                                    p->ws_bytes, &zero, p->x, dx)))) {
        fprintf(stderr, "cuda conv (cuDNN): backward failed\n");
        abort();
    }
}

int cudnn_init(CudaContext *c)
{
    CudnnState *s = (CudnnState *)calloc(1, sizeof *s);
    if (!s) return nndl_fail("out of memory for the cuDNN state");
    if (!DNN_OK(cudnnCreate(&s->handle)) || !DNN_OK(cudnnSetStream(s->handle, NNDL_STREAM))) {
        if (s->handle) cudnnDestroy(s->handle);
        free(s);
        return nndl_fail("cuDNN: cannot create a handle on the backend's stream");
    }
    c->cudnn = s;
    return NNDL_OK;
}

void cudnn_free(CudaContext *c)
{
    CudnnState *s = c->cudnn;
    if (!s) return;
    for (int i = 0; i < s->n_plans; i++) plan_free(&s->plans[i]);
    cudnnDestroy(s->handle);
    free(s);
    c->cudnn = NULL;
}

size_t cudnn_version_number(void) { return cudnnGetVersion(); }

#endif
