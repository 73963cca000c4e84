/* test_cpu_backend.c — the cpu backend, op by op, against the double reference; and what its
 * context owns: the conv workspace under a changing thread count, the allocation-failure policy
 * of model and Solver, and the fallback of optional ops. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend_checks.h"
#include "compare.h"
#include "cpu_backend.h"
#include "cpu_gemm.h"
#include "cpu_ops.h"
#include "error.h"
#include "model_check.h"
#include "reference.h"
#include "solver.h"
#include "test_util.h"

#define SMALL_CNN "conv8x3-bn-relu-pool2-affine16-relu-affine10"

static float *random_floats(Rng *r, size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_gaussian(r);
    return x;
}

/* All gradients of the model, concatenated, on the host. */
static float *gradients(const Model *m, size_t *n)
{
    size_t total = 0;
    for (int i = 0; i < m->n_params; i++) total += m->params[i].n;
    float *g = malloc(total * sizeof *g), *at = g;
    for (int i = 0; i < m->n_params; i++) {
        m->be->to_host(m->be, at, m->params[i].dw, m->params[i].n * sizeof *at);
        at += m->params[i].n;
    }
    *n = total;
    return g;
}

/* The conv workspace is reserved when the model is built; a training step after raising the
 * OpenMP thread count must neither write past it nor change the result. One model is built and
 * stepped at one thread (the oracle); the other is built at one thread and stepped at four. */
static void test_thread_count_raised_after_init(void)
{
#ifdef __SANITIZE_THREAD__
    return; /* libgomp is not instrumented: TSan would flag every parallel loop (Makefile, tsan) */
#endif
    const int N = 16;
    int saved = omp_get_max_threads();
    Rng r;
    rng_seed(&r, 21);
    float *X = random_floats(&r, (size_t)N * 3 * 8 * 8);
    int *y = rand_labels(&r, N, 10);
    Backend *be[2] = {backend_create("cpu"), backend_create("cpu")};
    CU_ASSERT_FATAL(be[0] && be[1]);
    Model m[2];
    omp_set_num_threads(1);
    for (int k = 0; k < 2; k++)
        CU_ASSERT_FATAL(model_init(&m[k], be[k], SMALL_CNN, 3, 8, 8, 5e-2f, 1e-3f, LOSS_SOFTMAX, 5, N) == NNDL_OK);
    double one = model_loss(&m[0], X, y, N, 0);
    omp_set_num_threads(4); /* more than this machine's cores: OpenMP gives what is asked */
    double four = model_loss(&m[1], X, y, N, 0);
    omp_set_num_threads(saved);
    ASSERT_BELOW(fabs(one - four), 1e-6, "loss at 4 threads vs 1 thread");
    size_t n;
    float *g1 = gradients(&m[0], &n), *g4 = gradients(&m[1], &n);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(g1[i] - g4[i]) / fmax(1, fabs(g1[i])));
    ASSERT_BELOW(worst, 1e-5, "gradients at 4 threads vs 1 thread (workspace reserved at 1)");
    free(g1), free(g4), free(X), free(y);
    for (int k = 0; k < 2; k++) model_free(&m[k]), backend_destroy(be[k]);
}

/* Every allocation of model_init and solver_init made to fail in turn: each failure is the
 * policy's clean error ("out of memory for ..."), and nothing stays allocated. */
static void test_allocation_failures_are_clean(void)
{
    Backend *be = backend_create("cpu");
    CU_ASSERT_FATAL(be != NULL);
    Dataset train;
    CU_ASSERT_FATAL(dataset_alloc(&train, 20, 3, 8, 8) == NNDL_OK);
    memset(train.x, 0, (size_t)20 * 3 * 8 * 8 * sizeof *train.x);
    for (int i = 0; i < 20; i++) train.y[i] = i % 10;
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_ADAM);
    cfg.batch_size = 10, cfg.verbose = 0;
    int model_failures = 0, solver_failures = 0;
    for (long k = 0; k < 1000; k++) {
        cpu_backend_fail_allocs_after(be, k);
        Model m;
        int rc = model_init(&m, be, SMALL_CNN, 3, 8, 8, 1e-2f, 1e-3f, LOSS_SOFTMAX, 1, 10);
        if (rc != NNDL_OK) {
            ASSERT_ERROR_MENTIONS(rc, "out of memory");
            CU_ASSERT_EQUAL(cpu_backend_live_allocs(be), 0);
            model_failures++;
            continue;
        }
        long model_allocs = cpu_backend_live_allocs(be);
        Solver s;
        rc = solver_init(&s, &m, &train, NULL, &cfg);
        if (rc == NNDL_OK) {
            solver_free(&s);
            model_free(&m);
            CU_ASSERT_EQUAL(cpu_backend_live_allocs(be), 0);
            break;
        }
        ASSERT_ERROR_MENTIONS(rc, "out of memory");
        CU_ASSERT_EQUAL(cpu_backend_live_allocs(be), model_allocs);
        model_free(&m);
        CU_ASSERT_EQUAL(cpu_backend_live_allocs(be), 0);
        solver_failures++;
    }
    /* the parameter and gradient blocks, every activation, buffer and the workspace; the loss
     * slots and Adam's two state blocks (all parameters' state in one block each) */
    CU_ASSERT(model_failures > 15);
    CU_ASSERT_EQUAL(solver_failures, 3);
    cpu_backend_fail_allocs_after(be, -1);
    dataset_free(&train);
    backend_destroy(be);
}

/* The Solver's losses are read back in bulk: the History gets nothing until solver_read_losses,
 * then every step's loss in order; a non-finite loss is noted with its index. */
static void test_bulk_loss_read_back(void)
{
    const Backend *be = test_backend("cpu");
    CU_ASSERT_FATAL(be != NULL);
    Dataset train;
    CU_ASSERT_FATAL(dataset_alloc(&train, 30, 3, 8, 8) == NNDL_OK);
    Rng r;
    rng_seed(&r, 31);
    for (size_t i = 0; i < (size_t)30 * 3 * 8 * 8; i++) train.x[i] = (float)rng_gaussian(&r);
    for (int i = 0; i < 30; i++) train.y[i] = i % 10;
    Model m;
    CU_ASSERT_FATAL(model_init(&m, be, SMALL_CNN, 3, 8, 8, 1e-2f, 1e-3f, LOSS_SOFTMAX, 1, 10) == NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.batch_size = 10, cfg.verbose = 0;
    cfg.optim.learning_rate = 1e-30f; /* sgd: the weights stay put, every step has one loss */
    Solver s;
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, NULL, &cfg) == NNDL_OK);
    int idx[10];
    for (int i = 0; i < 10; i++) idx[i] = 3 * i;
    for (int k = 0; k < 2; k++) CU_ASSERT(solver_step(&s, idx, 10) == NNDL_OK);
    CU_ASSERT_EQUAL(s.loss.n, 0);
    CU_ASSERT(solver_read_losses(&s) == NNDL_OK);
    CU_ASSERT_FATAL(s.loss.n == 2);
    ASSERT_BELOW(fabs(s.loss.v[0] - (float)model_loss(&m, s.batch_x, s.batch_y, 10, 0)), 1e-5, "read-back loss");
    CU_ASSERT_EQUAL(s.first_nonfinite, -1);
    float nan = NAN;
    be->to_device(be, m.params[0].w, &nan, sizeof nan);
    CU_ASSERT(solver_step(&s, idx, 10) == NNDL_OK);
    CU_ASSERT(solver_read_losses(&s) == SOLVER_DIVERGED); /* named, and not recorded */
    CU_ASSERT_PTR_NOT_NULL(strstr(nndl_last_error(), "iteration 3 "));
    CU_ASSERT_EQUAL(s.first_nonfinite, 2);
    CU_ASSERT_EQUAL(s.loss.n, 2);
    solver_free(&s);
    model_free(&m);
    dataset_free(&train);
}

static int fused_calls;
static void spy_affine_relu(const Backend *be, float *out, float *act, const float *x, const float *w,
                            const float *b, int N, int D, int M)
{
    fused_calls++;
    be->affine_forward(be, act, x, w, b, N, D, M);
    be->relu_forward(be, out, act, (size_t)N * M);
}

/* An optional op left NULL falls back to the unfused sequence; a backend that has it gets it. */
static void test_optional_op_fallback(void)
{
    const Backend *cpu = test_backend("cpu");
    CU_ASSERT_FATAL(cpu != NULL);
    CU_ASSERT_PTR_NULL(cpu->affine_relu_forward); /* nobody implements it yet */
    enum { N = 3, D = 5, M = 4 };
    Rng r;
    rng_seed(&r, 8);
    double *x = randn(&r, N * D, 1, 0), *w = randn(&r, D * M, 1, 0), *b = randn(&r, M, 1, 0);
    round_to_float(x, N * D), round_to_float(w, D * M), round_to_float(b, M);
    double act_ref[N * M], out_ref[N * M];
    ref_affine_forward(act_ref, x, w, b, N, D, M);
    ref_relu_forward(out_ref, act_ref, N * M);
    float *fx = to_float(x, N * D), *fw = to_float(w, D * M), *fb = to_float(b, M), out[N * M], act[N * M];
    backend_affine_relu_forward(cpu, out, act, fx, fw, fb, N, D, M);
    double worst = 0;
    for (int i = 0; i < N * M; i++)
        worst = fmax(worst, fmax(fabs(out[i] - out_ref[i]), fabs(act[i] - act_ref[i])));
    ASSERT_BELOW(worst, 1e-5, "fallback affine + relu vs reference");
    Backend fused = *cpu;
    fused.affine_relu_forward = spy_affine_relu;
    fused_calls = 0;
    backend_affine_relu_forward(&fused, out, act, fx, fw, fb, N, D, M);
    CU_ASSERT_EQUAL(fused_calls, 1);
    free(x), free(w), free(b), free(fx), free(fw), free(fb);
}

/* The backend's matrix product on each library of this build (OpenBLAS, and oneDNN where built
 * with it: cpu_gemm.h) against a product in double: each transpose of A and B, leading
 * dimensions wider than the rows, beta 0 (C's old values, NaN here, must not leak in) and beta 1,
 * alpha != 1, and the thin shapes of a small batch's affine layer, inside and outside an OpenMP
 * parallel region. */
static void check_gemm_library(CpuGemmLibrary lib)
{
    static const int shapes[][3] = {{5, 7, 3}, {50, 500, 300}, {300, 50, 50}, {50, 300, 500}, {1, 33, 17}};
    Rng r;
    rng_seed(&r, 11);
    int checked = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t < 8; t++) {
            bool ta = t & 1, tb = t & 2, accumulate = t & 4;
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
            int lda = ac + 3, ldb = bc + 1, ldc = N + 2;
            float *A = random_floats(&r, (size_t)ar * lda), *B = random_floats(&r, (size_t)br * ldb);
            float *C = random_floats(&r, (size_t)M * ldc);
            double *want = malloc((size_t)M * N * sizeof *want);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double sum = 0;
                    for (int k = 0; k < K; k++)
                        sum += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                               (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                    double old = C[(size_t)i * ldc + j];
                    want[(size_t)i * N + j] = 0.5 * sum + (accumulate ? old : 0);
                    if (!accumulate) C[(size_t)i * ldc + j] = NAN;
                }
            float *got = malloc((size_t)M * N * sizeof *got);
            bool by_lib = false; /* not OpenBLAS's fallback in its place */
#pragma omp parallel num_threads(2) if (s % 2)
#pragma omp single
            by_lib = cpu_sgemm_on(lib, ta, tb, M, N, K, 0.5f, A, lda, B, ldb, accumulate ? 1.0f : 0.0f, C, ldc);
            CU_ASSERT(by_lib);
            for (int i = 0; i < M; i++) memcpy(got + (size_t)i * N, C + (size_t)i * ldc, (size_t)N * sizeof *got);
            ASSERT_BELOW(float_error(got, want, (size_t)M * N), CHECK_FLOAT_TOL, "sgemm vs double");
            checked++;
            free(A), free(B), free(C), free(want), free(got);
        }
    CU_ASSERT_EQUAL(checked, 40);
}

static void test_gemm_vs_double(void)
{
    check_gemm_library(CPU_GEMM_OPENBLAS);
    if (cpu_gemm_has(CPU_GEMM_ONEDNN)) check_gemm_library(CPU_GEMM_ONEDNN);
}

/* GELU is computed from a polynomial form of erfc and a polynomial exponential (cpu_gelu.c), not
 * the C library: over a dense grid of [-12, 12] both the value and the derivative must stay
 * within 1e-6 of max(1, |ref|) of the double reference — 10x tighter than the float tolerance
 * of the op checks; measured: 2.1e-7 (value), 2.7e-7 (derivative). */
static void test_gelu_accuracy(void)
{
    const Backend *be = test_backend("cpu");
    CU_ASSERT_FATAL(be != NULL);
    size_t n = 24 * 512 + 1;
    double *x = malloc(n * sizeof *x), *ones = malloc(n * sizeof *ones), *out = zeros(n), *dx = zeros(n);
    for (size_t i = 0; i < n; i++) x[i] = -12.0 + (double)i / 512, ones[i] = 1;
    ref_gelu_forward(out, x, n);
    ref_gelu_backward(dx, ones, x, n);
    float *fx = to_float(x, n), *f1 = to_float(ones, n), *fo = malloc(n * sizeof *fo), *fdx = malloc(n * sizeof *fdx);
    be->gelu_forward(be, fo, fx, n);
    be->gelu_backward(be, fdx, f1, fx, n);
    ASSERT_BELOW(float_error(fo, out, n), 1e-6, "gelu over [-12, 12]");
    ASSERT_BELOW(float_error(fdx, dx, n), 1e-6, "gelu derivative over [-12, 12]");
    free(x), free(ones), free(out), free(dx), free(fx), free(f1), free(fo), free(fdx);
}

/* Winograd F(2x2, 3x3) and F(4x4, 3x3), each forced on every 3x3 stride-1 pad-1 shape, against
 * the double reference: out, dx and dw (its three products; db is a plain sum beside them).
 * F(2x2) within the float tolerance of every op, CHECK_FLOAT_TOL = 1e-4 of max(1, |ref|), the same
 * as im2col's; F(4x4), whose transforms scale by up to 8 and divide by 6 and 24, within
 * winograd4_tol: its error grows with the channels summed (C for out and dw, F for dx), by
 * 1.8x from 128 to 256 (measured out / dx / dw: 6.5e-4 / 6.5e-4 / 2.1e-4 at 128 -> 128 channels
 * on 15x15 maps; 1.2e-3 / 1.2e-3 / 1.2e-4 at 256 -> 256 on 8x8; at 512 -> 512 on 4x4 up to 9.6e-4
 * on oneDNN's products and 1.5e-3 on OpenBLAS's, where F(2x2) stays below 1e-4), so 1e-3 up to
 * 128 channels and in proportion above: on outputs near +-50 (2304 unit products summed) 2e-3 is
 * 4e-5 of the output's scale. Three of the shapes have small maps and batches of several chunks
 * (a short last one): images share GEMMs; the automatic choice (F(4x4)) and its backward are
 * checked too. */
static double winograd4_tol(const ConvGeom *g)
{
    int summed = g->C > g->F ? g->C : g->F;
    return 1e-3 * fmax(1.0, summed / 128.0);
}
static void test_winograd_vs_reference(void)
{
    const Backend *be = test_backend("cpu");
    CU_ASSERT_FATAL(be != NULL);
    static const int shapes[][5] = {/* N, C, H, W, F: odd sizes (clipped edge tiles), 1x1, wide */
                                    {2, 3, 7, 5, 4}, {1, 1, 1, 1, 1}, {3, 16, 8, 8, 16}, {2, 32, 6, 9, 24},
                                    {1, 5, 2, 3, 7}, {4, 64, 16, 16, 64}, {37, 8, 5, 5, 8},
                                    {70, 9, 3, 2, 8}, {9, 12, 7, 7, 10}, {6, 8, 5, 4, 20}, {3, 128, 15, 15, 128},
                                    {2, 256, 8, 8, 256}, {1, 512, 4, 4, 512}};
    static const struct {
        CpuConvAlgo algo;
        const char *name;
    } forced[] = {{CPU_CONV_WINOGRAD, "winograd F(2x2)"}, {CPU_CONV_WINOGRAD4, "winograd F(4x4)"}};
    Rng r;
    rng_seed(&r, 31);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int *d = shapes[s];
        ConvGeom g;
        CU_ASSERT_FATAL(conv_geom_init(&g, d[0], d[1], d[2], d[3], d[4], d[1], 3, 3, 1, 1) == NNDL_OK);
        size_t nx = conv_in_size(&g), nw = conv_w_size(&g), no = conv_out_size(&g);
        double *x = randn(&r, nx, 1, 0), *w = randn(&r, nw, 1, 0), *b = randn(&r, g.F, 1, 0);
        double *dout = randn(&r, no, 1, 0);
        round_to_float(x, nx), round_to_float(w, nw), round_to_float(b, g.F), round_to_float(dout, no);
        double *out = zeros(no), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(g.F);
        ref_conv_forward_naive(out, x, w, b, &g);
        ref_conv_backward_naive(dx, dw, db, dout, x, w, &g);
        float *fx = to_float(x, nx), *fw = to_float(w, nw), *fb = to_float(b, g.F), *fd = to_float(dout, no);
        float *fo = malloc(no * sizeof *fo), *fdx = malloc(nx * sizeof *fdx), *fdw = malloc(nw * sizeof *fdw);
        float *fdb = malloc(g.F * sizeof *fdb), *im2col_out = malloc(no * sizeof *fo), *f4_out = malloc(no * sizeof *fo);
        CU_ASSERT_FATAL(be->conv_reserve(be, &g) == NNDL_OK);
        cpu_backend_set_conv_algo(be, CPU_CONV_IM2COL);
        be->conv_forward(be, im2col_out, fx, fw, fb, &g);
        for (size_t k = 0; k < 2; k++) {
            cpu_backend_set_conv_algo(be, forced[k].algo);
            be->conv_forward(be, k ? f4_out : fo, fx, fw, fb, &g);
            be->conv_backward(be, fdx, fdw, fdb, fd, fx, fw, &g);
            char what[96];
            snprintf(what, sizeof what, "%s x(%d,%d,%d,%d) F %d: out", forced[k].name, d[0], d[1], d[2], d[3], d[4]);
            double tol = forced[k].algo == CPU_CONV_WINOGRAD4 ? winograd4_tol(&g) : CHECK_FLOAT_TOL;
            ASSERT_BELOW(float_error(k ? f4_out : fo, out, no), tol, what);
            snprintf(what, sizeof what, "%s x(%d,%d,%d,%d) F %d: dx", forced[k].name, d[0], d[1], d[2], d[3], d[4]);
            ASSERT_BELOW(float_error(fdx, dx, nx), tol, what);
            snprintf(what, sizeof what, "%s x(%d,%d,%d,%d) F %d: dw", forced[k].name, d[0], d[1], d[2], d[3], d[4]);
            ASSERT_BELOW(float_error(fdw, dw, nw), tol, what);
            ASSERT_BELOW(float_error(fdb, db, g.F), 1e-4, "db beside winograd");
        }
        /* the automatic choice: Winograd F(4x4) from 8 channels in and out, im2col below */
        float *auto_out = malloc(no * sizeof *auto_out);
        cpu_backend_set_conv_algo(be, CPU_CONV_AUTO);
        be->conv_forward(be, auto_out, fx, fw, fb, &g);
        const float *want = g.C >= 8 && g.F >= 8 ? f4_out : im2col_out;
        CU_ASSERT(memcmp(auto_out, want, no * sizeof *want) == 0);
        /* and its backward */
        be->conv_backward(be, fdx, fdw, fdb, fd, fx, fw, &g);
        char what[96];
        snprintf(what, sizeof what, "auto x(%d,%d,%d,%d) F %d: dx, dw", d[0], d[1], d[2], d[3], d[4]);
        ASSERT_BELOW(fmax(float_error(fdx, dx, nx), float_error(fdw, dw, nw)), winograd4_tol(&g), what);
        free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
        free(fx), free(fw), free(fb), free(fd), free(fo), free(fdx), free(fdw), free(fdb), free(im2col_out);
        free(f4_out), free(auto_out);
    }
}

/* A wide 3x3 net (Winograd on the 16-channel convolution, fused bn-relu and bn-relu-pool), and a
 * fused group whose bn has options, for one training step against the double reference model:
 * loss, every gradient, the step. */
static void test_wide_model_step(void)
{
    CheckRun run = {.be = test_backend("cpu")};
    CU_ASSERT_FATAL(run.be != NULL);
    check_model_step(&run, "conv16x3-bn-relu-conv16x3-bn-relu-pool2-affine10", 3, 8, 8, 4);
    /* the fused group with bn's options: gamma fixed at 1, its own eps and momentum */
    check_model_step(&run, "conv8x3-bn(noscale,momentum=0.6,eps=0.001)-relu-pool2-affine10", 3, 8, 8, 4);
    CU_ASSERT(run.rows > 10);
    CU_ASSERT_EQUAL(run.failed, 0);
}

void register_cpu_backend_suite(void)
{
    register_backend_checks("cpu backend vs reference", "cpu");
    static const CU_TestInfo tests[] = {
        {"conv workspace: thread count raised after model_init", test_thread_count_raised_after_init},
        {"every allocation failure: clean error, nothing leaked", test_allocation_failures_are_clean},
        {"optional op: NULL falls back to the unfused ops", test_optional_op_fallback},
        {"Solver losses: read back in bulk, a NaN noted at its index", test_bulk_loss_read_back},
        {"the matrix product (each library) vs double: each transpose, strided, beta 0 and 1, thin shapes",
         test_gemm_vs_double},
        {"gelu's polynomial erfc and exponential vs the double reference (1e-6)", test_gelu_accuracy},
        {"winograd F(2x2,3x3) and F(4x4,3x3) vs reference (1e-4; 1e-3, x channels / 128 past 128), up to "
         "512 channels, the automatic choice (F(4x4), 8+ channels)",
         test_winograd_vs_reference},
        {"a wide 3x3 net's training step vs the reference model", test_wide_model_step},
        CU_TEST_INFO_NULL};
    add_suite("cpu backend context", tests);
}
