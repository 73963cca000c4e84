/* simt.h — runs CUDA kernel source on the CPU (the "SIMT host").
 *
 * Included instead of the CUDA runtime when a .cu file is compiled by the host C++ compiler
 * (cuda_compat.h decides). Blocks run in turn; the threads of a block run as real threads of a
 * pool, with a barrier for __syncthreads(). `__shared__` becomes `static`: since only one block
 * runs at a time, one static per kernel is exactly "shared by the threads of the block".
 *
 * What it proves: kernel logic, indexing, synchronisation, warp-synchronous code and cuBLAS
 * usage. What it does not: GPU speed, or GPU memory-model behaviour beyond what real threads on
 * a CPU exhibit. Errors a GPU would hide or crash on are reported instead: __syncthreads() from
 * divergent code, writes past the end of a cudaMalloc'd buffer, bad launch configurations. */
#ifndef NNDL_SIMT_H
#define NNDL_SIMT_H

#ifdef __CUDACC__
#error "simt.h stands in for the CUDA runtime on the CPU; nvcc builds use the real runtime"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#define NNDL_SIMT_HOST 1

/* ---- CUDA C++ keywords ------------------------------------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
typedef dim3 uint3;

/* ---- runtime API subset ------------------------------------------------------------------ */
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorNoDevice = 100,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchFailure = 719,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
};
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
typedef struct SimtStream *cudaStream_t;
typedef struct SimtEvent *cudaEvent_t;
/* The per-thread default stream, which (unlike the legacy stream 0) may be captured. On the SIMT
 * host every stream runs its work at once, in order, unless it is capturing. */
#define cudaStreamPerThread ((cudaStream_t)0x2)

cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T> cudaError_t cudaMalloc(T **p, size_t bytes)
{
    return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
/* Device-to-device only: queued on the stream like a kernel, so a capture records it. */
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = 0);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaGetLastError(void);   /* returns and clears the sticky error */
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaStreamSynchronize(cudaStream_t s);

/* ---- graphs: stream capture, instantiation, replay ----------------------------------------
 * While a stream captures, kernel launches and cuBLAS calls on it are recorded instead of run;
 * cudaGraphLaunch replays the record. As on a GPU in global capture mode, a call that would
 * synchronise or allocate during a capture (cudaMemcpy, cudaMalloc, cudaFree,
 * cudaDeviceSynchronize, cudaStreamSynchronize) fails with cudaErrorStreamCaptureUnsupported
 * and invalidates the capture, whose end then fails with cudaErrorStreamCaptureInvalidated. */
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};
enum cudaStreamCaptureStatus {
    cudaStreamCaptureStatusNone = 0,
    cudaStreamCaptureStatusActive = 1,
    cudaStreamCaptureStatusInvalidated = 2,
};
typedef struct SimtGraph *cudaGraph_t;
typedef struct SimtGraphExec *cudaGraphExec_t;
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

/* ---- the host runtime ---------------------------------------------------------------------- */
namespace simt {

/* How the threads of a block are interleaved. Concurrent: real threads, the OS decides.
 * Ascending / Descending: still real threads, but one runs at a time, in thread order, until it
 * waits at a barrier or exits; a kernel that is right under every order is free of the races a
 * missing __syncthreads() causes, and one that is wrong fails the same way on every run. */
enum class Schedule { Concurrent, Ascending, Descending };
void set_schedule(Schedule s);
Schedule schedule();
/* The order a process starts in: ascending (fibers), or concurrent in sanitizer builds. */
Schedule default_schedule();

struct ThreadState {
    dim3 thread_idx, block_idx, block_dim, grid_dim;
    unsigned linear;   /* threadIdx flattened x-fastest, as CUDA numbers lanes */
    struct Block *block;
};
ThreadState &self();

/* kernel identifies the kernel function: once a launch of it under the concurrent or ascending
 * schedule reached no barrier (__syncthreads, warp exchange or vote), its later blocks run their threads
 * one after another on the launching thread (as the ascending schedule would, without 256 OS
 * threads per block); a barrier reached then is reported as a launch failure. */
void launch(dim3 grid, dim3 block, size_t dynamic_shared, const char *kernel_name, const void *kernel,
            const std::function<void()> &body);
void *dynamic_shared();
/* Device work (a kernel's blocks, a cuBLAS call): run now, or recorded while a capture is
 * active (simt_graph.cpp). */
void device_work(const std::function<void()> &work);
/* A cuBLAS call issued by the host (counted; the call's work goes through device_work). */
void count_blas_call();

/* The host side of NNDL_LAUNCH: the arguments are evaluated once, here, as a <<< >>> launch
 * evaluates them, and every thread of every block calls the kernel with copies of them. */
template <class... Params, class... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t dynamic_shared,
                   const char *name, Args... args)
{
    launch(grid, block, dynamic_shared, name, (const void *)kernel, [=] { kernel(args...); });
}

void syncthreads(const char *file, int line);
/* Every lane of the warp publishes `mine`; returns the value published by lane `src` (or
 * `mine` when src is outside the warp or the block). Two warp barriers around the exchange give
 * warp-synchronous semantics. */
uint64_t warp_exchange(uint64_t mine, int src, const char *file, int line);
/* Every lane publishes a bit; all receive the 32-bit vote. */
unsigned warp_vote(bool bit, const char *file, int line);
unsigned lane_id();

/* Records a kernel error (first one wins) and prints it: the host's "device fault". */
void report(cudaError_t e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last reported message (for tests that plant bugs). */
const char *last_report_cstr();

/* What the runtime was asked to do, for tests that check how much a step costs: copies by
 * direction (count and bytes), explicit device synchronisations, kernel launches issued by the
 * host (a replayed graph's kernels are not launches), graph launches, cuBLAS calls issued by the
 * host (run or captured), and device allocations since the last reset. */
struct Counters {
    unsigned long h2d, h2d_bytes, d2h, d2h_bytes, d2d, syncs, launches, allocs, frees;
    unsigned long graph_launches, blas_calls;
};
Counters counters();
void reset_counters();
/* What cudaGetDeviceCount reports from now on: n >= 0 devices (1 at start: the host itself), or
 * n < 0 for cudaErrorNoDevice, so the tests can see how a machine without a GPU is handled. */
void set_device_count(int n);

template <class T> uint64_t to_bits(T v)
{
    static_assert(sizeof(T) <= 8, "warp exchange carries at most 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof v);
    return b;
}
template <class T> T from_bits(uint64_t b)
{
    T v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}
} // namespace simt

#define threadIdx (simt::self().thread_idx)
#define blockIdx (simt::self().block_idx)
#define blockDim (simt::self().block_dim)
#define gridDim (simt::self().grid_dim)
#define warpSize 32

#define __syncthreads() simt::syncthreads(__FILE__, __LINE__)
#define __syncwarp(...) ((void)simt::warp_vote(true, __FILE__, __LINE__))

/* ---- warp shuffles and votes (full participation of the warp's lanes) ---------------------- */
template <class T> T simt_shfl(T v, int src, const char *f, int l)
{
    return simt::from_bits<T>(simt::warp_exchange(simt::to_bits(v), src, f, l));
}
/* Source lane for each shuffle kind within segments of `width` lanes; -1 keeps one's own. */
inline int simt_src_down(unsigned d, int w)
{
    int lane = (int)simt::lane_id();
    return (lane % w) + (int)d < w ? lane + (int)d : -1;
}
inline int simt_src_up(unsigned d, int w)
{
    int lane = (int)simt::lane_id();
    return (lane % w) >= (int)d ? lane - (int)d : -1;
}
inline int simt_src_xor(int m, int w)
{
    int lane = (int)simt::lane_id(), src = lane ^ m;
    return src / w == lane / w ? src : -1;
}
inline int simt_src_idx(int s, int w) { return ((int)simt::lane_id() / w) * w + s % w; }

#define __shfl_sync(mask, v, s, ...) simt_shfl((v), simt_src_idx((s), simt_width(__VA_ARGS__)), __FILE__, __LINE__)
#define __shfl_down_sync(mask, v, d, ...) simt_shfl((v), simt_src_down((d), simt_width(__VA_ARGS__)), __FILE__, __LINE__)
#define __shfl_up_sync(mask, v, d, ...) simt_shfl((v), simt_src_up((d), simt_width(__VA_ARGS__)), __FILE__, __LINE__)
#define __shfl_xor_sync(mask, v, m, ...) simt_shfl((v), simt_src_xor((m), simt_width(__VA_ARGS__)), __FILE__, __LINE__)
inline int simt_width(int w = 32) { return w; }
#define __ballot_sync(mask, p) simt::warp_vote((p) != 0, __FILE__, __LINE__)
#define __any_sync(mask, p) (simt::warp_vote((p) != 0, __FILE__, __LINE__) != 0)
#define __all_sync(mask, p) (simt::warp_vote(!(p), __FILE__, __LINE__) == 0u)

/* ---- atomics (sequentially consistent; return the old value, as CUDA's do) ---------------- */
template <class T> T atomicAdd(T *a, T v) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); }
/* Floating-point adds as a compare-and-swap loop on the bit pattern, as GPUs without native
 * float atomics do it. */
template <class F, class Bits> F simt_atomic_add_float(F *a, F v)
{
    Bits *bits = reinterpret_cast<Bits *>(a);
    Bits old = __atomic_load_n(bits, __ATOMIC_SEQ_CST), desired;
    do {
        desired = (Bits)simt::to_bits(simt::from_bits<F>(old) + v);
    } while (!__atomic_compare_exchange_n(bits, &old, desired, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    return simt::from_bits<F>(old);
}
inline float atomicAdd(float *a, float v) { return simt_atomic_add_float<float, uint32_t>(a, v); }
inline double atomicAdd(double *a, double v) { return simt_atomic_add_float<double, uint64_t>(a, v); }
template <class T> T atomicSub(T *a, T v) { return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST); }
template <class T> T atomicExch(T *a, T v) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); }
template <class T> T atomicCAS(T *a, T cmp, T v)
{
    __atomic_compare_exchange_n(a, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}
template <class T> T atomicMax(T *a, T v)
{
    T old = __atomic_load_n(a, __ATOMIC_SEQ_CST);
    while (old < v && !__atomic_compare_exchange_n(a, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
template <class T> T atomicMin(T *a, T v)
{
    T old = __atomic_load_n(a, __ATOMIC_SEQ_CST);
    while (old > v && !__atomic_compare_exchange_n(a, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}

/* ---- math intrinsics ------------------------------------------------------------------------ */
using std::max;
using std::min;
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
inline float __int_as_float(int i) { return simt::from_bits<float>((uint32_t)i); }
inline int __float_as_int(float f) { return (int)(uint32_t)simt::to_bits(f); }
inline unsigned __popc(unsigned x) { return (unsigned)__builtin_popcount(x); }

#endif
