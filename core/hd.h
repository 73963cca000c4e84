/* hd.h — marks small helpers that must compile for the host and for CUDA kernels alike
 * (nvcc, or the SIMT host that runs kernels on the CPU). */
#ifndef NNDL_HD_H
#define NNDL_HD_H
#if defined(__CUDACC__) || defined(NNDL_SIMT_HOST)
#define NNDL_HD __host__ __device__
#else
#define NNDL_HD
#endif
#endif
