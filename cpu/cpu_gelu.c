/* cpu_gelu.c — GELU, x·Φ(x), and its derivative on the CPU, in loops the compiler vectorises.
 *
 * The C library's erff and expf are scalar calls (~15 ns per element here), which made GELU a
 * fifth of a training step of the cifar-fast net. Instead Φ comes from the complementary error
 * function in the form of Abramowitz & Stegun 7.1.26, erfc(z) ≈ t·P(t)·e^(-z²), t = 1/(1 + p z),
 * z ≥ 0 (absolute error ≤ 1.5e-7), and e^(-z²) from a range-reduced polynomial; the derivative
 * Φ(x) + x·φ(x) reuses the same exponential, since φ(x) = e^(-z²)/√(2π) with z = |x|/√2.
 * Measured against the double reference over [-12, 12]: see test_gelu_accuracy (cpu suite).
 * The element loops are built twice, for AVX2 and for the baseline x86-64 (cpu_simd.h). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "cpu_simd.h"

/* e^x for x ≤ 0 (the only use here): x = n ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to
 * r^7 (relative error < 2e-9 before float rounding), 2^n from the exponent bits. Arguments below
 * -87 are clamped there (e^-87 ≈ 1.6e-38, a negligible absolute error for Φ's tails). The code
 * has no branches, so that the loops below vectorise. */
static inline __attribute__((always_inline)) float exp_nonpositive(float x)
{
    x = x > -87.0f ? x : -87.0f;
    const float round_magic = 12582912.0f; /* 1.5·2^23: adding and subtracting rounds to an integer */
    float n = (x * 1.44269504f + round_magic) - round_magic;
    float r = (x - n * 0.693359375f) + n * 2.12194440e-4f; /* ln2 = 0.693359375 - 2.12e-4: n·0.693359375 is exact */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
                                                                                 r * (1.0f / 720 + r * (1.0f / 5040)))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Φ(x) and, through *gauss, e^(-x²/2) */
static inline __attribute__((always_inline)) float normal_cdf(float x, float *gauss)
{
    float negative = x < 0 ? 1.0f : 0.0f; /* a select of constants: no branch */
    float z = fabsf(x) * 0.70710678f;
    float t = 1.0f / (1.0f + 0.3275911f * z);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    float e = exp_nonpositive(-z * z);
    float half_erfc = 0.5f * poly * e;
    *gauss = e;
    return negative * half_erfc + (1.0f - negative) * (1.0f - half_erfc);
}

CPU_VECTOR_CLONES static void gelu_forward_range(float *out, const float *x, size_t lo, size_t hi)
{
#pragma omp simd
    for (size_t i = lo; i < hi; i++) {
        float g;
        out[i] = x[i] * normal_cdf(x[i], &g);
    }
}

CPU_VECTOR_CLONES static void gelu_backward_range(float *dx, const float *dout, const float *x, size_t lo, size_t hi)
{
    const float inv_sqrt_2pi = 0.3989422804f;
#pragma omp simd
    for (size_t i = lo; i < hi; i++) {
        float g, cdf = normal_cdf(x[i], &g);
        dx[i] = dout[i] * (cdf + x[i] * inv_sqrt_2pi * g);
    }
}

#define GELU_BLOCK 4096 /* elements per scheduling unit: 16 KiB per array */

void cpu_gelu_forward(const Backend *be, float *out, const float *x, size_t n)
{
    (void)be;
    size_t blocks = (n + GELU_BLOCK - 1) / GELU_BLOCK;
#pragma omp parallel for if (n > CPU_PARALLEL_MIN / 8)
    for (size_t b = 0; b < blocks; b++)
        gelu_forward_range(out, x, b * GELU_BLOCK, b * GELU_BLOCK + GELU_BLOCK < n ? b * GELU_BLOCK + GELU_BLOCK : n);
}

void cpu_gelu_backward(const Backend *be, float *dx, const float *dout, const float *x, size_t n)
{
    (void)be;
    size_t blocks = (n + GELU_BLOCK - 1) / GELU_BLOCK;
#pragma omp parallel for if (n > CPU_PARALLEL_MIN / 8)
    for (size_t b = 0; b < blocks; b++)
        gelu_backward_range(dx, dout, x, b * GELU_BLOCK,
                            b * GELU_BLOCK + GELU_BLOCK < n ? b * GELU_BLOCK + GELU_BLOCK : n);
}
