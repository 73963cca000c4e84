/* loss_rows.h — the softmax and SVM losses of one example, shared by the CPU loop and the CUDA
 * kernel (one thread per example), so both backends compute the very same formula.
 *
 * row: the example's C scores; label: its class; N: the batch size (gradients are averaged over
 * it). Writes the row's gradient dx[0..C) and returns the example's loss. A label outside
 * [0, C) (a model with fewer classes than the data; the Solver refuses such data) touches
 * nothing past the row: the gradient is zero and the loss NaN, which stops training.
 * Score differences are taken in double: logits near +-3e38 differ by more than FLT_MAX. */
#ifndef NNDL_LOSS_ROWS_H
#define NNDL_LOSS_ROWS_H

#include <math.h>

#include "hd.h"

static inline NNDL_HD double bad_label_row(float *dx, int C)
{
    for (int c = 0; c < C; c++) dx[c] = 0.0f;
    return NAN;
}

/* Max-shifted softmax cross-entropy, exponentials in double. */
static inline NNDL_HD double softmax_loss_row(float *dx, const float *row, int label, int C, int N)
{
    if (label < 0 || label >= C) return bad_label_row(dx, C);
    float mx = row[0];
    for (int c = 1; c < C; c++) mx = fmaxf(mx, row[c]);
    double z = 0;
    for (int c = 0; c < C; c++) z += exp((double)row[c] - mx);
    for (int c = 0; c < C; c++) dx[c] = (float)((exp((double)row[c] - mx) / z - (c == label)) / N);
    return log(z) - ((double)row[label] - mx);
}

/* The same against smoothed targets q = (1 - eps) one_hot(label) + eps / C (PyTorch's
 * label_smoothing): loss = log z - sum_c q_c (row_c - max), gradient (p_c - q_c) / N. */
static inline NNDL_HD double softmax_smoothed_loss_row(float *dx, const float *row, int label, int C, int N,
                                                       float eps)
{
    if (label < 0 || label >= C) return bad_label_row(dx, C);
    float mx = row[0];
    for (int c = 1; c < C; c++) mx = fmaxf(mx, row[c]);
    double z = 0, target = 0;
    for (int c = 0; c < C; c++) z += exp((double)row[c] - mx);
    for (int c = 0; c < C; c++) {
        double q = (1.0 - eps) * (c == label) + (double)eps / C;
        target += q * ((double)row[c] - mx);
        dx[c] = (float)((exp((double)row[c] - mx) / z - q) / N);
    }
    return log(z) - target;
}

/* Multiclass hinge loss with margin 1. */
static inline NNDL_HD double svm_loss_row(float *dx, const float *row, int label, int C, int N)
{
    if (label < 0 || label >= C) return bad_label_row(dx, C);
    int positive = 0;
    double loss = 0;
    for (int c = 0; c < C; c++) {
        double margin = c == label ? 0.0 : fmax(0.0, (double)row[c] - row[label] + 1.0);
        loss += margin;
        positive += margin > 0;
        dx[c] = margin > 0 ? 1.0f / N : 0.0f;
    }
    dx[label] = -(float)positive / N;
    return loss;
}

#endif
