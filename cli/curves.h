/* curves.h — a training run as a CSV log (one row per epoch) and as an SVG with the seed
 * notebook's two panels (loss per iteration; train and val accuracy per check). Both are
 * written to a temporary name and renamed (atomic_file.h). */
#ifndef NNDL_CURVES_H
#define NNDL_CURVES_H

#include "solver.h"

/* One epoch of the log; NAN where a value is not known (written as an empty field). */
typedef struct EpochRow {
    int epoch, iteration;       /* completed */
    double wall_s;              /* seconds since this process started training */
    double lr;                  /* the learning rate the epoch trained with */
    double train_loss;          /* mean minibatch loss of the epoch (train mode, with L2) */
    double train_acc, val_loss, val_acc; /* val_loss: data loss in test mode, whole val set */
} EpochRow;

#define CURVES_CSV_HEADER "epoch,iteration,wall_s,lr,train_loss,train_acc,val_loss,val_acc"

int curves_write_csv(const EpochRow *rows, int n, const char *path);
int curves_write_svg(const Solver *s, const char *path);

#endif
