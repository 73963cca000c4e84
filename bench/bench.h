/* bench.h — `nndl bench`: benchmark programs that print tables (no assertions on speed). */
#ifndef NNDL_BENCH_H
#define NNDL_BENCH_H

int bench_main(int argc, char **argv);
int bench_layers(void);
int bench_train(const char *device);
/* the process group's all-reduce checked and timed (run it under mpirun) */
int bench_allreduce(const char *device);

#endif
