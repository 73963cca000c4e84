/* step_vars.h — the values that change from one training step to the next, kept in device
 * memory so that a step recorded once (a CUDA graph) replays with the current ones.
 *
 * The Solver writes them from its host mirror when it (re)positions a run of steps (at an epoch's
 * start, after a resume); within a run the step itself advances them on the device (the
 * backend's step_finish), so a step copies nothing between host and device. */
#ifndef NNDL_STEP_VARS_H
#define NNDL_STEP_VARS_H

#include <stdint.h>

typedef struct StepVars {
    int64_t iteration;      /* steps completed before this one */
    int32_t batch_start;    /* this step's minibatch: positions batch_start.. of the epoch order */
    int32_t loss_slot;      /* index of the loss slot this step writes */
    int32_t t;              /* Adam's step count for this step's update (already incremented) */
    float learning_rate;    /* of every parameter's update */
    int64_t epoch;          /* keys this epoch's augmentation draws (written once per epoch) */
} StepVars;

#endif
