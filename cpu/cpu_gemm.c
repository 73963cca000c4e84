/* cpu_gemm.c — cpu_sgemm on oneDNN or OpenBLAS (see cpu_gemm.h). */
#include "cpu_gemm.h"

#include <cblas.h>
#include <stdio.h>
#ifdef NNDL_DNNL
#include <dnnl.h>
#endif

bool cpu_gemm_has(CpuGemmLibrary lib)
{
#ifdef NNDL_DNNL
    return lib == CPU_GEMM_OPENBLAS || lib == CPU_GEMM_ONEDNN;
#else
    return lib == CPU_GEMM_OPENBLAS;
#endif
}

bool cpu_sgemm_on(CpuGemmLibrary lib, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
#ifdef NNDL_DNNL
    /* oneDNN refuses only arguments OpenBLAS would refuse too, or a failed allocation of its
     * workspace: OpenBLAS then does the product (and reports bad arguments its own way). */
    if (lib == CPU_GEMM_ONEDNN &&
        dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) ==
            dnnl_success)
        return true;
#endif
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
    return lib == CPU_GEMM_OPENBLAS;
}

void cpu_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc)
{
    (void)cpu_sgemm_on(cpu_gemm_has(CPU_GEMM_ONEDNN) ? CPU_GEMM_ONEDNN : CPU_GEMM_OPENBLAS, trans_a, trans_b, M, N,
                       K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void cpu_gemm_describe(char *buf, size_t size)
{
    char gemm[64] = "GEMM OpenBLAS";
#ifdef NNDL_DNNL
    const dnnl_version_t *v = dnnl_version();
    snprintf(gemm, sizeof gemm, "GEMM oneDNN %d.%d.%d", v->major, v->minor, v->patch);
#endif
    snprintf(buf, size, "%s; BLAS %s, %d threads", gemm, openblas_get_config(), openblas_get_num_threads());
}
