/* atomic_file.h — writing a file so that a failure never destroys the one already there: the
 * content goes to "<path>.tmp", which is renamed over path only after a complete write. */
#ifndef NNDL_ATOMIC_FILE_H
#define NNDL_ATOMIC_FILE_H

#include <stdio.h>

/* write(f, ctx) returns nonzero on success. `what` names the file in messages ("checkpoint"). */
typedef int (*FileWriter)(FILE *f, const void *ctx);
int write_file_atomically(const char *path, const char *what, FileWriter write, const void *ctx);

#endif
