/* train_options.h — the flags of `nndl train`: their defaults (the seed's final run), parsing,
 * and what they become (a layer spec, a SolverConfig). Kept apart from the run so that the
 * defaults can be checked against the seed by the tests. */
#ifndef NNDL_TRAIN_OPTIONS_H
#define NNDL_TRAIN_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "solver.h"

#define DEFAULT_DATA "data/cifar-10-batches-bin"

/* The settings a checkpoint records, as flags: which of them the command line gave. A resumed
 * run takes the others from the checkpoint, so `--resume FILE` alone continues that run. */
enum {
    GIVEN_MODEL = 1 << 0,       /* --model or a flag that shapes cnn3 / fc */
    GIVEN_BATCH_SIZE = 1 << 1,
    GIVEN_EPOCHS = 1 << 2,
    GIVEN_LR_DECAY = 1 << 3,
    GIVEN_REG = 1 << 4,
    GIVEN_MOMENTUM = 1 << 5,
    GIVEN_TRAIN_SAMPLES = 1 << 6,
    GIVEN_VAL_SAMPLES = 1 << 7,
    GIVEN_SEED = 1 << 8,
    GIVEN_LOSS = 1 << 9,
    GIVEN_UPDATE = 1 << 10,
};

typedef struct TrainOptions {
    const char *data, *model, *device, *checkpoint, *resume, *log, *plot, *update, *loss;
    int epochs, batch_size, filters, filter_size, batchnorm, num_train, num_val, num_test;
    int hidden[16], n_hidden, print_every, train_samples, val_samples;
    int distributed, sync_bn;   /* --distributed (MPI even without a launcher), --sync-bn */
    float lr, lr_decay, reg, weight_scale, dropout, momentum;
    uint64_t seed;
    unsigned given;             /* GIVEN_* */
} TrainOptions;

/* The seed notebook's final cell: ThreeLayerConvNet(weight_scale 1e-3, 64 filters 3x3, hidden
 * 500, reg 1e-3, batchnorm) with Solver(15 epochs, batch 1000, adam, lr 1e-3, print_every 10000). */
TrainOptions train_options_default(void);
void train_usage(FILE *f);
/* Returns NNDL_OK, NNDL_ERR (message set), or 1 for --help. */
int train_options_parse(int argc, char **argv, TrainOptions *o);
/* --model and its companions as a layer spec. */
int train_options_spec(const TrainOptions *o, char *spec, int size);
/* The Solver's settings for these options and update rule (no hooks set). */
SolverConfig train_options_solver_config(const TrainOptions *o, UpdateRule rule);

#endif
