/* fuzz_cifar10.c — libFuzzer target for the CIFAR-10 reader (data/cifar10.h).
 *
 * Input: 4 control bytes, then the contents of the batch files. The control bytes choose the
 * split sizes (small, possibly zero or negative so the refusals run too), whether each file is
 * extended (sparse, zeros) to the full 10000-record size the reader requires, whether
 * test_batch.bin is a directory, and whether cifar10_load or cifar10_load_test reads them.
 * Split sizes stay within -3..3 records: an execution reads a few KB, not a 30 MB batch, and
 * its per-pixel loops (instrumented for coverage) stay short. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cifar10.h"
#include "error.h"
#include "scratch.h"

enum {
    FULL_TRAIN = 1,   /* data_batch_1.bin extended to the full size */
    FULL_TEST = 2,    /* test_batch.bin likewise */
    TEST_IS_DIR = 4,  /* test_batch.bin is a directory */
    LOAD_TEST = 8,    /* cifar10_load_test instead of cifar10_load */
    WITH_MEAN = 16,   /* cifar10_load_test subtracts a mean image */
};

static void expect_message(int rc)
{
    if (rc != NNDL_OK && nndl_last_error()[0] == '\0') abort(); /* a refusal always says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    int num_train = (int8_t)data[0] % 4, num_val = (int8_t)data[1] % 4, num_test = (int8_t)data[2] % 4;
    int mode = data[3];
    data += 4, size -= 4;
    const long full = (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES;
    char path[256];
    if (!fuzz_scratch_write(path, sizeof path, "data_batch_1.bin", data, size, mode & FULL_TRAIN ? full : 0))
        abort();
    snprintf(path, sizeof path, "%s/test_batch.bin", fuzz_scratch_dir());
    remove(path); /* a file or the directory of the previous execution */
    if (mode & TEST_IS_DIR) {
        if (mkdir(path, 0700) != 0) abort();
    } else if (!fuzz_scratch_write(path, sizeof path, "test_batch.bin", data, size,
                                   mode & FULL_TEST ? full : 0)) {
        abort();
    }
    const char *dir = fuzz_scratch_dir();
    nndl_clear_error(); /* so expect_message sees this call's own message */
    if (mode & LOAD_TEST) {
        static float mean[CIFAR10_IMAGE_BYTES]; /* zeros: the values do not matter here */
        Dataset test;
        int rc = cifar10_load_test(&test, dir, num_test, mode & WITH_MEAN ? mean : NULL);
        expect_message(rc);
        if (rc == NNDL_OK) dataset_free(&test);
    } else {
        Cifar10 d;
        int rc = cifar10_load(&d, dir, num_train, num_val, num_test);
        expect_message(rc);
        if (rc == NNDL_OK) cifar10_free(&d);
    }
    return 0;
}
