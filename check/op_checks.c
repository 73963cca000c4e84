/* op_checks.c — the op-by-op comparisons of a backend with the double reference (see
 * op_checks.h). Each check draws its inputs from its own seed, so a row means the same case on
 * every device and in every run. */
#include "op_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_data.h"
#include "compare.h"
#include "error.h"
#include "reference.h"

void check_expect(CheckRun *run, const char *op, const char *shape, const char *what,
                  double error, double tol)
{
    CheckRow row = {.op = op, .what = what, .error = error, .tol = tol, .pass = error <= tol};
    snprintf(row.shape, sizeof row.shape, "%s", shape);
    run->rows++;
    run->failed += !row.pass;
    if (run->sink) run->sink(&row, run->ctx);
}

/* ---- device helpers --------------------------------------------------------------------- */

static float *up(const Backend *be, const double *x, size_t n)
{
    float *h = to_float(x, n), *d = be->alloc(be, (n ? n : 1) * sizeof *d);
    be->to_device(be, d, h, n * sizeof *d);
    free(h);
    return d;
}

static int *up_labels(const Backend *be, const int *y, int n)
{
    int *d = be->alloc(be, (size_t)n * sizeof *d);
    be->to_device(be, d, y, (size_t)n * sizeof *d);
    return d;
}

static float *dev_filled(const Backend *be, float value, size_t n)
{
    float *d = be->alloc(be, (n ? n : 1) * sizeof *d);
    be->fill(be, d, value, n);
    return d;
}
static float *dev_zeros(const Backend *be, size_t n) { return dev_filled(be, 0, n); }

/* Left in an output buffer before an op runs: an element the op fails to write shows as an
 * error of this size (buffers are reused, so ops must write every element). */
#define STALE 1e6f

double device_error(const Backend *be, ErrorMeasure measure, const float *dev, const double *ref, size_t n)
{
    float *h = malloc((n ? n : 1) * sizeof *h);
    if (!h) return INFINITY; /* a failed comparison, never a pass */
    be->to_host(be, h, dev, n * sizeof *h);
    double e = measure(h, ref, n);
    free(h);
    return e;
}

static double err(const Backend *be, const float *dev, const double *ref, size_t n)
{
    return device_error(be, float_error, dev, ref, n);
}

static double *rand_float_exact(Rng *r, size_t n, double scale, double shift)
{
    double *x = randn(r, n, scale, shift);
    round_to_float(x, n);
    return x;
}

/* ---- affine, relu ------------------------------------------------------------------------ */

static void check_affine_op(CheckRun *run)
{
    const Backend *be = run->be;
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
        float *fx = up(be, x, nx), *fw = up(be, w, nw), *fb = up(be, b, M), *fd = up(be, dout, no);
        float *fo = dev_zeros(be, no), *fdx = dev_zeros(be, nx), *fdw = dev_zeros(be, nw), *fdb = dev_zeros(be, M);
        be->affine_forward(be, fo, fx, fw, fb, N, D, M);
        be->affine_backward(be, fdx, fdw, fdb, fd, fx, fw, N, D, M);
        char shape[96];
        snprintf(shape, sizeof shape, "x(%d,%d) w(%d,%d)", N, D, D, M);
        check_expect(run, "affine", shape, "out", err(be, fo, out, no), CHECK_FLOAT_TOL);
        check_expect(run, "affine", shape, "dx", err(be, fdx, dx, nx), CHECK_FLOAT_TOL);
        check_expect(run, "affine", shape, "dw", err(be, fdw, dw, nw), CHECK_FLOAT_TOL);
        check_expect(run, "affine", shape, "db", err(be, fdb, db, M), CHECK_FLOAT_TOL);
        free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
        float *dev[] = {fx, fw, fb, fd, fo, fdx, fdw, fdb};
        for (size_t i = 0; i < 8; i++) be->release(be, dev[i]);
    }
}

static void check_relu_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 101);
    size_t n = 1001;
    double *x = rand_float_exact(&r, n, 1, 0), *dout = rand_float_exact(&r, n, 1, 0);
    x[0] = 0; /* the kink: relu'(0) = 0 as in the seed's (x > 0) */
    double *out = zeros(n), *dx = zeros(n);
    ref_relu_forward(out, x, n);
    ref_relu_backward(dx, dout, x, n);
    float *fx = up(be, x, n), *fd = up(be, dout, n), *fo = dev_zeros(be, n), *fdx = dev_zeros(be, n);
    be->relu_forward(be, fo, fx, n);
    be->relu_backward(be, fdx, fd, fx, n);
    check_expect(run, "relu", "x(1001), x[0] = 0", "out", err(be, fo, out, n), 0);
    check_expect(run, "relu", "x(1001), x[0] = 0", "dx", err(be, fdx, dx, n), 0);
    free(x), free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

/* Optional fused ops (NULL in a backend that lacks them) are checked through the caller-side
 * helper, so a row says whether the fused op or the unfused fallback ran. */
static void check_affine_relu_op(CheckRun *run)
{
    const Backend *be = run->be;
    static const int shapes[][3] = {{1, 1, 1}, {3, 7, 5}, {10, 30, 17}};
    Rng r;
    rng_seed(&r, 110);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int N = shapes[s][0], D = shapes[s][1], M = shapes[s][2];
        size_t nx = (size_t)N * D, nw = (size_t)D * M, no = (size_t)N * M;
        double *x = rand_float_exact(&r, nx, 1, 0), *w = rand_float_exact(&r, nw, 1, 0);
        double *b = rand_float_exact(&r, M, 1, 0), *act = zeros(no), *out = zeros(no);
        ref_affine_forward(act, x, w, b, N, D, M);
        ref_relu_forward(out, act, no);
        float *fx = up(be, x, nx), *fw = up(be, w, nw), *fb = up(be, b, M);
        float *fa = dev_zeros(be, no), *fo = dev_zeros(be, no);
        backend_affine_relu_forward(be, fo, fa, fx, fw, fb, N, D, M);
        char shape[96];
        snprintf(shape, sizeof shape, "x(%d,%d) w(%d,%d) %s", N, D, D, M,
                 be->affine_relu_forward ? "fused" : "unfused fallback");
        check_expect(run, "affine_relu", shape, "affine (kept for backward)", err(be, fa, act, no), CHECK_FLOAT_TOL);
        check_expect(run, "affine_relu", shape, "out", err(be, fo, out, no), CHECK_FLOAT_TOL);
        free(x), free(w), free(b), free(act), free(out);
        float *dev[] = {fx, fw, fb, fa, fo};
        for (size_t i = 0; i < 5; i++) be->release(be, dev[i]);
    }
}

/* ---- conv --------------------------------------------------------------------------------- */

static void check_conv(CheckRun *run, const char *op, const int s[9], int floor, Rng *r)
{
    const Backend *be = run->be;
    ConvGeom g;
    int (*init)(ConvGeom *, int, int, int, int, int, int, int, int, int, int) =
        floor ? conv_geom_init_floor : conv_geom_init;
    if (init(&g, s[0], s[1], s[2], s[3], s[4], s[1], s[5], s[6], s[7], s[8]) != 0) {
        check_expect(run, op, "?", nndl_last_error(), INFINITY, 0);
        return;
    }
    size_t nx = conv_in_size(&g), nw = conv_w_size(&g), no = conv_out_size(&g);
    double *x = rand_float_exact(r, nx, 1, 0), *w = rand_float_exact(r, nw, 1, 0);
    double *b = rand_float_exact(r, g.F, 1, 0), *dout = rand_float_exact(r, no, 1, 0);
    double *out = zeros(no), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(g.F);
    ref_conv_forward_naive(out, x, w, b, &g);
    ref_conv_backward_naive(dx, dw, db, dout, x, w, &g);
    float *fx = up(be, x, nx), *fw = up(be, w, nw), *fb = up(be, b, g.F), *fd = up(be, dout, no);
    float *fo = dev_zeros(be, no), *fdx = dev_zeros(be, nx), *fdw = dev_zeros(be, nw), *fdb = dev_zeros(be, g.F);
    if (be->conv_reserve(be, &g) != NNDL_OK) {
        check_expect(run, op, "?", nndl_last_error(), INFINITY, 0);
        return;
    }
    be->conv_forward(be, fo, fx, fw, fb, &g);
    be->conv_backward(be, fdx, fdw, fdb, fd, fx, fw, &g);
    char shape[96];
    snprintf(shape, sizeof shape, "x(%d,%d,%d,%d) w(%d,%d,%d,%d) s%d p%d", g.N, g.C, g.H, g.W,
             g.F, g.C, g.HH, g.WW, g.stride, g.pad);
    check_expect(run, op, shape, "out", err(be, fo, out, no), CHECK_FLOAT_TOL);
    check_expect(run, op, shape, "dx", err(be, fdx, dx, nx), CHECK_FLOAT_TOL);
    check_expect(run, op, shape, "dw", err(be, fdw, dw, nw), CHECK_FLOAT_TOL);
    check_expect(run, op, shape, "db", err(be, fdb, db, g.F), CHECK_FLOAT_TOL);
    free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw), free(db);
    float *dev[] = {fx, fw, fb, fd, fo, fdx, fdw, fdb};
    for (size_t i = 0; i < 8; i++) be->release(be, dev[i]);
}

static void check_conv_op(CheckRun *run)
{
    /* N, C, H, W, F, HH, WW, stride, pad */
    static const int shapes[][9] = {
        {1, 1, 1, 1, 1, 1, 1, 1, 0},   {1, 3, 5, 5, 2, 3, 3, 1, 1},   {2, 3, 7, 7, 4, 3, 3, 2, 0},
        {3, 2, 9, 6, 5, 5, 2, 2, 2},   {2, 4, 8, 8, 3, 1, 1, 1, 0},   {4, 3, 31, 31, 5, 3, 3, 2, 1},
        {1, 2, 6, 11, 3, 2, 4, 1, 2},  {5, 3, 13, 13, 7, 4, 4, 3, 0}, {2, 3, 16, 16, 8, 3, 3, 1, 1},
        {1, 5, 4, 3, 2, 4, 3, 1, 0},   {2, 16, 9, 7, 16, 3, 3, 1, 1}, /* wide 3x3: the cpu's Winograd */
    };
    Rng r;
    rng_seed(&r, 102);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_conv(run, "conv", shapes[s], 0, &r);
}

/* The spec's conv layers: PyTorch's output size, input past the last window left out (its dx
 * must be 0): stride 2 on even sizes, a 1x1 stride-2 projection, an unpadded even stem. */
static void check_conv_floor_op(CheckRun *run)
{
    static const int shapes[][9] = {
        {2, 3, 32, 32, 4, 3, 3, 2, 1}, {2, 4, 8, 8, 3, 1, 1, 2, 0}, {1, 3, 9, 9, 2, 2, 2, 2, 0},
        {2, 3, 10, 10, 4, 2, 2, 1, 0}, {3, 2, 11, 7, 3, 3, 3, 3, 1},
    };
    Rng r;
    rng_seed(&r, 112);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_conv(run, "conv_floor", shapes[s], 1, &r);
}

/* ---- max pool ----------------------------------------------------------------------------- */

static void check_pool(CheckRun *run, const char *op, const int s[7], double *x_or_null, int floor, Rng *r)
{
    const Backend *be = run->be;
    PoolGeom g;
    if ((floor ? pool_geom_init_floor : pool_geom_init)(&g, s[0], s[1], s[2], s[3], s[4], s[5], s[6]) != 0) {
        check_expect(run, op, "?", nndl_last_error(), INFINITY, 0);
        return;
    }
    size_t nx = pool_in_size(&g), no = pool_out_size(&g);
    double *x = x_or_null ? x_or_null : rand_float_exact(r, nx, 1, 0);
    double *dout = rand_float_exact(r, no, 1, 0), *out = zeros(no), *dx = zeros(nx);
    ref_max_pool_forward_naive(out, x, &g);
    ref_max_pool_backward_naive(dx, dout, x, &g);
    float *fx = up(be, x, nx), *fd = up(be, dout, no), *fo = dev_filled(be, STALE, no), *fdx = dev_filled(be, STALE, nx);
    be->max_pool_forward(be, fo, fx, &g);
    be->max_pool_backward(be, fdx, fd, fx, fo, &g);
    char shape[96];
    snprintf(shape, sizeof shape, "x(%d,%d,%d,%d) %dx%d s%d%s", g.N, g.C, g.H, g.W, g.ph, g.pw,
             g.stride, pool_geom_tiles(&g) ? " (tiled)" : "");
    check_expect(run, op, shape, "out", err(be, fo, out, no), 0);           /* max is exact */
    check_expect(run, op, shape, "dx", err(be, fdx, dx, nx), CHECK_FLOAT_TOL); /* overlaps add */
    if (!x_or_null) free(x);
    free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

static void check_max_pool_op(CheckRun *run)
{
    /* N, C, H, W, ph, pw, stride: tiled, overlapping, gapped, non-square, batch 1 */
    static const int shapes[][7] = {
        {2, 3, 8, 8, 2, 2, 2}, {1, 1, 6, 9, 3, 3, 3}, {2, 2, 7, 9, 3, 2, 1},
        {3, 2, 9, 9, 3, 3, 2}, {1, 2, 8, 8, 2, 2, 3}, {1, 1, 1, 1, 1, 1, 1},
        {2, 3, 32, 32, 2, 2, 2}, {1, 4, 5, 7, 1, 3, 2},
    };
    Rng r;
    rng_seed(&r, 103);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_pool(run, "max_pool", shapes[s], NULL, 0, &r);
}

/* The spec's pool<k>: PyTorch's floor output size, the input past the last window left out (its
 * dx must be 0): pool2 on 31x31 after an unpadded 2x2 stem, pool3 on 8x8. */
static void check_max_pool_floor_op(CheckRun *run)
{
    static const int shapes[][7] = {{2, 3, 31, 31, 2, 2, 2}, {2, 2, 8, 8, 3, 3, 3}, {1, 3, 7, 10, 2, 2, 2}};
    Rng r;
    rng_seed(&r, 117);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_pool(run, "max_pool_floor", shapes[s], NULL, 1, &r);
}

/* Tied maxima (small integers; zeros after a relu are the common case): every tied element gets
 * the window's gradient, as in the seed's mask. */
static void check_max_pool_ties_op(CheckRun *run)
{
    static const int shapes[][7] = {{2, 2, 8, 8, 2, 2, 2}, {1, 2, 7, 7, 3, 3, 2}};
    Rng r;
    rng_seed(&r, 104);
    for (size_t s = 0; s < 2; s++) {
        size_t n = (size_t)shapes[s][0] * shapes[s][1] * shapes[s][2] * shapes[s][3];
        double *x = zeros(n);
        for (size_t i = 0; i < n; i++) x[i] = (double)rng_below(&r, 3);
        check_pool(run, "max_pool_ties", shapes[s], x, 0, &r);
        free(x);
    }
}

/* ---- batchnorm ---------------------------------------------------------------------------- */

static void check_batchnorm(CheckRun *run, int N, int C, int S, Rng *r)
{
    const Backend *be = run->be;
    size_t n = (size_t)N * C * S;
    double *x = rand_float_exact(r, n, 3, 2), *dout = rand_float_exact(r, n, 1, 0);
    double *gamma = rand_float_exact(r, C, 1, 1), *beta = rand_float_exact(r, C, 1, 0);
    double *rm = rand_float_exact(r, C, 0.1, 0), *rv = zeros(C);
    for (int c = 0; c < C; c++) rv[c] = (float)(1 + 0.5 * c);
    float *frm = up(be, rm, C), *frv = up(be, rv, C);
    double *out = zeros(n), *dx = zeros(n), *dg = zeros(C), *dbt = zeros(C);
    RefBNParam p = {1, 1e-5, 0.9, rm, rv};
    ref_batchnorm_forward(out, x, gamma, beta, &p, N, C, S);
    ref_batchnorm_backward(dx, dg, dbt, dout, x, gamma, 1e-5, N, C, S);
    float *fx = up(be, x, n), *fd = up(be, dout, n), *fg = up(be, gamma, C), *fb = up(be, beta, C);
    float *fo = dev_zeros(be, n), *fdx = dev_zeros(be, n), *fdg = dev_zeros(be, C), *fdb = dev_zeros(be, C);
    float *fmean = dev_zeros(be, C), *fistd = dev_zeros(be, C);
    BNConfig cfg = {1, 1e-5f, 0.9f};
    be->batchnorm_forward(be, fo, fmean, fistd, frm, frv, fx, fg, fb, &cfg, N, C, S);
    be->batchnorm_backward(be, fdx, fdg, fdb, fd, fx, fg, fmean, fistd, N, C, S);
    char shape[96];
    snprintf(shape, sizeof shape, "(N %d, C %d, S %d)", N, C, S);
    check_expect(run, "batchnorm", shape, "out (train)", err(be, fo, out, n), CHECK_FLOAT_TOL);
    check_expect(run, "batchnorm", shape, "running mean", err(be, frm, rm, C), CHECK_FLOAT_TOL);
    check_expect(run, "batchnorm", shape, "running var", err(be, frv, rv, C), CHECK_FLOAT_TOL);
    /* N*S == 1 has zero variance: dx is then dominated by 1/sqrt(eps) and float cancellation */
    if (N * S > 1) check_expect(run, "batchnorm", shape, "dx", err(be, fdx, dx, n), 1e-3);
    check_expect(run, "batchnorm", shape, "dgamma", err(be, fdg, dg, C), CHECK_FLOAT_TOL);
    check_expect(run, "batchnorm", shape, "dbeta", err(be, fdb, dbt, C), CHECK_FLOAT_TOL);

    /* test mode: running statistics, which must stay as they are */
    cfg.train = 0;
    p.train = 0;
    ref_batchnorm_forward(out, x, gamma, beta, &p, N, C, S);
    be->batchnorm_forward(be, fo, fmean, fistd, frm, frv, fx, fg, fb, &cfg, N, C, S);
    check_expect(run, "batchnorm", shape, "out (test mode)", err(be, fo, out, n), CHECK_FLOAT_TOL);
    check_expect(run, "batchnorm", shape, "running mean kept (test mode)", err(be, frm, rm, C),
                 CHECK_FLOAT_TOL);

    free(x), free(dout), free(gamma), free(beta), free(rm), free(rv), free(out), free(dx),
        free(dg), free(dbt);
    float *dev[] = {frm, frv, fx, fd, fg, fb, fo, fdx, fdg, fdb, fmean, fistd};
    for (size_t i = 0; i < 12; i++) be->release(be, dev[i]);
}

static void check_batchnorm_op(CheckRun *run)
{
    Rng r;
    rng_seed(&r, 105);
    check_batchnorm(run, 7, 5, 1, &r);     /* (N, D) */
    check_batchnorm(run, 3, 4, 9, &r);     /* spatial */
    check_batchnorm(run, 1, 3, 16, &r);    /* batch 1, spatial */
    check_batchnorm(run, 1, 2, 1, &r);     /* a single value per channel */
    check_batchnorm(run, 50, 16, 64, &r);  /* larger reductions */
}

/* ---- batchnorm + relu (+ max pool), fused or its fallback ---------------------------------- */

/* One case: x (N, C, H, W) (a vector of C when H = W = 1), pool k x k (0: none). With `ties`
 * x takes few distinct values (multiples of 0.5), so pooling windows hold equal maxima, and
 * channel 0 is constant (zero variance: every batchnorm output equals beta). */
static void check_bn_relu_pool(CheckRun *run, int N, int C, int H, int W, int k, int ties, Rng *r)
{
    const Backend *be = run->be;
    int S = H * W;
    size_t n = (size_t)N * C * S;
    PoolGeom g, *pool = NULL;
    if (k) {
        pool_geom_init(&g, N, C, H, W, k, k, k);
        pool = &g;
    }
    size_t no = pool ? pool_out_size(pool) : n;
    double *x = rand_float_exact(r, n, 3, 0.5), *dout = rand_float_exact(r, no, 1, 0);
    double *gamma = rand_float_exact(r, C, 1, 1), *beta = rand_float_exact(r, C, 1, 0);
    if (ties) {
        for (size_t i = 0; i < n; i++) x[i] = round(2 * x[i]) / 2;
        for (int i = 0; i < N; i++)
            for (int s = 0; s < S; s++) x[(size_t)i * C * S + s] = 1.5;
        beta[0] = 0.75; /* relu passes the constant channel: every window element ties */
    }
    double *rm = zeros(C), *rv = zeros(C), *y = zeros(n), *act = zeros(n), *out = zeros(no);
    RefBNParam p = {1, 1e-5, 0.9, rm, rv};
    ref_batchnorm_forward(y, x, gamma, beta, &p, N, C, S);
    ref_relu_forward(act, y, n);
    if (pool) ref_max_pool_forward_naive(out, act, pool);
    else memcpy(out, act, n * sizeof *out);
    double *dact = zeros(n), *dy = zeros(n), *dx = zeros(n), *dg = zeros(C), *dbt = zeros(C);
    if (pool) ref_max_pool_backward_naive(dact, dout, act, pool);
    else memcpy(dact, dout, n * sizeof *dact);
    ref_relu_backward(dy, dact, y, n);
    ref_batchnorm_backward(dx, dg, dbt, dy, x, gamma, 1e-5, N, C, S);

    float *fx = up(be, x, n), *fd = up(be, dout, no), *fg = up(be, gamma, C), *fb = up(be, beta, C);
    float *frm = dev_zeros(be, C), *frv = dev_zeros(be, C), *fmean = dev_zeros(be, C), *fistd = dev_zeros(be, C);
    float *fo = dev_zeros(be, no), *fbn = dev_zeros(be, n), *frelu = dev_zeros(be, n), *fspare = dev_zeros(be, n);
    float *fdout = dev_zeros(be, n), *fdg = dev_zeros(be, C), *fdb = dev_zeros(be, C);
    be->copy(be, fdout, fd, no * sizeof *fd); /* the backward overwrites its dout */
    BNConfig cfg = {1, 1e-5f, 0.9f};
    backend_bn_relu_pool_forward(be, fo, fbn, pool ? frelu : fo, fmean, fistd, frm, frv, fx, fg, fb, &cfg, pool, N,
                                 C, S);
    float *fdx = backend_bn_relu_pool_backward(be, fdg, fdb, fdout, fspare, fo, fbn, pool ? frelu : fo, fx, fg, fb,
                                               fmean, fistd, pool, N, C, S);
    char shape[96];
    snprintf(shape, sizeof shape, "(N %d, C %d, %dx%d) pool %d%s, %s", N, C, H, W, k, ties ? " ties" : "",
             be->bn_relu_pool_forward && (!pool || pool_geom_tiles(pool)) ? "fused" : "unfused fallback");
    check_expect(run, "bn_relu_pool", shape, "out", err(be, fo, out, no), CHECK_FLOAT_TOL);
    check_expect(run, "bn_relu_pool", shape, "running mean", err(be, frm, rm, C), CHECK_FLOAT_TOL);
    check_expect(run, "bn_relu_pool", shape, "running var", err(be, frv, rv, C), CHECK_FLOAT_TOL);
    check_expect(run, "bn_relu_pool", shape, "dx", err(be, fdx, dx, n), 1e-3); /* as batchnorm's dx */
    check_expect(run, "bn_relu_pool", shape, "dgamma", err(be, fdg, dg, C), CHECK_FLOAT_TOL);
    check_expect(run, "bn_relu_pool", shape, "dbeta", err(be, fdb, dbt, C), CHECK_FLOAT_TOL);

    /* test mode: the running statistics normalise */
    cfg.train = 0;
    p.train = 0;
    ref_batchnorm_forward(y, x, gamma, beta, &p, N, C, S);
    ref_relu_forward(act, y, n);
    if (pool) ref_max_pool_forward_naive(out, act, pool);
    else memcpy(out, act, n * sizeof *out);
    backend_bn_relu_pool_forward(be, fo, fbn, pool ? frelu : fo, fmean, fistd, frm, frv, fx, fg, fb, &cfg, pool, N,
                                 C, S);
    check_expect(run, "bn_relu_pool", shape, "out (test mode)", err(be, fo, out, no), CHECK_FLOAT_TOL);

    double *host[] = {x, dout, gamma, beta, rm, rv, y, act, out, dact, dy, dx, dg, dbt};
    for (size_t i = 0; i < sizeof host / sizeof *host; i++) free(host[i]);
    float *dev[] = {fx, fd, fg, fb, frm, frv, fmean, fistd, fo, fbn, frelu, fspare, fdout, fdg, fdb};
    for (size_t i = 0; i < sizeof dev / sizeof *dev; i++) be->release(be, dev[i]);
}

static void check_bn_relu_pool_op(CheckRun *run)
{
    Rng r;
    rng_seed(&r, 111);
    check_bn_relu_pool(run, 7, 5, 1, 1, 0, 0, &r);    /* after an affine: (N, D) */
    check_bn_relu_pool(run, 3, 4, 3, 5, 0, 0, &r);    /* spatial, no pool */
    check_bn_relu_pool(run, 4, 3, 8, 6, 2, 0, &r);    /* pool 2 */
    check_bn_relu_pool(run, 2, 2, 9, 9, 3, 0, &r);    /* pool 3 */
    check_bn_relu_pool(run, 1, 3, 4, 4, 4, 0, &r);    /* batch 1, one window per plane */
    check_bn_relu_pool(run, 5, 3, 6, 6, 2, 1, &r);    /* tied maxima, a constant channel */
    check_bn_relu_pool(run, 20, 16, 16, 16, 2, 0, &r); /* large enough for the threaded path */
}

/* ---- dropout ------------------------------------------------------------------------------ */

static void check_dropout_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 106);
    size_t n = 20000;
    double *x = rand_float_exact(&r, n, 1, 3), *dout = rand_float_exact(&r, n, 1, 0);
    double *out = zeros(n), *dx = zeros(n);
    float *fx = up(be, x, n), *fd = up(be, dout, n), *fo = dev_zeros(be, n), *fdx = dev_zeros(be, n);
    float p_keeps[] = {0.25f, 0.5f, 0.8f};
    for (int k = 0; k < 3; k++) {
        DropoutConfig d = {1, p_keeps[k], 77, (uint64_t)k + 3, NULL};
        ref_dropout_forward(out, x, n, d.p_keep, d.seed, d.step, 1);
        ref_dropout_backward(dx, dout, n, d.p_keep, d.seed, d.step, 1);
        be->dropout_forward(be, fo, fx, n, &d);
        be->dropout_backward(be, fdx, fd, n, &d);
        char shape[96];
        snprintf(shape, sizeof shape, "x(20000) keep %g", p_keeps[k]);
        check_expect(run, "dropout", shape, "out (the reference's mask)", err(be, fo, out, n), 1e-6);
        check_expect(run, "dropout", shape, "dx", err(be, fdx, dx, n), 1e-6);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) kept += out[i] != 0;
        /* binomial: sd = sqrt(n p (1-p)) <= 71; 5 sd */
        check_expect(run, "dropout", shape, "|kept - p n| (5 sd: 360)", fabs((double)kept - p_keeps[k] * n), 360);
        DropoutConfig test = d;
        test.train = 0;
        be->dropout_forward(be, fo, fx, n, &test);
        check_expect(run, "dropout", shape, "identity in test mode", err(be, fo, x, n), 0);
        /* the step read from device memory (a recorded step) overrides d.step */
        int64_t step = (int64_t)d.step, *fstep = be->alloc(be, sizeof *fstep);
        be->to_device(be, fstep, &step, sizeof step);
        DropoutConfig at = d;
        at.step = 0, at.step_at = fstep;
        be->dropout_forward(be, fo, fx, n, &at);
        check_expect(run, "dropout", shape, "out, step read from the device", err(be, fo, out, n), 1e-6);
        be->release(be, fstep);
    }
    free(x), free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

/* A device loss slot holding `value`, and its value read back: the loss ops write into device
 * memory. */
static double *slot_with(const Backend *be, double value)
{
    double *d = be->alloc(be, sizeof *d);
    be->to_device(be, d, &value, sizeof value);
    return d;
}

static double slot_value(const Backend *be, const double *slot)
{
    double v;
    be->to_host(be, &v, slot, sizeof v);
    return v;
}

/* ---- losses and L2 helpers ---------------------------------------------------------------- */

static void check_losses_op(CheckRun *run)
{
    const Backend *be = run->be;
    static const int shapes[][2] = {{1, 2}, {7, 10}, {100, 10}, {33, 3}};
    Rng r;
    rng_seed(&r, 107);
    for (size_t s = 0; s < 4; s++) {
        int N = shapes[s][0], C = shapes[s][1];
        size_t n = (size_t)N * C;
        double *x = rand_float_exact(&r, n, 2, 0), *dx = zeros(n);
        int *y = rand_labels(&r, N, C), *fy = up_labels(be, y, N);
        float *fx = up(be, x, n), *fdx = dev_zeros(be, n);
        double *slot = slot_with(be, 1e30); /* overwritten, not added to */
        double want = ref_softmax_loss(dx, x, y, N, C);
        be->softmax_loss(be, fdx, slot, fx, fy, N, C);
        double got = slot_value(be, slot);
        char shape[96];
        snprintf(shape, sizeof shape, "scores(%d,%d)", N, C);
        check_expect(run, "losses", shape, "softmax loss", fabs(got - want) / fmax(1, want), 1e-6);
        check_expect(run, "losses", shape, "softmax dx", err(be, fdx, dx, n), 1e-6);
        want = ref_svm_loss(dx, x, y, N, C);
        be->svm_loss(be, fdx, slot, fx, fy, N, C);
        got = slot_value(be, slot);
        check_expect(run, "losses", shape, "svm loss", fabs(got - want) / fmax(1, want), 1e-6);
        check_expect(run, "losses", shape, "svm dx", err(be, fdx, dx, n), 1e-6);
        free(x), free(dx), free(y);
        be->release(be, fy), be->release(be, fx), be->release(be, fdx), be->release(be, slot);
    }
}

/* Label smoothing: PyTorch's cross_entropy(label_smoothing=eps) against the double reference. */
static void check_smoothed_loss_op(CheckRun *run)
{
    const Backend *be = run->be;
    static const int shapes[][2] = {{1, 2}, {7, 10}, {100, 10}};
    static const float eps[] = {0.2f, 0.05f, 1.0f};
    Rng r;
    rng_seed(&r, 110);
    for (size_t s = 0; s < 3; s++) {
        int N = shapes[s][0], C = shapes[s][1];
        size_t n = (size_t)N * C;
        double *x = rand_float_exact(&r, n, 2, 0), *dx = zeros(n);
        int *y = rand_labels(&r, N, C), *fy = up_labels(be, y, N);
        float *fx = up(be, x, n), *fdx = dev_zeros(be, n);
        double *slot = slot_with(be, 1e30);
        double want = ref_softmax_loss_smoothed(dx, x, y, N, C, eps[s]);
        be->softmax_smoothed_loss(be, fdx, slot, fx, fy, N, C, eps[s]);
        double got = slot_value(be, slot);
        char shape[96];
        snprintf(shape, sizeof shape, "scores(%d,%d) eps %g", N, C, eps[s]);
        check_expect(run, "smoothed_loss", shape, "loss", fabs(got - want) / fmax(1, want), 1e-6);
        check_expect(run, "smoothed_loss", shape, "dx", err(be, fdx, dx, n), 1e-6);
        free(x), free(dx), free(y);
        be->release(be, fy), be->release(be, fx), be->release(be, fdx), be->release(be, slot);
    }
}

/* Augmentation moves values without arithmetic: the backend must match the reference exactly. */
static void check_augment_op(CheckRun *run)
{
    const Backend *be = run->be;
    static const struct { int N, C, H, W; AugmentConfig a; const char *name; } cases[] = {
        {5, 3, 8, 8, {.pad = 2, .pad_mode = PAD_REFLECT, .flip = 1, .seed = 7, .epoch = 3}, "reflect 2 flip"},
        {6, 2, 7, 9, {.pad = 3, .pad_mode = PAD_ZERO, .flip = 1, .cutout = 4, .seed = 1, .epoch = 0},
         "zero 3 flip cutout 4"},
        {4, 1, 5, 5, {.pad = 4, .pad_mode = PAD_REFLECT, .cutout = 3, .seed = 2, .epoch = 9}, "reflect 4 cutout 3"},
        {3, 3, 6, 6, {.fixed = 1, .fixed_dy = -1, .fixed_dx = 2, .fixed_flip = 1, .pad_mode = PAD_REFLECT},
         "fixed shift (-1, 2) flip"},
    };
    Rng r;
    rng_seed(&r, 111);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int N = cases[k].N, C = cases[k].C, H = cases[k].H, W = cases[k].W;
        size_t n = (size_t)N * C * H * W;
        double *x = rand_float_exact(&r, n, 1, 0), *want = zeros(n);
        int examples[8];
        for (int i = 0; i < N; i++) examples[i] = 1000 + 37 * i;
        int *fex = cases[k].a.fixed ? NULL : up_labels(be, examples, N);
        float *fx = up(be, x, n), *fout = dev_zeros(be, n);
        ref_augment(want, x, cases[k].a.fixed ? NULL : examples, N, C, H, W, &cases[k].a);
        be->augment(be, fout, fx, fex, N, C, H, W, &cases[k].a);
        char shape[96];
        snprintf(shape, sizeof shape, "x(%d,%d,%d,%d) %s", N, C, H, W, cases[k].name);
        check_expect(run, "augment", shape, "out (exact)", err(be, fout, want, n), 0);
        if (!cases[k].a.fixed) { /* epoch and examples from device StepVars: a recorded step */
            int order[10] = {5, 6};
            for (int i = 0; i < N; i++) order[2 + i] = examples[i];
            StepVars v = {.batch_start = 2, .epoch = (int64_t)cases[k].a.epoch}, *fv = be->alloc(be, sizeof *fv);
            int *forder = up_labels(be, order, N + 2);
            be->to_device(be, fv, &v, sizeof v);
            AugmentConfig a = cases[k].a;
            a.epoch += 1, a.vars = fv;
            be->fill(be, fout, 0, n);
            be->augment(be, fout, fx, forder, N, C, H, W, &a);
            check_expect(run, "augment", shape, "out, epoch and examples read from the device", err(be, fout, want, n), 0);
            be->release(be, fv), be->release(be, forder);
        }
        free(x), free(want);
        if (fex) be->release(be, fex);
        be->release(be, fx), be->release(be, fout);
    }
}

static void check_axpby_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 112);
    size_t n = 70001;
    double *x = rand_float_exact(&r, n, 1, 0), *y = rand_float_exact(&r, n, 1, 0);
    float *fx = up(be, x, n), *fy = up(be, y, n);
    for (size_t i = 0; i < n; i++) y[i] = (double)0.25f * x[i] + (double)0.999f * y[i];
    be->axpby(be, fy, 0.25f, fx, 0.999f, n);
    check_expect(run, "axpby", "x, y (70001)", "y = a x + b y", err(be, fy, y, n), 1e-6);
    free(x), free(y);
    be->release(be, fx), be->release(be, fy);
}

static void check_l2_penalty_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 108);
    size_t n = 123457; /* large enough for the threaded path */
    double *w = rand_float_exact(&r, n, 1, 0), *dw = rand_float_exact(&r, n, 1, 0), ss = 0;
    float *fw = up(be, w, n), *fdw = up(be, dw, n);
    for (size_t i = 0; i < n; i++) ss += w[i] * w[i], dw[i] += (double)0.25f * w[i];
    double *slot = slot_with(be, 2.5); /* the data loss already there: the penalty adds to it */
    be->l2_penalty(be, fdw, slot, fw, 0.25f, n);
    double want = 2.5 + 0.5 * 0.25 * ss;
    check_expect(run, "l2_penalty", "w(123457) reg 0.25", "loss += 0.5 reg sum(w^2)",
                 fabs(slot_value(be, slot) - want) / want, 1e-6);
    check_expect(run, "l2_penalty", "w(123457) reg 0.25", "dw += reg * w", err(be, fdw, dw, n), 1e-6);
    free(w), free(dw);
    be->release(be, fw), be->release(be, fdw), be->release(be, slot);
}

/* ---- update rules ---------------------------------------------------------------------------- */

/* Three steps of every rule, so state and Adam's step count carry over. */
static void check_update_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 109);
    size_t n = 1001;
    for (int rule = 0; rule < UPDATE_RULE_COUNT; rule++) {
        double *w = rand_float_exact(&r, n, 1, 0), *dw = rand_float_exact(&r, n, 1, 0);
        double *s1 = rand_float_exact(&r, n, 0.1, 0), *s2 = rand_float_exact(&r, n, 0.1, 0);
        for (size_t i = 0; i < n; i++) /* squared-gradient caches are never negative */
            if (rule == UPDATE_RMSPROP || rule == UPDATE_ADAM) s1[i] = fabs(s1[i]), s2[i] = fabs(s2[i]);
        if (rule == UPDATE_ADAM) /* Adam's first state is the signed mean: keep s1 signed */
            for (size_t i = 0; i < n; i++) s1[i] = (float)(dw[i] * 0.1);
        float *fw = up(be, w, n), *fdw = up(be, dw, n), *fs1 = up(be, s1, n), *fs2 = up(be, s2, n);
        OptimConfig c = optim_config_default((UpdateRule)rule), oc;
        c.t = 5;
        c.weight_decay = rule == UPDATE_SGD ? 0 : 0.5f; /* decoupled decay (sgd stays plain) */
        for (int step = 0; step < 3; step++) {
            backend_update(be, &c, fw, fdw, fs1, fs2, n);
            oc = c; /* t already incremented, as ref_update expects */
            ref_update(&oc, w, dw, s1, s2, n);
        }
        char shape[96];
        snprintf(shape, sizeof shape, "%s w(1001) x3 steps", optim_rule_name((UpdateRule)rule));
        check_expect(run, "update", shape, "w", err(be, fw, w, n), 1e-6);
        if (optim_state_count((UpdateRule)rule) >= 1)
            check_expect(run, "update", shape, "state 1", err(be, fs1, s1, n), 1e-6);
        if (optim_state_count((UpdateRule)rule) == 2)
            check_expect(run, "update", shape, "state 2", err(be, fs2, s2, n), 1e-6);
        free(w), free(dw), free(s1), free(s2);
        be->release(be, fw), be->release(be, fdw), be->release(be, fs1), be->release(be, fs2);
    }
}

/* ---- the table ---------------------------------------------------------------------------- */

/* ---- global pools, GELU, scale and add -------------------------------------------------- */

/* gmp is a max pool whose window is the whole map */
static void check_global_max_pool_op(CheckRun *run)
{
    static const int shapes[][7] = {{2, 3, 8, 8, 8, 8, 1}, {3, 5, 4, 7, 4, 7, 1}, {1, 1, 1, 1, 1, 1, 1}};
    Rng r;
    rng_seed(&r, 113);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) check_pool(run, "global_max_pool", shapes[s], NULL, 0, &r);
}

static void check_global_avg_pool_op(CheckRun *run)
{
    const Backend *be = run->be;
    static const int shapes[][2] = {{6, 64}, {15, 28}, {1, 1}, {4, 1024}}; /* rows = N*C, S = H*W */
    Rng r;
    rng_seed(&r, 114);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t rows = (size_t)shapes[s][0], nx = rows * shapes[s][1];
        int S = shapes[s][1];
        double *x = rand_float_exact(&r, nx, 1, 0.5), *dout = rand_float_exact(&r, rows, 1, 0);
        double *out = zeros(rows), *dx = zeros(nx);
        ref_global_avg_pool_forward(out, x, rows, S);
        ref_global_avg_pool_backward(dx, dout, rows, S);
        float *fx = up(be, x, nx), *fd = up(be, dout, rows), *fo = dev_zeros(be, rows), *fdx = dev_zeros(be, nx);
        be->global_avg_pool_forward(be, fo, fx, rows, S);
        be->global_avg_pool_backward(be, fdx, fd, rows, S);
        char shape[96];
        snprintf(shape, sizeof shape, "x(%zu rows, %d)", rows, S);
        check_expect(run, "global_avg_pool", shape, "out", err(be, fo, out, rows), CHECK_FLOAT_TOL);
        check_expect(run, "global_avg_pool", shape, "dx", err(be, fdx, dx, nx), CHECK_FLOAT_TOL);
        free(x), free(dout), free(out), free(dx);
        be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
    }
}

static void check_gelu_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 115);
    size_t n = 1003;
    double *x = rand_float_exact(&r, n, 3, 0), *dout = rand_float_exact(&r, n, 1, 0);
    x[0] = 0, x[1] = -12, x[2] = 12; /* the origin and both tails, where erf saturates */
    double *out = zeros(n), *dx = zeros(n);
    ref_gelu_forward(out, x, n);
    ref_gelu_backward(dx, dout, x, n);
    float *fx = up(be, x, n), *fd = up(be, dout, n), *fo = dev_zeros(be, n), *fdx = dev_zeros(be, n);
    be->gelu_forward(be, fo, fx, n);
    be->gelu_backward(be, fdx, fd, fx, n);
    check_expect(run, "gelu", "x(1003) ~ 3 N(0,1), 0, +-12", "out", err(be, fo, out, n), CHECK_FLOAT_TOL);
    check_expect(run, "gelu", "x(1003) ~ 3 N(0,1), 0, +-12", "dx", err(be, fdx, dx, n), CHECK_FLOAT_TOL);
    free(x), free(dout), free(out), free(dx);
    be->release(be, fx), be->release(be, fd), be->release(be, fo), be->release(be, fdx);
}

/* scale (a constant layer, and its backward) and add (a residual block's sum), in place too */
static void check_scale_add_op(CheckRun *run)
{
    const Backend *be = run->be;
    Rng r;
    rng_seed(&r, 116);
    size_t n = 777;
    double *a = rand_float_exact(&r, n, 2, 0), *b = rand_float_exact(&r, n, 2, 0);
    double *scaled = zeros(n), *sum = zeros(n);
    ref_scale(scaled, a, 0.125, n);
    ref_add(sum, a, b, n);
    float *fa = up(be, a, n), *fb = up(be, b, n), *fs = dev_zeros(be, n), *ft = dev_zeros(be, n);
    be->scale(be, fs, fa, 0.125f, n);
    be->add(be, ft, fa, fb, n);
    check_expect(run, "scale_add", "x(777) * 0.125", "out", err(be, fs, scaled, n), CHECK_FLOAT_TOL);
    check_expect(run, "scale_add", "x(777) + y(777)", "out", err(be, ft, sum, n), CHECK_FLOAT_TOL);
    be->add(be, fa, fa, fb, n);
    be->scale(be, fb, fb, 0.125f, n);
    ref_scale(scaled, b, 0.125, n);
    check_expect(run, "scale_add", "x(777) += y(777)", "out", err(be, fa, sum, n), CHECK_FLOAT_TOL);
    check_expect(run, "scale_add", "x(777) *= 0.125", "out", err(be, fb, scaled, n), CHECK_FLOAT_TOL);
    free(a), free(b), free(scaled), free(sum);
    be->release(be, fa), be->release(be, fb), be->release(be, fs), be->release(be, ft);
}

const OpCheck op_checks[] = {
    {"affine", "affine", check_affine_op},
    {"relu", "relu", check_relu_op},
    {"affine_relu", "affine + relu (fused or its fallback)", check_affine_relu_op},
    {"conv", "conv (11 shapes)", check_conv_op},
    {"conv_floor", "conv with input past the last window (5 shapes)", check_conv_floor_op},
    {"max_pool", "max pool (8 shapes)", check_max_pool_op},
    {"max_pool_floor", "max pool with input past the last window (3 shapes)", check_max_pool_floor_op},
    {"max_pool_ties", "max pool with tied maxima", check_max_pool_ties_op},
    {"global_max_pool", "global max pool (3 shapes)", check_global_max_pool_op},
    {"global_avg_pool", "global average pool (4 shapes)", check_global_avg_pool_op},
    {"gelu", "gelu", check_gelu_op},
    {"scale_add", "scale and add", check_scale_add_op},
    {"batchnorm", "batchnorm and spatial batchnorm", check_batchnorm_op},
    {"bn_relu_pool", "batchnorm + relu (+ max pool), fused or its fallback", check_bn_relu_pool_op},
    {"dropout", "dropout", check_dropout_op},
    {"losses", "softmax and svm losses", check_losses_op},
    {"smoothed_loss", "softmax with label smoothing", check_smoothed_loss_op},
    {"augment", "training-batch augmentation", check_augment_op},
    {"axpby", "axpby", check_axpby_op},
    {"l2_penalty", "l2_penalty", check_l2_penalty_op},
    {"update", "update rules (5 rules, 3 steps)", check_update_op},
};
const size_t op_check_count = sizeof op_checks / sizeof *op_checks;

const OpCheck *op_check_find(const char *name)
{
    for (size_t i = 0; i < op_check_count; i++)
        if (strcmp(op_checks[i].name, name) == 0) return &op_checks[i];
    return NULL;
}
