/* cpu_backend.c — the "cpu" dispatch table: host memory and the float32 CPU ops. */
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"

static void *cpu_alloc(size_t bytes)
{   /* 64-byte alignment suits SIMD loads and BLAS panels */
    void *p = NULL;
    return posix_memalign(&p, 64, bytes ? bytes : 64) == 0 ? p : NULL;
}

static void cpu_release(void *p) { free(p); }

static void cpu_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes) memmove(dst, src, bytes);
}

static void cpu_fill(float *x, float value, size_t n)
{
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) x[i] = value;
}

const Backend cpu_backend = {
    .name = "cpu",
    .describe = cpu_describe,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .to_device = cpu_copy,
    .to_host = cpu_copy,
    .copy = cpu_copy,
    .fill = cpu_fill,
    .affine_forward = cpu_affine_forward,
    .affine_backward = cpu_affine_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .conv_workspace = cpu_conv_workspace,
    .conv_forward = cpu_conv_forward,
    .conv_backward = cpu_conv_backward,
    .max_pool_forward = cpu_max_pool_forward,
    .max_pool_backward = cpu_max_pool_backward,
    .batchnorm_forward = cpu_batchnorm_forward,
    .batchnorm_backward = cpu_batchnorm_backward,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .softmax_loss = cpu_softmax_loss,
    .svm_loss = cpu_svm_loss,
    .update = {
        [UPDATE_SGD] = cpu_sgd,
        [UPDATE_SGD_MOMENTUM] = cpu_sgd_momentum,
        [UPDATE_SGD_NESTEROV_MOMENTUM] = cpu_sgd_nesterov_momentum,
        [UPDATE_RMSPROP] = cpu_rmsprop,
        [UPDATE_ADAM] = cpu_adam,
    },
    .l2_penalty = cpu_l2_penalty,
};
