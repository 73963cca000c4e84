/* cpu_gemm.h — the CPU backend's one matrix product, row-major C = alpha op(A) op(B) + beta C.
 *
 * Built with oneDNN (libdnnl-dev, found by the Makefile; `make DNNL=0` leaves it out) the
 * product is oneDNN's dnnl_sgemm, else OpenBLAS's cblas_sgemm. oneDNN's JIT kernels are much
 * faster on the thin products of a small batch (the seed's affine500 at batch 50: forward 1.4x,
 * the weight gradient 1.8-2.2x, dx 1.2-1.4x) and level with OpenBLAS or ahead on large ones
 * (`nndl bench gemm`, docs/benchmarks.md). Both run single-threaded inside an active OpenMP
 * parallel region and use the whole team outside one. */
#ifndef NNDL_CPU_GEMM_H
#define NNDL_CPU_GEMM_H

#include <stdbool.h>
#include <stddef.h>

typedef enum CpuGemmLibrary { CPU_GEMM_OPENBLAS, CPU_GEMM_ONEDNN } CpuGemmLibrary;

/* The product on the build's library: oneDNN where built with it, else OpenBLAS. */
void cpu_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc);

/* The same product on a named library (the bench compares them); OpenBLAS does it when lib is
 * not in this build (cpu_gemm_has) or refused it. Returns whether lib did it. */
bool cpu_sgemm_on(CpuGemmLibrary lib, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);
bool cpu_gemm_has(CpuGemmLibrary lib);

/* "GEMM oneDNN 2.6.3; BLAS OpenBLAS 0.3.21 ..., 2 threads": the libraries and their versions,
 * for `nndl check`, --version and the bench's header. */
void cpu_gemm_describe(char *buf, size_t size);

#endif
