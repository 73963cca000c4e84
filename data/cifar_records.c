/* cifar_records.c — see cifar_records.h. */
#include "cifar_records.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "open_read.h"

const CifarLayout cifar10_layout = {"CIFAR-10", 1, 0, 10,
                                    "fetch the data set with `make cifar10`, or point --data at a "
                                    "cifar-10-batches-bin directory"};
const CifarLayout cifar100_fine_layout = {"CIFAR-100", 2, 1, 100, "point --data at a cifar-100-binary directory"};
const CifarLayout cifar100_coarse_layout = {"CIFAR-100", 2, 0, 20, "point --data at a cifar-100-binary directory"};

/* The file opened and its size, or NULL with a message naming it. */
static FILE *open_records(const CifarLayout *l, const char *path, long long *size)
{
    FILE *f = open_read(path);
    if (!f) return nndl_fail("cannot open %s file %s: %s (%s)", l->name, path, strerror(errno), l->hint), NULL;
    /* fstat, not fseek/ftell: fopen accepts a directory, whose "size" ftell gives as LONG_MAX */
    struct stat st = {0};
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return nndl_fail("%s file %s is %s, expected a binary batch file", l->name, path,
                         S_ISDIR(st.st_mode) ? "a directory" : "not a regular file"), NULL;
    }
    *size = (long long)st.st_size;
    return f;
}

int cifar_count_records(const CifarLayout *l, const char *path, long *records)
{
    long long size;
    FILE *f = open_records(l, path, &size);
    if (!f) return NNDL_ERR;
    fclose(f);
    int rb = cifar_record_bytes(l);
    if (size == 0 || size % rb != 0)
        return nndl_fail("%s file %s has %lld bytes, not a whole number of %d-byte records", l->name, path, size, rb);
    *records = (long)(size / rb);
    return NNDL_OK;
}

int cifar_read_records(const CifarLayout *l, Dataset *dst, int at, const char *path, long file_records, int first,
                       int count)
{
    long long size;
    FILE *f = open_records(l, path, &size);
    if (!f) return NNDL_ERR;
    long rb = cifar_record_bytes(l), expected = file_records * rb;
    if (file_records ? size != expected : (size == 0 || size % rb != 0)) {
        fclose(f);
        if (file_records)
            return nndl_fail("%s file %s has %lld bytes, expected %ld (%ld records of %ld bytes): truncated or not a "
                             "%s binary batch", l->name, path, size, expected, file_records, rb, l->name);
        return nndl_fail("%s file %s has %lld bytes, not a whole number of %ld-byte records", l->name, path, size, rb);
    }
    if (first < 0 || (long long)(first + count) * rb > size) {
        fclose(f);
        return nndl_fail("%s file %s has %lld records; record %d asked for", l->name, path, size / rb, first + count - 1);
    }
    unsigned char rec[2 + CIFAR_IMAGE_BYTES];
    fseek(f, (long)first * rb, SEEK_SET);
    for (int r = 0; r < count; r++) {
        if (fread(rec, 1, (size_t)rb, f) != (size_t)rb) {
            fclose(f);
            return nndl_fail("%s file %s: read error at record %d", l->name, path, first + r);
        }
        int label = rec[l->label_at];
        if (label >= l->num_classes) {
            fclose(f);
            return nndl_fail("%s file %s: record %d has label %d, expected 0..%d: not a %s binary batch", l->name,
                             path, first + r, label, l->num_classes - 1, l->name);
        }
        dst->y[at + r] = label;
        float *img = dst->x + (size_t)(at + r) * CIFAR_IMAGE_BYTES;
        for (int i = 0; i < CIFAR_IMAGE_BYTES; i++) img[i] = rec[l->label_bytes + i];
    }
    fclose(f);
    return NNDL_OK;
}

const CifarLayout *cifar_layout_of_file(const char *path, long *records)
{
    long long size;
    FILE *f = open_records(&cifar10_layout, path, &size);
    if (!f) return NULL;
    fclose(f);
    const CifarLayout *l = size > 0 && size % cifar_record_bytes(&cifar10_layout) == 0    ? &cifar10_layout
                           : size > 0 && size % cifar_record_bytes(&cifar100_fine_layout) == 0 ? &cifar100_fine_layout
                                                                                            : NULL;
    if (!l)
        return nndl_fail("%s has %lld bytes: not a CIFAR-10 (3073-byte records) or CIFAR-100 (3074-byte records) "
                         "batch file", path, size), NULL;
    *records = (long)(size / cifar_record_bytes(l));
    return l;
}
