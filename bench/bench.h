/* bench.h — `nndl bench`: benchmark programs that print tables (no assertions on speed). */
#ifndef NNDL_BENCH_H
#define NNDL_BENCH_H

#include "backend.h"
#include "json_out.h"
#include "model.h"

int bench_main(int argc, char **argv);
/* json: one JSON object on stdout (cJSON) instead of the table, for scripts. */
int bench_layers(int json);
int bench_conv(void);
/* the cpu's matrix products, oneDNN against OpenBLAS, on the seed net's shapes (bench_gemm.c) */
int bench_gemm(void);

#define BENCH_MAX_BATCHES 8

/* What this machine's device reaches, measured with the backend's own ops (bench_profile.c). */
typedef struct BenchMachine {
    double sgemm_gflops;    /* affine_forward (an sgemm) of 1024 x 1024 by 1024 x 1024 */
    double stream_gbs;      /* relu_forward over 2 x 128 MiB: bytes read + written per second */
} BenchMachine;

typedef struct BenchTrainOptions {
    const char *device;         /* cpu (default) or cuda */
    const char *spec;           /* --model: the seed's batchnorm CNN by default */
    Precision precision;        /* --precision fp32|tf32 */
    int batches[BENCH_MAX_BATCHES], n_batches; /* --batches 50,100,1000 (default); --batch N: one */
    int profile;                /* --profile: per-op tables (on the host-batch path) */
    int json;                   /* one JSON object on stdout (cJSON) instead of the table (not with profile) */
    const BenchMachine *machine; /* set by bench_train when profiling */
} BenchTrainOptions;

int bench_train(const BenchTrainOptions *o);
/* the process group's all-reduce checked and timed (run it under mpirun) */
int bench_allreduce(const char *device);

/* Multiply-adds of layer i's forward for one example: weights x output positions for a layer
 * with a weight (conv, affine), 0 for the others. */
double bench_layer_macs(const Model *m, int i);
int bench_measure_machine(const Backend *be, BenchMachine *out);
/* The per-op table of a profiled run: time per step, share of step_s, and the rate against the
 * machine (GFLOP/s for layers with weights, GB/s of the tensors touched for the others). */
void bench_profile_print(const Model *m, const ModelProfile *p, double step_s, const BenchMachine *machine);

#endif
