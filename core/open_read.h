/* open_read.h — opening an input file without the ways open() itself can go wrong: a FIFO with
 * no writer blocks fopen(path, "rb") forever. The file is opened non-blocking, then made blocking
 * again for the reads; the caller checks what it is (fstat) and refuses what is not a regular
 * file with its own message. */
#ifndef NNDL_OPEN_READ_H
#define NNDL_OPEN_READ_H

#include <stdio.h>

/* fopen(path, "rb") that never blocks in the open; NULL with errno set on failure. */
FILE *open_read(const char *path);

/* The size of the regular file at path; 0 when it is not one or cannot be read (ModelConfig's
 * file_bytes: no bound). */
size_t regular_file_size(const char *path);

#endif
