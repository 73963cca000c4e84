// cuda_info.cu — which GPU the cuda backend runs on, and whether this build carries code for it.
// A binary built for other architectures would otherwise fail at its first launch with
// "invalid device function"; the probe asks first and says how to rebuild.
#include <stdio.h>

#include "cuda_ops.h"
#include "error.h"

#ifndef NNDL_CUDA_ARCHS
#define NNDL_CUDA_ARCHS "nvcc's default"
#endif

#ifdef NNDL_SIMT_HOST

void cuda_describe(const Backend *be, char *buf, size_t size)
{
    (void)be;
    snprintf(buf, size, "cuda: SIMT host (the CUDA kernel source run on the CPU, cuBLAS calls "
                        "served on the host; no GPU timings)");
}

int cuda_check_device(void) { return NNDL_OK; }

#else

static __global__ void arch_probe_kernel(int *flag)
{
    if (flag) *flag = 1;
}

void cuda_describe(const Backend *be, char *buf, size_t size)
{
    char conv_engine[48] = "im2col + cuBLAS";
#if NNDL_CUDNN_ENGINE
    size_t v = cudnn_version_number();
    if (be && cuda_ctx(be)->cudnn) snprintf(conv_engine, sizeof conv_engine, "cuDNN %zu.%zu", v / 10000, v / 100 % 100);
#else
    (void)be;
#endif
    int dev = 0, driver = 0, runtime = 0;
    cudaDeviceProp p;
    size_t free_bytes = 0, total = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
        snprintf(buf, size, "cuda: device properties unavailable");
        return;
    }
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    cudaMemGetInfo(&free_bytes, &total);
    snprintf(buf, size,
             "cuda: %s (compute capability %d.%d, %d SMs), %.1f GiB (%.1f free), driver %d.%d, "
             "runtime %d.%d; built for %s; convolutions %s",
             p.name, p.major, p.minor, p.multiProcessorCount, total / 1073741824.0,
             free_bytes / 1073741824.0, driver / 1000, driver % 1000 / 10, runtime / 1000,
             runtime % 1000 / 10, NNDL_CUDA_ARCHS, conv_engine);
}

int cuda_check_device(void)
{
    cudaFuncAttributes attr;
    cudaError_t e = cudaFuncGetAttributes(&attr, arch_probe_kernel);
    if (e == cudaSuccess) return NNDL_OK;
    cudaGetLastError(); // clear it: the failure is reported here, not at the next call
    int dev = 0;
    cudaDeviceProp p;
    cudaGetDevice(&dev);
    if (cudaGetDeviceProperties(&p, dev) != cudaSuccess)
        return nndl_fail("cuda: cannot query the GPU (%s)", cudaGetErrorString(e));
    return nndl_fail("cuda: this nndl carries GPU code for %s, but the GPU is %s (compute "
                     "capability %d.%d): rebuild with `make CUDA=1 CUDA_ARCH=%d%d` (%s)",
                     NNDL_CUDA_ARCHS, p.name, p.major, p.minor, p.major, p.minor, cudaGetErrorString(e));
}

#endif
