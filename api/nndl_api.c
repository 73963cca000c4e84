/* nndl_api.c — the public C API (nndl.h) over the model, solver, checkpoint and safetensors
 * modules. Only the functions declared in nndl.h are exported from libnndl.so (NNDL_API; the
 * library is built with -fvisibility=hidden). */
#define NNDL_BUILDING_LIBRARY 1
#include "nndl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "open_read.h"
#include "safetensors.h"
#include "solver.h"
#include "version.h"
#include "whiten.h"

#define DEFAULT_MAX_BATCH 256

struct nndl_model {
    Backend *be;
    Model model;
    float *mean;                /* C*H*W, or NULL */
    int unwhitened;             /* a conv(whiten) first layer waits for nndl_train's images
                                 * (cleared by that and by loading weights) */
    volatile sig_atomic_t stop; /* set by progress or nndl_train_cancel; the Solver reads it
                                 * after every step (as it reads the program's stop signals) */
};

NNDL_API const char *nndl_version(void) { return NNDL_VERSION; }
NNDL_API const char *nndl_error_message(void) { return nndl_last_error(); }

static Backend *device(const char *name)
{
    const char *note;
    if (!name || strcmp(name, "auto") == 0) return backend_create_auto(&note); /* silent: a library */
    return backend_create(name);
}

/* file_bytes: the size of the file the model is rebuilt from, or 0 (model.h's ModelConfig). */
static nndl_model *create(const char *spec, int c, int h, int w, const char *dev, unsigned long long seed, int loss,
                          size_t file_bytes)
{
    nndl_clear_error();
    if (!spec) return nndl_fail("nndl_model_create: no spec"), NULL;
    nndl_model *m = nndl_alloc(1, sizeof *m, "a model");
    if (!m) return NULL;
    memset(m, 0, sizeof *m);
    /* He initialisation, as the program starts a layer spec (--init he): with the seed's fixed
     * 1e-3 scale a deeper spec's signal vanishes and it does not train */
    ModelConfig cfg = {.spec = spec, .C = c, .H = h, .W = w, .init = INIT_HE, .weight_scale = 1e-3f,
                       .loss = (LossKind)loss, .seed = seed, .max_batch = DEFAULT_MAX_BATCH, .file_bytes = file_bytes};
    if (!(m->be = device(dev)) || model_create(&m->model, m->be, &cfg) != NNDL_OK) {
        backend_destroy(m->be);
        free(m);
        return NULL;
    }
    m->unwhitened = (m->model.layers[0].spec.flags & LAYER_WHITEN) != 0;
    nndl_clear_error(); /* "auto" without a GPU left the cuda backend's reason */
    return m;
}

NNDL_API nndl_model *nndl_model_create(const char *spec, int channels, int height, int width, const char *dev,
                                       unsigned long long seed)
{
    return create(spec, channels, height, width, dev, seed, LOSS_SOFTMAX, 0);
}

NNDL_API void nndl_model_free(nndl_model *m)
{
    if (!m) return;
    model_free(&m->model);
    backend_destroy(m->be);
    free(m->mean);
    free(m);
}

static int load(nndl_model *m, const char *path)
{
    float *mean = NULL;
    int rc = checkpoint_is_file(path) ? checkpoint_load_model(&m->model, &mean, path)
                                      : safetensors_load_model(&m->model, &mean, path);
    if (rc == NNDL_OK && mean) free(m->mean), m->mean = mean;
    if (rc == NNDL_OK) m->unwhitened = 0;
    return rc;
}

NNDL_API nndl_model *nndl_model_open(const char *path, const char *dev)
{
    nndl_clear_error();
    if (!path) return nndl_fail("nndl_model_open: no path"), NULL;
    char spec[MODEL_SPEC_MAX];
    int c, h, w, loss = LOSS_SOFTMAX;
    if (checkpoint_is_file(path)) {
        CheckpointInfo info;
        if (checkpoint_read_info(path, &info) != NNDL_OK) return NULL;
        snprintf(spec, sizeof spec, "%s", info.spec);
        c = info.in_c, h = info.in_h, w = info.in_w, loss = info.loss;
    } else {
        WeightsInfo info;
        if (safetensors_read_info(path, &info) != NNDL_OK) return NULL;
        if (!info.spec[0] || !info.in_c)
            return nndl_fail("%s does not name its model (no spec or input_shape in its metadata)", path), NULL;
        snprintf(spec, sizeof spec, "%s", info.spec);
        c = info.in_c, h = info.in_h, w = info.in_w;
    }
    nndl_model *m = create(spec, c, h, w, dev, 0, loss, regular_file_size(path));
    if (m && load(m, path) != NNDL_OK) {
        nndl_model_free(m);
        return NULL;
    }
    return m;
}

NNDL_API int nndl_model_load(nndl_model *m, const char *path)
{
    nndl_clear_error();
    return m && path ? load(m, path) : nndl_fail("nndl_model_load: no model or path");
}

NNDL_API int nndl_model_save(const nndl_model *m, const char *path)
{
    nndl_clear_error();
    return m && path ? safetensors_save_model(&m->model, m->mean, NULL, path) : nndl_fail("nndl_model_save: no model or path");
}

NNDL_API int nndl_export_checkpoint(const char *checkpoint, const char *out)
{
    nndl_clear_error();
    if (!checkpoint || !checkpoint_is_file(checkpoint))
        return nndl_fail("%s is not an nndl checkpoint", checkpoint ? checkpoint : "(null)");
    nndl_model *m = nndl_model_open(checkpoint, "cpu");
    if (!m) return NNDL_ERR;
    int rc = nndl_model_save(m, out);
    nndl_model_free(m);
    return rc;
}

NNDL_API const char *nndl_model_spec(const nndl_model *m) { return m ? m->model.spec : NULL; }
NNDL_API int nndl_model_num_classes(const nndl_model *m) { return m ? m->model.num_classes : -1; }

NNDL_API int nndl_model_input_shape(const nndl_model *m, int *channels, int *height, int *width)
{
    if (!m) return nndl_fail("nndl_model_input_shape: no model");
    if (channels) *channels = m->model.in_c;
    if (height) *height = m->model.in_h;
    if (width) *width = m->model.in_w;
    return 0;
}

NNDL_API const char *nndl_model_device(const nndl_model *m) { return m ? m->be->name : NULL; }
NNDL_API const float *nndl_model_mean(const nndl_model *m) { return m ? m->mean : NULL; }

static size_t pixels(const nndl_model *m) { return (size_t)m->model.in_c * m->model.in_h * m->model.in_w; }

NNDL_API int nndl_model_set_mean(nndl_model *m, const float *mean)
{
    nndl_clear_error();
    if (!m) return nndl_fail("nndl_model_set_mean: no model");
    float *copy = NULL;
    if (mean && !(copy = nndl_alloc(pixels(m), sizeof *copy, "the mean image"))) return NNDL_ERR;
    if (copy) memcpy(copy, mean, pixels(m) * sizeof *copy);
    free(m->mean);
    m->mean = copy;
    return NNDL_OK;
}

/* n examples as a Dataset with the model's mean subtracted (a copy: the caller's stay). */
static int dataset_of(const nndl_model *m, Dataset *d, const float *x, const int *y, int n)
{
    memset(d, 0, sizeof *d);
    if (n <= 0) return NNDL_OK;
    if (!x || !y) return nndl_fail("nndl_train: %d examples without data or labels", n);
    if (dataset_alloc(d, n, m->model.in_c, m->model.in_h, m->model.in_w) != NNDL_OK) return NNDL_ERR;
    size_t p = pixels(m);
    for (size_t i = 0; i < (size_t)n * p; i++) d->x[i] = x[i] - (m->mean ? m->mean[i % p] : 0.0f);
    memcpy(d->y, y, (size_t)n * sizeof *y);
    return NNDL_OK;
}

/* The model rebuilt for batches of at least batch, its state kept. */
static int ensure_batch(nndl_model *m, int batch)
{
    if (batch <= m->model.max_batch) return NNDL_OK;
    Model *old = &m->model, bigger;
    size_t n = model_state_size(old);
    float *state = nndl_alloc(n ? n : 1, sizeof *state, "the model state");
    if (!state) return NNDL_ERR;
    model_state_save(old, state);
    int rc = model_init(&bigger, m->be, old->spec, old->in_c, old->in_h, old->in_w, 1e-3f, old->reg, old->loss,
                        old->seed, batch);
    if (rc == NNDL_OK) {
        model_state_load(&bigger, state);
        model_free(old);
        m->model = bigger;
    }
    free(state);
    return rc;
}

NNDL_API void nndl_train_options_init(nndl_train_options *o)
{
    if (o) *o = (nndl_train_options){.update = "adam", .learning_rate = 1e-3f, .lr_decay = 1.0f, .reg = 0,
                              .momentum = 0.9f, .epochs = 10, .batch_size = 100};
}

typedef struct TrainProgress {
    const nndl_train_options *o;
    nndl_model *m;
    int first_loss;             /* the loss history index where the epoch began */
} TrainProgress;

static int on_epoch(const Solver *s, void *ctx)
{
    TrainProgress *p = ctx;
    if (!p->o->progress) return NNDL_OK;
    double loss = 0;
    for (int i = p->first_loss; i < s->loss.n; i++) loss += s->loss.v[i];
    loss = s->loss.n > p->first_loss ? loss / (s->loss.n - p->first_loss) : 0;
    p->first_loss = s->loss.n;
    int k = s->val_acc.n - 1;
    if (p->o->progress(s->epoch, s->cfg.num_epochs, loss, s->train_acc.v[k], s->val_acc.v[k], p->o->user))
        p->m->stop = 1;
    return NNDL_OK;
}

/* The program's ranges for its flags (cli/train_options.c), so that a bad value is named rather
 * than reported as a divergence later. */
static int check_options(const nndl_train_options *o, int n, int n_val)
{
    if (o->batch_size < 1 || o->batch_size > n)
        return nndl_fail("nndl_train: batch size %d for %d examples", o->batch_size, n);
    if (n_val < 0) return nndl_fail("nndl_train: %d validation examples", n_val);
    if (o->epochs < 1) return nndl_fail("nndl_train: %d epochs", o->epochs);
    struct {
        const char *name;
        float v, lo, hi;
    } ranges[] = {{"learning_rate", o->learning_rate, 1e-12f, 10}, {"lr_decay", o->lr_decay, 1e-6f, 1},
                  {"reg", o->reg, 0, 1e3f}, {"momentum", o->momentum, 0, 1}};
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
        if (!(ranges[i].v >= ranges[i].lo && ranges[i].v <= ranges[i].hi)) /* NaN too */
            return nndl_fail("nndl_train: %s %g is not between %g and %g", ranges[i].name, (double)ranges[i].v,
                             (double)ranges[i].lo, (double)ranges[i].hi);
    return NNDL_OK;
}

NNDL_API int nndl_train(nndl_model *m, const float *x, const int *y, int n, const float *val_x, const int *val_y,
                        int n_val, const nndl_train_options *o)
{
    nndl_clear_error();
    if (!m || !o) return nndl_fail("nndl_train: no model or options");
    UpdateRule rule;
    if (optim_rule_from_name(o->update ? o->update : "", &rule) != NNDL_OK) return NNDL_ERR;
    if (check_options(o, n, n_val) != NNDL_OK) return NNDL_ERR;
    if (ensure_batch(m, o->batch_size) != NNDL_OK) return NNDL_ERR;
    Dataset train, val;
    if (dataset_of(m, &train, x, y, n) != NNDL_OK) return NNDL_ERR;
    if (dataset_of(m, &val, val_x, val_y, n_val) != NNDL_OK) {
        dataset_free(&train);
        return NNDL_ERR;
    }
    TrainProgress p = {.o = o, .m = m};
    m->stop = 0; /* a request made while no training ran is not this call's */
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(rule);
    cfg.optim.learning_rate = o->learning_rate, cfg.optim.momentum = o->momentum;
    cfg.lr_decay = o->lr_decay, cfg.batch_size = o->batch_size, cfg.num_epochs = o->epochs, cfg.seed = o->seed;
    cfg.verbose = 0, cfg.progress = 0, cfg.print_every = 0;
    cfg.on_epoch = on_epoch, cfg.on_epoch_ctx = &p, cfg.stop = &m->stop;
    /* a failed call (a divergence above all) leaves the model as it was, not with the diverged
     * or half-trained parameters */
    float *before = nndl_alloc(model_state_size(&m->model), sizeof *before, "the model's state before training");
    if (!before) {
        dataset_free(&train), dataset_free(&val);
        return NNDL_ERR;
    }
    float reg_before = m->model.reg;
    int unwhitened = m->unwhitened;
    model_state_save(&m->model, before);
    m->model.reg = o->reg;
    Solver s;
    int rc = m->unwhitened ? model_whiten(&m->model, &train, WHITEN_IMAGES) : NNDL_OK;
    if (rc == NNDL_OK) m->unwhitened = 0, rc = solver_init(&s, &m->model, &train, &val, &cfg);
    if (rc == NNDL_OK) {
        rc = solver_train(&s);
        rc = rc == SOLVER_STOPPED ? 1 : rc == NNDL_OK ? 0 : NNDL_ERR;
        if (rc == 1 && s.best_val_acc >= 0) model_state_load(&m->model, s.best_state); /* as a finished run */
        if (rc == 0 && m->stop) rc = 1; /* asked after the last step: nothing was left to stop */
        solver_free(&s);
    }
    if (rc == NNDL_ERR) model_state_load(&m->model, before), m->model.reg = reg_before, m->unwhitened = unwhitened;
    free(before);
    dataset_free(&train), dataset_free(&val);
    return rc;
}

NNDL_API void nndl_train_cancel(nndl_model *m)
{
    if (m) m->stop = 1;
}

NNDL_API int nndl_predict(nndl_model *m, const float *x, int n, int *labels, float *scores)
{
    nndl_clear_error();
    if (!m || n < 0 || (n > 0 && (!x || !labels))) return nndl_fail("nndl_predict: no model, inputs or labels");
    size_t p = pixels(m);
    int C = m->model.num_classes, B = m->model.max_batch;
    float *batch = nndl_alloc((size_t)B * p, sizeof *batch, "a batch of inputs");
    float *s = nndl_alloc((size_t)B * C, sizeof *s, "a batch of scores");
    int rc = batch && s ? NNDL_OK : NNDL_ERR;
    for (int start = 0; rc == NNDL_OK && start < n; start += B) {
        int k = n - start < B ? n - start : B;
        for (size_t i = 0; i < (size_t)k * p; i++) batch[i] = x[start * p + i] - (m->mean ? m->mean[i % p] : 0.0f);
        if ((rc = model_scores(&m->model, s, batch, k)) != NNDL_OK) break;
        for (int i = 0; i < k; i++) {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (s[i * C + c] > s[i * C + best]) best = c;
            labels[start + i] = best;
        }
        if (scores) memcpy(scores + (size_t)start * C, s, (size_t)k * C * sizeof *s);
    }
    free(batch), free(s);
    return rc;
}
