/* ref_dense.c — reference affine, relu, GELU, scale, add, dropout and the two losses (double
 * precision). */
#include <math.h>
#include <string.h>

#include "dropout_mask.h"
#include "reference.h"

void ref_affine_forward(double *out, const double *x, const double *w, const double *b,
                        int N, int D, int M)
{
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double s = b[m];
            for (int d = 0; d < D; d++) s += x[(size_t)n * D + d] * w[(size_t)d * M + m];
            out[(size_t)n * M + m] = s;
        }
}

void ref_affine_backward(double *dx, double *dw, double *db, const double *dout,
                         const double *x, const double *w, int N, int D, int M)
{
    for (int m = 0; m < M; m++) {
        double s = 0;
        for (int n = 0; n < N; n++) s += dout[(size_t)n * M + m];
        db[m] = s;
    }
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += x[(size_t)n * D + d] * dout[(size_t)n * M + m];
            dw[(size_t)d * M + m] = s;
        }
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double s = 0;
            for (int m = 0; m < M; m++) s += dout[(size_t)n * M + m] * w[(size_t)d * M + m];
            dx[(size_t)n * D + d] = s;
        }
}

void ref_relu_forward(double *out, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void ref_relu_backward(double *dx, const double *dout, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}

void ref_gelu_forward(double *out, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
}

/* d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density */
void ref_gelu_backward(double *dx, const double *dout, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double cdf = 0.5 * (1 + erf(x[i] / sqrt(2.0))), pdf = exp(-0.5 * x[i] * x[i]) / sqrt(2 * M_PI);
        dx[i] = dout[i] * (cdf + x[i] * pdf);
    }
}

void ref_scale(double *out, const double *x, double alpha, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = alpha * x[i];
}

void ref_add(double *out, const double *a, const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* Test mode is the identity, in both directions. */
static void dropout_apply(double *y, const double *v, size_t n, float p_keep, uint64_t seed,
                          uint64_t step, int train)
{
    for (size_t i = 0; i < n; i++)
        y[i] = !train ? v[i] : dropout_keep(seed, step, i, p_keep) ? v[i] / p_keep : 0;
}

void ref_dropout_forward(double *out, const double *x, size_t n, float p_keep, uint64_t seed,
                         uint64_t step, int train)
{
    dropout_apply(out, x, n, p_keep, seed, step, train);
}

void ref_dropout_backward(double *dx, const double *dout, size_t n, float p_keep,
                          uint64_t seed, uint64_t step, int train)
{
    dropout_apply(dx, dout, n, p_keep, seed, step, train);
}

double ref_softmax_loss(double *dx, const double *x, const int *y, int N, int C)
{
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const double *row = x + (size_t)n * C;
        double mx = row[0], z = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, row[c]);
        for (int c = 0; c < C; c++) z += exp(row[c] - mx);
        loss += -(row[y[n]] - mx - log(z));
        if (dx)
            for (int c = 0; c < C; c++)
                dx[(size_t)n * C + c] = (exp(row[c] - mx) / z - (c == y[n])) / N;
    }
    return loss / N;
}

double ref_softmax_loss_smoothed(double *dx, const double *x, const int *y, int N, int C, double eps)
{
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const double *row = x + (size_t)n * C;
        double mx = row[0], z = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, row[c]);
        for (int c = 0; c < C; c++) z += exp(row[c] - mx);
        for (int c = 0; c < C; c++) { /* -sum_c q_c log p_c with the smoothed target q */
            double q = (1 - eps) * (c == y[n]) + eps / C;
            loss -= q * (row[c] - mx - log(z));
            if (dx) dx[(size_t)n * C + c] = (exp(row[c] - mx) / z - q) / N;
        }
    }
    return loss / N;
}

double ref_svm_loss(double *dx, const double *x, const int *y, int N, int C)
{
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const double *row = x + (size_t)n * C;
        int positive = 0;
        for (int c = 0; c < C; c++) {
            double margin = c == y[n] ? 0 : fmax(0, row[c] - row[y[n]] + 1.0);
            loss += margin;
            positive += margin > 0;
            if (dx) dx[(size_t)n * C + c] = (margin > 0) / (double)N;
        }
        if (dx) dx[(size_t)n * C + y[n]] = -positive / (double)N;
    }
    return loss / N;
}
