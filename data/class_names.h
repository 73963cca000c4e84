/* class_names.h — the names of a data set's classes, index = label: folder names, CIFAR's meta
 * files, CIFAR-10's fixed list. Kept with the model (checkpoints) so that eval and predict can
 * print names instead of numbers. */
#ifndef NNDL_CLASS_NAMES_H
#define NNDL_CLASS_NAMES_H

#include <stddef.h>

/* Longest name kept (bytes, without the NUL); longer ones are refused, not cut. */
#define CLASS_NAME_MAX 255
/* Most classes a data set may have (labels are stored as ints; a folder per class). */
#define CLASS_COUNT_MAX 100000

typedef struct ClassNames {
    int n;
    char **names;               /* n strings, malloc'd */
} ClassNames;

/* Appends a copy of name (refused when empty, longer than CLASS_NAME_MAX, holding a control
 * character (a name must print on one line) or not UTF-8 text). */
int class_names_add(ClassNames *c, const char *name);
/* The same for a name read back from a file (a checkpoint or weights that an older nndl or
 * another tool wrote): bytes that are not UTF-8 become '?' instead of refusing the file. */
int class_names_add_repaired(ClassNames *c, const char *name);
/* "0", "1", ... : for data that carries no names. */
int class_names_numbered(ClassNames *c, int n);
/* One name per non-empty line (CIFAR-100's fine_label_names.txt / coarse_label_names.txt);
 * exactly `expect` names or an error naming the file. */
int class_names_read_file(ClassNames *c, const char *path, int expect);
int class_names_copy(ClassNames *dst, const ClassNames *src);
/* Index of name, or -1. */
int class_names_find(const ClassNames *c, const char *name);
void class_names_free(ClassNames *c);

#endif
