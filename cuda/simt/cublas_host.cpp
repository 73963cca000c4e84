// cublas_host.cpp — cuBLAS semantics on the CPU (see cublas_host.h). Plain loops: the point is
// exactness of the contract, not speed; accumulation in double keeps results close to cuBLAS.
#include "simt.h"

#include "cublas_host.h"

struct SimtCublas {
    cudaStream_t stream;
    cublasMath_t math;
};

cublasStatus_t cublasCreate(cublasHandle_t *handle)
{
    *handle = new SimtCublas{nullptr, CUBLAS_DEFAULT_MATH};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode < CUBLAS_DEFAULT_MATH || mode > CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_INVALID_VALUE;
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void *, size_t)
{
    return handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

// TF32: float's exponent with a 10-bit mantissa, rounded to nearest even (finite values).
static inline float to_tf32(float v)
{
    uint32_t b = (uint32_t)simt::to_bits(v);
    if ((b & 0x7f800000u) == 0x7f800000u) return v;
    b += 0x0fffu + ((b >> 13) & 1u);
    return simt::from_bits<float>(b & 0xffffe000u);
}

// Element (i, j) of op(M), M column-major with leading dimension ld, as the math mode reads it.
static inline float op_at(const float *M, int ld, cublasOperation_t op, int i, int j, bool tf32 = false)
{
    float v = op == CUBLAS_OP_N ? M[i + (long long)j * ld] : M[j + (long long)i * ld];
    return tf32 ? to_tf32(v) : v;
}

static bool valid_op(cublasOperation_t op)
{
    return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

// The argument checks cuBLAS documents for gemm.
static cublasStatus_t gemm_args(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                int m, int n, int k, int lda, int ldb, int ldc)
{
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(ta) || !valid_op(tb) || m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k) || ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) ||
        ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

static void gemm(bool tf32, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            if (alpha != 0)
                for (int l = 0; l < k; l++)
                    s += (double)op_at(A, lda, ta, i, l, tf32) * op_at(B, ldb, tb, l, j, tf32);
            float &c = C[i + (long long)j * ldc];
            c = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * c));
        }
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k, const float *alpha,
                           const float *A, int lda, const float *B, int ldb, const float *beta,
                           float *C, int ldc)
{
    cublasStatus_t st = gemm_args(handle, transa, transb, m, n, k, lda, ldb, ldc);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    simt::count_blas_call();
    // scalars are read at the call, as with CUBLAS_POINTER_MODE_HOST
    float a = *alpha, b = *beta;
    bool tf32 = handle->math == CUBLAS_TF32_TENSOR_OP_MATH;
    simt::device_work([=] { gemm(tf32, transa, transb, m, n, k, a, A, lda, B, ldb, b, C, ldc); });
    return st;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long strideA, const float *B, int ldb,
                                         long long strideB, const float *beta, float *C, int ldc,
                                         long long strideC, int batchCount)
{
    cublasStatus_t st = gemm_args(handle, transa, transb, m, n, k, lda, ldb, ldc);
    if (st != CUBLAS_STATUS_SUCCESS) return st;
    if (batchCount < 0) return CUBLAS_STATUS_INVALID_VALUE;
    simt::count_blas_call();
    float a = *alpha, be = *beta;
    bool tf32 = handle->math == CUBLAS_TF32_TENSOR_OP_MATH;
    simt::device_work([=] {
        for (int b = 0; b < batchCount; b++)
            gemm(tf32, transa, transb, m, n, k, a, A + b * strideA, lda, B + b * strideB, ldb, be, C + b * strideC,
                 ldc);
    });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgeam(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, const float *alpha,
                           const float *A, int lda, const float *beta, const float *B, int ldb,
                           float *C, int ldc)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(transa) || !valid_op(transb) || m < 0 || n < 0 ||
        lda < std::max(1, transa == CUBLAS_OP_N ? m : n) ||
        ldb < std::max(1, transb == CUBLAS_OP_N ? m : n) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    simt::count_blas_call();
    float al = *alpha, be = *beta;
    simt::device_work([=] {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                // a zero scalar means that operand is not read (it may be garbage or even NULL)
                float a = al == 0 ? 0 : al * op_at(A, lda, transa, i, j);
                float b = be == 0 ? 0 : be * op_at(B, ldb, transb, i, j);
                C[i + (long long)j * ldc] = a + b;
            }
    });
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}
