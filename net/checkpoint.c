/* checkpoint.c — the checkpoint file format (see checkpoint.h).
 *
 * Layout, little-endian, in order: magic "NNDLCKPT", u32 version, the header (spec, input
 * shape, loss kind, solver settings, epoch, iteration, RNG state, best val accuracy), then
 * float arrays each preceded by its u64 length: input mean, model state, best state, loss /
 * train acc / val acc histories, and per parameter its step count and two optimizer state
 * arrays; finally the magic "END!" so a truncated file is recognised. */
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "error.h"

#define MAGIC "NNDLCKPT"
#define TRAILER "END!"
#define VERSION 1u

typedef struct Header {
    char spec[1024];
    int32_t in_c, in_h, in_w, loss;
    int32_t rule, batch_size, num_epochs, num_train_samples, num_val_samples, epoch, iteration;
    float learning_rate, momentum, decay_rate, beta1, beta2, epsilon, lr_decay, best_val_acc, reg;
    uint64_t seed, model_seed, rng[4]; /* solver's seed, the model's (dropout masks) */
    int32_t n_params;
} Header;

/* ---- writing ---------------------------------------------------------------------------- */

static int put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

static int put_floats(FILE *f, const float *v, uint64_t n)
{
    return put(f, &n, sizeof n) && (n == 0 || put(f, v, n * sizeof *v));
}

/* A device array, fetched to the host and written. */
static int put_device(FILE *f, const Backend *be, const float *dev, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    if (dev) be->to_host(h, dev, n * sizeof *h);
    else memset(h, 0, n * sizeof *h);
    int ok = put_floats(f, h, n);
    free(h);
    return ok;
}

static void fill_header(Header *h, const Solver *s)
{
    const Model *m = s->model;
    const OptimConfig *o = &s->cfg.optim;
    memset(h, 0, sizeof *h);
    snprintf(h->spec, sizeof h->spec, "%s", m->spec);
    h->in_c = m->in_c, h->in_h = m->in_h, h->in_w = m->in_w, h->loss = m->loss;
    h->rule = o->rule, h->batch_size = s->cfg.batch_size, h->num_epochs = s->cfg.num_epochs;
    h->num_train_samples = s->cfg.num_train_samples, h->num_val_samples = s->cfg.num_val_samples;
    h->epoch = s->epoch, h->iteration = s->iteration;
    h->learning_rate = o->learning_rate, h->momentum = o->momentum, h->decay_rate = o->decay_rate;
    h->beta1 = o->beta1, h->beta2 = o->beta2, h->epsilon = o->epsilon, h->lr_decay = s->cfg.lr_decay;
    h->best_val_acc = s->best_val_acc, h->reg = m->reg, h->seed = s->cfg.seed, h->model_seed = m->seed;
    memcpy(h->rng, s->rng.s, sizeof h->rng);
    h->n_params = m->n_params;
}

static int write_body(FILE *f, const Solver *s)
{
    const Model *m = s->model;
    Header h;
    fill_header(&h, s);
    uint32_t version = VERSION;
    size_t state_n = model_state_size(m), mean_n = s->input_mean ? (size_t)m->in_c * m->in_h * m->in_w : 0;
    float *state = malloc(state_n * sizeof *state);
    model_state_save(m, state);
    int ok = put(f, MAGIC, 8) && put(f, &version, sizeof version) && put(f, &h, sizeof h) &&
             put_floats(f, s->input_mean, mean_n) && put_floats(f, state, state_n) &&
             put_floats(f, s->best_state, s->best_val_acc >= 0 ? state_n : 0) &&
             put_floats(f, s->loss.v, (uint64_t)s->loss.n) &&
             put_floats(f, s->train_acc.v, (uint64_t)s->train_acc.n) &&
             put_floats(f, s->val_acc.v, (uint64_t)s->val_acc.n);
    free(state);
    int states = optim_state_count(s->cfg.optim.rule);
    for (int i = 0; ok && i < m->n_params; i++) {
        int32_t t = s->opt[i].t;
        float lr = s->opt[i].learning_rate;
        ok = put(f, &t, sizeof t) && put(f, &lr, sizeof lr) &&
             put_device(f, m->be, states >= 1 ? s->s1[i] : NULL, states >= 1 ? m->params[i].n : 0) &&
             put_device(f, m->be, states >= 2 ? s->s2[i] : NULL, states >= 2 ? m->params[i].n : 0);
    }
    return ok && put(f, TRAILER, 4);
}

static int write_checkpoint(FILE *f, const void *solver) { return write_body(f, solver); }

int checkpoint_save(const Solver *s, const char *path)
{
    return write_file_atomically(path, "checkpoint", write_checkpoint, s);
}

int checkpoint_save_epoch(const Solver *s, void *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s_epoch_%d.ckpt", (const char *)name, s->epoch);
    return checkpoint_save(s, path);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Everything in a checkpoint, in host memory, validated for shape and completeness. */
typedef struct Contents {
    Header h;
    uint64_t mean_n, state_n, best_n, loss_n, train_n, val_n;
    float *mean, *state, *best, *loss, *train_acc, *val_acc;
    int32_t *t;
    float *lr;
    uint64_t *s1_n, *s2_n;
    float **s1, **s2;
} Contents;

static void contents_free(Contents *c)
{
    free(c->mean), free(c->state), free(c->best), free(c->loss), free(c->train_acc), free(c->val_acc);
    for (int i = 0; c->s1 && i < c->h.n_params; i++) free(c->s1[i]), free(c->s2[i]);
    free(c->s1), free(c->s2), free(c->t), free(c->lr), free(c->s1_n), free(c->s2_n);
    memset(c, 0, sizeof *c);
}

static int get(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n; }

/* A length-prefixed float array; lengths beyond what the file can hold mean damage. */
static int get_floats(FILE *f, float **v, uint64_t *n, uint64_t file_size)
{
    if (!get(f, n, sizeof *n) || *n > file_size / sizeof(float)) return 0;
    *v = malloc((*n ? *n : 1) * sizeof **v);
    return *v && (*n == 0 || get(f, *v, *n * sizeof **v));
}

static int read_contents(Contents *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) return nndl_fail("cannot open checkpoint %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    uint64_t size = (uint64_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char magic[8];
    uint32_t version;
    if (!get(f, magic, 8) || memcmp(magic, MAGIC, 8) != 0) {
        fclose(f);
        return nndl_fail("%s is not an nndl checkpoint (bad magic)", path);
    }
    int ok = get(f, &version, sizeof version) && version == VERSION && get(f, &c->h, sizeof c->h) &&
             c->h.n_params >= 0 && c->h.n_params <= 2 * MODEL_MAX_LAYERS;
    c->h.spec[sizeof c->h.spec - 1] = '\0';
    ok = ok && get_floats(f, &c->mean, &c->mean_n, size) && get_floats(f, &c->state, &c->state_n, size) &&
         get_floats(f, &c->best, &c->best_n, size) && get_floats(f, &c->loss, &c->loss_n, size) &&
         get_floats(f, &c->train_acc, &c->train_n, size) && get_floats(f, &c->val_acc, &c->val_n, size);
    if (ok) {
        int n = c->h.n_params;
        c->t = calloc((size_t)n + 1, sizeof *c->t), c->lr = calloc((size_t)n + 1, sizeof *c->lr);
        c->s1 = calloc((size_t)n + 1, sizeof *c->s1), c->s2 = calloc((size_t)n + 1, sizeof *c->s2);
        c->s1_n = calloc((size_t)n + 1, sizeof *c->s1_n), c->s2_n = calloc((size_t)n + 1, sizeof *c->s2_n);
        for (int i = 0; ok && i < n; i++)
            ok = get(f, &c->t[i], sizeof c->t[i]) && get(f, &c->lr[i], sizeof c->lr[i]) &&
                 get_floats(f, &c->s1[i], &c->s1_n[i], size) && get_floats(f, &c->s2[i], &c->s2_n[i], size);
    }
    char trailer[4];
    ok = ok && get(f, trailer, 4) && memcmp(trailer, TRAILER, 4) == 0;
    fclose(f);
    if (!ok) {
        contents_free(c);
        return nndl_fail("checkpoint %s is truncated or damaged (version %u expected)", path, VERSION);
    }
    return NNDL_OK;
}

/* The checkpoint's model must be the one built. */
static int same_model(const Contents *c, const Model *m, const char *path)
{
    if (strcmp(c->h.spec, m->spec) != 0 || c->h.in_c != m->in_c || c->h.in_h != m->in_h ||
        c->h.in_w != m->in_w)
        return nndl_fail("checkpoint %s holds another model: '%s' on input (%d, %d, %d), but this run "
                         "builds '%s' on input (%d, %d, %d)", path, c->h.spec, c->h.in_c, c->h.in_h,
                         c->h.in_w, m->spec, m->in_c, m->in_h, m->in_w);
    if (c->state_n != model_state_size(m) || c->h.n_params != m->n_params)
        return nndl_fail("checkpoint %s: %llu state values, the model has %zu", path,
                         (unsigned long long)c->state_n, model_state_size(m));
    /* eval subtracts the mean from every (C, H, W) image */
    if (c->mean_n != 0 && c->mean_n != (uint64_t)m->in_c * m->in_h * m->in_w)
        return nndl_fail("checkpoint %s: input mean of %llu values, the input has %d", path,
                         (unsigned long long)c->mean_n, m->in_c * m->in_h * m->in_w);
    return NNDL_OK;
}

static void set_history(History *h, const float *v, uint64_t n)
{
    free(h->v);
    h->v = malloc((n ? n : 1) * sizeof *h->v);
    memcpy(h->v, v, n * sizeof *v);
    h->n = h->cap = (int)n;
}

int checkpoint_load(Solver *s, const char *path)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    Model *m = s->model;
    int rc = same_model(&c, m, path);
    if (rc == NNDL_OK && c.h.rule != (int)s->cfg.optim.rule)
        rc = nndl_fail("checkpoint %s was trained with update rule %s, this run asks for %s", path,
                       optim_rule_name((UpdateRule)c.h.rule), optim_rule_name(s->cfg.optim.rule));
    int states = optim_state_count(s->cfg.optim.rule);
    for (int i = 0; rc == NNDL_OK && i < m->n_params; i++)
        if (c.s1_n[i] != (states >= 1 ? m->params[i].n : 0) || c.s2_n[i] != (states >= 2 ? m->params[i].n : 0))
            rc = nndl_fail("checkpoint %s: optimizer state of %s has the wrong size", path, m->params[i].name);
    if (rc == NNDL_OK) {
        model_state_load(m, c.state);
        m->seed = c.h.model_seed; /* the dropout masks continue as they would have */
        if (c.best_n == c.state_n) memcpy(s->best_state, c.best, c.best_n * sizeof(float));
        s->best_val_acc = c.h.best_val_acc;
        s->epoch = c.h.epoch, s->iteration = c.h.iteration;
        memcpy(s->rng.s, c.h.rng, sizeof c.h.rng);
        set_history(&s->loss, c.loss, c.loss_n);
        set_history(&s->train_acc, c.train_acc, c.train_n);
        set_history(&s->val_acc, c.val_acc, c.val_n);
        for (int i = 0; i < m->n_params; i++) {
            s->opt[i].t = c.t[i];
            s->opt[i].learning_rate = c.lr[i];
            if (states >= 1) m->be->to_device(s->s1[i], c.s1[i], c.s1_n[i] * sizeof(float));
            if (states >= 2) m->be->to_device(s->s2[i], c.s2[i], c.s2_n[i] * sizeof(float));
        }
    }
    contents_free(&c);
    return rc;
}

int checkpoint_read_info(const char *path, CheckpointInfo *info)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    snprintf(info->spec, sizeof info->spec, "%s", c.h.spec);
    info->in_c = c.h.in_c, info->in_h = c.h.in_h, info->in_w = c.h.in_w;
    info->loss = c.h.loss, info->epoch = c.h.epoch, info->best_val_acc = c.h.best_val_acc;
    contents_free(&c);
    return NNDL_OK;
}

int checkpoint_load_model(Model *m, float **input_mean, const char *path)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    int rc = same_model(&c, m, path);
    if (rc == NNDL_OK) {
        /* the solver restored the best parameters before the last save only at the very end;
         * eval uses the best ones when recorded, as the trained model would */
        model_state_load(m, c.best_n == c.state_n ? c.best : c.state);
        *input_mean = c.mean_n ? c.mean : NULL;
        if (c.mean_n) c.mean = NULL; /* handed over */
    }
    contents_free(&c);
    return rc;
}
