// cuda_graph.cu — recording the backend's ops as a CUDA graph and replaying it; the precision of
// the matrix products (cuBLAS math mode); and the runtime's counters where the SIMT host keeps
// them. Every kernel and cuBLAS call runs on NNDL_STREAM (cuda_compat.h), the stream captured.
#include "cuda_ops.h"

#include <stdlib.h>

#include "error.h"

struct BackendGraph {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
};

BackendGraph *cuda_capture(const Backend *, void (*record)(void *ctx), void *ctx)
{
    cudaError_t e = cudaStreamBeginCapture(NNDL_STREAM, cudaStreamCaptureModeGlobal);
    if (e != cudaSuccess) {
        nndl_fail("cuda: cannot start recording a graph (%s)", cudaGetErrorString(e));
        return NULL;
    }
    record(ctx);
    cudaGraph_t graph = NULL;
    e = cudaStreamEndCapture(NNDL_STREAM, &graph);
    BackendGraph *g = e == cudaSuccess ? (BackendGraph *)calloc(1, sizeof *g) : NULL;
    if (g) g->graph = graph;
    if (g) e = cudaGraphInstantiate(&g->exec, g->graph, 0);
    if (e != cudaSuccess || !g) {
        cudaGetLastError(); // the failed capture's error is answered here, not by the next op
        if (graph) cudaGraphDestroy(graph);
        free(g);
        nndl_fail("cuda: recording the step as a graph failed (%s)",
                  e != cudaSuccess ? cudaGetErrorString(e) : "out of host memory");
        return NULL;
    }
    return g;
}

void cuda_graph_launch(const Backend *, BackendGraph *g) { CUDA_CHECK(cudaGraphLaunch(g->exec, NNDL_STREAM)); }

void cuda_graph_destroy(const Backend *, BackendGraph *g)
{
    if (!g) return;
    cudaGraphExecDestroy(g->exec);
    cudaGraphDestroy(g->graph);
    free(g);
}

// TF32: the gemms on tensor cores with inputs rounded to a 10-bit mantissa (about 1e-3
// relative), accumulated in float32. FP32 forbids it (cuBLAS's default may not use TF32 either).
int cuda_set_precision(const Backend *be, Precision p)
{
    cublasMath_t mode = p == PRECISION_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
    if (cublasSetMathMode(cuda_blas(be), mode) != CUBLAS_STATUS_SUCCESS)
        return nndl_fail("cuda: cuBLAS refused the %s math mode", p == PRECISION_TF32 ? "tf32" : "fp32");
    return NNDL_OK;
}

#ifdef NNDL_SIMT_HOST
int cuda_counters(const Backend *, DeviceCounters *c, int reset)
{
    simt::Counters k = simt::counters();
    *c = DeviceCounters{k.launches, k.graph_launches, k.blas_calls, k.h2d, k.h2d_bytes, k.d2h, k.d2h_bytes, k.syncs,
                        k.allocs};
    if (reset) simt::reset_counters();
    return NNDL_OK;
}
#else
int cuda_counters(const Backend *, DeviceCounters *, int)
{
    return nndl_fail("cuda: the runtime's counters are kept by the SIMT host only (on a GPU, use nsys)");
}
#endif
