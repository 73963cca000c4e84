/* backend_checks.h — every backend op against the double reference, for whichever backend a
 * suite puts under test. The same checks serve the cpu backend and the cuda backend, so the two
 * are held to one standard. */
#ifndef NNDL_BACKEND_CHECKS_H
#define NNDL_BACKEND_CHECKS_H

#include <CUnit/CUnit.h>

#include "backend.h"

/* Registers the op-vs-reference suite named `name` for backend `be_name`; when the backend is
 * unavailable the suite reports why and is skipped (not counted as passed). */
void register_backend_checks(const char *name, const char *be_name);

#endif
