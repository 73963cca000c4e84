/* run_outputs.c — see run_outputs.h. */
#include "run_outputs.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "error.h"
#include "loss_rows.h"
#include "progress.h"
#include "safetensors.h"
#include "same_file.h"

static const char *suffix_of(int weights_only) { return weights_only ? "safetensors" : "ckpt"; }
static const char *suffix(const RunOutputs *r) { return suffix_of(r->weights_only); }

void run_outputs_epoch_name(const char *name, int weights_only, int epoch, char *path, size_t size)
{
    snprintf(path, size, "%s_epoch_%d.%s", name, epoch, suffix_of(weights_only));
}

void run_outputs_epoch_path(const RunOutputs *r, int epoch, char *path, size_t size)
{
    run_outputs_epoch_name(r->checkpoint, r->weights_only, epoch, path, size);
}

void run_outputs_best_path(const RunOutputs *r, char *path, size_t size)
{
    snprintf(path, size, "%s_best.%s", r->checkpoint, suffix(r));
}

void run_outputs_interrupted_path(const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s_interrupted.ckpt", name);
}

int run_outputs_is_checkpoint(const char *path, const char *name, int weights_only)
{
    char p[PATH_MAX + 256], n[PATH_MAX + 256], rest[64];
    path_resolve(path, p, sizeof p), path_resolve(name, n, sizeof n);
    size_t len = strlen(n);
    if (strncmp(p, n, len) != 0) return 0;
    const char *tail = p + len, *ext = suffix_of(weights_only);
    size_t digits = strncmp(tail, "_epoch_", 7) == 0 ? strspn(tail + 7, "0123456789") : 0;
    snprintf(rest, sizeof rest, ".%s", ext);
    if (digits && strcmp(tail + 7 + digits, rest) == 0) return 1;
    snprintf(rest, sizeof rest, "_best.%s", ext);
    return strcmp(tail, rest) == 0 || strcmp(tail, "_interrupted.ckpt") == 0;
}

static int push_row(RunOutputs *r, EpochRow row)
{
    if (r->n_rows == r->cap_rows) {
        int cap = r->cap_rows ? 2 * r->cap_rows : 32;
        EpochRow *v = realloc(r->rows, (size_t)cap * sizeof *v);
        if (!v) return nndl_fail("out of memory for the log");
        r->rows = v, r->cap_rows = cap;
    }
    r->rows[r->n_rows++] = row;
    return NNDL_OK;
}

/* Mean of the recorded losses of iterations [from, to). */
static double mean_loss(const Solver *s, int from, int to)
{
    double sum = 0;
    if (to > s->loss.n) to = s->loss.n;
    for (int i = from; i < to; i++) sum += s->loss.v[i];
    return to > from ? sum / (to - from) : NAN;
}

/* The accuracy check recorded at the end of epoch e: the histories hold one per epoch end, after
 * one at the first iteration when the epoch had more than one step. */
static int check_of_epoch(const Solver *s, int e) { return s->val_acc.n - (s->epoch - e) - 1; }

int run_outputs_start(RunOutputs *r, const Solver *s, float lr)
{
    r->start = now_seconds();
    r->lr = lr;
    r->best_saved = s->best_val_acc;
    r->first_iteration = s->iteration;
    /* a resumed run's earlier epochs: the iteration counts assume one batch size throughout */
    int per_epoch = s->epoch ? s->iteration / s->epoch : 0;
    for (int e = 1; e <= s->epoch; e++) {
        int k = check_of_epoch(s, e);
        EpochRow row = {e, e * per_epoch, NAN, NAN, mean_loss(s, (e - 1) * per_epoch, e * per_epoch),
                        k >= 0 ? s->train_acc.v[k] : NAN, NAN, k >= 0 ? s->val_acc.v[k] : NAN};
        if (push_row(r, row) != NNDL_OK) return NNDL_ERR;
    }
    return NNDL_OK;
}

/* The data loss of the whole validation set in test mode (what the val accuracy measures). */
static double val_loss(const Solver *s)
{
    Model *m = s->model;
    const Dataset *d = s->val;
    if (!d || d->n == 0) return NAN;
    size_t example = (size_t)m->in_c * m->in_h * m->in_w;
    float *scores = nndl_alloc((size_t)m->max_batch * m->num_classes, sizeof *scores, "the val loss");
    float *dx = nndl_alloc((size_t)m->num_classes, sizeof *dx, "the val loss");
    double sum = 0;
    for (int start = 0; scores && dx && start < d->n; start += m->max_batch) {
        int n = d->n - start < m->max_batch ? d->n - start : m->max_batch;
        if (model_scores(m, scores, d->x + start * example, n) != NNDL_OK) break;
        for (int i = 0; i < n; i++) {
            const float *row = scores + (size_t)i * m->num_classes;
            sum += m->loss == LOSS_SVM ? svm_loss_row(dx, row, d->y[start + i], m->num_classes, 1)
                                       : softmax_loss_row(dx, row, d->y[start + i], m->num_classes, 1);
        }
    }
    int ok = scores && dx;
    free(scores), free(dx);
    return ok ? sum / d->n : NAN;
}

/* The epoch files this run wrote beyond the newest keep_last are removed (never others). */
static void prune(RunOutputs *r)
{
    while (r->keep_last > 0 && r->n_written > r->keep_last) {
        char path[RUN_OUTPUTS_MAX_PATH];
        run_outputs_epoch_path(r, r->written[0], path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            fprintf(stderr, "nndl train: could not remove %s: %s\n", path, strerror(errno));
        memmove(r->written, r->written + 1, (size_t)--r->n_written * sizeof *r->written);
    }
}

static int save(const RunOutputs *r, const Solver *s, const char *path)
{
    return r->weights_only ? safetensors_save_model(s->model, solver_input_mean(s), s->class_names, path)
                           : checkpoint_save(s, path);
}

static int save_checkpoints(RunOutputs *r, const Solver *s)
{
    char path[RUN_OUTPUTS_MAX_PATH];
    if (s->epoch % r->save_every == 0 || s->epoch == s->cfg.num_epochs) {
        run_outputs_epoch_path(r, s->epoch, path, sizeof path);
        if (save(r, s, path) != NNDL_OK) return NNDL_ERR;
        int *w = realloc(r->written, (size_t)(r->n_written + 1) * sizeof *w);
        if (!w) return nndl_fail("out of memory for the list of checkpoints");
        r->written = w;
        r->written[r->n_written++] = s->epoch;
        snprintf(r->last_path, sizeof r->last_path, "%s", path);
        prune(r);
    }
    /* the model holds the best parameters exactly when this epoch's check set a new best */
    if (r->save_best && s->best_val_acc > r->best_saved && s->val_acc.n &&
        s->val_acc.v[s->val_acc.n - 1] == s->best_val_acc) {
        run_outputs_best_path(r, path, sizeof path);
        if (save(r, s, path) != NNDL_OK) return NNDL_ERR;
        r->best_saved = s->best_val_acc;
    }
    return NNDL_OK;
}

int run_outputs_on_epoch(const Solver *s, void *ctx)
{
    RunOutputs *r = ctx;
    if (r->checkpoint && save_checkpoints(r, s) != NNDL_OK) return NNDL_ERR;
    int k = check_of_epoch(s, s->epoch), prev_end = r->n_rows ? r->rows[r->n_rows - 1].iteration : r->first_iteration;
    EpochRow row = {s->epoch, s->iteration, now_seconds() - r->start, r->lr, mean_loss(s, prev_end, s->iteration),
                    s->train_acc.v[k], r->log ? val_loss(s) : NAN, s->val_acc.v[k]};
    r->lr = s->opt[0].learning_rate; /* after this epoch's decay: the next epoch's */
    if (push_row(r, row) != NNDL_OK) return NNDL_ERR;
    return run_outputs_write_curves(r, s);
}

int run_outputs_write_curves(const RunOutputs *r, const Solver *s)
{
    if (r->log && curves_write_csv(r->rows, r->n_rows, r->log) != NNDL_OK) return NNDL_ERR;
    if (r->plot && curves_write_svg(s, r->plot) != NNDL_OK) return NNDL_ERR;
    return NNDL_OK;
}

void run_outputs_free(RunOutputs *r)
{
    free(r->rows), free(r->written);
    r->rows = NULL, r->written = NULL;
    r->n_rows = r->cap_rows = r->n_written = 0;
}
