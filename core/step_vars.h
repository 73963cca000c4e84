/* step_vars.h — the values that change from one training step to the next, kept in device
 * memory so that a step recorded once (a CUDA graph) replays with the current ones.
 *
 * The Solver writes them from its host mirror when it (re)positions a run of steps (at an epoch's
 * start, after a resume); within a run the step itself advances them on the device (the
 * backend's step_finish), so a step copies nothing between host and device. */
#ifndef NNDL_STEP_VARS_H
#define NNDL_STEP_VARS_H

#include <stdint.h>

#include "hd.h"

typedef struct StepVars {
    int64_t iteration;      /* steps completed before this one */
    int32_t batch_start;    /* this step's minibatch: positions batch_start.. of the epoch order */
    int32_t loss_slot;      /* index of the loss slot this step writes */
    int32_t t;              /* Adam's step count for this step's update (already incremented) */
    /* this step's rates: [0] of weights, [1] of biases and batchnorm parameters (their factor,
     * --bias-lr-mult, may differ); OptimConfig.vars_rate picks one */
    float learning_rate[2];
    /* A per-iteration schedule (NULL: the rates stay): step_finish sets the next step's rates
     * to lr_table[iteration - lr_first] * lr_mult[k] (clamped to the table's lr_n entries),
     * the products the host makes, so both paths step with the same floats. */
    const float *lr_table;
    int64_t lr_first;
    int32_t lr_n;
    float lr_mult[2];
    int64_t epoch;          /* keys this epoch's augmentation draws (written once per epoch) */
} StepVars;

/* The decay of the moving average of the weights after `steps` updates: ema, or less early on
 * so that the average is not held near the initial weights, min(ema, (1 + steps) / (10 + steps));
 * avg = (1 - d) w + d avg with d rounded to float. One formula for the host's step and the
 * device's recorded one. */
static inline NNDL_HD double ema_decay(float ema, int64_t steps)
{
    double warm = (1.0 + (double)steps) / (10.0 + (double)steps);
    return ema < warm ? ema : warm;
}

#endif
