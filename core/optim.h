/* optim.h — the five update rules' configuration (the seed's optim_config) and their dispatch.
 *
 * Each parameter owns an OptimConfig and up to two state arrays (velocity, or squared-gradient
 * cache, or Adam's two moments), as in the seed where every parameter keeps its own config. */
#ifndef NNDL_OPTIM_H
#define NNDL_OPTIM_H

#include <stddef.h>

#include "step_vars.h"

typedef enum UpdateRule {
    UPDATE_SGD,
    UPDATE_SGD_MOMENTUM,
    UPDATE_SGD_NESTEROV_MOMENTUM,
    UPDATE_RMSPROP,
    UPDATE_ADAM,
    UPDATE_RULE_COUNT
} UpdateRule;

typedef struct OptimConfig {
    UpdateRule rule;
    float learning_rate;
    float momentum;            /* sgd_momentum, sgd_nesterov_momentum */
    float decay_rate;          /* rmsprop */
    float beta1, beta2;        /* adam */
    float epsilon;             /* rmsprop, adam */
    int t;                     /* adam step count, incremented before each update */
    /* decoupled weight decay (AdamW, SGDW): w *= 1 - learning_rate * weight_decay before the
     * rule's step, apart from the gradient and its moments; 0: none (the seed) */
    float weight_decay;
    /* The seed's L2 (--reg) folded into the step where the backend can (Backend.update_folds_l2):
     * the rule sees the gradient dw + l2 * w, dw itself unchanged, in the same pass over w instead
     * of a pass of its own (l2_penalty). A Solver sets it only without weight_decay (the penalty
     * must see w before the decay). 0: none, or the penalty is already in dw. */
    float l2;
    /* NULL: the update uses learning_rate and t above. Otherwise a device StepVars whose
     * learning_rate[vars_rate] and t the update reads on the device when it runs (a backend
     * without graphs may use the fields above, which the Solver keeps equal): a recorded step
     * then replays with the current values. */
    const StepVars *vars;
    int vars_rate;             /* with vars: which of its learning_rate[2] (0 weights, 1 the others) */
} OptimConfig;

/* Unknown names are an error naming the valid ones. */
int optim_rule_from_name(const char *name, UpdateRule *rule);
const char *optim_rule_name(UpdateRule rule);
/* The seed's defaults for the rule (learning rates 1e-2, Adam 1e-3, momentum 0.9, ...). */
OptimConfig optim_config_default(UpdateRule rule);
/* Number of state arrays (each the parameter's size) the rule needs: 0, 1 or 2. */
int optim_state_count(UpdateRule rule);

#endif
