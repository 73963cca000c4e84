/* evaluation.h — what a trained model gets right on labelled examples: top-1 and top-k
 * accuracy, and the confusion matrix (per-class accuracy is its diagonal over its row sums).
 * Ties between scores go to the lower class index, as in model_predict, so the top-1 count here
 * is model_count_correct's. */
#ifndef NNDL_EVALUATION_H
#define NNDL_EVALUATION_H

#include "model.h"

typedef struct Evaluation {
    int n, classes, k;          /* examples, classes, the k of top-k (at most classes) */
    int correct, topk_correct;
    int *confusion;             /* classes x classes counts, [true * classes + predicted] */
} Evaluation;

/* Scores X (N examples) in batches of the model's max_batch; labels y must be below the model's
 * classes. k is clamped to 1..classes. */
int evaluate(Model *m, const float *X, const int *y, int N, int k, Evaluation *e);
void evaluation_free(Evaluation *e);

static inline int evaluation_row_total(const Evaluation *e, int c)
{
    int t = 0;
    for (int j = 0; j < e->classes; j++) t += e->confusion[c * e->classes + j];
    return t;
}

/* The k best classes of one row of scores, best first (ties: the lower index first). */
void scores_top_k(const float *scores, int classes, int k, int *best);
/* Softmax of one row of scores, in double (shifted by the maximum, so any finite scores work). */
void scores_softmax(const float *scores, int classes, double *p);

#endif
