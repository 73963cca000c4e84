/* cpu_batchnorm.c — batchnorm on the layout (N, C, S), statistics per channel.
 *
 * Sums run in double: a channel of a batch-1000 conv layer holds a million values, too many to
 * add in float without losing the variance. Backward uses the closed form
 *   dx = gamma * inv_std / M * (M*dout - sum(dout) - x_hat * sum(dout * x_hat)),  M = N*S,
 * which equals the seed's graph (through dvar and dmean) but needs two passes only. */
#include <math.h>

#include "cpu_ops.h"

#define AT(n, c, s) (((size_t)(n) * C + (c)) * S + (s))

void cpu_batchnorm_forward(float *out, float *mean, float *inv_std, float *running_mean,
                           float *running_var, const float *x, const float *gamma,
                           const float *beta, const BNConfig *cfg, int N, int C, int S)
{
    double count = (double)N * S;
    for (int c = 0; c < C; c++) {
        double mu, var;
        if (cfg->train) {
            double sum = 0, sq = 0;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) sum += x[AT(n, c, s)];
            mu = sum / count;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) sq += (x[AT(n, c, s)] - mu) * (x[AT(n, c, s)] - mu);
            var = sq / count;
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
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++)
                out[AT(n, c, s)] = gamma[c] * ((x[AT(n, c, s)] - m) * istd) + beta[c];
    }
}

void cpu_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dout,
                            const float *x, const float *gamma, const float *mean,
                            const float *inv_std, int N, int C, int S)
{
    double count = (double)N * S;
    for (int c = 0; c < C; c++) {
        double sum_d = 0, sum_dxhat = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                double d = dout[AT(n, c, s)];
                sum_d += d;
                sum_dxhat += d * ((x[AT(n, c, s)] - mean[c]) * inv_std[c]);
            }
        dgamma[c] = (float)sum_dxhat;
        dbeta[c] = (float)sum_d;
        float k = (float)(gamma[c] * inv_std[c] / count);
        float mean_d = (float)sum_d, mean_dxhat = (float)sum_dxhat, M = (float)count;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                float xhat = (x[AT(n, c, s)] - mean[c]) * inv_std[c];
                dx[AT(n, c, s)] = k * (M * dout[AT(n, c, s)] - mean_d - xhat * mean_dxhat);
            }
    }
}
