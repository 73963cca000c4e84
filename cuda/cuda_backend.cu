// cuda_backend.cu — the "cuda" driver: device memory, the instance's context (cuBLAS handle,
// partial sums, conv workspace), and the probe that says whether a GPU (or, in the test binary,
// the SIMT host) is there. cuda_unavailable.c defines the same driver for builds without CUDA;
// the Makefile links exactly one of the two.
#include "cuda_ops.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

static void *cuda_alloc(const Backend *, size_t bytes)
{
    void *p = NULL;
    return cudaMalloc(&p, bytes ? bytes : 4) == cudaSuccess ? p : NULL;
}

static void cuda_release(const Backend *, void *p) { CUDA_CHECK(cudaFree(p)); }

static void cuda_to_device(const Backend *, void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void cuda_to_host(const Backend *, void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

// Queued on the kernels' stream, not the synchronous cudaMemcpy: a recorded step captures it (a
// residual block's skip copies are inside the step), and it stays ordered with the kernels.
static void cuda_copy(const Backend *, void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, NNDL_STREAM));
}

double *cuda_partials(const Backend *be, size_t n)
{
    CudaContext *c = cuda_ctx(be);
    if (n > c->partials_cap) {
        CUDA_CHECK(cudaFree(c->partials));
        c->partials_cap = n;
        CUDA_CHECK(cudaMalloc(&c->partials, c->partials_cap * sizeof *c->partials));
    }
    return c->partials;
}

__global__ void sum_into_kernel(double *slot, const double *partials, int n, double scale, double divisor,
                                int accumulate)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += partials[i];
    s = s * scale / divisor;
    *slot = accumulate ? *slot + s : s;
}

void cuda_sum_into(double *slot, const double *partials, int n, double scale, double divisor, int accumulate)
{
    NNDL_LAUNCH(sum_into_kernel, 1, 1, 0, slot, partials, n, scale, divisor, accumulate);
}

// Waits for the queued work; only profiles call it (a plain step makes no sync).
static void cuda_synchronize(const Backend *)
{
    CUDA_CHECK(cudaDeviceSynchronize());
}

static Backend make_table(void)
{
    Backend b;
    memset(&b, 0, sizeof b);
    b.name = "cuda";
    b.describe = cuda_describe;
    b.alloc = cuda_alloc;
    b.release = cuda_release;
    b.to_device = cuda_to_device;
    b.to_host = cuda_to_host;
    b.copy = cuda_copy;
    b.fill = cuda_fill;
    b.affine_forward = cuda_affine_forward;
    b.affine_backward = cuda_affine_backward;
    b.relu_forward = cuda_relu_forward;
    b.relu_backward = cuda_relu_backward;
    b.conv_reserve = cuda_conv_reserve;
    b.conv_forward = cuda_conv_forward;
    b.conv_backward = cuda_conv_backward;
    b.max_pool_forward = cuda_max_pool_forward;
    b.max_pool_backward = cuda_max_pool_backward;
    b.batchnorm_forward = cuda_batchnorm_forward;
    b.batchnorm_backward = cuda_batchnorm_backward;
    b.bn_relu_pool_forward = cuda_bn_relu_pool_forward;
    b.bn_relu_pool_backward = cuda_bn_relu_pool_backward;
    b.global_avg_pool_forward = cuda_global_avg_pool_forward;
    b.global_avg_pool_backward = cuda_global_avg_pool_backward;
    b.gelu_forward = cuda_gelu_forward;
    b.gelu_backward = cuda_gelu_backward;
    b.scale = cuda_scale;
    b.add = cuda_add;
    b.dropout_forward = cuda_dropout_forward;
    b.dropout_backward = cuda_dropout_backward;
    b.softmax_loss = cuda_softmax_loss;
    b.svm_loss = cuda_svm_loss;
    b.softmax_smoothed_loss = cuda_softmax_smoothed_loss;
    b.augment = cuda_augment;
    b.axpby = cuda_axpby;
    b.update[UPDATE_SGD] = cuda_sgd;
    b.update[UPDATE_SGD_MOMENTUM] = cuda_sgd_momentum;
    b.update[UPDATE_SGD_NESTEROV_MOMENTUM] = cuda_sgd_nesterov_momentum;
    b.update[UPDATE_RMSPROP] = cuda_rmsprop;
    b.update[UPDATE_ADAM] = cuda_adam;
    b.l2_penalty = cuda_l2_penalty;
    b.synchronize = cuda_synchronize;
    b.gather = cuda_gather;
    b.count_correct = cuda_count_correct;
    b.step_finish = cuda_step_finish;
    b.ema_step = cuda_ema_step;
    b.capture = cuda_capture;
    b.graph_launch = cuda_graph_launch;
    b.graph_destroy = cuda_graph_destroy;
    b.set_precision = cuda_set_precision;
    b.counters = cuda_counters;
    b.batchnorm_sums = cuda_batchnorm_sums;
    b.batchnorm_forward_sums = cuda_batchnorm_forward_sums;
    b.batchnorm_backward_sums = cuda_batchnorm_backward_sums;
#if defined(NNDL_SIMT_HOST)
    b.allreduce = comm_allreduce_host_memory; // the SIMT host's device memory is host memory
#elif defined(NNDL_NCCL)
    b.allreduce = cuda_nccl_allreduce;
#endif // else NULL: comm_allreduce_on stages through host memory
    return b;
}

static void cuda_fini(Backend *be)
{
    CudaContext *c = cuda_ctx(be);
    if (!c) return;
    cuda_nccl_free(be);
    if (c->blas) cublasDestroy(c->blas);
    cudaFree(c->partials);
#if NNDL_CUDNN_ENGINE
    cudnn_free(c);
#endif
    cudaFree(c->conv_ws);
    cudaFree(c->blas_ws);
    free(c);
    be->ctx = NULL;
}

// Ranks of a data-parallel run on one machine take one GPU each: the launcher's local rank
// (mpirun, srun) modulo the GPUs this process sees; outside a launch, device 0 as always.
static void select_local_device(int count)
{
#ifdef NNDL_SIMT_HOST
    (void)count; // one "device", the host
#else
    static const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            cudaSetDevice(atoi(v) % count);
            return;
        }
    }
#endif
}

// No cached answer: the runtime gives the same reason on every call, so every caller sees the
// first failure's words, not a generic second-time message.
static int cuda_init(Backend *be)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0)
        return nndl_fail("cuda: no usable GPU (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    if (cuda_check_device() != NNDL_OK) return NNDL_ERR;
    select_local_device(count);
    CudaContext *c = (CudaContext *)nndl_alloc(1, sizeof *c, "the cuda backend context");
    if (!c) return NNDL_ERR;
    memset(c, 0, sizeof *c);
    *be = make_table();
    be->ctx = c;
    if (cublasCreate(&c->blas) != CUBLAS_STATUS_SUCCESS) {
        c->blas = NULL;
        cuda_fini(be);
        return nndl_fail("cuda: cannot create a cuBLAS handle");
    }
    // cuBLAS works on the stream the kernels use (the one a graph captures), in a workspace of
    // its own given here (32 MiB, what cuBLAS asks for on Hopper), never allocated mid-capture
    if (cublasSetStream(c->blas, NNDL_STREAM) != CUBLAS_STATUS_SUCCESS ||
        cudaMalloc(&c->blas_ws, CUDA_BLAS_WORKSPACE) != cudaSuccess ||
        cublasSetWorkspace(c->blas, c->blas_ws, CUDA_BLAS_WORKSPACE) != CUBLAS_STATUS_SUCCESS) {
        cuda_fini(be);
        return nndl_fail("cuda: cannot give cuBLAS its stream and workspace");
    }
#if NNDL_CUDNN_ENGINE
    // convolutions through cuDNN unless NNDL_CUDA_CONV=im2col; a cuDNN that cannot start leaves
    // the im2col engine, said once on stderr
    const char *engine = getenv("NNDL_CUDA_CONV");
    if (!(engine && strcmp(engine, "im2col") == 0) && cudnn_init(c) != NNDL_OK)
        fprintf(stderr, "nndl: %s; convolutions use the im2col engine\n", nndl_last_error());
#endif
    c->partials_cap = CUDA_PARTIALS_START;
    c->conv_chunk_floats = CUDA_CONV_CHUNK_FLOATS;
    if (cudaMalloc(&c->partials, c->partials_cap * sizeof *c->partials) != cudaSuccess) {
        cuda_fini(be);
        return nndl_fail("cuda: out of device memory for the partial-sum buffer");
    }
    return NNDL_OK;
}

extern "C" const BackendDriver cuda_driver = {"cuda", cuda_init, cuda_fini};
