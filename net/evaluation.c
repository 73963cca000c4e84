/* evaluation.c — see evaluation.h. */
#include "evaluation.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

/* Whether class a ranks above class b: a higher score, or the same score and a lower index. */
static int ranks_above(const float *s, int a, int b) { return s[a] > s[b] || (s[a] == s[b] && a < b); }

void scores_top_k(const float *scores, int classes, int k, int *best)
{
    /* insertion into a list of k: classes is small next to the cost of the scores */
    int n = 0;
    for (int c = 0; c < classes; c++) {
        int at = n < k ? n++ : k;
        while (at > 0 && ranks_above(scores, c, best[at - 1])) {
            if (at < k) best[at] = best[at - 1];
            at--;
        }
        if (at < k) best[at] = c;
    }
}

void scores_softmax(const float *scores, int classes, double *p)
{
    double max = scores[0], sum = 0;
    for (int c = 1; c < classes; c++) max = fmax(max, scores[c]);
    for (int c = 0; c < classes; c++) sum += p[c] = exp((double)scores[c] - max);
    for (int c = 0; c < classes; c++) p[c] /= sum;
}

int evaluate(Model *m, const float *X, const int *y, int N, int k, Evaluation *e)
{
    int C = m->num_classes;
    *e = (Evaluation){.n = N, .classes = C, .k = k < 1 ? 1 : k > C ? C : k};
    for (int i = 0; i < N; i++)
        if (y[i] < 0 || y[i] >= C) return nndl_fail("example %d has label %d; the model has %d classes", i, y[i], C);
    e->confusion = calloc((size_t)C * C, sizeof *e->confusion);
    float *scores = malloc((size_t)m->max_batch * C * sizeof *scores);
    if (!e->confusion || !scores) {
        free(scores);
        evaluation_free(e);
        return nndl_fail("out of memory for the evaluation of %d classes", C);
    }
    size_t example = (size_t)m->in_c * m->in_h * m->in_w;
    for (int start = 0; start < N; start += m->max_batch) {
        int n = N - start < m->max_batch ? N - start : m->max_batch;
        if (model_scores(m, scores, X + start * example, n) != NNDL_OK) {
            free(scores);
            evaluation_free(e);
            return NNDL_ERR;
        }
        for (int i = 0; i < n; i++) {
            const float *s = scores + (size_t)i * C;
            int truth = y[start + i], predicted = 0, above = 0;
            for (int c = 0; c < C; c++) {
                if (ranks_above(s, c, predicted)) predicted = c;
                above += c != truth && ranks_above(s, c, truth);
            }
            e->confusion[truth * C + predicted]++;
            e->correct += predicted == truth;
            e->topk_correct += above < e->k;
        }
    }
    free(scores);
    return NNDL_OK;
}

void evaluation_free(Evaluation *e)
{
    free(e->confusion);
    e->confusion = NULL;
}
