/* solver.h — the seed's Solver: minibatch training with one of the five update rules.
 *
 * Contract (SEED-INVENTORY, Solver): loss recorded every iteration, train/val accuracy at the
 * first iteration, every epoch end and the last iteration (train on a random subsample of
 * num_train_samples, val on num_val_samples or all), the best parameters by strictly higher val
 * accuracy kept and restored into the model at the end, lr_decay applied to every parameter's
 * learning rate at each epoch end, per-parameter optimizer state. Minibatches come from a
 * shuffle of the training set at the start of each epoch (without replacement). Output lines
 * are the seed's: "(Iteration t / T) loss: %f" and "(Epoch e / E) train acc: %f; val_acc: %f".
 * After every epoch the caller's on_epoch hook runs (the CLI writes a checkpoint there); the
 * Solver itself writes no files. */
#ifndef NNDL_SOLVER_H
#define NNDL_SOLVER_H

#include <stdio.h>

#include "dataset.h"
#include "model.h"
#include "optim.h"
#include "rng.h"

typedef struct Solver Solver;

typedef struct SolverConfig {
    OptimConfig optim;          /* rule and its hyperparameters (optim_config_default) */
    float lr_decay;             /* 1: none */
    int batch_size, num_epochs;
    int num_train_samples;      /* train accuracy subsample (seed default 1000) */
    int num_val_samples;        /* 0: the whole validation set */
    int print_every;            /* iterations between loss lines; 0: none */
    int verbose;                /* seed output lines on `out` */
    int progress;               /* a progress bar with images/s and ETA on stderr */
    /* called after every epoch's accuracy check; a non-zero NNDL_ERR stops training */
    int (*on_epoch)(const Solver *s, void *ctx);
    void *on_epoch_ctx;
    uint64_t seed;              /* shuffles and subsamples */
    FILE *out;
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
    float **s1, **s2;           /* per parameter optimizer state (device), NULL if unused */
    History loss, train_acc, val_acc;
    float best_val_acc;
    float *best_state;          /* model_state_save layout, host */
    int epoch, iteration;       /* completed */
    Rng rng;
    const float *input_mean;    /* (C, H, W) subtracted from the data, stored in checkpoints */
    int *order, *pred;          /* shuffle and predictions scratch */
    float *batch_x;
    int *batch_y;
    /* Losses stay on the device until read back in bulk (solver_read_losses): one slot per
     * iteration of an epoch, `pending` of them written and not yet in the loss History. */
    double *loss_slots;         /* device, loss_cap doubles */
    double *loss_host;          /* host staging of the read-back, loss_cap doubles */
    int loss_cap, pending;
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
/* Reads every pending loss back in one copy and appends it to the loss History; notes the
 * first non-finite one in first_nonfinite. solver_train calls it at each printed loss line and
 * at each epoch end; callers that want the losses between call it too. */
int solver_read_losses(Solver *s);
/* Trains from the current epoch up to num_epochs, then restores the best parameters. */
int solver_train(Solver *s);
/* Accuracy of the model on up to num_samples random examples of d (0: all of them); -1 when
 * out of memory (the message in nndl_last_error()). */
double solver_check_accuracy(Solver *s, const Dataset *d, int num_samples);

int solver_iterations_per_epoch(const Solver *s);

#endif
