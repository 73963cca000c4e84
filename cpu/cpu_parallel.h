/* cpu_parallel.h — when a CPU loop is worth splitting over threads. A parallel region costs a
 * few microseconds, so small arrays (biases, a handful of channels) stay on one thread. */
#ifndef NNDL_CPU_PARALLEL_H
#define NNDL_CPU_PARALLEL_H

#include <omp.h>

#define CPU_PARALLEL_MIN 32768 /* elements: below this, one thread is faster */

#endif
