/* solver.h — the seed's Solver: minibatch training with one of the five update rules.
 *
 * Contract (the seed notebook's Solver): loss recorded every iteration, train/val accuracy at the
 * first iteration, every epoch end and the last iteration (train on a random subsample of
 * num_train_samples, val on num_val_samples or all), the best parameters by strictly higher val
 * accuracy kept and restored into the model at the end, lr_decay applied to every parameter's
 * learning rate at each epoch end, per-parameter optimizer state. Minibatches come from a
 * shuffle of the training set at the start of each epoch (without replacement). Output lines
 * are the seed's: "(Iteration t / T) loss: %f" and "(Epoch e / E) train acc: %f; val_acc: %f".
 * After every epoch the caller's on_epoch hook runs (the CLI writes a checkpoint there); the
 * Solver itself writes no files.
 *
 * Without a validation set (val NULL or empty) there is nothing to select by: best-by-val is
 * off and the final parameters are kept. A non-finite loss or parameter stops training
 * (SOLVER_DIVERGED) before it can be recorded or become the best; the caller's stop flag, once
 * non-zero, ends training after the step in progress (SOLVER_STOPPED). */
#ifndef NNDL_SOLVER_H
#define NNDL_SOLVER_H

#include <signal.h>
#include <stdio.h>

#include "class_names.h"
#include "dataset.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include "schedule.h"

typedef struct Solver Solver;
typedef struct SolverDevice SolverDevice;

typedef struct SolverConfig {
    OptimConfig optim;          /* rule and its hyperparameters (optim_config_default); its
                                 * learning_rate is the peak of the schedule, its weight_decay the
                                 * decoupled decay (0: none) */
    float lr_decay;             /* SCHEDULE_EPOCH_DECAY: factor per epoch, 1: none */
    Schedule schedule;          /* schedule_default(): the seed's per-epoch lr_decay */
    /* learning-rate factor of the parameters that are not weights (biases, batchnorm gamma and
     * beta); their decoupled decay is divided by it, so every parameter decays alike. 1: none */
    float nonweight_lr_mult;
    /* augmentation of every training batch (pad, pad_mode, flip, cutout; seed and epoch are
     * set per step from `seed` and the epoch); all zero: none (the seed) */
    AugmentConfig augment;
    /* decay of an exponential moving average of the parameters, which every evaluation uses (the
     * accuracy checks, the best parameters, the final model); 0: none (the seed) */
    float ema;
    int batch_size, num_epochs;
    int num_train_samples;      /* train accuracy subsample (seed default 1000) */
    int num_val_samples;        /* 0: the whole validation set */
    int print_every;            /* iterations between loss lines; 0: none */
    int verbose;                /* seed output lines on `out` */
    int progress;               /* a progress bar with images/s and ETA on stderr (a terminal) */
    double progress_interval;   /* seconds between plain progress lines when stderr is not a
                                 * terminal; 0: none (progress.h) */
    /* called after every epoch's accuracy check; a non-zero NNDL_ERR stops training */
    int (*on_epoch)(const Solver *s, void *ctx);
    void *on_epoch_ctx;
    /* checked after every step: non-zero ends training (the CLI's signal flag); NULL: never */
    const volatile sig_atomic_t *stop;
    uint64_t seed;              /* shuffles and subsamples */
    FILE *out;
    /* 1: copy every minibatch from host memory even where the backend could train from its own
     * copy of the data (solver_device.h); for comparing the two paths */
    int host_batches;
    /* data-parallel training with a group of processes (net/data_parallel.h): this process's
     * share of each minibatch, gradients and losses averaged over the group; NULL: alone */
    struct DataParallel *dp;
} SolverConfig;

typedef struct History {
    int n, cap;
    float *v;
} History;

struct Solver {
    Model *model;
    const Dataset *train, *val;
    SolverConfig cfg;
    OptimConfig *opt;           /* per parameter */
    float **s1, **s2;           /* per parameter optimizer state (device), NULL if unused: views
                                 * into state_block[0] / [1], laid out as the model's param_block */
    float *state_block[2];
    int update_calls;           /* update-rule calls of the last step: 1 when every parameter's
                                 * config agreed (no fold of the L2 penalty: solver_folds_l2) and
                                 * one call covered the whole block */
    History loss, train_acc, val_acc;
    float best_val_acc;
    float *best_state;          /* model_state_save layout, host */
    int epoch, iteration;       /* completed */
    Rng rng;
    const float *input_mean;    /* (C, H, W) subtracted from the data, stored in checkpoints */
    const ClassNames *class_names; /* the data's, stored in checkpoints; NULL: none */
    int *order, *pred;          /* shuffle and predictions scratch */
    float *batch_x;
    int *batch_y;
    float *aug_src;             /* device: the gathered batch before augmentation; NULL: none */
    int *aug_examples;          /* device: the batch's dataset indices, which key the draws (host-batch
                                 * path; the device path reads them from its epoch order) */
    float **ema_w;              /* per parameter (device), with cfg.ema; NULL otherwise */
    /* Losses stay on the device until read back in bulk (solver_read_losses): one slot per
     * iteration of an epoch, `pending` of them written and not yet in the loss History. */
    double *loss_slots;         /* device, loss_cap doubles */
    double *loss_host;          /* host staging of the read-back, loss_cap doubles */
    int loss_cap, pending;
    int slot_next;              /* the slot the next step writes; the pending ones precede it */
    SolverDevice *dev;          /* the device-resident path (solver_device.h); NULL: host batches */
    int first_nonfinite;        /* loss History index of the first NaN/inf read back; -1: none */
};

SolverConfig solver_config_default(void);
/* The seed's contract forbids nonsense: batch size, epochs, learning rate, ... are checked. */
int solver_init(Solver *s, Model *m, const Dataset *train, const Dataset *val,
                const SolverConfig *cfg);
void solver_free(Solver *s);

/* One update from the examples idx[0..n) of the training set. Its loss stays on the device (no
 * device-to-host copy) until solver_read_losses; a full set of slots is read back first. */
int solver_step(Solver *s, const int *idx, int n);
/* The update rule applied to the model's current gradients (solver_step's update): one call per
 * run of consecutive parameters that share a config, over their stretch of the parameter block —
 * one call for the whole model unless configs differ (--nonweight-lr-mult gives biases and
 * batchnorm their own rate; a step that folds the L2 penalty gives the weights theirs);
 * update_calls counts them. */
void solver_update(Solver *s);
/* Whether this Solver's steps fold the L2 penalty's gradient into the update (OptimConfig.l2):
 * where the backend can, with a penalty and no weight decay. Its steps then compute their loss
 * with Model.l2_gradient_in_update set; solver_update alone takes the gradients as they are. */
int solver_folds_l2(const Solver *s);
/* solver_update as the device-resident step runs or records it (solver_device.c): the host
 * configs' rates and t are left unchanged (that step advances t itself; their l2 is set as for
 * any update), and vars non-NULL makes the rate and Adam's t read from the device's StepVars
 * when the update runs; fold_l2: the step's loss left the penalty's gradient to the update
 * (solver_folds_l2). */
void solver_update_recorded(Solver *s, const StepVars *vars, int fold_l2);
/* The moving average's step after an update (with cfg.ema; its decay: solver_ema_decay): of
 * s->iteration on the host (vars NULL), or of the device's StepVars when it runs (the backend's
 * ema_step). */
void solver_average(Solver *s, const StepVars *vars);
/* The factor on the peak learning rate of weights (nonweight 0) or of biases and batchnorm
 * parameters (1: nonweight_lr_mult). */
float solver_lr_mult(const Solver *s, int nonweight);
/* A per-iteration schedule's rate for the step of iteration t, before that factor. */
float solver_scheduled_rate(const Solver *s, long t);
/* With a per-iteration schedule, every parameter's rate for the step of s->iteration (the
 * host's configs; the device-resident step keeps them as its mirror); else nothing. */
void solver_apply_schedule(Solver *s);
/* Starts an epoch: a new shuffle of the training set from the Solver's RNG (and, on the
 * device-resident path, set up at the first epoch, its upload). */
int solver_epoch_begin(Solver *s);
/* Minibatch b of the epoch's order (batch_size examples from position b * batch_size, fewer for
 * a short last one) as one update: from the device's copy of the data where the backend has
 * one (solver_device.h), else through solver_step. */
int solver_epoch_step(Solver *s, int b);
/* Reads every pending loss back in one copy and appends it to the loss History. A non-finite
 * loss is not recorded: it is noted in first_nonfinite and the result is SOLVER_DIVERGED with
 * the message of solver_check_losses. solver_train calls it at each printed loss line, at each
 * epoch's end and when it stops; callers that want the losses between call it too. */
int solver_read_losses(Solver *s);
/* How solver_train ends besides NNDL_OK and NNDL_ERR (a failed on_epoch hook). */
enum { SOLVER_STOPPED = 1, SOLVER_DIVERGED = 2 };
/* Trains from the current epoch up to num_epochs, then restores the best parameters (when there
 * is a validation set). SOLVER_STOPPED: the stop flag was seen; the model holds the state after
 * the last step, to be saved and resumed. SOLVER_DIVERGED: a non-finite loss or parameter (the
 * message names the iteration); the model holds the best parameters if there are any. Losses
 * reach the host in bulk, so a non-finite one is seen at the next loss line or epoch end. */
int solver_train(Solver *s);
/* NNDL_OK when the n losses of the iterations first.. are finite, else SOLVER_DIVERGED with a
 * message; called wherever losses reach the host. */
int solver_check_losses(const Solver *s, const float *losses, int n, int first);
/* Accuracy of the model on up to num_samples random examples of d (0: all of them); -1 when
 * out of memory (the message in nndl_last_error()). */
double solver_check_accuracy(Solver *s, const Dataset *d, int num_samples);

int solver_iterations_per_epoch(const Solver *s);

/* ---- the resumable state, as a host-side snapshot (what checkpoints store) ----------------
 * Everything a solver accumulates while training, beyond its model's state and its config:
 * export copies it out of a solver (optimizer moments fetched from the device), import puts a
 * snapshot back after checking that every size fits the solver's model and update rule. */
typedef struct SolverParamState {
    int t;                      /* Adam's step count */
    float learning_rate;        /* after the lr decays so far */
    size_t n;                   /* the parameter's size */
    float *m1, *m2;             /* optimizer moments (n floats each), NULL where the rule has none */
    float *ema;                 /* the parameter's moving average (n floats), NULL without one */
} SolverParamState;

typedef struct SolverState {
    int epoch, iteration;       /* completed */
    uint64_t rng[4];
    float best_val_acc;         /* SOLVER_NO_BEST until the first accuracy check */
    float *best_state;          /* model_state_size floats; NULL while there is no best */
    size_t state_n;             /* model_state_size of the model */
    float *loss, *train_acc, *val_acc;
    int loss_n, train_n, val_n;
    int n_params, n_moments;    /* n_moments = optim_state_count of the rule */
    int has_ema;                /* every parameter has its ema array */
    SolverParamState *params;
} SolverState;

#define SOLVER_NO_BEST (-1.0f)

/* What a checkpoint records besides the state: the model trained, the settings, the mean image. */
static inline Model *solver_model(const Solver *s) { return s->model; }
static inline const SolverConfig *solver_config(const Solver *s) { return &s->cfg; }
static inline const float *solver_input_mean(const Solver *s) { return s->input_mean; }
static inline int solver_epoch(const Solver *s) { return s->epoch; }

/* The decay of the moving average after `steps` updates (ema_decay, step_vars.h). */
double solver_ema_decay(float ema, long steps);

/* Sets the peak learning rate (a resumed run given a new one): every parameter's rate, times
 * nonweight_lr_mult where it applies; per-iteration schedules scale it from the next step. */
void solver_set_learning_rate(Solver *s, float lr);

int solver_state_export(const Solver *s, SolverState *st);
int solver_state_import(Solver *s, const SolverState *st);
/* A zeroed snapshot of n_params parameters (the arrays to be filled by a reader). */
int solver_state_alloc(SolverState *st, int n_params);
void solver_state_free(SolverState *st);

#endif
