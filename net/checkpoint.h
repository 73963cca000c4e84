/* checkpoint.h — saving and resuming a training run.
 *
 * A checkpoint holds everything needed to continue exactly: the model spec and input shape,
 * its state (parameters and batchnorm running statistics), the optimizer's per-parameter state
 * and step counts, the solver's settings, epoch, iteration, RNG state, histories, best val
 * accuracy and best parameters, the mean image subtracted from the data, the names of the
 * data's classes (format 3) and the training recipe (format 4; formats 2 and 3 are still read,
 * as runs without names or recipe). It is written
 * through write_file_atomically (atomic_file.h), so an interrupted write never destroys an
 * existing file, and ends with a CRC-32 of everything before it.
 *
 * Loading refuses, with a message, files that are truncated, damaged (CRC mismatch), of
 * another format or version, of another model, or whose values are impossible: a field out of
 * range, lengths that disagree, a non-finite parameter, optimizer moment or mean pixel. Saving
 * applies the same checks, so no checkpoint is written that could not be read back. Files of
 * format 1 (no checksum, written by nndl before format 2) are refused with a message naming it. */
#ifndef NNDL_CHECKPOINT_H
#define NNDL_CHECKPOINT_H

#include "solver.h"

#define CHECKPOINT_FORMAT 4

/* The training recipe beyond the seed's settings (format 4): what a resumed run needs to go on
 * as the run did, and eval its test-time augmentation. */
typedef struct CheckpointRecipe {
    float label_smoothing, weight_decay, nonweight_lr_mult;
    Schedule schedule;
    AugmentConfig augment;      /* pad, pad_mode, flip, cutout (its seed and epoch unused) */
    int tta;
    float ema;                  /* > 0: every parameter's moving average follows its moments */
} CheckpointRecipe;

/* The recipe of a run with none of it (what a format-2 or -3 checkpoint reads as). */
CheckpointRecipe checkpoint_recipe_seed(void);

int checkpoint_save(const Solver *s, const char *path);

/* A SolverConfig.on_epoch hook: writes "<name>_epoch_<e>.ckpt", name being ctx (a string). */
int checkpoint_save_epoch(const Solver *s, void *name);

/* Restores into a solver whose model was built with the same spec, input shape and loss, and
 * whose config has the same update rule; the batch size, epoch count and hyperparameters are
 * the solver's own (a caller resuming from flags reports the differences, see cli_train.c). On
 * failure the solver is unchanged. */
int checkpoint_load(Solver *s, const char *path);

/* What eval and a resuming run need without a solver: the model's spec, input shape and loss,
 * and the settings of the run that wrote it. */
typedef struct CheckpointInfo {
    char spec[MODEL_SPEC_MAX];
    int in_c, in_h, in_w;
    int loss;                   /* LossKind */
    int epoch, iteration;
    float best_val_acc;         /* SOLVER_NO_BEST when none yet */
    OptimConfig optim;          /* the run's rule and hyperparameters (learning_rate: the initial one) */
    float current_lr;           /* the learning rate after the decays so far */
    float lr_decay, reg;
    int batch_size, num_epochs, num_train_samples, num_val_samples;
    uint64_t seed;
    CheckpointRecipe recipe;
} CheckpointInfo;

int checkpoint_read_info(const char *path, CheckpointInfo *info);
/* Whether path starts with a checkpoint's magic (what else opens as weights is safetensors). */
int checkpoint_is_file(const char *path);
/* The model's state (its best parameters when recorded, else the moving average of its
 * parameters when the run kept one, else its current state) and the stored input mean (C*H*W
 * floats, malloc'd, or NULL when the checkpoint has none). */
int checkpoint_load_model(Model *m, float **input_mean, const char *path);
/* The stored input mean alone (malloc'd, *n floats; NULL and 0 when none). */
int checkpoint_load_mean(float **input_mean, size_t *n, const char *path);
/* The names of the training data's classes (n = 0 when the checkpoint has none: format 2, or
 * a Solver without class_names); the caller frees them. */
int checkpoint_load_class_names(ClassNames *names, const char *path);

#endif
