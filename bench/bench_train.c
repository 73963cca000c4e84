/* bench_train.c — training throughput of the seed's batchnorm CNN (conv64x3-bn-relu-pool2-
 * affine500-bn-relu-affine10, Adam) on synthetic CIFAR-shaped data, at batch 50 and 1000, on the
 * cpu or the cuda backend: images/s, achieved GFLOP/s, and the process's peak RSS after the
 * batch-1000 run (host memory; on cuda the activations live on the GPU). The losses are read back
 * after the timed steps, which waits for the GPU's work to complete before the clock stops.
 *
 * Under mpirun (a build with MPI) the processes train one model data-parallel, each on its share
 * of the batch (the batch column is the global batch), and rank 0 prints per step the compute
 * time and the gradient all-reduce's time and bytes (the device is waited for around each
 * all-reduce, so on a GPU the split costs a little speed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "data_parallel.h"
#include "error.h"
#include "model.h"
#include "progress.h"
#include "rng.h"
#include "solver.h"

#define SEED_CNN "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10"

/* Multiply-adds of one training step per image of SEED_CNN: forward, plus weight and input
 * gradients backward, except the first layer's input gradient, which nndl does not compute. */
static double step_macs(void)
{
    double conv = 64.0 * 3 * 3 * 3 * 32 * 32, hidden = 64.0 * 16 * 16 * 500, out = 500.0 * 10;
    return 3 * (conv + hidden + out) - conv;
}

typedef struct BenchResult {
    int iters;
    double images_per_s, step_s, allreduce_s, allreduce_bytes;
} BenchResult;

static double bench_batch(const Backend *be, Comm *comm, int batch, double seconds, BenchResult *out)
{
    Dataset d;
    int n = batch * 4;
    if (dataset_alloc(&d, n, 3, 32, 32) != NNDL_OK) return -1;
    Rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * 3072; i++) d.x[i] = (float)(60 * rng_gaussian(&r));
    for (int i = 0; i < n; i++) d.y[i] = (int)rng_below(&r, 10);
    Model m;
    if (model_init(&m, be, SEED_CNN, 3, 32, 32, 1e-3f, 1e-3f, LOSS_SOFTMAX, 0, batch) != NNDL_OK) {
        dataset_free(&d);
        return -1;
    }
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_ADAM);
    cfg.batch_size = batch;
    cfg.verbose = 0;
    DataParallel dp = {0};
    if (comm->size > 1) {
        if (dp_init(&dp, comm, &m) != NNDL_OK) {
            model_free(&m);
            dataset_free(&d);
            return -1;
        }
        dp.timed = 1;
        cfg.dp = &dp;
    }
    Solver s = {0};
    int *idx = NULL;
    if (solver_init(&s, &m, &d, NULL, &cfg) != NNDL_OK || !(idx = nndl_alloc((size_t)batch, sizeof *idx, "indices"))) {
        if (s.model) solver_free(&s);
        if (dp.comm) dp_free(&dp);
        model_free(&m);
        dataset_free(&d);
        return -1;
    }
    for (int i = 0; i < batch; i++) idx[i] = (int)rng_below(&r, (uint32_t)n);
    solver_step(&s, idx, batch); /* warm-up: page faults, BLAS threads */
    solver_read_losses(&s);
    dp.allreduce_seconds = 0, dp.bytes = 0, dp.steps = 0;
    int iters = 0;
    double t0 = now_seconds(), t;
    do {
        solver_step(&s, idx, batch);
        iters++;
        t = now_seconds() - t0;
    } while (!comm_any(comm, t >= seconds)); /* rank 0's clock decides for all: the same steps */
    solver_read_losses(&s);
    t = now_seconds() - t0;
    *out = (BenchResult){.iters = iters, .images_per_s = (double)iters * batch / t, .step_s = t / iters,
                         .allreduce_s = dp.steps ? dp.allreduce_seconds / dp.steps : 0,
                         .allreduce_bytes = dp.steps ? dp.bytes / dp.steps : 0};
    free(idx);
    solver_free(&s);
    if (dp.comm) dp_free(&dp);
    model_free(&m);
    dataset_free(&d);
    return out->images_per_s;
}

static int bench_train_on(Comm *comm, const char *device, int json)
{
    Backend *be = backend_create(device);
    if (!be) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 2;
    }
    cJSON *root = json ? cJSON_CreateObject() : NULL, *runs = json ? cJSON_CreateArray() : NULL;
    if (json && (!root || !runs)) {
        cJSON_Delete(root), cJSON_Delete(runs), backend_destroy(be);
        fprintf(stderr, "nndl bench train: out of memory for the JSON output\n");
        return 1;
    }
    if (json) {
        cJSON_AddStringToObject(root, "benchmark", "train");
        cJSON_AddStringToObject(root, "model", SEED_CNN);
        cJSON_AddStringToObject(root, "device", be->name);
        cJSON_AddNumberToObject(root, "mflop_per_image_step", 2 * step_macs() / 1e6);
        cJSON_AddNumberToObject(root, "processes", comm->size);
        cJSON_AddItemToObject(root, "runs", runs);
    } else {
        printf("nndl bench train — %s, Adam, synthetic data, device %s\n\n", SEED_CNN, be->name);
        if (comm->size > 1)
            printf("%d processes (%s), each on 1/%d of the batch; per step: compute (the step without the "
                   "all-reduce), the gradient all-reduce's time and its bytes per process\n\n", comm->size,
                   comm->name, comm->size);
        printf("| batch | steps timed | images/s | GFLOP/s (%.1f MFLOP per image and step) |", 2 * step_macs() / 1e6);
        if (comm->size > 1) printf(" compute ms/step | all-reduce ms/step | all-reduce MB/step |");
        printf("\n|-------|-------------|----------|-----------------------------------------|");
        if (comm->size > 1) printf("-----------------|--------------------|--------------------|");
        printf("\n");
    }
    int batches[2] = {50, 1000};
    for (int k = 0; k < 2; k++) {
        BenchResult r;
        double ips = bench_batch(be, comm, batches[k], batches[k] == 50 ? 5.0 : 10.0, &r);
        if (ips < 0) {
            fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
            cJSON_Delete(root);
            backend_destroy(be);
            return 1;
        }
        if (json) {
            cJSON *run = cJSON_CreateObject();
            if (run && cJSON_AddItemToArray(runs, run)) {
                cJSON_AddNumberToObject(run, "batch", batches[k]);
                cJSON_AddNumberToObject(run, "steps", r.iters);
                cJSON_AddNumberToObject(run, "images_per_s", ips);
                cJSON_AddNumberToObject(run, "gflop_per_s", ips * 2 * step_macs() / 1e9);
                if (comm->size > 1) {
                    cJSON_AddNumberToObject(run, "compute_ms_per_step", 1e3 * (r.step_s - r.allreduce_s));
                    cJSON_AddNumberToObject(run, "allreduce_ms_per_step", 1e3 * r.allreduce_s);
                    cJSON_AddNumberToObject(run, "allreduce_bytes_per_step", r.allreduce_bytes);
                }
            }
            continue;
        }
        printf("| %5d | %11d | %8.1f | %39.1f |", batches[k], r.iters, ips, ips * 2 * step_macs() / 1e9);
        if (comm->size > 1)
            printf(" %15.2f | %18.2f | %18.2f |", 1e3 * (r.step_s - r.allreduce_s), 1e3 * r.allreduce_s,
                   r.allreduce_bytes / 1e6);
        printf("\n");
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    backend_destroy(be);
    if (!json) {
        printf("\npeak RSS of the process (after the batch-1000 run): %.1f MiB\n", ru.ru_maxrss / 1024.0);
        return 0;
    }
    cJSON_AddNumberToObject(root, "peak_rss_mib", ru.ru_maxrss / 1024.0);
    if (json_print_and_free(stdout, root) != NNDL_OK) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 1;
    }
    return 0;
}

int bench_train(const char *device, int json)
{
    Comm *comm = comm_world(0);
    if (!comm) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 2;
    }
    if (comm->rank != 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 prints the table */
        fprintf(stderr, "nndl bench train: rank %d prints too\n", comm->rank);
    int rc = bench_train_on(comm, device, json);
    if (comm->size > 1 && rc != 0) comm->abort(comm, rc);
    comm->finish(comm);
    return rc;
}
