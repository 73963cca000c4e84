/* cpu_backend.c — the "cpu" driver: host memory, the float32 CPU ops, and the context (the conv
 * workspace, allocation counters). */
#include <stdlib.h>
#include <string.h>

#include "cpu_backend.h"
#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "error.h"

static CpuContext *ctx_of(const Backend *be) { return (CpuContext *)be->ctx; }

void *cpu_scratch_alloc(const Backend *be, size_t bytes)
{   /* 64-byte alignment suits SIMD loads and BLAS panels */
    CpuContext *c = ctx_of(be);
    if (c->fail_after == 0) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    if (c->fail_after > 0) c->fail_after--;
    return p;
}

static void *cpu_alloc(const Backend *be, size_t bytes)
{
    void *p = cpu_scratch_alloc(be, bytes);
    if (p) ctx_of(be)->live_allocs++;
    return p;
}

static void cpu_release(const Backend *be, void *p)
{
    if (p) ctx_of(be)->live_allocs--;
    free(p);
}

void cpu_backend_fail_allocs_after(const Backend *be, long n) { ctx_of(be)->fail_after = n; }
long cpu_backend_live_allocs(const Backend *be) { return ctx_of(be)->live_allocs; }
void cpu_backend_set_conv_algo(const Backend *be, int algo) { ctx_of(be)->conv_algo = (CpuConvAlgo)algo; }

static void cpu_copy(const Backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes) memmove(dst, src, bytes);
}

static void cpu_fill(const Backend *be, float *x, float value, size_t n)
{
    (void)be;
#pragma omp parallel for simd if (n > CPU_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) x[i] = value;
}

static const Backend cpu_table = {
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
    .conv_reserve = cpu_conv_reserve,
    .conv_forward = cpu_conv_forward,
    .conv_backward = cpu_conv_backward,
    .max_pool_forward = cpu_max_pool_forward,
    .max_pool_backward = cpu_max_pool_backward,
    .batchnorm_forward = cpu_batchnorm_forward,
    .batchnorm_backward = cpu_batchnorm_backward,
    .bn_relu_pool_forward = cpu_bn_relu_pool_forward,
    .bn_relu_pool_backward = cpu_bn_relu_pool_backward,
    .global_avg_pool_forward = cpu_global_avg_pool_forward,
    .global_avg_pool_backward = cpu_global_avg_pool_backward,
    .gelu_forward = cpu_gelu_forward,
    .gelu_backward = cpu_gelu_backward,
    .scale = cpu_scale,
    .add = cpu_add,
    .dropout_forward = cpu_dropout_forward,
    .dropout_backward = cpu_dropout_backward,
    .softmax_loss = cpu_softmax_loss,
    .svm_loss = cpu_svm_loss,
    .softmax_smoothed_loss = cpu_softmax_smoothed_loss,
    .augment = cpu_augment,
    .axpby = cpu_axpby,
    .update = {
        [UPDATE_SGD] = cpu_sgd,
        [UPDATE_SGD_MOMENTUM] = cpu_sgd_momentum,
        [UPDATE_SGD_NESTEROV_MOMENTUM] = cpu_sgd_nesterov_momentum,
        [UPDATE_RMSPROP] = cpu_rmsprop,
        [UPDATE_ADAM] = cpu_adam,
    },
    .update_folds_l2 = 1,
    .l2_penalty = cpu_l2_penalty,
    .allreduce = comm_allreduce_host_memory,
    .batchnorm_sums = cpu_batchnorm_sums,
    .batchnorm_forward_sums = cpu_batchnorm_forward_sums,
    .batchnorm_backward_sums = cpu_batchnorm_backward_sums,
};

static int cpu_init(Backend *be)
{
    CpuContext *c = nndl_alloc(1, sizeof *c, "the cpu backend context");
    if (!c) return NNDL_ERR;
    *c = (CpuContext){.fail_after = -1};
    *be = cpu_table;
    be->ctx = c;
    return NNDL_OK;
}

static void cpu_fini(Backend *be)
{
    CpuContext *c = ctx_of(be);
    if (!c) return;
    free(c->conv_ws);
    free(c);
    be->ctx = NULL;
}

const BackendDriver cpu_driver = {"cpu", cpu_init, cpu_fini};
