/* test_whiten.c — the starts of airbench94's convolutions and what keeps them: conv(whiten)
 * (the eigen-decomposition against its definition, the filters decorrelating the very patches
 * they were made from, applied by the C API's first nndl_train), conv(dirac), conv(frozen)
 * filters that no step moves on the cpu, the cuda host-batch path and the cuda device path, the
 * spec's refusals; and the moving average that ends a run without a validation set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cifar10.h"
#include "device_run.h"
#include "error.h"
#include "model.h"
#include "nndl.h"
#include "safetensors.h"
#include "solver.h"
#include "test_util.h"
#include "whiten.h"

/* ---- the eigen-decomposition ---------------------------------------------------------------- */

/* A v_j = lambda_j v_j, V^T V = I, eigenvalues in descending order, each vector's largest entry
 * positive: on a random symmetric 12 x 12 matrix (airbench's 2x2 patches of 3 channels). */
static void test_sym_eigen_definition(void)
{
    enum { D = 12 };
    double a[D * D], work[D * D], v[D * D], lambda[D], norm = 0;
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < D; i++)
        for (int j = 0; j <= i; j++) a[i * D + j] = a[j * D + i] = rng_gaussian(&r);
    for (int i = 0; i < D * D; i++) norm = fmax(norm, fabs(a[i]));
    memcpy(work, a, sizeof a);
    whiten_sym_eigen(work, D, lambda, v);
    double residual = 0, orthogonality = 0;
    for (int j = 0; j < D; j++) {
        for (int i = 0; i < D; i++) {
            double av = 0;
            for (int k = 0; k < D; k++) av += a[i * D + k] * v[k * D + j];
            residual = fmax(residual, fabs(av - lambda[j] * v[i * D + j]));
        }
        for (int k = 0; k < D; k++) {
            double dot = 0;
            for (int i = 0; i < D; i++) dot += v[i * D + j] * v[i * D + k];
            orthogonality = fmax(orthogonality, fabs(dot - (j == k)));
        }
        if (j > 0) CU_ASSERT(lambda[j] <= lambda[j - 1]);
        int big = 0;
        for (int i = 1; i < D; i++)
            if (fabs(v[i * D + j]) > fabs(v[big * D + j])) big = i;
        CU_ASSERT(v[big * D + j] > 0);
    }
    ASSERT_BELOW(residual / norm, 1e-12, "|A v - lambda v| / max |A|");
    ASSERT_BELOW(orthogonality, 1e-12, "|V^T V - I|");
}

/* ---- the whitening filters ------------------------------------------------------------------ */

/* n images of 3 x 9 x 9 whose neighbouring pixels and channels are correlated (each pixel a
 * running sum along its row plus a share of the previous channel), so the patch covariance is
 * far from the identity. */
static void make_correlated_images(Dataset *d, int n)
{
    CU_ASSERT_FATAL(dataset_alloc(d, n, 3, 9, 9) == NNDL_OK);
    Rng r;
    rng_seed(&r, 77);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 9; y++)
                for (int x = 0; x < 9; x++) {
                    float *p = d->x + (((size_t)i * 3 + c) * 9 + y) * 9 + x;
                    *p = (float)(10 * rng_gaussian(&r) + 5) + (x ? 0.8f * p[-1] : 0) + (c ? 0.5f * p[-81] : 0);
                }
    for (int i = 0; i < n; i++) d->y[i] = i % 10;
}

/* On the patches they were made from, the filters' outputs (computed here in double from the
 * float filters) are uncorrelated with variance lambda / (lambda + eps); the second half is the
 * first negated. */
static void test_whiten_filters_decorrelate_their_patches(void)
{
    enum { N = 30, K = 2, D = 3 * K * K };
    Dataset d;
    make_correlated_images(&d, N);
    float w[2 * D * D];
    double lambda[D];
    CU_ASSERT_FATAL(whiten_filters(w, lambda, &d, N, K) == NNDL_OK);
    for (int i = 0; i < D * D; i++) CU_ASSERT(w[D * D + i] == -w[i]);
    double mean_lambda = 0;
    for (int f = 0; f < D; f++) mean_lambda += lambda[f] / D;
    CU_ASSERT(lambda[0] > 20 * lambda[D - 1]); /* the data is far from white */
    /* y = W x over every patch, centred: its covariance */
    double sum[D] = {0}, sum2[D][D] = {{0}};
    long count = 0;
    for (int i = 0; i < N; i++)
        for (int oy = 0; oy + K <= 9; oy++)
            for (int ox = 0; ox + K <= 9; ox++, count++) {
                double y[D];
                for (int f = 0; f < D; f++) {
                    y[f] = 0;
                    for (int c = 0; c < 3; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++)
                                y[f] += (double)w[f * D + (c * K + ky) * K + kx] *
                                        d.x[(((size_t)i * 3 + c) * 9 + oy + ky) * 9 + ox + kx];
                }
                for (int f = 0; f < D; f++) {
                    sum[f] += y[f];
                    for (int g = 0; g < D; g++) sum2[f][g] += y[f] * y[g];
                }
            }
    double off = 0, diag = 0;
    for (int f = 0; f < D; f++)
        for (int g = 0; g < D; g++) {
            double cov = (sum2[f][g] - sum[f] * sum[g] / count) / (count - 1);
            if (f != g) off = fmax(off, fabs(cov));
            else diag = fmax(diag, fabs(cov - lambda[f] / (lambda[f] + WHITEN_EPS_SHARE * mean_lambda)));
        }
    ASSERT_BELOW(off, 1e-4, "covariance of the outputs, off the diagonal");
    ASSERT_BELOW(diag, 1e-4, "variance of an output - lambda / (lambda + eps)");
    dataset_free(&d);
}

/* ---- the spec ------------------------------------------------------------------------------- */

static void test_spec_options_and_refusals(void)
{
    const Backend *be = test_backend("cpu");
    Model m;
    CU_ASSERT_FATAL(model_init(&m, be, "conv24x2(pad=0,whiten,frozen)-gelu-conv8x3(nobias,dirac)-gmp-affine10", 3, 8,
                               8, 1e-3f, 0, LOSS_SOFTMAX, 0, 4) == NNDL_OK);
    CU_ASSERT_STRING_EQUAL(m.spec, "conv24x2(frozen,whiten)-gelu-conv8x3(nobias,dirac)-gmp-affine10");
    CU_ASSERT(m.params[0].frozen && !m.params[1].frozen); /* W1 fixed, b1 trains */
    for (int i = 2; i < m.n_params; i++) CU_ASSERT(!m.params[i].frozen);
    model_free(&m);
    struct { const char *spec; int side; const char *says; } refused[] = {
        {"conv8x3-conv144x2(whiten)-affine10", 8, "whiten is for the first layer"},
        {"conv16x2(whiten)-affine10", 8, "2 x C x K x K = 24 filters"},
        {"conv486x9(whiten)-affine10", 16, "eigenproblem's limit"},
        {"conv8x2(dirac)-affine10", 8, "odd filter size"},
        {"conv54x3(whiten,dirac)-affine10", 8, "choose one"},
        {"conv8x3(frozen=1)-affine10", 8, "frozen"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        ASSERT_ERROR_MENTIONS(model_init(&m, be, refused[i].spec, 3, refused[i].side, refused[i].side, 1e-3f, 0,
                                         LOSS_SOFTMAX, 0, 4),
                              refused[i].says);
}

/* conv6x3(dirac) on 4 channels: filters 0-3 are the identity at the centre tap, exactly; filters
 * 4 and 5 keep their random start. */
static float *download_param(const Model *m, int i)
{
    float *w = malloc(m->params[i].n * sizeof *w);
    m->be->to_host(m->be, w, m->params[i].w, m->params[i].n * sizeof *w);
    return w;
}

static void test_dirac_start(void)
{
    const Backend *be = test_backend("cpu");
    Model m;
    CU_ASSERT_FATAL(model_init(&m, be, "conv6x3(dirac)-affine10", 4, 6, 6, 1e-1f, 0, LOSS_SOFTMAX, 2, 4) == NNDL_OK);
    float w[6 * 4 * 9];
    be->to_host(be, w, m.params[0].w, sizeof w);
    for (int f = 0; f < 4; f++)
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 9; k++) CU_ASSERT(w[(f * 4 + c) * 9 + k] == (f == c && k == 4 ? 1.0f : 0.0f));
    int random = 0;
    for (int i = 4 * 36; i < 6 * 36; i++) random += w[i] != 0;
    CU_ASSERT(random == 2 * 36);
    model_free(&m);
}

/* The L2 penalty leaves frozen filters out (constants): the loss with reg minus the loss without
 * is 0.5 reg sum(W^2) over the other weights, summed here in double. */
static void test_l2_penalty_skips_frozen_filters(void)
{
    const Backend *be = test_backend("cpu");
    Dataset d;
    make_random_dataset(&d, 6, 3, 8, 8, 91);
    Model m;
    CU_ASSERT_FATAL(model_init(&m, be, "conv24x2(whiten,frozen)-relu-conv4x3-relu-affine10", 3, 8, 8, 1e-1f, 0,
                               LOSS_SOFTMAX, 5, 6) == NNDL_OK);
    double plain = model_loss(&m, d.x, d.y, 6, 0), sum = 0;
    for (int i = 0; i < m.n_params; i++) {
        if (!m.params[i].is_weight || m.params[i].frozen) continue;
        float *w = download_param(&m, i);
        for (size_t k = 0; k < m.params[i].n; k++) sum += (double)w[k] * w[k];
        free(w);
    }
    m.reg = 0.5f;
    double penalised = model_loss(&m, d.x, d.y, 6, 0);
    ASSERT_BELOW(fabs(penalised - plain - 0.25 * sum) / (0.25 * sum), 1e-5, "L2 term - 0.5 reg sum(W^2) without W1");
    model_free(&m);
    dataset_free(&d);
}

/* ---- frozen filters on every path ----------------------------------------------------------- */

#define FROZEN_SPEC "conv24x2(whiten,frozen)-gelu-conv8x3(nobias,dirac)-bn(noscale)-relu-pool2-affine10"

/* After each epoch: whether the live W1 (not the average the evaluations see, nor a best state)
 * is still the start it was given. */
typedef struct FrozenWatch {
    const float *start;
    int epochs, moved;
} FrozenWatch;

static int watch_frozen(const Solver *s, void *ctx)
{
    FrozenWatch *f = ctx;
    const Param *p = &s->model->params[0];
    float *w = malloc(p->n * sizeof *w);
    s->model->be->to_host(s->model->be, w, p->w, p->n * sizeof *w);
    f->epochs++, f->moved += memcmp(w, f->start, p->n * sizeof *w) != 0;
    free(w);
    return NNDL_OK;
}

/* Two epochs of the whole recipe (the rule, decoupled decay, nonweight factor, onecycle, the
 * average, L2) from whitened filters, on a backend of its own. */
static void frozen_run_start(DeviceRun *r, const char *device, int host_batches, UpdateRule rule, FrozenWatch *watch)
{
    make_random_dataset(&r->train, 30, 3, 8, 8, 61);
    make_random_dataset(&r->val, 7, 3, 8, 8, 62);
    CU_ASSERT_FATAL((r->be = backend_create(device)) != NULL);
    CU_ASSERT_FATAL(model_init(&r->m, r->be, FROZEN_SPEC, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX, 9, 10) == NNDL_OK);
    CU_ASSERT_FATAL(model_whiten(&r->m, &r->train, WHITEN_IMAGES) == NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(rule);
    cfg.optim.weight_decay = 0.5f, cfg.nonweight_lr_mult = 4, cfg.ema = 0.8f;
    cfg.schedule = (Schedule){.kind = SCHEDULE_ONECYCLE, .warmup_epochs = 0.5f, .warmup_start = 0.1f, .final = 0.05f,
                              .step_epochs = 1, .gamma = 1};
    cfg.batch_size = 10, cfg.num_epochs = 2, cfg.verbose = 0, cfg.num_train_samples = 6, cfg.seed = 8;
    cfg.host_batches = host_batches, cfg.on_epoch = watch_frozen, cfg.on_epoch_ctx = watch;
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->train, &r->val, &cfg) == NNDL_OK);
}

static float *download(const DeviceRun *r, int param) { return download_param(&r->m, param); }

/* One rule on the cpu, the cuda host-batch path and the cuda device path (below). */
static void frozen_filters_on_every_path(UpdateRule rule)
{
    const char *device[3] = {"cpu", "cuda", "cuda"};
    int host_batches[3] = {0, 1, 0};
    DeviceRun r[3];
    Dataset d;
    make_random_dataset(&d, 30, 3, 8, 8, 61);
    float expected[24 * 12];
    CU_ASSERT_FATAL(whiten_filters(expected, NULL, &d, WHITEN_IMAGES, 2) == NNDL_OK);
    dataset_free(&d);
    for (int k = 0; k < 3; k++) {
        FrozenWatch watch = {.start = expected};
        frozen_run_start(&r[k], device[k], host_batches[k], rule, &watch);
        float **before = malloc((size_t)r[k].m.n_params * sizeof *before);
        for (int i = 0; i < r[k].m.n_params; i++) before[i] = download(&r[k], i);
        CU_ASSERT(memcmp(before[0], expected, sizeof expected) == 0);
        CU_ASSERT_FATAL(solver_train(&r[k].s) == NNDL_OK);
        CU_ASSERT(watch.epochs == 2 && watch.moved == 0);
        for (int i = 0; i < r[k].m.n_params; i++) {
            float *after = download(&r[k], i);
            int same = memcmp(after, before[i], r[k].m.params[i].n * sizeof *after) == 0;
            if (i == 0) {
                CU_ASSERT(same);
            } else {
                if (same) fprintf(stderr, "\n%s: %s did not move\n", device[k], r[k].m.params[i].name);
                CU_ASSERT(!same);
            }
            free(after), free(before[i]);
        }
        free(before);
    }
    CU_ASSERT_PTR_NULL(r[0].s.dev);
    CU_ASSERT_PTR_NULL(r[1].s.dev);
    CU_ASSERT_PTR_NOT_NULL(r[2].s.dev); /* the recorded, replayed step */
    CU_ASSERT(same_history(&r[1].s.loss, &r[2].s.loss));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < r[k].m.n_params; i++) CU_ASSERT(r[k].s.opt[i].t == r[0].s.opt[0].t);
    for (int i = 0; i < r[0].s.loss.n; i++)
        ASSERT_BELOW(fabs(r[2].s.loss.v[i] - r[0].s.loss.v[i]) / r[0].s.loss.v[i], 1e-4, "cuda loss - cpu loss");
    for (int k = 0; k < 3; k++) device_run_free(&r[k]);
}

/* Under Nesterov momentum and Adam, the whitened W1 (the filters whiten_filters makes from the
 * same images) stays bit for bit as it went in, after every epoch and at the end, while every
 * other parameter moved; every parameter's Adam step count stays in step (the device path reads
 * one); the device path's losses are the host-batch path's, the cpu's within float tolerance. */
static void test_frozen_filters_on_every_path(void)
{
    UpdateRule rules[2] = {UPDATE_SGD_NESTEROV_MOMENTUM, UPDATE_ADAM};
    for (int k = 0; k < 2; k++) frozen_filters_on_every_path(rules[k]);
}

/* The C API whitens at the first nndl_train of a new model: the saved W1 is whiten_filters' of
 * the training images, after an epoch (frozen). */
static void test_api_whitens_at_the_first_train(void)
{
    enum { N = 40 };
    char dir[64], path[128];
    CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_whiten") == 0);
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    Dataset d;
    make_random_dataset(&d, N, 3, 8, 8, 71);
    nndl_model *api = nndl_model_create("conv24x2(whiten,frozen)-relu-affine10", 3, 8, 8, "cpu", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(api);
    nndl_train_options o;
    nndl_train_options_init(&o);
    o.epochs = 1, o.batch_size = 10;
    CU_ASSERT_FATAL(nndl_train(api, d.x, d.y, N, NULL, NULL, 0, &o) == 0);
    CU_ASSERT_FATAL(nndl_model_save(api, path) == 0);
    nndl_model_free(api);
    Model m;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), "conv24x2(whiten,frozen)-relu-affine10", 3, 8, 8, 1e-3f, 0,
                               LOSS_SOFTMAX, 0, 4) == NNDL_OK);
    CU_ASSERT_FATAL(safetensors_load_model(&m, NULL, path) == NNDL_OK);
    float w[24 * 12], expected[24 * 12];
    m.be->to_host(m.be, w, m.params[0].w, sizeof w);
    CU_ASSERT_FATAL(whiten_filters(expected, NULL, &d, WHITEN_IMAGES, 2) == NNDL_OK);
    CU_ASSERT(memcmp(w, expected, sizeof w) == 0);
    model_free(&m);
    dataset_free(&d);
    remove_tree(dir);
}

/* ---- the average at the end of a run without validation ------------------------------------- */

/* With no validation set the final model is the moving average: the parameters hold the
 * averages' values, every array stays with its owner (freeing them all is clean: the Solver once
 * handed the model its own arrays, and freeing them aborted), and the evaluation sees them. */
static void test_final_average_without_validation(void)
{
    DeviceRun r = {0};
    make_random_dataset(&r.train, 30, 3, 8, 8, 81);
    CU_ASSERT_FATAL((r.be = backend_create("cpu")) != NULL);
    CU_ASSERT_FATAL(model_init(&r.m, r.be, "conv4x3-relu-pool2-affine10", 3, 8, 8, 5e-2f, 0, LOSS_SOFTMAX, 9, 10) ==
                    NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_SGD_MOMENTUM);
    cfg.batch_size = 10, cfg.num_epochs = 2, cfg.verbose = 0, cfg.ema = 0.8f;
    CU_ASSERT_FATAL(solver_init(&r.s, &r.m, &r.train, NULL, &cfg) == NNDL_OK);
    float *block = r.m.param_block;
    CU_ASSERT_FATAL(solver_train(&r.s) == NNDL_OK);
    for (int i = 0; i < r.m.n_params; i++) {
        size_t n = r.m.params[i].n;
        float *w = malloc(n * sizeof *w), *avg = malloc(n * sizeof *avg);
        r.be->to_host(r.be, w, r.m.params[i].w, n * sizeof *w);
        r.be->to_host(r.be, avg, r.s.ema_w[i], n * sizeof *avg);
        CU_ASSERT(memcmp(w, avg, n * sizeof *w) == 0);
        CU_ASSERT(r.m.params[i].w >= block && r.m.params[i].w < block + r.m.param_values);
        free(w), free(avg);
    }
    device_run_free(&r);
}

/* ---- through the program ----------------------------------------------------------------- */

/* A fresh run whitens (and, with the average and no validation set, exits 0: the bug above ended
 * it with an abort); resuming its checkpoint takes the saved filters and does not whiten again. */
static void test_program_whitens_fresh_runs_only(void)
{
    char dir[64], base[512], args[1024], out[8192];
    CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_whiten_cli") == 0);
    CU_ASSERT_FATAL(write_cifar_batch(dir, "data_batch_1.bin", 0,
                                      (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES) == 0);
    snprintf(base, sizeof base, "train --data %s --num-train 40 --num-val 0 --num-test 0 --batch-size 10 "
             "--print-every 0 --ema 0.9 --checkpoint %s/run", dir, dir);
    snprintf(args, sizeof args, "%s --epochs 1 --model 'conv24x2(whiten,frozen)-relu-pool2-affine10'", base);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    int said = strstr(out, "init: layer 1's filters whiten the 2x2 patches of the first 40 training images") != NULL;
    if (!said) fprintf(stderr, "\n%s\n", out);
    CU_ASSERT(said);
    snprintf(args, sizeof args, "%s --epochs 2 --resume %s/run_epoch_1.ckpt", base, dir);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    CU_ASSERT(strstr(out, "resumed from") != NULL);
    CU_ASSERT(strstr(out, "whiten the") == NULL);
    remove_tree(dir);
}

void register_whiten_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"symmetric eigen-decomposition: A v = lambda v, V orthonormal", test_sym_eigen_definition},
        {"whiten: the filters decorrelate the patches they came from", test_whiten_filters_decorrelate_their_patches},
        {"conv options whiten, frozen, dirac: spec and refusals", test_spec_options_and_refusals},
        {"conv(dirac): the identity on the first channels", test_dirac_start},
        {"L2 penalty: frozen filters left out", test_l2_penalty_skips_frozen_filters},
        {"C API: a new model whitens at its first nndl_train", test_api_whitens_at_the_first_train},
        {"moving average: the final model of a run without validation", test_final_average_without_validation},
        {"the program whitens fresh runs, not resumed ones", test_program_whitens_fresh_runs_only},
        CU_TEST_INFO_NULL};
    add_suite("whiten, dirac and frozen starts", tests);
    /* whole-model SIMT runs: a suite of its own, which `make asan` leaves out with the others
     * ("cuda device path"; its kernels run alone under the sanitizers in other suites) */
    static const CU_TestInfo device_tests[] = {
        {"conv(frozen): fixed on cpu, cuda host and cuda device paths", test_frozen_filters_on_every_path},
        CU_TEST_INFO_NULL};
    add_suite("cuda device path: frozen starts", device_tests);
}
