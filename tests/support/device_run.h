/* device_run.h — what the suites of the device-resident step (test_cuda_backend.c,
 * test_device_recipe.c) share: a training run on a backend of its own, the comparison of two
 * runs' histories, and the counters of steps replayed after setup. */
#ifndef NNDL_TEST_DEVICE_RUN_H
#define NNDL_TEST_DEVICE_RUN_H

#include "cuda/kernel_checks.h"
#include "dataset.h"
#include "model.h"
#include "solver.h"

typedef struct DeviceRun {
    Dataset train, val;
    float mean[192]; /* the training set's mean, where a run subtracts one */
    Backend *be;
    Model m;
    Solver s;
} DeviceRun;

void device_run_free(DeviceRun *r);

/* The same values bit for bit (losses, accuracies). */
int same_history(const History *a, const History *b);

/* Counters of `steps` steps after setup: nothing copied either way, no allocation, no sync, no
 * kernel launch or cuBLAS call of the host's, one graph launch per step. */
void assert_replayed_steps_cost_nothing(const KcCounters *c, unsigned long steps);

#endif
