/* test_device_recipe.c — the device-resident step (net/solver_device.h) with the training
 * recipe's optimiser: per-iteration schedules with a warm-up, the factor on the rate of biases and
 * batchnorm parameters, decoupled weight decay under every update rule, and the moving average of
 * the weights. Over two epochs, from one recorded graph, each gives the host-batch path's losses,
 * accuracies, rates, parameters and averages, and the cpu's losses within float tolerance; a step
 * after setup still copies, allocates and synchronises nothing and is one graph launch (SIMT
 * counters). Beneath them, the update kernels with the rate read on the device against the cpu's
 * rules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/kernel_checks.h"
#include "device_run.h"
#include "error.h"
#include "model.h"
#include "solver.h"
#include "solver_device.h"
#include "test_util.h"

#define SPEC "conv4x3-bn-relu-pool2-affine8-relu-affine10"

typedef DeviceRun Run; /* tests/support/device_run.h */

/* A recipe: an update rule at its default rate, a schedule (warm-up over half an epoch from 0.1;
 * epoch-decay halves the rate each epoch), decay, the nonweight factor and the average. */
typedef struct Recipe {
    const char *what;
    UpdateRule rule;
    ScheduleKind schedule;
    float weight_decay, nonweight_lr_mult, ema;
} Recipe;

/* 30 examples in batches of 10 (3 steps an epoch), two epochs, on a backend of its own. */
static void run_start(Run *r, const char *device, const Recipe *rc, int host_batches)
{
    make_random_dataset(&r->train, 30, 3, 8, 8, 41);
    make_random_dataset(&r->val, 7, 3, 8, 8, 42);
    CU_ASSERT_FATAL((r->be = backend_create(device)) != NULL);
    CU_ASSERT_FATAL(model_init(&r->m, r->be, SPEC, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX, 9, 10) == NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(rc->rule);
    cfg.optim.weight_decay = rc->weight_decay, cfg.nonweight_lr_mult = rc->nonweight_lr_mult, cfg.ema = rc->ema;
    cfg.schedule.kind = rc->schedule, cfg.lr_decay = 0.5f;
    if (rc->schedule != SCHEDULE_EPOCH_DECAY)
        cfg.schedule.warmup_epochs = 0.5f, cfg.schedule.warmup_start = 0.1f, cfg.schedule.final = 0.05f,
        cfg.schedule.gamma = 0.3f;
    cfg.batch_size = 10, cfg.num_epochs = 2, cfg.verbose = 0, cfg.num_train_samples = 6, cfg.seed = 8;
    cfg.host_batches = host_batches;
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->train, &r->val, &cfg) == NNDL_OK);
}

static double worst_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / fmax(1, fabs(b[i])));
    return worst;
}

/* The largest difference of the model's state (parameters and batchnorm statistics) and of the
 * moving averages between two runs. */
static double state_diff(const Run *a, const Run *b)
{
    size_t n = model_state_size(&a->m);
    float *ha = malloc(n * sizeof *ha), *hb = malloc(n * sizeof *hb);
    model_state_save(&a->m, ha), model_state_save(&b->m, hb);
    double worst = worst_diff(ha, hb, n);
    free(ha), free(hb);
    for (int i = 0; a->s.ema_w && i < a->m.n_params; i++) {
        size_t k = a->m.params[i].n;
        ha = malloc(k * sizeof *ha), hb = malloc(k * sizeof *hb);
        a->be->to_host(a->be, ha, a->s.ema_w[i], k * sizeof *ha);
        b->be->to_host(b->be, hb, b->s.ema_w[i], k * sizeof *hb);
        worst = fmax(worst, worst_diff(ha, hb, k));
        free(ha), free(hb);
    }
    return worst;
}

/* Between them every schedule, the factor under epoch decay and under a schedule, decay under
 * every update rule, and the average. */
static const Recipe recipes[] = {
    {"step schedule, warm-up, nonweight factor 4", UPDATE_ADAM, SCHEDULE_STEP, 0, 4, 0},
    {"cosine schedule, warm-up, weight decay", UPDATE_SGD_MOMENTUM, SCHEDULE_COSINE, 0.5f, 1, 0},
    {"onecycle schedule, warm-up, nonweight factor 2, weight decay", UPDATE_RMSPROP, SCHEDULE_ONECYCLE, 0.5f, 2, 0},
    {"epoch decay, nonweight factor 4, weight decay", UPDATE_ADAM, SCHEDULE_EPOCH_DECAY, 5, 4, 0},
    {"moving average, weight decay", UPDATE_SGD, SCHEDULE_EPOCH_DECAY, 0.5f, 1, 0.8f},
    {"all of them", UPDATE_SGD_NESTEROV_MOMENTUM, SCHEDULE_ONECYCLE, 0.5f, 4, 0.8f},
};

/* Each recipe trains on the device path (one graph, replayed), on the host-batch path and on
 * the cpu: the first two alike to the bit in losses and accuracies (train and val: the average
 * is what is evaluated) and within 1e-6 in the final parameters and averages; the cpu's losses
 * within float tolerance (the update kernels against the cpu's: test_update_kernels_read_step_vars). */
static void test_recipes_device_path_is_host_path(void)
{
    for (size_t k = 0; k < sizeof recipes / sizeof *recipes; k++) {
        const Recipe *rc = &recipes[k];
        Run r[3];
        run_start(&r[0], "cuda", rc, 0);
        run_start(&r[1], "cuda", rc, 1);
        run_start(&r[2], "cpu", rc, 0);
        for (int h = 0; h < 3; h++) CU_ASSERT_FATAL(solver_train(&r[h].s) == NNDL_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r[0].s.dev); /* the recipe runs on the device path */
        CU_ASSERT_PTR_NULL(r[1].s.dev);
        CU_ASSERT_EQUAL(r[0].s.dev->graphs_recorded, 1);
        CU_ASSERT_EQUAL(r[0].s.loss.n, 6);
        CU_ASSERT(same_history(&r[0].s.loss, &r[1].s.loss));
        CU_ASSERT(same_history(&r[0].s.train_acc, &r[1].s.train_acc));
        CU_ASSERT(same_history(&r[0].s.val_acc, &r[1].s.val_acc));
        for (int i = 0; i < r[0].m.n_params; i++) /* the host's mirror of the rates */
            CU_ASSERT(r[0].s.opt[i].learning_rate == r[1].s.opt[i].learning_rate && r[0].s.opt[i].t == r[1].s.opt[i].t);
        ASSERT_BELOW(state_diff(&r[0], &r[1]), 1e-6, rc->what);
        for (int i = 0; i < r[0].s.loss.n; i++)
            ASSERT_BELOW(fabs(r[0].s.loss.v[i] - r[2].s.loss.v[i]) / r[2].s.loss.v[i], 1e-4, rc->what);
        for (int h = 0; h < 3; h++) device_run_free(&r[h]);
    }
}

/* Every rule with decoupled decay, three steps, on the cuda backend with the rate and Adam's t
 * read from a device StepVars (the host config's rate 0, so a frozen one would show) and on the
 * cpu with the rate in the config: the same weights and state within float tolerance. */
static void test_update_kernels_read_step_vars(void)
{
    const Backend *cpu = test_backend("cpu"), *gpu = test_backend("cuda");
    const size_t n = 3000;
    Rng g;
    rng_seed(&g, 12);
    float *h[4], *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
    for (int a = 0; a < 4; a++) h[a] = calloc(n, sizeof *h[a]);
    for (size_t i = 0; i < n; i++) h[0][i] = (float)rng_gaussian(&g), h[1][i] = (float)rng_gaussian(&g);
    StepVars *vars = gpu->alloc(gpu, sizeof *vars);
    for (int rule = 0; rule < UPDATE_RULE_COUNT; rule++) {
        const Backend *be[2] = {cpu, gpu};
        float *d[2][4];
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < 4; a++) {
                d[k][a] = be[k]->alloc(be[k], n * sizeof(float));
                be[k]->to_device(be[k], d[k][a], h[a], n * sizeof(float));
            }
        OptimConfig c = optim_config_default((UpdateRule)rule), on_gpu = c;
        c.weight_decay = on_gpu.weight_decay = 3;
        on_gpu.learning_rate = 0, on_gpu.vars = vars, on_gpu.vars_rate = 1;
        for (int step = 0; step < 3; step++) {
            c.learning_rate = optim_config_default((UpdateRule)rule).learning_rate * (1 + step); /* a schedule */
            backend_update(cpu, &c, d[0][0], d[0][1], d[0][2], d[0][3], n);
            StepVars v = {.t = c.t, .learning_rate = {-1, c.learning_rate}};
            gpu->to_device(gpu, vars, &v, sizeof v);
            backend_update(gpu, &on_gpu, d[1][0], d[1][1], d[1][2], d[1][3], n);
        }
        for (int a = 0; a < 4; a += 2) { /* the weights and the first state array */
            cpu->to_host(cpu, want, d[0][a], n * sizeof *want);
            gpu->to_host(gpu, got, d[1][a], n * sizeof *got);
            ASSERT_BELOW(worst_diff(got, want, n), 1e-6, optim_rule_name((UpdateRule)rule));
        }
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < 4; a++) be[k]->release(be[k], d[k][a]);
    }
    /* the average's step with the decay of the device's step count, against axpby with the host's */
    float *avg[2], *w = gpu->alloc(gpu, n * sizeof *w);
    gpu->to_device(gpu, w, h[1], n * sizeof *w);
    for (int k = 0; k < 2; k++) {
        avg[k] = gpu->alloc(gpu, n * sizeof *avg[k]);
        gpu->to_device(gpu, avg[k], h[0], n * sizeof *avg[k]);
    }
    for (int64_t t = 0; t < 40; t += 13) {
        StepVars v = {.iteration = t};
        gpu->to_device(gpu, vars, &v, sizeof v);
        gpu->ema_step(gpu, avg[0], w, n, 0.95f, vars);
        float dec = (float)solver_ema_decay(0.95f, (long)t);
        gpu->axpby(gpu, avg[1], 1 - dec, w, dec, n);
    }
    gpu->to_host(gpu, got, avg[0], n * sizeof *got);
    gpu->to_host(gpu, want, avg[1], n * sizeof *want);
    CU_ASSERT(memcmp(got, want, n * sizeof *got) == 0);
    gpu->release(gpu, w), gpu->release(gpu, avg[0]), gpu->release(gpu, avg[1]), gpu->release(gpu, vars);
    for (int a = 0; a < 4; a++) free(h[a]);
    free(got), free(want);
}

/* With every feature on, steps after the first (which records the graph) copy nothing between
 * host and device, allocate nothing, synchronise nothing and are one graph launch each, in
 * both epochs (the second starts with its order, rates table and StepVars uploaded). */
static void test_recipe_step_costs(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return;
    Run r;
    run_start(&r, "cuda", &recipes[sizeof recipes / sizeof *recipes - 1], 0);
    for (int e = 0; e < 2; e++) {
        CU_ASSERT_FATAL(solver_epoch_begin(&r.s) == NNDL_OK);
        CU_ASSERT_FATAL(solver_epoch_step(&r.s, 0) == NNDL_OK);
        r.s.iteration++;
        kc_reset_counters();
        for (int b = 1; b < 3; b++) {
            CU_ASSERT(solver_epoch_step(&r.s, b) == NNDL_OK);
            r.s.iteration++;
        }
        kc_counters(&c);
        assert_replayed_steps_cost_nothing(&c, 2);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.s.dev);
    CU_ASSERT_EQUAL(r.s.dev->graphs_recorded, 1);
    device_run_free(&r);
}

void register_device_recipe_suite(void)
{
    if (!test_backend("cuda")) return; /* reported by the cuda backend's suite */
    static const CU_TestInfo tests[] = {
        {"update kernels: decay, rate and t from StepVars = cpu, every rule; the average's step",
         test_update_kernels_read_step_vars},
        {"schedules, nonweight factor, weight decay (every rule), average: device path = host path, ~ cpu",
         test_recipes_device_path_is_host_path},
        {"recipe step after setup: no copy, allocation or sync; one graph launch", test_recipe_step_costs},
        CU_TEST_INFO_NULL};
    add_suite("cuda device path: recipe", tests);
}
