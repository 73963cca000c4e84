/* build_info.h — how this binary was built: version, compiler, whether the CUDA backend is in it
 * and for which GPU architectures. `nndl --version` and `nndl check` print it. */
#ifndef NNDL_BUILD_INFO_H
#define NNDL_BUILD_INFO_H

#include <stddef.h>
#include <stdio.h>

#include "backend.h"

#include "version.h"

void build_info(char *buf, size_t size);

/* Makes a new instance of the backend of a name (backend_create; the tests pass one that plants a
 * wrong op); the caller destroys it with backend_destroy. */
typedef Backend *(*BackendCreate)(const char *name);
/* The build line, then one line per backend (what it runs on, or why it is unavailable). */
void print_build_facts(FILE *out, BackendCreate create);

#endif
