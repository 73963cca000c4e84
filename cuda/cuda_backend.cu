// cuda_backend.cu — the "cuda" dispatch table: device memory, the cuBLAS handle, and the probe
// that says whether a GPU (or, in tests, the SIMT host) is there.
#include "cuda_ops.h"

#include <string.h>

#include "error.h"

static void *cuda_alloc(size_t bytes)
{
    void *p = NULL;
    return cudaMalloc(&p, bytes ? bytes : 4) == cudaSuccess ? p : NULL;
}

static void cuda_release(void *p) { CUDA_CHECK(cudaFree(p)); }

static void cuda_to_device(void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void cuda_to_host(void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

static void cuda_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

cublasHandle_t cuda_blas(void)
{
    static cublasHandle_t handle = NULL; // backend state: created once, lives with the process
    if (!handle) CUBLAS_CHECK(cublasCreate(&handle));
    return handle;
}

double *cuda_partials(size_t n)
{
    static double *buffer = NULL; // backend state, like the cuBLAS handle
    static size_t capacity = 0;
    if (n > capacity) {
        if (buffer) CUDA_CHECK(cudaFree(buffer));
        capacity = n > 4096 ? n : 4096;
        CUDA_CHECK(cudaMalloc(&buffer, capacity * sizeof *buffer));
    }
    return buffer;
}

double cuda_sum_partials(const double *partials, int n)
{
    double *h = (double *)malloc((size_t)n * sizeof *h), s = 0;
    CUDA_CHECK(cudaMemcpy(h, partials, (size_t)n * sizeof *h, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++) s += h[i];
    free(h);
    return s;
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
    b.conv_workspace = cuda_conv_workspace;
    b.conv_forward = cuda_conv_forward;
    b.conv_backward = cuda_conv_backward;
    b.max_pool_forward = cuda_max_pool_forward;
    b.max_pool_backward = cuda_max_pool_backward;
    b.batchnorm_forward = cuda_batchnorm_forward;
    b.batchnorm_backward = cuda_batchnorm_backward;
    b.dropout_forward = cuda_dropout_forward;
    b.dropout_backward = cuda_dropout_backward;
    b.softmax_loss = cuda_softmax_loss;
    b.svm_loss = cuda_svm_loss;
    b.update[UPDATE_SGD] = cuda_sgd;
    b.update[UPDATE_SGD_MOMENTUM] = cuda_sgd_momentum;
    b.update[UPDATE_SGD_NESTEROV_MOMENTUM] = cuda_sgd_nesterov_momentum;
    b.update[UPDATE_RMSPROP] = cuda_rmsprop;
    b.update[UPDATE_ADAM] = cuda_adam;
    b.l2_penalty = cuda_l2_penalty;
    return b;
}

extern "C" const Backend *cuda_backend_probe(void)
{
    static Backend table;
    static int checked = 0, usable = 0;
    if (!checked) {
        checked = 1;
        int count = 0;
        cudaError_t e = cudaGetDeviceCount(&count);
        if (e != cudaSuccess || count == 0) {
            nndl_fail("cuda: no usable GPU (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
            return NULL;
        }
        if (cuda_check_device() != NNDL_OK) return NULL;
        table = make_table();
        usable = 1;
    }
    if (!usable) nndl_fail("cuda: no usable GPU");
    return usable ? &table : NULL;
}
