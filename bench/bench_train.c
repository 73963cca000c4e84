/* bench_train.c — training throughput of the seed's batchnorm CNN (conv64x3-bn-relu-pool2-
 * affine500-bn-relu-affine10, Adam) on synthetic CIFAR-shaped data, at batch 50 and 1000, on the
 * cpu or the cuda backend: images/s, achieved GFLOP/s, and the process's peak RSS after the
 * batch-1000 run (host memory; on cuda the activations live on the GPU). The losses are read back
 * after the timed steps, which waits for the GPU's work to complete before the clock stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
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

static double bench_batch(const Backend *be, int batch, double seconds, int *iters_out)
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
    Solver s;
    int *idx = NULL;
    if (solver_init(&s, &m, &d, NULL, &cfg) != NNDL_OK || !(idx = nndl_alloc((size_t)batch, sizeof *idx, "indices"))) {
        if (s.model) solver_free(&s);
        model_free(&m);
        dataset_free(&d);
        return -1;
    }
    for (int i = 0; i < batch; i++) idx[i] = (int)rng_below(&r, (uint32_t)n);
    solver_step(&s, idx, batch); /* warm-up: page faults, BLAS threads */
    solver_read_losses(&s);
    int iters = 0;
    double t0 = now_seconds(), t;
    do {
        solver_step(&s, idx, batch);
        iters++;
        t = now_seconds() - t0;
    } while (t < seconds);
    solver_read_losses(&s);
    t = now_seconds() - t0;
    free(idx);
    solver_free(&s);
    model_free(&m);
    dataset_free(&d);
    *iters_out = iters;
    return (double)iters * batch / t;
}

int bench_train(const char *device, int json)
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
        cJSON_AddItemToObject(root, "runs", runs);
    } else {
        printf("nndl bench train — %s, Adam, synthetic data, device %s\n\n", SEED_CNN, be->name);
        printf("| batch | steps timed | images/s | GFLOP/s (%.1f MFLOP per image and step) |\n",
               2 * step_macs() / 1e6);
        printf("|-------|-------------|----------|-----------------------------------------|\n");
    }
    int batches[2] = {50, 1000};
    for (int k = 0; k < 2; k++) {
        int iters;
        double ips = bench_batch(be, batches[k], batches[k] == 50 ? 5.0 : 10.0, &iters);
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
                cJSON_AddNumberToObject(run, "steps", iters);
                cJSON_AddNumberToObject(run, "images_per_s", ips);
                cJSON_AddNumberToObject(run, "gflop_per_s", ips * 2 * step_macs() / 1e9);
            }
            continue;
        }
        printf("| %5d | %11d | %8.1f | %39.1f |\n", batches[k], iters, ips, ips * 2 * step_macs() / 1e9);
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
