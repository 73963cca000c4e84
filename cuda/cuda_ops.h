/* cuda_ops.h — the CUDA backend's ops, one .cu file per layer family; cuda_backend.cu puts them
 * in the table. Contracts are those of the Backend members (core/backend.h); all pointers are
 * device memory. Every kernel source also runs on the SIMT host (cuda/simt), where the tests
 * compare these ops with the double reference and with the cpu backend. */
#ifndef NNDL_CUDA_OPS_H
#define NNDL_CUDA_OPS_H

#include "cuda_compat.h"

#include "backend.h"

#define CUDA_BLOCK 256

/* Blocks for a grid-stride loop over n items. The SIMT host runs blocks one after another, so
 * few blocks (each looping further) cost it less and compute the same. */
#ifdef NNDL_SIMT_HOST
#define CUDA_MAX_BLOCKS 4u
#else
#define CUDA_MAX_BLOCKS 4096u
#endif
static inline unsigned cuda_grid(size_t n)
{
    unsigned b = nndl_blocks(n, CUDA_BLOCK);
    return b == 0 ? 1 : b > CUDA_MAX_BLOCKS ? CUDA_MAX_BLOCKS : b;
}

typedef struct CudnnState CudnnState; /* conv_cudnn.cu */

/* The cuda instance's context: its cuBLAS handle, the partial-sum buffer and the conv
 * workspace, created with the instance and freed with it. */
typedef struct CudaContext {
    cublasHandle_t blas;
    double *partials;           /* per-block or per-example partial sums */
    size_t partials_cap;        /* doubles; CUDA_PARTIALS_START at creation */
    float *conv_ws;
    size_t conv_ws_floats;
    size_t conv_chunk_floats;   /* the workspace's budget (CUDA_CONV_CHUNK_FLOATS; cuda_tuning.h) */
    void *blas_ws;              /* cuBLAS's workspace, given to it so that a capture never allocates */
    void *nccl;                 /* ncclComm_t, made on the first all-reduce (cuda_nccl.cu) */
    const Comm *nccl_group;     /* the process group it was made from */
    CudnnState *cudnn;          /* the cuDNN conv engine, or NULL: k_conv.cu's im2col + cuBLAS */
} CudaContext;

/* One line on the GPU (name, compute capability, memory, driver and runtime versions, the
 * architectures this build carries); and whether this build has code the GPU can run. */
void cuda_describe(const Backend *be, char *buf, size_t size);
int cuda_check_device(void);

/* Enough partial sums for batches of 65536 rows or 2000 batchnorm channels, reserved at
 * creation so that a training step never allocates (an allocation synchronises the device). */
#define CUDA_PARTIALS_START 65536
#define CUDA_BLAS_WORKSPACE ((size_t)32 << 20)
/* The conv workspace's budget: 24 MiB of im2col columns (and transposed output gradients) per
 * chunk of images, which stays in an A100's or H100's L2 (40 / 50 MB) between im2col and gemm. */
#define CUDA_CONV_CHUNK_FLOATS ((size_t)6 << 20)

static inline CudaContext *cuda_ctx(const Backend *be) { return (CudaContext *)be->ctx; }
static inline cublasHandle_t cuda_blas(const Backend *be) { return cuda_ctx(be)->blas; }

/* The instance's buffer of at least n doubles for partial sums, reused from call to call (grown,
 * which allocates, only past CUDA_PARTIALS_START). */
double *cuda_partials(const Backend *be, size_t n);
/* *slot = sum(partials[0..n)) * scale / divisor, or *slot += that when accumulate; added in
 * order by one device thread (deterministic), so the result stays on the device. */
void cuda_sum_into(double *slot, const double *partials, int n, double scale, double divisor, int accumulate);

void cuda_affine_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, int N, int D, int M);
void cuda_affine_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                          const float *w, int N, int D, int M);
void cuda_relu_forward(const Backend *be, float *out, const float *x, size_t n);
void cuda_relu_backward(const Backend *be, float *dx, const float *dout, const float *x, size_t n);
void cuda_gelu_forward(const Backend *be, float *out, const float *x, size_t n);
void cuda_gelu_backward(const Backend *be, float *dx, const float *dout, const float *x, size_t n);
void cuda_scale(const Backend *be, float *out, const float *x, float alpha, size_t n);
void cuda_add(const Backend *be, float *out, const float *a, const float *b, size_t n);
void cuda_dropout_forward(const Backend *be, float *out, const float *x, size_t n, const DropoutConfig *d);
void cuda_dropout_backward(const Backend *be, float *dx, const float *dout, size_t n, const DropoutConfig *d);
void cuda_fill(const Backend *be, float *x, float value, size_t n);
void cuda_l2_penalty(const Backend *be, float *dw, double *loss, const float *w, float reg, size_t n);

int cuda_conv_reserve(const Backend *be, const ConvGeom *g);
/* The conv workspace (shared by both engines) made at least floats long; allocates only to grow. */
int cuda_conv_workspace_grow(CudaContext *c, size_t floats);
/* db[f] = the sum of dout (N, F, Ho, Wo) over n and the pixels, in a fixed order (both engines). */
void cuda_conv_bias_grad(float *db, const float *dout, const ConvGeom *g);
#if defined(NNDL_CUDNN) && !defined(NNDL_SIMT_HOST)
/* The cuDNN engine (conv_cudnn.cu): a handle on the backend's stream in c->cudnn; plans made by
 * conv_reserve (for the precision of the backend's cuBLAS math mode); the library's version
 * (e.g. 91900). */
int cudnn_init(CudaContext *c);
void cudnn_free(CudaContext *c);
size_t cudnn_version_number(void);
int cudnn_conv_reserve(const Backend *be, const ConvGeom *g);
void cudnn_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, const ConvGeom *g);
void cudnn_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, const ConvGeom *g);
#define NNDL_CUDNN_ENGINE 1
#else
#define NNDL_CUDNN_ENGINE 0
#endif
void cuda_conv_forward(const Backend *be, float *out, const float *x, const float *w, const float *b, const ConvGeom *g);
void cuda_conv_backward(const Backend *be, float *dx, float *dw, float *db, const float *dout, const float *x,
                        const float *w, const ConvGeom *g);

void cuda_max_pool_forward(const Backend *be, float *out, const float *x, const PoolGeom *g);
void cuda_max_pool_backward(const Backend *be, float *dx, const float *dout, const float *x, const float *out, const PoolGeom *g);

void cuda_global_avg_pool_forward(const Backend *be, float *out, const float *x, size_t rows, int S);
void cuda_global_avg_pool_backward(const Backend *be, float *dx, const float *dout, size_t rows, int S);

void cuda_batchnorm_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                            float *running_var, const float *x, const float *gamma,
                            const float *beta, const BNConfig *cfg, int N, int C, int S);
void cuda_batchnorm_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                             const float *x, const float *gamma, const float *mean,
                             const float *inv_std, int N, int C, int S);
void cuda_batchnorm_sums(const Backend *be, double *sums, const float *a, const float *b, int N, int C, int S);
void cuda_batchnorm_forward_sums(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                                 float *running_var, const float *x, const float *gamma, const float *beta,
                                 const double *sums, double count, const BNConfig *cfg, int N, int C, int S);
void cuda_batchnorm_backward_sums(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                                  const float *x, const float *gamma, const float *mean, const float *inv_std,
                                  const double *local, const double *global, double count, int N, int C, int S);
void cuda_bn_relu_pool_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                               float *running_var, const float *x, const float *gamma, const float *beta,
                               const BNConfig *cfg, const PoolGeom *pool, int N, int C, int S);
void cuda_bn_relu_pool_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                                const float *out, const float *x, const float *gamma, const float *beta,
                                const float *mean, const float *inv_std, const PoolGeom *pool, int N, int C, int S);
/* NCCL all-reduce on device memory (cuda_nccl.cu; the Backend's allreduce slot) and the end of
 * the instance's NCCL communicator. */
int cuda_nccl_allreduce(const Backend *be, Comm *c, void *buf, size_t n, int t, int op);
void cuda_nccl_free(const Backend *be);

void cuda_softmax_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C);
void cuda_svm_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C);
void cuda_softmax_smoothed_loss(const Backend *be, float *dx, double *loss, const float *x, const int *y, int N, int C,
                                float eps);
void cuda_augment(const Backend *be, float *out, const float *in, const int *examples, int N, int C, int H, int W,
                  const AugmentConfig *a);
void cuda_axpby(const Backend *be, float *y, float a, const float *x, float b, size_t n);

void cuda_gather(const Backend *be, float *x, int *y, const DeviceExamples *src, const int *order, const int32_t *start,
                 int base, int n);
void cuda_count_correct(const Backend *be, int *count, const float *scores, const int *y, int N, int C, int accumulate);
void cuda_step_finish(const Backend *be, StepVars *v, double *loss_slots, const double *loss, int batch);

BackendGraph *cuda_capture(const Backend *be, void (*record)(void *ctx), void *ctx);
void cuda_graph_launch(const Backend *be, BackendGraph *g);
void cuda_graph_destroy(const Backend *be, BackendGraph *g);
int cuda_set_precision(const Backend *be, Precision p);
int cuda_counters(const Backend *be, DeviceCounters *c, int reset);

void cuda_sgd(const Backend *be, float *w, const float *dw, float *s1, float *s2, size_t n, const OptimConfig *c);
void cuda_sgd_momentum(const Backend *be, float *w, const float *dw, float *v, float *s2, size_t n, const OptimConfig *c);
void cuda_sgd_nesterov_momentum(const Backend *be, float *w, const float *dw, float *v, float *s2, size_t n, const OptimConfig *c);
void cuda_rmsprop(const Backend *be, float *w, const float *dw, float *cache, float *s2, size_t n, const OptimConfig *c);
void cuda_adam(const Backend *be, float *w, const float *dw, float *m, float *v, size_t n, const OptimConfig *c);
void cuda_ema_step(const Backend *be, float *avg, const float *w, size_t n, float ema, const StepVars *v);

/* Block-wide sum of one double per thread (blockDim.x == CUDA_BLOCK); thread 0 gets the total. */
__device__ inline double block_sum(double v)
{
    __shared__ double partial[CUDA_BLOCK];
    partial[threadIdx.x] = v;
    __syncthreads();
    for (int s = CUDA_BLOCK / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
        __syncthreads();
    }
    double total = partial[0];
    __syncthreads(); /* the next call may overwrite partial */
    return total;
}

#endif
