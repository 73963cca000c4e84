/* optim.c — names, defaults and dispatch of the update rules (see optim.h). */
#include "optim.h"

#include <string.h>

#include "error.h"

static const char *const rule_names[UPDATE_RULE_COUNT] = {
    "sgd", "sgd_momentum", "sgd_nesterov_momentum", "rmsprop", "adam"};

int optim_rule_from_name(const char *name, UpdateRule *rule)
{
    for (int r = 0; r < UPDATE_RULE_COUNT; r++)
        if (strcmp(name, rule_names[r]) == 0) {
            *rule = (UpdateRule)r;
            return NNDL_OK;
        }
    return nndl_fail("unknown update rule '%s' (expected sgd, sgd_momentum, "
                     "sgd_nesterov_momentum, rmsprop or adam)", name);
}

const char *optim_rule_name(UpdateRule rule)
{
    return rule >= 0 && rule < UPDATE_RULE_COUNT ? rule_names[rule] : "?";
}

OptimConfig optim_config_default(UpdateRule rule)
{
    OptimConfig c = {.rule = rule, .learning_rate = 1e-2f, .momentum = 0.9f,
                     .decay_rate = 0.99f, .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-8f};
    if (rule == UPDATE_ADAM) c.learning_rate = 1e-3f;
    return c;
}

int optim_state_count(UpdateRule rule)
{
    return rule == UPDATE_SGD ? 0 : rule == UPDATE_ADAM ? 2 : 1;
}
