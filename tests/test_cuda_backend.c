/* test_cuda_backend.c — the cuda backend (on a GPU, or its kernels on the SIMT host): every op
 * against the double reference, the update rules and a whole model against the cpu backend; on
 * the SIMT host also what a training step costs in copies and allocations (its counters), and
 * how a machine without a GPU is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_checks.h"
#include "cuda/kernel_checks.h"
#include "cuda_tuning.h"
#include "device_run.h"
#include "op_checks.h"
#include "error.h"
#include "model.h"
#include "solver.h"
#include "solver_device.h"
#include "test_util.h"

static const Backend *cpu, *gpu;

static int init(void)
{
    cpu = test_backend("cpu");
    gpu = test_backend("cuda");
    return !(cpu && gpu);
}

static float *dev_copy(const Backend *be, const float *h, size_t n)
{
    float *d = be->alloc(be, n * sizeof *d);
    be->to_device(be, d, h, n * sizeof *d);
    return d;
}

static double max_diff(const Backend *a, const float *da, const Backend *b, const float *db, size_t n)
{
    float *ha = malloc(n * sizeof *ha), *hb = malloc(n * sizeof *hb);
    a->to_host(a, ha, da, n * sizeof *ha);
    b->to_host(b, hb, db, n * sizeof *hb);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ha[i] - hb[i]) / fmax(1, fabs(hb[i])));
    free(ha), free(hb);
    return worst;
}

/* Each rule, three steps, on the same arrays on both devices. */
static void test_update_rules_match_cpu(void)
{
    const size_t n = 5000;
    Rng r;
    rng_seed(&r, 3);
    float *w = malloc(n * sizeof *w), *dw = malloc(n * sizeof *dw), *z = calloc(n, sizeof *z);
    for (size_t i = 0; i < n; i++) w[i] = (float)rng_gaussian(&r), dw[i] = (float)rng_gaussian(&r);
    for (int rule = 0; rule < UPDATE_RULE_COUNT; rule++) {
        const Backend *be[2] = {cpu, gpu};
        float *dev[2][4];
        OptimConfig c[2] = {optim_config_default((UpdateRule)rule), optim_config_default((UpdateRule)rule)};
        for (int k = 0; k < 2; k++) {
            dev[k][0] = dev_copy(be[k], w, n), dev[k][1] = dev_copy(be[k], dw, n);
            dev[k][2] = dev_copy(be[k], z, n), dev[k][3] = dev_copy(be[k], z, n);
            for (int step = 0; step < 3; step++) backend_update(be[k], &c[k], dev[k][0], dev[k][1], dev[k][2], dev[k][3], n);
        }
        char what[64];
        snprintf(what, sizeof what, "%s: cuda w vs cpu w", optim_rule_name((UpdateRule)rule));
        ASSERT_BELOW(max_diff(gpu, dev[1][0], cpu, dev[0][0], n), 1e-6, what);
        ASSERT_BELOW(max_diff(gpu, dev[1][2], cpu, dev[0][2], n), 1e-6, "state 1");
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < 4; a++) be[k]->release(be[k], dev[k][a]);
    }
    free(w), free(dw), free(z);
}

/* A model on both devices from the same seed: same initial weights by design, then the same
 * loss, gradients and a few SGD steps within float tolerance, and the same test-mode scores. */
static void check_model_matches_cpu(const char *spec, int H, WeightInit init)
{
    const int N = 6;
    Model m[2];
    const Backend *be[2] = {cpu, gpu};
    for (int k = 0; k < 2; k++) {
        ModelConfig mc = {.spec = spec, .C = 3, .H = H, .W = H, .init = init, .weight_scale = 5e-2f, .reg = 1e-3f,
                          .loss = LOSS_SOFTMAX, .seed = 17, .max_batch = N};
        CU_ASSERT_FATAL(model_create(&m[k], be[k], &mc) == NNDL_OK);
    }
    Rng r;
    rng_seed(&r, 4);
    size_t nx = (size_t)N * 3 * H * H;
    float *X = malloc(nx * sizeof *X);
    for (size_t i = 0; i < nx; i++) X[i] = (float)rng_gaussian(&r);
    int y[6] = {1, 7, 3, 3, 0, 9};
    for (int i = 0; i < m[0].n_params; i++)
        ASSERT_BELOW(max_diff(gpu, m[1].params[i].w, cpu, m[0].params[i].w, m[0].params[i].n), 1e-300,
                     "initial weights identical on both devices");
    for (int step = 0; step < 3; step++) {
        double l0 = model_loss(&m[0], X, y, N, (uint64_t)step), l1 = model_loss(&m[1], X, y, N, (uint64_t)step);
        ASSERT_BELOW(fabs(l0 - l1) / l0, 1e-5, "cuda loss vs cpu loss");
        for (int i = 0; i < m[0].n_params; i++) {
            char what[64];
            snprintf(what, sizeof what, "step %d: cuda %s gradient vs cpu", step, m[0].params[i].name);
            ASSERT_BELOW(max_diff(gpu, m[1].params[i].dw, cpu, m[0].params[i].dw, m[0].params[i].n), 1e-4, what);
            OptimConfig c = optim_config_default(UPDATE_SGD);
            backend_update(be[0], &c, m[0].params[i].w, m[0].params[i].dw, NULL, NULL, m[0].params[i].n);
            backend_update(be[1], &c, m[1].params[i].w, m[1].params[i].dw, NULL, NULL, m[1].params[i].n);
        }
    }
    float *s0 = malloc((size_t)N * 10 * sizeof *s0), *s1 = malloc((size_t)N * 10 * sizeof *s1);
    model_scores(&m[0], s0, X, N); /* test mode: running statistics, no dropout */
    model_scores(&m[1], s1, X, N);
    double worst = 0;
    for (int i = 0; i < N * 10; i++) worst = fmax(worst, fabs(s0[i] - s1[i]));
    ASSERT_BELOW(worst, 1e-4, "test-mode scores, cuda vs cpu");
    free(s0), free(s1), free(X);
    model_free(&m[0]), model_free(&m[1]);
}

/* The seed's batchnorm CNN (small) */
static void test_model_matches_cpu(void)
{
    check_model_matches_cpu("conv8x3-bn-relu-pool2-affine20-bn-relu-dropout0.8-affine10", 12, INIT_NORMAL);
}

/* Every layer kind of issue #9 (conv options, bn options, GELU, residual blocks with identity and
 * projection skips, both global pools, scale), He initialisation */
static void test_new_layers_match_cpu(void)
{
    check_model_matches_cpu("conv8x2(pad=0)-bn(noscale)-gelu-res[conv8x3(nobias)-bn-relu-conv8x3]-"
                            "res(proj)[conv12x3(stride=2,nobias)-bn(momentum=0.6,eps=1e-12)-gelu]-gap-affine10-scale0.5",
                            13, INIT_HE);
    check_model_matches_cpu("conv8x3(stride=2)-gelu-[res[conv8x3-bn-gelu]]x2-gmp-affine10", 12, INIT_HE);
}

/* A small training setup on one backend: 20 random examples, the given print interval. */
typedef struct Run {
    Dataset data;
    Model m;
    Solver s;
} Run;

static void run_setup(Run *r, const Backend *be, int print_every, FILE *out)
{
    CU_ASSERT_FATAL(dataset_alloc(&r->data, 20, 3, 8, 8) == NNDL_OK);
    Rng g;
    rng_seed(&g, 12);
    for (size_t i = 0; i < (size_t)20 * 3 * 8 * 8; i++) r->data.x[i] = (float)rng_gaussian(&g);
    for (int i = 0; i < 20; i++) r->data.y[i] = (int)rng_below(&g, 10);
    CU_ASSERT_FATAL(model_init(&r->m, be, "conv8x3-bn-relu-pool2-affine16-bn-relu-affine10", 3, 8, 8, 5e-2f, 1e-3f,
                               LOSS_SOFTMAX, 3, 10) == NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_ADAM);
    cfg.batch_size = 10, cfg.num_epochs = 1, cfg.print_every = print_every, cfg.verbose = out != NULL;
    cfg.out = out;
    cfg.num_train_samples = 10; /* accuracy checks of one batch: the SIMT host is slow */
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->data, NULL, &cfg) == NNDL_OK);
}

static void run_free(Run *r)
{
    solver_free(&r->s);
    model_free(&r->m);
    dataset_free(&r->data);
}

/* After setup, training steps leave their losses on the device: no device-to-host copy, no
 * allocation, no synchronisation; reading the losses back is one copy of all of them, and the
 * values are the cpu backend's. */
static void test_step_stays_on_device(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return; /* a GPU: no counters (nsys shows the same) */
    Backend *fresh = backend_create("cuda"); /* nothing grown by earlier tests */
    CU_ASSERT_FATAL(fresh != NULL);
    Run r[2];
    run_setup(&r[0], cpu, 0, NULL);
    run_setup(&r[1], fresh, 0, NULL);
    int idx[10] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18};
    kc_reset_counters();
    for (int step = 0; step < 2; step++) CU_ASSERT(solver_step(&r[1].s, idx, 10) == NNDL_OK);
    kc_counters(&c);
    CU_ASSERT_EQUAL(c.d2h, 0);
    CU_ASSERT_EQUAL(c.allocs, 0);
    CU_ASSERT_EQUAL(c.syncs, 0);
    CU_ASSERT(c.h2d >= 2 && c.launches > 0); /* the minibatch still goes up each step */
    CU_ASSERT_EQUAL(r[1].s.loss.n, 0);
    kc_reset_counters();
    CU_ASSERT(solver_read_losses(&r[1].s) == NNDL_OK);
    kc_counters(&c);
    CU_ASSERT_EQUAL(c.d2h, 1);
    CU_ASSERT_EQUAL(c.d2h_bytes, 2 * sizeof(double));
    CU_ASSERT_EQUAL(r[1].s.loss.n, 2);
    for (int step = 0; step < 2; step++) CU_ASSERT(solver_step(&r[0].s, idx, 10) == NNDL_OK);
    CU_ASSERT(solver_read_losses(&r[0].s) == NNDL_OK);
    CU_ASSERT_FATAL(r[0].s.loss.n == 2);
    for (int i = 0; i < 2; i++)
        ASSERT_BELOW(fabs(r[1].s.loss.v[i] - r[0].s.loss.v[i]) / r[0].s.loss.v[i], 1e-5, "read-back loss vs cpu");
    CU_ASSERT_EQUAL(r[1].s.first_nonfinite, -1);
    run_free(&r[0]), run_free(&r[1]);
    backend_destroy(fresh);
}

/* The update rule runs over the model's one parameter block: a step's update is one kernel
 * launch (the step's launches minus those of its loss and gradients alone), one call on both
 * devices, and Adam's flat update leaves the parameters where the cpu's leaves them. */
static void test_flat_update_one_launch(void)
{
    KcCounters c;
    int simt = kc_counters(&c) == 0;
    Run r[2];
    run_setup(&r[0], cpu, 0, NULL);
    run_setup(&r[1], gpu, 0, NULL);
    int idx[10] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19};
    /* the same gradients on both devices (Adam's first steps are +-lr wherever a gradient is near
     * 0, so the devices' float differences in the gradients would swamp the comparison) */
    size_t n = r[0].m.param_values;
    float *h = malloc(n * sizeof *h);
    for (int step = 0; step < 2; step++) {
        model_loss_into(&r[0].m, r[0].s.loss_slots, r[0].data.x, r[0].data.y, 10, (uint64_t)step);
        cpu->to_host(cpu, h, r[0].m.grad_block, n * sizeof *h);
        gpu->to_device(gpu, r[1].m.grad_block, h, n * sizeof *h);
        solver_update(&r[0].s);
        solver_update(&r[1].s);
    }
    free(h);
    CU_ASSERT_EQUAL(r[0].s.update_calls, 1);
    CU_ASSERT_EQUAL(r[1].s.update_calls, 1);
    ASSERT_BELOW(max_diff(gpu, r[1].m.param_block, cpu, r[0].m.param_block, n), 1e-6,
                 "parameters after flat Adam updates, cuda vs cpu");
    if (simt) {
        CU_ASSERT(solver_step(&r[1].s, idx, 10) == NNDL_OK); /* fills the minibatch */
        kc_reset_counters();
        model_loss_into(&r[1].m, r[1].s.loss_slots, r[1].s.batch_x, r[1].s.batch_y, 10, 5);
        kc_counters(&c);
        unsigned long loss_launches = c.launches;
        kc_reset_counters();
        CU_ASSERT(solver_step(&r[1].s, idx, 10) == NNDL_OK);
        kc_counters(&c);
        CU_ASSERT_EQUAL(c.launches, loss_launches + 1);
        /* profiling: the same step timed layer by layer, waiting for the device at each entry */
        ModelProfile prof;
        memset(&prof, 0, sizeof prof);
        r[1].m.profile = &prof;
        kc_reset_counters();
        CU_ASSERT(solver_step(&r[1].s, idx, 10) == NNDL_OK);
        kc_counters(&c);
        r[1].m.profile = NULL;
        CU_ASSERT(c.syncs > (unsigned long)r[1].m.n_layers);
        CU_ASSERT_EQUAL(prof.steps, 1);
        CU_ASSERT(prof.forward[0] > 0 && prof.backward[0] > 0 && prof.update > 0);
    }
    run_free(&r[0]), run_free(&r[1]);
}

/* A whole epoch through solver_train: a loss line every iteration costs exactly one read-back
 * per line, and the epoch end then has nothing left to read, compared with no loss lines; the
 * lines add no allocation, and each step is one graph launch. */
static void test_one_read_back_per_loss_line(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return;
    unsigned long d2h[2], allocs[2];
    int lines[2] = {0, 1};
    for (int k = 0; k < 2; k++) {
        Run r;
        FILE *out = tmpfile();
        Backend *fresh = backend_create("cuda");
        CU_ASSERT_FATAL(fresh != NULL);
        run_setup(&r, fresh, lines[k], out);
        kc_reset_counters();
        CU_ASSERT(solver_train(&r.s) == NNDL_OK);
        kc_counters(&c);
        d2h[k] = c.d2h, allocs[k] = c.allocs;
        CU_ASSERT_EQUAL(r.s.loss.n, 2);
        CU_ASSERT_EQUAL(c.graph_launches, 2);
        CU_ASSERT_EQUAL(c.syncs, 0);
        run_free(&r);
        backend_destroy(fresh);
        fclose(out);
    }
    /* 2 iterations: 2 read-backs at the lines instead of 1 at the epoch end */
    CU_ASSERT_EQUAL(d2h[1] - d2h[0], 1);
    CU_ASSERT_EQUAL(allocs[1], allocs[0]);
}

/* ---- the device-resident path (net/solver_device.h) ---------------------------------------- */

/* n examples of (3, 8, 8) made as CIFAR-10's are: random bytes minus the mean image (computed
 * in double, rounded to float, subtracted in float). */
static void make_byte_dataset(Dataset *d, float *mean, int n, uint64_t seed)
{
    CU_ASSERT_FATAL(dataset_alloc(d, n, 3, 8, 8) == NNDL_OK);
    Rng g;
    rng_seed(&g, seed);
    size_t size = dataset_example_size(d);
    unsigned char *bytes = malloc((size_t)n * size);
    for (size_t i = 0; i < (size_t)n * size; i++) bytes[i] = (unsigned char)rng_below(&g, 256);
    for (size_t j = 0; j < size; j++) {
        double sum = 0;
        for (int e = 0; e < n; e++) sum += bytes[(size_t)e * size + j];
        mean[j] = (float)(sum / n);
    }
    for (size_t i = 0; i < (size_t)n * size; i++) d->x[i] = (float)bytes[i] - mean[i % size];
    for (int e = 0; e < n; e++) d->y[e] = (int)rng_below(&g, 10);
    free(bytes);
}

/* The device's gathered minibatch is the host's rows, bit for bit: uploaded as bytes when the
 * values are bytes minus the mean, as floats otherwise (random pixels, or a mean that does not
 * reproduce them). */
static void test_device_batch_is_host_batch(void)
{
    Dataset bytes, floats;
    float mean[192], wrong_mean[192];
    make_byte_dataset(&bytes, mean, 30, 5);
    make_random_dataset(&floats, 30, 3, 8, 8, 6);
    for (int j = 0; j < 192; j++) wrong_mean[j] = mean[j] + 0.25f;
    /* byte-made but for one value, which the upload's check must find wherever it is: a byte
     * of 256 in the last example's last value, a NaN in the middle of the set */
    Dataset past_255, one_nan;
    CU_ASSERT_FATAL(dataset_alloc(&past_255, 30, 3, 8, 8) == NNDL_OK && dataset_alloc(&one_nan, 30, 3, 8, 8) == NNDL_OK);
    for (Dataset *d = &past_255; d; d = d == &past_255 ? &one_nan : NULL) {
        memcpy(d->x, bytes.x, 30 * 192 * sizeof *d->x);
        memcpy(d->y, bytes.y, 30 * sizeof *d->y);
    }
    past_255.x[30 * 192 - 1] = 256.0f - mean[191];
    one_nan.x[15 * 192 + 77] = NAN;
    struct {
        const Dataset *d;
        const float *mean;
        int u8;
    } cases[] = {{&bytes, mean, 1},         {&floats, NULL, 0},   {&floats, mean, 0},
                 {&bytes, wrong_mean, 0},   {&past_255, mean, 0}, {&one_nan, mean, 0}};
    int order[30], start = 4, n = 7;
    for (int i = 0; i < 30; i++) order[i] = (i * 7 + 3) % 30;
    int *d_order = gpu->alloc(gpu, sizeof order), *d_start = gpu->alloc(gpu, sizeof start);
    gpu->to_device(gpu, d_order, order, sizeof order);
    gpu->to_device(gpu, d_start, &start, sizeof start);
    float *x = gpu->alloc(gpu, (size_t)n * 192 * sizeof *x), hx[7 * 192];
    int *y = gpu->alloc(gpu, (size_t)n * sizeof *y), hy[7];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        DeviceSet set;
        CU_ASSERT_FATAL(device_set_upload(&set, gpu, cases[k].d, cases[k].mean) == NNDL_OK);
        CU_ASSERT_EQUAL(set.ex.u8, cases[k].u8);
        gpu->gather(gpu, x, y, &set.ex, d_order, d_start, 2, n); /* positions 6..12 */
        gpu->to_host(gpu, hx, x, sizeof hx);
        gpu->to_host(gpu, hy, y, sizeof hy);
        int same = 1;
        for (int i = 0; i < n; i++) {
            int e = order[2 + start + i];
            same &= memcmp(hx + i * 192, cases[k].d->x + (size_t)e * 192, 192 * sizeof(float)) == 0;
            same &= hy[i] == cases[k].d->y[e];
        }
        CU_ASSERT(same);
        device_set_free(&set, gpu);
    }
    gpu->release(gpu, x), gpu->release(gpu, y), gpu->release(gpu, d_order), gpu->release(gpu, d_start);
    dataset_free(&bytes), dataset_free(&floats), dataset_free(&past_255), dataset_free(&one_nan);
}

/* A set of 18 MB of floats goes up as bytes in several chunks (net/solver_device.c stages 4 MB
 * of bytes at a time): every row comes back bit for bit; one value that is not a byte, in the
 * last chunk only, sends the whole set up as floats. */
static void test_device_upload_in_chunks(void)
{
    enum { N = 1100, SIZE = 64 * 64 };
    Dataset d;
    CU_ASSERT_FATAL(dataset_alloc(&d, N, 1, 64, 64) == NNDL_OK);
    static float mean[SIZE];
    Rng g;
    rng_seed(&g, 9);
    for (int j = 0; j < SIZE; j++) mean[j] = 100.0f + (float)rng_uniform(&g) * 50.0f;
    for (size_t i = 0; i < (size_t)N * SIZE; i++) d.x[i] = (float)rng_below(&g, 256) - mean[i % SIZE];
    for (int e = 0; e < N; e++) d.y[e] = e % 10;
    int *order = malloc(N * sizeof *order), start = 0;
    for (int i = 0; i < N; i++) order[i] = N - 1 - i;
    int *d_order = gpu->alloc(gpu, N * sizeof *order), *d_start = gpu->alloc(gpu, sizeof start);
    gpu->to_device(gpu, d_order, order, N * sizeof *order);
    gpu->to_device(gpu, d_start, &start, sizeof start);
    float *x = gpu->alloc(gpu, (size_t)N * SIZE * sizeof *x), *hx = malloc((size_t)N * SIZE * sizeof *hx);
    int *y = gpu->alloc(gpu, N * sizeof *y), hy[N];
    for (int broken = 0; broken <= 1; broken++) {
        if (broken) d.x[(size_t)N * SIZE - 5] = 256.0f - mean[SIZE - 5];
        DeviceSet set;
        CU_ASSERT_FATAL(device_set_upload(&set, gpu, &d, mean) == NNDL_OK);
        CU_ASSERT_EQUAL(set.ex.u8, !broken);
        gpu->gather(gpu, x, y, &set.ex, d_order, d_start, 0, N);
        gpu->to_host(gpu, hx, x, (size_t)N * SIZE * sizeof *hx);
        gpu->to_host(gpu, hy, y, sizeof hy);
        int same = 1;
        for (int i = 0; i < N; i++)
            same &= memcmp(hx + (size_t)i * SIZE, d.x + (size_t)order[i] * SIZE, SIZE * sizeof *hx) == 0 &&
                    hy[i] == d.y[order[i]];
        CU_ASSERT(same);
        device_set_free(&set, gpu);
    }
    gpu->release(gpu, x), gpu->release(gpu, y), gpu->release(gpu, d_order), gpu->release(gpu, d_start);
    free(order), free(hx);
    dataset_free(&d);
}

/* Training on a backend of its own (DeviceRun, tests/support/device_run.h): n byte-made examples,
 * a validation set, the given spec, Adam with lr decay, two epochs; host_batches chooses the path. */
typedef DeviceRun DevRun;

/* The training recipe's features the device path runs: augmentation and test-time views. */
typedef struct DevRecipe {
    AugmentConfig augment;
    int tta;
} DevRecipe;

static void devrun_setup_recipe(DevRun *r, const char *device, const char *spec, int n, int host_batches,
                                const DevRecipe *recipe)
{
    float val_mean[192]; /* the val set's own mean: its values do not reproduce from the training mean */
    make_byte_dataset(&r->train, r->mean, n, 21);
    make_byte_dataset(&r->val, val_mean, 7, 22);
    CU_ASSERT_FATAL((r->be = backend_create(device)) != NULL);
    CU_ASSERT_FATAL(model_init(&r->m, r->be, spec, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX, 9, 10) == NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_ADAM);
    cfg.lr_decay = 0.5f, cfg.batch_size = 10, cfg.num_epochs = 2, cfg.verbose = 0;
    cfg.num_train_samples = 6, cfg.host_batches = host_batches, cfg.seed = 8;
    if (recipe) cfg.augment = recipe->augment, r->m.tta = recipe->tta;
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->train, &r->val, &cfg) == NNDL_OK);
    r->s.input_mean = r->mean;
}

static void devrun_setup(DevRun *r, const char *device, const char *spec, int n, int host_batches)
{
    devrun_setup_recipe(r, device, spec, n, host_batches, NULL);
}

/* Two epochs (lr decay, Adam's t, a train subsample and the val set on the device) from the
 * device's copy of the data, recorded once and replayed, give the host path's losses and
 * accuracies exactly, and the cpu's within float tolerance. */
static void device_path_matches_host_path(const char *spec)
{
    DevRun r[3];
    devrun_setup(&r[0], "cuda", spec, 30, 0);
    devrun_setup(&r[1], "cuda", spec, 30, 1);
    devrun_setup(&r[2], "cpu", spec, 30, 0);
    for (int k = 0; k < 3; k++) CU_ASSERT_FATAL(solver_train(&r[k].s) == NNDL_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r[0].s.dev);
    CU_ASSERT_PTR_NULL(r[1].s.dev);
    CU_ASSERT_PTR_NULL(r[2].s.dev); /* the cpu backend has no device copy to make */
    CU_ASSERT_EQUAL(r[0].s.dev->train.ex.u8, 1);
    CU_ASSERT_EQUAL(r[0].s.dev->graphs_recorded, 1);
    CU_ASSERT_EQUAL(r[0].s.loss.n, 6);
    CU_ASSERT(same_history(&r[0].s.loss, &r[1].s.loss));
    CU_ASSERT(same_history(&r[0].s.train_acc, &r[1].s.train_acc));
    CU_ASSERT(same_history(&r[0].s.val_acc, &r[1].s.val_acc));
    CU_ASSERT_EQUAL(r[0].s.opt[0].t, 6);
    for (int i = 0; i < r[0].s.loss.n; i++)
        ASSERT_BELOW(fabs(r[0].s.loss.v[i] - r[2].s.loss.v[i]) / r[2].s.loss.v[i], 1e-5, "device path vs cpu loss");
    for (int k = 0; k < 3; k++) device_run_free(&r[k]);
}

/* The seed's kind of net, and residual blocks, whose skip copies are recorded in the step's
 * graph (a synchronous copy there made every residual net fail on the device path). */
static void test_device_path_matches_host_path(void)
{
    device_path_matches_host_path("conv4x3-bn-relu-pool2-affine8-bn-relu-affine10");
    device_path_matches_host_path("conv4x3-bn-relu-res[conv4x3-bn-relu]-res(proj)[conv6x3(stride=2)-relu]-gap-affine10");
}

/* After setup (the first step records the graph), a step copies nothing between host and
 * device, allocates nothing, synchronises nothing and is one graph launch, with no kernel
 * launch or cuBLAS call of the host's; the losses then come back in one copy. */
static void test_device_step_costs(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return;
    DevRun r;
    devrun_setup(&r, "cuda", "conv4x3-bn-relu-pool2-affine8-bn-relu-affine10", 40, 0);
    CU_ASSERT_FATAL(solver_epoch_begin(&r.s) == NNDL_OK);
    CU_ASSERT_FATAL(solver_epoch_step(&r.s, 0) == NNDL_OK);
    kc_reset_counters();
    for (int b = 1; b < 4; b++) CU_ASSERT(solver_epoch_step(&r.s, b) == NNDL_OK);
    kc_counters(&c);
    assert_replayed_steps_cost_nothing(&c, 3);
    kc_reset_counters();
    CU_ASSERT(solver_read_losses(&r.s) == NNDL_OK);
    kc_counters(&c);
    CU_ASSERT_EQUAL(c.d2h, 1);
    CU_ASSERT_EQUAL(c.d2h_bytes, 4 * sizeof(double));
    CU_ASSERT_EQUAL(r.s.loss.n, 4);
    device_run_free(&r);
}

/* A short last minibatch records a second graph for its size; the steps still give the host
 * path's losses. A model with dropout (masks of the step number, read on the device) is recorded
 * and replayed alike, with the host path's losses too. */
static void test_device_recapture_and_dropout(void)
{
    const char *specs[2] = {"conv4x3-relu-pool2-affine10", "affine12-relu-dropout0.7-affine10"};
    for (int k = 0; k < 2; k++) {
        DevRun r[2];
        for (int h = 0; h < 2; h++) {
            devrun_setup(&r[h], "cuda", specs[k], 25, h);
            CU_ASSERT_FATAL(solver_epoch_begin(&r[h].s) == NNDL_OK);
            for (int b = 0; b < 3; b++) { /* 10, 10 and 5 examples */
                CU_ASSERT_FATAL(solver_epoch_step(&r[h].s, b) == NNDL_OK);
                r[h].s.iteration++;
            }
            CU_ASSERT(solver_read_losses(&r[h].s) == NNDL_OK);
        }
        CU_ASSERT_EQUAL(r[0].s.dev->use_graph, 1);
        CU_ASSERT_EQUAL(r[0].s.dev->graphs_recorded, 2);
        CU_ASSERT_EQUAL(r[0].s.dev->graph_n, 5);
        CU_ASSERT(same_history(&r[0].s.loss, &r[1].s.loss));
        CU_ASSERT_EQUAL(r[0].s.loss.n, 3);
        ASSERT_ERROR_MENTIONS(solver_epoch_step(&r[0].s, 3), "past the epoch's 25 examples");
        for (int h = 0; h < 2; h++) device_run_free(&r[h]);
    }
}

/* Small models with each feature of the training recipe that the device path runs. */
static const struct {
    const char *name, *spec;
    DevRecipe recipe;
} recipe_cases[] = {
    {"flip, crop 2 reflect", "conv4x3-bn-relu-pool2-affine10",
     {.augment = {.flip = 1, .pad = 2, .pad_mode = PAD_REFLECT}}},
    {"crop 1 zero, cutout 3", "conv4x3-bn-relu-pool2-affine10", {.augment = {.pad = 1, .pad_mode = PAD_ZERO, .cutout = 3}}},
    {"tta 2", "conv4x3-bn-relu-pool2-affine10", {.tta = 2}},
    {"dropout", "conv4x3-relu-pool2-affine12-relu-dropout0.6-affine10", {.tta = 0}},
    {"dropout, flip, crop 1, cutout 2, tta 1", "conv4x3-relu-pool2-affine12-relu-dropout0.6-affine10",
     {.augment = {.flip = 1, .pad = 1, .pad_mode = PAD_REFLECT, .cutout = 2}, .tta = 1}},
};

/* Each feature on the device path (two epochs: the draws of the second differ; one recording
 * replayed across the epoch boundary) gives the host path's losses, accuracies and parameters
 * exactly, and the cpu's losses within float tolerance. */
static void test_device_recipe_matches_host_path(void)
{
    for (size_t k = 0; k < sizeof recipe_cases / sizeof *recipe_cases; k++) {
        DevRun r[3];
        const char *devices[3] = {"cuda", "cuda", "cpu"};
        for (int h = 0; h < 3; h++) {
            devrun_setup_recipe(&r[h], devices[h], recipe_cases[k].spec, 30, h == 1, &recipe_cases[k].recipe);
            CU_ASSERT_FATAL(solver_train(&r[h].s) == NNDL_OK);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(r[0].s.dev);
        CU_ASSERT_PTR_NULL(r[1].s.dev);
        CU_ASSERT_EQUAL(r[0].s.dev->graphs_recorded, 1);
        CU_ASSERT_EQUAL(r[0].s.loss.n, 6);
        int same = same_history(&r[0].s.loss, &r[1].s.loss) && same_history(&r[0].s.train_acc, &r[1].s.train_acc) &&
                   same_history(&r[0].s.val_acc, &r[1].s.val_acc);
        size_t n = model_state_size(&r[0].m);
        float *p[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
        for (int h = 0; h < 2; h++) model_state_save(&r[h].m, p[h]);
        same &= memcmp(p[0], p[1], n * sizeof(float)) == 0;
        if (!same) fprintf(stderr, "\n  device path != host path with %s\n", recipe_cases[k].name);
        CU_ASSERT(same);
        for (int i = 0; i < r[0].s.loss.n; i++)
            ASSERT_BELOW(fabs(r[0].s.loss.v[i] - r[2].s.loss.v[i]) / r[2].s.loss.v[i], 1e-5, "device path vs cpu loss");
        free(p[0]), free(p[1]);
        for (int h = 0; h < 3; h++) device_run_free(&r[h]);
    }
}

/* With each feature, a step after setup, in the first epoch and the next, copies nothing,
 * allocates nothing, synchronises nothing and is one graph launch; an accuracy check with
 * test-time views brings back only the count. */
static void test_device_recipe_step_costs(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return;
    for (size_t k = 0; k < sizeof recipe_cases / sizeof *recipe_cases; k++) {
        DevRun r;
        devrun_setup_recipe(&r, "cuda", recipe_cases[k].spec, 40, 0, &recipe_cases[k].recipe);
        for (int e = 0; e < 2; e++, r.s.epoch++) {
            CU_ASSERT_FATAL(solver_epoch_begin(&r.s) == NNDL_OK);
            CU_ASSERT_FATAL(solver_epoch_step(&r.s, 0) == NNDL_OK);
            r.s.iteration++;
            kc_reset_counters();
            for (int b = 1; b < 4; b++, r.s.iteration++) CU_ASSERT(solver_epoch_step(&r.s, b) == NNDL_OK);
            kc_counters(&c);
            assert_replayed_steps_cost_nothing(&c, 3);
        }
        CU_ASSERT_EQUAL(r.s.dev->graphs_recorded, 1);
        kc_reset_counters();
        CU_ASSERT(solver_check_accuracy(&r.s, &r.val, 0) >= 0);
        kc_counters(&c);
        CU_ASSERT_EQUAL(c.h2d_bytes, 0);
        CU_ASSERT_EQUAL(c.d2h_bytes, sizeof(int));
        CU_ASSERT_EQUAL(c.allocs, 0);
        CU_ASSERT(solver_read_losses(&r.s) == NNDL_OK);
        CU_ASSERT_EQUAL(r.s.loss.n, 8);
        device_run_free(&r);
    }
}

/* Test-time views on the device: the count of an accuracy check is the host's (model_count_correct)
 * at every level, and the views change it (so the check tells a device check without them). */
static void test_device_tta_counts(void)
{
    DevRun r;
    devrun_setup_recipe(&r, "cuda", "conv4x3-relu-pool2-affine10", 200, 0, &(DevRecipe){.tta = 2});
    CU_ASSERT_FATAL(solver_epoch_begin(&r.s) == NNDL_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.s.dev);
    int counts[3];
    for (int tta = 0; tta <= 2; tta++) {
        r.m.tta = tta;
        counts[tta] = solver_device_correct(&r.s, &r.train, NULL, r.train.n);
        CU_ASSERT_EQUAL(counts[tta], model_count_correct(&r.m, r.train.x, r.train.y, r.train.n));
    }
    CU_ASSERT(counts[1] != counts[0] && counts[2] != counts[0]);
    device_run_free(&r);
}

/* A device that cannot hold the data: the device copy's allocations fail, what was allocated is
 * freed, and training goes on from the host's copy with the host path's losses. */
static const Backend *real_cuda;
static int refuse_allocs;
static void *refusing_alloc(const Backend *be, size_t bytes)
{
    (void)be;
    return refuse_allocs ? NULL : real_cuda->alloc(real_cuda, bytes);
}

static void test_device_data_too_large_falls_back(void)
{
    DevRun r[2];
    const char *spec = "conv4x3-relu-pool2-affine10";
    devrun_setup(&r[1], "cuda", spec, 20, 1);
    float val_mean[192];
    make_byte_dataset(&r[0].train, r[0].mean, 20, 21);
    make_byte_dataset(&r[0].val, val_mean, 7, 22);
    CU_ASSERT_FATAL((r[0].be = backend_create("cuda")) != NULL);
    Backend wrapped = *r[0].be;
    wrapped.alloc = refusing_alloc;
    real_cuda = r[0].be, refuse_allocs = 0;
    CU_ASSERT_FATAL(model_init(&r[0].m, &wrapped, spec, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX, 9, 10) == NNDL_OK);
    SolverConfig cfg = r[1].s.cfg;
    cfg.host_batches = 0, cfg.verbose = 1, cfg.out = tmpfile();
    CU_ASSERT_FATAL(solver_init(&r[0].s, &r[0].m, &r[0].train, &r[0].val, &cfg) == NNDL_OK);
    r[0].s.input_mean = r[0].mean;
    KcCounters before, after;
    int counted = kc_counters(&before) == 0;
    refuse_allocs = 1;
    CU_ASSERT(solver_train(&r[0].s) == NNDL_OK);
    refuse_allocs = 0;
    CU_ASSERT_PTR_NULL(r[0].s.dev);
    CU_ASSERT_EQUAL(r[0].s.cfg.host_batches, 1);
    if (counted) {
        kc_counters(&after);
        CU_ASSERT_EQUAL(after.allocs - before.allocs, after.frees - before.frees); /* nothing left behind */
    }
    CU_ASSERT(solver_train(&r[1].s) == NNDL_OK);
    CU_ASSERT(same_history(&r[0].s.loss, &r[1].s.loss));
    char line[256] = "";
    rewind(cfg.out);
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, cfg.out));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "minibatches are copied from the host instead"));
    fclose(cfg.out);
    solver_free(&r[0].s);
    model_free(&r[0].m);
    backend_destroy(r[0].be);
    dataset_free(&r[0].train), dataset_free(&r[0].val);
    device_run_free(&r[1]);
}

/* --precision tf32: the matrix products round their inputs to TF32 (emulated on the SIMT host),
 * so a model's gradients move away from the cpu's by about 1e-3 but no further; fp32 again gives
 * the 1e-4 agreement. */
static void test_tf32_precision(void)
{
    const char *spec = "conv8x3-relu-pool2-affine20-relu-affine10";
    const int N = 6;
    Backend *tf = backend_create("cuda");
    CU_ASSERT_FATAL(tf != NULL && tf->set_precision != NULL);
    Model m[2];
    CU_ASSERT_FATAL(model_init(&m[0], cpu, spec, 3, 12, 12, 5e-2f, 0, LOSS_SOFTMAX, 17, N) == NNDL_OK);
    CU_ASSERT_FATAL(model_init(&m[1], tf, spec, 3, 12, 12, 5e-2f, 0, LOSS_SOFTMAX, 17, N) == NNDL_OK);
    Rng r;
    rng_seed(&r, 4);
    float X[6 * 3 * 12 * 12];
    for (size_t i = 0; i < sizeof X / sizeof *X; i++) X[i] = (float)rng_gaussian(&r);
    int y[6] = {1, 7, 3, 3, 0, 9};
    for (int p = 0; p < 2; p++) {
        CU_ASSERT_FATAL(tf->set_precision(tf, p ? PRECISION_FP32 : PRECISION_TF32) == NNDL_OK);
        model_loss(&m[0], X, y, N, 0);
        model_loss(&m[1], X, y, N, 0);
        double worst = 0;
        for (int i = 0; i < m[0].n_params; i++)
            worst = fmax(worst, max_diff(tf, m[1].params[i].dw, cpu, m[0].params[i].dw, m[0].params[i].n));
        if (p == 0) {
            CU_ASSERT(worst > 1e-6); /* the rounding is there */
            ASSERT_BELOW(worst, 1e-2, "tf32 gradients vs cpu");
        } else {
            ASSERT_BELOW(worst, 1e-4, "fp32 gradients vs cpu");
        }
    }
    model_free(&m[0]), model_free(&m[1]);
    backend_destroy(tf);
}

/* The conv ops cut the batch into chunks that fit the workspace budget: with one image per chunk,
 * and with two (batches of 5 leave a short last chunk), every conv case of the op checks still
 * matches the double reference (forward, dx, dW accumulated over the chunks, db). */
static void test_conv_in_chunks(void)
{
    const OpCheck *conv = op_check_find("conv");
    CU_ASSERT_FATAL(conv != NULL);
    size_t budgets[2] = {1, 1800}; /* x(5,3,13,13) w(7,3,4,4) s3: 768 + 112 floats per image */
    for (int k = 0; k < 2; k++) {
        Backend *be = backend_create("cuda");
        CU_ASSERT_FATAL(be != NULL);
        CU_ASSERT_EQUAL_FATAL(cuda_conv_set_engine(be, 0), NNDL_OK); /* the chunks are the im2col engine's */
        cuda_conv_set_chunk_floats(be, budgets[k]);
        CheckRun run = {.be = be};
        conv->run(&run);
        CU_ASSERT(run.rows >= 40);
        CU_ASSERT_EQUAL(run.failed, 0);
        backend_destroy(be);
    }
}

/* Both conv engines match the double reference on every conv case of the op checks: im2col +
 * cuBLAS everywhere, and cuDNN in CUDA=1 builds that have it (deterministic algorithms, FMA math
 * in fp32); a build without cuDNN refuses it with a message that says so. */
static void test_conv_engines(void)
{
    const OpCheck *conv = op_check_find("conv");
    CU_ASSERT_FATAL(conv != NULL);
    for (int cudnn = 0; cudnn <= 1; cudnn++) {
        Backend *be = backend_create("cuda");
        CU_ASSERT_FATAL(be != NULL);
        if (cuda_conv_set_engine(be, cudnn) != NNDL_OK) {
            CU_ASSERT(cudnn == 1 && strstr(nndl_last_error(), "has no cuDNN") != NULL);
            backend_destroy(be);
            continue;
        }
        CheckRun run = {.be = be};
        conv->run(&run);
        CU_ASSERT(run.rows >= 40);
        CU_ASSERT_EQUAL(run.failed, 0);
        backend_destroy(be);
    }
}

/* Without a device, creating the cuda backend fails with the runtime's reason, the same words
 * on every call (not a generic second-time message), and auto falls back to the cpu with it. */
static void test_no_device_reason_kept(void)
{
    if (kc_set_device_count(-1) != 0) return; /* a GPU: cannot pretend it is absent */
    char first[512];
    CU_ASSERT_PTR_NULL(backend_create("cuda"));
    snprintf(first, sizeof first, "%s", nndl_last_error());
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "no CUDA-capable device"));
    CU_ASSERT_PTR_NULL(backend_create("cuda"));
    CU_ASSERT_STRING_EQUAL(nndl_last_error(), first);
    const char *note = NULL;
    Backend *be = backend_create_auto(&note);
    CU_ASSERT_FATAL(be != NULL);
    CU_ASSERT_STRING_EQUAL(be->name, "cpu");
    CU_ASSERT_PTR_NOT_NULL(note);
    if (note) CU_ASSERT_STRING_EQUAL(note, first);
    backend_destroy(be);
    kc_set_device_count(1);
    be = backend_create("cuda");
    CU_ASSERT_PTR_NOT_NULL(be);
    backend_destroy(be);
}

void register_cuda_backend_suite(void)
{
    register_backend_checks("cuda backend vs reference", "cuda");
    if (!test_backend("cuda")) return; /* reported by register_backend_checks */
    static const CU_TestInfo tests[] = {
        {"update rules: cuda vs cpu", test_update_rules_match_cpu},
        {"seed's batchnorm CNN: cuda vs cpu (loss, gradients, steps, scores)", test_model_matches_cpu},
        {"residual nets of every new layer kind: cuda vs cpu", test_new_layers_match_cpu},
        {"a training step: no device-to-host copy, no allocation (SIMT counters)", test_step_stays_on_device},
        {"solver_train: one loss read-back per printed line (SIMT counters)", test_one_read_back_per_loss_line},
        {"the flat update: one launch per step, parameters as the cpu's; a profiled step", test_flat_update_one_launch},
        {"device data: the gathered batch is the host's, bytes or floats", test_device_batch_is_host_batch},
        {"device data: an upload in chunks, bytes or floats, every row", test_device_upload_in_chunks},
        {"device path (graph replay, device accuracy) = host path, ~ cpu", test_device_path_matches_host_path},
        {"device step after setup: no copy, allocation or sync; one graph launch", test_device_step_costs},
        {"short last batch re-recorded, a dropout model too; both = host path", test_device_recapture_and_dropout},
        {"device path with augmentation, tta, dropout = host path, ~ cpu", test_device_recipe_matches_host_path},
        {"device recipe step: no copy, allocation or sync; one graph launch", test_device_recipe_step_costs},
        {"device accuracy with test-time views = host count, views matter", test_device_tta_counts},
        {"device data too large: freed, host path, same losses", test_device_data_too_large_falls_back},
        {"conv in chunks of 1 and 2 images (short last chunk) vs reference", test_conv_in_chunks},
        {"conv engines (im2col; cuDNN where built) vs reference", test_conv_engines},
        {"tf32 precision: gradients within 1e-2 of cpu, fp32 within 1e-4", test_tf32_precision},
        {"no device: the same reason on every call, auto falls back", test_no_device_reason_kept},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("cuda vs cpu", init, NULL);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
