/* model_check.h — one training step of a whole model on a backend against the double reference
 * model, from one seed: the loss, every parameter's gradient, and the parameters after one SGD
 * step. What `nndl check --model SPEC` runs on each device. */
#ifndef NNDL_MODEL_CHECK_H
#define NNDL_MODEL_CHECK_H

#include "op_checks.h"

/* Checks spec on input (C, H, W) with a batch of N; a spec that does not build is one failed
 * row naming the reason. */
void check_model_step(CheckRun *run, const char *spec, int C, int H, int W, int N);

#endif
