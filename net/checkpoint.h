/* checkpoint.h — saving and resuming a training run.
 *
 * A checkpoint holds everything needed to continue exactly: the model spec and input shape,
 * its state (parameters and batchnorm running statistics), the optimizer's per-parameter state
 * and step counts, the solver's settings, epoch, iteration, RNG state, histories, best val
 * accuracy and best parameters, and the mean image subtracted from the data. It is written to
 * "<path>.tmp" and renamed, so an interrupted write never destroys an existing file. Loading
 * refuses files that are truncated, of another format, or of another model. */
#ifndef NNDL_CHECKPOINT_H
#define NNDL_CHECKPOINT_H

#include "solver.h"

int checkpoint_save(const Solver *s, const char *path);

/* A SolverConfig.on_epoch hook: writes "<name>_epoch_<e>.ckpt", name being ctx (a string). */
int checkpoint_save_epoch(const Solver *s, void *name);

/* Restores into a solver whose model was built with the same spec and input shape, and whose
 * config has the same update rule; the batch size and epoch count may differ. */
int checkpoint_load(Solver *s, const char *path);

/* What eval needs without a solver: the model's spec, input shape, loss, and (after
 * checkpoint_load_model) its state and the stored input mean (C*H*W floats, malloc'd). */
typedef struct CheckpointInfo {
    char spec[1024];
    int in_c, in_h, in_w;
    int loss;
    int epoch;
    float best_val_acc;
} CheckpointInfo;

int checkpoint_read_info(const char *path, CheckpointInfo *info);
int checkpoint_load_model(Model *m, float **input_mean, const char *path);

#endif
