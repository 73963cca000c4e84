/* test_data.c — the CIFAR-10 reader on generated batch files (the real data set is not needed):
 * values, splits and mean subtraction; missing, short and damaged files; and the command line's
 * refusals of nonsense flags. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cifar10.h"
#include "error.h"
#include "same_file.h"
#include "test_util.h"

static char dir[64];

static int write_batch(const char *name, int label_offset, long size)
{
    return write_cifar_batch(dir, name, label_offset, size);
}

static int teardown(void)
{
    remove_tree(dir);
    return 0;
}

static const long FULL = (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES;

static int setup(void)
{
    if (make_temp_dir(dir, sizeof dir, "nndl_cifar") != 0) return 1;
    return write_batch("data_batch_1.bin", 0, FULL) || write_batch("test_batch.bin", 3, FULL);
}

static void test_read_and_preprocess(void)
{
    Cifar10 d;
    CU_ASSERT_FATAL(cifar10_load(&d, dir, 20, 10, 5) == NNDL_OK);
    CU_ASSERT(d.train.n == 20 && d.val.n == 10 && d.test.n == 5 && d.train.c == 3 && d.train.h == 32);
    /* mean of training pixel i over records 0..19: mean of (r + i) % 251 */
    int wrong = 0;
    for (int i = 0; i < CIFAR10_IMAGE_BYTES; i++) {
        double m = 0;
        for (int r = 0; r < 20; r++) m += (r + i) % 251;
        m /= 20;
        wrong += (float)m != d.mean_image[i];
        wrong += d.train.x[(size_t)7 * CIFAR10_IMAGE_BYTES + i] != (float)((7 + i) % 251) - d.mean_image[i];
        wrong += d.val.x[(size_t)2 * CIFAR10_IMAGE_BYTES + i] != (float)((22 + i) % 251) - d.mean_image[i];
        wrong += d.test.x[(size_t)4 * CIFAR10_IMAGE_BYTES + i] != (float)((4 + i) % 251) - d.mean_image[i];
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT(d.train.y[13] == 3 && d.val.y[0] == 0 && d.val.y[9] == 9 && d.test.y[0] == 3);
    cifar10_free(&d);
}

static void test_bad_files(void)
{
    Cifar10 d;
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, "/nonexistent/cifar", 10, 0, 0), "/nonexistent/cifar/data_batch_1.bin");
    /* 10001 training examples need data_batch_2.bin, which is missing */
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, dir, 10001, 0, 0), "data_batch_2.bin");
    char path[128];
    snprintf(path, sizeof path, "%s/data_batch_2.bin", dir);
    CU_ASSERT_FATAL(write_batch("data_batch_2.bin", 0, 1000) == 0);
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, dir, 10001, 0, 0), "has 1000 bytes, expected 30730000");
    FILE *f = fopen(path, "r+b");
    fputc(12, f); /* label of record 0 */
    fclose(f);
    CU_ASSERT(truncate(path, FULL) == 0);
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, dir, 10001, 0, 0), "label 12");
    unlink(path);
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, dir, 0, 10, 0), "impossible");
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, dir, 49000, 2000, 0), "impossible");
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, dir, 10, 10, 10001), "impossible");
}

/* A directory where a batch file belongs: fopen accepts it and ftell on it gave LONG_MAX, so the
 * message read "has 9223372036854775807 bytes"; it must say what the path is. */
static void test_directory_as_batch_file(void)
{
    char sub[128], batch[160];
    snprintf(sub, sizeof sub, "%s/dirs", dir);
    snprintf(batch, sizeof batch, "%s/data_batch_1.bin", sub);
    CU_ASSERT_FATAL(mkdir(sub, 0700) == 0 && mkdir(batch, 0700) == 0);
    Cifar10 d;
    ASSERT_ERROR_MENTIONS(cifar10_load(&d, sub, 10, 0, 0), "data_batch_1.bin is a directory");
    CU_ASSERT(strstr(nndl_last_error(), "9223372036854775807") == NULL);
    snprintf(batch, sizeof batch, "%s/test_batch.bin", sub);
    CU_ASSERT_FATAL(mkdir(batch, 0700) == 0);
    Dataset test;
    ASSERT_ERROR_MENTIONS(cifar10_load_test(&test, sub, 5, NULL), "test_batch.bin is a directory");
    remove_tree(sub);
}

/* The program itself: usage errors exit 2, missing data 1, each with a message on stderr. */
static void test_command_line_refusals(void)
{
    if (access(test_program(), X_OK) != 0) {
        CU_FAIL("the program is not built (make test builds it)");
        return;
    }
    expect_cli("train --epochs abc", 2, "--epochs: 'abc' is not an integer");
    expect_cli("train --epochs 0", 2, "between 1 and");
    expect_cli("train --lr -1", 2, "--lr: '-1'");
    expect_cli("train --bogus", 2, "unknown option '--bogus'");
    expect_cli("train --update adagrad --data /nonexistent", 2, "unknown update rule 'adagrad'");
    expect_cli("train --device tpu", 2, "unknown device 'tpu'");
    expect_cli("train --model 'conv8x3(stride=0)-affine10' --data /nonexistent", 2, "bad conv token"); /* before the data */
    expect_cli("train --data /nonexistent", 1, "/nonexistent/data_batch_1.bin");
    expect_cli("train --hidden 10,x", 2, "--hidden");
    expect_cli("train --loss hinge", 2, "--loss");
    expect_cli("train stray", 2, "unexpected argument 'stray'");
    expect_cli("eval", 2, "--checkpoint FILE is required");
    expect_cli("eval --checkpoint /nonexistent.ckpt", 1, "cannot open checkpoint");
    expect_cli("eval --checkpoint /tmp", 1, "is a directory");
    /* FIFOs with no writer, where a checkpoint or a batch file belongs: refused at once, not
     * blocked in open() (the alarm turns such a regression into a failed run, not a hung one) */
    char fifo[160], fifo_data[160], fifo_args[400];
    snprintf(fifo, sizeof fifo, "%s/fifo.ckpt", dir);
    snprintf(fifo_data, sizeof fifo_data, "%s/fifo_data", dir);
    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0 && mkdir(fifo_data, 0700) == 0);
    snprintf(fifo_args, sizeof fifo_args, "%s/data_batch_1.bin", fifo_data);
    CU_ASSERT_FATAL(mkfifo(fifo_args, 0600) == 0);
    alarm(120);
    snprintf(fifo_args, sizeof fifo_args, "eval --checkpoint %s", fifo);
    expect_cli(fifo_args, 1, "is a FIFO");
    snprintf(fifo_args, sizeof fifo_args, "train --data %s --model affine10 --num-train 20 --num-val 10 --num-test 0",
             fifo_data);
    expect_cli(fifo_args, 1, "not a regular file");
    alarm(0);
    expect_cli("train --data ''", 2, "--data needs a non-empty file or directory name");
    expect_cli("train --log ''", 2, "--log needs a non-empty");
    expect_cli("train --checkpoint runs/", 2, "cannot end with '/'");
    expect_cli("train --hidden 10,,10", 2, "--hidden: '10,,10' is not a comma-separated list");
    expect_cli("train --hidden 5,", 2, "--hidden: '5,' is not");
    expect_cli("train --hidden ,5", 2, "--hidden: ',5' is not");
    expect_cli("eval --checkpoint ''", 2, "--checkpoint needs a non-empty");
    /* outputs that would overwrite each other or a checkpoint: refused before any data is read */
    expect_cli("train --data /nonexistent --log x.out --plot x.out", 2, "--log and --plot name the same file");
    expect_cli("train --data /nonexistent --resume r.ckpt --log r.ckpt", 2, "is the checkpoint being resumed");
    expect_cli("train --data /nonexistent --checkpoint /tmp/a --plot /tmp/a_epoch_1.ckpt", 2,
               "is one of this run's checkpoints");
    /* and outputs that cannot be written are refused before the run, not after it */
    expect_cli("train --data /nonexistent --log /nonexistent/log.csv", 2, "its directory /nonexistent does not exist");
    expect_cli("train --data /nonexistent --plot /tmp", 2, "is a directory");
    expect_cli("train --data /nonexistent --checkpoint /nonexistent/run", 2, "its directory /nonexistent does not exist");
    /* names a write would fail on only after the whole run: too long for the file system once
     * the last epoch's number and the temporary's decoration are added, or a deleted directory */
    char long_args[PATH_MAX + 700], text[1024];
    snprintf(long_args, sizeof long_args, "train --data /nonexistent --epochs 100 --checkpoint %s/%0240d", dir, 0);
    expect_cli(long_args, 2, "its name is too long for the file system");
    char program[PATH_MAX];
    CU_ASSERT_FATAL(realpath(test_program(), program) != NULL); /* it runs from elsewhere */
    snprintf(long_args, sizeof long_args, "mkdir %s/gone && cd %s/gone && rmdir ../gone && '%s' train --data /nonexistent "
             "--checkpoint k", dir, dir, program);
    CU_ASSERT_EQUAL(run_shell(long_args, text, sizeof text), 2);
    CU_ASSERT(strstr(text, "the current directory was deleted") != NULL);
    expect_cli("frobnicate", 2, "unknown command 'frobnicate'");
    char args[160];
    snprintf(args, sizeof args, "train --data %s --num-train 20 --num-val 10 --model 'conv4x3(pad=-1)-affine10'", dir);
    expect_cli(args, 2, "bad conv token");
}

/* The same file however it is spelled (same_file.h): ./x, sub/../x, an absolute path, a hard
 * link; files not written yet by where they would be. */
static void test_same_file(void)
{
    char a[200], b[200], sub[200], link_path[200];
    snprintf(a, sizeof a, "%s/same.ckpt", dir);
    snprintf(sub, sizeof sub, "%s/samesub", dir);
    snprintf(link_path, sizeof link_path, "%s/same_link.ckpt", dir);
    FILE *f = fopen(a, "wb");
    CU_ASSERT_FATAL(f && fputs("x", f) >= 0 && fclose(f) == 0 && mkdir(sub, 0700) == 0 && link(a, link_path) == 0);
    snprintf(b, sizeof b, "%s/samesub/../same.ckpt", dir);
    CU_ASSERT(same_file(a, b));
    snprintf(b, sizeof b, "%s/./samesub/../same.ckpt", dir);
    CU_ASSERT(same_file(b, a));
    CU_ASSERT(same_file(a, link_path)); /* a hard link: another name, one inode */
    snprintf(b, sizeof b, "%s/samesub/same.ckpt", dir);
    CU_ASSERT(!same_file(a, b));
    /* not written yet: the resolved directory decides */
    char c[200], d[200];
    snprintf(c, sizeof c, "%s/new.csv", dir);
    snprintf(d, sizeof d, "%s/samesub/../new.csv", dir);
    CU_ASSERT(same_file(c, d));
    snprintf(d, sizeof d, "%s/samesub/new.csv", dir);
    CU_ASSERT(!same_file(c, d));
    CU_ASSERT(!same_file("/nonexistent/a", "/nonexistent/b"));
    CU_ASSERT(same_file("/nonexistent/a", "/nonexistent/a"));
    char r[400];
    path_resolve("/x.ckpt", r, sizeof r);
    CU_ASSERT_STRING_EQUAL(r, "/x.ckpt");
    unlink(a), unlink(link_path), rmdir(sub);
}

/* An output named as an input under another spelling (export's output, eval's SVG, train's log
 * or plot against --init-from or this run's checkpoints, and those checkpoints against
 * --init-from): refused before anything is read or written, the input left as it was. */
static void test_outputs_never_overwrite_inputs(void)
{
    char ck[200], w[200], args[900];
    snprintf(ck, sizeof ck, "%s/in_epoch_1.ckpt", dir);
    snprintf(w, sizeof w, "%s/in_epoch_1.safetensors", dir);
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(i ? w : ck, "wb");
        CU_ASSERT_FATAL(f && fputs("precious", f) >= 0 && fclose(f) == 0);
    }
    struct {
        const char *fmt, *fragment;
    } cases[] = {
        {"export %1$s/in_epoch_1.ckpt %1$s/./in_epoch_1.ckpt", "is the checkpoint itself"},
        {"eval %1$s/in_epoch_1.ckpt --confusion-svg %1$s/../%2$s/in_epoch_1.ckpt", "is the file being evaluated"},
        {"eval %1$s/in_epoch_1.safetensors --confusion-svg %1$s/./in_epoch_1.safetensors", "is the file being evaluated"},
        {"train --data /nonexistent --checkpoint %1$s/in --log %1$s/./in_epoch_1.ckpt", "one of this run's checkpoints"},
        {"train --data /nonexistent --checkpoint %1$s/./in --plot %1$s/../%2$s/in_epoch_1.ckpt",
         "one of this run's checkpoints"},
        {"train --data /nonexistent --init-from %1$s/in_epoch_1.safetensors --log %1$s/./in_epoch_1.safetensors",
         "is the --init-from weights"},
        {"train --data /nonexistent --init-from %1$s/in_epoch_1.safetensors --checkpoint %1$s/./in --weights-only",
         "the run would overwrite the weights it starts from"},
        {"train --data /nonexistent --init-from %1$s/start.safetensors --checkpoint %1$s/in --weights-only",
         "the run would overwrite the weights it starts from"}, /* a symlink to in_epoch_1.safetensors */
        /* not refused: a run without --weights-only writes in_epoch_1.ckpt, not the .safetensors
         * (it goes on to read the weights, which are these bytes); a log is not a checkpoint */
        {"train --data /nonexistent --init-from %1$s/in_epoch_1.safetensors --checkpoint %1$s/in",
         "is not a safetensors file"},
        {"train --data /nonexistent --checkpoint %1$s/in --log %1$s/in_best.csv", "/nonexistent/data_batch_1"},
    };
    char start[200];
    snprintf(start, sizeof start, "%s/start.safetensors", dir);
    CU_ASSERT_FATAL(symlink(w, start) == 0);
    const char *base = strrchr(dir, '/') + 1;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        snprintf(args, sizeof args, cases[k].fmt, dir, base);
        expect_cli(args, k + 2 < sizeof cases / sizeof *cases ? 2 : 1, cases[k].fragment); /* the last two: 1 */
    }
    unlink(start);
    char text[32];
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(i ? w : ck, "rb");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        text[n] = '\0';
        if (f) fclose(f);
        CU_ASSERT_STRING_EQUAL(text, "precious");
    }
    unlink(ck), unlink(w);
}

void register_data_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"CIFAR-10 records, splits, mean subtraction", test_read_and_preprocess},
        {"missing, short and damaged files", test_bad_files},
        {"a directory where a batch file belongs", test_directory_as_batch_file},
        {"command-line refusals", test_command_line_refusals},
        {"one file under two spellings (same_file)", test_same_file},
        {"outputs that name an input another way: refused, the input kept", test_outputs_never_overwrite_inputs},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("data and command line", setup, teardown);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
