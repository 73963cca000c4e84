/* solver_device.c — the Solver's device-resident path (see solver_device.h). */
#include "solver_device.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int solver_device_available(const Backend *be) { return be->gather && be->count_correct && be->step_finish; }

/* Examples [first, first + n) as bytes when every value is exactly (float)byte - mean[j], the one
 * float subtraction the host preprocessing made: then bytes and the mean reproduce the floats bit
 * for bit on the device. Returns whether they all are. One branch-free loop per example, which
 * vectorises, and the examples shared among the threads: the whole pass over CIFAR-10's 154 M
 * values runs inside a run's first epoch. */
static int bytes_reproduce(const Dataset *d, int first, int n, const float *mean, unsigned char *bytes)
{
    size_t size = dataset_example_size(d);
    int exact = 1;
#pragma omp parallel for reduction(&& : exact) schedule(static)
    for (int e = 0; e < n; e++) {
        const float *x = d->x + (size_t)(first + e) * size;
        unsigned char *b = bytes + (size_t)e * size;
        int same = 1;
        for (size_t j = 0; j < size; j++) {
            /* round to nearest even as rintf does (exact for |v + m| < 2^22; anything larger
             * fails the range test), without the libm call that keeps the loop scalar */
            float v = x[j], m = mean[j], q = (v + m + 12582912.0f) - 12582912.0f;
            same &= (q >= 0) & (q <= 255) & (q - m == v);
            b[j] = (unsigned char)(q > 0 && q < 255 ? q : q >= 255 ? 255 : 0); /* NaN: 0 */
        }
        exact = exact && same;
    }
    return exact;
}

#define UPLOAD_CHUNK_BYTES ((size_t)4 << 20) /* host staging of the byte upload: cache-sized */

/* The examples as bytes in a new device buffer, converted and copied a chunk at a time (no
 * host copy of the whole set). NULL when a value is not a byte minus the mean, or the device's
 * memory is short (*oom set). */
static unsigned char *upload_bytes(const Backend *be, const Dataset *d, const float *mean, int *oom)
{
    size_t size = dataset_example_size(d), total = (size_t)d->n * size;
    int per_chunk = size < UPLOAD_CHUNK_BYTES ? (int)(UPLOAD_CHUNK_BYTES / size) : 1;
    unsigned char *x = be->alloc(be, total ? total : 1), *stage = malloc((size_t)per_chunk * size);
    int exact = x && stage;
    *oom = !x;
    for (int first = 0, n; exact && first < d->n; first += n) {
        n = d->n - first < per_chunk ? d->n - first : per_chunk;
        if ((exact = bytes_reproduce(d, first, n, mean, stage)))
            be->to_device(be, x + (size_t)first * size, stage, (size_t)n * size);
    }
    free(stage);
    if (!exact && x) be->release(be, x), x = NULL;
    return x;
}

int device_set_upload(DeviceSet *set, const Backend *be, const Dataset *d, const float *mean)
{
    memset(set, 0, sizeof *set);
    size_t size = dataset_example_size(d), total = (size_t)d->n * size;
    int oom = 0;
    set->x = mean ? upload_bytes(be, d, mean, &oom) : NULL;
    int u8 = set->x != NULL;
    size_t x_bytes = u8 || oom ? total : total * sizeof(float); /* what was asked for */
    if (!u8 && !oom && (set->x = be->alloc(be, x_bytes ? x_bytes : 1)))
        be->to_device(be, set->x, d->x, x_bytes);
    set->y = be->alloc(be, (d->n ? (size_t)d->n : 1) * sizeof *set->y);
    if (u8) set->mean = be->alloc(be, size * sizeof *set->mean);
    if (!set->x || !set->y || (u8 && !set->mean)) {
        device_set_free(set, be);
        return nndl_fail("out of %s memory for a copy of %d examples (%zu bytes)", be->name, d->n, x_bytes);
    }
    be->to_device(be, set->y, d->y, (size_t)d->n * sizeof *set->y);
    if (u8) be->to_device(be, set->mean, mean, size * sizeof *set->mean);
    set->ex = (DeviceExamples){.x = set->x, .u8 = u8, .mean = set->mean, .y = set->y, .n = d->n, .size = size};
    return NNDL_OK;
}

void device_set_free(DeviceSet *set, const Backend *be)
{
    if (set->x) be->release(be, set->x);
    if (set->y) be->release(be, set->y);
    if (set->mean) be->release(be, set->mean);
    memset(set, 0, sizeof *set);
}

/* A per-iteration schedule's rates for the steps of one epoch from wherever it is positioned
 * (every step of an epoch, a short last one too, and the next epoch's first). */
static int lr_table_length(const Solver *s) { return (s->train->n + s->cfg.batch_size - 1) / s->cfg.batch_size + 1; }

int solver_device_setup(Solver *s)
{
    const Backend *be = s->model->be;
    SolverDevice *d = calloc(1, sizeof *d);
    if (!d) return nndl_fail("solver: out of memory for the device training state");
    s->dev = d;
    d->solver = s;
    d->positioned_b = -1;
    d->use_graph = be->capture && be->graph_launch && be->graph_destroy;
    int most = s->val && s->val->n > s->train->n ? s->val->n : s->train->n;
    if (device_set_upload(&d->train, be, s->train, s->input_mean) != NNDL_OK ||
        (s->val && s->val->n && device_set_upload(&d->val, be, s->val, s->input_mean) != NNDL_OK))
        goto fail;
    if (!(d->order = be->alloc(be, (size_t)s->train->n * sizeof *d->order)) ||
        !(d->picked = be->alloc(be, (size_t)most * sizeof *d->picked)) ||
        !(d->vars = be->alloc(be, sizeof *d->vars)) || !(d->step_loss = be->alloc(be, sizeof *d->step_loss)) ||
        !(d->count = be->alloc(be, sizeof *d->count)) ||
        (s->cfg.schedule.kind != SCHEDULE_EPOCH_DECAY &&
         (!(d->lr_host = malloc((size_t)(d->lr_n = lr_table_length(s)) * sizeof *d->lr_host)) ||
          !(d->lr_table = be->alloc(be, (size_t)d->lr_n * sizeof *d->lr_table))))) {
        nndl_fail("solver: out of %s memory for the device training buffers", be->name);
        goto fail;
    }
    return NNDL_OK;
fail:
    solver_device_free(s);
    return NNDL_ERR;
}

void solver_device_free(Solver *s)
{
    SolverDevice *d = s->dev;
    if (!d) return;
    const Backend *be = s->model->be;
    if (d->graph) be->graph_destroy(be, d->graph);
    device_set_free(&d->train, be);
    device_set_free(&d->val, be);
    void *bufs[] = {d->order, d->picked, d->vars, d->step_loss, d->count, d->lr_table};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (bufs[i]) be->release(be, bufs[i]);
    free(d->lr_host);
    free(d);
    s->dev = NULL;
}

void solver_device_epoch(Solver *s)
{
    const Backend *be = s->model->be;
    be->to_device(be, s->dev->order, s->order, (size_t)s->train->n * sizeof *s->order);
    s->dev->positioned_b = -1; /* a new epoch starts at position 0 */
}

/* The host mirror of StepVars for minibatch b, written to the device (outside any step): the
 * rates are the host configs' (of this step: solver_apply_schedule has run), one per class of
 * parameters, and a per-iteration schedule's next rates go up with them as a table. */
static void position(Solver *s, int b)
{
    SolverDevice *d = s->dev;
    const Model *m = s->model;
    const Backend *be = m->be;
    StepVars v = {.iteration = s->iteration, .batch_start = b * s->cfg.batch_size, .loss_slot = s->slot_next,
                  .t = s->opt[0].t + (s->opt[0].rule == UPDATE_ADAM), .epoch = s->epoch};
    int first[2] = {-1, -1}, uniform = 1;
    for (int i = 0; i < m->n_params; i++) {
        int k = !m->params[i].is_weight;
        if (first[k] < 0) first[k] = i, v.learning_rate[k] = s->opt[i].learning_rate;
        uniform &= s->opt[i].t == s->opt[0].t && s->opt[i].learning_rate == v.learning_rate[k];
    }
    if (d->lr_table) {
        for (int k = 0; k < d->lr_n; k++) d->lr_host[k] = solver_scheduled_rate(s, s->iteration + k);
        be->to_device(be, d->lr_table, d->lr_host, (size_t)d->lr_n * sizeof *d->lr_host);
        v.lr_table = d->lr_table, v.lr_first = s->iteration, v.lr_n = d->lr_n;
        v.lr_mult[0] = solver_lr_mult(s, 0), v.lr_mult[1] = solver_lr_mult(s, 1);
    }
    be->to_device(be, d->vars, &v, sizeof v);
    d->uniform = uniform;
    d->positioned_b = b;
}

/* One step's ops, run now or recorded: gather, forward, loss, backward, update, step_finish. */
static void record_step(void *ctx)
{
    SolverDevice *d = ctx;
    Solver *s = d->solver;
    Model *m = s->model;
    const Backend *be = m->be;
    int n = d->record_n;
    /* with augmentation the batch is gathered aside and augmented into the model's input, its
     * draws keyed by the epoch and the examples' indices read from the device's StepVars */
    be->gather(be, s->aug_src ? s->aug_src : model_input(m), m->labels, &d->train.ex, d->order,
               &d->vars->batch_start, 0, n);
    if (s->aug_src) {
        AugmentConfig a = s->cfg.augment;
        a.seed = s->cfg.seed, a.vars = d->vars;
        be->augment(be, model_input(m), s->aug_src, d->order, n, s->train->c, s->train->h, s->train->w, &a);
    }
    /* dropout masks from the device's step number, so that a replay draws this step's */
    int fold_l2 = solver_folds_l2(s);
    m->l2_gradient_in_update = fold_l2; /* for this step's loss only */
    model_loss_on_device(m, d->step_loss, n, (uint64_t)s->iteration, &d->vars->iteration);
    m->l2_gradient_in_update = 0;
    /* the flat update of the host path (one call per run of parameters sharing a config), with
     * the rate and t read on the device when the update runs; without uniform configs the
     * step is not recorded and the host's values stand */
    solver_update_recorded(s, d->uniform ? d->vars : NULL, fold_l2);
    solver_average(s, d->vars);
    be->step_finish(be, d->vars, s->loss_slots, d->step_loss, n);
}

int solver_device_step(Solver *s, int b, int n)
{
    SolverDevice *d = s->dev;
    const Backend *be = s->model->be;
    if (s->slot_next == s->loss_cap && solver_read_losses(s) != NNDL_OK) return NNDL_ERR;
    solver_apply_schedule(s); /* the host mirror of the rates the device's step takes */
    if (d->positioned_b != b) position(s, b);
    d->record_n = n;
    if (d->use_graph && d->uniform) {
        if (!d->graph || d->graph_n != n) { /* recorded once per batch size */
            if (d->graph) be->graph_destroy(be, d->graph);
            d->graph = be->capture(be, record_step, d);
            if (!d->graph) return NNDL_ERR;
            d->graph_n = n;
            d->graphs_recorded++;
        }
        be->graph_launch(be, d->graph);
    } else {
        record_step(d);
    }
    /* the host mirror of what step_finish advanced on the device */
    for (int i = 0; i < s->model->n_params; i++)
        if (s->opt[i].rule == UPDATE_ADAM) s->opt[i].t++;
    s->slot_next++, s->pending++;
    d->positioned_b = b + 1;
    return NNDL_OK;
}

int solver_device_correct(Solver *s, const Dataset *ds, const int *picked, int n)
{
    SolverDevice *d = s->dev;
    const DeviceSet *set = ds == s->train ? &d->train : ds == s->val ? &d->val : NULL;
    if (!set || !set->x) return -1;
    Model *m = s->model;
    const Backend *be = m->be;
    if (picked) be->to_device(be, d->picked, picked, (size_t)n * sizeof *picked);
    for (int start = 0; start < n; start += m->max_batch) {
        int k = n - start < m->max_batch ? n - start : m->max_batch;
        be->gather(be, m->x, m->labels, &set->ex, picked ? d->picked : NULL, NULL, start, k);
        be->count_correct(be, d->count, model_scores_on_device(m, k), m->labels, k, m->num_classes, start > 0);
    }
    int correct = 0;
    be->to_host(be, &correct, d->count, sizeof correct); /* the one copy back */
    return correct;
}
