/* k_bn_common.h — what the batchnorm kernels (k_batchnorm.cu) and the fused batchnorm + relu
 * (+ pool) kernels (k_bn_relu.cu) share: the slicing of a channel's reduction over blocks, the
 * in-order combination of the slices, and the statistics derived from the sums, so that both
 * paths compute them with the same arithmetic. */
#ifndef NNDL_K_BN_COMMON_H
#define NNDL_K_BN_COMMON_H

#include "cuda_ops.h"

/* Blocks per channel. The SIMT host runs blocks one after another, so there two slices suffice to
 * exercise the combining step without paying for sixteen. */
#ifdef NNDL_SIMT_HOST
#define BN_SLICES 2
#else
#define BN_SLICES 16
#endif

/* Items [*lo, *hi) of count that slice `slice` of `slices` covers. */
__host__ __device__ inline void bn_slice(size_t *lo, size_t *hi, size_t count, unsigned slice, unsigned slices)
{
    size_t per = (count + slices - 1) / slices;
    *lo = slice * per;
    *hi = *lo + per < count ? *lo + per : count;
    if (*lo > *hi) *lo = *hi;
}

/* Channel c's sums from its BN_SLICES partials (pairs), added in order: deterministic. */
__device__ inline void bn_combine(double *s1, double *s2, const double *partials, int c)
{
    double a = 0, b = 0;
    for (int k = 0; k < BN_SLICES; k++) a += partials[2 * (c * BN_SLICES + k)], b += partials[2 * (c * BN_SLICES + k) + 1];
    *s1 = a, *s2 = b;
}

/* Channel c's mean and 1/std: in train mode from sum(x) and sum(x^2) over count values (and,
 * when `write`, the running statistics updated and mean / inv_std kept for backward); in test
 * mode from the running statistics. */
__device__ inline void bn_channel_stats(float *m, float *istd, float *mean, float *inv_std, float *running_mean,
                                        float *running_var, double s1, double s2, double count, const BNConfig &cfg,
                                        int c, bool write)
{
    double mu, var;
    if (cfg.train) {
        mu = s1 / count;
        var = fmax(s2 / count - mu * mu, 0.0);
        if (write) {
            running_mean[c] = cfg.momentum * running_mean[c] + (1 - cfg.momentum) * (float)mu;
            running_var[c] = cfg.momentum * running_var[c] + (1 - cfg.momentum) * (float)var;
        }
    } else {
        mu = running_mean[c];
        var = running_var[c];
    }
    *m = (float)mu;
    *istd = (float)(1.0 / sqrt(var + cfg.eps));
    if (cfg.train && write) mean[c] = *m, inv_std[c] = *istd;
}

/* The instance's partial-sum buffer for 2 C BN_SLICES doubles of slices, then 2 C doubles of
 * sums, then 2 C floats of per-channel values (k_batchnorm.cu's layout). */
typedef struct BnScratch {
    double *partials, *sums;
    float *a, *b;
} BnScratch;

BnScratch cuda_bn_scratch(const Backend *be, int C);

/* One launch: the (C, BN_SLICES) partial sums of a and of a*b (b NULL: a*a) into partials. */
void cuda_bn_partials(double *partials, const float *a, const float *b, int N, int C, int S);

#endif
