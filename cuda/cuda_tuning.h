/* cuda_tuning.h — settings of a cuda backend instance beyond the Backend table (C callable), for
 * tests and benchmarks; only binaries linked with the cuda driver (CUDA=1, or the SIMT build of
 * the tests) have them. */
#ifndef NNDL_CUDA_TUNING_H
#define NNDL_CUDA_TUNING_H

#include <stddef.h>

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The conv workspace's budget in floats (default CUDA_CONV_CHUNK_FLOATS, cuda_ops.h): the conv
 * ops work on as many images at a time as fit in it (at least one). Takes effect at the next
 * conv_reserve; tests make it small to run many chunks and a short last one. */
void cuda_conv_set_chunk_floats(const Backend *be, size_t floats);

/* The conv engine: cudnn 1 (the default of CUDA=1 builds that have cuDNN), 0 the im2col + cuBLAS
 * kernels of k_conv.cu (the only one elsewhere; NNDL_CUDA_CONV=im2col picks it at creation). Set
 * before the first conv_reserve. Asking for cuDNN where the build has none is an error. */
int cuda_conv_set_engine(const Backend *be, int cudnn);

#ifdef __cplusplus
}
#endif
#endif
