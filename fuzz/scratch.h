/* scratch.h — a per-process scratch directory for targets whose readers take paths.
 *
 * Under /dev/shm (memory, cheap to rewrite every execution) when it exists, else /tmp; named
 * after the process so parallel fuzzing jobs do not share files; removed at a normal exit (a
 * crashing run leaves it: /dev/shm/nndl_fuzz_<pid>). */
#ifndef NNDL_FUZZ_SCRATCH_H
#define NNDL_FUZZ_SCRATCH_H

#include <stddef.h>

/* Creates the directory once and returns its path. */
const char *fuzz_scratch_dir(void);
/* Writes data to <scratch>/name (truncating) and optionally extends it (sparse) to `length`
 * bytes when length > size; returns the path in buf, or NULL on failure. */
const char *fuzz_scratch_write(char *buf, size_t buf_size, const char *name, const void *data,
                               size_t size, long length);

#endif
