/* cifar10.c — reading the CIFAR-10 binary batches and preprocessing them (see cifar10.h). */
#include "cifar10.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "cifar_records.h"

const char *const cifar10_class_names[CIFAR10_CLASSES] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

/* Reads records [first, first + count) of one batch file into dst starting at example `at`. */
static int read_records(Dataset *dst, int at, const char *dir, const char *file, int first,
                        int count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return cifar_read_records(&cifar10_layout, dst, at, path, CIFAR10_RECORDS_PER_FILE, first, count);
}

/* Training records [first, first + count) across data_batch_1..5. */
static int read_training_range(Dataset *dst, const char *dir, int first, int count)
{
    for (int done = 0; done < count;) {
        int record = first + done, file = record / CIFAR10_RECORDS_PER_FILE;
        int offset = record % CIFAR10_RECORDS_PER_FILE;
        int take = CIFAR10_RECORDS_PER_FILE - offset;
        if (take > count - done) take = count - done;
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", file + 1);
        if (read_records(dst, done, dir, name, offset, take) != NNDL_OK) return NNDL_ERR;
        done += take;
    }
    return NNDL_OK;
}

int cifar10_load(Cifar10 *out, const char *dir, int num_train, int num_val, int num_test)
{
    memset(out, 0, sizeof *out);
    if (num_train <= 0 || num_val < 0 || num_test < 0 ||
        num_train + num_val > CIFAR10_TRAIN_RECORDS || num_test > CIFAR10_RECORDS_PER_FILE)
        return nndl_fail("CIFAR-10 split sizes train %d, val %d, test %d impossible: train must "
                         "be positive, train + val at most 50000, test at most 10000",
                         num_train, num_val, num_test);
    if (dataset_alloc(&out->train, num_train, 3, 32, 32) != NNDL_OK ||
        dataset_alloc(&out->val, num_val, 3, 32, 32) != NNDL_OK ||
        dataset_alloc(&out->test, num_test, 3, 32, 32) != NNDL_OK ||
        !(out->mean_image = calloc(CIFAR10_IMAGE_BYTES, sizeof(float))))
        goto fail;
    if (read_training_range(&out->train, dir, 0, num_train) != NNDL_OK ||
        read_training_range(&out->val, dir, num_train, num_val) != NNDL_OK ||
        (num_test && read_records(&out->test, 0, dir, "test_batch.bin", 0, num_test) != NNDL_OK))
        goto fail;
    if (dataset_mean(&out->train, out->mean_image) != NNDL_OK) goto fail;
    dataset_subtract(&out->train, out->mean_image);
    dataset_subtract(&out->val, out->mean_image);
    dataset_subtract(&out->test, out->mean_image);
    return NNDL_OK;
fail:
    {
        char why[512];
        snprintf(why, sizeof why, "%s", nndl_last_error());
        cifar10_free(out);
        return nndl_fail("%s", why);
    }
}

void cifar10_free(Cifar10 *d)
{
    dataset_free(&d->train);
    dataset_free(&d->val);
    dataset_free(&d->test);
    free(d->mean_image);
    d->mean_image = NULL;
}

int cifar10_load_test(Dataset *test, const char *dir, int num_test, const float *mean_image)
{
    if (num_test <= 0 || num_test > CIFAR10_RECORDS_PER_FILE)
        return nndl_fail("CIFAR-10: %d test examples requested, expected 1..10000", num_test);
    if (dataset_alloc(test, num_test, 3, 32, 32) != NNDL_OK) return NNDL_ERR;
    if (read_records(test, 0, dir, "test_batch.bin", 0, num_test) != NNDL_OK) {
        dataset_free(test);
        return NNDL_ERR;
    }
    if (mean_image) dataset_subtract(test, mean_image);
    return NNDL_OK;
}
