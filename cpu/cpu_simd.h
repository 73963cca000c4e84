/* cpu_simd.h — CPU_VECTOR_CLONES marks a hot loop function to be built twice, for x86-64-v3
 * (AVX2: 8 floats per instruction) and for the baseline x86-64 the rest of nndl is built for
 * (SSE2: 4), the loader picking the one the CPU runs (GCC target_clones, an ifunc).
 *
 * x86-64-v3 is chosen by the CPU's features; "arch=haswell" would be chosen by its model name and
 * so never on AMD CPUs (seen: the default clone ran on an AVX2 EPYC). FMA is in x86-64-v3 but the
 * ISO C mode (-std=c11) keeps floating-point contraction off, so both clones do the same
 * arithmetic; only `omp simd` reductions, which may reassociate, can differ by rounding.
 * Sanitizer builds and other compilers get the plain function. */
#ifndef NNDL_CPU_SIMD_H
#define NNDL_CPU_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define CPU_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_VECTOR_CLONES
#endif

#endif
