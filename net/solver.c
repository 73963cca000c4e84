/* solver.c — the training loop (see solver.h). */
#include "solver.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "progress.h"

SolverConfig solver_config_default(void)
{
    return (SolverConfig){.optim = optim_config_default(UPDATE_SGD), .lr_decay = 1.0f,
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
    if (!(c->optim.learning_rate > 0) || c->optim.rule < 0 || c->optim.rule >= UPDATE_RULE_COUNT)
        return nndl_fail("solver: learning rate %g must be positive", c->optim.learning_rate);
    if (!(c->lr_decay > 0 && c->lr_decay <= 1))
        return nndl_fail("solver: lr decay %g must be in (0, 1]", c->lr_decay);
    if (c->num_train_samples < 0 || c->num_val_samples < 0)
        return nndl_fail("solver: accuracy sample counts must not be negative");
    return NNDL_OK;
}

int solver_init(Solver *s, Model *m, const Dataset *train, const Dataset *val, const SolverConfig *cfg)
{
    memset(s, 0, sizeof *s);
    if (check_config(cfg, train) != NNDL_OK) return NNDL_ERR;
    size_t example = (size_t)m->in_c * m->in_h * m->in_w;
    if (dataset_example_size(train) != example || (val && val->n && dataset_example_size(val) != example))
        return nndl_fail("solver: examples of (%d, %d, %d) do not fit the model's input (%d, %d, %d)",
                         train->c, train->h, train->w, m->in_c, m->in_h, m->in_w);
    if (cfg->batch_size > m->max_batch)
        return nndl_fail("solver: batch size %d exceeds the model's %d", cfg->batch_size, m->max_batch);
    *s = (Solver){.model = m, .train = train, .val = val, .cfg = *cfg, .best_val_acc = -1, .first_nonfinite = -1};
    const Backend *be = m->be;
    int most = train->n > (val ? val->n : 0) ? train->n : val->n;
    s->loss_cap = solver_iterations_per_epoch(s);
    if (!(s->opt = nndl_alloc((size_t)m->n_params, sizeof *s->opt, "update-rule configs")) ||
        !(s->s1 = calloc((size_t)m->n_params + 1, sizeof *s->s1)) ||
        !(s->s2 = calloc((size_t)m->n_params + 1, sizeof *s->s2)) ||
        !(s->best_state = nndl_alloc(model_state_size(m), sizeof(float), "the best parameters")) ||
        !(s->order = nndl_alloc((size_t)train->n, sizeof *s->order, "the shuffle")) ||
        !(s->pred = nndl_alloc((size_t)most, sizeof *s->pred, "predictions")) ||
        !(s->batch_x = nndl_alloc((size_t)cfg->batch_size * example, sizeof *s->batch_x, "a minibatch")) ||
        !(s->batch_y = nndl_alloc((size_t)cfg->batch_size, sizeof *s->batch_y, "minibatch labels")) ||
        !(s->loss_host = nndl_alloc((size_t)s->loss_cap, sizeof *s->loss_host, "loss read-back")))
        goto oom;
    if (!(s->loss_slots = be->alloc(be, (size_t)s->loss_cap * sizeof *s->loss_slots))) goto oom;
    int states = optim_state_count(cfg->optim.rule);
    for (int i = 0; i < m->n_params; i++) {
        s->opt[i] = cfg->optim;
        s->opt[i].t = 0;
        float **slots[2] = {&s->s1[i], &s->s2[i]};
        for (int k = 0; k < states; k++) {
            if (!(*slots[k] = be->alloc(be, m->params[i].n * sizeof(float)))) goto oom;
            be->fill(be, *slots[k], 0, m->params[i].n);
        }
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
    for (int i = 0; i < s->model->n_params; i++) {
        if (s->s1 && s->s1[i]) be->release(be, s->s1[i]);
        if (s->s2 && s->s2[i]) be->release(be, s->s2[i]);
    }
    if (s->loss_slots) be->release(be, s->loss_slots);
    free(s->opt), free(s->s1), free(s->s2), free(s->best_state), free(s->order), free(s->pred);
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
    be->to_host(be, s->loss_host, s->loss_slots, (size_t)s->pending * sizeof *s->loss_host);
    for (int i = 0; i < s->pending; i++) {
        if (s->first_nonfinite < 0 && !isfinite(s->loss_host[i])) s->first_nonfinite = s->loss.n;
        if (history_push(&s->loss, (float)s->loss_host[i]) != NNDL_OK) return NNDL_ERR;
    }
    s->pending = 0;
    return NNDL_OK;
}

int solver_step(Solver *s, const int *idx, int n)
{
    Model *m = s->model;
    if (s->pending == s->loss_cap && solver_read_losses(s) != NNDL_OK) return NNDL_ERR;
    size_t example = dataset_example_size(s->train);
    for (int i = 0; i < n; i++) {
        memcpy(s->batch_x + i * example, s->train->x + (size_t)idx[i] * example, example * sizeof(float));
        s->batch_y[i] = s->train->y[idx[i]];
    }
    model_loss_into(m, s->loss_slots + s->pending++, s->batch_x, s->batch_y, n, (uint64_t)s->iteration);
    for (int i = 0; i < m->n_params; i++)
        backend_update(m->be, &s->opt[i], m->params[i].w, m->params[i].dw, s->s1[i], s->s2[i], m->params[i].n);
    return NNDL_OK;
}

double solver_check_accuracy(Solver *s, const Dataset *d, int num_samples)
{
    if (!d || d->n == 0) return 0;
    size_t example = dataset_example_size(d);
    int n = num_samples > 0 && num_samples < d->n ? num_samples : d->n;
    const float *x = d->x;
    float *subset = NULL;
    int *picked = NULL;
    if (n < d->n) { /* a random subsample without replacement: a partial shuffle */
        int *all = nndl_alloc((size_t)d->n, sizeof *all, "an accuracy subsample");
        if (!all) return -1;
        for (int i = 0; i < d->n; i++) all[i] = i;
        for (int i = 0; i < n; i++) {
            int j = i + (int)rng_below(&s->rng, (uint32_t)(d->n - i)), t = all[i];
            all[i] = all[j], all[j] = t;
        }
        if (!(subset = nndl_alloc((size_t)n * example, sizeof *subset, "an accuracy subsample"))) {
            free(all);
            return -1;
        }
        for (int i = 0; i < n; i++) memcpy(subset + i * example, d->x + (size_t)all[i] * example, example * sizeof(float));
        picked = all;
        x = subset;
    }
    model_predict(s->model, s->pred, x, n);
    int correct = 0;
    for (int i = 0; i < n; i++) correct += s->pred[i] == d->y[picked ? picked[i] : i];
    free(subset);
    free(picked);
    return (double)correct / n;
}

/* The seed's accuracy check: record, print, keep the best parameters. */
static int record_accuracy(Solver *s)
{
    float train_acc = (float)solver_check_accuracy(s, s->train, s->cfg.num_train_samples);
    float val_acc = (float)solver_check_accuracy(s, s->val, s->cfg.num_val_samples);
    if (train_acc < 0 || val_acc < 0) return NNDL_ERR;
    if (history_push(&s->train_acc, train_acc) != NNDL_OK || history_push(&s->val_acc, val_acc) != NNDL_OK)
        return NNDL_ERR;
    if (s->cfg.verbose)
        fprintf(s->cfg.out, "(Epoch %d / %d) train acc: %f; val_acc: %f\n", s->epoch, s->cfg.num_epochs,
                train_acc, val_acc);
    if (val_acc > s->best_val_acc) {
        s->best_val_acc = val_acc;
        model_state_save(s->model, s->best_state);
    }
    return NNDL_OK;
}

int solver_train(Solver *s)
{
    int per_epoch = solver_iterations_per_epoch(s), bs = s->cfg.batch_size;
    int total = s->cfg.num_epochs * per_epoch;
    Progress bar;
    progress_start(&bar, s->cfg.progress ? stderr : NULL, (long)(total - s->iteration) * bs);
    long images = 0;
    while (s->epoch < s->cfg.num_epochs) {
        /* each epoch's order is a function of the RNG state alone, so a resumed run draws
         * the same minibatches as an uninterrupted one */
        for (int i = 0; i < s->train->n; i++) s->order[i] = i;
        rng_shuffle(&s->rng, s->order, (size_t)s->train->n);
        for (int b = 0; b < per_epoch; b++) {
            int t = s->iteration;
            if (solver_step(s, s->order + (size_t)b * bs, bs) != NNDL_OK) return NNDL_ERR;
            s->iteration++;
            images += bs;
            progress_update(&bar, images, s->epoch + 1, s->cfg.num_epochs);
            if (s->cfg.verbose && s->cfg.print_every > 0 && t % s->cfg.print_every == 0) {
                /* the one device-to-host copy of the losses between epoch ends */
                if (solver_read_losses(s) != NNDL_OK) return NNDL_ERR;
                progress_clear(&bar);
                fprintf(s->cfg.out, "(Iteration %d / %d) loss: %f\n", t + 1, total, s->loss.v[s->loss.n - 1]);
            }
            if (t == 0 && b + 1 < per_epoch) { /* the seed also checks after the first step */
                progress_clear(&bar);
                if (record_accuracy(s) != NNDL_OK) return NNDL_ERR;
            }
        }
        s->epoch++;
        if (solver_read_losses(s) != NNDL_OK) return NNDL_ERR;
        for (int i = 0; i < s->model->n_params; i++) s->opt[i].learning_rate *= s->cfg.lr_decay;
        progress_clear(&bar);
        if (record_accuracy(s) != NNDL_OK) return NNDL_ERR;
        fflush(s->cfg.out);
        if (s->cfg.on_epoch && s->cfg.on_epoch(s, s->cfg.on_epoch_ctx) != NNDL_OK) return NNDL_ERR;
    }
    if (s->best_val_acc >= 0) model_state_load(s->model, s->best_state);
    return NNDL_OK;
}
