/* test_cpu_backend.c — the cpu backend, op by op, against the double reference. */
#include "backend_checks.h"

void register_cpu_backend_suite(void) { register_backend_checks("cpu backend vs reference", "cpu"); }
