/* run_outputs.h — what `nndl train` writes while it trains, after every epoch: checkpoints by the
 * chosen policy (every N epochs, the K newest kept, the best, full or weights-only), the CSV log
 * and the SVG curves, each atomically, so a killed run leaves its results up to the last epoch. */
#ifndef NNDL_RUN_OUTPUTS_H
#define NNDL_RUN_OUTPUTS_H

#include "curves.h"
#include "solver.h"

#define RUN_OUTPUTS_MAX_PATH 4200

typedef struct RunOutputs {
    const char *checkpoint;     /* NAME: NAME_epoch_<e>.ckpt, NAME_best.ckpt; NULL: none */
    int save_every;             /* epochs between checkpoints (and the last one) */
    int keep_last;              /* the newest K epoch files this run wrote stay; 0: all */
    int save_best, weights_only;
    const char *log, *plot;     /* NULL: none */
    /* filled while training */
    double start;               /* now_seconds() at the start */
    float lr;                   /* the rate the coming epoch trains with */
    float best_saved;           /* val accuracy of the best file written; -1: none */
    int first_iteration;        /* the solver's iteration at the start (a resumed run's) */
    EpochRow *rows;
    int n_rows, cap_rows;
    int *written, n_written;    /* epochs of the epoch files this run wrote, oldest first */
    char last_path[RUN_OUTPUTS_MAX_PATH];   /* the newest epoch file ("" before the first) */
} RunOutputs;

/* Before training: the rows of the epochs a resumed solver already has (their wall time,
 * learning rate and val loss unknown). */
int run_outputs_start(RunOutputs *r, const Solver *s, float lr);
/* A SolverConfig.on_epoch hook (ctx: the RunOutputs). */
int run_outputs_on_epoch(const Solver *s, void *ctx);
/* The log and the plot as they stand (a run's end, also an unfinished one). */
int run_outputs_write_curves(const RunOutputs *r, const Solver *s);
/* The file name of an epoch or best file: NAME_epoch_<e>.ckpt or .safetensors, NAME_best.*. */
void run_outputs_epoch_path(const RunOutputs *r, int epoch, char *path, size_t size);
void run_outputs_best_path(const RunOutputs *r, char *path, size_t size);
/* The same epoch file for --checkpoint name (train checks its length before the run). */
void run_outputs_epoch_name(const char *name, int weights_only, int epoch, char *path, size_t size);
/* The checkpoint a stopped run writes: name_interrupted.ckpt. */
void run_outputs_interrupted_path(const char *name, char *path, size_t size);
/* Whether path, however spelled, is one of the files a run with --checkpoint name writes:
 * name_epoch_<e>.<ext>, name_best.<ext> (ext safetensors with --weights-only, else ckpt),
 * name_interrupted.ckpt. */
int run_outputs_is_checkpoint(const char *path, const char *name, int weights_only);
void run_outputs_free(RunOutputs *r);

#endif
