/* bench.h — `nndl bench`: benchmark programs that print tables or JSON (no assertions on speed). */
#ifndef NNDL_BENCH_H
#define NNDL_BENCH_H

#include "json_out.h"

int bench_main(int argc, char **argv);
/* json: one JSON object on stdout (cJSON) instead of the table, for scripts. */
int bench_layers(int json);
int bench_train(const char *device, int json);
/* the process group's all-reduce checked and timed (run it under mpirun) */
int bench_allreduce(const char *device);

#endif
