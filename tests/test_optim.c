/* test_optim.c — the five update rules of the cpu backend against hand-computed values.
 *
 * The grid is the CS231n notebook's: N, D = 4, 5; w = linspace(-0.4, 0.6), dw =
 * linspace(-0.6, 0.4), state = linspace(0.6, 0.9) (Adam: m = linspace(0.6, 0.9),
 * v = linspace(0.7, 0.5), t = 5). Each rule is checked against the formula evaluated in double
 * by this file, and its first element against a value worked out by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"
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

/* The rules in double, one element at a time (formulas: SEED-INVENTORY, Update rules). */
static void oracle(UpdateRule rule, const OptimConfig *c, double *w, double dw, double *s1,
                   double *s2)
{
    double lr = c->learning_rate, mu = c->momentum;
    switch (rule) {
    case UPDATE_SGD: *w -= lr * dw; break;
    case UPDATE_SGD_MOMENTUM: *s1 = mu * *s1 - lr * dw; *w += *s1; break;
    case UPDATE_SGD_NESTEROV_MOMENTUM: {
        double v_old = *s1;
        *s1 = mu * *s1 - lr * dw;
        *w += *s1 + mu * (*s1 - v_old);
        break;
    }
    case UPDATE_RMSPROP:
        *s1 = c->decay_rate * *s1 + (1 - c->decay_rate) * dw * dw;
        *w -= lr * dw / (sqrt(*s1) + c->epsilon);
        break;
    case UPDATE_ADAM: {
        double b1 = c->beta1, b2 = c->beta2;
        *s1 = b1 * *s1 + (1 - b1) * dw;
        *s2 = b2 * *s2 + (1 - b2) * dw * dw;
        double mt = *s1 / (1 - pow(b1, c->t)), vt = *s2 / (1 - pow(b2, c->t));
        *w -= lr * mt / (sqrt(vt) + c->epsilon);
        break;
    }
    default: break;
    }
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
        for (int i = 0; i < N; i++) oracle(rule, &oc, &g.w[i], g.dw[i], &g.s1[i], &g.s2[i]);
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
