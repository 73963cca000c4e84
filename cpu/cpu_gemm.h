/* cpu_gemm.h — the CPU backend's one matrix product, row-major C = alpha op(A) op(B) + beta C.
 *
 * Built with oneDNN (libdnnl-dev, found by the Makefile; `make DNNL=0` leaves it out) the
 * product is oneDNN's dnnl_sgemm, else OpenBLAS's cblas_sgemm. oneDNN's JIT kernels are much
 * faster on the thin products of a small batch (the seed's affine500 at batch 50: forward 6.3
 * ms against OpenBLAS's 9.0, the weight gradient 5.9 against 13.3) and level with OpenBLAS on
 * large ones (docs/benchmarks.md, 2026-11-26). Both run single-threaded inside an OpenMP
 * parallel region and use the whole team outside one. */
#ifndef NNDL_CPU_GEMM_H
#define NNDL_CPU_GEMM_H

#include <stdbool.h>
#include <stddef.h>

void cpu_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
               int ldb, float beta, float *C, int ldc);

/* "GEMM oneDNN 2.6.3, BLAS OpenBLAS 0.3.21 ..., 2 threads": the libraries and their versions,
 * for `nndl check`, --version and the bench's header. */
void cpu_gemm_describe(char *buf, size_t size);

#endif
