/* cpu_batchnorm.c — batchnorm on the layout (N, C, S), statistics per channel, channels spread
 * over threads.
 *
 * Sums run in double: a channel of a batch-1000 conv layer holds a million values, too many to
 * add in float. One pass gives sum and sum of squares (in double the cancellation of
 * E[x^2] - mean^2 costs nothing at these magnitudes). Backward uses the closed form
 *   dx = gamma * inv_std / M * (M*dout - sum(dout) - x_hat * sum(dout * x_hat)),  M = N*S,
 * which equals the seed's graph (through dvar and dmean) in two passes. */
#include <math.h>

#include "cpu_ops.h"
#include "cpu_parallel.h"

#define AT(n, c) (((size_t)(n) * C + (c)) * S)

void cpu_batchnorm_forward(const Backend *be, float *out, float *mean, float *inv_std, float *running_mean,
                           float *running_var, const float *x, const float *gamma,
                           const float *beta, const BNConfig *cfg, int N, int C, int S)
{
    (void)be;
    double count = (double)N * S;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        double mu, var;
        if (cfg->train) {
            double sum = 0, sq = 0;
            for (int n = 0; n < N; n++) {
                const float *xs = x + AT(n, c);
#pragma omp simd reduction(+ : sum, sq)
                for (int s = 0; s < S; s++) sum += xs[s], sq += (double)xs[s] * xs[s];
            }
            mu = sum / count;
            var = sq / count - mu * mu;
            if (var < 0) var = 0;
            running_mean[c] = cfg->momentum * running_mean[c] + (1 - cfg->momentum) * (float)mu;
            running_var[c] = cfg->momentum * running_var[c] + (1 - cfg->momentum) * (float)var;
        } else {
            mu = running_mean[c];
            var = running_var[c];
        }
        float m = (float)mu, istd = (float)(1.0 / sqrt(var + cfg->eps));
        if (cfg->train) {
            mean[c] = m;
            inv_std[c] = istd;
        }
        float scale = gamma[c] * istd, shift = beta[c];
        for (int n = 0; n < N; n++) {
            const float *xs = x + AT(n, c);
            float *os = out + AT(n, c);
#pragma omp simd
            for (int s = 0; s < S; s++) os[s] = (xs[s] - m) * scale + shift; /* centre first: no cancellation */
        }
    }
}

void cpu_batchnorm_backward(const Backend *be, float *dx, float *dgamma, float *dbeta, const float *dout,
                            const float *x, const float *gamma, const float *mean,
                            const float *inv_std, int N, int C, int S)
{
    (void)be;
    double count = (double)N * S;
#pragma omp parallel for schedule(static) if ((size_t)N * C * S > CPU_PARALLEL_MIN)
    for (int c = 0; c < C; c++) {
        double sum_d = 0, sum_dx = 0; /* sum(dout), sum(dout * x) */
        for (int n = 0; n < N; n++) {
            const float *ds = dout + AT(n, c), *xs = x + AT(n, c);
#pragma omp simd reduction(+ : sum_d, sum_dx)
            for (int s = 0; s < S; s++) sum_d += ds[s], sum_dx += (double)ds[s] * xs[s];
        }
        double sum_dxhat = (sum_dx - mean[c] * sum_d) * inv_std[c];
        dgamma[c] = (float)sum_dxhat;
        dbeta[c] = (float)sum_d;
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
}
