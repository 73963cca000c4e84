/* error.c — thread-local last-error message (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

/* Room for two specs of MODEL_SPEC_MAX in one message (a checkpoint of another model). */
static _Thread_local char last_error[2560];

int nndl_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return NNDL_ERR;
}

int nndl_fail_context(const char *fmt, ...)
{
    /* both parts are copied out first, so arguments may point into the message itself; a
     * message near the buffer's size loses its end, never the context */
    char context[512], inner[sizeof last_error - sizeof context - 2];
    size_t n = strnlen(last_error, sizeof inner - 1);
    memcpy(inner, last_error, n);
    inner[n] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    snprintf(last_error, sizeof last_error, "%s: %s", context, inner);
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
