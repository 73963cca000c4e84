/* curves.h — a training run's histories as a CSV log and as an SVG with the seed notebook's two
 * panels (loss per iteration; train and val accuracy per check). Both are written to a
 * temporary name and renamed. */
#ifndef NNDL_CURVES_H
#define NNDL_CURVES_H

#include "solver.h"

/* Rows "kind,index,value" with kind loss (per iteration) or train_acc / val_acc (per check). */
int curves_write_csv(const Solver *s, const char *path);
int curves_write_svg(const Solver *s, const char *path);

#endif
