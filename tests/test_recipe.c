/* test_recipe.c — the training recipe beyond the seed: label smoothing against PyTorch,
 * augmentation (the same batch on cpu and cuda, draws keyed by seed, epoch and example, a resumed
 * run seeing the same images), learning-rate schedules, decoupled weight decay, the biases' lr
 * factor, test-time augmentation and the command line's refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "checkpoint.h"
#include "cuda/kernel_checks.h"
#include "cifar10.h"
#include "error.h"
#include "model.h"
#include "reference.h"
#include "schedule.h"
#include "solver.h"
#include "train_options.h"
#include "test_util.h"

/* ---- label smoothing ---------------------------------------------------------------------- */

/* PyTorch 2 (float64): cross_entropy(x, y, label_smoothing=0.2) and its gradient, computed once
 * by tests/golden/make_label_smoothing.py. */
static const double golden_x[15] = {1.5, -0.25, 0.75, 2.0, -1.0, 0.0, 0.5, -0.5, 0.125, 3.0, -2.0, -1.5, 4.0, 0.25, 0.5};
static const int golden_y[3] = {3, 0, 2};
static const double golden_loss = 1.6260381284434464;
static const double golden_dx[15] = {
    0.085375161789316423,  0.0038196311161885449, 0.033293258234006001,  -0.11725720449248746,
    -0.0052308466470235076, -0.26638006916678147, 0.0091221363368584815, -0.0050724276998208966,
    0.0021000702212053486, 0.26023029030853845,   -0.012554057843112277, -0.012048525256870606,
    0.034382170818341037,  -0.0059397733383671483, -0.0038398143799910616};

static void test_label_smoothing_matches_pytorch(void)
{
    double dx[15];
    ASSERT_BELOW(fabs(ref_softmax_loss_smoothed(dx, golden_x, golden_y, 3, 5, 0.2) - golden_loss), 1e-14,
                 "reference loss - PyTorch");
    for (int i = 0; i < 15; i++) ASSERT_BELOW(fabs(dx[i] - golden_dx[i]), 1e-15, "reference dx - PyTorch");
    const char *names[2] = {"cpu", "cuda"};
    for (int k = 0; k < 2; k++) {
        const Backend *be = test_backend(names[k]);
        if (!be) continue; /* reported by the cuda suites */
        float x[15], g[15];
        for (int i = 0; i < 15; i++) x[i] = (float)golden_x[i]; /* all exact in float */
        float *dev_x = be->alloc(be, sizeof x), *dev_dx = be->alloc(be, sizeof x);
        int *dev_y = be->alloc(be, sizeof golden_y);
        double *slot = be->alloc(be, sizeof(double)), loss;
        be->to_device(be, dev_x, x, sizeof x);
        be->to_device(be, dev_y, golden_y, sizeof golden_y);
        be->softmax_smoothed_loss(be, dev_dx, slot, dev_x, dev_y, 3, 5, 0.2f);
        be->to_host(be, &loss, slot, sizeof loss);
        be->to_host(be, g, dev_dx, sizeof g);
        /* eps = 0.2f is 0.2 to 3e-9: the float op's loss and dx agree to that */
        ASSERT_BELOW(fabs(loss - golden_loss), 1e-7, names[k]);
        for (int i = 0; i < 15; i++) ASSERT_BELOW(fabs(g[i] - golden_dx[i]), 1e-7, names[k]);
        be->release(be, dev_x), be->release(be, dev_dx), be->release(be, dev_y), be->release(be, slot);
    }
}

/* ---- augmentation ------------------------------------------------------------------------- */

static float *random_images(size_t n, uint64_t seed)
{
    Rng r;
    rng_seed(&r, seed);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_gaussian(&r);
    return x;
}

/* The batch augmented by backend be (host arrays in and out). */
static void augment_on(const Backend *be, float *out, const float *in, const int *examples, int N, int C, int H,
                       int W, const AugmentConfig *a)
{
    size_t bytes = (size_t)N * C * H * W * sizeof(float);
    float *d_in = be->alloc(be, bytes), *d_out = be->alloc(be, bytes);
    int *d_ex = be->alloc(be, (size_t)N * sizeof(int));
    be->to_device(be, d_in, in, bytes);
    be->to_device(be, d_ex, examples, (size_t)N * sizeof(int));
    be->augment(be, d_out, d_in, d_ex, N, C, H, W, a);
    be->to_host(be, out, d_out, bytes);
    be->release(be, d_in), be->release(be, d_out), be->release(be, d_ex);
}

/* A CIFAR-shaped batch with every option on: the two devices build the very same bytes. */
static void test_augment_cpu_and_cuda_identical(void)
{
    const Backend *cpu = test_backend("cpu"), *gpu = test_backend("cuda");
    if (!gpu) return; /* reported by the cuda suites */
    enum { N = 48, C = 3, H = 32, W = 32 };
    size_t n = (size_t)N * C * H * W;
    float *x = random_images(n, 5), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    int examples[N];
    for (int i = 0; i < N; i++) examples[i] = (i * 7919) % 50000;
    const AugmentConfig cases[2] = {
        {.pad = 4, .pad_mode = PAD_REFLECT, .flip = 1, .cutout = 8, .seed = 3, .epoch = 5},
        {.pad = 2, .pad_mode = PAD_ZERO, .flip = 1, .seed = 4, .epoch = 0},
    };
    for (int k = 0; k < 2; k++) {
        augment_on(cpu, a, x, examples, N, C, H, W, &cases[k]);
        augment_on(gpu, b, x, examples, N, C, H, W, &cases[k]);
        CU_ASSERT(memcmp(a, b, n * sizeof *a) == 0);
        CU_ASSERT(memcmp(a, x, n * sizeof *a) != 0); /* something was done */
    }
    free(x), free(a), free(b);
}

/* An image's transform depends on (seed, epoch, example) only: not on its place in the batch. */
static void test_augment_draws_are_keyed_by_example(void)
{
    const Backend *cpu = test_backend("cpu");
    enum { N = 16, C = 2, H = 9, W = 9 };
    size_t img = (size_t)C * H * W, n = N * img;
    float *x = random_images(n, 6), *rev = malloc(n * sizeof *rev), *a = malloc(n * sizeof *a),
          *b = malloc(n * sizeof *b);
    int ex[N], ex_rev[N];
    for (int i = 0; i < N; i++) {
        ex[i] = 100 + i, ex_rev[i] = 100 + N - 1 - i;
        memcpy(rev + (size_t)(N - 1 - i) * img, x + (size_t)i * img, img * sizeof *x);
    }
    AugmentConfig cfg = {.pad = 3, .pad_mode = PAD_REFLECT, .flip = 1, .cutout = 3, .seed = 9, .epoch = 2};
    augment_on(cpu, a, x, ex, N, C, H, W, &cfg);
    augment_on(cpu, b, rev, ex_rev, N, C, H, W, &cfg);
    for (int i = 0; i < N; i++)
        CU_ASSERT(memcmp(a + (size_t)i * img, b + (size_t)(N - 1 - i) * img, img * sizeof *a) == 0);
    cfg.epoch = 3; /* another epoch: other draws */
    augment_on(cpu, b, x, ex, N, C, H, W, &cfg);
    CU_ASSERT(memcmp(a, b, n * sizeof *a) != 0);
    AugmentConfig none = {.pad_mode = PAD_ZERO, .seed = 9}; /* nothing asked: the identity */
    augment_on(cpu, b, x, ex, N, C, H, W, &none);
    CU_ASSERT(memcmp(b, x, n * sizeof *b) == 0);
    free(x), free(rev), free(a), free(b);
}

/* The draws over many examples: every shift in [-pad, pad] about equally often, flips half the
 * time, the cutout square's corner over the image. */
static void test_augment_draw_distribution(void)
{
    AugmentConfig cfg = {.pad = 2, .flip = 1, .cutout = 4, .seed = 1, .epoch = 7};
    int shifts[5] = {0}, flips = 0, corner_min = 99, corner_max = -99;
    const int n = 20000;
    for (int e = 0; e < n; e++) {
        AugmentDraw d = augment_draw(&cfg, (uint64_t)e, 32, 32);
        CU_ASSERT_FATAL(d.dx >= -2 && d.dx <= 2 && d.dy >= -2 && d.dy <= 2);
        shifts[d.dx + 2]++, flips += d.flip;
        corner_min = d.cy < corner_min ? d.cy : corner_min, corner_max = d.cy > corner_max ? d.cy : corner_max;
    }
    for (int k = 0; k < 5; k++) ASSERT_BELOW(fabs(shifts[k] / (double)n - 0.2), 0.02, "share of one shift");
    ASSERT_BELOW(fabs(flips / (double)n - 0.5), 0.02, "share of flips");
    CU_ASSERT(corner_min == -2 && corner_max == 29); /* centres 0..31, half the side before them */
}

/* ---- a resumed run sees the same images ------------------------------------------------------ */

typedef struct RecipeRun {
    Dataset train, val;
    Model m;
    Solver s;
} RecipeRun;

#define RECIPE_SPEC "conv4x3-bn-relu-pool2-affine10"

static void recipe_start_on(RecipeRun *r, const Backend *be, int epochs, int augment,
                            int (*on_epoch)(const Solver *, void *), void *ctx)
{
    make_random_dataset(&r->train, 96, 3, 8, 8, 31);
    make_random_dataset(&r->val, 32, 3, 8, 8, 32);
    CU_ASSERT_FATAL(model_init(&r->m, be, RECIPE_SPEC, 3, 8, 8, 5e-2f, 0, LOSS_SOFTMAX, 3, 32) == NNDL_OK);
    r->m.label_smoothing = 0.2f, r->m.tta = 1;
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_SGD_NESTEROV_MOMENTUM);
    cfg.optim.learning_rate = 0.05f, cfg.optim.weight_decay = 5e-3f, cfg.nonweight_lr_mult = 4;
    cfg.schedule = (Schedule){.kind = SCHEDULE_ONECYCLE, .warmup_epochs = 1.5f, .warmup_start = 0.2f,
                              .final = 0.1f, .step_epochs = 1, .gamma = 1};
    if (augment) cfg.augment = (AugmentConfig){.pad = 2, .pad_mode = PAD_REFLECT, .flip = 1, .cutout = 3};
    cfg.batch_size = 32, cfg.num_epochs = epochs, cfg.verbose = 0, cfg.seed = 17, cfg.num_train_samples = 32;
    cfg.ema = 0.9f;
    cfg.on_epoch = on_epoch, cfg.on_epoch_ctx = ctx;
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->train, &r->val, &cfg) == NNDL_OK);
}

static void recipe_start(RecipeRun *r, int epochs, int augment, int (*on_epoch)(const Solver *, void *), void *ctx)
{
    recipe_start_on(r, test_backend("cpu"), epochs, augment, on_epoch, ctx);
}

static void recipe_end(RecipeRun *r)
{
    solver_free(&r->s);
    model_free(&r->m);
    dataset_free(&r->train), dataset_free(&r->val);
}

/* 4 epochs straight, against 2 + resume from the epoch-2 checkpoint + 2: the same losses bit for
 * bit, which the augmented images (and the schedule's position) feed. */
static void test_resume_sees_the_same_images(void)
{
    char dir[64], name[128], path[160];
    CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_recipe") == 0);
    snprintf(name, sizeof name, "%s/run", dir);
    snprintf(path, sizeof path, "%s_epoch_2.ckpt", name);
    RecipeRun whole, first, second, plain;
    recipe_start(&whole, 4, 1, NULL, NULL);
    CU_ASSERT_FATAL(solver_train(&whole.s) == NNDL_OK);
    recipe_start(&first, 2, 1, checkpoint_save_epoch, name);
    CU_ASSERT_FATAL(solver_train(&first.s) == NNDL_OK);
    recipe_start(&second, 4, 1, NULL, NULL);
    CU_ASSERT_FATAL(checkpoint_load(&second.s, path) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&second.s) == NNDL_OK);
    CU_ASSERT_FATAL(whole.s.loss.n == 12 && second.s.loss.n == 12);
    CU_ASSERT(memcmp(whole.s.loss.v, second.s.loss.v, 12 * sizeof(float)) == 0);
    CU_ASSERT(memcmp(whole.s.val_acc.v, second.s.val_acc.v, 5 * sizeof(float)) == 0);
    /* the control: without augmentation the losses of the same run differ from its second step */
    recipe_start(&plain, 4, 0, NULL, NULL);
    CU_ASSERT_FATAL(solver_train(&plain.s) == NNDL_OK);
    CU_ASSERT(memcmp(whole.s.loss.v + 1, plain.s.loss.v + 1, 11 * sizeof(float)) != 0);
    CheckpointInfo info;
    CU_ASSERT_FATAL(checkpoint_read_info(path, &info) == NNDL_OK);
    CU_ASSERT(info.recipe.augment.pad == 2 && info.recipe.augment.flip == 1 && info.recipe.augment.cutout == 3 &&
              info.recipe.augment.pad_mode == PAD_REFLECT && info.recipe.schedule.kind == SCHEDULE_ONECYCLE &&
              info.recipe.label_smoothing == 0.2f && info.recipe.weight_decay == 5e-3f &&
              info.recipe.nonweight_lr_mult == 4 && info.recipe.tta == 1 && info.recipe.schedule.warmup_start == 0.2f &&
              info.recipe.ema == 0.9f);
    /* the moving averages went on as they would have */
    for (int i = 0; i < whole.m.n_params; i++) {
        size_t n = whole.m.params[i].n;
        float *ea = malloc(n * sizeof *ea), *eb = malloc(n * sizeof *eb);
        whole.m.be->to_host(whole.m.be, ea, whole.s.ema_w[i], n * sizeof *ea);
        second.m.be->to_host(second.m.be, eb, second.s.ema_w[i], n * sizeof *eb);
        CU_ASSERT(memcmp(ea, eb, n * sizeof *ea) == 0);
        free(ea), free(eb);
    }
    /* the final model is the best by val accuracy, of the averaged parameters */
    float *fw = malloc(model_state_size(&whole.m) * sizeof *fw), *fs = malloc(model_state_size(&second.m) * sizeof *fs);
    model_state_save(&whole.m, fw), model_state_save(&second.m, fs);
    CU_ASSERT(memcmp(fw, fs, model_state_size(&whole.m) * sizeof *fw) == 0);
    free(fw), free(fs);
    recipe_end(&whole), recipe_end(&first), recipe_end(&second), recipe_end(&plain);
    remove_tree(dir);
}

/* The whole recipe on cuda (the SIMT host here) against the cpu: the same losses, and a step
 * still copies nothing back and allocates nothing (the batch and its indices go up, the
 * augmentation runs on the device). */
static void test_recipe_steps_on_cuda(void)
{
    KcCounters c;
    Backend *fresh = backend_create("cuda");
    if (!fresh) return; /* reported by the cuda suites */
    RecipeRun r[2];
    recipe_start_on(&r[0], test_backend("cpu"), 2, 1, NULL, NULL);
    recipe_start_on(&r[1], fresh, 2, 1, NULL, NULL);
    int idx[32];
    for (int i = 0; i < 32; i++) idx[i] = (i * 37) % 96;
    int counted = kc_counters(&c) == 0; /* a GPU has no counters */
    kc_reset_counters();
    for (int k = 0; k < 2; k++)
        for (int step = 0; step < 3; step++) {
            CU_ASSERT_FATAL(solver_step(&r[k].s, idx, 32) == NNDL_OK);
            r[k].s.iteration++;
            if (k == 1 && step == 2 && counted) {
                kc_counters(&c);
                CU_ASSERT(c.d2h == 0 && c.allocs == 0 && c.syncs == 0 && c.h2d >= 9);
            }
        }
    CU_ASSERT(solver_read_losses(&r[0].s) == NNDL_OK && solver_read_losses(&r[1].s) == NNDL_OK);
    CU_ASSERT_FATAL(r[0].s.loss.n == 3 && r[1].s.loss.n == 3);
    for (int i = 0; i < 3; i++)
        ASSERT_BELOW(fabs(r[1].s.loss.v[i] - r[0].s.loss.v[i]) / r[0].s.loss.v[i], 1e-5, "cuda loss vs cpu");
    recipe_end(&r[1]), recipe_end(&r[0]);
    backend_destroy(fresh);
}

/* ---- schedules, weight decay, the biases' factor ------------------------------------------------ */

static void test_schedule_factors(void)
{
    Schedule s = schedule_default();
    CU_ASSERT_EQUAL(schedule_factor(&s, 57, 10, 100), 1); /* epoch-decay: the Solver's per-epoch factor */
    s.kind = SCHEDULE_CONSTANT;
    CU_ASSERT_EQUAL(schedule_factor(&s, 57, 10, 100), 1);
    s = (Schedule){.kind = SCHEDULE_ONECYCLE, .warmup_epochs = 2, .warmup_start = 0.2f, .final = 0.1f,
                   .step_epochs = 1, .gamma = 1};
    /* 20 warm-up iterations from 0.2 to 1, then 80 down to 0.1 */
    ASSERT_BELOW(fabs(schedule_factor(&s, 0, 10, 100) - 0.2), 1e-7, "onecycle start");
    ASSERT_BELOW(fabs(schedule_factor(&s, 10, 10, 100) - (0.2 + 0.8 * 0.5)), 1e-7, "onecycle mid warm-up");
    ASSERT_BELOW(fabs(schedule_factor(&s, 20, 10, 100) - 1), 1e-12, "onecycle peak");
    ASSERT_BELOW(fabs(schedule_factor(&s, 60, 10, 100) - (1 - 0.9 * 0.5)), 1e-7, "onecycle mid decay");
    ASSERT_BELOW(fabs(schedule_factor(&s, 100, 10, 100) - 0.1), 1e-7, "onecycle end");
    s.kind = SCHEDULE_COSINE;
    ASSERT_BELOW(fabs(schedule_factor(&s, 60, 10, 100) - (0.1 + 0.9 * 0.5)), 1e-7, "cosine half way");
    ASSERT_BELOW(fabs(schedule_factor(&s, 40, 10, 100) - (0.1 + 0.9 * 0.5 * (1 + cos(M_PI / 4)))), 1e-7,
                 "cosine a quarter");
    s = (Schedule){.kind = SCHEDULE_STEP, .step_epochs = 3, .gamma = 0.5f};
    CU_ASSERT(schedule_factor(&s, 29, 10, 100) == 1 && schedule_factor(&s, 30, 10, 100) == 0.5 &&
              schedule_factor(&s, 65, 10, 100) == 0.25);
    ScheduleKind k;
    ASSERT_ERROR_MENTIONS(schedule_from_name("linear", &k), "unknown schedule 'linear'");
    s = schedule_default();
    s.warmup_epochs = 1;
    ASSERT_ERROR_MENTIONS(schedule_check(&s), "warm-up needs a per-iteration schedule");
}

/* Decoupled decay, hand-computed: w = 2, dw = 1, lr 0.5, decay 0.1 -> 2 (1 - 0.05) - 0.5 = 1.4 with
 * sgd; Adam's first step moves by lr whatever the decay: 2 (1 - 0.05) - 0.5 = 1.4 as well. */
static void test_weight_decay_is_decoupled(void)
{
    const char *names[2] = {"cpu", "cuda"};
    UpdateRule rules[2] = {UPDATE_SGD, UPDATE_ADAM};
    for (int k = 0; k < 2; k++) {
        const Backend *be = test_backend(names[k]);
        if (!be) continue;
        for (int r = 0; r < 2; r++) {
            float w = 2, dw = 1, zero = 0, *d[4];
            for (int i = 0; i < 4; i++) d[i] = be->alloc(be, sizeof(float));
            be->to_device(be, d[0], &w, sizeof w), be->to_device(be, d[1], &dw, sizeof dw);
            be->to_device(be, d[2], &zero, sizeof zero), be->to_device(be, d[3], &zero, sizeof zero);
            OptimConfig c = optim_config_default(rules[r]);
            c.learning_rate = 0.5f, c.weight_decay = 0.1f;
            backend_update(be, &c, d[0], d[1], d[2], d[3], 1);
            be->to_host(be, &w, d[0], sizeof w);
            ASSERT_BELOW(fabs(w - 1.4), 1e-6, names[k]);
            for (int i = 0; i < 4; i++) be->release(be, d[i]);
        }
    }
}

/* Biases and batchnorm parameters get lr x factor and decay / factor; weights neither. */
static void test_nonweight_lr_factor(void)
{
    RecipeRun r;
    recipe_start(&r, 1, 0, NULL, NULL);
    CU_ASSERT_FATAL(solver_step(&r.s, (int[32]){0}, 32) == NNDL_OK); /* iteration 0: factor 0.2 */
    for (int i = 0; i < r.m.n_params; i++) {
        float mult = r.m.params[i].is_weight ? 1 : 4;
        double lr = 0.05 * 0.2 * mult, wd = 5e-3 / mult; /* float rounding: relative 1e-6 */
        ASSERT_BELOW(fabs(r.s.opt[i].learning_rate - lr) / lr, 1e-6, r.m.params[i].name);
        ASSERT_BELOW(fabs(r.s.opt[i].weight_decay - wd) / wd, 1e-6, r.m.params[i].name);
    }
    recipe_end(&r);
}

/* The moving average after each step, by hand: a = d a + (1 - d) w with d = min(ema, (1 + t) / (10 + t)),
 * starting from the initial weights; evaluations see it, training does not. */
static void test_ema_of_the_parameters(void)
{
    RecipeRun r;
    recipe_start(&r, 1, 0, NULL, NULL);
    const Backend *be = r.m.be;
    size_t n = r.m.params[0].n;
    float *avg = malloc(n * sizeof *avg), *w = malloc(n * sizeof *w), *got = malloc(n * sizeof *got);
    be->to_host(be, avg, r.m.params[0].w, n * sizeof *avg);
    for (int t = 0; t < 3; t++) {
        CU_ASSERT_FATAL(solver_step(&r.s, (int[32]){t, t + 1, t + 2}, 32) == NNDL_OK);
        r.s.iteration++;
        be->to_host(be, w, r.m.params[0].w, n * sizeof *w);
        double d = t == 0 ? 0.1 : t == 1 ? 2.0 / 11 : 3.0 / 12;
        CU_ASSERT(solver_ema_decay(0.9f, t) == d);
        for (size_t i = 0; i < n; i++) avg[i] = (float)(d * avg[i] + (1 - d) * w[i]);
    }
    be->to_host(be, got, r.s.ema_w[0], n * sizeof *got);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - avg[i]));
    ASSERT_BELOW(worst, 1e-6, "moving average - by hand");
    CU_ASSERT(solver_ema_decay(0.9f, 1000) == (double)0.9f);
    free(avg), free(w), free(got);
    recipe_end(&r);
}

/* ---- test-time augmentation ------------------------------------------------------------------ */

/* Level 1 predicts from the sum of the scores of each image and its mirror, computed here by
 * mirroring on the host. */
static void test_tta_averages_the_mirror(void)
{
    enum { N = 40, C = 3, H = 8, W = 8 };
    const char *names[2] = {"cpu", "cuda"};
    AugmentConfig views[MODEL_TTA_MAX_VIEWS];
    CU_ASSERT(model_tta_views(0, views) == 1 && model_tta_views(1, views) == 2 && model_tta_views(2, views) == 6);
    size_t img = (size_t)C * H * W;
    float *x = random_images(N * img, 8), *mirror = malloc(N * img * sizeof *x);
    for (size_t p = 0; p < (size_t)N * C * H; p++)
        for (int c = 0; c < W; c++) mirror[p * W + c] = x[p * W + W - 1 - c];
    int labels[N];
    for (int k = 0; k < 2; k++) {
        const Backend *be = test_backend(names[k]);
        if (!be) continue;
        Model m;
        CU_ASSERT_FATAL(model_init(&m, be, RECIPE_SPEC, C, H, W, 0.1f, 0, LOSS_SOFTMAX, 5, 16) == NNDL_OK);
        float sa[16 * 10], sb[16 * 10];
        int want[N], differ = 0;
        for (int start = 0; start < N; start += 16) {
            int n = N - start < 16 ? N - start : 16;
            model_scores(&m, sa, x + start * img, n);
            model_scores(&m, sb, mirror + start * img, n);
            for (int i = 0; i < n; i++) {
                int best = 0, plain = 0;
                for (int c = 1; c < 10; c++) {
                    if (sa[i * 10 + c] + sb[i * 10 + c] > sa[i * 10 + best] + sb[i * 10 + best]) best = c;
                    if (sa[i * 10 + c] > sa[i * 10 + plain]) plain = c;
                }
                want[start + i] = best, labels[start + i] = best;
                differ += best != plain;
            }
        }
        m.tta = 1;
        int got[N];
        model_predict(&m, got, x, N);
        CU_ASSERT(memcmp(got, want, sizeof got) == 0);
        CU_ASSERT(model_count_correct(&m, x, labels, N) == N);
        CU_ASSERT(differ > 0); /* the mirror changed some predictions: the test can tell */
        model_free(&m);
    }
    free(x), free(mirror);
}

/* The per-epoch accuracy check: the training subsample is scored without the test-time views
 * (--tta is the val/test accuracy's; six views would cost six forward passes each), the val set
 * with them. Checked at the epoch's end (on_epoch), on the whole of each set: the recorded
 * figures are the plain and the augmented counts, which differ here. */
typedef struct TtaCheck {
    RecipeRun *r;
    int checked;
} TtaCheck;

static int check_epoch_views(const Solver *cs, void *ctx)
{
    TtaCheck *t = ctx;
    Solver *s = &t->r->s;
    CU_ASSERT_FATAL(cs == s);
    int tta = t->r->m.tta;
    double train[3], val[3];
    for (int level = 0; level < 3; level++) {
        t->r->m.tta = level;
        train[level] = solver_check_accuracy(s, &t->r->train, 0);
        val[level] = solver_check_accuracy(s, &t->r->val, 0);
    }
    t->r->m.tta = tta;
    CU_ASSERT(s->train_acc.v[s->train_acc.n - 1] == (float)train[0]);
    CU_ASSERT(s->val_acc.v[s->val_acc.n - 1] == (float)val[2]);
    CU_ASSERT(train[0] != train[2]); /* the views change the count: the test can tell */
    t->checked++;
    return NNDL_OK;
}

static void test_train_accuracy_without_views(void)
{
    RecipeRun r;
    TtaCheck t = {&r, 0};
    make_random_dataset(&r.train, 96, 3, 8, 8, 41);
    make_random_dataset(&r.val, 64, 3, 8, 8, 42);
    CU_ASSERT_FATAL(model_init(&r.m, test_backend("cpu"), RECIPE_SPEC, 3, 8, 8, 5e-2f, 0, LOSS_SOFTMAX, 3, 32) ==
                    NNDL_OK);
    r.m.tta = 2;
    SolverConfig cfg = solver_config_default();
    cfg.optim.learning_rate = 0.05f;
    cfg.batch_size = 32, cfg.num_epochs = 2, cfg.verbose = 0, cfg.seed = 5;
    cfg.num_train_samples = 0, cfg.num_val_samples = 0; /* all: no subsample drawn */
    cfg.on_epoch = check_epoch_views, cfg.on_epoch_ctx = &t;
    CU_ASSERT_FATAL(solver_init(&r.s, &r.m, &r.train, &r.val, &cfg) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&r.s) == NNDL_OK);
    CU_ASSERT_EQUAL(t.checked, 2);
    recipe_end(&r);
}

/* ---- the cifar-fast preset ----------------------------------------------------------------- */

/* The preset's recipe values, an explicit flag overriding one, and its net built on CIFAR's input
 * with CIFAR's classes. */
static void test_cifar_fast_preset(void)
{
    TrainOptions o = train_options_default();
    char *argv[] = {"train", "--preset", "cifar-fast", "--lr", "0.5", "--flip", NULL};
    CU_ASSERT_FATAL(train_options_parse(6, argv, &o) == NNDL_OK);
    CU_ASSERT(o.lr == 0.5f); /* given: overrides the preset's 0.75 */
    CU_ASSERT(o.batch_size == 512 && o.epochs == 12 && o.num_train == 50000 && o.num_val == 0);
    CU_ASSERT(strcmp(o.update, "sgd_nesterov_momentum") == 0 && o.momentum == 0.85f && o.reg == 0);
    CU_ASSERT(o.label_smoothing == 0.2f && o.weight_decay == 0.009f && o.nonweight_lr_mult == 64);
    CU_ASSERT(o.schedule.kind == SCHEDULE_ONECYCLE && o.schedule.warmup_epochs == 1.84f &&
              o.schedule.warmup_start == 0.2f && o.schedule.final == 0.07f);
    CU_ASSERT(o.augment.flip == 1 && o.augment.pad == 2 && o.augment.pad_mode == PAD_REFLECT && o.tta == 2);
    CU_ASSERT(o.preset && strcmp(o.preset, "cifar-fast") == 0 && o.init && strcmp(o.init, "he") == 0);
    char spec[MODEL_SPEC_MAX];
    CU_ASSERT_FATAL(train_options_spec(&o, spec, sizeof spec) == NNDL_OK);
    Model m;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), spec, 3, 32, 32, 1e-3f, 0, LOSS_SOFTMAX, 0, 4) == NNDL_OK);
    CU_ASSERT_EQUAL(m.num_classes, 10);
    model_free(&m);
    /* the preset's momentum is not the user's: another rule over it is not refused for it */
    TrainOptions a = train_options_default(), b = train_options_default();
    char *adam[] = {"train", "--preset", "cifar-fast", "--update", "adam", NULL};
    char *mom[] = {"train", "--preset", "cifar-fast", "--update", "adam", "--momentum", "0.9", NULL};
    CU_ASSERT_FATAL(train_options_parse(5, adam, &a) == NNDL_OK && train_options_parse(7, mom, &b) == NNDL_OK);
    CU_ASSERT(!(a.given & GIVEN_MOMENTUM) && (b.given & GIVEN_MOMENTUM));
}

/* cifar94: cifar-fast's recipe at full width with airbench's starts, 14 epochs, the average; its
 * net's stem whitens and is frozen, its 3x3 convs start as the identity. */
static void test_cifar94_preset(void)
{
    TrainOptions o = train_options_default();
    char *argv[] = {"train", "--preset", "cifar94", NULL};
    CU_ASSERT_FATAL(train_options_parse(3, argv, &o) == NNDL_OK);
    CU_ASSERT(o.batch_size == 512 && o.epochs == 14 && o.num_train == 50000 && o.num_val == 0 && o.lr == 0.75f);
    CU_ASSERT(o.ema == 0.9f && o.schedule.warmup_epochs == 3.2f && o.tta == 2 && o.label_smoothing == 0.2f);
    char spec[MODEL_SPEC_MAX];
    CU_ASSERT_FATAL(train_options_spec(&o, spec, sizeof spec) == NNDL_OK);
    Model m;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), spec, 3, 32, 32, 1e-3f, 0, LOSS_SOFTMAX, 0, 2) == NNDL_OK);
    CU_ASSERT((m.layers[0].spec.flags & LAYER_WHITEN) && m.params[0].frozen && m.layers[0].spec.units == 24);
    int dirac = 0, wide = 0;
    for (int i = 0; i < m.n_layers; i++) {
        dirac += (m.layers[i].spec.flags & LAYER_DIRAC) != 0;
        wide += m.layers[i].spec.size == 3 && m.layers[i].spec.units == 256;
    }
    CU_ASSERT(dirac == 6 && wide == 4);
    model_free(&m);
}

/* ---- the command line ---------------------------------------------------------------------- */

static void test_recipe_flags_refused(void)
{
    expect_cli("train --preset nope", 2, "unknown preset 'nope'");
    expect_cli("train --pad-mode edge", 2, "'edge' is not zero or reflect");
    expect_cli("train --tta=3", 2, "--tta");
    expect_cli("train --loss svm --label-smoothing 0.1", 2, "for the softmax loss");
    expect_cli("train --label-smoothing 1.5", 2, "--label-smoothing");
    expect_cli("train --schedule linear", 2, "unknown schedule 'linear'");
    expect_cli("train --warmup-epochs 1", 2, "warm-up needs a per-iteration schedule");
    expect_cli("train --weight-decay -1", 2, "--weight-decay");
    expect_cli("eval --checkpoint x.ckpt --tta=5", 2, "--tta");
    static char help[32768];
    CU_ASSERT(run_cli("train --help", help, sizeof help) == 0);
    /* the preset's recipe values are shown */
    CU_ASSERT(strstr(help, "preset cifar-fast") && strstr(help, "--label-smoothing 0.2") && strstr(help, "--lr 0.75") &&
              strstr(help, "--schedule onecycle") && strstr(help, "--crop-pad 2"));
}

/* A recipe run through the program: its checkpoint resumes with the recipe alone (nothing to
 * announce), a changed recipe flag is applied and said; an impossible padding is refused before
 * the data is read. */
static void test_recipe_resume_through_the_program(void)
{
    char dir[64], base[512], args[1024], out[8192];
    CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_recipe_cli") == 0);
    CU_ASSERT_FATAL(write_cifar_batch(dir, "data_batch_1.bin", 0,
                                      (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES) == 0);
    snprintf(base, sizeof base, "train --data %s --num-train 40 --num-val 10 --num-test 0 --model fc --hidden 8 "
             "--batch-size 10 --print-every 0", dir);
    snprintf(args, sizeof args, "%s --epochs 2 --update sgd_nesterov_momentum --lr 0.01 --schedule cosine "
             "--warmup-epochs 1 --final-lr 0.1 --label-smoothing 0.1 --weight-decay 1e-3 --bias-lr-mult 2 --flip "
             "--crop-pad 3 --pad-mode reflect --cutout 5 --tta=2 --ema 0.9 --checkpoint %s/run", base, dir);
    CU_ASSERT_FATAL(run_cli(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "%s --epochs 3 --resume %s/run_epoch_2.ckpt", base, dir);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    CU_ASSERT(strstr(out, "peak learning rate 0.01, the checkpoint's, on its cosine schedule") != NULL);
    /* the whole recipe came from the checkpoint: nothing of it announced */
    static const char *const recipe[] = {"--label-smoothing", "--weight-decay", "--bias-lr-mult", "--schedule",
                                         "--warmup", "--final-lr", "--crop-pad", "--pad-mode", "--flip",
                                         "--cutout", "--tta", "--lr ", "--ema"};
    for (size_t i = 0; i < sizeof recipe / sizeof *recipe; i++) {
        CU_ASSERT(strstr(out, recipe[i]) == NULL);
        if (strstr(out, recipe[i])) fprintf(stderr, "\n%s announced:\n%s\n", recipe[i], out);
    }
    snprintf(args, sizeof args, "%s --epochs 3 --crop-pad 1 --resume %s/run_epoch_2.ckpt", base, dir);
    expect_cli(args, 0, "resume: --crop-pad 1 applied (the checkpoint's run used 3)");
    /* eval takes the run's test-time augmentation unless told otherwise (on the cpu, which a CUDA=1
     * build would otherwise not pick) */
    CU_ASSERT_FATAL(write_cifar_batch(dir, "test_batch.bin", 3, (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES) == 0);
    snprintf(args, sizeof args, "eval %s/run_epoch_2.ckpt --data %s --num-test 50 --device cpu", dir, dir);
    expect_cli(args, 0, "/ 50, on cpu, flip and shift tta)");
    snprintf(args, sizeof args, "eval %s/run_epoch_2.ckpt --data %s --num-test 50 --tta=0 --device cpu", dir, dir);
    expect_cli(args, 0, "/ 50, on cpu)");
    snprintf(args, sizeof args, "%s --epochs 3 --ema 0 --resume %s/run_epoch_2.ckpt", base, dir);
    expect_cli(args, 2, "trained with a moving average of the parameters");
    snprintf(args, sizeof args, "%s --crop-pad 32", base);
    expect_cli(args, 2, "below the image side 32");
    remove_tree(dir);
}

void register_recipe_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"label smoothing: reference, cpu and cuda against PyTorch", test_label_smoothing_matches_pytorch},
        {"augmentation: cpu and cuda build identical batches", test_augment_cpu_and_cuda_identical},
        {"augmentation: draws keyed by seed, epoch and example", test_augment_draws_are_keyed_by_example},
        {"augmentation: distribution of shifts, flips, cutouts", test_augment_draw_distribution},
        {"a resumed run sees the same images (bit-exact losses)", test_resume_sees_the_same_images},
        {"the whole recipe on cuda: cpu's losses, nothing copied back", test_recipe_steps_on_cuda},
        {"schedules: factors by iteration", test_schedule_factors},
        {"decoupled weight decay, sgd and adam, cpu and cuda", test_weight_decay_is_decoupled},
        {"biases and batchnorm: lr factor, decay divided by it", test_nonweight_lr_factor},
        {"moving average of the parameters, by hand", test_ema_of_the_parameters},
        {"test-time augmentation averages the mirror's scores", test_tta_averages_the_mirror},
        {"the epoch's check: train accuracy without the test-time views, val with them",
         test_train_accuracy_without_views},
        {"recipe flags: bad values refused, the preset in --help", test_recipe_flags_refused},
        {"a recipe run resumes through the program", test_recipe_resume_through_the_program},
        {"the cifar-fast preset: its values, a flag over it, its net", test_cifar_fast_preset},
        {"the cifar94 preset: its values and its net's starts", test_cifar94_preset},
        CU_TEST_INFO_NULL};
    add_suite("recipe", tests);
}
