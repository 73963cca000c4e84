/* test_faults.c — the Solver and the loss layers where training goes wrong or runs off the
 * common path: a model with fewer classes than the data, no validation set, divergence, a stop
 * request, the best-by-val parameters, per-epoch shuffles, huge logits, and config messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "reference.h"
#include "solver.h"
#include "test_util.h"

enum { C_ = 3, H_ = 4, W_ = 4 };

/* n examples of (3, 4, 4): gaussian pixels, labels in [0, classes). */
static void make_data(Dataset *d, int n, int classes, uint64_t seed)
{
    dataset_alloc(d, n, C_, H_, W_);
    Rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)n * C_ * H_ * W_; i++) d->x[i] = (float)rng_gaussian(&r);
    for (int i = 0; i < n; i++) d->y[i] = (int)rng_below(&r, (uint32_t)classes);
}

static SolverConfig quiet(UpdateRule rule, float lr, int batch, int epochs)
{
    SolverConfig c = solver_config_default();
    c.optim = optim_config_default(rule);
    c.optim.learning_rate = lr;
    c.batch_size = batch, c.num_epochs = epochs, c.verbose = 0, c.seed = 3;
    return c;
}

static int make_model(Model *m, const char *spec, float weight_scale)
{
    return model_init(m, test_backend("cpu"), spec, C_, H_, W_, weight_scale, 0, LOSS_SOFTMAX, 7, 100);
}

static float *state_copy(const Model *m)
{
    float *s = malloc(model_state_size(m) * sizeof *s);
    model_state_save(m, s);
    return s;
}

static int same_state(const Model *m, const float *want)
{
    float *now = state_copy(m);
    int same = memcmp(now, want, model_state_size(m) * sizeof *now) == 0;
    free(now);
    return same;
}

/* ---- classes ---------------------------------------------------------------------------- */

/* A last layer of 5 units on labels 0..9: the loss would index scores 5..9 of a 5-wide row. */
static void test_fewer_classes_than_labels(void)
{
    Dataset train, val;
    make_data(&train, 40, 10, 1);
    make_data(&val, 10, 5, 2);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine5", 1e-2f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_SGD, 1e-2f, 10, 1);
    Solver s;
    ASSERT_ERROR_MENTIONS(solver_init(&s, &m, &train, &val, &cfg), "outside the model's 5 classes");
    /* the validation split is checked too */
    for (int i = 0; i < train.n; i++) train.y[i] %= 5;
    val.y[3] = -1;
    ASSERT_ERROR_MENTIONS(solver_init(&s, &m, &train, &val, &cfg), "validation example 3 has label -1");
    val.y[3] = 4;
    CU_ASSERT(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    solver_free(&s);
    model_free(&m);
    dataset_free(&train), dataset_free(&val);
}

/* The row formulas themselves never touch memory past the row for a bad label. */
static void test_loss_rows_bad_label(void)
{
    const Backend *be = test_backend("cpu");
    float x[2 * 5], dx[2 * 5 + 8];
    for (int i = 0; i < 10; i++) x[i] = 0.1f * (float)i;
    for (int bad = 0; bad < 2; bad++) {
        int y[2] = {1, bad ? -1 : 7};
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < 18; i++) dx[i] = 42.0f;
            double loss = 0; /* the cpu backend's device memory is host memory */
            (k ? be->svm_loss : be->softmax_loss)(be, dx, &loss, x, y, 2, 5);
            CU_ASSERT(isnan(loss));
            int untouched = 1, zero = 1;
            for (int i = 10; i < 18; i++) untouched &= dx[i] == 42.0f;
            for (int i = 5; i < 10; i++) zero &= dx[i] == 0.0f;
            CU_ASSERT(untouched && zero);
        }
    }
}

/* ---- validation set ------------------------------------------------------------------- */

typedef struct Snapshots {
    int n;
    float *state[16];
    float val_acc[16];
    int *order[16];
    int order_n;
} Snapshots;

static int snapshot(const Solver *s, void *ctx)
{
    Snapshots *p = ctx;
    p->state[p->n] = state_copy(s->model);
    p->val_acc[p->n] = s->val_acc.v[s->val_acc.n - 1];
    p->order[p->n] = malloc((size_t)s->train->n * sizeof(int));
    memcpy(p->order[p->n], s->order, (size_t)s->train->n * sizeof(int));
    p->order_n = s->train->n;
    p->n++;
    return NNDL_OK;
}

static void free_snapshots(Snapshots *p)
{
    for (int i = 0; i < p->n; i++) free(p->state[i]), free(p->order[i]);
}

/* No validation set: nothing to select by, so the parameters of the last step are kept (an
 * empty set scoring 0 used to make the state after step 1 "best" and restore it). */
static void test_no_validation_keeps_final(void)
{
    Dataset train, val = {0};
    make_data(&train, 60, 10, 3);
    val.c = C_, val.h = H_, val.w = W_;
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine16-relu-affine10", 1e-1f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_ADAM, 1e-2f, 20, 3);
    Snapshots snaps = {0};
    cfg.on_epoch = snapshot, cfg.on_epoch_ctx = &snaps;
    for (int empty = 0; empty < 2; empty++) { /* an empty set, then none at all */
        Solver s;
        CU_ASSERT_FATAL(solver_init(&s, &m, &train, empty ? NULL : &val, &cfg) == NNDL_OK);
        CU_ASSERT_FATAL(solver_train(&s) == NNDL_OK);
        CU_ASSERT_EQUAL(snaps.n, 3 * (empty + 1));
        CU_ASSERT(same_state(&m, snaps.state[snaps.n - 1]));
        CU_ASSERT(s.best_val_acc < 0);
        /* such a run still has checkpoints: no best is recorded, and that is consistent */
        char dir[64], path[96];
        CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_noval") == 0);
        snprintf(path, sizeof path, "%s/noval.ckpt", dir);
        int saved = checkpoint_save(&s, path);
        CU_ASSERT_EQUAL(saved, NNDL_OK);
        if (saved != NNDL_OK) fprintf(stderr, "\n    %s\n", nndl_last_error());
        CU_ASSERT_EQUAL(checkpoint_load(&s, path), NNDL_OK);
        remove_tree(dir);
        solver_free(&s);
    }
    free_snapshots(&snaps);
    model_free(&m);
    dataset_free(&train);
}

/* With a validation set the model ends with the parameters of the epoch of highest val
 * accuracy (the first such epoch), not the last. One step per epoch, so the only accuracy
 * checks are at epoch ends, where the hook sees them. */
static void test_best_parameters_restored(void)
{
    Dataset train, val;
    make_data(&train, 20, 10, 5);
    make_data(&val, 200, 10, 6);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine32-relu-affine10", 3e-1f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_SGD, 3e-1f, 20, 12);
    Snapshots snaps = {0};
    cfg.on_epoch = snapshot, cfg.on_epoch_ctx = &snaps;
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&s) == NNDL_OK);
    CU_ASSERT_FATAL(snaps.n == 12 && s.val_acc.n == 12);
    int best = 0;
    for (int e = 1; e < snaps.n; e++) best = snaps.val_acc[e] > snaps.val_acc[best] ? e : best;
    CU_ASSERT(best < snaps.n - 1); /* the test means something only if the best is not the last */
    CU_ASSERT(same_state(&m, snaps.state[best]));
    CU_ASSERT_EQUAL(s.best_val_acc, snaps.val_acc[best]);
    printf(" (best epoch %d of %d, val acc %.3f) ", best + 1, snaps.n, snaps.val_acc[best]);
    solver_free(&s);
    free_snapshots(&snaps);
    model_free(&m);
    dataset_free(&train), dataset_free(&val);
}

/* Every epoch draws a new order of the whole training set, and each is a permutation. */
static void test_shuffle_every_epoch(void)
{
    Dataset train;
    make_data(&train, 50, 10, 7);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine10", 1e-2f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_SGD, 1e-3f, 10, 4);
    Snapshots snaps = {0};
    cfg.on_epoch = snapshot, cfg.on_epoch_ctx = &snaps;
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, NULL, &cfg) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&s) == NNDL_OK);
    CU_ASSERT_FATAL(snaps.n == 4 && snaps.order_n == 50);
    for (int e = 0; e < 4; e++) {
        int seen[50] = {0}, ok = 1, identity = 1;
        for (int i = 0; i < 50; i++) {
            int k = snaps.order[e][i];
            ok &= k >= 0 && k < 50 && !seen[k];
            if (k >= 0 && k < 50) seen[k] = 1;
            identity &= k == i;
        }
        CU_ASSERT(ok && !identity);
        for (int f = 0; f < e; f++) CU_ASSERT(memcmp(snaps.order[e], snaps.order[f], 50 * sizeof(int)) != 0);
    }
    solver_free(&s);
    free_snapshots(&snaps);
    model_free(&m);
    dataset_free(&train);
}

/* ---- divergence ------------------------------------------------------------------------- */

static void test_check_losses(void)
{
    Solver s = {.cfg = quiet(UPDATE_SGD, 5.0f, 1, 1)};
    float fine[3] = {2.3f, 1e30f, -4.0f}, bad[3] = {2.3f, 1.0f, NAN}, inf[2] = {1.0f, INFINITY};
    CU_ASSERT_EQUAL(solver_check_losses(&s, fine, 3, 0), NNDL_OK);
    CU_ASSERT_EQUAL(solver_check_losses(&s, bad, 3, 10), SOLVER_DIVERGED);
    CU_ASSERT(strstr(nndl_last_error(), "iteration 13") && strstr(nndl_last_error(), "smaller learning rate"));
    CU_ASSERT_EQUAL(solver_check_losses(&s, inf, 2, 0), SOLVER_DIVERGED);
    CU_ASSERT(strstr(nndl_last_error(), "iteration 2") != NULL);
}

/* SGD with lr 10 on large weights: the loss overflows within a few steps. Training stops there,
 * nothing non-finite is recorded, and the model is left with finite parameters. */
static void test_divergence_stops(void)
{
    Dataset train, val;
    make_data(&train, 40, 10, 8);
    make_data(&val, 20, 10, 9);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine32-relu-affine32-relu-affine10", 1.0f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_SGD, 10.0f, 10, 20);
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    CU_ASSERT_EQUAL_FATAL(solver_train(&s), SOLVER_DIVERGED);
    CU_ASSERT(strstr(nndl_last_error(), "diverged") && strstr(nndl_last_error(), "smaller learning rate"));
    CU_ASSERT(s.epoch < cfg.num_epochs);
    int finite = 1;
    for (int i = 0; i < s.loss.n; i++) finite &= isfinite(s.loss.v[i]);
    CU_ASSERT(finite);
    /* losses reach the host in bulk (at loss lines and accuracy checks): the history holds every
     * loss before the first non-finite one, which is not recorded and is named in the message */
    CU_ASSERT(s.first_nonfinite >= 0 && s.loss.n == s.first_nonfinite && s.loss.n < s.iteration);
    char named[64];
    snprintf(named, sizeof named, "iteration %d ", s.first_nonfinite + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(nndl_last_error(), named));
    float *state = state_copy(&m);
    for (size_t i = 0; i < model_state_size(&m); i++) finite &= isfinite(state[i]);
    CU_ASSERT(finite);
    printf(" (stopped at iteration %d) ", s.iteration);
    free(state);
    solver_free(&s);
    model_free(&m);
    dataset_free(&train), dataset_free(&val);
}

/* A non-finite value the loss does not see (a batchnorm running mean: train mode uses batch
 * statistics) is caught by the parameter check at the epoch's end. */
static int poison_running_mean(const Solver *s, void *ctx)
{
    (void)ctx;
    Model *m = s->model;
    if (s->epoch == 1) m->be->fill(m->be, m->layers[1].buffer[0] /* batchnorm: running mean first */, NAN, (size_t)m->layers[1].out[0]);
    return NNDL_OK;
}

static void test_nonfinite_parameters_stop(void)
{
    Dataset train, val;
    make_data(&train, 40, 10, 10);
    make_data(&val, 20, 10, 11);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine16-bn-relu-affine10", 1e-1f) == NNDL_OK);
    CU_ASSERT_FATAL(m.layers[1].buffer[0] != NULL);
    SolverConfig cfg = quiet(UPDATE_ADAM, 1e-3f, 10, 3);
    cfg.on_epoch = poison_running_mean;
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    CU_ASSERT_EQUAL(solver_train(&s), SOLVER_DIVERGED);
    CU_ASSERT(strstr(nndl_last_error(), "non-finite parameters after iteration 8") != NULL);
    CU_ASSERT_EQUAL(s.epoch, 1);
    CU_ASSERT_EQUAL(s.val_acc.n, 2); /* first step and epoch 1; epoch 2 was never measured */
    solver_free(&s);
    model_free(&m);
    dataset_free(&train), dataset_free(&val);
}

/* ---- stop request ----------------------------------------------------------------------- */

static void test_stop_flag(void)
{
    Dataset train, val;
    make_data(&train, 40, 10, 12);
    make_data(&val, 20, 10, 13);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine10", 1e-2f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_SGD, 1e-2f, 10, 5);
    volatile sig_atomic_t flag = 2;
    cfg.stop = &flag;
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    float *before = state_copy(&m);
    CU_ASSERT_EQUAL(solver_train(&s), SOLVER_STOPPED);
    CU_ASSERT(s.iteration == 1 && s.epoch == 0 && s.loss.n == 1);
    CU_ASSERT(!same_state(&m, before)); /* the state after the step, not a restored one */
    free(before);
    solver_free(&s);
    /* at an epoch's last step the epoch is completed (its check and hook) before stopping */
    dataset_free(&train);
    make_data(&train, 10, 10, 14);
    cfg.stop = &flag;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    CU_ASSERT_EQUAL(solver_train(&s), SOLVER_STOPPED);
    CU_ASSERT(s.iteration == 1 && s.epoch == 1 && s.val_acc.n == 1);
    solver_free(&s);
    model_free(&m);
    dataset_free(&train), dataset_free(&val);
}

/* A state saved after a stop in mid-epoch resumes: the interrupted epoch runs again in full
 * (README), and the loss lines count up to the run's real last iteration. */
static void test_resume_after_stop(void)
{
    Dataset train, val;
    make_data(&train, 40, 10, 17);
    make_data(&val, 20, 10, 18);
    char dir[64], path[128];
    CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_faults") == 0);
    snprintf(path, sizeof path, "%s/stopped.ckpt", dir);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine16-relu-affine10", 1e-1f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_ADAM, 1e-3f, 10, 3);
    volatile sig_atomic_t flag = 1;
    cfg.stop = &flag;
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    s.input_mean = train.x; /* any (C, H, W) array: the checkpoint stores it */
    CU_ASSERT_FATAL(solver_train(&s) == SOLVER_STOPPED);
    CU_ASSERT_FATAL(checkpoint_save(&s, path) == NNDL_OK);
    solver_free(&s);
    char lines[4096] = "";
    cfg.stop = NULL, cfg.verbose = 1, cfg.print_every = 1;
    cfg.out = fmemopen(lines, sizeof lines - 1, "w");
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    CU_ASSERT_FATAL(checkpoint_load(&s, path) == NNDL_OK);
    CU_ASSERT(s.iteration == 1 && s.epoch == 0);
    CU_ASSERT_EQUAL(solver_train(&s), NNDL_OK);
    fclose(cfg.out);
    CU_ASSERT(s.iteration == 1 + 3 * 4 && s.epoch == 3 && s.loss.n == 13 && s.val_acc.n == 1 + 3);
    CU_ASSERT(strstr(lines, "(Iteration 2 / 13)") != NULL && strstr(lines, "(Iteration 13 / 13)") != NULL);
    solver_free(&s);
    model_free(&m);
    remove_tree(dir);
    dataset_free(&train), dataset_free(&val);
}

/* ---- config messages -------------------------------------------------------------------- */

static void test_config_messages(void)
{
    Dataset train;
    make_data(&train, 20, 10, 15);
    Model m;
    CU_ASSERT_FATAL(make_model(&m, "affine10", 1e-2f) == NNDL_OK);
    SolverConfig cfg = quiet(UPDATE_SGD, 1e-2f, 10, 1);
    Solver s;
    cfg.optim.rule = (UpdateRule)99;
    ASSERT_ERROR_MENTIONS(solver_init(&s, &m, &train, NULL, &cfg), "unknown update rule 99");
    cfg.optim.rule = UPDATE_SGD, cfg.optim.learning_rate = 0;
    ASSERT_ERROR_MENTIONS(solver_init(&s, &m, &train, NULL, &cfg), "learning rate 0 must be positive");
    cfg.optim.learning_rate = INFINITY;
    ASSERT_ERROR_MENTIONS(solver_init(&s, &m, &train, NULL, &cfg), "learning rate inf");
    model_free(&m);
    dataset_free(&train);
}

/* ---- huge logits ------------------------------------------------------------------------ */

/* Softmax and SVM on both backends with logits of magnitude 1e30 and 3e38 (near FLT_MAX, where
 * a float difference of two scores overflows): finite, and equal to the double reference. */
static void check_huge_logits(const Backend *be, double scale)
{
    enum { N = 6, C = 7 };
    Rng r;
    rng_seed(&r, 16);
    float x[N * C], dx[N * C];
    double xd[N * C], dref[N * C];
    int y[N];
    for (int i = 0; i < N * C; i++) {
        x[i] = (float)(scale * (2.0 * rng_gaussian(&r) > 0 ? 1 : -1) * (0.5 + 0.5 * (i % 3) / 2.0));
        xd[i] = x[i];
    }
    for (int n = 0; n < N; n++) y[n] = (int)rng_below(&r, C);
    float *dev_x = be->alloc(be, sizeof x), *dev_dx = be->alloc(be, sizeof dx);
    int *dev_y = be->alloc(be, sizeof y);
    be->to_device(be, dev_x, x, sizeof x);
    be->to_device(be, dev_y, y, sizeof y);
    double *slot = be->alloc(be, sizeof *slot);
    for (int svm = 0; svm < 2; svm++) {
        double loss;
        (svm ? be->svm_loss : be->softmax_loss)(be, dev_dx, slot, dev_x, dev_y, N, C);
        be->to_host(be, &loss, slot, sizeof loss);
        double want = (svm ? ref_svm_loss : ref_softmax_loss)(dref, xd, y, N, C);
        be->to_host(be, dx, dev_dx, sizeof dx);
        char what[96];
        snprintf(what, sizeof what, "%s %s loss at |logits| %g: relative error", be->name, svm ? "svm" : "softmax", scale);
        CU_ASSERT(isfinite(loss));
        ASSERT_BELOW(fabs(loss - want) / fmax(1, fabs(want)), 1e-6, what);
        double worst = 0;
        for (int i = 0; i < N * C; i++) worst = fmax(worst, isfinite(dx[i]) ? fabs(dx[i] - dref[i]) : INFINITY);
        snprintf(what, sizeof what, "%s %s gradient at |logits| %g", be->name, svm ? "svm" : "softmax", scale);
        ASSERT_BELOW(worst, 1e-6, what);
    }
    be->release(be, dev_x), be->release(be, dev_dx), be->release(be, dev_y), be->release(be, slot);
}

static void test_huge_logits(void)
{
    static const char *devices[] = {"cpu", "cuda"};
    for (int d = 0; d < 2; d++) {
        const Backend *be = test_backend(devices[d]);
        CU_ASSERT_FATAL(be != NULL);
        check_huge_logits(be, 1e30);
        check_huge_logits(be, 3e38);
    }
}

void register_faults_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"a model with fewer classes than the labels is refused", test_fewer_classes_than_labels},
        {"loss rows with a label outside the classes stay in the row", test_loss_rows_bad_label},
        {"no validation set: the final parameters are kept", test_no_validation_keeps_final},
        {"the best parameters by val accuracy are restored", test_best_parameters_restored},
        {"a new permutation of the training set every epoch", test_shuffle_every_epoch},
        {"non-finite losses are named by iteration", test_check_losses},
        {"divergence stops training, nothing non-finite kept", test_divergence_stops},
        {"non-finite parameters stop training at the epoch's end", test_nonfinite_parameters_stop},
        {"the stop flag ends training after the step", test_stop_flag},
        {"a state saved after a stop resumes to the run's real last iteration", test_resume_after_stop},
        {"bad update rule and learning rate have their own messages", test_config_messages},
        {"softmax and svm with logits near +-1e30 and +-3e38, cpu and cuda", test_huge_logits},
        CU_TEST_INFO_NULL};
    add_suite("training faults", tests);
}
