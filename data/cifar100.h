/* cifar100.h — the CIFAR-100 binary layout: train.bin (50000 records) and test.bin (10000) of
 * 1 coarse label byte, 1 fine label byte and 3072 pixel bytes; the class names in
 * coarse_label_names.txt / fine_label_names.txt, one per line (numbers when absent). */
#ifndef NNDL_CIFAR100_H
#define NNDL_CIFAR100_H

#include "class_names.h"
#include "cifar_records.h"

#define CIFAR100_TRAIN_RECORDS 50000
#define CIFAR100_TEST_RECORDS 10000

static inline const CifarLayout *cifar100_layout(int coarse)
{
    return coarse ? &cifar100_coarse_layout : &cifar100_fine_layout;
}

/* Records [first, first + count) of dir/train.bin (test = 0) or dir/test.bin into dst from
 * example `at`. */
int cifar100_read(Dataset *dst, int at, const char *dir, int test, int coarse, int first, int count);

/* The names of the fine (100) or coarse (20) classes from dir's meta file, or numbers when the
 * file is absent. */
int cifar100_class_names(ClassNames *names, const char *dir, int coarse);
/* Whether dir holds the meta file of those names. */
int cifar100_has_class_names(const char *dir, int coarse);

#endif
