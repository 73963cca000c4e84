/* test_cuda_fused.c — the cuda backend's fused batchnorm + relu (+ max pool) (cuda/k_bn_relu.cu)
 * beyond the op check against the double reference (check/op_checks.c, run for every backend):
 * against the cpu backend's fused op with bn's options, against numeric gradients, inside model
 * steps against the double reference model, and what it saves in launches (SIMT counters). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/kernel_checks.h"
#include "error.h"
#include "gradcheck.h"
#include "model.h"
#include "model_check.h"
#include "test_util.h"

static const Backend *cpu, *gpu;

static int init(void)
{
    cpu = test_backend("cpu");
    gpu = test_backend("cuda");
    return !(cpu && gpu);
}

static float *up(const Backend *be, const float *h, size_t n)
{
    float *d = be->alloc(be, n * sizeof *d);
    be->to_device(be, d, h, n * sizeof *d);
    return d;
}

static float *down(const Backend *be, const float *d, size_t n)
{
    float *h = malloc(n * sizeof *h);
    be->to_host(be, h, d, n * sizeof *h);
    return h;
}

/* max |a - b| / max(1, |b|) of two device arrays, a on the gpu, b on the cpu */
static double diff(const float *a, const float *b, size_t n)
{
    float *ha = down(gpu, a, n), *hb = down(cpu, b, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ha[i] - hb[i]) / fmax(1, fabs(hb[i])));
    free(ha), free(hb);
    return worst;
}

/* The arrays of one fused forward + backward on one backend. */
enum { X, DOUT, GAMMA, BETA, RM, RV, MEAN, ISTD, OUT, DX, DG, DB, ARRAYS };

typedef struct Case {
    int N, C, H, W, k; /* k: the pool's window (0: none) */
    int noscale;       /* gamma fixed at 1 */
    BNConfig cfg;
} Case;

/* Forward (cfg.train as given) and, in train mode, backward, on both devices from the same
 * inputs; every output compared. */
static void compare_case(const Case *t)
{
    int S = t->H * t->W, C = t->C;
    size_t n = (size_t)t->N * C * S;
    PoolGeom g, *pool = NULL;
    if (t->k) {
        CU_ASSERT_FATAL(pool_geom_init(&g, t->N, C, t->H, t->W, t->k, t->k, t->k) == NNDL_OK);
        CU_ASSERT_FATAL(pool_geom_tiles(&g));
        pool = &g;
    }
    size_t no = pool ? pool_out_size(pool) : n;
    size_t sizes[ARRAYS] = {n, no, C, C, C, C, C, C, no, n, C, C};
    Rng r;
    rng_seed(&r, 41 + (uint64_t)n);
    float *h[ARRAYS], *d[2][ARRAYS];
    for (int a = 0; a < ARRAYS; a++) {
        h[a] = calloc(sizes[a], sizeof *h[a]);
        for (size_t i = 0; i < sizes[a] && a <= RV; i++)
            h[a][i] = a == RV ? 1 + (float)rng_uniform(&r) : (float)(rng_gaussian(&r) * (a == X ? 3 : 1) + (a == X));
        if (a == GAMMA && t->noscale)
            for (size_t i = 0; i < sizes[a]; i++) h[a][i] = 1;
    }
    const Backend *be[2] = {gpu, cpu};
    for (int k = 0; k < 2; k++) {
        for (int a = 0; a < ARRAYS; a++) d[k][a] = up(be[k], h[a], sizes[a]);
        float **v = d[k];
        be[k]->bn_relu_pool_forward(be[k], v[OUT], v[MEAN], v[ISTD], v[RM], v[RV], v[X], v[GAMMA], v[BETA], &t->cfg,
                                    pool, t->N, C, S);
        if (t->cfg.train)
            be[k]->bn_relu_pool_backward(be[k], v[DX], v[DG], v[DB], v[DOUT], v[OUT], v[X], v[GAMMA], v[BETA],
                                         v[MEAN], v[ISTD], pool, t->N, C, S);
    }
    static const char *names[ARRAYS] = {"x", "dout", "gamma", "beta", "running mean", "running var", "mean",
                                        "inv_std", "out", "dx", "dgamma", "dbeta"};
    for (int a = RM; a < ARRAYS; a++) {
        char what[160];
        snprintf(what, sizeof what, "(N %d, C %d, %dx%d) pool %d%s, momentum %g eps %g %s: %s, cuda vs cpu", t->N, C,
                 t->H, t->W, t->k, t->noscale ? " noscale" : "", t->cfg.momentum, t->cfg.eps,
                 t->cfg.train ? "train" : "test", names[a]);
        /* dx as batchnorm's (its three terms nearly cancel); the rest as every float op */
        ASSERT_BELOW(diff(d[0][a], d[1][a], sizes[a]), a == DX ? 1e-3 : 1e-4, what);
    }
    for (int a = 0; a < ARRAYS; a++) {
        free(h[a]);
        for (int k = 0; k < 2; k++) be[k]->release(be[k], d[k][a]);
    }
}

static void test_fused_matches_cpu(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(gpu->bn_relu_pool_forward);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gpu->bn_relu_pool_backward);
    const BNConfig seed = {1, 1e-5f, 0.9f}, opts = {1, 1e-12f, 0.6f};
    Case cases[] = {
        {7, 5, 1, 1, 0, 0, seed},   /* after an affine: (N, D) */
        {3, 4, 3, 5, 0, 0, seed},   /* spatial, no pool */
        {4, 3, 8, 6, 2, 0, seed},   /* pool 2 */
        {2, 2, 9, 9, 3, 1, opts},   /* pool 3, noscale, other momentum and eps */
        {1, 3, 4, 4, 4, 0, seed},   /* batch 1, one window per plane */
        {5, 6, 6, 4, 2, 1, opts},   /* rectangular planes */
        {9, 40, 4, 4, 2, 0, seed},  /* more blocks than one slice's worth */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        compare_case(&cases[i]);
        cases[i].cfg.train = 0; /* the running statistics normalise */
        compare_case(&cases[i]);
    }
}

/* ---- numeric gradients of the cuda op --------------------------------------------------------
 * f = sum(out * w) for fixed weights w; x, gamma and beta perturbed in double, rounded to float
 * for the op. The relu and max kinks are away from the central differences for this seed. */
typedef struct Grad {
    int N, C, S;
    PoolGeom *pool;
    size_t n, no;
    double *x, *gamma, *beta, *w;
    float *dx, *dg, *db, *dout, *out, *mean, *istd, *rm, *rv; /* device */
} Grad;

static float *up_double(const double *v, size_t n)
{
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)v[i];
    float *d = up(gpu, f, n);
    free(f);
    return d;
}

static double fused_objective(void *ctx)
{
    Grad *t = ctx;
    float *x = up_double(t->x, t->n), *g = up_double(t->gamma, t->C), *b = up_double(t->beta, t->C);
    BNConfig cfg = {1, 1e-5f, 0.9f};
    gpu->bn_relu_pool_forward(gpu, t->out, t->mean, t->istd, t->rm, t->rv, x, g, b, &cfg, t->pool, t->N, t->C, t->S);
    float *out = down(gpu, t->out, t->no);
    double f = 0;
    for (size_t i = 0; i < t->no; i++) f += out[i] * t->w[i];
    free(out);
    gpu->release(gpu, x), gpu->release(gpu, g), gpu->release(gpu, b);
    return f;
}

static double grad_error(const double *num, const float *dev, size_t n)
{
    float *a = down(gpu, dev, n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - num[i]) / fmax(1, fabs(num[i])));
    free(a);
    return worst;
}

static void test_fused_numeric_gradients(void)
{
    for (int k = 0; k <= 2; k += 2) {
        Grad t = {.N = 3, .C = 2, .S = 16};
        PoolGeom g;
        if (k) CU_ASSERT_FATAL(pool_geom_init(&g, t.N, t.C, 4, 4, k, k, k) == NNDL_OK);
        t.pool = k ? &g : NULL;
        t.n = (size_t)t.N * t.C * t.S, t.no = k ? pool_out_size(&g) : t.n;
        Rng r;
        rng_seed(&r, 23);
        t.x = randn(&r, t.n, 1, 0.3), t.gamma = randn(&r, t.C, 0.5, 1), t.beta = randn(&r, t.C, 0.5, 0.2);
        t.w = randn(&r, t.no, 1, 0);
        t.out = gpu->alloc(gpu, t.no * sizeof(float)), t.dout = up_double(t.w, t.no);
        t.dx = gpu->alloc(gpu, t.n * sizeof(float));
        t.dg = gpu->alloc(gpu, t.C * sizeof(float)), t.db = gpu->alloc(gpu, t.C * sizeof(float));
        t.mean = gpu->alloc(gpu, t.C * sizeof(float)), t.istd = gpu->alloc(gpu, t.C * sizeof(float));
        t.rm = gpu->alloc(gpu, t.C * sizeof(float)), t.rv = gpu->alloc(gpu, t.C * sizeof(float));
        double *nx = zeros(t.n), *ng = zeros(t.C), *nb = zeros(t.C);
        eval_numerical_gradient(nx, fused_objective, &t, t.x, t.n, 1e-3);
        eval_numerical_gradient(ng, fused_objective, &t, t.gamma, t.C, 1e-3);
        eval_numerical_gradient(nb, fused_objective, &t, t.beta, t.C, 1e-3);
        /* the analytic gradient at the unperturbed point */
        fused_objective(&t);
        float *x = up_double(t.x, t.n), *gm = up_double(t.gamma, t.C), *bt = up_double(t.beta, t.C);
        gpu->bn_relu_pool_backward(gpu, t.dx, t.dg, t.db, t.dout, t.out, x, gm, bt, t.mean, t.istd, t.pool, t.N, t.C,
                                   t.S);
        const char *what[2][3] = {{"dx vs numeric, no pool", "dgamma vs numeric, no pool", "dbeta vs numeric, no pool"},
                                  {"dx vs numeric, pool 2", "dgamma vs numeric, pool 2", "dbeta vs numeric, pool 2"}};
        ASSERT_BELOW(grad_error(nx, t.dx, t.n), 1e-2, what[k / 2][0]);
        ASSERT_BELOW(grad_error(ng, t.dg, t.C), 1e-2, what[k / 2][1]);
        ASSERT_BELOW(grad_error(nb, t.db, t.C), 1e-2, what[k / 2][2]);
        float *all[] = {x, gm, bt, t.out, t.dout, t.dx, t.dg, t.db, t.mean, t.istd, t.rm, t.rv};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) gpu->release(gpu, all[i]);
        free(t.x), free(t.gamma), free(t.beta), free(t.w), free(nx), free(ng), free(nb);
    }
}

/* One training step of the fused groups against the double reference model, bn's options
 * included (the same check as the cpu backend's). */
static void test_fused_model_step(void)
{
    CheckRun run = {.be = gpu};
    check_model_step(&run, "conv8x3-bn(noscale,momentum=0.6,eps=0.001)-relu-pool2-affine10", 3, 8, 8, 4);
    check_model_step(&run, "conv4x3-bn-relu-pool3-affine12-bn-relu-affine10", 3, 9, 9, 5);
    check_model_step(&run, "conv4x3-bn-relu-pool2-affine10", 3, 9, 9, 3); /* pool does not tile: unfused */
    CU_ASSERT(run.rows > 10);
    CU_ASSERT_EQUAL(run.failed, 0);
}

/* ---- launches (SIMT counters) ---------------------------------------------------------------- */

static unsigned long launches_since_reset(void)
{
    KcCounters c;
    kc_counters(&c);
    return c.launches;
}

/* The fused op: 2 launches forward in train mode, 1 in test mode, 2 backward, with or without
 * pool; the unfused ops they replace take 6, 4 and 6. */
static void test_fused_op_launches(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return; /* a GPU: no counters */
    Backend unfused = *gpu;
    unfused.bn_relu_pool_forward = NULL, unfused.bn_relu_pool_backward = NULL;
    enum { N = 2, C = 3, H = 4, W = 4 };
    size_t n = (size_t)N * C * H * W;
    float *buf[14];
    for (int i = 0; i < 14; i++) buf[i] = gpu->alloc(gpu, n * sizeof(float));
    for (int i = 0; i < 14; i++) gpu->fill(gpu, buf[i], 1.0f + (float)i / 8, n);
    PoolGeom g;
    CU_ASSERT_FATAL(pool_geom_init(&g, N, C, H, W, 2, 2, 2) == NNDL_OK);
    const Backend *bes[2] = {gpu, &unfused};
    unsigned long want[2][2][3] = {{{2, 1, 2}, {2, 1, 2}}, {{5, 3, 5}, {6, 4, 6}}}; /* [fused][pool][fwd, test, bwd] */
    for (int f = 0; f < 2; f++)
        for (int p = 0; p < 2; p++) {
            const Backend *be = bes[f];
            PoolGeom *pool = p ? &g : NULL;
            BNConfig cfg = {1, 1e-5f, 0.9f};
            unsigned long got[3];
            for (int mode = 0; mode < 2; mode++) {
                cfg.train = !mode;
                kc_reset_counters();
                backend_bn_relu_pool_forward(be, buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7],
                                             buf[8], buf[9], &cfg, pool, N, C, H * W);
                got[mode] = launches_since_reset();
            }
            kc_reset_counters();
            backend_bn_relu_pool_backward(be, buf[10], buf[11], buf[12], buf[13], buf[0], buf[1], buf[2], buf[7],
                                          buf[8], buf[9], buf[3], buf[4], pool, N, C, H * W);
            got[2] = launches_since_reset();
            for (int i = 0; i < 3; i++) {
                char what[96];
                snprintf(what, sizeof what, "%s, %s, %s: %lu launches (want %lu)", f ? "unfused" : "fused",
                         p ? "pool" : "no pool", i == 0 ? "train forward" : i == 1 ? "test forward" : "backward",
                         got[i], want[f][p][i]);
                CU_ASSERT_EQUAL(got[i], want[f][p][i]);
                if (got[i] != want[f][p][i]) fprintf(stderr, "\n    %s\n", what);
            }
        }
    for (int i = 0; i < 14; i++) gpu->release(gpu, buf[i]);
}

/* A training step (loss and gradients) of the seed's batchnorm CNN launches 14 kernels fewer
 * with the fused op than without (its bn-relu-pool group 4 + 4, its bn-relu group 3 + 3), and
 * computes the same loss and gradients. */
static void test_step_launches_fewer(void)
{
    KcCounters c;
    if (kc_counters(&c) != 0) return;
    Backend unfused = *gpu;
    unfused.bn_relu_pool_forward = NULL, unfused.bn_relu_pool_backward = NULL;
    const Backend *bes[2] = {gpu, &unfused};
    enum { N = 4 };
    Rng r;
    rng_seed(&r, 5);
    float X[N * 3 * 8 * 8];
    for (size_t i = 0; i < sizeof X / sizeof *X; i++) X[i] = (float)rng_gaussian(&r);
    int y[N] = {1, 4, 9, 0};
    Model m[2];
    unsigned long launches[2];
    double loss[2];
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_FATAL(model_init(&m[k], bes[k], "conv8x3-bn-relu-pool2-affine16-bn-relu-affine10", 3, 8, 8, 5e-2f,
                                   1e-3f, LOSS_SOFTMAX, 3, N) == NNDL_OK);
        kc_reset_counters();
        loss[k] = model_loss(&m[k], X, y, N, 0);
        launches[k] = launches_since_reset();
    }
    CU_ASSERT_EQUAL(launches[0] + 14, launches[1]);
    if (launches[0] + 14 != launches[1])
        fprintf(stderr, "\n    step launches: fused %lu, unfused %lu\n", launches[0], launches[1]);
    ASSERT_BELOW(fabs(loss[0] - loss[1]) / loss[1], 1e-6, "fused step loss vs unfused");
    for (int i = 0; i < m[0].n_params; i++) {
        size_t n = m[0].params[i].n;
        float *a = down(gpu, m[0].params[i].dw, n), *b = down(gpu, m[1].params[i].dw, n);
        double worst = 0;
        for (size_t j = 0; j < n; j++) worst = fmax(worst, fabs(a[j] - b[j]) / fmax(1, fabs(b[j])));
        ASSERT_BELOW(worst, 1e-4, m[0].params[i].name);
        free(a), free(b);
    }
    model_free(&m[0]), model_free(&m[1]);
}

void register_cuda_fused_suite(void)
{
    if (!test_backend("cuda")) return; /* the cuda suites report why */
    static const CU_TestInfo tests[] = {
        {"fused bn+relu(+pool): cuda vs cpu fused op, train and test, bn options", test_fused_matches_cpu},
        {"fused bn+relu(+pool): cuda backward vs numeric gradients", test_fused_numeric_gradients},
        {"fused groups in a model step vs the double reference model", test_fused_model_step},
        {"fused op launches: 2 forward, 1 test, 2 backward (SIMT counters)", test_fused_op_launches},
        {"batchnorm CNN step: 14 launches fewer fused, same gradients (SIMT counters)", test_step_launches_fewer},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("cuda fused bn+relu+pool", init, NULL);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
