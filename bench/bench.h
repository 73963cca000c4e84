/* bench.h — `nndl bench`: benchmark programs that print tables (no assertions on speed). */
#ifndef NNDL_BENCH_H
#define NNDL_BENCH_H

#include "backend.h"
#include "json_out.h"

#define BENCH_MAX_BATCHES 8

typedef struct BenchTrainOptions {
    const char *device;         /* cpu (default) or cuda */
    Precision precision;        /* --precision fp32|tf32 */
    int batches[BENCH_MAX_BATCHES], n_batches; /* --batches 50,100,1000 (default) */
    int json;                   /* one JSON object on stdout (cJSON) instead of the table */
} BenchTrainOptions;

int bench_main(int argc, char **argv);
/* json: one JSON object on stdout (cJSON) instead of the table, for scripts. */
int bench_layers(int json);
int bench_train(const BenchTrainOptions *o);

#endif
