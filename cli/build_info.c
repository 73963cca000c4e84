/* build_info.c — see build_info.h. The Makefile passes NNDL_BUILD_CUDA and NNDL_CUDA_ARCHS. */
#include "build_info.h"

#include <stdio.h>

#include "backend.h"
#include "comm.h"
#include "error.h"

#ifndef NNDL_BUILD_CUDA
#define NNDL_BUILD_CUDA 0
#endif
#if NNDL_BUILD_NCCL
#define NNDL_BUILD_NCCL_TEXT " with NCCL"
#else
#define NNDL_BUILD_NCCL_TEXT " without NCCL"
#endif
#if NNDL_BUILD_CUDNN
#define NNDL_BUILD_CUDNN_TEXT ", cuDNN convolutions"
#else
#define NNDL_BUILD_CUDNN_TEXT ", im2col convolutions (no cuDNN)"
#endif

void build_info(char *buf, size_t size)
{
#if NNDL_BUILD_CUDA
    const char *cuda = "cuda backend for " NNDL_CUDA_ARCHS NNDL_BUILD_NCCL_TEXT NNDL_BUILD_CUDNN_TEXT;
#else
    const char *cuda = "no cuda backend (build with `make CUDA=1`)";
#endif
#ifdef __clang__
    const char *compiler = "clang " __clang_version__;
#else
    const char *compiler = "gcc " __VERSION__;
#endif
    snprintf(buf, size, "nndl %s (%s, OpenMP %d; %s)", NNDL_VERSION, compiler, _OPENMP, cuda);
}

void print_build_facts(FILE *out, BackendCreate create)
{
    char line[1024];
    build_info(line, sizeof line);
    fprintf(out, "%s\n", line);
    const char *names[] = {"cpu", "cuda"};
    for (int d = 0; d < 2; d++) {
        Backend *be = create(names[d]);
        if (be) be->describe(be, line, sizeof line);
        else snprintf(line, sizeof line, "%s: unavailable: %s", names[d], nndl_last_error());
        fprintf(out, "%s\n", line);
        backend_destroy(be);
    }
    const char *mpi = comm_mpi_version();
    if (mpi) fprintf(out, "mpi: %s (data-parallel: mpirun -np N nndl train ...)\n", mpi);
    else fprintf(out, "mpi: not in this build (install libopenmpi-dev and build with `make MPI=1`)\n");
}
