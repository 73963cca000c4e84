/* train_options.h — the flags of `nndl train`: their defaults (the seed's final run), parsing,
 * and what they become (a layer spec, a SolverConfig). Kept apart from the run so that the
 * defaults can be checked against the seed by the tests. */
#ifndef NNDL_TRAIN_OPTIONS_H
#define NNDL_TRAIN_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "data_source.h"
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
    GIVEN_NUM_TRAIN = 1 << 11,  /* the split sizes: left out, the data format's defaults */
    GIVEN_NUM_VAL = 1 << 12,
    GIVEN_NUM_TEST = 1 << 13,
    /* which model flags: each shapes only some models, and is refused for the others */
    GIVEN_CNN3_SHAPE = 1 << 14, /* --filters, --filter-size */
    GIVEN_HIDDEN = 1 << 15,
    GIVEN_BATCHNORM = 1 << 16,
    GIVEN_DROPOUT = 1 << 17,
    GIVEN_WEIGHT_SCALE = 1 << 18,
    GIVEN_KEEP_LAST = 1 << 19,
};

/* The recipe's flags given (TrainOptions.recipe_given; checkpoint format 4). */
enum {
    GIVEN_LR = 1 << 0,
    GIVEN_LABEL_SMOOTHING = 1 << 1,
    GIVEN_WEIGHT_DECAY = 1 << 2,
    GIVEN_NONWEIGHT_LR = 1 << 3,
    GIVEN_SCHEDULE = 1 << 4,
    GIVEN_WARMUP = 1 << 5,
    GIVEN_WARMUP_START = 1 << 6,
    GIVEN_FINAL_LR = 1 << 7,
    GIVEN_STEP_EPOCHS = 1 << 8,
    GIVEN_CROP_PAD = 1 << 9,
    GIVEN_PAD_MODE = 1 << 10,
    GIVEN_FLIP = 1 << 11,
    GIVEN_CUTOUT = 1 << 12,
    GIVEN_TTA = 1 << 13,
    GIVEN_EMA = 1 << 14,
};

typedef struct TrainOptions {
    const char *data, *model, *device, *checkpoint, *resume, *log, *plot, *update, *loss;
    Precision precision;        /* --precision fp32|tf32: the GPU's matrix products */
    const char *init_from;      /* --init-from: starting weights (safetensors) */
    const char *run_name;       /* --run: the directory of the default outputs under runs/ */
    int save_every, keep_last, save_best, weights_only, no_save;
    double progress_interval;   /* seconds between plain progress lines (not a terminal) */
    const char *init;           /* --init: NULL = the model's default (train_options_init) */
    const char *data_format, *val_data, *test_data, *labels;
    int resize_h, resize_w;     /* --resize WxH; 0: images must be one size */
    float val_fraction;
    int num_classes;            /* the data's, set once it is known (CIFAR-10's by default) */
    int epochs, batch_size, filters, filter_size, batchnorm, num_train, num_val, num_test;
    int hidden[16], n_hidden, print_every, train_samples, val_samples;
    int distributed, sync_bn;   /* --distributed (MPI even without a launcher), --sync-bn */
    float lr, lr_decay, reg, weight_scale, dropout, momentum;
    /* the recipe beyond the seed: all off by default */
    float label_smoothing, weight_decay, nonweight_lr_mult;
    Schedule schedule;
    AugmentConfig augment;      /* pad, pad_mode, flip, cutout */
    int tta;
    float ema;                  /* decay of the parameters' moving average, 0: none */
    const char *preset;         /* the preset whose values the flags started from, or NULL */
    uint64_t seed;
    unsigned given, recipe_given; /* GIVEN_* of each enum */
} TrainOptions;

/* The seed notebook's final cell: ThreeLayerConvNet(weight_scale 1e-3, 64 filters 3x3, hidden
 * 500, reg 1e-3, batchnorm) with Solver(15 epochs, batch 1000, adam, lr 1e-3, print_every 10000). */
TrainOptions train_options_default(void);
void train_usage(FILE *f);
/* Returns NNDL_OK, NNDL_ERR (message set), or 1 for --help. With --preset NAME the preset's
 * flags (train_presets.h) are parsed first and the command line's on top of them, so explicit
 * flags override the preset's values. */
int train_options_parse(int argc, char **argv, TrainOptions *o);
/* --model and its companions as a layer spec (cnn3 and fc end in o->num_classes units). */
int train_options_spec(const TrainOptions *o, char *spec, int size);
/* How weights start: --init, else normal (weight_scale) for the seed's models cnn3 and fc, so
 * their runs stay the seed's, and he for a layer spec. */
WeightInit train_options_init(const TrainOptions *o);
/* The data flags as a request (data_source.h); the split seed is the run's --seed. */
int train_options_data_request(const TrainOptions *o, DataRequest *r);
/* The Solver's settings for these options and update rule (no hooks set). */
SolverConfig train_options_solver_config(const TrainOptions *o, UpdateRule rule);

#endif
