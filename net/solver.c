/* solver.c — the training loop (see solver.h). */
#include "solver.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_parallel.h"
#include "error.h"
#include "progress.h"
#include "solver_device.h"

SolverConfig solver_config_default(void)
{
    return (SolverConfig){.optim = optim_config_default(UPDATE_SGD), .lr_decay = 1.0f,
                          .schedule = schedule_default(), .nonweight_lr_mult = 1.0f,
                          .batch_size = 100, .num_epochs = 10, .num_train_samples = 1000,
                          .num_val_samples = 0, .print_every = 10, .verbose = 1, .out = stdout};
}

static int history_push(History *h, float v)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        float *grown = realloc(h->v, (size_t)cap * sizeof *h->v);
        if (!grown) return nndl_fail("solver: out of memory for the history (%d values)", cap);
        h->v = grown, h->cap = cap;
    }
    h->v[h->n++] = v;
    return NNDL_OK;
}

static int check_config(const SolverConfig *c, const Dataset *train)
{
    if (c->batch_size <= 0 || c->num_epochs <= 0)
        return nndl_fail("solver: batch size %d and epochs %d must be positive", c->batch_size, c->num_epochs);
    if (c->batch_size > train->n)
        return nndl_fail("solver: batch size %d is larger than the %d training examples", c->batch_size, train->n);
    if (c->optim.rule < 0 || c->optim.rule >= UPDATE_RULE_COUNT)
        return nndl_fail("solver: unknown update rule %d", (int)c->optim.rule);
    if (!(c->optim.learning_rate > 0) || !isfinite(c->optim.learning_rate))
        return nndl_fail("solver: learning rate %g must be positive and finite", c->optim.learning_rate);
    if (!(c->lr_decay > 0 && c->lr_decay <= 1))
        return nndl_fail("solver: lr decay %g must be in (0, 1]", c->lr_decay);
    if (c->num_train_samples < 0 || c->num_val_samples < 0)
        return nndl_fail("solver: accuracy sample counts must not be negative");
    if (schedule_check(&c->schedule) != NNDL_OK) return NNDL_ERR;
    if (!(c->ema >= 0 && c->ema < 1)) return nndl_fail("solver: ema decay %g must be in [0, 1)", c->ema);
    if (!(c->nonweight_lr_mult > 0 && c->nonweight_lr_mult <= 1e4) ||
        !(c->optim.weight_decay >= 0 && c->optim.weight_decay <= 1e3))
        return nndl_fail("solver: learning-rate factor %g of biases and batchnorm parameters must be in (0, 1e4], "
                         "weight decay %g in [0, 1e3]", c->nonweight_lr_mult, c->optim.weight_decay);
    const AugmentConfig *a = &c->augment;
    int side = train->h < train->w ? train->h : train->w;
    if (a->pad < 0 || a->pad >= side || a->cutout < 0 || a->cutout > side || (a->pad_mode != PAD_ZERO &&
        a->pad_mode != PAD_REFLECT) || a->fixed)
        return nndl_fail("solver: augmentation padding %d must be below the image side %d, cutout %d at most it",
                         a->pad, side, a->cutout);
    return dp_check_batch(c->dp, c->batch_size);
}

float solver_lr_mult(const Solver *s, int nonweight) { return nonweight ? s->cfg.nonweight_lr_mult : 1.0f; }

/* A parameter's factor on the peak learning rate: nonweight_lr_mult for biases and batchnorm. */
static float lr_mult(const Solver *s, int i) { return solver_lr_mult(s, !s->model->params[i].is_weight); }

float solver_scheduled_rate(const Solver *s, long t)
{
    long per_epoch = solver_iterations_per_epoch(s);
    return (float)(s->cfg.optim.learning_rate * schedule_factor(&s->cfg.schedule, t, per_epoch,
                                                                (long)s->cfg.num_epochs * per_epoch));
}

void solver_apply_schedule(Solver *s)
{
    if (s->cfg.schedule.kind == SCHEDULE_EPOCH_DECAY) return; /* decayed at epoch ends instead */
    float rate = solver_scheduled_rate(s, s->iteration);
    for (int i = 0; i < s->model->n_params; i++) s->opt[i].learning_rate = rate * lr_mult(s, i);
}

/* The loss layers index the scores by label: a label outside the model's classes would read
 * and write past a row, so such data is refused here rather than trusted to the CLI. */
static int check_labels(const Model *m, const Dataset *d, const char *split)
{
    for (int i = 0; d && i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= m->num_classes)
            return nndl_fail("solver: %s example %d has label %d, outside the model's %d classes "
                             "(the last layer's units must equal the data's classes)",
                             split, i, d->y[i], m->num_classes);
    return NNDL_OK;
}

int solver_init(Solver *s, Model *m, const Dataset *train, const Dataset *val, const SolverConfig *cfg)
{
    memset(s, 0, sizeof *s);
    if (check_config(cfg, train) != NNDL_OK) return NNDL_ERR;
    if (check_labels(m, train, "training") != NNDL_OK || check_labels(m, val, "validation") != NNDL_OK)
        return NNDL_ERR;
    size_t example = (size_t)m->in_c * m->in_h * m->in_w;
    if (dataset_example_size(train) != example || (val && val->n && dataset_example_size(val) != example))
        return nndl_fail("solver: examples of (%d, %d, %d) do not fit the model's input (%d, %d, %d)",
                         train->c, train->h, train->w, m->in_c, m->in_h, m->in_w);
    if (cfg->batch_size > m->max_batch)
        return nndl_fail("solver: batch size %d exceeds the model's %d", cfg->batch_size, m->max_batch);
    *s = (Solver){.model = m, .train = train, .val = val, .cfg = *cfg, .best_val_acc = SOLVER_NO_BEST,
                  .first_nonfinite = -1};
    const Backend *be = m->be;
    int most = val && val->n > train->n ? val->n : train->n;
    s->loss_cap = solver_iterations_per_epoch(s);
    if (!(s->opt = nndl_alloc((size_t)m->n_params, sizeof *s->opt, "update-rule configs")) ||
        !(s->s1 = calloc((size_t)m->n_params + 1, sizeof *s->s1)) ||
        !(s->s2 = calloc((size_t)m->n_params + 1, sizeof *s->s2)) ||
        (cfg->ema > 0 && !(s->ema_w = calloc((size_t)m->n_params + 1, sizeof *s->ema_w))) ||
        !(s->best_state = nndl_alloc(model_state_size(m), sizeof(float), "the best parameters")) ||
        !(s->order = nndl_alloc((size_t)train->n, sizeof *s->order, "the shuffle")) ||
        !(s->pred = nndl_alloc((size_t)most, sizeof *s->pred, "predictions")) ||
        !(s->batch_x = nndl_alloc((size_t)cfg->batch_size * example, sizeof *s->batch_x, "a minibatch")) ||
        !(s->batch_y = nndl_alloc((size_t)cfg->batch_size, sizeof *s->batch_y, "minibatch labels")) ||
        !(s->loss_host = nndl_alloc((size_t)s->loss_cap, sizeof *s->loss_host, "loss read-back")))
        goto oom;
    if (!(s->loss_slots = be->alloc(be, (size_t)s->loss_cap * sizeof *s->loss_slots))) goto oom;
    if (augment_active(&cfg->augment) &&
        (!(s->aug_src = be->alloc(be, (size_t)cfg->batch_size * example * sizeof *s->aug_src)) ||
         !(s->aug_examples = be->alloc(be, (size_t)cfg->batch_size * sizeof *s->aug_examples))))
        goto oom;
    int states = optim_state_count(cfg->optim.rule);
    for (int k = 0; k < states; k++) {
        if (!(s->state_block[k] = be->alloc(be, (m->param_values ? m->param_values : 1) * sizeof(float)))) goto oom;
        be->fill(be, s->state_block[k], 0, m->param_values);
    }
    for (int i = 0; i < m->n_params; i++) {
        s->opt[i] = cfg->optim;
        s->opt[i].t = 0;
        size_t at = (size_t)(m->params[i].w - m->param_block);
        s->opt[i].learning_rate *= lr_mult(s, i);
        s->opt[i].weight_decay /= lr_mult(s, i); /* lr * decay is the same for every parameter */
        if (s->ema_w) { /* the average starts at the initial weights */
            if (!(s->ema_w[i] = be->alloc(be, m->params[i].n * sizeof(float)))) goto oom;
            be->copy(be, s->ema_w[i], m->params[i].w, m->params[i].n * sizeof(float));
        }
        float **slots[2] = {&s->s1[i], &s->s2[i]};
        for (int k = 0; k < states; k++) *slots[k] = s->state_block[k] + at;
    }
    rng_seed(&s->rng, cfg->seed);
    return NNDL_OK;
oom:
    solver_free(s);
    return nndl_fail("solver: out of memory for the optimizer state and training buffers (%s)", be->name);
}

void solver_free(Solver *s)
{
    if (!s->model) return;
    const Backend *be = s->model->be;
    solver_device_free(s);
    for (int k = 0; k < 2; k++)
        if (s->state_block[k]) be->release(be, s->state_block[k]);
    for (int i = 0; s->ema_w && i < s->model->n_params; i++)
        if (s->ema_w[i]) be->release(be, s->ema_w[i]);
    if (s->loss_slots) be->release(be, s->loss_slots);
    if (s->aug_src) be->release(be, s->aug_src);
    if (s->aug_examples) be->release(be, s->aug_examples);
    free(s->opt), free(s->s1), free(s->s2), free(s->ema_w), free(s->best_state), free(s->order), free(s->pred);
    free(s->batch_x), free(s->batch_y), free(s->loss_host);
    free(s->loss.v), free(s->train_acc.v), free(s->val_acc.v);
    memset(s, 0, sizeof *s);
}

int solver_iterations_per_epoch(const Solver *s)
{
    int it = s->train->n / s->cfg.batch_size;
    return it > 0 ? it : 1;
}

int solver_read_losses(Solver *s)
{
    if (s->pending == 0) return NNDL_OK;
    const Backend *be = s->model->be;
    be->to_host(be, s->loss_host, s->loss_slots + (s->slot_next - s->pending),
                (size_t)s->pending * sizeof *s->loss_host);
    if (dp_average_losses(s->cfg.dp, s->loss_host, s->pending) != NNDL_OK) return NNDL_ERR;
    int n = s->pending, first = s->loss.n;
    s->pending = 0;
    if (s->slot_next == s->loss_cap) { /* all slots read: start again at the first */
        s->slot_next = 0;
        if (s->dev) s->dev->positioned_b = -1; /* the device's slot index is rewritten */
    }
    for (int i = 0; i < n; i++) { /* nothing non-finite is recorded */
        if (!isfinite(s->loss_host[i])) {
            if (s->first_nonfinite < 0) s->first_nonfinite = first + i;
            float bad = (float)s->loss_host[i];
            return solver_check_losses(s, &bad, 1, first + i);
        }
        if (history_push(&s->loss, (float)s->loss_host[i]) != NNDL_OK) return NNDL_ERR;
    }
    return NNDL_OK;
}

static int same_config(const OptimConfig *a, const OptimConfig *b)
{
    return a->rule == b->rule && a->learning_rate == b->learning_rate && a->momentum == b->momentum &&
           a->decay_rate == b->decay_rate && a->beta1 == b->beta1 && a->beta2 == b->beta2 &&
           a->epsilon == b->epsilon && a->t == b->t && a->weight_decay == b->weight_decay && a->l2 == b->l2;
}

/* The L2 penalty's gradient in the update's pass over the weights, where the backend can and
 * no decay comes before it: the penalty's own pass then reads the weights without writing the
 * gradients (on the cpu, the seed's step at batch 50: 3.0 -> 1.7 ms). */
int solver_folds_l2(const Solver *s)
{
    return s->model->be->update_folds_l2 && s->model->reg > 0 && s->cfg.optim.weight_decay == 0;
}

static void update_runs(Solver *s, const StepVars *vars, int recorded, int fold_l2)
{
    Model *m = s->model;
    s->update_calls = 0;
    for (int i = 0; i < m->n_params; i++) s->opt[i].l2 = fold_l2 && param_penalised(&m->params[i]) ? m->reg : 0;
    for (int i = 0, j; i < m->n_params; i = j) {
        if (m->params[i].frozen) { /* conv(frozen): never updated; its step count goes along */
            if (!recorded && s->opt[i].rule == UPDATE_ADAM) s->opt[i].t++;
            j = i + 1;
            continue;
        }
        for (j = i + 1; j < m->n_params && !m->params[j].frozen && same_config(&s->opt[j], &s->opt[i]); j++) {}
        /* params i..j-1 lie one after another in the blocks (the gaps between them stay 0) */
        size_t at = (size_t)(m->params[i].w - m->param_block);
        size_t n = (size_t)(m->params[j - 1].w - m->param_block) + m->params[j - 1].n - at;
        float *s1 = s->state_block[0] ? s->state_block[0] + at : NULL;
        float *s2 = s->state_block[1] ? s->state_block[1] + at : NULL;
        if (recorded) { /* a copy: the host configs stay as they are (the caller advances t) */
            OptimConfig c = s->opt[i];
            c.vars = vars, c.vars_rate = !m->params[i].is_weight; /* a run shares one rate */
            backend_update(m->be, &c, m->param_block + at, m->grad_block + at, s1, s2, n);
        } else {
            backend_update(m->be, &s->opt[i], m->param_block + at, m->grad_block + at, s1, s2, n);
            for (int k = i + 1; k < j; k++) s->opt[k].t = s->opt[i].t;
        }
        s->update_calls++;
    }
}

void solver_update(Solver *s) { update_runs(s, NULL, 0, 0); }
void solver_update_recorded(Solver *s, const StepVars *vars, int fold_l2) { update_runs(s, vars, 1, fold_l2); }

void solver_average(Solver *s, const StepVars *vars)
{
    Model *m = s->model;
    float d = (float)solver_ema_decay(s->cfg.ema, s->iteration);
    for (int i = 0; s->ema_w && i < m->n_params; i++) {
        if (m->params[i].frozen) continue; /* its average is its start: rounding must not move it */
        if (vars) m->be->ema_step(m->be, s->ema_w[i], m->params[i].w, m->params[i].n, s->cfg.ema, vars);
        else m->be->axpby(m->be, s->ema_w[i], 1 - d, m->params[i].w, d, m->params[i].n);
    }
}

double solver_ema_decay(float ema, long steps) { return ema_decay(ema, steps); }

int solver_step(Solver *s, const int *idx, int n)
{
    Model *m = s->model;
    if (s->slot_next == s->loss_cap && solver_read_losses(s) != NNDL_OK) return NNDL_ERR;
    dp_shard(s->cfg.dp, &idx, &n); /* this process's share of the minibatch */
    size_t example = dataset_example_size(s->train);
    for (int i = 0; i < n; i++) {
        memcpy(s->batch_x + i * example, s->train->x + (size_t)idx[i] * example, example * sizeof(float));
        s->batch_y[i] = s->train->y[idx[i]];
    }
    int fold_l2 = solver_folds_l2(s);
    m->l2_gradient_in_update = fold_l2; /* for this step's loss only */
    if (s->aug_src) { /* gathered on the host, augmented on the device, into the model's input */
        const Backend *be = m->be;
        AugmentConfig a = s->cfg.augment;
        a.seed = s->cfg.seed, a.epoch = (uint64_t)s->epoch;
        be->to_device(be, s->aug_src, s->batch_x, (size_t)n * example * sizeof(float));
        be->to_device(be, s->aug_examples, idx, (size_t)n * sizeof *idx);
        be->augment(be, model_input(m), s->aug_src, s->aug_examples, n, s->train->c, s->train->h, s->train->w, &a);
        model_loss_on_input(m, s->loss_slots + s->slot_next++, s->batch_y, n, (uint64_t)s->iteration);
    } else {
        model_loss_into(m, s->loss_slots + s->slot_next++, s->batch_x, s->batch_y, n, (uint64_t)s->iteration);
    }
    m->l2_gradient_in_update = 0;
    if (dp_average_gradients(s->cfg.dp) != NNDL_OK) return NNDL_ERR;
    s->pending++;
    if (s->dev) s->dev->positioned_b = -1; /* the device's StepVars did not advance */
    solver_apply_schedule(s);
    double t = m->profile ? now_seconds() : 0;
    update_runs(s, NULL, 0, fold_l2);
    if (m->profile) {
        if (m->be->synchronize) m->be->synchronize(m->be);
        m->profile->update += now_seconds() - t;
    }
    solver_average(s, NULL);
    return NNDL_OK;
}

/* A random subsample of n of d's examples without replacement (a partial shuffle), as indices;
 * NULL when out of memory. */
static int *pick_subsample(Solver *s, const Dataset *d, int n)
{
    int *all = nndl_alloc((size_t)d->n, sizeof *all, "an accuracy subsample");
    if (!all) return NULL;
    for (int i = 0; i < d->n; i++) all[i] = i;
    for (int i = 0; i < n; i++) {
        int j = i + (int)rng_below(&s->rng, (uint32_t)(d->n - i)), t = all[i];
        all[i] = all[j], all[j] = t;
    }
    return all;
}

/* Exchanges the model's parameters with their moving averages (pointers only: the layers read
 * the parameters' arrays at each call), so evaluations see the averages. */
static void swap_ema(Solver *s)
{
    for (int i = 0; s->ema_w && i < s->model->n_params; i++) {
        float *w = s->model->params[i].w;
        s->model->params[i].w = s->ema_w[i], s->ema_w[i] = w;
    }
}

/* The moving averages copied into the parameters: every array stays with its owner (a swap here
 * would leave the model's parameters in the Solver's arrays, and solver_free would release the
 * model's block piece by piece). */
static void take_ema(Solver *s)
{
    for (int i = 0; s->ema_w && i < s->model->n_params; i++)
        s->model->be->copy(s->model->be, s->model->params[i].w, s->ema_w[i], s->model->params[i].n * sizeof(float));
}

double solver_check_accuracy(Solver *s, const Dataset *d, int num_samples)
{
    if (!d || d->n == 0) return 0;
    size_t example = dataset_example_size(d);
    int n = num_samples > 0 && num_samples < d->n ? num_samples : d->n;
    const float *x = d->x;
    float *subset = NULL;
    int *picked = NULL;
    if (n < d->n && !(picked = pick_subsample(s, d, n))) return -1;
    int correct = s->dev ? solver_device_correct(s, d, picked, n) : -1;
    if (correct < 0) { /* on the host's copy: the picked examples gathered and uploaded */
        if (picked) {
            if (!(subset = nndl_alloc((size_t)n * example, sizeof *subset, "an accuracy subsample"))) {
                free(picked);
                return -1;
            }
            for (int i = 0; i < n; i++)
                memcpy(subset + i * example, d->x + (size_t)picked[i] * example, example * sizeof(float));
            x = subset;
        }
        model_predict(s->model, s->pred, x, n);
        correct = 0;
        for (int i = 0; i < n; i++) correct += s->pred[i] == d->y[picked ? picked[i] : i];
    }
    free(subset);
    free(picked);
    return (double)correct / n;
}

static int has_val(const Solver *s) { return s->val && s->val->n > 0; }

/* The seed's accuracy check: record, print, keep the best parameters (only with a validation
 * set: an empty one scores 0, which would make an early state "best" and throw training away). */
static int record_accuracy(Solver *s)
{
    if (dp_sync_state(s->cfg.dp) != NNDL_OK) return NNDL_ERR;
    swap_ema(s); /* evaluations (and the best parameters) are the moving average's */
    /* Test-time augmentation is the val/test accuracy's (--tta): on the training subsample, a
     * progress figure, its six views would cost six forward passes per example (about 3 % of a
     * cifar94 run on the cpu). */
    int tta = s->model->tta;
    s->model->tta = 0;
    float train_acc = (float)solver_check_accuracy(s, s->train, s->cfg.num_train_samples);
    s->model->tta = tta;
    float val_acc = (float)solver_check_accuracy(s, s->val, s->cfg.num_val_samples);
    if (has_val(s) && train_acc >= 0 && val_acc > s->best_val_acc) {
        s->best_val_acc = val_acc;
        model_state_save(s->model, s->best_state);
    }
    swap_ema(s);
    if (train_acc < 0 || val_acc < 0) return NNDL_ERR;
    if (history_push(&s->train_acc, train_acc) != NNDL_OK || history_push(&s->val_acc, val_acc) != NNDL_OK)
        return NNDL_ERR;
    if (s->cfg.verbose)
        fprintf(s->cfg.out, "(Epoch %d / %d) train acc: %f; val_acc: %f\n", s->epoch, s->cfg.num_epochs,
                train_acc, val_acc);
    return NNDL_OK;
}

int solver_check_losses(const Solver *s, const float *losses, int n, int first)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(losses[i]))
            return nndl_fail("training diverged: the loss of iteration %d is %f; stopped there "
                             "(try a smaller learning rate than %g)", first + i + 1, losses[i],
                             s->cfg.optim.learning_rate), SOLVER_DIVERGED;
    return NNDL_OK;
}

/* A host copy of the whole state, checked before it is measured, recorded or saved. */
static int check_params(const Solver *s)
{
    size_t n = model_state_size(s->model);
    float *state = nndl_alloc(n, sizeof *state, "a parameter check");
    if (!state) return NNDL_ERR;
    model_state_save(s->model, state);
    size_t bad = 0;
    while (bad < n && isfinite(state[bad])) bad++;
    free(state);
    if (bad < n)
        return nndl_fail("training diverged: non-finite parameters after iteration %d; stopped there "
                         "(try a smaller learning rate than %g)", s->iteration, s->cfg.optim.learning_rate),
               SOLVER_DIVERGED;
    return NNDL_OK;
}

static int stop_requested(const Solver *s) { return dp_any(s->cfg.dp, s->cfg.stop && *s->cfg.stop); }

static int finish(Solver *s, int rc)
{
    if (dp_sync_state(s->cfg.dp) != NNDL_OK) return NNDL_ERR;
    if (rc == SOLVER_STOPPED) { /* the stopped state is saved: its history must be complete */
        int read = solver_read_losses(s);
        if (read != NNDL_OK) rc = read;
    }
    if (rc != SOLVER_STOPPED && s->best_val_acc >= 0) model_state_load(s->model, s->best_state);
    else if (rc == NNDL_OK) take_ema(s); /* no best to restore: the final model is the average */
    return rc;
}

/* The device-resident path runs the seed's step and the recipe's schedules, decoupled weight
 * decay, moving average (with the backend's ema_step), augmentation, dropout and test-time views. */
static int device_path_fits(const Solver *s)
{
    int plain = (!s->ema_w || s->model->be->ema_step) &&
                !dp_active(s->cfg.dp); /* a group's share and all-reduce are on the host-batch path */
    return plain;
}

int solver_epoch_begin(Solver *s)
{
    /* each epoch's order is a function of the RNG state alone, so a resumed run draws the
     * same minibatches as an uninterrupted one */
    for (int i = 0; i < s->train->n; i++) s->order[i] = i;
    rng_shuffle(&s->rng, s->order, (size_t)s->train->n);
    if (!s->dev && !s->cfg.host_batches && solver_device_available(s->model->be) && device_path_fits(s) &&
        solver_device_setup(s) != NNDL_OK) {
        /* a data set larger than the device's memory still trains, as before: from the host */
        s->cfg.host_batches = 1;
        if (s->cfg.verbose)
            fprintf(s->cfg.out, "(%s; minibatches are copied from the host instead)\n", nndl_last_error());
    }
    if (s->dev) solver_device_epoch(s);
    return NNDL_OK;
}

int solver_epoch_step(Solver *s, int b)
{
    int bs = s->cfg.batch_size, n = s->train->n - b * bs < bs ? s->train->n - b * bs : bs;
    if (b < 0 || n <= 0) return nndl_fail("solver: minibatch %d is past the epoch's %d examples", b, s->train->n);
    return s->dev ? solver_device_step(s, b, n) : solver_step(s, s->order + (size_t)b * bs, n);
}

int solver_train(Solver *s)
{
    int per_epoch = solver_iterations_per_epoch(s), bs = s->cfg.batch_size, rc;
    /* the last iteration's number: a run resumed mid-epoch or with another batch size does not
     * end at num_epochs * per_epoch */
    int total = s->iteration + (s->cfg.num_epochs - s->epoch) * per_epoch;
    Progress bar;
    progress_start(&bar, s->cfg.progress ? stderr : NULL, (long)(total - s->iteration) * bs, s->cfg.progress_interval);
    long images = 0;
    while (s->epoch < s->cfg.num_epochs) {
        if (solver_epoch_begin(s) != NNDL_OK) return NNDL_ERR;
        for (int b = 0; b < per_epoch; b++) {
            int t = s->iteration;
            if (solver_epoch_step(s, b) != NNDL_OK) return NNDL_ERR;
            s->iteration++;
            images += bs;
            progress_update(&bar, images, s->epoch + 1, s->cfg.num_epochs);
            if (s->cfg.verbose && s->cfg.print_every > 0 && t % s->cfg.print_every == 0) {
                /* the one device-to-host copy of the losses between epoch ends */
                progress_clear(&bar);
                if ((rc = solver_read_losses(s)) != NNDL_OK) return finish(s, rc);
                fprintf(s->cfg.out, "(Iteration %d / %d) loss: %f\n", t + 1, total, s->loss.v[s->loss.n - 1]);
            }
            if (t == 0 && b + 1 < per_epoch) { /* the seed also checks after the first step */
                progress_clear(&bar);
                if ((rc = check_params(s)) != NNDL_OK) return finish(s, rc);
                if (record_accuracy(s) != NNDL_OK) return NNDL_ERR;
            }
            if (b + 1 < per_epoch && stop_requested(s)) { /* at an epoch's end: after its check */
                progress_clear(&bar);
                fflush(s->cfg.out);
                return finish(s, SOLVER_STOPPED);
            }
        }
        progress_clear(&bar);
        if ((rc = solver_read_losses(s)) != NNDL_OK) return finish(s, rc);
        if ((rc = check_params(s)) != NNDL_OK) return finish(s, rc);
        s->epoch++;
        if (s->cfg.schedule.kind == SCHEDULE_EPOCH_DECAY)
            for (int i = 0; i < s->model->n_params; i++) s->opt[i].learning_rate *= s->cfg.lr_decay;
        if (record_accuracy(s) != NNDL_OK) return NNDL_ERR;
        fflush(s->cfg.out);
        if (s->cfg.on_epoch && s->cfg.on_epoch(s, s->cfg.on_epoch_ctx) != NNDL_OK) return NNDL_ERR;
        if (s->epoch < s->cfg.num_epochs && stop_requested(s)) return finish(s, SOLVER_STOPPED);
    }
    return finish(s, NNDL_OK);
}

/* ---- state snapshots (see solver.h) ------------------------------------------------------- */

static float *copy_floats(const float *v, size_t n)
{
    float *c = malloc((n ? n : 1) * sizeof *c);
    if (c && n) memcpy(c, v, n * sizeof *c);
    return c;
}

void solver_set_learning_rate(Solver *s, float lr)
{
    s->cfg.optim.learning_rate = lr;
    for (int i = 0; i < s->model->n_params; i++) s->opt[i].learning_rate = lr * lr_mult(s, i);
    if (s->dev) s->dev->positioned_b = -1;
}

int solver_state_alloc(SolverState *st, int n_params)
{
    memset(st, 0, sizeof *st);
    st->best_val_acc = SOLVER_NO_BEST;
    st->n_params = n_params;
    st->params = calloc((size_t)n_params + 1, sizeof *st->params);
    return st->params ? NNDL_OK : nndl_fail("solver: out of memory for a state snapshot");
}

void solver_state_free(SolverState *st)
{
    for (int i = 0; st->params && i < st->n_params; i++)
        free(st->params[i].m1), free(st->params[i].m2), free(st->params[i].ema);
    free(st->params), free(st->best_state), free(st->loss), free(st->train_acc), free(st->val_acc);
    memset(st, 0, sizeof *st);
}

int solver_state_export(const Solver *s, SolverState *st)
{
    const Model *m = s->model;
    if (solver_state_alloc(st, m->n_params) != NNDL_OK) return NNDL_ERR;
    st->epoch = s->epoch, st->iteration = s->iteration;
    memcpy(st->rng, s->rng.s, sizeof st->rng);
    st->state_n = model_state_size(m);
    st->best_val_acc = s->best_val_acc;
    st->best_state = s->best_val_acc >= 0 ? copy_floats(s->best_state, st->state_n) : NULL;
    st->loss = copy_floats(s->loss.v, (size_t)s->loss.n), st->loss_n = s->loss.n;
    st->train_acc = copy_floats(s->train_acc.v, (size_t)s->train_acc.n), st->train_n = s->train_acc.n;
    st->val_acc = copy_floats(s->val_acc.v, (size_t)s->val_acc.n), st->val_n = s->val_acc.n;
    st->n_moments = optim_state_count(s->cfg.optim.rule);
    st->has_ema = s->ema_w != NULL;
    int ok = st->loss && st->train_acc && st->val_acc && (s->best_val_acc < 0 || st->best_state);
    for (int i = 0; ok && i < m->n_params; i++) {
        SolverParamState *p = &st->params[i];
        p->t = s->opt[i].t, p->learning_rate = s->opt[i].learning_rate, p->n = m->params[i].n;
        float *dev[3] = {s->s1[i], s->s2[i], s->ema_w ? s->ema_w[i] : NULL}, **host[3] = {&p->m1, &p->m2, &p->ema};
        for (int k = 0; ok && k < 3; k++) {
            if (k < 2 ? k >= st->n_moments : !st->has_ema) continue;
            ok = (*host[k] = malloc((p->n ? p->n : 1) * sizeof(float))) != NULL;
            if (ok) m->be->to_host(m->be, *host[k], dev[k], p->n * sizeof(float));
        }
    }
    if (!ok) {
        solver_state_free(st);
        return nndl_fail("solver: out of memory for a state snapshot");
    }
    return NNDL_OK;
}

static int history_set(History *h, const float *v, int n)
{
    float *c = copy_floats(v, (size_t)n);
    if (!c) return nndl_fail("solver: out of memory for the histories");
    free(h->v);
    *h = (History){.n = n, .cap = n, .v = c};
    return NNDL_OK;
}

/* Every size must fit this solver before anything is changed. */
static int check_state_fits(const Solver *s, const SolverState *st)
{
    const Model *m = s->model;
    int moments = optim_state_count(s->cfg.optim.rule);
    if (st->n_params != m->n_params || st->state_n != model_state_size(m))
        return nndl_fail("solver state of %d parameters (%zu values) does not fit the model's %d (%zu)",
                         st->n_params, st->state_n, m->n_params, model_state_size(m));
    if (st->n_moments != moments)
        return nndl_fail("solver state has %d optimizer moments per parameter, update rule %s keeps %d",
                         st->n_moments, optim_rule_name(s->cfg.optim.rule), moments);
    if (st->has_ema != (s->ema_w != NULL))
        return nndl_fail("solver state %s a moving average of the parameters, this run %s one", st->has_ema ? "has" : "has no",
                         s->ema_w ? "keeps" : "keeps no");
    if ((st->best_val_acc >= 0) != (st->best_state != NULL))
        return nndl_fail("solver state: a best val accuracy needs best parameters, and only then");
    if (st->epoch < 0 || st->iteration < 0 || st->loss_n < 0 || st->train_n < 0 || st->val_n < 0)
        return nndl_fail("solver state: negative epoch, iteration or history length");
    for (int i = 0; i < m->n_params; i++) {
        const SolverParamState *p = &st->params[i];
        if (p->n != m->params[i].n || (moments >= 1 && !p->m1) || (moments >= 2 && !p->m2) || (st->has_ema && !p->ema))
            return nndl_fail("solver state: optimizer state of %s does not fit its %zu values", m->params[i].name,
                             m->params[i].n);
    }
    return NNDL_OK;
}

int solver_state_import(Solver *s, const SolverState *st)
{
    if (check_state_fits(s, st) != NNDL_OK) return NNDL_ERR;
    Model *m = s->model;
    if (history_set(&s->loss, st->loss, st->loss_n) != NNDL_OK ||
        history_set(&s->train_acc, st->train_acc, st->train_n) != NNDL_OK ||
        history_set(&s->val_acc, st->val_acc, st->val_n) != NNDL_OK)
        return NNDL_ERR;
    s->epoch = st->epoch, s->iteration = st->iteration;
    if (s->dev) s->dev->positioned_b = -1;
    memcpy(s->rng.s, st->rng, sizeof st->rng);
    s->best_val_acc = st->best_val_acc;
    if (st->best_state) memcpy(s->best_state, st->best_state, st->state_n * sizeof(float));
    for (int i = 0; i < m->n_params; i++) {
        const SolverParamState *p = &st->params[i];
        s->opt[i].t = p->t, s->opt[i].learning_rate = p->learning_rate;
        if (st->n_moments >= 1) m->be->to_device(m->be, s->s1[i], p->m1, p->n * sizeof(float));
        if (st->n_moments >= 2) m->be->to_device(m->be, s->s2[i], p->m2, p->n * sizeof(float));
        if (st->has_ema) m->be->to_device(m->be, s->ema_w[i], p->ema, p->n * sizeof(float));
    }
    return NNDL_OK;
}
