/* backend_registry.c — the backend registry: the only global state, fixed at build time. */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

extern const Backend cpu_backend;
/* cuda/: the CUDA table, or NULL with a reason (not built, no device). */
const Backend *cuda_backend_probe(void);

const Backend *backend_get(const char *name)
{
    if (strcmp(name, "cpu") == 0) return &cpu_backend;
    if (strcmp(name, "cuda") == 0) return cuda_backend_probe();
    nndl_fail("unknown device '%s' (expected cpu, cuda or auto)", name);
    return NULL;
}

const Backend *backend_auto(const char **note)
{
    static _Thread_local char why[600];
    const Backend *be = cuda_backend_probe();
    if (be) {
        *note = NULL;
        return be;
    }
    strncpy(why, nndl_last_error(), sizeof why - 1);
    *note = why;
    return &cpu_backend;
}

const Backend *backend_choose(const char *choice)
{
    if (strcmp(choice, "auto") != 0) return backend_get(choice);
    const char *note;
    const Backend *be = backend_auto(&note);
    if (note) fprintf(stderr, "nndl: using the cpu (%s)\n", note);
    return be;
}
