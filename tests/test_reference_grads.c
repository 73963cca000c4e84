/* test_reference_grads.c — every reference layer and sandwich: analytic backward against
 * centered-difference gradients (the seed's eval_numerical_gradient_array), on the seed's shapes
 * plus non-square and overlapping cases. Limits sit at the seed's reported magnitudes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "reference.h"
#include "test_util.h"

/* One layer under test: its inputs, shapes and forward; the gradient checker perturbs the
 * inputs in place and calls forward again. */
typedef struct Case {
    double *x, *w, *b, *gamma, *beta;
    double rm[64], rv[64];      /* running stats scratch for batchnorm in train mode */
    ConvGeom cg;
    PoolGeom pg;
    int N, D, M;                /* affine; batchnorm uses N, D as (N, C) and S */
    int S;
    size_t n_out;
    void (*forward)(double *out, struct Case *c);
} Case;

static RefBNParam train_bn(Case *c) { return (RefBNParam){1, 1e-5, 0.9, c->rm, c->rv}; }

static void forward_thunk(double *out, void *ctx)
{
    Case *c = ctx;
    c->forward(out, c);
}

/* rel_error between the analytic gradient and the numeric one for input `param` (n values). */
static double check(Case *c, const double *analytic, double *param, size_t n, const double *dout)
{
    double *num = zeros(n);
    eval_numerical_gradient_array(num, forward_thunk, c, param, n, dout, c->n_out, 1e-5);
    double e = rel_error(analytic, num, n);
    free(num);
    return e;
}

static void free_case(Case *c)
{
    free(c->x), free(c->w), free(c->b), free(c->gamma), free(c->beta);
}

/* ---- affine, relu, batchnorm, dropout ------------------------------------------------------ */

static void fwd_affine(double *out, Case *c) { ref_affine_forward(out, c->x, c->w, c->b, c->N, c->D, c->M); }
static void fwd_relu(double *out, Case *c) { ref_relu_forward(out, c->x, c->n_out); }
static void fwd_bn(double *out, Case *c)
{
    RefBNParam p = train_bn(c);
    ref_batchnorm_forward(out, c->x, c->gamma, c->beta, &p, c->N, c->D, c->S);
}
static void fwd_dropout(double *out, Case *c) { ref_dropout_forward(out, c->x, c->n_out, 0.8f, 123, 4, 1); }

static void test_affine_backward(void)
{
    Rng r;
    rng_seed(&r, 1);
    Case c = {.N = 10, .D = 6, .M = 5, .n_out = 50, .forward = fwd_affine};
    c.x = randn(&r, 60, 1, 0), c.w = randn(&r, 30, 1, 0), c.b = randn(&r, 5, 1, 0);
    double *dout = randn(&r, 50, 1, 0), dx[60], dw[30], db[5];
    ref_affine_backward(dx, dw, db, dout, c.x, c.w, c.N, c.D, c.M);
    ASSERT_BELOW(check(&c, dx, c.x, 60, dout), 1e-8, "affine dx");
    ASSERT_BELOW(check(&c, dw, c.w, 30, dout), 1e-8, "affine dw");
    ASSERT_BELOW(check(&c, db, c.b, 5, dout), 1e-8, "affine db");
    free(dout), free_case(&c);
}

static void test_relu_backward(void)
{
    Rng r;
    rng_seed(&r, 2);
    Case c = {.n_out = 100, .forward = fwd_relu};
    c.x = randn(&r, 100, 1, 0);
    double *dout = randn(&r, 100, 1, 0), dx[100];
    ref_relu_backward(dx, dout, c.x, 100);
    ASSERT_BELOW(check(&c, dx, c.x, 100, dout), 1e-9, "relu dx");
    free(dout), free_case(&c);
}

static void check_batchnorm(int N, int C, int S, unsigned seed, double shift, double scale)
{
    Rng r;
    rng_seed(&r, seed);
    size_t n = (size_t)N * C * S;
    Case c = {.N = N, .D = C, .S = S, .n_out = n, .forward = fwd_bn};
    c.x = randn(&r, n, scale, shift), c.gamma = randn(&r, C, 1, 0), c.beta = randn(&r, C, 1, 0);
    double *dout = randn(&r, n, 1, 0), *dx = zeros(n), dg[64], dbt[64];
    ref_batchnorm_backward(dx, dg, dbt, dout, c.x, c.gamma, 1e-5, N, C, S);
    ASSERT_BELOW(check(&c, dx, c.x, n, dout), 1e-7, "batchnorm dx");
    ASSERT_BELOW(check(&c, dg, c.gamma, C, dout), 1e-10, "batchnorm dgamma");
    ASSERT_BELOW(check(&c, dbt, c.beta, C, dout), 1e-10, "batchnorm dbeta");
    free(dout), free(dx), free_case(&c);
}

static void test_batchnorm_backward(void) { check_batchnorm(4, 5, 1, 3, 5, 2); }
/* The seed's spatial case (In [111]): x = 5 * randn(2, 3, 4, 5) + 12. */
static void test_spatial_batchnorm_backward(void) { check_batchnorm(2, 3, 20, 4, 12, 5); }

static void test_dropout_backward(void)
{
    Rng r;
    rng_seed(&r, 5);
    Case c = {.n_out = 100, .forward = fwd_dropout};
    c.x = randn(&r, 100, 1, 10);
    double *dout = randn(&r, 100, 1, 0), dx[100];
    ref_dropout_backward(dx, dout, 100, 0.8f, 123, 4, 1);
    ASSERT_BELOW(check(&c, dx, c.x, 100, dout), 1e-9, "dropout dx");
    free(dout), free_case(&c);
}

/* ---- losses ------------------------------------------------------------------------------- */

typedef struct LossCase { double *x; int *y; int N, C; double (*loss)(double *, const double *, const int *, int, int); } LossCase;
static double loss_thunk(void *ctx)
{
    LossCase *l = ctx;
    return l->loss(NULL, l->x, l->y, l->N, l->C);
}

static void check_loss(double (*loss)(double *, const double *, const int *, int, int),
                       const char *what)
{
    Rng r;
    rng_seed(&r, 6);
    LossCase l = {.N = 50, .C = 10, .loss = loss};
    l.x = randn(&r, 500, 1e-3, 0), l.y = rand_labels(&r, 50, 10);
    double dx[500], num[500];
    loss(dx, l.x, l.y, l.N, l.C);
    eval_numerical_gradient(num, loss_thunk, &l, l.x, 500, 1e-5);
    ASSERT_BELOW(rel_error(dx, num, 500), 1e-7, what);
    free(l.x), free(l.y);
}

static void test_softmax_loss_gradient(void) { check_loss(ref_softmax_loss, "softmax dx"); }
static void test_svm_loss_gradient(void) { check_loss(ref_svm_loss, "svm dx"); }
static double smoothed_loss_02(double *dx, const double *x, const int *y, int N, int C)
{
    return ref_softmax_loss_smoothed(dx, x, y, N, C, 0.2);
}
static void test_smoothed_loss_gradient(void) { check_loss(smoothed_loss_02, "label-smoothed softmax dx"); }

/* ---- conv and pool ------------------------------------------------------------------------- */

static void fwd_conv(double *out, Case *c) { ref_conv_forward_naive(out, c->x, c->w, c->b, &c->cg); }
static void fwd_pool(double *out, Case *c) { ref_max_pool_forward_naive(out, c->x, &c->pg); }

static void check_conv_geom(int N, int C, int H, int W, int F, int HH, int WW, int stride, int pad, int floor)
{
    Rng r;
    rng_seed(&r, (uint64_t)(N * 1000 + H * 10 + WW));
    Case c = {.forward = fwd_conv};
    CU_ASSERT_FATAL((floor ? conv_geom_init_floor : conv_geom_init)(&c.cg, N, C, H, W, F, C, HH, WW, stride, pad) == 0);
    size_t nx = conv_in_size(&c.cg), nw = conv_w_size(&c.cg);
    c.n_out = conv_out_size(&c.cg);
    c.x = randn(&r, nx, 1, 0), c.w = randn(&r, nw, 1, 0), c.b = randn(&r, F, 1, 0);
    double *dout = randn(&r, c.n_out, 1, 0), *dx = zeros(nx), *dw = zeros(nw), *db = zeros(F);
    ref_conv_backward_naive(dx, dw, db, dout, c.x, c.w, &c.cg);
    ASSERT_BELOW(check(&c, dx, c.x, nx, dout), 1e-7, "conv dx");
    ASSERT_BELOW(check(&c, dw, c.w, nw, dout), 1e-7, "conv dw");
    ASSERT_BELOW(check(&c, db, c.b, F, dout), 1e-9, "conv db");
    free(dout), free(dx), free(dw), free(db), free_case(&c);
}

static void check_conv(int N, int C, int H, int W, int F, int HH, int WW, int stride, int pad)
{
    check_conv_geom(N, C, H, W, F, HH, WW, stride, pad, 0);
}

/* The seed's case (In [39]) and a non-square filter with stride 2 and pad 2. */
static void test_conv_backward(void) { check_conv(4, 3, 5, 5, 2, 3, 3, 1, 1); }
static void test_conv_backward_nonsquare(void) { check_conv(2, 3, 7, 6, 2, 3, 2, 2, 2); }
/* PyTorch's output size: 3x3 stride 2 pad 1 on 8x8 leaves the last row and column out (dx 0
 * there), a 1x1 stride-2 projection, an unpadded 2x2 stem. */
static void test_conv_backward_floor(void)
{
    check_conv_geom(2, 3, 8, 8, 4, 3, 3, 2, 1, 1);
    check_conv_geom(2, 3, 6, 6, 2, 1, 1, 2, 0, 1);
    check_conv_geom(1, 3, 5, 5, 3, 2, 2, 1, 0, 1);
}

static void check_pool_geom(int N, int C, int H, int W, int ph, int pw, int stride, int floor)
{
    Rng r;
    rng_seed(&r, (uint64_t)(H * 100 + ph * 10 + stride));
    Case c = {.forward = fwd_pool};
    CU_ASSERT_FATAL((floor ? pool_geom_init_floor : pool_geom_init)(&c.pg, N, C, H, W, ph, pw, stride) == 0);
    size_t nx = pool_in_size(&c.pg);
    c.n_out = pool_out_size(&c.pg);
    c.x = randn(&r, nx, 1, 0);
    double *dout = randn(&r, c.n_out, 1, 0), *dx = zeros(nx);
    ref_max_pool_backward_naive(dx, dout, c.x, &c.pg);
    ASSERT_BELOW(check(&c, dx, c.x, nx, dout), 1e-9, "max pool dx");
    free(dout), free(dx), free_case(&c);
}

static void check_pool(int N, int C, int H, int W, int ph, int pw, int stride)
{
    check_pool_geom(N, C, H, W, ph, pw, stride, 0);
}

/* The seed's case (In [41]) and overlapping non-square windows. */
static void test_max_pool_backward(void) { check_pool(3, 2, 8, 8, 2, 2, 2); }
static void test_max_pool_backward_overlapping(void) { check_pool(2, 2, 7, 9, 3, 2, 1); }
/* pool<k>'s floor output size: pool2 on 7x9, pool3 on 8x8 (the input past the last window gets 0) */
static void test_max_pool_backward_floor(void)
{
    check_pool_geom(2, 2, 7, 9, 2, 2, 2, 1);
    check_pool_geom(1, 3, 8, 8, 3, 3, 3, 1);
}
/* gmp: one window over the whole map */
static void test_global_max_pool_backward(void) { check_pool(2, 3, 5, 7, 5, 7, 1); }

static void fwd_gap(double *out, Case *c) { ref_global_avg_pool_forward(out, c->x, c->n_out, c->S); }
static void fwd_gelu(double *out, Case *c) { ref_gelu_forward(out, c->x, c->n_out); }
static void fwd_scale(double *out, Case *c) { ref_scale(out, c->x, 0.125, c->n_out); }

static void test_global_avg_pool_backward(void)
{
    Rng r;
    rng_seed(&r, 20);
    Case c = {.n_out = 6, .S = 35, .forward = fwd_gap}; /* N*C = 6 rows of 5x7 */
    c.x = randn(&r, 6 * 35, 1, 0);
    double *dout = randn(&r, 6, 1, 0), dx[6 * 35];
    ref_global_avg_pool_backward(dx, dout, 6, 35);
    ASSERT_BELOW(check(&c, dx, c.x, 6 * 35, dout), 1e-9, "global avg pool dx");
    free(dout), free_case(&c);
}

static void test_gelu_backward(void)
{
    Rng r;
    rng_seed(&r, 21);
    Case c = {.n_out = 200, .forward = fwd_gelu};
    c.x = randn(&r, 200, 1, 0);
    c.x[0] = 0, c.x[1] = -3, c.x[2] = 3, c.x[3] = 1e-3; /* beyond |3| the gradient nears the numeric noise */
    double *dout = randn(&r, 200, 1, 0), dx[200];
    ref_gelu_backward(dx, dout, c.x, 200);
    ASSERT_BELOW(check(&c, dx, c.x, 200, dout), 1e-7, "gelu dx");
    free(dout), free_case(&c);
}

static void test_scale_backward(void)
{
    Rng r;
    rng_seed(&r, 22);
    Case c = {.n_out = 50, .forward = fwd_scale};
    c.x = randn(&r, 50, 1, 0);
    double *dout = randn(&r, 50, 1, 0), dx[50];
    ref_scale(dx, dout, 0.125, 50);
    ASSERT_BELOW(check(&c, dx, c.x, 50, dout), 1e-9, "scale dx");
    free(dout), free_case(&c);
}

/* ---- sandwiches ---------------------------------------------------------------------------- */

static void fwd_affine_relu(double *out, Case *c)
{
    RefCache k;
    ref_affine_relu_forward(out, &k, c->x, c->w, c->b, c->N, c->D, c->M);
    ref_cache_free(&k);
}
static void fwd_affine_bn_relu(double *out, Case *c)
{
    RefCache k;
    RefBNParam p = train_bn(c);
    ref_affine_bn_relu_forward(out, &k, c->x, c->w, c->b, c->gamma, c->beta, &p, c->N, c->D, c->M);
    ref_cache_free(&k);
}
static void fwd_conv_relu(double *out, Case *c)
{
    RefCache k;
    ref_conv_relu_forward(out, &k, c->x, c->w, c->b, &c->cg);
    ref_cache_free(&k);
}
static void fwd_conv_relu_pool(double *out, Case *c)
{
    RefCache k;
    ref_conv_relu_pool_forward(out, &k, c->x, c->w, c->b, &c->cg, &c->pg);
    ref_cache_free(&k);
}
static void fwd_conv_bn_relu(double *out, Case *c)
{
    RefCache k;
    RefBNParam p = train_bn(c);
    ref_conv_bn_relu_pool_forward(out, &k, c->x, c->w, c->b, c->gamma, c->beta, &p, &c->cg,
                                  c->S ? &c->pg : NULL);
    ref_cache_free(&k);
}

static void test_affine_relu_backward(void)
{
    Rng r;
    rng_seed(&r, 8);
    Case c = {.N = 2, .D = 12, .M = 10, .n_out = 20, .forward = fwd_affine_relu};
    c.x = randn(&r, 24, 1, 0), c.w = randn(&r, 120, 1, 0), c.b = randn(&r, 10, 1, 0);
    double *dout = randn(&r, 20, 1, 0), dx[24], dw[120], db[10];
    RefCache k;
    double out[20];
    ref_affine_relu_forward(out, &k, c.x, c.w, c.b, 2, 12, 10);
    ref_affine_relu_backward(dx, dw, db, dout, &k);
    ASSERT_BELOW(check(&c, dx, c.x, 24, dout), 1e-8, "affine_relu dx");
    ASSERT_BELOW(check(&c, dw, c.w, 120, dout), 1e-8, "affine_relu dw");
    ASSERT_BELOW(check(&c, db, c.b, 10, dout), 1e-8, "affine_relu db");
    ref_cache_free(&k), free(dout), free_case(&c);
}

static void test_affine_bn_relu_backward(void)
{
    Rng r;
    rng_seed(&r, 9);
    Case c = {.N = 4, .D = 12, .M = 10, .n_out = 40, .forward = fwd_affine_bn_relu};
    c.x = randn(&r, 48, 1, 0), c.w = randn(&r, 120, 1, 0), c.b = randn(&r, 10, 1, 0);
    c.gamma = randn(&r, 10, 1, 1), c.beta = randn(&r, 10, 1, 0);
    double *dout = randn(&r, 40, 1, 0), dx[48], dw[120], db[10], dg[10], dbt[10], out[40];
    RefCache k;
    RefBNParam p = train_bn(&c);
    ref_affine_bn_relu_forward(out, &k, c.x, c.w, c.b, c.gamma, c.beta, &p, 4, 12, 10);
    ref_affine_bn_relu_backward(dx, dw, db, dg, dbt, dout, &k);
    ASSERT_BELOW(check(&c, dx, c.x, 48, dout), 1e-7, "affine_bn_relu dx");
    ASSERT_BELOW(check(&c, dw, c.w, 120, dout), 1e-7, "affine_bn_relu dw");
    /* b feeds batchnorm, which subtracts it out again: its true gradient is 0, where a
     * relative error means nothing, so both gradients are checked to be ~0 instead */
    double num_db[10];
    eval_numerical_gradient_array(num_db, forward_thunk, &c, c.b, 10, dout, c.n_out, 1e-5);
    for (int i = 0; i < 10; i++) {
        ASSERT_BELOW(fabs(db[i]), 1e-12, "affine_bn_relu |db|");
        ASSERT_BELOW(fabs(num_db[i]), 1e-8, "affine_bn_relu |numeric db|");
    }
    ASSERT_BELOW(check(&c, dg, c.gamma, 10, dout), 1e-9, "affine_bn_relu dgamma");
    ASSERT_BELOW(check(&c, dbt, c.beta, 10, dout), 1e-9, "affine_bn_relu dbeta");
    ref_cache_free(&k), free(dout), free_case(&c);
}

/* conv sandwiches on the seed's shapes (In [44], In [45]). */
static void check_conv_sandwich(int with_bn, int with_pool, int H)
{
    Rng r;
    rng_seed(&r, (uint64_t)(10 + with_bn * 2 + with_pool));
    Case c = {.S = with_pool};
    CU_ASSERT_FATAL(conv_geom_init(&c.cg, 2, 3, H, H, 3, 3, 3, 3, 1, 1) == 0);
    CU_ASSERT_FATAL(pool_geom_init(&c.pg, 2, 3, H, H, 2, 2, 2) == 0);
    c.forward = with_bn ? fwd_conv_bn_relu : with_pool ? fwd_conv_relu_pool : fwd_conv_relu;
    size_t nx = conv_in_size(&c.cg), nw = conv_w_size(&c.cg);
    c.n_out = with_pool ? pool_out_size(&c.pg) : conv_out_size(&c.cg);
    c.x = randn(&r, nx, 1, 0), c.w = randn(&r, nw, 1, 0), c.b = randn(&r, 3, 1, 0);
    c.gamma = randn(&r, 3, 1, 1), c.beta = randn(&r, 3, 1, 0);
    double *dout = randn(&r, c.n_out, 1, 0), *dx = zeros(nx), *dw = zeros(nw), db[3], dg[3],
           dbt[3], *out = zeros(c.n_out);
    RefCache k;
    RefBNParam p = train_bn(&c);
    if (with_bn) {
        ref_conv_bn_relu_pool_forward(out, &k, c.x, c.w, c.b, c.gamma, c.beta, &p, &c.cg,
                                      with_pool ? &c.pg : NULL);
        ref_conv_bn_relu_pool_backward(dx, dw, db, dg, dbt, dout, &k);
        ASSERT_BELOW(check(&c, dg, c.gamma, 3, dout), 1e-8, "conv_bn_relu(_pool) dgamma");
        ASSERT_BELOW(check(&c, dbt, c.beta, 3, dout), 1e-8, "conv_bn_relu(_pool) dbeta");
    } else if (with_pool) {
        ref_conv_relu_pool_forward(out, &k, c.x, c.w, c.b, &c.cg, &c.pg);
        ref_conv_relu_pool_backward(dx, dw, db, dout, &k);
        ASSERT_BELOW(check(&c, db, c.b, 3, dout), 1e-8, "conv_relu_pool db");
    } else {
        ref_conv_relu_forward(out, &k, c.x, c.w, c.b, &c.cg);
        ref_conv_relu_backward(dx, dw, db, dout, &k);
        ASSERT_BELOW(check(&c, db, c.b, 3, dout), 1e-8, "conv_relu db");
    }
    /* Roundoff-limited on the smallest components: across 8 seeds conv_relu_pool dx measured
     * 4e-9 .. 2e-7 at h = 1e-5 (the seed's run: 1.1e-8), so 1e-6 leaves room for unlucky
     * draws while a wrong backward (errors ~1e-1 and up) still fails. */
    ASSERT_BELOW(check(&c, dx, c.x, nx, dout), 1e-6, "conv sandwich dx");
    ASSERT_BELOW(check(&c, dw, c.w, nw, dout), 1e-6, "conv sandwich dw");
    ref_cache_free(&k), free(dout), free(dx), free(dw), free(out), free_case(&c);
}

static void test_conv_relu_backward(void) { check_conv_sandwich(0, 0, 8); }
static void test_conv_relu_pool_backward(void) { check_conv_sandwich(0, 1, 16); }
static void test_conv_bn_relu_backward(void) { check_conv_sandwich(1, 0, 6); }
static void test_conv_bn_relu_pool_backward(void) { check_conv_sandwich(1, 1, 8); }

void register_reference_grad_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"affine", test_affine_backward},
        {"relu", test_relu_backward},
        {"batchnorm (N, D)", test_batchnorm_backward},
        {"spatial batchnorm (seed case)", test_spatial_batchnorm_backward},
        {"dropout (train, p_keep 0.8)", test_dropout_backward},
        {"softmax loss", test_softmax_loss_gradient},
        {"svm loss", test_svm_loss_gradient},
        {"softmax loss with label smoothing 0.2", test_smoothed_loss_gradient},
        {"conv (seed case)", test_conv_backward},
        {"conv, non-square filter, stride 2, pad 2", test_conv_backward_nonsquare},
        {"max pool (seed case)", test_max_pool_backward},
        {"max pool, overlapping 3x2 windows", test_max_pool_backward_overlapping},
        {"conv with input past the last window (floor output size)", test_conv_backward_floor},
        {"max pool with input past the last window (floor output size)", test_max_pool_backward_floor},
        {"global max pool", test_global_max_pool_backward},
        {"global average pool", test_global_avg_pool_backward},
        {"gelu", test_gelu_backward},
        {"scale", test_scale_backward},
        {"affine_relu", test_affine_relu_backward},
        {"affine_bn_relu", test_affine_bn_relu_backward},
        {"conv_relu (seed case)", test_conv_relu_backward},
        {"conv_relu_pool (seed case)", test_conv_relu_pool_backward},
        {"conv_bn_relu", test_conv_bn_relu_backward},
        {"conv_bn_relu_pool", test_conv_bn_relu_pool_backward},
        CU_TEST_INFO_NULL};
    add_suite("reference gradients", tests);
}
