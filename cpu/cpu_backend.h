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
/* The convolution algorithm (CpuConvAlgo, cpu_ops.h): 0 automatic (the default), 1 im2col +
 * sgemm everywhere, 2 Winograd F(2x2, 3x3) and 3 F(4x4, 3x3) wherever the geometry allows; for
 * comparing them in tests and benchmarks. */
void cpu_backend_set_conv_algo(const Backend *be, int algo);
/* The Winograd output tile a convolution of geometry g runs with under the current setting: 2
 * or 4, or 0 for im2col. */
int cpu_conv_winograd_tile(const Backend *be, const ConvGeom *g);

#endif
