/* cuda_compat.h — what every .cu file includes first: the real CUDA runtime and cuBLAS under
 * nvcc, the SIMT host's stand-ins otherwise; plus the one launch form and the error checks.
 * Kernel sources compile unchanged either way. */
#ifndef NNDL_CUDA_COMPAT_H
#define NNDL_CUDA_COMPAT_H

#ifdef __CUDACC__
#include <cublas_v2.h>
#include <cuda_runtime.h>
#else
#include "simt/simt.h"
#include "simt/cublas_host.h"
#endif

#include <stdio.h>
#include <stdlib.h>

/* The one launch form: `<<< >>>` under nvcc, a host launch otherwise. A kernel template with
 * commas in its name needs parentheses: NNDL_LAUNCH((k<float, 4>), ...). Kernels go to the
 * per-thread default stream, which (unlike the legacy stream 0) can be captured into a CUDA
 * graph; it is a blocking stream, so it stays ordered with cudaMemcpy on the legacy stream. */
#define NNDL_STREAM cudaStreamPerThread
#ifdef __CUDACC__
#define NNDL_LAUNCH(kernel, grid, block, shmem, ...)                                              \
    kernel<<<(grid), (block), (shmem), NNDL_STREAM>>>(__VA_ARGS__)
#define NNDL_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#else
#define NNDL_LAUNCH(kernel, grid, block, shmem, ...)                                              \
    simt::launch_kernel(kernel, (grid), (block), (shmem), #kernel, __VA_ARGS__)
#define NNDL_DYNAMIC_SHARED(type, name) type *name = static_cast<type *>(simt::dynamic_shared())
#endif

/* Runtime failures are not user input: report file:line and the runtime's words, then stop. */
#define CUDA_CHECK(call)                                                                          \
    do {                                                                                          \
        cudaError_t err_ = (call);                                                                \
        if (err_ != cudaSuccess) {                                                                \
            fprintf(stderr, "%s:%d: CUDA error: %s (%s)\n", __FILE__, __LINE__,                  \
                    cudaGetErrorString(err_), #call);                                             \
            exit(EXIT_FAILURE);                                                                   \
        }                                                                                         \
    } while (0)

#define CUBLAS_CHECK(call)                                                                        \
    do {                                                                                          \
        cublasStatus_t st_ = (call);                                                              \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                       \
            fprintf(stderr, "%s:%d: cuBLAS error: %s (%s)\n", __FILE__, __LINE__,                \
                    cublasGetStatusString(st_), #call);                                           \
            exit(EXIT_FAILURE);                                                                   \
        }                                                                                         \
    } while (0)

/* Grid size covering n items with `block` threads each. */
static inline unsigned nndl_blocks(size_t n, unsigned block) { return (unsigned)((n + block - 1) / block); }

#endif
