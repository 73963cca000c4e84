/* test_distributed.c — data-parallel training (core/comm.h, net/data_parallel.h):
 *  - the synchronised batchnorm ops on cpu and cuda (SIMT host): the two halves of a batch with
 *    their sums added give what the whole batch gives, in one process;
 *  - under `mpirun -np 2` (skipped, with a note, where the build has no MPI or mpirun is
 *    missing): the all-reduce alone on sizes 1 to 4 million with odd counts (nndl bench
 *    allreduce, exact values); 20 steps at global batch 100 of a model without batchnorm and of
 *    one with --sync-bn, losses and final parameters equal to one process's within 1e-5
 *    relative (and without --sync-bn the batchnorm model is not: the test can tell); a
 *    checkpoint of 2 processes resumed by 1 and one of 1 resumed by 2, both equal to the
 *    uninterrupted run; a rank killed, a rank that fails, ranks with other flags or other data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cifar10.h"
#include "comm.h"
#include "error.h"
#include "solver.h"
#include "test_util.h"

/* ---- synchronised batchnorm ops, one process ---------------------------------------------- */

/* One backend: batch N = 6 of (C = 3, S = 5) as halves of 3, against the whole batch. */
static void check_sync_bn_ops(const char *device)
{
    const Backend *be = test_backend(device);
    CU_ASSERT_FATAL(be != NULL);
    CU_ASSERT_FATAL(be->batchnorm_sums && be->batchnorm_forward_sums && be->batchnorm_backward_sums);
    enum { N = 6, C = 3, S = 5, H = N / 2, ALL = N * C * S, HALF = ALL / 2 };
    float x[ALL], dout[ALL], gamma[C] = {1.5f, -0.5f, 2}, beta[C] = {0.1f, 0.2f, -0.3f};
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < ALL; i++) x[i] = (float)(3 + 2 * rng_gaussian(&r)), dout[i] = (float)rng_gaussian(&r);
    /* device arrays: x, dout, out, dx, gamma, beta, and 6 per-channel arrays per run */
    float *d[6];
    size_t sizes[6] = {ALL, ALL, ALL, ALL, C, C};
    for (int k = 0; k < 6; k++) d[k] = be->alloc(be, sizes[k] * sizeof(float));
    float *ch = be->alloc(be, 12 * C * sizeof(float)); /* mean, istd, rm, rv, dgamma, dbeta x 2 runs */
    double *sums = be->alloc(be, 8 * C * sizeof(double));
    be->to_device(be, d[0], x, sizeof x), be->to_device(be, d[1], dout, sizeof dout);
    be->to_device(be, d[4], gamma, sizeof gamma), be->to_device(be, d[5], beta, sizeof beta);
    be->fill(be, ch, 0, 12 * C);
    BNConfig cfg = {1, 1e-5f, 0.9f};
    /* the whole batch with the ordinary ops */
    float *mean = ch, *istd = ch + C, *rm = ch + 2 * C, *rv = ch + 3 * C, *dg = ch + 4 * C, *db = ch + 5 * C;
    be->batchnorm_forward(be, d[2], mean, istd, rm, rv, d[0], d[4], d[5], &cfg, N, C, S);
    be->batchnorm_backward(be, d[3], dg, db, d[1], d[0], d[4], mean, istd, N, C, S);
    float out_all[ALL], dx_all[ALL], ch_all[6 * C];
    be->to_host(be, out_all, d[2], sizeof out_all), be->to_host(be, dx_all, d[3], sizeof dx_all);
    be->to_host(be, ch_all, ch, sizeof ch_all);
    /* two "ranks": halves of the batch, their sums added on the host as the all-reduce would */
    float *m2 = ch + 6 * C, *i2 = ch + 7 * C, *rm2 = ch + 8 * C, *rv2 = ch + 9 * C, *dg2 = ch + 10 * C, *db2 = ch + 11 * C;
    double local[2][2 * C], global[2 * C];
    for (int h = 0; h < 2; h++) {
        be->batchnorm_sums(be, sums, d[0] + h * HALF, NULL, H, C, S);
        be->to_host(be, local[h], sums, sizeof local[h]);
    }
    for (int k = 0; k < 2 * C; k++) global[k] = local[0][k] + local[1][k];
    be->to_device(be, sums, global, sizeof global);
    float out_half[ALL], dx_half[ALL], dgamma_sum[C] = {0}, dbeta_sum[C] = {0}, stats[4 * C];
    for (int h = 0; h < 2; h++) {
        be->fill(be, rm2, 0, C), be->fill(be, rv2, 0, C);
        be->batchnorm_forward_sums(be, d[2] + h * HALF, m2, i2, rm2, rv2, d[0] + h * HALF, d[4], d[5], sums,
                                   (double)N * S, &cfg, H, C, S);
    }
    be->to_host(be, out_half, d[2], sizeof out_half);
    be->to_host(be, stats, m2, sizeof stats); /* mean, istd, running mean, running var */
    for (int h = 0; h < 2; h++) {
        be->batchnorm_sums(be, sums + 2 * C, d[1] + h * HALF, d[0] + h * HALF, H, C, S);
        be->to_host(be, local[h], sums + 2 * C, sizeof local[h]);
    }
    for (int k = 0; k < 2 * C; k++) global[k] = local[0][k] + local[1][k];
    be->to_device(be, sums + 6 * C, global, sizeof global);
    for (int h = 0; h < 2; h++) {
        be->to_device(be, sums + 4 * C, local[h], sizeof local[h]);
        be->batchnorm_backward_sums(be, d[3] + h * HALF, dg2, db2, d[1] + h * HALF, d[0] + h * HALF, d[4], m2, i2,
                                    sums + 4 * C, sums + 6 * C, (double)N * S, H, C, S);
        float g[C], b[C];
        be->to_host(be, g, dg2, sizeof g), be->to_host(be, b, db2, sizeof b);
        for (int c = 0; c < C; c++) dgamma_sum[c] += g[c], dbeta_sum[c] += b[c];
    }
    be->to_host(be, dx_half, d[3], sizeof dx_half);
    double err = 0;
    for (int i = 0; i < ALL; i++) err = fmax(err, fmax(fabs(out_half[i] - out_all[i]), fabs(dx_half[i] - dx_all[i])));
    for (int c = 0; c < C; c++) {
        err = fmax(err, fabs(stats[c] - ch_all[c]) + fabs(stats[C + c] - ch_all[C + c]));
        err = fmax(err, fabs(stats[2 * C + c] - ch_all[2 * C + c]) + fabs(stats[3 * C + c] - ch_all[3 * C + c]));
        err = fmax(err, fabs(dgamma_sum[c] - ch_all[4 * C + c]) + fabs(dbeta_sum[c] - ch_all[5 * C + c]));
    }
    ASSERT_BELOW(err, 1e-5, "halves with summed statistics vs the whole batch");
    for (int k = 0; k < 6; k++) be->release(be, d[k]);
    be->release(be, ch), be->release(be, sums);
}

static void test_sync_bn_ops_cpu(void) { check_sync_bn_ops("cpu"); }
static void test_sync_bn_ops_cuda(void) { check_sync_bn_ops("cuda"); }

/* A group of one changes nothing, and the host-memory path hands the buffer over untouched. */
static void test_single_group(void)
{
    Comm *c = comm_single();
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(c->rank == 0 && c->size == 1);
    float v[3] = {1, 2, 3};
    CU_ASSERT(comm_allreduce_on(c, test_backend("cpu"), v, 3, COMM_FLOAT, COMM_AVG, NULL) == NNDL_OK);
    CU_ASSERT(v[0] == 1 && v[1] == 2 && v[2] == 3);
    CU_ASSERT(comm_check_same(c, 42, "flags") == NNDL_OK);
    CU_ASSERT(comm_any(c, 0) == 0 && comm_any(c, 5) == 1);
    c->finish(c);
}

/* ---- under mpirun --------------------------------------------------------------------------- */

static char dir[64];
enum { RECORDS = 2100 };

/* data_batch_1.bin with RECORDS random records (the rest zeros, sparse); `changed` alters one
 * pixel, for a rank with other data. */
static int write_data(const char *d, int changed)
{
    char path[256];
    snprintf(path, sizeof path, "%s/data_batch_1.bin", d);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    Rng r;
    rng_seed(&r, 11);
    unsigned char rec[CIFAR10_RECORD_BYTES];
    for (int k = 0; k < RECORDS; k++) {
        rec[0] = (unsigned char)rng_below(&r, 10);
        for (int i = 1; i < CIFAR10_RECORD_BYTES; i++) rec[i] = (unsigned char)rng_below(&r, 256);
        if (changed && k == 7) rec[100] ^= 1;
        fwrite(rec, 1, sizeof rec, f);
    }
    if (fclose(f) != 0) return 1;
    return truncate(path, (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES);
}

static int setup(void)
{
    if (make_temp_dir(dir, sizeof dir, "nndl_mpi") != 0) return 1;
    char other[128];
    snprintf(other, sizeof other, "%s/other", dir);
    return write_data(dir, 0) || mkdir(other, 0700) != 0 || write_data(other, 1);
}

static int teardown(void)
{
    remove_tree(dir);
    return 0;
}

/* MPI in this build and mpirun on the PATH; otherwise a note, once per test. */
static int have_mpi(void)
{
    if (comm_mpi_version() && system("command -v mpirun >/dev/null 2>&1") == 0) return 1;
    printf(" (skipped: %s) ", comm_mpi_version() ? "mpirun not found" : "this build has no MPI; make MPI=1");
    return 0;
}

/* One thread per rank on the machine's cores; root needs mpirun's consent. Under `make asan`
 * LeakSanitizer would report what the MPI library keeps until exit (not nndl's): off for the
 * ranks only. A group that hangs (a collective one rank never reaches) fails after 10 minutes
 * instead of hanging the suite. */
#define MPIRUN "OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0 timeout -k 10 600 mpirun --allow-run-as-root --oversubscribe -np 2 "

static char out[32768];

/* `nndl train` on the generated data: 20 steps of global batch 100 per epoch (2000 examples),
 * no validation set (the final parameters are the run's), SGD with momentum. */
static int train(int procs, const char *model, const char *extra, const char *ckpt)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s%s train --data %s --model %s --num-train 2000 --num-val 0 --num-test 0 --batch-size 100 "
             "--epochs 1 --update sgd_momentum --lr 1e-2 --print-every 0 --train-samples 100 --device cpu "
             "--checkpoint %s/%s %s",
             procs == 1 ? "OMP_NUM_THREADS=1 " : MPIRUN, test_program(), dir, model, dir, ckpt, extra);
    int rc = run_shell(cmd, out, sizeof out);
    if (rc != 0) fprintf(stderr, "\n    %s -> %d:\n%.3000s\n", cmd, rc, out);
    return rc;
}

/* What a checkpoint holds of the run: its losses and its model state. */
typedef struct RunState {
    float loss[64];
    int loss_n;
    float *state;
    size_t n;
} RunState;

static int read_run(const char *name, RunState *r)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CheckpointInfo info;
    if (checkpoint_read_info(path, &info) != NNDL_OK) return NNDL_ERR;
    Model m;
    if (model_init(&m, test_backend("cpu"), info.spec, 3, 32, 32, 1e-3f, info.reg, info.loss, info.seed,
                   info.batch_size) != NNDL_OK)
        return NNDL_ERR;
    Dataset d;
    make_random_dataset(&d, info.batch_size, 3, 32, 32, 1);
    SolverConfig cfg = solver_config_default();
    cfg.optim = info.optim, cfg.batch_size = info.batch_size, cfg.verbose = 0;
    Solver s;
    int rc = solver_init(&s, &m, &d, NULL, &cfg);
    if (rc == NNDL_OK) rc = checkpoint_load(&s, path);
    if (rc == NNDL_OK) {
        r->loss_n = s.loss.n < 64 ? s.loss.n : 64;
        memcpy(r->loss, s.loss.v, (size_t)r->loss_n * sizeof *r->loss);
        r->n = model_state_size(&m);
        r->state = malloc(r->n * sizeof *r->state);
        model_state_save(&m, r->state);
        solver_free(&s);
    }
    model_free(&m);
    dataset_free(&d);
    return rc;
}

/* max |a - b| / max |b| over the model state, and the largest relative loss difference */
static double state_difference(const RunState *a, const RunState *b)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < b->n; i++) diff = fmax(diff, fabs(a->state[i] - b->state[i])), scale = fmax(scale, fabs(b->state[i]));
    return diff / scale;
}

static double loss_difference(const RunState *a, const RunState *b)
{
    double worst = 0;
    for (int i = 0; i < b->loss_n; i++) worst = fmax(worst, fabs(a->loss[i] - b->loss[i]) / fabs(b->loss[i]));
    return worst;
}

/* The runs of checkpoints a and b (NAME_epoch_E.ckpt) hold the same losses and state. */
static void expect_same_run(const char *a, const char *b, double *state_diff)
{
    RunState ra = {0}, rb = {0};
    CU_ASSERT_FATAL(read_run(a, &ra) == NNDL_OK && read_run(b, &rb) == NNDL_OK);
    CU_ASSERT_FATAL(ra.n == rb.n && ra.n > 0);
    CU_ASSERT(ra.loss_n == rb.loss_n && ra.loss_n >= 20);
    double s = state_difference(&ra, &rb);
    printf(" [%s: losses %.1e, state %.1e]", a, loss_difference(&ra, &rb), s);
    if (state_diff) {
        *state_diff = s;
    } else {
        ASSERT_BELOW(loss_difference(&ra, &rb), 1e-5, "relative loss difference");
        ASSERT_BELOW(s, 1e-5, "relative parameter difference");
    }
    free(ra.state), free(rb.state);
}

static void test_allreduce_alone(void)
{
    if (!have_mpi()) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, MPIRUN "%s bench allreduce", test_program());
    int rc = run_shell(cmd, out, sizeof out);
    CU_ASSERT(rc == 0);
    CU_ASSERT(strstr(out, "every value exact on every rank (sizes 1 to 4000001)") != NULL);
    CU_ASSERT(strstr(out, "|   1048577 |") != NULL);
    if (rc != 0) fprintf(stderr, "\n%.3000s\n", out);
}

#define PLAIN_NET "conv6x3-relu-pool2-affine16-relu-affine10"
#define BN_NET "conv6x3-bn-relu-pool2-affine16-bn-relu-affine10"

static void test_same_as_one_process(void)
{
    if (!have_mpi()) return;
    CU_ASSERT_FATAL(train(1, PLAIN_NET, "", "plain1") == 0);
    CU_ASSERT_FATAL(train(2, PLAIN_NET, "", "plain2") == 0);
    expect_same_run("plain1_epoch_1.ckpt", "plain2_epoch_1.ckpt", NULL);
}

static void test_sync_bn_same_as_one_process(void)
{
    if (!have_mpi()) return;
    CU_ASSERT_FATAL(train(1, BN_NET, "", "bn1") == 0);
    CU_ASSERT_FATAL(train(2, BN_NET, "--sync-bn", "bn2sync") == 0);
    CU_ASSERT(strstr(out, "over the global batch (--sync-bn)") != NULL);
    expect_same_run("bn1_epoch_1.ckpt", "bn2sync_epoch_1.ckpt", NULL);
    /* per-process statistics (the default) normalise with half batches: another model */
    CU_ASSERT_FATAL(train(2, BN_NET, "", "bn2local") == 0);
    double d;
    expect_same_run("bn1_epoch_1.ckpt", "bn2local_epoch_1.ckpt", &d);
    CU_ASSERT(d > 1e-4);
}

/* N ranks' checkpoint resumed by M: the state does not depend on the group. Each resumed run
 * is compared with the uninterrupted run of the group that wrote its checkpoint, which had the
 * same state bit for bit at that point (the training here amplifies a difference of 1e-7 in
 * the starting state some hundredfold in 20 steps, more than the group's rounding adds). */
static void test_resume_with_other_group(void)
{
    if (!have_mpi()) return;
    CU_ASSERT_FATAL(train(1, PLAIN_NET, "--epochs 2", "whole1") == 0);
    CU_ASSERT_FATAL(train(2, PLAIN_NET, "--epochs 2", "whole2") == 0);
    char resume[512];
    snprintf(resume, sizeof resume, "--epochs 2 --resume %s/plain2_epoch_1.ckpt", dir);
    CU_ASSERT_FATAL(train(1, PLAIN_NET, resume, "from2") == 0);
    snprintf(resume, sizeof resume, "--epochs 2 --resume %s/plain1_epoch_1.ckpt", dir);
    CU_ASSERT_FATAL(train(2, PLAIN_NET, resume, "from1") == 0);
    expect_same_run("from2_epoch_2.ckpt", "whole2_epoch_2.ckpt", NULL);
    expect_same_run("from1_epoch_2.ckpt", "whole1_epoch_2.ckpt", NULL);
}

/* Rank 1 runs `rank1`, rank 0 `rank0` (each a shell command); the group's exit status, its
 * output in out, and the seconds it took. */
static int run_ranks(const char *rank0, const char *rank1, double *seconds)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, MPIRUN "sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then %s; else %s; fi'", rank1, rank0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = run_shell(cmd, out, sizeof out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return rc;
}

/* A run long enough to be killed in: 200 epochs of 20 steps. */
static void long_run(char *cmd, size_t size, const char *data, const char *extra)
{
    snprintf(cmd, size, "exec %s train --data %s --model " PLAIN_NET " --num-train 2000 --num-val 0 --num-test 0 "
             "--batch-size 100 --epochs 200 --update sgd_momentum --lr 1e-2 --print-every 0 --device cpu %s",
             test_program(), data, extra);
}

static void test_killed_rank_stops_the_group(void)
{
    if (!have_mpi()) return;
    char run[2048], killed[2600];
    long_run(run, sizeof run, dir, "");
    snprintf(killed, sizeof killed, "(sleep 4; kill -9 $$) & %s", run); /* $$: the shell that execs nndl */
    double t;
    int rc = run_ranks(run, killed, &t);
    CU_ASSERT(rc != 0);
    CU_ASSERT(strstr(out, "rank 1") != NULL);
    ASSERT_BELOW(t, 30, "seconds until the group stopped (rank 1 killed at 4 s)");
    if (rc == 0 || !strstr(out, "rank 1")) fprintf(stderr, "\n%.3000s\n", out);
}

static void test_failed_rank_stops_the_group(void)
{
    if (!have_mpi()) return;
    char run[2048], failing[2048];
    long_run(run, sizeof run, dir, "");
    long_run(failing, sizeof failing, "/nonexistent-nndl-data", "");
    double t;
    int rc = run_ranks(run, failing, &t);
    CU_ASSERT(rc != 0);
    CU_ASSERT(strstr(out, "nndl train (rank 1 of 2)") != NULL);
    CU_ASSERT(strstr(out, "/nonexistent-nndl-data") != NULL);
    ASSERT_BELOW(t, 30, "seconds until the group stopped");
    if (rc == 0 || !strstr(out, "rank 1 of 2")) fprintf(stderr, "\n%.3000s\n", out);
}

/* SIGTERM to rank 1 alone: the ranks agree after the step, all stop, and rank 0 writes the
 * interrupted checkpoint and names the signal (exit 143), as one process would. */
static void test_signal_to_one_rank_stops_all(void)
{
    if (!have_mpi()) return;
    char run[2048], cmd[8192];
    long_run(run, sizeof run, dir, "--print-every 1 --checkpoint");
    snprintf(cmd, sizeof cmd,
             "(" MPIRUN "sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then echo $$ > %s/rank1.pid; fi; %s %s/sig' "
             "> %s/sig.out 2>&1 & pid=$!; "
             "for i in $(seq 600); do grep -q \"(Iteration 3 \" %s/sig.out && break; sleep 0.1; done; "
             "kill -TERM $(cat %s/rank1.pid); wait $pid; echo \"exit $?\"); cat %s/sig.out",
             dir, run, dir, dir, dir, dir, dir);
    int rc = run_shell(cmd, out, sizeof out);
    CU_ASSERT(rc == 0);
    CU_ASSERT(strstr(out, "exit 143") != NULL);
    CU_ASSERT(strstr(out, "nndl train: stopped by SIGTERM after iteration") != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/sig_interrupted.ckpt", dir);
    CheckpointInfo info;
    CU_ASSERT(checkpoint_read_info(path, &info) == NNDL_OK && info.iteration >= 3);
    if (!strstr(out, "exit 143")) fprintf(stderr, "\n%.3000s\n", out);
}

static void test_other_flags_refused(void)
{
    if (!have_mpi()) return;
    char run[2048], other[2048];
    long_run(run, sizeof run, dir, "");
    long_run(other, sizeof other, dir, "--lr 0.02");
    double t;
    int rc = run_ranks(run, other, &t);
    CU_ASSERT(rc == 2);
    CU_ASSERT(strstr(out, "rank 1 of 2 was started with other flags or data than rank 0") != NULL);
    CU_ASSERT(strstr(out, "(Iteration") == NULL && strstr(out, "(Epoch") == NULL); /* refused at start */
    if (rc != 2) fprintf(stderr, "\n%.3000s\n", out);
}

static void test_other_data_refused(void)
{
    if (!have_mpi()) return;
    char run[2048], other[2048], data[128];
    snprintf(data, sizeof data, "%s/other", dir); /* one pixel differs */
    long_run(run, sizeof run, dir, "");
    long_run(other, sizeof other, data, "");
    double t;
    int rc = run_ranks(run, other, &t);
    CU_ASSERT(rc == 2);
    CU_ASSERT(strstr(out, "was started with other flags or data than rank 0") != NULL);
    if (rc != 2) fprintf(stderr, "\n%.3000s\n", out);
}

static void test_batch_must_split(void)
{
    if (!have_mpi()) return;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, MPIRUN "%s train --data %s --num-train 2000 --num-val 0 --num-test 0 --batch-size 101 "
             "--model " PLAIN_NET " --device cpu", test_program(), dir);
    int rc = run_shell(cmd, out, sizeof out);
    CU_ASSERT(rc == 2);
    CU_ASSERT(strstr(out, "--batch-size 101 does not split into 2 equal shares") != NULL);
}

/* Without MPI in the build, a launch or --distributed says how to build with it. */
static void test_without_mpi_message(void)
{
    if (comm_mpi_version()) {
        printf(" (this build has MPI: the message is checked by `make MPI=0 test`) ");
        return;
    }
    expect_cli("train --distributed --num-train 10", 2, "make MPI=1");
}

void register_distributed_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"sync-bn ops on cpu: halves with summed statistics are the whole batch", test_sync_bn_ops_cpu},
        {"sync-bn ops on cuda: halves with summed statistics are the whole batch", test_sync_bn_ops_cuda},
        {"a group of one", test_single_group},
        {"without MPI: the message says how to build with it", test_without_mpi_message},
        {"mpirun -np 2: the all-reduce alone, sizes 1 to 4000001, exact", test_allreduce_alone},
        {"mpirun -np 2: 20 steps equal one process's (no batchnorm)", test_same_as_one_process},
        {"mpirun -np 2 --sync-bn: 20 steps equal one process's; per-process bn differs",
         test_sync_bn_same_as_one_process},
        {"checkpoints of 2 processes resume with 1 and of 1 with 2", test_resume_with_other_group},
        {"a killed rank stops the group within seconds, naming it", test_killed_rank_stops_the_group},
        {"a failing rank stops the group, naming it", test_failed_rank_stops_the_group},
        {"SIGTERM to one rank stops every rank; rank 0 writes the interrupted checkpoint",
         test_signal_to_one_rank_stops_all},
        {"a rank with other flags is refused at start", test_other_flags_refused},
        {"a rank with other data is refused at start", test_other_data_refused},
        {"a global batch that does not split is refused", test_batch_must_split},
        CU_TEST_INFO_NULL,
    };
    CU_pSuite suite = CU_add_suite("distributed", setup, teardown);
    for (const CU_TestInfo *t = tests; suite && t->pName; t++) CU_add_test(suite, t->pName, t->pTestFunc);
}
