/* cifar100.c — see cifar100.h. */
#include "cifar100.h"

#include <stdio.h>
#include <unistd.h>

#include "error.h"

int cifar100_read(Dataset *dst, int at, const char *dir, int test, int coarse, int first, int count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, test ? "test.bin" : "train.bin");
    return cifar_read_records(cifar100_layout(coarse), dst, at, path,
                              test ? CIFAR100_TEST_RECORDS : CIFAR100_TRAIN_RECORDS, first, count);
}

static void names_path(char *path, size_t size, const char *dir, int coarse)
{
    snprintf(path, size, "%s/%s", dir, coarse ? "coarse_label_names.txt" : "fine_label_names.txt");
}

int cifar100_has_class_names(const char *dir, int coarse)
{
    char path[4096];
    names_path(path, sizeof path, dir, coarse);
    return access(path, F_OK) == 0;
}

int cifar100_class_names(ClassNames *names, const char *dir, int coarse)
{
    char path[4096];
    names_path(path, sizeof path, dir, coarse);
    *names = (ClassNames){0};
    int n = cifar100_layout(coarse)->num_classes;
    if (!cifar100_has_class_names(dir, coarse)) return class_names_numbered(names, n);
    return class_names_read_file(names, path, n);
}
