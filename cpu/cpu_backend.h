/* cpu_backend.h — test hooks of the cpu backend's context, for checking the out-of-memory paths
 * of every caller: make allocations fail on demand, and count what is still allocated; and the
 * choice of convolution algorithm. */
#ifndef NNDL_CPU_BACKEND_H
#define NNDL_CPU_BACKEND_H

#include "backend.h"

/* After n more successful allocations (alloc and the backend's own scratch), every further one
 * fails as if memory were exhausted; n < 0 turns failures off. */
void cpu_backend_fail_allocs_after(const Backend *be, long n);
/* Allocations made through be->alloc and not yet released. */
long cpu_backend_live_allocs(const Backend *be);
/* The convolution algorithm: 0 automatic (the default), 1 im2col + sgemm everywhere, 2 Winograd
 * F(2x2, 3x3) wherever the geometry allows; for comparing the two in tests and benchmarks. */
void cpu_backend_set_conv_algo(const Backend *be, int algo);
/* Whether a convolution of geometry g runs as Winograd under the current setting. */
int cpu_conv_uses_winograd(const Backend *be, const ConvGeom *g);

#endif
