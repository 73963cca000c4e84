/* ref_batchnorm.c — the seed's batchnorm and spatial batchnorm (double precision), on the
 * layout (N, C, S) so one implementation serves both: S = 1 or S = H*W. */
#include <math.h>
#include <stdlib.h>

#include "reference.h"

#define AT(n, c, s) (((size_t)(n) * C + (c)) * S + (s))

/* Biased (1/M) batch mean and variance of channel c, as np.mean / np.var. */
static void channel_stats(const double *x, int N, int C, int S, int c, double *mean,
                          double *var)
{
    double m = 0, v = 0, count = (double)N * S;
    for (int n = 0; n < N; n++)
        for (int s = 0; s < S; s++) m += x[AT(n, c, s)];
    m /= count;
    for (int n = 0; n < N; n++)
        for (int s = 0; s < S; s++) v += (x[AT(n, c, s)] - m) * (x[AT(n, c, s)] - m);
    *mean = m;
    *var = v / count;
}

void ref_batchnorm_forward(double *out, const double *x, const double *gamma,
                           const double *beta, RefBNParam *p, int N, int C, int S)
{
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (p->train) {
            channel_stats(x, N, C, S, c, &mean, &var);
            p->running_mean[c] = p->momentum * p->running_mean[c] + (1 - p->momentum) * mean;
            p->running_var[c] = p->momentum * p->running_var[c] + (1 - p->momentum) * var;
        } else {
            mean = p->running_mean[c];
            var = p->running_var[c];
        }
        double inv_std = 1.0 / sqrt(var + p->eps);
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++)
                out[AT(n, c, s)] = gamma[c] * (x[AT(n, c, s)] - mean) * inv_std + beta[c];
    }
}

/* The seed's computation graph: through dx_hat, dvar and dmean. */
void ref_batchnorm_backward(double *dx, double *dgamma, double *dbeta, const double *dout,
                            const double *x, const double *gamma, double eps, int N, int C,
                            int S)
{
    double count = (double)N * S;
    for (int c = 0; c < C; c++) {
        double mean, var;
        channel_stats(x, N, C, S, c, &mean, &var);
        double inv_std = 1.0 / sqrt(var + eps);
        double dg = 0, db = 0, dvar = 0, dmean = 0, centered_sum = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                double d = dout[AT(n, c, s)], xc = x[AT(n, c, s)] - mean;
                db += d;
                dg += d * xc * inv_std;
                dvar += d * gamma[c] * xc * -0.5 * pow(var + eps, -1.5);
                dmean += -d * gamma[c] * inv_std;
                centered_sum += xc;
            }
        dmean += dvar * -2.0 * centered_sum / count;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                double xc = x[AT(n, c, s)] - mean;
                dx[AT(n, c, s)] = dout[AT(n, c, s)] * gamma[c] * inv_std +
                                  dvar * 2.0 * xc / count + dmean / count;
            }
        dgamma[c] = dg;
        dbeta[c] = db;
    }
}
