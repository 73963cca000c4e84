/* whiten.c — conv(whiten)'s start (see whiten.h). */
#include "whiten.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void whiten_sym_eigen(double *a, int D, double *lambda, double *v)
{
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) v[i * D + j] = i == j;
    double norm = 0;
    for (int i = 0; i < D * D; i++) norm += a[i] * a[i];
    for (int sweep = 0; sweep < 64; sweep++) {
        double off = 0;
        for (int p = 0; p < D; p++)
            for (int q = p + 1; q < D; q++) off += a[p * D + q] * a[p * D + q];
        if (off <= 1e-30 * norm) break;
        for (int p = 0; p < D; p++)
            for (int q = p + 1; q < D; q++) {
                double apq = a[p * D + q];
                if (apq == 0) continue;
                /* the rotation that zeroes a[p][q]: t = tan(angle), the smaller root of
                 * t^2 + 2 theta t - 1 = 0 */
                double theta = (a[q * D + q] - a[p * D + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < D; k++) { /* columns p and q of a J, then rows of J^T (a J) */
                    double kp = a[k * D + p], kq = a[k * D + q];
                    a[k * D + p] = c * kp - s * kq, a[k * D + q] = s * kp + c * kq;
                }
                for (int k = 0; k < D; k++) {
                    double pk = a[p * D + k], qk = a[q * D + k];
                    a[p * D + k] = c * pk - s * qk, a[q * D + k] = s * pk + c * qk;
                }
                for (int k = 0; k < D; k++) {
                    double kp = v[k * D + p], kq = v[k * D + q];
                    v[k * D + p] = c * kp - s * kq, v[k * D + q] = s * kp + c * kq;
                }
            }
    }
    for (int i = 0; i < D; i++) lambda[i] = a[i * D + i];
    /* largest first (selection sort: D is small), each vector's largest entry positive */
    for (int i = 0; i < D; i++) {
        int best = i;
        for (int j = i + 1; j < D; j++)
            if (lambda[j] > lambda[best]) best = j;
        double tl = lambda[i];
        lambda[i] = lambda[best], lambda[best] = tl;
        for (int k = 0; k < D; k++) {
            double tv = v[k * D + i];
            v[k * D + i] = v[k * D + best], v[k * D + best] = tv;
        }
        int big = 0;
        for (int k = 1; k < D; k++)
            if (fabs(v[k * D + i]) > fabs(v[big * D + i])) big = k;
        if (v[big * D + i] < 0)
            for (int k = 0; k < D; k++) v[k * D + i] = -v[k * D + i];
    }
}

/* The covariance of every K x K patch of d's first n examples (D = C K K, index c K K + y K + x,
 * the weights' layout), accumulated in double. */
static int patch_covariance(double *cov, const Dataset *d, int n, int K)
{
    int C = d->c, D = C * K * K, Ho = d->h - K + 1, Wo = d->w - K + 1;
    double *sum = calloc((size_t)D, sizeof *sum), *x = malloc((size_t)D * sizeof *x);
    if (!sum || !x) {
        free(sum), free(x);
        return nndl_fail("whiten: out of memory for the patch covariance");
    }
    memset(cov, 0, (size_t)D * D * sizeof *cov);
    for (int i = 0; i < n; i++) {
        const float *img = d->x + (size_t)i * dataset_example_size(d);
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                for (int c = 0, k = 0; c < C; c++)
                    for (int y = 0; y < K; y++)
                        for (int xx = 0; xx < K; xx++, k++)
                            x[k] = img[((size_t)c * d->h + oy + y) * d->w + ox + xx];
                for (int p = 0; p < D; p++) {
                    sum[p] += x[p];
                    for (int q = p; q < D; q++) cov[p * D + q] += x[p] * x[q];
                }
            }
    }
    double count = (double)n * Ho * Wo;
    for (int p = 0; p < D; p++)
        for (int q = p; q < D; q++)
            cov[q * D + p] = cov[p * D + q] = (cov[p * D + q] - sum[p] * sum[q] / count) / (count - 1);
    free(sum), free(x);
    return NNDL_OK;
}

int whiten_filters(float *w, double *lambda_out, const Dataset *d, int images, int K)
{
    int n = images < d->n ? images : d->n, D = d->c * K * K;
    if (n < 1 || K > d->h || K > d->w)
        return nndl_fail("whiten: needs training images at least %dx%d (got %d of %dx%d)", K, K, d->n, d->h, d->w);
    double *cov = malloc((size_t)D * D * sizeof *cov), *v = malloc((size_t)D * D * sizeof *v);
    double *lambda = malloc((size_t)D * sizeof *lambda);
    int rc = cov && v && lambda ? patch_covariance(cov, d, n, K)
                                : nndl_fail("whiten: out of memory for a %dx%d eigenproblem", D, D);
    if (rc == NNDL_OK) {
        whiten_sym_eigen(cov, D, lambda, v);
        double mean = 0;
        for (int f = 0; f < D; f++) mean += lambda[f] / D;
        if (!(mean > 0)) rc = nndl_fail("whiten: the training images' %dx%d patches do not vary", K, K);
        for (int f = 0; rc == NNDL_OK && f < D; f++) {
            double scale = 1 / sqrt((lambda[f] > 0 ? lambda[f] : 0) + WHITEN_EPS_SHARE * mean);
            for (int k = 0; k < D; k++) {
                w[(size_t)f * D + k] = (float)(v[k * D + f] * scale);
                w[(size_t)(D + f) * D + k] = -w[(size_t)f * D + k];
            }
        }
        if (lambda_out) memcpy(lambda_out, lambda, (size_t)D * sizeof *lambda);
    }
    free(cov), free(v), free(lambda);
    return rc;
}

int model_whiten(Model *m, const Dataset *train, int images)
{
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        if (!(l->spec.flags & LAYER_WHITEN)) continue;
        const Param *p = &m->params[l->param[0]];
        size_t D = (size_t)train->c * l->spec.size * l->spec.size;
        if (train->c != m->in_c || train->h != m->in_h || train->w != m->in_w || p->n != 2 * D * D)
            return nndl_fail("whiten: images of (%d, %d, %d) for a model of (%d, %d, %d) inputs", train->c, train->h,
                             train->w, m->in_c, m->in_h, m->in_w);
        float *w = nndl_alloc(p->n, sizeof *w, "whitening filters");
        if (!w) return NNDL_ERR;
        int rc = whiten_filters(w, NULL, train, images, l->spec.size);
        if (rc == NNDL_OK) m->be->to_device(m->be, p->w, w, p->n * sizeof *w);
        free(w);
        if (rc != NNDL_OK) return rc;
    }
    return NNDL_OK;
}
