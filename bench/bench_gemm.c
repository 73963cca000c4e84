/* bench_gemm.c — `nndl bench gemm`: the cpu backend's matrix products on oneDNN and on OpenBLAS
 * (cpu_gemm.h), on the shapes the seed's net makes: its affine500 layer's three products at
 * batches 50 to 1000 (all threads), and per-image convolution products (one thread, as
 * cpu_conv.c runs them inside its parallel loop). Alternated, best of 5: the measurement behind
 * cpu_sgemm's choice of library. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "cpu_gemm.h"
#include "progress.h"
#include "rng.h"

typedef struct GemmShape {
    const char *what;
    int trans_a, trans_b, M, N, K;
    int one_thread; /* one thread of an active parallel region, as the per-image products */
} GemmShape;

/* Best of 5, in seconds; negative when lib refused the product (OpenBLAS did it instead). Inside
 * an active parallel region (two threads, one working) both libraries run single-threaded. */
static double time_product(CpuGemmLibrary lib, const GemmShape *s, const float *A, const float *B, float *C)
{
    int lda = s->trans_a ? s->M : s->K, ldb = s->trans_b ? s->K : s->N;
    double best = 1e30;
    bool by_lib = true;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_seconds();
#pragma omp parallel num_threads(2) if (s->one_thread)
#pragma omp single
        by_lib &= cpu_sgemm_on(lib, s->trans_a, s->trans_b, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
        double t = now_seconds() - t0;
        best = t < best ? t : best;
    }
    return by_lib ? best : -best;
}

int bench_gemm(void)
{
    /* the seed's affine500: x (N, 16384) by W (16384, 500); dW = xᵀ dout, dx = dout Wᵀ */
    static const GemmShape shapes[] = {
        {"affine500 fwd, batch 50", 0, 0, 50, 500, 16384, 0},     {"affine500 dW, batch 50", 1, 0, 16384, 500, 50, 0},
        {"affine500 dx, batch 50", 0, 1, 50, 16384, 500, 0},      {"affine500 fwd, batch 250", 0, 0, 250, 500, 16384, 0},
        {"affine500 dW, batch 250", 1, 0, 16384, 500, 250, 0},    {"affine500 dx, batch 250", 0, 1, 250, 16384, 500, 0},
        {"affine500 fwd, batch 1000", 0, 0, 1000, 500, 16384, 0}, {"affine500 dW, batch 1000", 1, 0, 16384, 500, 1000, 0},
        {"affine500 dx, batch 1000", 0, 1, 1000, 16384, 500, 0},
        /* conv64x3 on 3 channels, one 32x32 image: [W | b] (64, 28) by the columns (28, 1024) */
        {"conv64x3 fwd, one image", 0, 0, 64, 1024, 28, 1},       {"conv64x3 dW, one image", 0, 1, 64, 28, 1024, 1},
        {"conv64x3 dcols, one image", 1, 0, 27, 1024, 64, 1},
    };
    if (!cpu_gemm_has(CPU_GEMM_ONEDNN))
        printf("this nndl was built without oneDNN (install libdnnl-dev and rebuild): OpenBLAS alone\n\n");
    char libs[256];
    cpu_gemm_describe(libs, sizeof libs);
    printf("nndl bench gemm — %s; %d OpenMP threads\n"
           "best of 5, the two libraries alternated; ms and GFLOP/s\n\n", libs, omp_get_max_threads());
    printf("| product                     | M x N x K            | OpenBLAS ms | GFLOP/s | oneDNN ms | GFLOP/s | OpenBLAS / oneDNN |\n");
    printf("|-----------------------------|----------------------|-------------|---------|-----------|---------|-------------------|\n");
    Rng r;
    rng_seed(&r, 3);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const GemmShape *s = &shapes[i];
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
        if (!A || !B || !C) {
            free(A), free(B), free(C);
            fprintf(stderr, "nndl bench gemm: out of memory\n");
            return 1;
        }
        for (size_t j = 0; j < na; j++) A[j] = (float)rng_gaussian(&r);
        for (size_t j = 0; j < nb; j++) B[j] = (float)rng_gaussian(&r);
        double best[2] = {1e30, 1e30}, gflop = 2e-9 * s->M * s->N * s->K;
        for (int round = 0; round < 2; round++)
            for (int lib = 0; lib < 2; lib++) {
                if (!cpu_gemm_has((CpuGemmLibrary)lib)) continue;
                double t = time_product((CpuGemmLibrary)lib, s, A, B, C);
                if (t < 0) {
                    fprintf(stderr, "nndl bench gemm: oneDNN refused %s; OpenBLAS did it\n", s->what);
                    t = -t;
                }
                best[lib] = t < best[lib] ? t : best[lib];
            }
        char dims[32];
        snprintf(dims, sizeof dims, "%d x %d x %d", s->M, s->N, s->K);
        printf("| %-27s | %-20s | %11.3f | %7.1f |", s->what, dims, best[0] * 1e3, gflop / best[0]);
        if (cpu_gemm_has(CPU_GEMM_ONEDNN))
            printf(" %9.3f | %7.1f | %16.2fx |\n", best[1] * 1e3, gflop / best[1], best[0] / best[1]);
        else printf(" %9s | %7s | %17s |\n", "-", "-", "-");
        free(A), free(B), free(C);
    }
    return 0;
}
