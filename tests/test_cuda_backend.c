/* test_cuda_backend.c — the cuda backend (on a GPU, or its kernels on the SIMT host): every op
 * against the double reference, the update rules and a whole model against the cpu backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_checks.h"
#include "error.h"
#include "model.h"
#include "test_util.h"

static const Backend *cpu, *gpu;

static int init(void)
{
    cpu = backend_get("cpu");
    gpu = backend_get("cuda");
    return !(cpu && gpu);
}

static float *dev_copy(const Backend *be, const float *h, size_t n)
{
    float *d = be->alloc(n * sizeof *d);
    be->to_device(d, h, n * sizeof *d);
    return d;
}

static double max_diff(const Backend *a, const float *da, const Backend *b, const float *db, size_t n)
{
    float *ha = malloc(n * sizeof *ha), *hb = malloc(n * sizeof *hb);
    a->to_host(ha, da, n * sizeof *ha);
    b->to_host(hb, db, n * sizeof *hb);
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
            for (int a = 0; a < 4; a++) be[k]->release(dev[k][a]);
    }
    free(w), free(dw), free(z);
}

/* The seed's batchnorm CNN (small) on both devices from the same seed: same initial weights by
 * design, then the same loss, gradients and a few Adam steps within float tolerance. */
static void test_model_matches_cpu(void)
{
    const char *spec = "conv8x3-bn-relu-pool2-affine20-bn-relu-dropout0.8-affine10";
    const int N = 6;
    Model m[2];
    const Backend *be[2] = {cpu, gpu};
    for (int k = 0; k < 2; k++)
        CU_ASSERT_FATAL(model_init(&m[k], be[k], spec, 3, 12, 12, 5e-2f, 1e-3f, LOSS_SOFTMAX, 17, N) == NNDL_OK);
    Rng r;
    rng_seed(&r, 4);
    size_t nx = (size_t)N * 3 * 12 * 12;
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

void register_cuda_backend_suite(void)
{
    register_backend_checks("cuda backend vs reference", "cuda");
    if (!backend_get("cuda")) return; /* reported by register_backend_checks */
    static const CU_TestInfo tests[] = {
        {"update rules: cuda vs cpu", test_update_rules_match_cpu},
        {"seed's batchnorm CNN: cuda vs cpu (loss, gradients, steps, scores)", test_model_matches_cpu},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("cuda vs cpu", init, NULL);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
