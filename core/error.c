/* error.c — thread-local last-error message (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_error[512];

int nndl_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return NNDL_ERR;
}

const char *nndl_last_error(void) { return last_error; }

void nndl_clear_error(void) { last_error[0] = '\0'; }

void *nndl_alloc(size_t n, size_t size, const char *what)
{
    size_t bytes = n * size;
    void *p = size && n > SIZE_MAX / size ? NULL : malloc(bytes ? bytes : 1);
    if (!p) nndl_fail("out of memory for %s (%zu x %zu bytes)", what, n, size);
    return p;
}
