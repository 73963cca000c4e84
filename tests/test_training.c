/* test_training.c — the Solver end to end on small generated data: overfitting 100 examples,
 * checkpoint round trip, resume giving the very losses of an uninterrupted run, and the
 * refusals: checkpoints of another model or rule, damaged files, failed writes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "checkpoint.h"
#include "error.h"
#include "solver.h"
#include "test_util.h"

static char tmpdir[64];
static int make_tmpdir(void) { return make_temp_dir(tmpdir, sizeof tmpdir, "nndl_test"); }

static SolverConfig quiet_config(UpdateRule rule, int batch, int epochs)
{
    SolverConfig c = solver_config_default();
    c.optim = optim_config_default(rule);
    c.batch_size = batch;
    c.num_epochs = epochs;
    c.verbose = 0;
    c.seed = 11;
    return c;
}

/* The seed's overfit cell (In [66]): 100 training examples, Adam 1e-3, batch 50. */
static void test_overfit_100_examples(void)
{
    Dataset train, val;
    make_random_dataset(&train, 100, 3, 16, 16, 1);
    make_random_dataset(&val, 50, 3, 16, 16, 2);
    Model m;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), "conv16x3-relu-pool2-affine100-relu-affine10", 3, 16,
                               16, 5e-2f, 0, LOSS_SOFTMAX, 5, 100) == NNDL_OK);
    SolverConfig cfg = quiet_config(UPDATE_ADAM, 50, 60);
    cfg.num_train_samples = 100;
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &val, &cfg) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&s) == NNDL_OK);
    /* the history's last entry: after training, the model holds the best-val parameters,
     * which with random labels can be any epoch's */
    double train_acc = s.train_acc.v[s.train_acc.n - 1];
    ASSERT_BELOW(0.9 - train_acc, 1e-12, "0.9 - train accuracy after overfitting");
    printf(" (train acc %.2f) ", train_acc);
    CU_ASSERT(s.train_acc.v[s.train_acc.n - 1] > s.val_acc.v[s.val_acc.n - 1] + 0.3);
    CU_ASSERT(s.loss.v[s.loss.n - 1] < s.loss.v[0] / 4);
    CU_ASSERT_EQUAL(s.loss.n, 120);                /* 2 iterations x 60 epochs */
    CU_ASSERT_EQUAL(s.val_acc.n, 1 + 60);          /* first iteration + every epoch */
    solver_free(&s);
    model_free(&m);
    dataset_free(&train);
    dataset_free(&val);
}

/* Nets built of every layer kind of issue #9, He-initialised, learn 100 random examples: the
 * loss falls to a third and train accuracy passes 0.6 within 30 epochs (Adam 3e-3). */
static void test_new_layer_kinds_train(void)
{
    static const char *const specs[] = {
        "conv8x2(pad=0)-bn(noscale)-gelu-res[conv8x3(nobias)-bn-relu-conv8x3(nobias)-bn(momentum=0.6,eps=1e-12)]-"
        "res(proj)[conv16x3(stride=2,nobias)-bn-gelu]-gap-affine10-scale0.5",
        "conv8x2(pad=0)-gelu-[res[conv8x3-bn-gelu]]x2-res(proj)[conv16x3(stride=2,pad=1)-relu]-gmp-affine10",
    };
    Dataset train;
    make_random_dataset(&train, 100, 3, 9, 9, 31);
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        Model m;
        ModelConfig mc = {.spec = specs[i], .C = 3, .H = 9, .W = 9, .init = INIT_HE, .loss = LOSS_SOFTMAX, .seed = 5,
                          .max_batch = 100};
        CU_ASSERT_FATAL(model_create(&m, test_backend("cpu"), &mc) == NNDL_OK);
        SolverConfig cfg = quiet_config(UPDATE_ADAM, 25, 30);
        cfg.optim.learning_rate = 3e-3f;
        cfg.num_train_samples = 100;
        Solver s;
        CU_ASSERT_FATAL(solver_init(&s, &m, &train, NULL, &cfg) == NNDL_OK);
        CU_ASSERT_FATAL(solver_train(&s) == NNDL_OK);
        double first = s.loss.v[0], last = s.loss.v[s.loss.n - 1], acc = s.train_acc.v[s.train_acc.n - 1];
        printf(" (loss %.3f -> %.3f, train acc %.2f) ", first, last, acc);
        ASSERT_BELOW(last - first / 3, 0, "final loss - a third of the first");
        ASSERT_BELOW(0.6 - acc, 0, "0.6 - train accuracy");
        solver_free(&s);
        model_free(&m);
    }
    dataset_free(&train);
}

/* A small model with batchnorm and dropout, so running stats and masks are part of the state. */
#define SMALL_SPEC "conv4x3-bn-relu-pool2-affine16-bn-relu-dropout0.8-affine10"

typedef struct Run {
    Dataset train, val;
    Model m;
    Solver s;
} Run;

static void run_start(Run *r, int epochs, const char *ckpt_name, uint64_t weight_seed)
{
    make_random_dataset(&r->train, 120, 3, 8, 8, 21);
    make_random_dataset(&r->val, 40, 3, 8, 8, 22);
    CU_ASSERT_FATAL(model_init(&r->m, test_backend("cpu"), SMALL_SPEC, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX,
                               weight_seed, 40) == NNDL_OK);
    SolverConfig cfg = quiet_config(UPDATE_ADAM, 40, epochs);
    if (ckpt_name) {
        cfg.on_epoch = checkpoint_save_epoch;
        cfg.on_epoch_ctx = (void *)ckpt_name;
    }
    cfg.num_train_samples = 60;
    cfg.lr_decay = 0.9f;
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->train, &r->val, &cfg) == NNDL_OK);
}

static void run_end(Run *r)
{
    solver_free(&r->s);
    model_free(&r->m);
    dataset_free(&r->train);
    dataset_free(&r->val);
}

static int same_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

static void test_checkpoint_round_trip(void)
{
    CU_ASSERT_FATAL(make_tmpdir() == 0);
    char name[128], path[160];
    snprintf(name, sizeof name, "%s/rt", tmpdir);
    snprintf(path, sizeof path, "%s_epoch_2.ckpt", name);
    Run a, b;
    run_start(&a, 2, name, 3);
    CU_ASSERT_FATAL(solver_train(&a.s) == NNDL_OK);
    run_start(&b, 2, NULL, 4); /* other initial weights: loading must replace them */
    CU_ASSERT_FATAL(checkpoint_load(&b.s, path) == NNDL_OK);
    size_t n = model_state_size(&a.m);
    float *sa = malloc(n * sizeof *sa), *sb = malloc(n * sizeof *sb);
    /* a's model holds the best params now; its checkpoint holds the state at the last epoch end */
    model_state_save(&b.m, sb);
    CU_ASSERT(b.s.epoch == 2 && b.s.iteration == a.s.iteration);
    CU_ASSERT(same_floats(a.s.loss.v, b.s.loss.v, (size_t)a.s.loss.n) && a.s.loss.n == b.s.loss.n);
    CU_ASSERT(same_floats(a.s.val_acc.v, b.s.val_acc.v, (size_t)a.s.val_acc.n));
    CU_ASSERT(same_floats(a.s.best_state, b.s.best_state, n));
    CU_ASSERT_EQUAL(memcmp(a.s.rng.s, b.s.rng.s, sizeof a.s.rng.s), 0);
    CU_ASSERT_EQUAL(a.s.best_val_acc, b.s.best_val_acc);
    for (int i = 0; i < a.m.n_params; i++) {
        CU_ASSERT_EQUAL(a.s.opt[i].t, b.s.opt[i].t);
        CU_ASSERT_EQUAL(a.s.opt[i].learning_rate, b.s.opt[i].learning_rate); /* decayed twice */
        size_t pn = a.m.params[i].n;
        float *va = malloc(pn * sizeof *va), *vb = malloc(pn * sizeof *vb);
        a.m.be->to_host(a.m.be, va, a.s.s2[i], pn * sizeof *va);
        b.m.be->to_host(b.m.be, vb, b.s.s2[i], pn * sizeof *vb);
        CU_ASSERT(same_floats(va, vb, pn)); /* Adam's second moment */
        free(va), free(vb);
    }
    CU_ASSERT_DOUBLE_EQUAL(b.s.opt[0].learning_rate, 1e-3 * 0.81, 1e-9);
    free(sa), free(sb);
    run_end(&a), run_end(&b);
    remove_tree(tmpdir);
}

/* 4 epochs straight, against 2 epochs + resume from the checkpoint + 2 more. */
static void test_resume_gives_the_same_losses(void)
{
    CU_ASSERT_FATAL(make_tmpdir() == 0);
    char name[128], path[160];
    snprintf(name, sizeof name, "%s/resume", tmpdir);
    snprintf(path, sizeof path, "%s_epoch_2.ckpt", name);
    Run whole, first, second;
    run_start(&whole, 4, NULL, 3);
    CU_ASSERT_FATAL(solver_train(&whole.s) == NNDL_OK);
    run_start(&first, 2, name, 3);
    CU_ASSERT_FATAL(solver_train(&first.s) == NNDL_OK);
    run_start(&second, 4, NULL, 9);
    CU_ASSERT_FATAL(checkpoint_load(&second.s, path) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&second.s) == NNDL_OK);
    CU_ASSERT_EQUAL(second.s.loss.n, whole.s.loss.n);
    CU_ASSERT(same_floats(second.s.loss.v, whole.s.loss.v, (size_t)whole.s.loss.n));
    CU_ASSERT(same_floats(second.s.val_acc.v, whole.s.val_acc.v, (size_t)whole.s.val_acc.n));
    size_t n = model_state_size(&whole.m);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    model_state_save(&whole.m, a);
    model_state_save(&second.m, b);
    CU_ASSERT(same_floats(a, b, n));
    free(a), free(b);
    run_end(&whole), run_end(&first), run_end(&second);
    remove_tree(tmpdir);
}

static void test_checkpoint_refusals(void)
{
    CU_ASSERT_FATAL(make_tmpdir() == 0);
    char name[128], path[160], bad[200];
    snprintf(name, sizeof name, "%s/ref", tmpdir);
    snprintf(path, sizeof path, "%s_epoch_1.ckpt", name);
    Run a;
    run_start(&a, 1, name, 3);
    CU_ASSERT_FATAL(solver_train(&a.s) == NNDL_OK);

    /* another model */
    Dataset d;
    make_random_dataset(&d, 120, 3, 8, 8, 21);
    Model other;
    model_init(&other, test_backend("cpu"), "conv8x3-relu-pool2-affine10", 3, 8, 8, 1e-2f, 0, LOSS_SOFTMAX, 1, 40);
    SolverConfig cfg = quiet_config(UPDATE_ADAM, 40, 2);
    Solver s;
    solver_init(&s, &other, &d, NULL, &cfg);
    ASSERT_ERROR_MENTIONS(checkpoint_load(&s, path), "holds another model");
    ASSERT_ERROR_MENTIONS(checkpoint_load(&s, path), "conv8x3-relu-pool2-affine10");
    solver_free(&s);

    /* another update rule */
    SolverConfig sgd = quiet_config(UPDATE_SGD_MOMENTUM, 40, 2);
    Model same;
    model_init(&same, test_backend("cpu"), SMALL_SPEC, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX, 3, 40);
    solver_init(&s, &same, &d, NULL, &sgd);
    ASSERT_ERROR_MENTIONS(checkpoint_load(&s, path), "update rule adam");
    solver_free(&s);

    /* truncated, and not a checkpoint at all */
    struct stat st;
    stat(path, &st);
    snprintf(bad, sizeof bad, "%s/truncated.ckpt", tmpdir);
    FILE *in = fopen(path, "rb"), *out = fopen(bad, "wb");
    char *buf = malloc((size_t)st.st_size);
    CU_ASSERT_FATAL(fread(buf, 1, (size_t)st.st_size, in) == (size_t)st.st_size);
    fwrite(buf, 1, (size_t)st.st_size / 2, out);
    fclose(in), fclose(out);
    ASSERT_ERROR_MENTIONS(checkpoint_load(&a.s, bad), "truncated or damaged");
    out = fopen(bad, "wb");
    fputs("this is not a checkpoint, just text", out);
    fclose(out);
    ASSERT_ERROR_MENTIONS(checkpoint_load(&a.s, bad), "not an nndl checkpoint");
    ASSERT_ERROR_MENTIONS(checkpoint_load(&a.s, "/nonexistent/x.ckpt"), "cannot open");

    /* a failed write leaves the existing file as it was */
    char tmp[200];
    atomic_file_temp_name(tmp, sizeof tmp, path);
    CU_ASSERT_FATAL(mkdir(tmp, 0700) == 0); /* the temporary name cannot be created as a file */
    CU_ASSERT_EQUAL(checkpoint_save(&a.s, path), NNDL_ERR);
    in = fopen(path, "rb");
    char *again = malloc((size_t)st.st_size);
    CU_ASSERT(fread(again, 1, (size_t)st.st_size, in) == (size_t)st.st_size && memcmp(again, buf, (size_t)st.st_size) == 0);
    fclose(in);
    rmdir(tmp);
    CU_ASSERT_EQUAL(checkpoint_load(&a.s, path), NNDL_OK); /* and it still loads */
    free(buf), free(again);
    model_free(&other), model_free(&same), dataset_free(&d);
    run_end(&a);
    remove_tree(tmpdir);
}


/* The L2 penalty's gradient folded into the update's pass (the cpu's Backend.update_folds_l2):
 * for each rule, three Solver steps against the unfolded sequence (the loss with the penalty in
 * the gradients, then solver_update) on a twin model: the same losses and parameters within
 * float rounding, while the stepping Solver's gradients hold no penalty (so the fold ran). */
static void test_l2_folded_into_update(void)
{
    Dataset train;
    make_random_dataset(&train, 30, 3, 8, 8, 4);
    for (int rule = 0; rule < UPDATE_RULE_COUNT; rule++) {
        Model m[2];
        Solver s[2];
        SolverConfig cfg = quiet_config((UpdateRule)rule, 10, 1);
        for (int k = 0; k < 2; k++) {
            CU_ASSERT_FATAL(model_init(&m[k], test_backend("cpu"), "conv4x3-relu-pool2-affine12-relu-affine10", 3, 8,
                                       8, 5e-2f, 0.05f, LOSS_SOFTMAX, 3, 10) == NNDL_OK);
            CU_ASSERT_FATAL(solver_init(&s[k], &m[k], &train, NULL, &cfg) == NNDL_OK);
        }
        CU_ASSERT_FATAL(solver_folds_l2(&s[0]));
        double unfolded[3];
        for (int step = 0; step < 3; step++) {
            int idx[10];
            for (int i = 0; i < 10; i++) idx[i] = (7 * i + 3 * step) % 30;
            CU_ASSERT_FATAL(solver_step(&s[0], idx, 10) == NNDL_OK);
            /* the twin: s[0]'s minibatch, the penalty's own pass, the update alone */
            unfolded[step] = model_loss(&m[1], s[0].batch_x, s[0].batch_y, 10, (uint64_t)step);
            solver_update(&s[1]);
        }
        CU_ASSERT_FATAL(solver_read_losses(&s[0]) == NNDL_OK && s[0].loss.n == 3);
        for (int step = 0; step < 3; step++)
            ASSERT_BELOW(fabs(s[0].loss.v[step] - unfolded[step]), 1e-6 * unfolded[step], "folded step's loss");
        size_t n = m[0].param_values;
        double params = 0, grads = 0;
        for (size_t i = 0; i < n; i++) {
            params = fmax(params, fabs(m[0].param_block[i] - m[1].param_block[i]));
            grads = fmax(grads, fabs(m[0].grad_block[i] - m[1].grad_block[i]));
        }
        ASSERT_BELOW(params, 1e-6, optim_rule_name((UpdateRule)rule));
        CU_ASSERT(grads > 1e-4); /* reg * w is missing from the folded step's gradients */
        for (int k = 0; k < 2; k++) solver_free(&s[k]), model_free(&m[k]);
    }
    dataset_free(&train);
}

void register_training_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"overfit 100 examples to >= 0.9 train accuracy", test_overfit_100_examples},
        {"nets of every new layer kind learn (loss falls)", test_new_layer_kinds_train},
        {"checkpoint round trip restores every piece of state", test_checkpoint_round_trip},
        {"resume gives the losses of an uninterrupted run", test_resume_gives_the_same_losses},
        {"checkpoint refusals and atomic writes", test_checkpoint_refusals},
        {"the L2 penalty folded into the update: the unfolded losses and steps, every rule",
         test_l2_folded_into_update},
        CU_TEST_INFO_NULL};
    add_suite("training", tests);
}
