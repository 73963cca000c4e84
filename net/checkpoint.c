/* checkpoint.c — the checkpoint file format (see checkpoint.h).
 *
 * Format 4, every field little-endian, written one by one (no struct is dumped, so the file
 * does not depend on the compiler's padding or the machine's byte order):
 *   "NNDLCKPT", u32 format (4),
 *   u32 spec length, spec bytes; i32 in_c, in_h, in_w; u32 loss kind, u32 update rule;
 *   i32 batch size, epochs, train / val accuracy samples, epoch, iteration;
 *   f32 learning rate, momentum, decay rate, beta1, beta2, epsilon, lr decay, reg, best val acc;
 *   the recipe (format 4; older files read as the seed's: none of it):
 *     f32 label smoothing, weight decay, lr factor of biases and batchnorm parameters;
 *     i32 schedule kind, f32 warm-up epochs, warm-up start, final factor, i32 step epochs,
 *     f32 step factor; i32 augmentation pad, pad mode, flip, cutout; i32 test-time augmentation;
 *     f32 ema decay (0: no moving average);
 *   u64 solver seed, model seed (dropout masks), RNG state[4]; u32 number of parameters;
 *   float arrays, each as u64 length + f32 values: mean image, model state, best state, loss,
 *   train acc, val acc histories;
 *   per parameter: i32 step count, f32 learning rate, u64 size, then the rule's moments (0, 1 or
 *   2 arrays of that size, no length prefix), then its moving average when the ema decay is > 0;
 *   u32 number of class names (0: none), each as u32 length + bytes (no NUL);
 *   "END!", and the CRC-32 (zlib's) of every byte before it, as u32.
 * Format 3 is format 4 without the recipe, format 2 format 3 without the class names (both read:
 * as runs without a recipe, without names); format 1 (a native struct, no CRC) is recognised and
 * refused. */
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "atomic_file.h"
#include "error.h"
#include "safetensors.h"
#include "open_read.h"

#define MAGIC "NNDLCKPT"
#define TRAILER "END!"

/* Everything in a checkpoint, in host memory. */
typedef struct Contents {
    char spec[MODEL_SPEC_MAX];
    int32_t in_c, in_h, in_w, loss, rule;
    int32_t batch_size, num_epochs, num_train_samples, num_val_samples;
    float learning_rate, momentum, decay_rate, beta1, beta2, epsilon, lr_decay, reg;
    CheckpointRecipe recipe;
    uint64_t seed, model_seed;
    uint64_t mean_n, model_n;
    float *mean, *model;        /* the input mean (mean_n = 0: none), the model's state */
    SolverState st;             /* epoch, iteration, RNG, best, histories, optimizer state */
    ClassNames classes;         /* the training data's (format 3); none: n = 0 */
} Contents;

static void contents_free(Contents *c)
{
    free(c->mean), free(c->model);
    solver_state_free(&c->st);
    class_names_free(&c->classes);
    memset(c, 0, sizeof *c);
}

/* ---- checks shared by saving and loading -------------------------------------------------- */

static int all_finite(const float *v, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static int in_unit(float v) { return v >= 0 && v <= 1; } /* false for NaN */

/* Every field in range and consistent with the others; `where` starts the message. */
static int check_contents(const Contents *c, const char *where)
{
    const SolverState *st = &c->st;
    size_t pixels = (size_t)c->in_c * c->in_h * c->in_w;
    if (strlen(c->spec) == 0) return nndl_fail("%s: the model spec is empty", where);
    if (c->in_c < 1 || c->in_h < 1 || c->in_w < 1 || c->in_c > 65536 || c->in_h > 65536 || c->in_w > 65536)
        return nndl_fail("%s: input shape (%d, %d, %d) is impossible", where, c->in_c, c->in_h, c->in_w);
    if (c->loss != LOSS_SOFTMAX && c->loss != LOSS_SVM) return nndl_fail("%s: unknown loss kind %d", where, c->loss);
    if (c->rule < 0 || c->rule >= UPDATE_RULE_COUNT) return nndl_fail("%s: unknown update rule %d", where, c->rule);
    if (c->batch_size < 1 || c->num_epochs < 1 || c->num_train_samples < 0 || c->num_val_samples < 0)
        return nndl_fail("%s: batch size %d, epochs %d, accuracy samples %d / %d out of range", where,
                         c->batch_size, c->num_epochs, c->num_train_samples, c->num_val_samples);
    if (!(isfinite(c->learning_rate) && c->learning_rate > 0) || !(c->lr_decay > 0 && c->lr_decay <= 1) ||
        !(c->momentum >= 0 && c->momentum < 1) || !(c->decay_rate >= 0 && c->decay_rate < 1) ||
        !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(isfinite(c->epsilon) && c->epsilon > 0) || !(isfinite(c->reg) && c->reg >= 0))
        return nndl_fail("%s: hyperparameters out of range (learning rate %g, lr decay %g, momentum %g, decay "
                         "rate %g, beta1 %g, beta2 %g, epsilon %g, reg %g)", where, c->learning_rate, c->lr_decay,
                         c->momentum, c->decay_rate, c->beta1, c->beta2, c->epsilon, c->reg);
    const CheckpointRecipe *r = &c->recipe;
    if (!(r->label_smoothing >= 0 && r->label_smoothing <= 1) || !(r->weight_decay >= 0 && r->weight_decay <= 1e3) ||
        !(r->nonweight_lr_mult > 0 && r->nonweight_lr_mult <= 1e4) || schedule_check(&r->schedule) != NNDL_OK ||
        r->augment.pad < 0 || r->augment.pad >= (c->in_h < c->in_w ? c->in_h : c->in_w) || r->augment.cutout < 0 ||
        r->augment.cutout > c->in_h || (r->augment.pad_mode != PAD_ZERO && r->augment.pad_mode != PAD_REFLECT) ||
        (r->augment.flip != 0 && r->augment.flip != 1) || r->tta < 0 || r->tta > 2 || !(r->ema >= 0 && r->ema < 1) ||
        (r->ema > 0) != st->has_ema)
        return nndl_fail("%s: recipe out of range (label smoothing %g, weight decay %g, lr factor %g, schedule %d, "
                         "augmentation pad %d mode %d flip %d cutout %d, tta %d, ema %g)", where, r->label_smoothing,
                         r->weight_decay, r->nonweight_lr_mult, (int)r->schedule.kind, r->augment.pad,
                         r->augment.pad_mode, r->augment.flip, r->augment.cutout, r->tta, r->ema);
    /* the Solver's invariants: a loss per iteration, an accuracy check per epoch end plus at
     * most one after the first iteration, the best val accuracy the highest one checked */
    if (st->epoch < 0 || st->iteration < st->epoch || st->epoch > c->num_epochs)
        return nndl_fail("%s: epoch %d and iteration %d are inconsistent (of %d epochs)", where, st->epoch,
                         st->iteration, c->num_epochs);
    if (st->loss_n != st->iteration || st->train_n != st->val_n || st->val_n < st->epoch || st->val_n > st->epoch + 1)
        return nndl_fail("%s: histories of %d losses, %d / %d accuracies do not fit epoch %d, iteration %d", where,
                         st->loss_n, st->train_n, st->val_n, st->epoch, st->iteration);
    for (int i = 0; i < st->loss_n; i++)
        if (!(st->loss[i] >= 0)) return nndl_fail("%s: loss %d is %g", where, i + 1, st->loss[i]);
    float best = SOLVER_NO_BEST;
    for (int i = 0; i < st->val_n; i++) {
        if (!in_unit(st->train_acc[i]) || !in_unit(st->val_acc[i]))
            return nndl_fail("%s: accuracy %g / %g is not in [0, 1]", where, st->train_acc[i], st->val_acc[i]);
        if (st->val_acc[i] > best) best = st->val_acc[i];
    }
    /* exactly the history's best, or none recorded: before the first check, or in a run without
     * a validation set, whose checks all score 0 */
    int no_best_ok = st->best_val_acc == SOLVER_NO_BEST && !(best > 0);
    if (!no_best_ok && st->best_val_acc != best) /* also catches NaN */
        return nndl_fail("%s: best val accuracy %g is not the highest of the history (%g)", where,
                         st->best_val_acc, best);
    if (c->mean_n != 0 && c->mean_n != pixels)
        return nndl_fail("%s: a mean image of %llu values for inputs of %zu", where, (unsigned long long)c->mean_n,
                         pixels);
    if (!all_finite(c->mean, c->mean_n)) return nndl_fail("%s: the mean image holds a non-finite value", where);
    if (c->model_n != st->state_n || (st->best_state != NULL) != (st->best_val_acc >= 0))
        return nndl_fail("%s: model state of %llu values, best state of %zu", where,
                         (unsigned long long)c->model_n, st->best_state ? st->state_n : 0);
    if (!all_finite(c->model, c->model_n)) return nndl_fail("%s: the model state holds a non-finite value", where);
    if (st->best_state && !all_finite(st->best_state, st->state_n))
        return nndl_fail("%s: the best state holds a non-finite value", where);
    if (st->n_params < 1 || st->n_params > LAYER_MAX_PARAMS * MODEL_MAX_LAYERS || st->n_moments != optim_state_count(c->rule))
        return nndl_fail("%s: %d parameters with %d optimizer moments each (rule %s)", where, st->n_params,
                         st->n_moments, optim_rule_name((UpdateRule)c->rule));
    uint64_t total = 0;
    for (int i = 0; i < st->n_params; i++) {
        const SolverParamState *p = &st->params[i];
        total += p->n;
        if (p->n < 1 || total > c->model_n || p->t < 0 || p->t > st->iteration ||
            !(isfinite(p->learning_rate) && p->learning_rate >= 0)) /* lr decay may reach 0 */
            return nndl_fail("%s: parameter %d: size %zu, step %d, learning rate %g out of range", where, i + 1,
                             p->n, p->t, p->learning_rate);
        if ((p->m1 && !all_finite(p->m1, p->n)) || (p->m2 && !all_finite(p->m2, p->n)) ||
            (p->ema && !all_finite(p->ema, p->n)))
            return nndl_fail("%s: the optimizer state of parameter %d holds a non-finite value", where, i + 1);
    }
    return NNDL_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct Out {
    FILE *f;
    uLong crc;
    int ok;
} Out;

static void put(Out *o, const void *p, size_t n)
{
    o->crc = crc32(o->crc, p, (uInt)n);
    o->ok = o->ok && fwrite(p, 1, n, o->f) == n;
}

static void put_u32(Out *o, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(o, b, 4);
}

static void put_u64(Out *o, uint64_t v) { put_u32(o, (uint32_t)v), put_u32(o, (uint32_t)(v >> 32)); }
static void put_i32(Out *o, int32_t v) { put_u32(o, (uint32_t)v); }

static void put_f32(Out *o, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    put_u32(o, u);
}

/* n floats without a length, converted in chunks. */
static void put_values(Out *o, const float *v, uint64_t n)
{
    unsigned char b[4096];
    for (uint64_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof b / 4 && i < n; k++, i++) {
            uint32_t u;
            memcpy(&u, &v[i], sizeof u);
            b[4 * k] = (unsigned char)u, b[4 * k + 1] = (unsigned char)(u >> 8);
            b[4 * k + 2] = (unsigned char)(u >> 16), b[4 * k + 3] = (unsigned char)(u >> 24);
        }
        put(o, b, 4 * k);
    }
}

static void put_floats(Out *o, const float *v, uint64_t n) { put_u64(o, n), put_values(o, v, n); }

static int write_contents(FILE *f, const void *ctx)
{
    const Contents *c = ctx;
    const SolverState *st = &c->st;
    Out o = {.f = f, .crc = crc32(0, NULL, 0), .ok = 1};
    put(&o, MAGIC, 8);
    put_u32(&o, CHECKPOINT_FORMAT);
    put_u32(&o, (uint32_t)strlen(c->spec));
    put(&o, c->spec, strlen(c->spec));
    int32_t ints[] = {c->in_c, c->in_h, c->in_w, c->loss, c->rule, c->batch_size, c->num_epochs,
                      c->num_train_samples, c->num_val_samples, st->epoch, st->iteration};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) put_i32(&o, ints[i]);
    float floats[] = {c->learning_rate, c->momentum, c->decay_rate, c->beta1, c->beta2, c->epsilon,
                      c->lr_decay, c->reg, st->best_val_acc};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) put_f32(&o, floats[i]);
    const CheckpointRecipe *r = &c->recipe;
    put_f32(&o, r->label_smoothing), put_f32(&o, r->weight_decay), put_f32(&o, r->nonweight_lr_mult);
    put_i32(&o, r->schedule.kind), put_f32(&o, r->schedule.warmup_epochs), put_f32(&o, r->schedule.warmup_start);
    put_f32(&o, r->schedule.final), put_i32(&o, r->schedule.step_epochs), put_f32(&o, r->schedule.gamma);
    put_i32(&o, r->augment.pad), put_i32(&o, r->augment.pad_mode), put_i32(&o, r->augment.flip);
    put_i32(&o, r->augment.cutout), put_i32(&o, r->tta), put_f32(&o, r->ema);
    put_u64(&o, c->seed), put_u64(&o, c->model_seed);
    for (int i = 0; i < 4; i++) put_u64(&o, st->rng[i]);
    put_u32(&o, (uint32_t)st->n_params);
    put_floats(&o, c->mean, c->mean_n);
    put_floats(&o, c->model, c->model_n);
    put_floats(&o, st->best_state, st->best_state ? st->state_n : 0);
    put_floats(&o, st->loss, (uint64_t)st->loss_n);
    put_floats(&o, st->train_acc, (uint64_t)st->train_n);
    put_floats(&o, st->val_acc, (uint64_t)st->val_n);
    for (int i = 0; i < st->n_params; i++) {
        const SolverParamState *p = &st->params[i];
        put_i32(&o, p->t), put_f32(&o, p->learning_rate), put_u64(&o, p->n);
        if (st->n_moments >= 1) put_values(&o, p->m1, p->n);
        if (st->n_moments >= 2) put_values(&o, p->m2, p->n);
        if (st->has_ema) put_values(&o, p->ema, p->n);
    }
    put_u32(&o, (uint32_t)c->classes.n);
    for (int i = 0; i < c->classes.n; i++) {
        put_u32(&o, (uint32_t)strlen(c->classes.names[i]));
        put(&o, c->classes.names[i], strlen(c->classes.names[i]));
    }
    put(&o, TRAILER, 4);
    put_u32(&o, (uint32_t)o.crc);
    return o.ok;
}

/* The solver's run as Contents, through the solver's state API and the model's public API. */
static int gather(Contents *c, const Solver *s)
{
    const Model *m = solver_model(s);
    const SolverConfig *cfg = solver_config(s);
    memset(c, 0, sizeof *c);
    snprintf(c->spec, sizeof c->spec, "%s", m->spec);
    c->in_c = m->in_c, c->in_h = m->in_h, c->in_w = m->in_w, c->loss = m->loss, c->rule = cfg->optim.rule;
    c->batch_size = cfg->batch_size, c->num_epochs = cfg->num_epochs;
    c->num_train_samples = cfg->num_train_samples, c->num_val_samples = cfg->num_val_samples;
    c->learning_rate = cfg->optim.learning_rate, c->momentum = cfg->optim.momentum;
    c->decay_rate = cfg->optim.decay_rate, c->beta1 = cfg->optim.beta1, c->beta2 = cfg->optim.beta2;
    c->epsilon = cfg->optim.epsilon, c->lr_decay = cfg->lr_decay, c->reg = m->reg;
    c->seed = cfg->seed, c->model_seed = m->seed;
    c->recipe = (CheckpointRecipe){.label_smoothing = m->label_smoothing, .weight_decay = cfg->optim.weight_decay,
                                   .nonweight_lr_mult = cfg->nonweight_lr_mult, .schedule = cfg->schedule,
                                   .augment = cfg->augment, .tta = m->tta, .ema = cfg->ema};
    c->recipe.augment.seed = 0, c->recipe.augment.epoch = 0; /* set per step, not settings */
    c->mean_n = solver_input_mean(s) ? (uint64_t)m->in_c * m->in_h * m->in_w : 0;
    c->mean = malloc((c->mean_n ? c->mean_n : 1) * sizeof *c->mean);
    c->model_n = model_state_size(m);
    c->model = malloc((c->model_n ? c->model_n : 1) * sizeof *c->model);
    if (!c->mean || !c->model) {
        contents_free(c);
        return nndl_fail("checkpoint: out of memory");
    }
    if (c->mean_n) memcpy(c->mean, solver_input_mean(s), c->mean_n * sizeof *c->mean);
    model_state_save(m, c->model);
    if (s->class_names && s->class_names->n != m->num_classes) {
        contents_free(c);
        return nndl_fail("checkpoint: %d class names for a model of %d classes", s->class_names->n, m->num_classes);
    }
    if ((s->class_names && class_names_copy(&c->classes, s->class_names) != NNDL_OK) ||
        solver_state_export(s, &c->st) != NNDL_OK) {
        contents_free(c);
        return NNDL_ERR;
    }
    return NNDL_OK;
}

CheckpointRecipe checkpoint_recipe_seed(void)
{
    return (CheckpointRecipe){.nonweight_lr_mult = 1, .schedule = schedule_default(), .augment = {.pad_mode = PAD_ZERO}};
}

int checkpoint_save(const Solver *s, const char *path)
{
    Contents c;
    if (gather(&c, s) != NNDL_OK) return NNDL_ERR;
    char where[4200];
    snprintf(where, sizeof where, "refusing to write checkpoint %s", path);
    int rc = check_contents(&c, where);
    if (rc == NNDL_OK) rc = write_file_atomically(path, "checkpoint", write_contents, &c);
    contents_free(&c);
    return rc;
}

int checkpoint_save_epoch(const Solver *s, void *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s_epoch_%d.ckpt", (const char *)name, solver_epoch(s));
    return checkpoint_save(s, path);
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct In {
    FILE *f;
    uLong crc;
    uint64_t left;              /* bytes before the CRC not yet read */
    int ok;
} In;

static void get(In *in, void *p, size_t n)
{
    if (!in->ok || n > in->left || fread(p, 1, n, in->f) != n) {
        in->ok = 0;
        memset(p, 0, n);
        return;
    }
    in->left -= n;
    in->crc = crc32(in->crc, p, (uInt)n);
}

static uint32_t get_u32(In *in)
{
    unsigned char b[4];
    get(in, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t get_u64(In *in)
{
    uint64_t lo = get_u32(in);
    return lo | (uint64_t)get_u32(in) << 32;
}

static int32_t get_i32(In *in) { return (int32_t)get_u32(in); }

static float get_f32(In *in)
{
    uint32_t u = get_u32(in);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* n floats (no length); NULL (and the reader failed) when the file cannot hold them. */
static float *get_values(In *in, uint64_t n)
{
    if (!in->ok || n > in->left / 4) {
        in->ok = 0;
        return NULL;
    }
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        in->ok = 0;
        return NULL;
    }
    unsigned char b[4096];
    for (uint64_t i = 0; i < n && in->ok;) {
        size_t k = n - i < sizeof b / 4 ? (size_t)(n - i) : sizeof b / 4;
        get(in, b, 4 * k);
        for (size_t j = 0; j < k; j++, i++) {
            uint32_t u = (uint32_t)b[4 * j] | (uint32_t)b[4 * j + 1] << 8 | (uint32_t)b[4 * j + 2] << 16 |
                         (uint32_t)b[4 * j + 3] << 24;
            memcpy(&v[i], &u, sizeof u);
        }
    }
    return v;
}

static float *get_floats(In *in, uint64_t *n)
{
    *n = get_u64(in);
    return get_values(in, *n);
}

/* The fields in file order; lengths are bounded by what is left of the file. Returns 0 when
 * the file cannot be parsed, with a message for the fields that steer the parsing. */
static int parse(In *in, Contents *c, uint32_t version)
{
    SolverState *st = &c->st;
    uint32_t spec_len = get_u32(in);
    if (spec_len >= sizeof c->spec) return nndl_fail("a model spec of %u bytes", spec_len), 0;
    get(in, c->spec, spec_len);
    c->spec[spec_len] = '\0';
    if (strlen(c->spec) != spec_len) return 0; /* a NUL inside */
    int32_t *ints[] = {&c->in_c, &c->in_h, &c->in_w, &c->loss, &c->rule, &c->batch_size, &c->num_epochs,
                       &c->num_train_samples, &c->num_val_samples, &st->epoch, &st->iteration};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) *ints[i] = get_i32(in);
    float *floats[] = {&c->learning_rate, &c->momentum, &c->decay_rate, &c->beta1, &c->beta2, &c->epsilon,
                       &c->lr_decay, &c->reg, &st->best_val_acc};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) *floats[i] = get_f32(in);
    CheckpointRecipe *r = &c->recipe;
    *r = checkpoint_recipe_seed();
    if (version >= 4) {
        r->label_smoothing = get_f32(in), r->weight_decay = get_f32(in), r->nonweight_lr_mult = get_f32(in);
        r->schedule.kind = (ScheduleKind)get_i32(in), r->schedule.warmup_epochs = get_f32(in);
        r->schedule.warmup_start = get_f32(in), r->schedule.final = get_f32(in);
        r->schedule.step_epochs = get_i32(in), r->schedule.gamma = get_f32(in);
        r->augment.pad = get_i32(in), r->augment.pad_mode = get_i32(in), r->augment.flip = get_i32(in);
        r->augment.cutout = get_i32(in), r->tta = get_i32(in), r->ema = get_f32(in);
    }
    c->seed = get_u64(in), c->model_seed = get_u64(in);
    for (int i = 0; i < 4; i++) st->rng[i] = get_u64(in);
    uint32_t n_params = get_u32(in);
    if (!in->ok) return 0;
    /* the layout of what follows depends on these two */
    if (c->rule < 0 || c->rule >= UPDATE_RULE_COUNT) return nndl_fail("unknown update rule %d", c->rule), 0;
    if (n_params < 1 || n_params > LAYER_MAX_PARAMS * MODEL_MAX_LAYERS) return nndl_fail("%u parameters", n_params), 0;
    float best_val_acc = st->best_val_acc;
    int epoch = st->epoch, iteration = st->iteration;
    uint64_t rng[4];
    memcpy(rng, st->rng, sizeof rng);
    if (solver_state_alloc(st, (int)n_params) != NNDL_OK) return 0;
    st->best_val_acc = best_val_acc, st->epoch = epoch, st->iteration = iteration;
    memcpy(st->rng, rng, sizeof rng);
    st->n_moments = optim_state_count((UpdateRule)c->rule);
    st->has_ema = c->recipe.ema > 0; /* NaN: none, and the range check refuses it */
    uint64_t best_n, loss_n, train_n, val_n;
    c->mean = get_floats(in, &c->mean_n);
    c->model = get_floats(in, &c->model_n);
    st->best_state = get_floats(in, &best_n);
    st->loss = get_floats(in, &loss_n);
    st->train_acc = get_floats(in, &train_n);
    st->val_acc = get_floats(in, &val_n);
    if (!in->ok || (best_n != 0 && best_n != c->model_n) || loss_n > INT32_MAX || train_n > INT32_MAX ||
        val_n > INT32_MAX)
        return 0;
    st->state_n = c->model_n;
    if (best_n == 0) free(st->best_state), st->best_state = NULL;
    st->loss_n = (int)loss_n, st->train_n = (int)train_n, st->val_n = (int)val_n;
    for (int i = 0; in->ok && i < st->n_params; i++) {
        SolverParamState *p = &st->params[i];
        p->t = get_i32(in), p->learning_rate = get_f32(in), p->n = get_u64(in);
        if (st->n_moments >= 1) p->m1 = get_values(in, p->n);
        if (st->n_moments >= 2) p->m2 = get_values(in, p->n);
        if (st->has_ema) p->ema = get_values(in, p->n);
    }
    uint32_t n_names = version >= 3 ? get_u32(in) : 0;
    if (n_names > CLASS_COUNT_MAX) return nndl_fail("%u class names", n_names), 0;
    for (uint32_t i = 0; in->ok && i < n_names; i++) {
        char name[CLASS_NAME_MAX + 1];
        uint32_t len = get_u32(in);
        if (len > CLASS_NAME_MAX) return nndl_fail("a class name of %u bytes", len), 0;
        get(in, name, len);
        name[len] = '\0';
        if (in->ok && (strlen(name) != len || class_names_add_repaired(&c->classes, name) != NNDL_OK)) return 0;
    }
    char trailer[4];
    get(in, trailer, 4);
    return in->ok && in->left == 0 && memcmp(trailer, TRAILER, 4) == 0;
}

/* Reads, checksums and checks a checkpoint; on failure c is empty and the message names path. */
static int read_contents(Contents *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = open_read(path);
    if (!f) return nndl_fail("cannot open checkpoint %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
        fclose(f);
        return nndl_fail("checkpoint %s is %s, not a checkpoint file", path,
                         S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" : "not a regular file");
    }
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return nndl_fail("cannot read checkpoint %s: not a seekable file", path);
    }
    In in = {.f = f, .crc = crc32(0, NULL, 0), .left = size >= 4 ? (uint64_t)size - 4 : 0, .ok = size >= 4};
    char magic[8];
    get(&in, magic, 8);
    if (!in.ok || memcmp(magic, MAGIC, 8) != 0) {
        fclose(f);
        if (safetensors_named(path)) /* the weights nndl export or --weights-only wrote */
            return nndl_fail("%s is a weights file (safetensors), not an nndl checkpoint: it holds no optimizer "
                             "state to resume (start a run from it with --init-from)", path);
        return nndl_fail("%s is not an nndl checkpoint (bad magic)", path);
    }
    uint32_t version = get_u32(&in);
    if (version < 2 || version > CHECKPOINT_FORMAT) {
        fclose(f);
        if (version == 1)
            return nndl_fail("checkpoint %s was written by an older nndl (format 1, without a checksum), which "
                             "this version no longer reads; use the nndl that wrote it", path);
        return nndl_fail("checkpoint %s has format %u; this nndl reads formats 2 to %d", path, version,
                         CHECKPOINT_FORMAT);
    }
    nndl_clear_error();
    int ok = parse(&in, c, version);
    unsigned char stored[4] = {0};
    ok = ok && fread(stored, 1, 4, f) == 4;
    fclose(f);
    uint32_t crc = (uint32_t)stored[0] | (uint32_t)stored[1] << 8 | (uint32_t)stored[2] << 16 | (uint32_t)stored[3] << 24;
    if (!ok) {
        char why[256];
        snprintf(why, sizeof why, "%s", nndl_last_error());
        contents_free(c);
        return nndl_fail("checkpoint %s is truncated or damaged (format %u)%s%s", path, version,
                         why[0] ? ": " : "", why);
    }
    if (crc != (uint32_t)in.crc) {
        contents_free(c);
        return nndl_fail("checkpoint %s is damaged: its CRC-32 is %08x, its contents give %08x", path, crc,
                         (unsigned)in.crc);
    }
    char where[4200];
    snprintf(where, sizeof where, "checkpoint %s", path);
    if (check_contents(c, where) != NNDL_OK) {
        contents_free(c);
        return NNDL_ERR;
    }
    return NNDL_OK;
}

/* The checkpoint's model must be the one built. */
static int same_model(const Contents *c, const Model *m, const char *path)
{
    if (strcmp(c->spec, m->spec) != 0 || c->in_c != m->in_c || c->in_h != m->in_h || c->in_w != m->in_w)
        return nndl_fail("checkpoint %s holds another model: '%s' on input (%d, %d, %d), but this run "
                         "builds '%s' on input (%d, %d, %d)", path, c->spec, c->in_c, c->in_h, c->in_w, m->spec,
                         m->in_c, m->in_h, m->in_w);
    if (c->model_n != model_state_size(m) || c->st.n_params != m->n_params)
        return nndl_fail("checkpoint %s: %llu state values, the model has %zu", path,
                         (unsigned long long)c->model_n, model_state_size(m));
    for (int i = 0; i < m->n_params; i++)
        if (c->st.params[i].n != m->params[i].n)
            return nndl_fail("checkpoint %s: parameter %s has %zu values, the model's has %zu", path,
                             m->params[i].name, c->st.params[i].n, m->params[i].n);
    if (c->classes.n && c->classes.n != m->num_classes)
        return nndl_fail("checkpoint %s: %d class names for a model of %d classes", path, c->classes.n, m->num_classes);
    return NNDL_OK;
}

int checkpoint_load(Solver *s, const char *path)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    Model *m = solver_model(s);
    UpdateRule rule = solver_config(s)->optim.rule;
    int rc = same_model(&c, m, path);
    if (rc == NNDL_OK && c.loss != (int)m->loss)
        rc = nndl_fail("checkpoint %s was trained with the %s loss, this run asks for %s", path,
                       c.loss == LOSS_SVM ? "svm" : "softmax", m->loss == LOSS_SVM ? "svm" : "softmax");
    if (rc == NNDL_OK && c.rule != (int)rule)
        rc = nndl_fail("checkpoint %s was trained with update rule %s, this run asks for %s", path,
                       optim_rule_name((UpdateRule)c.rule), optim_rule_name(rule));
    if (rc == NNDL_OK) rc = solver_state_import(s, &c.st);
    if (rc == NNDL_OK) {
        model_state_load(m, c.model);
        m->seed = c.model_seed; /* the dropout masks continue as they would have */
    }
    contents_free(&c);
    return rc;
}

int checkpoint_is_file(const char *path)
{
    char magic[8] = {0};
    FILE *f = open_read(path);
    if (!f) return 0;
    int yes = fread(magic, 1, 8, f) == 8 && memcmp(magic, MAGIC, 8) == 0;
    fclose(f);
    return yes;
}

int checkpoint_read_info(const char *path, CheckpointInfo *info)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    memset(info, 0, sizeof *info);
    snprintf(info->spec, sizeof info->spec, "%s", c.spec);
    info->in_c = c.in_c, info->in_h = c.in_h, info->in_w = c.in_w, info->loss = c.loss;
    info->epoch = c.st.epoch, info->iteration = c.st.iteration, info->best_val_acc = c.st.best_val_acc;
    info->optim = (OptimConfig){.rule = (UpdateRule)c.rule, .learning_rate = c.learning_rate,
                                .momentum = c.momentum, .decay_rate = c.decay_rate, .beta1 = c.beta1,
                                .beta2 = c.beta2, .epsilon = c.epsilon};
    info->current_lr = c.st.params[0].learning_rate;
    info->lr_decay = c.lr_decay, info->reg = c.reg;
    info->batch_size = c.batch_size, info->num_epochs = c.num_epochs;
    info->num_train_samples = c.num_train_samples, info->num_val_samples = c.num_val_samples;
    info->seed = c.seed;
    info->recipe = c.recipe;
    contents_free(&c);
    return NNDL_OK;
}

int checkpoint_load_model(Model *m, float **input_mean, const char *path)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    int rc = same_model(&c, m, path);
    if (rc == NNDL_OK) {
        /* eval uses the best parameters when recorded, as the trained model would, else the
         * moving average of the parameters (the leading part of the state) when kept */
        if (!c.st.best_state && c.st.has_ema) {
            float *v = c.model;
            for (int i = 0; i < c.st.n_params; v += c.st.params[i].n, i++)
                memcpy(v, c.st.params[i].ema, c.st.params[i].n * sizeof *v);
        }
        model_state_load(m, c.st.best_state ? c.st.best_state : c.model);
        *input_mean = c.mean_n ? c.mean : NULL;
        if (c.mean_n) c.mean = NULL; /* handed over */
    }
    contents_free(&c);
    return rc;
}

int checkpoint_load_mean(float **input_mean, size_t *n, const char *path)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    *n = (size_t)c.mean_n;
    *input_mean = c.mean_n ? c.mean : NULL;
    if (c.mean_n) c.mean = NULL; /* handed over */
    contents_free(&c);
    return NNDL_OK;
}

int checkpoint_load_class_names(ClassNames *names, const char *path)
{
    Contents c;
    if (read_contents(&c, path) != NNDL_OK) return NNDL_ERR;
    *names = c.classes;
    c.classes = (ClassNames){0}; /* handed over */
    contents_free(&c);
    return NNDL_OK;
}
