/* cifar_records.h — the record files shared by CIFAR-10 and CIFAR-100: fixed-size records of
 * label bytes then 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32x32). CIFAR-10 has one
 * label byte; CIFAR-100 two (coarse, then fine). */
#ifndef NNDL_CIFAR_RECORDS_H
#define NNDL_CIFAR_RECORDS_H

#include "dataset.h"

#define CIFAR_IMAGE_BYTES 3072

typedef struct CifarLayout {
    const char *name;           /* "CIFAR-10", for messages */
    int label_bytes;            /* 1 or 2 */
    int label_at;               /* which label byte is the label read */
    int num_classes;            /* labels must be below */
    const char *hint;           /* said when a file is missing */
} CifarLayout;

extern const CifarLayout cifar10_layout, cifar100_fine_layout, cifar100_coarse_layout;

static inline int cifar_record_bytes(const CifarLayout *l) { return l->label_bytes + CIFAR_IMAGE_BYTES; }

/* Records [first, first + count) of the file at path into dst from example `at`. The file must
 * hold exactly file_records records, or any whole number of them when file_records is 0;
 * messages name the file and what was expected. */
int cifar_read_records(const CifarLayout *l, Dataset *dst, int at, const char *path, long file_records, int first,
                       int count);

/* The records in a file of this layout (its size / the record size), or an error naming it. */
int cifar_count_records(const CifarLayout *l, const char *path, long *records);

/* The layout of a batch file judged by its size (a whole number of 3073- or 3074-byte records;
 * a CIFAR-100 file reads its fine labels), or NULL with a message. */
const CifarLayout *cifar_layout_of_file(const char *path, long *records);

#endif
