/* test_seed.c — the seed notebook's own checks, with its inputs and tolerances, against the
 * double-precision reference layers. */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "gradcheck.h"
#include "reference.h"
#include "test_util.h"
#include "train_options.h"

/* conv_forward_naive on the seed's linspace input: correct_out from the notebook (In [38]). */
static void test_conv_forward_naive_matches_seed(void)
{
    ConvGeom g;
    CU_ASSERT_FATAL(conv_geom_init(&g, 2, 3, 4, 4, 3, 3, 4, 4, 2, 1) == 0);
    double *x = linspace(-0.1, 0.5, conv_in_size(&g)), *w = linspace(-0.2, 0.3, conv_w_size(&g));
    double *b = linspace(-0.1, 0.2, 3), out[24];
    static const double correct_out[24] = {
        -0.08759809, -0.10987781, -0.18387192, -0.2109216,  0.21027089, 0.21661097,
        0.22847626,  0.23004637,  0.50813986,  0.54309974,  0.64082444, 0.67101435,
        -0.98053589, -1.03143541, -1.19128892, -1.24695841, 0.69108355, 0.66880383,
        0.59480972,  0.56776003,  2.36270298,  2.36904306,  2.38090835, 2.38247847};
    CU_ASSERT_EQUAL(conv_out_size(&g), 24);
    ref_conv_forward_naive(out, x, w, b, &g);
    ASSERT_BELOW(rel_error(out, correct_out, 24), 1e-7, "conv_forward_naive vs seed");
    free(x), free(w), free(b);
}

/* max_pool_forward_naive on the seed's linspace input (In [40]). */
static void test_max_pool_forward_naive_matches_seed(void)
{
    PoolGeom g;
    CU_ASSERT_FATAL(pool_geom_init(&g, 2, 3, 4, 4, 2, 2, 2) == 0);
    double *x = linspace(-0.3, 0.4, pool_in_size(&g)), out[24];
    static const double correct_out[24] = {
        -0.26315789, -0.24842105, -0.20421053, -0.18947368, -0.14526316, -0.13052632,
        -0.08631579, -0.07157895, -0.02736842, -0.01263158, 0.03157895,  0.04631579,
        0.09052632,  0.10526316,  0.14947368,  0.16421053,  0.20842105,  0.22315789,
        0.26736842,  0.28210526,  0.32631579,  0.34105263,  0.38526316,  0.4};
    ref_max_pool_forward_naive(out, x, &g);
    ASSERT_BELOW(rel_error(out, correct_out, 24), 1e-7, "max_pool_forward_naive vs seed");
    free(x);
}

/* Spatial batchnorm train mode (In [110]): per-channel means -> beta and stds -> gamma. */
static void test_spatial_batchnorm_forward_statistics(void)
{
    enum { N = 2, C = 3, H = 4, W = 5, S = H * W };
    Rng r;
    rng_seed(&r, 231);
    double *x = randn(&r, N * C * S, 4, 10), out[N * C * S];
    double gammas[2][C] = {{1, 1, 1}, {3, 4, 5}}, betas[2][C] = {{0, 0, 0}, {6, 7, 8}};
    for (int k = 0; k < 2; k++) {
        double rm[C] = {0}, rv[C] = {0};
        RefBNParam p = {.train = 1, .eps = 1e-5, .momentum = 0.9, .running_mean = rm,
                        .running_var = rv};
        ref_batchnorm_forward(out, x, gammas[k], betas[k], &p, N, C, S);
        for (int c = 0; c < C; c++) {
            double m = 0, v = 0;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) m += out[(n * C + c) * S + s] / (N * S);
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++)
                    v += pow(out[(n * C + c) * S + s] - m, 2) / (N * S);
            ASSERT_BELOW(fabs(m - betas[k][c]), 1e-12, "spatial BN mean - beta");
            /* the seed prints stds 0.9999997: eps = 1e-5 against variance ~16 */
            ASSERT_BELOW(fabs(sqrt(v) - gammas[k][c]) / gammas[k][c], 1e-6,
                         "spatial BN std / gamma - 1");
        }
    }
    free(x);
}

/* Test mode normalises with the running statistics, not with the batch's. */
static void test_spatial_batchnorm_test_mode_uses_running_stats(void)
{
    enum { N = 4, C = 3, S = 6 };
    Rng r;
    rng_seed(&r, 5);
    double *x = randn(&r, N * C * S, 2, 1), out[N * C * S];
    double gamma[C] = {1.5, 0.5, 2}, beta[C] = {0.1, -0.2, 0.3};
    double rm[C] = {0}, rv[C] = {0};
    RefBNParam p = {.train = 1, .eps = 1e-5, .momentum = 0.9, .running_mean = rm,
                    .running_var = rv};
    for (int it = 0; it < 50; it++) { /* running stats converge to this batch's */
        double *xb = randn(&r, N * C * S, 2, 1);
        ref_batchnorm_forward(out, xb, gamma, beta, &p, N, C, S);
        free(xb);
    }
    double rm_before[C], rv_before[C];
    for (int c = 0; c < C; c++) rm_before[c] = rm[c], rv_before[c] = rv[c];
    CU_ASSERT(fabs(rm[0] - 1) < 0.5 && fabs(rv[0] - 4) < 2); /* N(1, 2^2) data */
    p.train = 0;
    ref_batchnorm_forward(out, x, gamma, beta, &p, N, C, S);
    for (int c = 0; c < C; c++) {
        CU_ASSERT_EQUAL(rm[c], rm_before[c]); /* test mode leaves them alone */
        CU_ASSERT_EQUAL(rv[c], rv_before[c]);
        for (int i = 0; i < N * S; i++) {
            int at = (i / S * C + c) * S + i % S;
            double want = gamma[c] * (x[at] - rm[c]) / sqrt(rv[c] + 1e-5) + beta[c];
            ASSERT_BELOW(fabs(out[at] - want), 1e-12, "test-mode BN vs running stats");
        }
    }
    free(x);
}

/* Initial losses of random tiny scores: softmax ~ ln C, SVM ~ C - 1 (the CS231n sanity checks). */
static void test_loss_sanity_values(void)
{
    enum { N = 500, C = 10 };
    Rng r;
    rng_seed(&r, 7);
    double *x = randn(&r, N * C, 1e-3, 0);
    int *y = rand_labels(&r, N, C);
    ASSERT_BELOW(fabs(ref_softmax_loss(NULL, x, y, N, C) - log(C)), 1e-3, "softmax loss - ln 10");
    ASSERT_BELOW(fabs(ref_svm_loss(NULL, x, y, N, C) - (C - 1)), 1e-2, "svm loss - 9");
    free(x), free(y);
}

/* `nndl train` with no flags is the seed's final cell (In [the last training cell]):
 * ThreeLayerConvNet(weight_scale=0.001, num_filters=64, filter_size=3, hidden_dim=500, reg=0.001,
 * use_batchnorm=True), Solver(num_epochs=15, batch_size=1000, update_rule='adam', learning_rate
 * 1e-3, print_every=10000) on the seed's split, num_train_samples 1000, val on all of it. */
static void test_default_run_is_the_seeds_final_cell(void)
{
    TrainOptions o = train_options_default();
    char spec[MODEL_SPEC_MAX];
    CU_ASSERT_FATAL(train_options_spec(&o, spec, sizeof spec) == NNDL_OK);
    CU_ASSERT_STRING_EQUAL(spec, "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10");
    CU_ASSERT_EQUAL(o.weight_scale, 1e-3f);
    CU_ASSERT_EQUAL(train_options_init(&o), INIT_NORMAL); /* the seed's weight_scale * N(0, 1) */
    TrainOptions other = o;
    other.model = "fc";
    CU_ASSERT_EQUAL(train_options_init(&other), INIT_NORMAL);
    other.model = "conv8x3-relu-gap-affine10"; /* a user's spec: He */
    CU_ASSERT_EQUAL(train_options_init(&other), INIT_HE);
    other.init = "normal";
    CU_ASSERT_EQUAL(train_options_init(&other), INIT_NORMAL);
    other.model = "cnn3", other.init = "he";
    CU_ASSERT_EQUAL(train_options_init(&other), INIT_HE);
    CU_ASSERT_EQUAL(o.reg, 1e-3f);
    CU_ASSERT_STRING_EQUAL(o.loss, "softmax");
    CU_ASSERT_EQUAL(o.num_train, 49000);
    CU_ASSERT_EQUAL(o.num_val, 1000);
    CU_ASSERT_EQUAL(o.num_test, 1000);
    CU_ASSERT_STRING_EQUAL(o.update, "adam");
    UpdateRule rule;
    CU_ASSERT_FATAL(optim_rule_from_name(o.update, &rule) == NNDL_OK);
    SolverConfig c = train_options_solver_config(&o, rule);
    CU_ASSERT_EQUAL(c.num_epochs, 15);
    CU_ASSERT_EQUAL(c.batch_size, 1000);
    CU_ASSERT_EQUAL(c.optim.rule, UPDATE_ADAM);
    CU_ASSERT_EQUAL(c.optim.learning_rate, 1e-3f);
    CU_ASSERT_EQUAL(c.optim.beta1, 0.9f);
    CU_ASSERT_EQUAL(c.optim.beta2, 0.999f);
    CU_ASSERT_EQUAL(c.optim.epsilon, 1e-8f);
    CU_ASSERT_EQUAL(c.lr_decay, 1.0f);
    CU_ASSERT_EQUAL(c.print_every, 10000);
    CU_ASSERT_EQUAL(c.num_train_samples, 1000);
    CU_ASSERT_EQUAL(c.num_val_samples, 0);
    CU_ASSERT_TRUE(c.verbose);
    /* 49000 / 1000 = 49 iterations per epoch, 735 in all: one loss line (iteration 1) */
    CU_ASSERT_EQUAL(c.num_epochs * (o.num_train / c.batch_size), 735);
    /* the Solver's own default batch stays the seed's Solver default */
    CU_ASSERT_EQUAL(solver_config_default().batch_size, 100);
}

void register_seed_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"conv_forward_naive matches the seed's correct_out", test_conv_forward_naive_matches_seed},
        {"max_pool_forward_naive matches the seed's correct_out",
         test_max_pool_forward_naive_matches_seed},
        {"spatial batchnorm: means ~ beta, stds ~ gamma", test_spatial_batchnorm_forward_statistics},
        {"batchnorm test mode uses running statistics",
         test_spatial_batchnorm_test_mode_uses_running_stats},
        {"softmax ~ ln 10 and svm ~ 9 on tiny scores", test_loss_sanity_values},
        {"nndl train with no flags is the seed's final cell", test_default_run_is_the_seeds_final_cell},
        CU_TEST_INFO_NULL};
    add_suite("seed values", tests);
}
