/* error.h — reporting of user-facing errors.
 *
 * Bad input (shapes that do not fit, unknown names, damaged files) is an ordinary outcome, not a
 * bug: functions that can meet it return NNDL_OK / NNDL_ERR and leave a message that names the
 * layer or file and the values involved. The message lives in a thread-local buffer, like errno,
 * so no caller has to thread a buffer through every call.
 *
 * Running out of memory is an ordinary outcome too, with one policy everywhere: every allocation
 * is checked; a function that allocates returns NNDL_ERR with "out of memory for <what>" and
 * frees what it had allocated so far (each *_free accepts a partly built object, so the error
 * path is `x_free(obj); return NNDL_ERR`). Host allocations go through nndl_alloc, device
 * allocations through Backend.alloc (NULL when out of memory). Ops inside a training step do not
 * allocate: their scratch is reserved when the model is created. A CUDA runtime failure inside
 * an op (CUDA_CHECK) is not input but a broken device: it stops the process with file:line. */
#ifndef NNDL_ERROR_H
#define NNDL_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { NNDL_OK = 0, NNDL_ERR = -1 };

/* Records a printf-style message and returns NNDL_ERR, so `return nndl_fail(...)` reads well. */
int nndl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Puts a printf-style context in front of the message already recorded ("layer 2" makes
 * "layer 2: <message>") and returns NNDL_ERR: the way to add where a failure happened, since
 * nndl_fail("%s", nndl_last_error()) would read the buffer it is writing. */
int nndl_fail_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message recorded on this thread ("" when none). */
const char *nndl_last_error(void);
void nndl_clear_error(void);

/* malloc of n * size bytes (overflow checked); NULL with "out of memory for <what>" recorded. */
void *nndl_alloc(size_t n, size_t size, const char *what);

#ifdef __cplusplus
}
#endif
#endif
