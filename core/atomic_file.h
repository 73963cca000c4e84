/* atomic_file.h — writing a file so that a failure never destroys the one already there.
 *
 * The content goes to a temporary file next to the target, "<dir>/.<name>.nndl-tmp" (hidden, and
 * a suffix no user file is expected to carry), which is flushed to disk (fsync) and only then
 * renamed over the target; the directory is fsync'ed after the rename, so after a crash either
 * the old file or the complete new one is there. The writer holds an exclusive lock (flock) on
 * the temporary file while it writes: a temporary file found unlocked was left by a killed run,
 * and is overwritten with a note on stderr; one locked by a live writer is refused. A target (or
 * temporary name) that exists but is not a regular file — a symlink, a FIFO, a device, a
 * directory — is refused and left untouched. */
#ifndef NNDL_ATOMIC_FILE_H
#define NNDL_ATOMIC_FILE_H

#include <stdio.h>

/* write(f, ctx) returns nonzero on success. `what` names the file in messages ("checkpoint"). */
typedef int (*FileWriter)(FILE *f, const void *ctx);
int write_file_atomically(const char *path, const char *what, FileWriter write, const void *ctx);

/* Whether write_file_atomically could write path, checked before long work: NNDL_ERR with a
 * message when the target exists but is not a regular file, or its directory is missing or not
 * writable. */
int atomic_file_check_target(const char *path, const char *what);

/* The temporary name write_file_atomically uses for path (tests look for it there); NNDL_ERR
 * when it does not fit in size. */
int atomic_file_temp_name(char *tmp, size_t size, const char *path);

#endif
