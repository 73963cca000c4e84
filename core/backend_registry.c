/* backend_registry.c — the one list of backends. Its entries are drivers, not state: every
 * context lives in a Backend instance the caller creates and destroys. The Makefile links one
 * definition of each driver: cuda_driver is the real backend (nvcc, or the SIMT host in the test
 * binary) or the stub of cuda/cuda_unavailable.c (the program built without CUDA). */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

extern const BackendDriver cpu_driver, cuda_driver;

static const BackendDriver *const drivers[] = {&cpu_driver, &cuda_driver};

Backend *backend_create(const char *name)
{
    for (size_t i = 0; i < sizeof drivers / sizeof *drivers; i++) {
        if (strcmp(name, drivers[i]->name) != 0) continue;
        Backend *be = nndl_alloc(1, sizeof *be, "the backend instance");
        if (!be) return NULL;
        if (drivers[i]->init(be) != NNDL_OK) {
            free(be);
            return NULL;
        }
        return be;
    }
    nndl_fail("unknown device '%s' (expected cpu, cuda or auto)", name);
    return NULL;
}

void backend_destroy(Backend *be)
{
    if (!be) return;
    for (size_t i = 0; i < sizeof drivers / sizeof *drivers; i++)
        if (strcmp(be->name, drivers[i]->name) == 0) drivers[i]->fini(be);
    free(be);
}

Backend *backend_create_auto(const char **note)
{
    static _Thread_local char why[600];
    Backend *be = backend_create("cuda");
    if (be) {
        *note = NULL;
        return be;
    }
    snprintf(why, sizeof why, "%s", nndl_last_error());
    *note = why;
    return backend_create("cpu");
}

Backend *backend_choose(const char *choice)
{
    if (strcmp(choice, "auto") != 0) return backend_create(choice);
    const char *note;
    Backend *be = backend_create_auto(&note);
    if (be && note) fprintf(stderr, "nndl: using the cpu (%s)\n", note);
    return be;
}
