/* cpu_batchnorm.c — batchnorm on the layout (N, C, S), statistics per channel, channels spread
 * over threads.
 *
 * Sums run in double: a channel of a batch-1000 conv layer holds a million values, too many to
 * add in float. One pass gives sum and sum of squares (in double the cancellation of
 * E[x^2] - mean^2 costs nothing at these magnitudes). Backward uses the closed form
 *   dx = gamma * inv_std / M * (M*dout - sum(dout) - x_hat * sum(dout * x_hat)),  M = N*S,
 * which equals the seed's graph (through dvar and dmean) in two passes.
 *
 * The sums and what is derived from them are separate steps, so that synchronised batchnorm
 * (--sync-bn) can add every process's sums in between; one process runs the same steps. */
#include <math.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"
#include "cpu_simd.h"

#define AT(n, c) (((size_t)(n) * C + (c)) * S)

/* sum(a) and sum(a * b) over channel c (b NULL: sum(a * a)) */
CPU_VECTOR_CLONES static void channel_sums(double *s1, double *s2, const float *a, const float *b, int N, int C, int S, int c)
{
    double sum = 0, sq = 0;
    for (int n = 0; n < N; n++) {
        const float *as = a + AT(n, c), *bs = (b ? b : a) + AT(n, c);
#pragma omp simd reduction(+ : sum, sq)
        for (int s = 0; s < S; s++) sum += as[s], sq += (double)as[s] * bs[s];
    }
    *s1 = sum, *s2 = sq;
}

/* The cloned loop behind a plain function: a global target_clones function would export its
 * ifunc from libnndl (the library exports only nndl_ names). */
void cpu_bn_channel_sums(double *s1, double *s2, const float *a, const float *b, int N, int C, int S, int c)
{
    channel_sums(s1, s2, a, b, N, C, S, c);
}

void cpu_bn_channel_stats(float *m, float *istd, float *mean, float *inv_std, float *running_mean,
                          float *running_var, double sum, double sq, double count, const BNConfig *cfg, int c)
{
    double mu, var;
    if (cfg->train) {
        mu = sum / count;
        var = sq / count - mu * mu;
        if (var < 0) var = 0;
        running_mean[c] = cfg->momentum * running_mean[c] + (1 - cfg->momentum) * (float)mu;
        running_var[c] = cfg->momentum * running_var[c] + (1 - cfg->momentum) * (float)var;
    } else {
        mu = running_mean[c];
        var = running_var[c];
    }
    *m = (float)mu, *istd = (float)(1.0 / sqrt(var + cfg->eps));
    if (cfg->train) mean[c] = *m, inv_std[c] = *istd;
}

/* channel c of the forward pass from its sums over count values (train) or the running
 * statistics (test) */
CPU_VECTOR_CLONES static void forward_channel(float *out, float *mean, float *inv_std, float *running_mean, float *running_var,
                            const float *x, const float *gamma, const float *beta, double sum, double sq,
                            double count, const BNConfig *cfg, int N, int C, int S, int c)
{
    float m, istd;
    cpu_bn_channel_stats(&m, &istd, mean, inv_std, running_mean, running_var, sum, sq, count, cfg, c);
    float scale = gamma[c] * istd, shift = beta[c];
    for (int n = 0; n < N; n++) {
        const float *xs = x + AT(n, c);
        float *os = out + AT(n, c);
#pragma omp simd
        for (int s = 0; s < S; s++) os[s] = (xs[s] - m) * scale + shift; /* centre first: no cancellation */
    }
}

/* channel c of dx from the sums sum(dout), sum(dout * x) over count values */
CPU_VECTOR_CLONES static void dx_channel(float *dx, const float *dout, const float *x, const float *gamma, const float *mean,
                       const float *inv_std, double sum_d, double sum_dx, double count, int N, int C, int S, int c)
{
    double sum_dxhat = (sum_dx - mean[c] * sum_d) * inv_std[c];
    /* dx = k * (M dout - sum_d - x_hat sum_dxhat) */
    float k = (float)(gamma[c] * inv_std[c] / count), M = (float)count;
    float sd = (float)sum_d, sdh = (float)sum_dxhat, mu = mean[c], istd = inv_std[c];
    for (int n = 0; n < N; n++) {
        const float *ds = dout + AT(n, c), *xs = x + AT(n, c);
        float *dxs = dx + AT(n, c);
#pragma omp simd
        for (int s = 0; s < S; s++) dxs[s] = k * (M * ds[s] - sd - (xs[s] - mu) * istd * sdh);
    }
}

void cpu_batchnorm_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                           float *running_var, const float *x, const float *gamma,
                           const float *beta, const BNConfig *cfg, int N, int C, int S)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        if (cfg->train) channel_sums(&sum, &sq, x, NULL, N, C, S, c);
        forward_channel(out, mean, inv_std, running_mean, running_var, x, gamma, beta, sum, sq, (double)N * S, cfg,
                        N, C, S, c);
    }
}

void cpu_batchnorm_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                            const float *x, const float *gamma, const float *mean,
                            const float *inv_std, int N, int C, int S)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        double sum_d, sum_dx; /* sum(dout), sum(dout * x) */
        channel_sums(&sum_d, &sum_dx, dout, x, N, C, S, c);
        dgamma[c] = (float)((sum_dx - mean[c] * sum_d) * inv_std[c]);
        dbeta[c] = (float)sum_d;
        dx_channel(dx, dout, x, gamma, mean, inv_std, sum_d, sum_dx, (double)N * S, N, C, S, c);
    }
}

void cpu_batchnorm_sums(const Backend *be, double *sums, const float *a, const float *b, int N, int C, int S)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) channel_sums(&sums[c], &sums[C + c], a, b, N, C, S, c);
}

void cpu_batchnorm_forward_sums(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                                float *running_var, const float *x, const float *gamma, const float *beta,
                                const double *sums, double count, const BNConfig *cfg, int N, int C, int S)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++)
        forward_channel(out, mean, inv_std, running_mean, running_var, x, gamma, beta, sums[c], sums[C + c], count,
                        cfg, N, C, S, c);
}

void cpu_batchnorm_backward_sums(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                                 const float *x, const float *gamma, const float *mean, const float *inv_std,
                                 const double *local, const double *global, double count, int N, int C, int S)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        dgamma[c] = (float)((local[C + c] - mean[c] * local[c]) * inv_std[c]);
        dbeta[c] = (float)local[c];
        dx_channel(dx, dout, x, gamma, mean, inv_std, global[c], global[C + c], count, N, C, S, c);
    }
}
