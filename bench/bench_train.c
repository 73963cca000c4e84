/* bench_train.c — training throughput of a model (by default the seed's batchnorm CNN,
 * conv64x3-bn-relu-pool2-affine500-bn-relu-affine10, Adam) on synthetic CIFAR-shaped data, at
 * batch 50, 100 and 1000, on the cpu or the cuda backend: images/s, achieved GFLOP/s, and the
 * process's peak RSS after the last run (host memory; on cuda the activations live on the GPU).
 * Steps run as `nndl train` runs them: epochs of the Solver, on cuda from the device's copy of
 * the data, recorded once as a graph (solver_device.h). The losses are read back after the timed
 * steps, which waits for the GPU's work to complete before the clock stops. With --profile the
 * steps copy their minibatches from the host (a recorded graph cannot be timed op by op) and
 * each batch size is followed by a per-op table (bench_profile.c).
 *
 * Where the backend counts what its runtime is asked to do (the SIMT host, build/nndl-simt), it
 * prints those counts per step after setup instead of timings, which would measure the CPU. */
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
#include "solver_device.h"

#define STEPS_PER_EPOCH 8

/* Multiply-adds of one training step per image: forward, plus weight and input gradients
 * backward, except the first layer's input gradient, which nndl does not compute. */
static double step_macs(const Model *m)
{
    double macs = 0;
    for (int i = 0; i < m->n_layers; i++) macs += bench_layer_macs(m, i) * (i == 0 ? 2 : 3);
    return macs;
}

/* FLOP of one training step per image of spec (a model of batch 1 built for the count). */
static int spec_flop(const Backend *be, const char *spec, double *flop)
{
    Model m;
    if (model_init(&m, be, spec, 3, 32, 32, 1e-3f, 1e-3f, LOSS_SOFTMAX, 0, 1) != NNDL_OK) return NNDL_ERR;
    *flop = 2 * step_macs(&m);
    model_free(&m);
    return NNDL_OK;
}

typedef struct BenchRun {
    Dataset d;
    Model m;
    Solver s;
    DataParallel dp;            /* under mpirun: the group's share and timed all-reduce */
} BenchRun;

static void bench_free(BenchRun *r)
{
    if (r->s.model) solver_free(&r->s);
    if (r->dp.comm) dp_free(&r->dp);
    if (r->m.be) model_free(&r->m);
    dataset_free(&r->d);
}

static int bench_setup(BenchRun *r, const Backend *be, Comm *comm, const BenchTrainOptions *o, int batch)
{
    memset(r, 0, sizeof *r);
    int n = batch * STEPS_PER_EPOCH;
    if (dataset_alloc(&r->d, n, 3, 32, 32) != NNDL_OK) return NNDL_ERR;
    Rng g;
    rng_seed(&g, 1);
    for (size_t i = 0; i < (size_t)n * 3072; i++) r->d.x[i] = (float)(60 * rng_gaussian(&g));
    for (int i = 0; i < n; i++) r->d.y[i] = (int)rng_below(&g, 10);
    if (model_init(&r->m, be, o->spec, 3, 32, 32, 1e-3f, 1e-3f, LOSS_SOFTMAX, 0, batch) != NNDL_OK) goto fail;
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_ADAM);
    cfg.batch_size = batch, cfg.verbose = 0;
    cfg.host_batches = o->profile; /* a recorded graph step has no per-op times */
    if (comm->size > 1) {
        if (dp_init(&r->dp, comm, &r->m) != NNDL_OK) goto fail;
        r->dp.timed = 1;
        cfg.dp = &r->dp;
    }
    if (solver_init(&r->s, &r->m, &r->d, NULL, &cfg) != NNDL_OK) goto fail;
    return NNDL_OK;
fail:
    bench_free(r);
    return NNDL_ERR;
}

/* One epoch of the Solver's steps. */
static int run_epoch(Solver *s)
{
    if (solver_epoch_begin(s) != NNDL_OK) return NNDL_ERR;
    for (int b = 0; b < STEPS_PER_EPOCH; b++) {
        if (solver_epoch_step(s, b) != NNDL_OK) return NNDL_ERR;
        s->iteration++;
    }
    return NNDL_OK;
}

/* steps timed, and per step the all-reduce's seconds and bytes (0 alone) */
typedef struct BenchSteps {
    int steps;
    double allreduce_s, allreduce_bytes;
} BenchSteps;

/* Epochs for `seconds` after one of warm-up (and recording); images/s, or -1 with the error
 * set. With o->profile the model's profile is filled over the timed steps and printed. */
static double bench_batch(const Backend *be, Comm *comm, const BenchTrainOptions *o, int batch, double seconds,
                          BenchSteps *out)
{
    BenchRun r;
    ModelProfile prof;
    if (bench_setup(&r, be, comm, o, batch) != NNDL_OK) return -1;
    int steps = 0;
    double t0 = 0, t = 0;
    if (run_epoch(&r.s) != NNDL_OK || solver_read_losses(&r.s) != NNDL_OK) goto fail; /* warm-up, recording */
    r.dp.steps = 0, r.dp.allreduce_seconds = 0, r.dp.bytes = 0;
    if (o->profile) {
        memset(&prof, 0, sizeof prof);
        r.m.profile = &prof;
    }
    t0 = now_seconds();
    do {
        if (run_epoch(&r.s) != NNDL_OK) goto fail;
        steps += STEPS_PER_EPOCH;
        t = now_seconds() - t0;
    } while (!comm_any(comm, t >= seconds)); /* rank 0's clock decides for all: the same steps */
    if (solver_read_losses(&r.s) != NNDL_OK) goto fail;
    t = now_seconds() - t0;
    *out = (BenchSteps){.steps = steps, .allreduce_s = r.dp.steps ? r.dp.allreduce_seconds / r.dp.steps : 0,
                        .allreduce_bytes = r.dp.steps ? r.dp.bytes / r.dp.steps : 0};
    if (o->profile) bench_profile_print(&r.m, &prof, t / steps, o->machine);
    bench_free(&r);
    return (double)steps * batch / t;
fail:
    bench_free(&r);
    return -1;
}

/* What the runtime is asked per step after setup (steps 1 and 2 of the first epoch), and for
 * reading the losses back: a table row, or fields of root (JSON). */
static int bench_counts(const Backend *be, Comm *comm, const BenchTrainOptions *o, int batch, cJSON *root)
{
    BenchRun r;
    DeviceCounters c;
    if (bench_setup(&r, be, comm, o, batch) != NNDL_OK) return NNDL_ERR;
    const int steps = 2; /* after step 0, which sets up the data and records the graph (the SIMT host
                          * needs minutes per step of this model) */
    int ok = solver_epoch_begin(&r.s) == NNDL_OK && solver_epoch_step(&r.s, 0) == NNDL_OK &&
             be->counters(be, &c, 1) == NNDL_OK;
    for (int b = 1; ok && b <= steps; b++) ok = solver_epoch_step(&r.s, b) == NNDL_OK;
    if (ok) ok = be->counters(be, &c, 1) == NNDL_OK;
    DeviceCounters read = {0};
    if (ok) ok = solver_read_losses(&r.s) == NNDL_OK && be->counters(be, &read, 1) == NNDL_OK;
    bench_free(&r);
    if (!ok) return NNDL_ERR;
    double per[] = {c.launches, c.graph_launches, c.blas_calls, c.h2d, c.h2d_bytes, c.d2h, c.d2h_bytes, c.syncs, c.allocs};
    const char *names[] = {"kernel_launches", "graph_launches", "blas_calls", "h2d_copies", "h2d_bytes",
                           "d2h_copies", "d2h_bytes", "syncs", "allocations"};
    for (size_t i = 0; i < sizeof per / sizeof *per; i++) per[i] /= steps;
    if (root) {
        cJSON *step = cJSON_AddObjectToObject(root, "per_step_after_setup");
        cJSON_AddNumberToObject(root, "batch", batch);
        for (size_t i = 0; step && i < sizeof per / sizeof *per; i++) cJSON_AddNumberToObject(step, names[i], per[i]);
        cJSON_AddNumberToObject(root, "loss_read_back_d2h_copies", (double)read.d2h);
        return NNDL_OK;
    }
    printf("| %5d | %15.1f | %14.1f | %12.1f | %3.1f (%.0f B) | %3.1f (%.0f B) | %5.1f | %11.1f |\n", batch, per[0],
           per[1], per[2], per[3], per[4], per[5], per[6], per[7], per[8]);
    printf("\nreading the %d losses back: %lu device-to-host copy (%lu bytes), %lu explicit syncs\n", steps + 1,
           read.d2h, read.d2h_bytes, read.syncs);
    return NNDL_OK;
}

/* The timing table, or with json the same as one JSON object (cJSON). */
static int bench_timings(const Backend *be, Comm *comm, const BenchTrainOptions *o, double flop, cJSON *root)
{
    cJSON *runs = NULL;
    if (o->json) {
        if (!(runs = cJSON_AddArrayToObject(root, "runs"))) return nndl_fail("out of memory for the JSON output");
    } else {
        if (comm->size > 1)
            printf("%d processes (%s), each on 1/%d of the batch; per step: compute (the step without the "
                   "all-reduce), the gradient all-reduce's time and its bytes per process\n\n", comm->size,
                   comm->name, comm->size);
    }
    for (int k = 0; k < o->n_batches; k++) {
        int b = o->batches[k];
        if (o->profile) printf("### batch %d\n\n", b);
        BenchSteps r;
        double ips = bench_batch(be, comm, o, b, b <= 100 ? 5.0 : 10.0, &r);
        if (ips < 0) return NNDL_ERR;
        int steps = r.steps;
        double step_ms = 1e3 * b / ips, allreduce_ms = 1e3 * r.allreduce_s;
        if (o->json) {
            cJSON *run = cJSON_CreateObject();
            if (run && cJSON_AddItemToArray(runs, run)) {
                cJSON_AddNumberToObject(run, "batch", b);
                cJSON_AddNumberToObject(run, "steps", steps);
                cJSON_AddNumberToObject(run, "images_per_s", ips);
                cJSON_AddNumberToObject(run, "gflop_per_s", ips * flop / 1e9);
                if (comm->size > 1) {
                    cJSON_AddNumberToObject(run, "compute_ms_per_step", step_ms - allreduce_ms);
                    cJSON_AddNumberToObject(run, "allreduce_ms_per_step", allreduce_ms);
                    cJSON_AddNumberToObject(run, "allreduce_bytes_per_step", r.allreduce_bytes);
                }
            }
            continue;
        }
        if (k == 0 || o->profile) { /* profiled: each batch's row after its table */
            printf("| batch | steps timed | images/s | GFLOP/s (%.1f MFLOP per image and step) |", flop / 1e6);
            if (comm->size > 1) printf(" compute ms/step | all-reduce ms/step | all-reduce MB/step |");
            printf("\n|-------|-------------|----------|-----------------------------------------|");
            if (comm->size > 1) printf("-----------------|--------------------|--------------------|");
            printf("\n");
        }
        printf("| %5d | %11d | %8.1f | %39.1f |", b, steps, ips, ips * flop / 1e9);
        if (comm->size > 1)
            printf(" %15.2f | %18.2f | %18.2f |", step_ms - allreduce_ms, allreduce_ms, r.allreduce_bytes / 1e6);
        printf(o->profile ? "\n\n" : "\n");
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (o->json) cJSON_AddNumberToObject(root, "peak_rss_mib", ru.ru_maxrss / 1024.0);
    else printf("\npeak RSS of the process (after the last run): %.1f MiB\n", ru.ru_maxrss / 1024.0);
    return NNDL_OK;
}

static int bench_train_on(Comm *comm, const BenchTrainOptions *o)
{
    Backend *be = backend_create(o->device);
    if (!be) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 2;
    }
    if (o->precision != PRECISION_FP32 && !be->set_precision)
        fprintf(stderr, "nndl bench train: the %s backend computes in fp32 only; --precision ignored\n", be->name);
    else if (be->set_precision && be->set_precision(be, o->precision) != NNDL_OK) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        backend_destroy(be);
        return 2;
    }
    double flop;
    BenchMachine machine;
    BenchTrainOptions opts = *o;
    if (spec_flop(be, o->spec, &flop) != NNDL_OK ||
        (o->profile && bench_measure_machine(be, &machine) != NNDL_OK)) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        backend_destroy(be);
        return 2;
    }
    if (o->profile) opts.machine = &machine;
    o = &opts;
    DeviceCounters probe;
    int counted = be->counters && be->counters(be, &probe, 1) == NNDL_OK;
    const char *precision = o->precision == PRECISION_TF32 ? "tf32" : "fp32";
    cJSON *root = o->json ? cJSON_CreateObject() : NULL;
    if (o->json && !root) {
        backend_destroy(be);
        fprintf(stderr, "nndl bench train: out of memory for the JSON output\n");
        return 1;
    }
    if (o->json) {
        cJSON_AddStringToObject(root, "benchmark", "train");
        cJSON_AddStringToObject(root, "model", o->spec);
        cJSON_AddStringToObject(root, "device", be->name);
        cJSON_AddStringToObject(root, "precision", precision);
        cJSON_AddNumberToObject(root, "mflop_per_image_step", flop / 1e6);
    } else {
        printf("nndl bench train — %s, Adam, synthetic data, device %s, precision %s\n\n", o->spec, be->name,
               precision);
        if (o->profile && solver_device_available(be))
            printf("(profiled: the steps copy their minibatches from the host; the device-resident graph "
                   "step cannot be timed op by op)\n\n");
    }
    int ok;
    if (counted) {
        if (!o->json) {
            printf("runtime calls per training step after setup (SIMT host: counts, no timings)\n\n");
            printf("| batch | kernel launches | graph launches | cuBLAS calls | H2D copies | D2H copies | syncs | allocations |\n");
            printf("|-------|-----------------|----------------|--------------|------------|------------|-------|-------------|\n");
        }
        ok = bench_counts(be, comm, o, o->batches[0], root) == NNDL_OK;
    } else {
        ok = bench_timings(be, comm, o, flop, root) == NNDL_OK;
    }
    backend_destroy(be);
    if (!ok) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        cJSON_Delete(root);
        return 1;
    }
    if (o->json && json_print_and_free(stdout, root) != NNDL_OK) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 1;
    }
    return 0;
}

/* Under mpirun the ranks train one model data-parallel (the batch is the global batch) and rank
 * 0 prints the table with the all-reduce's share of each step. */
int bench_train(const BenchTrainOptions *o)
{
    Comm *comm = comm_world(0);
    if (!comm) {
        fprintf(stderr, "nndl bench train: %s\n", nndl_last_error());
        return 2;
    }
    if (comm->rank != 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 prints the table */
        fprintf(stderr, "nndl bench train: rank %d prints too\n", comm->rank);
    int rc = bench_train_on(comm, o);
    if (comm->size > 1 && rc != 0) comm->abort(comm, rc);
    comm->finish(comm);
    return rc;
}
