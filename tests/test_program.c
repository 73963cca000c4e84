/* test_program.c — ./nndl end to end on generated CIFAR-10 files: splits that cross from one
 * batch file into the next, flags and their messages, the exit status of a diverged run, and
 * the program stopped by signals (a child process whose stdout is read until training runs). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cifar10.h"
#include "curves.h"
#include "error.h"
#include "stop_signals.h"
#include "test_util.h"

static char dir[64];

/* Byte values of record r of file f (0: test_batch, 1..5: data_batch_f): all records distinct
 * and different in every file, labels cycling through the classes. */
static unsigned char label_of(int f, int r) { return (unsigned char)((r * 7 + f * 3) % 10); }
static unsigned char pixel_of(int f, int r, int i) { return (unsigned char)((r * 31 + i * 7 + f * 101) % 256); }

static int write_batch(const char *name, int f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    if (!out) return 1;
    unsigned char rec[CIFAR10_RECORD_BYTES];
    for (int r = 0; r < CIFAR10_RECORDS_PER_FILE; r++) {
        rec[0] = label_of(f, r);
        for (int i = 0; i < CIFAR10_IMAGE_BYTES; i++) rec[1 + i] = pixel_of(f, r, i);
        fwrite(rec, 1, sizeof rec, out);
    }
    return fclose(out) != 0;
}

static int setup(void)
{
    if (make_temp_dir(dir, sizeof dir, "nndl_program") != 0) return 1;
    return write_batch("data_batch_1.bin", 1) || write_batch("data_batch_2.bin", 2) ||
           write_batch("test_batch.bin", 0);
}

static int teardown(void)
{
    remove_tree(dir);
    return 0;
}

/* ---- data: a split that starts in one file and ends in the next ------------------------- */

/* Training example k of the loaded splits is record k of the training files in order. */
static int record_file(int k) { return 1 + k / CIFAR10_RECORDS_PER_FILE; }
static int record_index(int k) { return k % CIFAR10_RECORDS_PER_FILE; }

static int wrong_example(const Dataset *d, int j, int f, int r, const float *mean)
{
    int wrong = d->y[j] != label_of(f, r);
    for (int i = 0; i < CIFAR10_IMAGE_BYTES; i++)
        wrong += fabsf(d->x[(size_t)j * CIFAR10_IMAGE_BYTES + i] + mean[i] - pixel_of(f, r, i)) > 1e-3f;
    return wrong;
}

static void test_split_across_files(void)
{
    enum { TRAIN = 10500, VAL = 300, TEST = 7 };
    Cifar10 d;
    CU_ASSERT_FATAL(cifar10_load(&d, dir, TRAIN, VAL, TEST) == NNDL_OK);
    CU_ASSERT_FATAL(d.train.n == TRAIN && d.val.n == VAL && d.test.n == TEST);
    static const int train_checks[] = {0, 1, 9999, 10000, 10001, 10499};
    int wrong = 0;
    for (int c = 0; c < 6; c++) {
        int k = train_checks[c];
        wrong += wrong_example(&d.train, k, record_file(k), record_index(k), d.mean_image);
    }
    for (int j = 0; j < VAL; j += 37) wrong += wrong_example(&d.val, j, 2, 500 + j, d.mean_image);
    wrong += wrong_example(&d.val, VAL - 1, 2, 500 + VAL - 1, d.mean_image);
    for (int j = 0; j < TEST; j++) wrong += wrong_example(&d.test, j, 0, j, d.mean_image);
    CU_ASSERT_EQUAL(wrong, 0);
    /* the mean image is over all 10500 training records, from both files */
    double worst = 0;
    for (int i = 0; i < CIFAR10_IMAGE_BYTES; i += 101) {
        double m = 0;
        for (int k = 0; k < TRAIN; k++) m += pixel_of(record_file(k), record_index(k), i);
        worst = fmax(worst, fabs(m / TRAIN - d.mean_image[i]));
    }
    ASSERT_BELOW(worst, 1e-3, "mean image vs the bytes of both files");
    cifar10_free(&d);
}

/* ---- running the program ---------------------------------------------------------------- */

/* Runs `nndl args` (words separated by single spaces) with stdout on a pipe (returned in
 * *out) and stderr into the file err. */
static pid_t spawn(const char *args, int *out, const char *err)
{
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", args);
    argv[argc++] = (char *)test_program();
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 63; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fds[1], 1), dup2(e, 2);
        close(fds[0]), close(fds[1]), close(e);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    *out = fds[0];
    return pid;
}

/* Reads the child's stdout into text until fragment appears (1) or the pipe ends (0). */
static int read_until(int fd, char *text, size_t size, size_t *len, const char *fragment)
{
    while (!fragment || !strstr(text, fragment)) {
        ssize_t got = read(fd, text + *len, size - 1 - *len);
        if (got <= 0) return 0;
        *len += (size_t)got;
        text[*len] = '\0';
        if (*len + 1 >= size) *len = 0; /* keep reading; only the tail matters */
    }
    return 1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = calloc((size_t)n + 1, 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    fclose(f);
    return s;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Runs nndl to the end; returns its wait status, stdout and stderr in *out, *err (malloc'd). */
static int run(const char *args, char **out, char **err)
{
    char err_path[128], text[1 << 16] = "";
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    int fd, status = -1;
    size_t len = 0;
    pid_t pid = spawn(args, &fd, err_path);
    if (pid < 0) return -1;
    read_until(fd, text, sizeof text, &len, NULL);
    close(fd);
    waitpid(pid, &status, 0);
    *out = strdup(text);
    *err = slurp(err_path);
    return status;
}

static void expect(const char *args, int want_status, const char *in_stdout, const char *in_stderr)
{
    char *out, *err;
    int status = run(args, &out, &err);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == want_status && (!in_stdout || strstr(out, in_stdout)) &&
             (!in_stderr || strstr(err, in_stderr));
    if (!ok) fprintf(stderr, "\n    nndl %s -> status %d\n    stdout: %.400s\n    stderr: %.400s\n", args,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err);
    CU_ASSERT(ok);
    free(out), free(err);
}

static int have_program(void)
{
    if (access(test_program(), X_OK) == 0) return 1;
    CU_FAIL("the program is not built (make test builds it)");
    return 0;
}

/* bench train --profile: the machine's rates, then per batch a row for each layer (a fused
 * group as one) and direction with its share and rate, and the update rule's row. */
static void test_bench_profile(void)
{
    if (!have_program()) return;
    char *out, *err;
    int status = run("bench train --profile --batch 2 --model conv2x3-bn-relu-pool2-affine10", &out, &err);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *want[] = {"GFLOP/s (1024^3", "GB/s (relu_forward", "| conv2x3                | fwd |",
                          "| bn+relu+pool2          | bwd |", "| affine10               | bwd |", "| update (Adam)",
                          "|     2 |"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!strstr(out, want[i])) fprintf(stderr, "\n    missing '%s' in:\n%s\n", want[i], out);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, want[i]));
    }
    CU_ASSERT_PTR_NULL(strstr(out, "| bn   ")); /* bn, relu, pool ran as one group */
    free(out), free(err);
    /* a residual block without a projection has no weight: its rate was read from past the
     * parameter array (seen by the sanitizer build, which stops at undefined behaviour) */
    status = run("bench train --profile --batch 2 --model conv4x3-relu-res[conv4x3-relu]-pool2-affine10", &out, &err);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fprintf(stderr, "\n%s\n", err);
    free(out), free(err);
}

static void test_flags(void)
{
    if (!have_program()) return;
    char args[512];
    expect("train --epochs", 2, NULL, "--epochs needs a value");
    expect("train --data", 2, NULL, "--data needs a value");
    expect("eval --checkpoint", 2, NULL, "--checkpoint needs a value");
    expect("eval --checkpoint x.ckpt --bogus", 2, NULL, "unknown option '--bogus'");
    /* fewer classes than CIFAR-10's: refused before the data is read */
    expect("train --model affine5 --data /nonexistent", 2, NULL, "CIFAR-10 has 10 classes");
    expect("train --model conv8x3-relu-pool2-affine5 --data /nonexistent", 2, NULL, "has 5 units");
    expect("train --help", 0, "--num-test", NULL);
    expect("train --help", 0, "3 training diverged", NULL);
    expect("train --help", 0, "130 / 143 / 129", NULL);
    expect("train --help", 0, "--init he|normal", NULL);
    expect("train --init xavier --data /nonexistent", 2, NULL, "--init: 'xavier' is not he or normal");
    expect("train --init", 2, NULL, "--init needs a value");
    expect("bench train --device tpu", 2, NULL, "unknown device 'tpu'");
    expect("bench train tpu", 2, NULL, "unknown device 'tpu'");
    expect("bench train --device=tpu", 2, NULL, "unknown device 'tpu'");
    expect("bench train --device", 2, NULL, "--device needs a value");
    expect("bench train cpu extra", 2, NULL, "unexpected arguments");
    expect("bench train --batch 0", 2, NULL, "not a batch size");
    expect("bench train --model", 2, NULL, "--model needs a value");

    expect("bench train --precision fp16", 2, NULL, "--precision fp16: fp32 or tf32");
    expect("bench train --batches 50,,100", 2, NULL, "--batches 50,,100: a list");
    expect("bench train --batches 0", 2, NULL, "--batches 0: a list");
    expect("train --precision fp64", 2, NULL, "--precision fp64: fp32 or tf32");
    /* --num-test reports the final model's test accuracy; --num-val 0 keeps the final model */
    snprintf(args, sizeof args, "train --data %s --num-train 100 --num-val 0 --num-test 30 --model affine10 "
             "--epochs 2 --batch-size 50 --print-every 0", dir);
    expect(args, 0, "no validation set: kept the final parameters", NULL);
    expect(args, 0, "/ 30)", NULL);
    /* the cpu ignores --precision tf32, saying so */
    snprintf(args, sizeof args, "train --data %s --num-train 100 --num-val 0 --num-test 0 --model affine10 "
             "--epochs 1 --batch-size 50 --print-every 0 --device cpu --precision tf32", dir);
    expect(args, 0, NULL, "the cpu backend computes in fp32 (ignored)");
}

/* bench/gpu_report.sh without a GPU measures nothing and says why (exit 2); its markdown comes
 * from the logs alone: CUnit's summary, compute-sanitizer's, the bench tables and the ratio. */
static void test_gpu_report_script(void)
{
    char out[8192], cmd[512], path[256];
    CU_ASSERT_EQUAL(run_shell("NVIDIA_SMI=false bench/gpu_report.sh", out, sizeof out), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no usable GPU"));
    CU_ASSERT_EQUAL(run_shell("bench/gpu_report.sh --budget soon", out, sizeof out), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--budget soon: whole seconds"));
    const char *files[][2] = {
        {"tests.log", "Run Summary:    Type  Total    Ran Passed Failed Inactive\n"
                      "              suites     21     21    n/a      0        0\n"
                      "               tests    146    140    139      1        0\n"
                      "             asserts   7206   7206   7205      1      n/a\n"},
        {"memcheck.log", "========= ERROR SUMMARY: 0 errors\n"},
        {"bench_fp32.log", "| batch | steps timed | images/s | GFLOP/s |\n|-------|---|---|---|\n"
                           "|    50 |  80 |  1000.0 | 56.3 |\n|  1000 |  40 |  9000.5 | 500.0 |\n"},
        {"torch.log", "torch 2.11, cuda\ntorch batch 50: 500.0 images/s\ntorch.compile batch 50: 800.0 images/s\n"
                      "torch batch 1000: 3000.0 images/s\n"},
        {"synccheck.status", "timed out after 60 s\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        CU_ASSERT_FATAL(f != NULL);
        fputs(files[i][1], f);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "bench/gpu_report.sh --render %s", dir);
    CU_ASSERT_EQUAL(run_shell(cmd, out, sizeof out), 0);
    const char *want[] = {"146 tests, 140 run, 139 passed, 1 failed; 7205 of 7206 asserts passed",
                          "memcheck (GPU suites) | ERROR SUMMARY: 0 errors", "synccheck (GPU suites) | timed out",
                          "racecheck (GPU suites) | not run", "| 50 | 1000 | - | 500.0 | 800.0 | 2.00x |",
                          "| 100 | - | - | - | - | - |", "| 1000 | 9000.5 | - | 3000.0 | - | 3.00x |"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(out, want[i])) {
            CU_FAIL("gpu_report.sh --render: a row is missing");
            printf("\nmissing: %s\nin:\n%s\n", want[i], out);
        }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
        unlink(path);
    }
}

/* SGD with lr 10 on large weights overflows: exit 3, the message names the iteration and a
 * smaller learning rate, and the log, plot and last epoch checkpoint are there, all finite. */
static void test_divergence_exit(void)
{
    if (!have_program()) return;
    char args[1024], csv[128], ckpt[128];
    snprintf(csv, sizeof csv, "%s/div.csv", dir);
    snprintf(ckpt, sizeof ckpt, "%s/div_epoch_1.ckpt", dir);
    snprintf(args, sizeof args, "train --data %s --num-train 200 --num-val 50 --num-test 0 --model fc "
             "--hidden 64,64 --no-batchnorm --weight-scale 0.3 --update sgd --lr 10 --epochs 30 --batch-size 50 "
             "--log %s --plot %s/div.svg --checkpoint %s/div", dir, csv, dir, dir);
    char *out, *err;
    int status = run(args, &out, &err);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    CU_ASSERT(strstr(err, "training diverged: the loss of iteration") != NULL);
    CU_ASSERT(strstr(err, "smaller learning rate") != NULL);
    char *log = slurp(csv);
    CU_ASSERT(strncmp(log, CURVES_CSV_HEADER "\n", strlen(CURVES_CSV_HEADER) + 1) == 0);
    CU_ASSERT(!strstr(log, "nan") && !strstr(log, "inf"));
    snprintf(args, sizeof args, "%s/div.svg", dir);
    CU_ASSERT(exists(args));
    if (strstr(err, "the last good checkpoint is")) CU_ASSERT(exists(ckpt));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 3) fprintf(stderr, "\n    %.500s\n    %.500s\n", out, err);
    free(log), free(out), free(err);
}

/* ---- signals ------------------------------------------------------------------------------ */

/* A run long enough to be interrupted: 500 steps per epoch, 100 epochs. */
static void long_run_args(char *args, size_t size, const char *name)
{
    snprintf(args, size, "train --data %s --num-train 5000 --num-val 100 --num-test 0 --model fc --hidden 50 "
             "--epochs 100 --batch-size 10 --print-every 1 --checkpoint %s/%s --log %s/%s.csv --plot %s/%s.svg",
             dir, dir, name, dir, name, dir, name);
}

/* How long the program may take to save and exit after a signal (sanitizer builds are slow). */
enum { STOP_DEADLINE_MS = 60000 };

/* How many of the process's threads there are, and how many block SIGINT, SIGTERM and SIGHUP
 * (/proc/PID/task/TID/status, SigBlk: a hex mask, bit n-1 for signal n). */
static void threads_blocking_stop_signals(pid_t pid, int *threads, int *blocking)
{
    char path[96], line[256];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    *threads = *blocking = 0;
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/status", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long mask = 0;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "SigBlk: %llx", &mask) == 1) break;
        if (f) fclose(f);
        unsigned long long want = 1ull << (SIGINT - 1) | 1ull << (SIGTERM - 1) | 1ull << (SIGHUP - 1);
        *threads += 1, *blocking += (mask & want) == want;
    }
    if (d) closedir(d);
}

/* Starts a long run, waits for its first loss line, sends the signals; returns the status. */
static int interrupt_run(const char *name, const int *sigs, int n_sigs, char **err)
{
    char args[1024], err_path[128], text[1 << 16] = "";
    long_run_args(args, sizeof args, name);
    snprintf(err_path, sizeof err_path, "%s/%s.err", dir, name);
    int fd, status = -1;
    size_t len = 0;
    pid_t pid = spawn(args, &fd, err_path);
    CU_ASSERT_FATAL(pid > 0);
    int started = read_until(fd, text, sizeof text, &len, "(Iteration 2 /");
    CU_ASSERT(started);
    /* while it trains, no computing thread runs the handler: every thread blocks the signals but
     * the module's own, whose sigwait opens them while it waits (cli/stop_signals.c says why) */
    int threads, blocking;
    threads_blocking_stop_signals(pid, &threads, &blocking);
    CU_ASSERT(threads >= 2 && blocking == threads - 1);
    if (blocking != threads - 1) fprintf(stderr, "\n    %d of %d threads block the stop signals\n", blocking, threads);
    for (int i = 0; started && i < n_sigs; i++) kill(pid, sigs[i]);
    /* drain stdout while waiting; a program that ignores the signals is killed after a while */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char sink[4096];
    for (int waited_ms = 0; waitpid(pid, &status, WNOHANG) == 0; waited_ms += 10) {
        if (!started || waited_ms > STOP_DEADLINE_MS) {
            CU_FAIL("the program did not stop after the signal");
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        while (read(fd, sink, sizeof sink) > 0) {
        }
        usleep(10000);
    }
    close(fd);
    *err = slurp(err_path);
    return status;
}

static void check_one_signal(int sig, const char *sig_name, int want_status)
{
    char name[32], path[256];
    snprintf(name, sizeof name, "run_%s", sig_name);
    char *err;
    int status = interrupt_run(name, &sig, 1, &err);
    int exited = WIFEXITED(status) && WEXITSTATUS(status) == want_status;
    if (!exited) fprintf(stderr, "\n    %s: status %#x, stderr: %.500s\n", sig_name, status, err);
    CU_ASSERT(exited);
    char want[64];
    snprintf(want, sizeof want, "stopped by %s after iteration", sig_name);
    CU_ASSERT(strstr(err, want) != NULL);
    snprintf(path, sizeof path, "%s/%s_interrupted.ckpt", dir, name);
    CU_ASSERT(strstr(err, path) != NULL);
    /* the checkpoint holds a model that loads; the curves are written */
    CheckpointInfo info;
    CU_ASSERT_FATAL(checkpoint_read_info(path, &info) == NNDL_OK);
    CU_ASSERT(strcmp(info.spec, "affine50-bn-relu-affine10") == 0 && info.epoch == 0);
    Model m;
    float *mean = NULL;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), info.spec, info.in_c, info.in_h, info.in_w, 1e-3f, 0,
                               (LossKind)info.loss, 0, 100) == NNDL_OK);
    CU_ASSERT(checkpoint_load_model(&m, &mean, path) == NNDL_OK);
    free(mean);
    model_free(&m);
    snprintf(path, sizeof path, "%s/%s.csv", dir, name);
    char *log = slurp(path);
    CU_ASSERT(strncmp(log, CURVES_CSV_HEADER "\n", strlen(CURVES_CSV_HEADER) + 1) == 0);
    free(log);
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    CU_ASSERT(exists(path));
    free(err);
}

static void test_first_signal_saves(void)
{
    if (!have_program()) return;
    check_one_signal(SIGINT, "SIGINT", 130);
    check_one_signal(SIGTERM, "SIGTERM", 143);
    check_one_signal(SIGHUP, "SIGHUP", 129);
}

/* A second signal does not wait for the step: the program dies of it. */
static void test_second_signal_exits(void)
{
    if (!have_program()) return;
    static const int sigs[2] = {SIGINT, SIGTERM};
    char *err;
    int status = interrupt_run("twice", sigs, 2, &err);
    CU_ASSERT(WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM));
    if (!WIFSIGNALED(status)) fprintf(stderr, "\n    status %#x, stderr: %.500s\n", status, err);
    free(err);
}

/* Waits up to two seconds for the flag to read want (the signals are taken by a thread of their
 * own, so a signal sent to the process sets it a moment later). */
static int flag_becomes(const volatile sig_atomic_t *flag, int want)
{
    for (int i = 0; i < 2000 && *flag != want; i++) usleep(1000);
    return *flag == want;
}

/* The handlers themselves, in a child process: the first signal sent to the process only sets
 * the flag (its number) and the process goes on; the second kills it. */
static void test_stop_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int k = 0; k < 3; k++) {
        fflush(stdout), fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            const volatile sig_atomic_t *flag = stop_signals_install();
            if (*flag != 0) _exit(10);
            kill(getpid(), sigs[k]);
            if (!flag_becomes(flag, sigs[k])) _exit(11);
            kill(getpid(), sigs[(k + 1) % 3]);
            flag_becomes(flag, 0); /* two seconds for the second signal to end the process */
            _exit(12);
        }
        int status;
        waitpid(pid, &status, 0);
        CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == sigs[(k + 1) % 3]);
        if (!WIFSIGNALED(status)) fprintf(stderr, "\n    %s then another: exit %d\n", stop_signal_name(sigs[k]),
                                          WEXITSTATUS(status));
    }
}

/* A signal ignored before the handlers are installed (nohup ignores SIGHUP) stays ignored: it
 * neither sets the flag nor ends the process; the others still do. */
static void test_ignored_signal_stays_ignored(void)
{
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGHUP, SIG_IGN);
        const volatile sig_atomic_t *flag = stop_signals_install();
        kill(getpid(), SIGHUP);
        usleep(200000); /* time for the waiter to see it, were it not ignored */
        if (*flag != 0) _exit(20);
        kill(getpid(), SIGTERM);
        _exit(flag_becomes(flag, SIGTERM) ? 0 : 21);
    }
    int status;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void register_program_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"a split from data_batch_1 into data_batch_2, values against the bytes", test_split_across_files},
        {"flags: missing values, classes, --num-test, --num-val 0, bench --device", test_flags},
        {"bench train --profile: machine rates, a row per op and direction", test_bench_profile},
        {"bench/gpu_report.sh: no GPU is exit 2; the markdown from its logs", test_gpu_report_script},
        {"a diverged run exits 3 and keeps its log", test_divergence_exit},
        {"SIGINT / SIGTERM / SIGHUP: step finished, files written, 130 / 143 / 129", test_first_signal_saves},
        {"a second signal ends the run at once", test_second_signal_exits},
        {"signal handlers: the first sets the flag, the second kills", test_stop_signal_handlers},
        {"a signal ignored at start (nohup) stays ignored", test_ignored_signal_stays_ignored},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("the program: data, flags, divergence, signals", setup, teardown);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
