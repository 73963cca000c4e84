/* test_run_outputs.c — what nndl train writes while it trains (cli/run_outputs.h): the checkpoint
 * policy (--save-every, --keep-last, --save-best, --weights-only), the per-epoch CSV log, plain
 * progress lines when stderr is not a terminal, the default runs/ directory, and the flags that
 * a model or a resumed checkpoint makes meaningless, refused instead of ignored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "curves.h"
#include "error.h"
#include "safetensors.h"
#include "test_util.h"

static char dir[64];
static char base[512];

static int setup(void)
{
    if (make_temp_dir(dir, sizeof dir, "nndl_outputs") != 0) return 1;
    if (write_cifar_batch(dir, "data_batch_1.bin", 0, 10000L * 3073) != 0) return 1;
    snprintf(base, sizeof base, "train --data %s --num-train 40 --num-val 20 --num-test 0 --model affine8-relu-affine10 "
             "--batch-size 20 --print-every 0", dir);
    return 0;
}

static int teardown(void)
{
    remove_tree(dir);
    return 0;
}

static int exists(const char *fmt, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, fmt, dir, name);
    return access(path, F_OK) == 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return calloc(1, 1);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_save_every_keep_last(void)
{
    char args[1024], out[8192];
    /* a file of the same name pattern that this run did not write stays */
    char planted[128];
    snprintf(planted, sizeof planted, "%s/p_epoch_0.ckpt", dir);
    FILE *f = fopen(planted, "w");
    fputs("mine", f);
    fclose(f);
    snprintf(args, sizeof args, "%s --epochs 5 --save-every 2 --keep-last 2 --checkpoint %s/p", base, dir);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 0);
    /* written after epochs 2, 4 and the last (5); the two newest kept */
    CU_ASSERT(!exists("%s/%s_epoch_1.ckpt", "p") && !exists("%s/%s_epoch_2.ckpt", "p"));
    CU_ASSERT(!exists("%s/%s_epoch_3.ckpt", "p"));
    CU_ASSERT(exists("%s/%s_epoch_4.ckpt", "p") && exists("%s/%s_epoch_5.ckpt", "p"));
    CU_ASSERT(exists("%s/%s_epoch_0.ckpt", "p"));
    CU_ASSERT(!exists("%s/%s_best.ckpt", "p")); /* not asked for */
}

static void test_save_best(void)
{
    char args[1024], out[8192], path[128];
    snprintf(args, sizeof args, "%s --epochs 4 --save-best --checkpoint %s/b", base, dir);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/b_best.ckpt", dir);
    CheckpointInfo best, last;
    CU_ASSERT_FATAL(checkpoint_read_info(path, &best) == NNDL_OK);
    snprintf(path, sizeof path, "%s/b_epoch_4.ckpt", dir);
    CU_ASSERT_FATAL(checkpoint_read_info(path, &last) == NNDL_OK);
    /* the best file is the state of the epoch that set the run's best val accuracy */
    CU_ASSERT(best.best_val_acc == last.best_val_acc);
    CU_ASSERT(best.epoch >= 1 && best.epoch <= 4);
}

static void test_weights_only(void)
{
    char args[1024], out[8192], path[128];
    snprintf(args, sizeof args, "%s --epochs 2 --weights-only --save-best --checkpoint %s/w", base, dir);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 0);
    CU_ASSERT(!exists("%s/%s_epoch_2.ckpt", "w"));
    WeightsInfo info;
    snprintf(path, sizeof path, "%s/w_epoch_2.safetensors", dir);
    CU_ASSERT(safetensors_read_info(path, &info) == NNDL_OK && info.has_mean);
    CU_ASSERT_STRING_EQUAL(info.spec, "affine8-relu-affine10");
    CU_ASSERT(exists("%s/%s_best.safetensors", "w"));
    /* and it starts a new run */
    snprintf(args, sizeof args, "%s --epochs 1 --no-save --init-from %s", base, path);
    expect_cli(args, 0, "init: weights from");
}

/* The log after a run: the header and one row per epoch, every column filled. */
static void test_csv_per_epoch(void)
{
    char args[1024], out[8192], path[128];
    snprintf(path, sizeof path, "%s/l.csv", dir);
    snprintf(args, sizeof args, "%s --epochs 3 --lr 1e-3 --lr-decay 0.5 --log %s --plot %s/l.svg", base, path, dir);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 0);
    char *log = slurp(path), *line = strtok(log, "\n");
    CU_ASSERT_STRING_EQUAL(line ? line : "", CURVES_CSV_HEADER);
    double prev_wall = -1;
    for (int e = 1; e <= 3; e++) {
        line = strtok(NULL, "\n");
        CU_ASSERT_FATAL(line != NULL);
        int epoch, iteration;
        double wall, lr, tl, ta, vl, va;
        CU_ASSERT_EQUAL(sscanf(line, "%d,%d,%lf,%lf,%lf,%lf,%lf,%lf", &epoch, &iteration, &wall, &lr, &tl, &ta, &vl, &va), 8);
        CU_ASSERT(epoch == e && iteration == 2 * e);
        CU_ASSERT(wall >= prev_wall);
        ASSERT_BELOW(fabs(lr - 1e-3 * (e == 1 ? 1 : e == 2 ? 0.5 : 0.25)), 1e-9, "the epoch's learning rate");
        CU_ASSERT(tl > 0 && vl > 0 && ta >= 0 && ta <= 1 && va >= 0 && va <= 1);
        prev_wall = wall;
    }
    CU_ASSERT(strtok(NULL, "\n") == NULL);
    free(log);
    snprintf(path, sizeof path, "%s/l.svg", dir);
    char *svg = slurp(path);
    CU_ASSERT(strstr(svg, ">Train</text>") && strstr(svg, ">Val</text>") && strstr(svg, "stroke='#ddd'"));
    free(svg);
}

static void test_progress_lines(void)
{
    char args[1024];
    snprintf(args, sizeof args, "%s --epochs 1 --no-save --progress-interval 1e-6", base);
    expect_cli(args, 0, "progress: epoch 1/1, 20/40 images");
    snprintf(args, sizeof args, "%s --epochs 1 --no-save --progress-interval -1", base);
    expect_cli(args, 2, "--progress-interval");
}

/* No output flags: runs/<name>/ (here under the tests' $NNDL_RUNS_DIR) holds everything. */
static void test_default_run_directory(void)
{
    char args[1024], out[8192], path[512];
    snprintf(args, sizeof args, "%s --epochs 2 --run first", base);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 0);
    const char *runs = getenv("NNDL_RUNS_DIR");
    CU_ASSERT_FATAL(runs != NULL);
    char want[300];
    snprintf(want, sizeof want, "writing to %s/first/", runs);
    CU_ASSERT(strstr(out, want) != NULL);
    if (!strstr(out, want)) fprintf(stderr, "\n    %s\n", out);
    const char *files[] = {"run_epoch_2.ckpt", "run_best.ckpt", "log.csv", "curves.svg"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/first/%s", runs, files[i]);
        CU_ASSERT(access(path, F_OK) == 0);
    }
    snprintf(path, sizeof path, "%s/first/run_epoch_1.ckpt", runs); /* the last one kept */
    CU_ASSERT(access(path, F_OK) != 0);
    /* --no-save writes nothing; --run with explicit outputs is refused */
    snprintf(args, sizeof args, "%s --epochs 1 --no-save", base);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0 && strstr(out, "writing to") == NULL);
    snprintf(args, sizeof args, "%s --epochs 1 --run x --log %s/x.csv", base, dir);
    expect_cli(args, 2, "--run x names the directory");
    snprintf(args, sizeof args, "%s --epochs 1 --run a/b", base);
    expect_cli(args, 2, "without '/'");
}

/* Flags that the model or the resumed checkpoint would make meaningless are refused. */
static void test_meaningless_flags_refused(void)
{
    char args[1024], out[8192];
    snprintf(args, sizeof args, "%s --epochs 1 --update adam --momentum 0.5", base);
    expect_cli(args, 2, "--momentum: update rule adam has no momentum");
    snprintf(args, sizeof args, "train --data %s --model cnn3 --dropout 0.5", dir);
    expect_cli(args, 2, "--dropout: --model cnn3 has no dropout flag");
    snprintf(args, sizeof args, "train --data %s --model fc --filters 8", dir);
    expect_cli(args, 2, "--filters / --filter-size shape --model cnn3");
    snprintf(args, sizeof args, "train --data %s --model affine10 --hidden 5", dir);
    expect_cli(args, 2, "a layer spec says its own layers");
    /* resuming: the weights and the model are the checkpoint's */
    snprintf(args, sizeof args, "%s --epochs 1 --update sgd_momentum --checkpoint %s/r", base, dir);
    CU_ASSERT_FATAL(run_cli(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "%s --epochs 2 --no-save --weight-scale 0.1 --resume %s/r_epoch_1.ckpt", base, dir);
    expect_cli(args, 2, "--weight-scale: a resumed run's weights come from its checkpoint");
    snprintf(args, sizeof args, "train --data %s --num-train 40 --num-val 20 --num-test 0 --epochs 2 --no-save "
             "--model affine9-relu-affine10 --resume %s/r_epoch_1.ckpt", dir, dir);
    expect_cli(args, 2, "which a resumed run keeps");
    snprintf(args, sizeof args, "train --data %s --num-train 40 --num-val 20 --num-test 0 --epochs 2 --no-save "
             "--momentum 0.5 --resume %s/r_epoch_1.ckpt", dir, dir);
    expect_cli(args, 0, "--momentum 0.5 applied (the checkpoint's run used 0.9)");
    snprintf(args, sizeof args, "train --data %s --num-train 40 --num-val 20 --num-test 0 --epochs 2 --no-save "
             "--resume %s/r_epoch_1.ckpt", dir, dir);
    expect_cli(args, 0, "validation on this run's 20 images");
}

/* -h / --help on the program and every subcommand: usage on stdout, exit 0; --version. */
static void test_help_everywhere(void)
{
    static const struct { const char *args, *usage; } cases[] = {
        {"-h", "usage: nndl <command>"},           {"--help", "usage: nndl <command>"},
        {"train -h", "usage: nndl train"},          {"train --help", "--save-every N"},
        {"eval -h", "usage: nndl eval"},            {"eval --help", "usage: nndl eval"},
        {"check -h", "usage: nndl check"},          {"check --help", "usage: nndl check"},
        {"export -h", "usage: nndl export"},        {"export --help", "usage: nndl export"},
        {"bench --help", "usage: nndl bench"},      {"bench layers --help", "layers  the seed's timing cells"},
        {"bench train -h", "train   training throughput"}, {"--version", "nndl 0."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_cli(cases[i].args, 0, cases[i].usage);
}

void register_run_outputs_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"--save-every and --keep-last (only this run's files removed)", test_save_every_keep_last},
        {"--save-best writes the best epoch's state", test_save_best},
        {"--weights-only writes safetensors that --init-from reads", test_weights_only},
        {"the CSV log: one row per epoch, every column; the plot's legend and grid", test_csv_per_epoch},
        {"plain progress lines when stderr is not a terminal", test_progress_lines},
        {"no output flags: runs/<name>/ with checkpoint, best, log, plot", test_default_run_directory},
        {"flags the model or the checkpoint makes meaningless are refused", test_meaningless_flags_refused},
        {"-h / --help on every command, --version", test_help_everywhere},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("run outputs: checkpoints, log, progress, runs/", setup, teardown);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
