/* check_report.h — runs op checks and model steps on one backend and prints every comparison
 * as a table row: what `nndl check` shows for each device. */
#ifndef NNDL_CHECK_REPORT_H
#define NNDL_CHECK_REPORT_H

#include <stdio.h>

#include "backend.h"

typedef struct CheckSelection {
    const char *const *ops;     /* names from op_checks; NULL: all of them */
    int n_ops;
    const char *const *models;  /* layer specs for one training step each */
    int n_models;
    int model_c, model_h, model_w, model_batch;
    int failures_only;          /* print failed rows only */
} CheckSelection;

typedef struct CheckTotals {
    int rows, failed;
} CheckTotals;

/* Prints the header of the table. */
void check_print_header(FILE *out);

/* NNDL_ERR (message set) for an unknown op name, or a model that cannot be built on the input
 * (a spec that does not fit is the user's mistake, not a failed comparison); be builds them. */
int check_selection_valid(const CheckSelection *sel, const Backend *be);

/* Runs the selection on be, printing rows labelled with the backend's name; adds to *totals.
 * Returns NNDL_ERR (message set) for an unknown op name, before running anything. */
int check_report(FILE *out, const Backend *be, const CheckSelection *sel, CheckTotals *totals);

#endif
