/* test_optim.c — the five update rules of the cpu backend against hand-computed values.
 *
 * The grid is the CS231n notebook's: N, D = 4, 5; w = linspace(-0.4, 0.6), dw =
 * linspace(-0.6, 0.4), state = linspace(0.6, 0.9) (Adam: m = linspace(0.6, 0.9),
 * v = linspace(0.7, 0.5), t = 5). Each rule is checked against the double reference
 * (ref_update), and its first element against a value worked out by hand, which also keeps the
 * reference honest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"
#include "reference.h"
#include "test_util.h"

enum { N = 20 };

typedef struct Grid { double w[N], dw[N], s1[N], s2[N]; } Grid;

static Grid grid(void)
{
    Grid g;
    for (int i = 0; i < N; i++) {
        double t = i / (double)(N - 1);
        g.w[i] = -0.4 + t;
        g.dw[i] = -0.6 + t;
        g.s1[i] = 0.6 + 0.3 * t;
        g.s2[i] = 0.7 - 0.2 * t;
    }
    return g;
}

static void check_rule(UpdateRule rule, float lr, double first_w_by_hand)
{
    const Backend *be = test_backend("cpu");
    Grid g = grid();
    OptimConfig c = optim_config_default(rule);
    c.learning_rate = lr;
    c.t = 5;
    float w[N], dw[N], s1[N], s2[N];
    for (int i = 0; i < N; i++) w[i] = g.w[i], dw[i] = g.dw[i], s1[i] = g.s1[i], s2[i] = g.s2[i];
    for (int step = 0; step < 3; step++) { /* three steps: state and t carry over */
        backend_update(be, &c, w, dw, s1, s2, N);
        OptimConfig oc = c; /* c.t was incremented by optim_step, as the oracle expects */
        ref_update(&oc, g.w, g.dw, g.s1, g.s2, N);
        if (step == 0)
            ASSERT_BELOW(fabs(w[0] - first_w_by_hand), 1e-7, optim_rule_name(rule));
        for (int i = 0; i < N; i++) {
            ASSERT_BELOW(fabs(w[i] - g.w[i]), 1e-6, "next_w vs double formula");
            if (optim_state_count(rule) >= 1)
                ASSERT_BELOW(fabs(s1[i] - g.s1[i]), 1e-6, "state 1 vs double formula");
            if (optim_state_count(rule) == 2)
                ASSERT_BELOW(fabs(s2[i] - g.s2[i]), 1e-6, "state 2 vs double formula");
        }
    }
    CU_ASSERT_EQUAL(c.t, rule == UPDATE_ADAM ? 8 : 5);
}

/* First elements by hand, e.g. momentum: v = 0.9*0.6 - 1e-3*(-0.6) = 0.5406, w = -0.4 + v. */
static void test_sgd(void) { check_rule(UPDATE_SGD, 1e-3f, -0.3994); }
static void test_sgd_momentum(void) { check_rule(UPDATE_SGD_MOMENTUM, 1e-3f, 0.1406); }
/* w += v + 0.9*(v - 0.6) = 0.5406 - 0.05346 */
static void test_sgd_nesterov(void) { check_rule(UPDATE_SGD_NESTEROV_MOMENTUM, 1e-3f, 0.08714); }
/* cache = 0.99*0.6 + 0.01*0.36 = 0.5976; w = -0.4 + 1e-2*0.6/sqrt(0.5976) */
static void test_rmsprop(void) { check_rule(UPDATE_RMSPROP, 1e-2f, -0.39223849); }
/* t = 6: m = 0.48, v = 0.69966, w = -0.4 - 1e-2*(0.48/0.468559)/sqrt(0.69966/0.00598502) */
static void test_adam(void) { check_rule(UPDATE_ADAM, 1e-2f, -0.40094747); }

static void test_rule_names(void)
{
    UpdateRule r;
    for (int i = 0; i < UPDATE_RULE_COUNT; i++) {
        CU_ASSERT_EQUAL(optim_rule_from_name(optim_rule_name((UpdateRule)i), &r), NNDL_OK);
        CU_ASSERT_EQUAL((int)r, i);
    }
    CU_ASSERT_EQUAL(optim_rule_from_name("adagrad", &r), NNDL_ERR);
    CU_ASSERT_PTR_NOT_NULL(strstr(nndl_last_error(), "adagrad"));
    OptimConfig adam = optim_config_default(UPDATE_ADAM), sgd = optim_config_default(UPDATE_SGD);
    CU_ASSERT_DOUBLE_EQUAL(adam.learning_rate, 1e-3, 1e-10); /* float */
    CU_ASSERT_DOUBLE_EQUAL(sgd.learning_rate, 1e-2, 1e-9);
}

void register_optim_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"sgd", test_sgd},
        {"sgd_momentum", test_sgd_momentum},
        {"sgd_nesterov_momentum", test_sgd_nesterov},
        {"rmsprop", test_rmsprop},
        {"adam (t carries over steps)", test_adam},
        {"rule names, unknown rule, defaults", test_rule_names},
        CU_TEST_INFO_NULL};
    add_suite("update rules", tests);
}
