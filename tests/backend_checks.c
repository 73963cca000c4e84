/* backend_checks.c — op-by-op comparison of a backend with the double reference on random
 * shapes: batch 1, odd sizes, stride 1-3, pad 0-2, non-square filters and pools, tiled,
 * overlapping and gapped pooling windows. Inputs are rounded to float first, so the reference
 * sees exactly what the backend sees and only the backend's float arithmetic differs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_checks.h"
#include "error.h"
#include "gradcheck.h"
#include "reference.h"
#include "test_util.h"

#define FLOAT_TOL 1e-4 /* float_error limit: float32 rounding of sums of ~1e3 unit terms */

static const Backend *be; /* the backend under test, set by the suite's init */

/* ---- device helpers --------------------------------------------------------------------- */

static float *up(const double *x, size_t n)
{
    float *h = to_float(x, n), *d = be->alloc(be, (n ? n : 1) * sizeof *d);
    be->to_device(be, d, h, n * sizeof *d);
    free(h);
    return d;
}

static int *up_labels(const int *y, int n)
{
    int *d = be->alloc(be, (size_t)n * sizeof *d);
    be->to_device(be, d, y, (size_t)n * sizeof *d);
    return d;
}

static float *dev_zeros(size_t n)
{
    float *d = be->alloc(be, (n ? n : 1) * sizeof *d);
    be->fill(be, d, 0, n);
    return d;
}

/* float_error of a device array against a double reference. */
static double err(const float *dev, const double *ref, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    be->to_host(be, h, dev, n * sizeof *h);
    double e = float_error(h, ref, n);
    free(h);
    return e;
}

static double *rand_float_exact(Rng *r, size_t n, double scale, double shift)
{
    double *x = randn(r, n, scale, shift);
    round_to_float(x, n);
    return x;
}

/* ---- affine, relu ------------------------------------------------------------------------ */

static void test_affine(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {3, 7, 5}, {10, 30, 17}, {1, 64, 3}};
    Rng r;
    rng_seed(&r, 100);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int N = shapes[s][0], D = shapes[s][1], M = shapes[s][2];
        size_t nx = (size_t)N * D, nw = (size_t)D * M, no = (size_t)N * M;
        double *x = rand_float_exact(&r, nx, 1, 0), *w = rand_float_exact(&r, nw, 1, 0);
        double *b = rand_float_exact(&r, M, 1, 0), *dout = rand_float_exact(&r, no, 1, 0);
        double *out = zeros(no), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(M);
        ref_affine_forward(out, x, w, b, N, D, M);
        ref_affine_backward(dx, dw, db, dout, x, w, N, D, M);
        float *fx = up(x, nx), *fw = up(w, nw), *fb = up(b, M), *fd = up(dout, no);
        float *fo = dev_zeros(no), *fdx = dev_zeros(nx), *fdw = dev_zeros(nw), *fdb = dev_zeros(M);
        be->affine_forward(be, fo, fx, fw, fb, N, D, M);
        be->affine_backward(be, fdx, fdw, fdb, fd, fx, fw, N, D, M);
        ASSERT_BELOW(err(fo, out, no), FLOAT_TOL, "affine out");
        ASSERT_BELOW(err(fdx, dx, nx), FLOAT_TOL, "affine dx");
        ASSERT_BELOW(err(fdw, dw, nw), FLOAT_TOL, "affine dw");
        ASSERT_BELOW(err(fdb, db, M), FLOAT_TOL, "affine db");
        free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
        float *dev[] = {fx, fw, fb, fd, fo, fdx, fdw, fdb};
        for (size_t i = 0; i < 8; i++) be->release(be, dev[i]);
    }
}

static void test_relu(void)
{
    Rng r;
    rng_seed(&r, 101);
    size_t n = 1001;
    double *x = rand_float_exact(&r, n, 1, 0), *dout = rand_float_exact(&r, n, 1, 0);
    x[0] = 0; /* the kink: relu'(0) = 0 as in the seed's (x > 0) */
    double *out = zeros(n), *dx = zeros(n);
    ref_relu_forward(out, x, n);
    ref_relu_backward(dx, dout, x, n);
    float *fx = up(x, n), *fd = up(dout, n), *fo = dev_zeros(n), *fdx = dev_zeros(n);
    be->relu_forward(be, fo, fx, n);
    be->relu_backward(be, fdx, fd, fx, n);
    CU_ASSERT_EQUAL(err(fo, out, n), 0);
    CU_ASSERT_EQUAL(err(fdx, dx, n), 0);
    free(x), free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

/* ---- conv --------------------------------------------------------------------------------- */

static void check_conv(const int s[9], Rng *r)
{
    ConvGeom g;
    CU_ASSERT_FATAL(conv_geom_init(&g, s[0], s[1], s[2], s[3], s[4], s[1], s[5], s[6], s[7],
                                   s[8]) == 0);
    size_t nx = conv_in_size(&g), nw = conv_w_size(&g), no = conv_out_size(&g);
    double *x = rand_float_exact(r, nx, 1, 0), *w = rand_float_exact(r, nw, 1, 0);
    double *b = rand_float_exact(r, g.F, 1, 0), *dout = rand_float_exact(r, no, 1, 0);
    double *out = zeros(no), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(g.F);
    ref_conv_forward_naive(out, x, w, b, &g);
    ref_conv_backward_naive(dx, dw, db, dout, x, w, &g);
    float *fx = up(x, nx), *fw = up(w, nw), *fb = up(b, g.F), *fd = up(dout, no);
    float *fo = dev_zeros(no), *fdx = dev_zeros(nx), *fdw = dev_zeros(nw), *fdb = dev_zeros(g.F);
    CU_ASSERT_FATAL(be->conv_reserve(be, &g) == NNDL_OK);
    be->conv_forward(be, fo, fx, fw, fb, &g);
    be->conv_backward(be, fdx, fdw, fdb, fd, fx, fw, &g);
    char what[160];
    snprintf(what, sizeof what, "conv x(%d,%d,%d,%d) w(%d,%d,%d,%d) s%d p%d", g.N, g.C, g.H, g.W,
             g.F, g.C, g.HH, g.WW, g.stride, g.pad);
    ASSERT_BELOW(err(fo, out, no), FLOAT_TOL, what);
    ASSERT_BELOW(err(fdx, dx, nx), FLOAT_TOL, what);
    ASSERT_BELOW(err(fdw, dw, nw), FLOAT_TOL, what);
    ASSERT_BELOW(err(fdb, db, g.F), FLOAT_TOL, what);
    free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
    float *dev[] = {fx, fw, fb, fd, fo, fdx, fdw, fdb};
    for (size_t i = 0; i < 8; i++) be->release(be, dev[i]);
}

static void test_conv(void)
{
    /* N, C, H, W, F, HH, WW, stride, pad */
    static const int shapes[][9] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 0},   {1, 3, 5, 5, 2, 3, 3, 1, 1},   {2, 3, 7, 7, 4, 3, 3, 2, 0},
        {3, 2, 9, 6, 5, 5, 2, 2, 2},   {2, 4, 8, 8, 3, 1, 1, 1, 0},   {4, 3, 31, 31, 5, 3, 3, 2, 1},
        {1, 2, 6, 11, 3, 2, 4, 1, 2},  {5, 3, 13, 13, 7, 4, 4, 3, 0}, {2, 3, 16, 16, 8, 3, 3, 1, 1},
        {1, 5, 4, 3, 2, 4, 3, 1, 0},
    };
    Rng r;
    rng_seed(&r, 102);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_conv(shapes[s], &r);
}

/* ---- max pool ----------------------------------------------------------------------------- */

static void check_pool(const int s[7], double *x_or_null, Rng *r)
{
    PoolGeom g;
    CU_ASSERT_FATAL(pool_geom_init(&g, s[0], s[1], s[2], s[3], s[4], s[5], s[6]) == 0);
    size_t nx = pool_in_size(&g), no = pool_out_size(&g);
    double *x = x_or_null ? x_or_null : rand_float_exact(r, nx, 1, 0);
    double *dout = rand_float_exact(r, no, 1, 0), *out = zeros(no), *dx = zeros(nx);
    ref_max_pool_forward_naive(out, x, &g);
    ref_max_pool_backward_naive(dx, dout, x, &g);
    float *fx = up(x, nx), *fd = up(dout, no), *fo = dev_zeros(no), *fdx = dev_zeros(nx);
    be->max_pool_forward(be, fo, fx, &g);
    be->max_pool_backward(be, fdx, fd, fx, fo, &g);
    char what[120];
    snprintf(what, sizeof what, "max pool x(%d,%d,%d,%d) %dx%d s%d%s", g.N, g.C, g.H, g.W, g.ph,
             g.pw, g.stride, pool_geom_tiles(&g) ? " (tiled)" : "");
    ASSERT_BELOW(err(fo, out, no), 1e-300, what);       /* max is exact */
    ASSERT_BELOW(err(fdx, dx, nx), FLOAT_TOL, what);      /* overlapping windows add */
    if (!x_or_null) free(x);
    free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

static void test_max_pool(void)
{
    /* N, C, H, W, ph, pw, stride: tiled, overlapping, gapped, non-square, batch 1 */
    static const int shapes[][7] = {
        {2, 3, 8, 8, 2, 2, 2}, {1, 1, 6, 9, 3, 3, 3}, {2, 2, 7, 9, 3, 2, 1},
        {3, 2, 9, 9, 3, 3, 2}, {1, 2, 8, 8, 2, 2, 3}, {1, 1, 1, 1, 1, 1, 1},
        {2, 3, 32, 32, 2, 2, 2}, {1, 4, 5, 7, 1, 3, 2},
    };
    Rng r;
    rng_seed(&r, 103);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_pool(shapes[s], NULL, &r);
}

/* Tied maxima (small integers; zeros after a relu are the common case): every tied element gets
 * the window's gradient, as in the seed's mask. */
static void test_max_pool_ties(void)
{
    static const int shapes[][7] = {{2, 2, 8, 8, 2, 2, 2}, {1, 2, 7, 7, 3, 3, 2}};
    Rng r;
    rng_seed(&r, 104);
    for (size_t s = 0; s < 2; s++) {
        size_t n = (size_t)shapes[s][0] * shapes[s][1] * shapes[s][2] * shapes[s][3];
        double *x = zeros(n);
        for (size_t i = 0; i < n; i++) x[i] = (double)rng_below(&r, 3);
        check_pool(shapes[s], x, &r);
        free(x);
    }
}

/* ---- batchnorm ---------------------------------------------------------------------------- */

static void check_batchnorm(int N, int C, int S, Rng *r)
{
    size_t n = (size_t)N * C * S;
    double *x = rand_float_exact(r, n, 3, 2), *dout = rand_float_exact(r, n, 1, 0);
    double *gamma = rand_float_exact(r, C, 1, 1), *beta = rand_float_exact(r, C, 1, 0);
    double *rm = rand_float_exact(r, C, 0.1, 0), *rv = zeros(C);
    for (int c = 0; c < C; c++) rv[c] = (float)(1 + 0.5 * c);
    float *frm = up(rm, C), *frv = up(rv, C);
    double *out = zeros(n), *dx = zeros(n), *dg = zeros(C), *dbt = zeros(C);
    RefBNParam p = {1, 1e-5, 0.9, rm, rv};
    ref_batchnorm_forward(out, x, gamma, beta, &p, N, C, S);
    ref_batchnorm_backward(dx, dg, dbt, dout, x, gamma, 1e-5, N, C, S);
    float *fx = up(x, n), *fd = up(dout, n), *fg = up(gamma, C), *fb = up(beta, C);
    float *fo = dev_zeros(n), *fdx = dev_zeros(n), *fdg = dev_zeros(C), *fdb = dev_zeros(C);
    float *fmean = dev_zeros(C), *fistd = dev_zeros(C);
    BNConfig cfg = {1, 1e-5f, 0.9f};
    be->batchnorm_forward(be, fo, fmean, fistd, frm, frv, fx, fg, fb, &cfg, N, C, S);
    be->batchnorm_backward(be, fdx, fdg, fdb, fd, fx, fg, fmean, fistd, N, C, S);
    char what[80];
    snprintf(what, sizeof what, "batchnorm train (N %d, C %d, S %d)", N, C, S);
    ASSERT_BELOW(err(fo, out, n), FLOAT_TOL, what);
    ASSERT_BELOW(err(frm, rm, C), FLOAT_TOL, "running mean");
    ASSERT_BELOW(err(frv, rv, C), FLOAT_TOL, "running var");
    /* N*S == 1 has zero variance: dx is then dominated by 1/sqrt(eps) and float cancellation */
    if (N * S > 1) ASSERT_BELOW(err(fdx, dx, n), 1e-3, "batchnorm dx");
    ASSERT_BELOW(err(fdg, dg, C), FLOAT_TOL, "batchnorm dgamma");
    ASSERT_BELOW(err(fdb, dbt, C), FLOAT_TOL, "batchnorm dbeta");

    /* test mode: running statistics, which must stay as they are */
    cfg.train = 0;
    p.train = 0;
    ref_batchnorm_forward(out, x, gamma, beta, &p, N, C, S);
    be->batchnorm_forward(be, fo, fmean, fistd, frm, frv, fx, fg, fb, &cfg, N, C, S);
    ASSERT_BELOW(err(fo, out, n), FLOAT_TOL, "batchnorm test mode");
    ASSERT_BELOW(err(frm, rm, C), FLOAT_TOL, "running mean untouched in test mode");

    free(x), free(dout), free(gamma), free(beta), free(rm), free(rv), free(out), free(dx),
        free(dg), free(dbt);
    float *dev[] = {frm, frv, fx, fd, fg, fb, fo, fdx, fdg, fdb, fmean, fistd};
    for (size_t i = 0; i < 12; i++) be->release(be, dev[i]);
}

static void test_batchnorm(void)
{
    Rng r;
    rng_seed(&r, 105);
    check_batchnorm(7, 5, 1, &r);     /* (N, D) */
    check_batchnorm(3, 4, 9, &r);     /* spatial */
    check_batchnorm(1, 3, 16, &r);    /* batch 1, spatial */
    check_batchnorm(1, 2, 1, &r);     /* a single value per channel */
    check_batchnorm(50, 16, 64, &r);  /* larger reductions */
}

/* ---- dropout ------------------------------------------------------------------------------ */

static void test_dropout(void)
{
    Rng r;
    rng_seed(&r, 106);
    size_t n = 20000;
    double *x = rand_float_exact(&r, n, 1, 3), *dout = rand_float_exact(&r, n, 1, 0);
    double *out = zeros(n), *dx = zeros(n);
    float *fx = up(x, n), *fd = up(dout, n), *fo = dev_zeros(n), *fdx = dev_zeros(n);
    float p_keeps[] = {0.25f, 0.5f, 0.8f};
    for (int k = 0; k < 3; k++) {
        DropoutConfig d = {1, p_keeps[k], 77, (uint64_t)k + 3};
        ref_dropout_forward(out, x, n, d.p_keep, d.seed, d.step, 1);
        ref_dropout_backward(dx, dout, n, d.p_keep, d.seed, d.step, 1);
        be->dropout_forward(be, fo, fx, n, &d);
        be->dropout_backward(be, fdx, fd, n, &d);
        ASSERT_BELOW(err(fo, out, n), 1e-6, "dropout out (same mask as the reference)");
        ASSERT_BELOW(err(fdx, dx, n), 1e-6, "dropout dx");
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) kept += out[i] != 0;
        /* binomial: sd = sqrt(n p (1-p)) <= 71; 5 sd */
        ASSERT_BELOW(fabs((double)kept - p_keeps[k] * n), 360, "kept count - p*n");
        DropoutConfig test = d;
        test.train = 0;
        be->dropout_forward(be, fo, fx, n, &test);
        CU_ASSERT_EQUAL(err(fo, x, n), 0); /* identity at test time */
    }
    free(x), free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

/* ---- losses and L2 helpers ---------------------------------------------------------------- */

/* A device loss slot holding `value`, and its value read back. */
static double *slot_with(double value)
{
    double *d = be->alloc(be, sizeof *d);
    be->to_device(be, d, &value, sizeof value);
    return d;
}

static double slot_value(const double *slot)
{
    double v;
    be->to_host(be, &v, slot, sizeof v);
    return v;
}

static void test_losses(void)
{
    static const int shapes[][2] = {{1, 2}, {7, 10}, {100, 10}, {33, 3}};
    Rng r;
    rng_seed(&r, 107);
    for (size_t s = 0; s < 4; s++) {
        int N = shapes[s][0], C = shapes[s][1];
        size_t n = (size_t)N * C;
        double *x = rand_float_exact(&r, n, 2, 0), *dx = zeros(n);
        int *y = rand_labels(&r, N, C), *fy = up_labels(y, N);
        float *fx = up(x, n), *fdx = dev_zeros(n);
        double *slot = slot_with(1e30); /* overwritten, not added to */
        double want = ref_softmax_loss(dx, x, y, N, C);
        be->softmax_loss(be, fdx, slot, fx, fy, N, C);
        ASSERT_BELOW(fabs(slot_value(slot) - want) / fmax(1, want), 1e-6, "softmax loss");
        ASSERT_BELOW(err(fdx, dx, n), 1e-6, "softmax dx");
        want = ref_svm_loss(dx, x, y, N, C);
        be->svm_loss(be, fdx, slot, fx, fy, N, C);
        ASSERT_BELOW(fabs(slot_value(slot) - want) / fmax(1, want), 1e-6, "svm loss");
        ASSERT_BELOW(err(fdx, dx, n), 1e-6, "svm dx");
        free(x), free(dx), free(y);
        be->release(be, fy), be->release(be, fx), be->release(be, fdx), be->release(be, slot);
    }
}

static void test_l2_penalty(void)
{
    Rng r;
    rng_seed(&r, 108);
    size_t n = 123457; /* large enough for the threaded path */
    double *w = rand_float_exact(&r, n, 1, 0), *dw = rand_float_exact(&r, n, 1, 0), ss = 0;
    float *fw = up(w, n), *fdw = up(dw, n);
    for (size_t i = 0; i < n; i++) ss += w[i] * w[i], dw[i] += (double)0.25f * w[i];
    double *slot = slot_with(2.5); /* the data loss already there: the penalty adds to it */
    be->l2_penalty(be, fdw, slot, fw, 0.25f, n);
    double want = 2.5 + 0.5 * 0.25 * ss;
    ASSERT_BELOW(fabs(slot_value(slot) - want) / want, 1e-6, "l2_penalty adds 0.5 reg sum(w^2)");
    ASSERT_BELOW(err(fdw, dw, n), 1e-6, "l2_penalty dw += reg * w");
    free(w), free(dw);
    be->release(be, fw), be->release(be, fdw), be->release(be, slot);
}

/* ---- suite -------------------------------------------------------------------------------- */

/* CUnit's init takes no argument, hence one per backend. */
static int init_cpu(void) { return !(be = test_backend("cpu")); }
static int init_cuda(void) { return !(be = test_backend("cuda")); }

void register_backend_checks(const char *name, const char *be_name)
{
    if (!test_backend(be_name)) {
        printf("suite '%s' not run: %s\n", name, nndl_last_error());
        return;
    }
    static const CU_TestInfo tests[] = {
        {"affine", test_affine},       {"relu", test_relu},
        {"conv (10 shapes)", test_conv}, {"max pool (8 shapes)", test_max_pool},
        {"max pool with tied maxima", test_max_pool_ties},
        {"batchnorm and spatial batchnorm", test_batchnorm},
        {"dropout", test_dropout},     {"softmax and svm losses", test_losses},
        {"l2_penalty", test_l2_penalty}, CU_TEST_INFO_NULL};
    CU_pSuite suite = CU_add_suite(name, strcmp(be_name, "cuda") ? init_cpu : init_cuda, NULL);
    for (const CU_TestInfo *t = tests; suite && t->pName; t++)
        CU_add_test(suite, t->pName, t->pTestFunc);
}
