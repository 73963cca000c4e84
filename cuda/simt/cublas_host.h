/* cublas_host.h — the cuBLAS subset nndl uses, served on the CPU for the SIMT host, with
 * cuBLAS's exact semantics: column-major storage, op(A) = A or Aᵀ, leading dimensions,
 * alpha/beta, and beta == 0 meaning C is not read (so NaN garbage in C does not leak). */
#ifndef NNDL_CUBLAS_HOST_H
#define NNDL_CUBLAS_HOST_H

#ifdef __CUDACC__
#error "cublas_host.h stands in for cuBLAS on the CPU; nvcc builds use the real one"
#endif

typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
} cublasStatus_t;

typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;

typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
} cublasMath_t;

typedef struct SimtCublas *cublasHandle_t;

cublasStatus_t cublasCreate(cublasHandle_t *handle);
cublasStatus_t cublasDestroy(cublasHandle_t handle);
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
/* CUBLAS_TF32_TENSOR_OP_MATH: the gemms round their inputs to TF32 (10-bit mantissa, nearest
 * even) as tensor cores do, so the tf32 path's error is seen on the host too. */
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void *workspace, size_t bytes);

/* Every call is counted (simt::counters().blas_calls) and its work runs at once, or is recorded
 * while a stream capture is active, as a kernel would be. */

/* C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C */
cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k, const float *alpha,
                           const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc);

/* batchCount independent gemms; matrix i starts at A + i*strideA (likewise B, C) */
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb,
                                         long long strideB, const float *beta, float *C, int ldc,
                                         long long strideC, int batchCount);

/* C (m x n) = alpha op(A) + beta op(B) */
cublasStatus_t cublasSgeam(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, const float *alpha,
                           const float *A, int lda, const float *beta, const float *B, int ldb,
                           float *C, int ldc);

const char *cublasGetStatusString(cublasStatus_t status);

#endif
