/* cifar10.h — the CIFAR-10 binary layout and the seed's get_CIFAR10_data preprocessing.
 *
 * A data directory holds data_batch_1.bin .. data_batch_5.bin and test_batch.bin, each exactly
 * 10000 records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32x32).
 * Loading gives train = the first num_train training records, val = the next num_val,
 * test = the first num_test test records, as float NCHW with the training split's mean image
 * subtracted from all three (pixel values stay on the 0..255 scale, as in the seed). */
#ifndef NNDL_CIFAR10_H
#define NNDL_CIFAR10_H

#include <stddef.h>

#include "dataset.h"

#define CIFAR10_RECORDS_PER_FILE 10000
#define CIFAR10_IMAGE_BYTES 3072
#define CIFAR10_RECORD_BYTES (1 + CIFAR10_IMAGE_BYTES)
#define CIFAR10_CLASSES 10
#define CIFAR10_TRAIN_RECORDS 50000

typedef struct Cifar10 {
    Dataset train, val, test;
    float *mean_image; /* (3, 32, 32), already subtracted */
} Cifar10;

/* Missing, short or damaged files and impossible split sizes are errors naming the file and
 * what was expected (nndl_last_error). */
int cifar10_load(Cifar10 *out, const char *dir, int num_train, int num_val, int num_test);
void cifar10_free(Cifar10 *d);

/* The first num_test test records, with a given mean image (from a checkpoint) subtracted. */
int cifar10_load_test(Dataset *test, const char *dir, int num_test, const float *mean_image);

/* Names of the ten classes, index = label. */
extern const char *const cifar10_class_names[CIFAR10_CLASSES];

#endif
