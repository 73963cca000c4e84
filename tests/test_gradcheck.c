/* test_gradcheck.c — the gradient-check utilities themselves, on functions with known
 * derivatives, so a broken checker cannot make the layer checks pass. */
#include <math.h>

#include "gradcheck.h"
#include "test_util.h"

static double cubic_sum(void *ctx)
{   /* f(x) = sum x^3 + x0*x1, df/dx = 3x^2 (+ x1 / x0) */
    double *x = ctx, s = x[0] * x[1];
    for (int i = 0; i < 4; i++) s += x[i] * x[i] * x[i];
    return s;
}

static void squares(double *out, void *ctx)
{
    double *x = ctx;
    for (int i = 0; i < 3; i++) out[i] = x[i] * x[i] * (i + 1);
}

static void test_scalar_gradient(void)
{
    double x[4] = {0.5, -1.5, 2, 0.1}, g[4];
    eval_numerical_gradient(g, cubic_sum, x, x, 4, 1e-5);
    double want[4] = {3 * 0.25 - 1.5, 3 * 2.25 + 0.5, 12, 0.03};
    ASSERT_BELOW(rel_error(g, want, 4), 1e-8, "numeric gradient of sum x^3 + x0 x1");
    CU_ASSERT_EQUAL(x[2], 2); /* restored */
}

static void test_array_gradient(void)
{
    double x[3] = {1, -2, 3}, dout[3] = {0.5, 2, -1}, g[3];
    eval_numerical_gradient_array(g, squares, x, x, 3, dout, 3, 1e-5);
    double want[3] = {0.5 * 2 * 1, 2 * 4 * -2, -1 * 6 * 3};
    ASSERT_BELOW(rel_error(g, want, 3), 1e-8, "numeric gradient with upstream dout");
}

static void test_rel_error(void)
{
    double a[3] = {1, 2, 0}, b[3] = {1, 2.2, 0}, c[1] = {NAN}, d[1] = {1};
    CU_ASSERT_DOUBLE_EQUAL(rel_error(a, b, 3), 0.2 / 4.2, 1e-15);
    CU_ASSERT_EQUAL(rel_error(a, a, 3), 0);
    CU_ASSERT(rel_error(c, d, 1) > 1); /* NaN is never "close" */
    float f[2] = {1e-9f, 100.5f};
    double ref[2] = {0, 100};
    CU_ASSERT_DOUBLE_EQUAL(float_error(f, ref, 2), 0.005, 1e-9);
}

void register_gradcheck_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"numeric gradient of a scalar function", test_scalar_gradient},
        {"numeric gradient of an array function", test_array_gradient},
        {"rel_error and float_error", test_rel_error},
        CU_TEST_INFO_NULL};
    add_suite("gradient check utilities", tests);
}
