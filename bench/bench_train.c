/* bench_train.c — training throughput of a model (by default the seed's batchnorm CNN,
 * conv64x3-bn-relu-pool2-affine500-bn-relu-affine10, Adam) on synthetic CIFAR-shaped data, at
 * batch 50 and 1000, on the cpu or the cuda backend: images/s, achieved GFLOP/s, and the
 * process's peak RSS after the last run (host memory; on cuda the activations live on the GPU).
 * The losses are read back after the timed steps, which waits for the GPU's work to complete
 * before the clock stops. With --profile, each batch size is followed by a per-op table
 * (bench_profile.c). */
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

/* Multiply-adds of one training step per image: forward, plus weight and input gradients
 * backward, except the first layer's input gradient, which nndl does not compute. */
static double step_macs(const Model *m)
{
    double macs = 0;
    for (int i = 0; i < m->n_layers; i++) {
        double fwd = bench_layer_macs(m, i);
        macs += fwd * (i == 0 ? 2 : 3);
    }
    return macs;
}

/* Steps for `seconds` (after one warm-up step); images/s, or -1 with the error set. With prof,
 * the model's profile is filled over the same timed steps and *step_s gets the wall time per
 * step. */
static double bench_batch(const Backend *be, const BenchTrainOptions *o, int batch, double seconds, int *iters_out,
                          double *flop_per_image, ModelProfile *prof, double *step_s)
{
    Dataset d;
    int n = batch * 4;
    if (dataset_alloc(&d, n, 3, 32, 32) != NNDL_OK) return -1;
    Rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)n * 3072; i++) d.x[i] = (float)(60 * rng_gaussian(&r));
    for (int i = 0; i < n; i++) d.y[i] = (int)rng_below(&r, 10);
    Model m;
    if (model_init(&m, be, o->spec, 3, 32, 32, 1e-3f, 1e-3f, LOSS_SOFTMAX, 0, batch) != NNDL_OK) {
        dataset_free(&d);
        return -1;
    }
    *flop_per_image = 2 * step_macs(&m);
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
    if (prof) {
        memset(prof, 0, sizeof *prof);
        m.profile = prof;
    }
    int iters = 0;
    double t0 = now_seconds(), t;
    do {
        solver_step(&s, idx, batch);
        iters++;
        t = now_seconds() - t0;
    } while (t < seconds);
    solver_read_losses(&s);
    t = now_seconds() - t0;
    if (prof) {
        *step_s = t / iters;
        bench_profile_print(&m, prof, *step_s, o->machine);
    }
    free(idx);
    solver_free(&s);
    model_free(&m);
    dataset_free(&d);
    *iters_out = iters;
    return (double)iters * batch / t;
}

/* The --json form of the runs: the same numbers as the table. */
static cJSON *json_start(const BenchTrainOptions *o, const Backend *be, cJSON **runs)
{
    cJSON *root = cJSON_CreateObject();
    *runs = cJSON_CreateArray();
    if (!root || !*runs) {
        cJSON_Delete(root), cJSON_Delete(*runs);
        return NULL;
    }
    cJSON_AddStringToObject(root, "benchmark", "train");
    cJSON_AddStringToObject(root, "model", o->spec);
    cJSON_AddStringToObject(root, "device", be->name);
    cJSON_AddItemToObject(root, "runs", *runs);
    return root;
}

int bench_train(const BenchTrainOptions *opts)
{
    BenchTrainOptions o = *opts;
    Backend *be = backend_create(o.device);
    if (!be) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 2;
    }
    cJSON *runs = NULL, *root = o.json ? json_start(&o, be, &runs) : NULL;
    if (o.json && !root) {
        backend_destroy(be);
        fprintf(stderr, "nndl bench train: out of memory for the JSON output\n");
        return 1;
    }
    if (!o.json) printf("nndl bench train — %s, Adam, synthetic data, device %s\n\n", o.spec, be->name);
    BenchMachine machine;
    if (o.profile) {
        if (bench_measure_machine(be, &machine) != NNDL_OK) {
            fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
            backend_destroy(be);
            return 1;
        }
        o.machine = &machine;
    }
    int batches[2] = {50, 1000}, n_batches = 2;
    if (o.batch > 0) batches[0] = o.batch, n_batches = 1;
    for (int k = 0; k < n_batches; k++) {
        int iters;
        double flop, step_s = 0;
        ModelProfile prof;
        if (o.profile) printf("### batch %d\n\n", batches[k]);
        double ips = bench_batch(be, &o, batches[k], batches[k] <= 50 ? 5.0 : 10.0, &iters, &flop,
                                 o.profile ? &prof : NULL, &step_s);
        if (ips < 0) {
            fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
            cJSON_Delete(root);
            backend_destroy(be);
            return 1;
        }
        if (o.json) {
            cJSON *run = cJSON_CreateObject();
            if (k == 0) cJSON_AddNumberToObject(root, "mflop_per_image_step", flop / 1e6);
            if (run && cJSON_AddItemToArray(runs, run)) {
                cJSON_AddNumberToObject(run, "batch", batches[k]);
                cJSON_AddNumberToObject(run, "steps", iters);
                cJSON_AddNumberToObject(run, "images_per_s", ips);
                cJSON_AddNumberToObject(run, "gflop_per_s", ips * flop / 1e9);
            }
            continue;
        }
        if (k == 0 || o.profile) {
            printf("| batch | steps timed | images/s | GFLOP/s (%.1f MFLOP per image and step) |\n", flop / 1e6);
            printf("|-------|-------------|----------|-----------------------------------------|\n");
        }
        printf("| %5d | %11d | %8.1f | %39.1f |\n", batches[k], iters, ips, ips * flop / 1e9);
        if (o.profile) printf("\n");
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    backend_destroy(be);
    if (!o.json) {
        printf("\npeak RSS of the process (after the batch-%d run): %.1f MiB\n", batches[n_batches - 1],
               ru.ru_maxrss / 1024.0);
        return 0;
    }
    cJSON_AddNumberToObject(root, "peak_rss_mib", ru.ru_maxrss / 1024.0);
    if (json_print_and_free(stdout, root) != NNDL_OK) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 1;
    }
    return 0;
}
