// simt_api.cpp — the CUDA runtime subset of the SIMT host: device memory with guard zones (checked
// after every launch), the sticky error and its messages, and events. See simt.h.
#include "simt.h"
#include "simt_internal.h"

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace simt {

// ---- errors --------------------------------------------------------------------------------

static std::mutex error_mutex;
static cudaError_t sticky_error = cudaSuccess;
static std::string last_message;

void report(cudaError_t e, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    std::lock_guard<std::mutex> g(error_mutex);
    if (sticky_error == cudaSuccess) sticky_error = e;
    last_message = buf;
    fprintf(stderr, "simt: %s\n", buf);
}

// ---- counters ----------------------------------------------------------------------------------

// Part of the runtime's state, as a profiler's counts would be; atomic so that a test reading
// them never races with a launch.
static std::atomic<unsigned long> n_h2d, n_h2d_bytes, n_d2h, n_d2h_bytes, n_d2d, n_syncs, n_launches,
    n_allocs, n_frees, n_graph_launches, n_blas_calls;
static std::atomic<int> device_count{1};

void count_launch() { n_launches++; }
void count_graph_launch() { n_graph_launches++; }
void count_blas_call() { n_blas_calls++; }

Counters counters()
{
    return Counters{n_h2d, n_h2d_bytes, n_d2h,    n_d2h_bytes, n_d2d,           n_syncs,
                    n_launches, n_allocs, n_frees, n_graph_launches, n_blas_calls};
}

void reset_counters()
{
    for (auto *c : {&n_h2d, &n_h2d_bytes, &n_d2h, &n_d2h_bytes, &n_d2d, &n_syncs, &n_launches, &n_allocs, &n_frees,
                    &n_graph_launches, &n_blas_calls})
        *c = 0;
}

void set_device_count(int n) { device_count = n; }

// ---- device memory with guard zones --------------------------------------------------------

static const size_t GUARD = 64;
static const unsigned char GUARD_BYTE = 0xA5;
static std::mutex memory_mutex;
static std::map<unsigned char *, size_t> live; // user pointer -> requested bytes

static size_t padded(size_t bytes) { return (bytes + GUARD - 1) / GUARD * GUARD; }

// Verifies (and re-arms) the zones before and after one allocation.
static bool guards_intact(unsigned char *user, size_t bytes)
{
    unsigned char *lo = user - GUARD, *hi = user + bytes, *end = user + padded(bytes) + GUARD;
    bool ok = true;
    for (unsigned char *p = lo; p < user; p++) ok &= *p == GUARD_BYTE;
    for (unsigned char *p = hi; p < end; p++) ok &= *p == GUARD_BYTE;
    if (!ok) {
        std::memset(lo, GUARD_BYTE, GUARD);
        std::memset(hi, GUARD_BYTE, (size_t)(end - hi));
    }
    return ok;
}

void check_all_guards(const char *kernel)
{
    std::lock_guard<std::mutex> g(memory_mutex);
    for (auto &a : live)
        if (!guards_intact(a.first, a.second))
            report(cudaErrorIllegalAddress,
                   "kernel %s wrote outside a %zu-byte device allocation (within %zu bytes "
                   "before its start or after its end)", kernel, a.second, GUARD);
}

} // namespace simt

// ---- runtime API ------------------------------------------------------------------------------

using namespace simt;

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    if (!p) return cudaErrorInvalidValue;
    if (capture_forbids("cudaMalloc")) return cudaErrorStreamCaptureUnsupported;
    n_allocs++;
    unsigned char *raw = static_cast<unsigned char *>(std::malloc(padded(bytes) + 2 * GUARD));
    if (!raw) {
        *p = nullptr;
        return cudaErrorMemoryAllocation;
    }
    unsigned char *user = raw + GUARD;
    std::memset(raw, GUARD_BYTE, GUARD);
    std::memset(user + bytes, GUARD_BYTE, padded(bytes) - bytes + GUARD);
    std::lock_guard<std::mutex> g(memory_mutex);
    live[user] = bytes;
    *p = user;
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    if (!p) return cudaSuccess;
    if (capture_forbids("cudaFree")) return cudaErrorStreamCaptureUnsupported;
    n_frees++;
    unsigned char *user = static_cast<unsigned char *>(p);
    std::lock_guard<std::mutex> g(memory_mutex);
    auto it = live.find(user);
    if (it == live.end()) return cudaErrorInvalidValue;
    if (!guards_intact(user, it->second))
        report(cudaErrorIllegalAddress, "cudaFree: a %zu-byte allocation was written out of bounds",
               it->second);
    live.erase(it);
    std::free(user - GUARD);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    if (bytes && (!dst || !src)) return cudaErrorInvalidValue;
    if (capture_forbids("cudaMemcpy")) return cudaErrorStreamCaptureUnsupported;
    if (kind == cudaMemcpyHostToDevice) n_h2d++, n_h2d_bytes += bytes;
    if (kind == cudaMemcpyDeviceToHost) n_d2h++, n_d2h_bytes += bytes;
    if (kind == cudaMemcpyDeviceToDevice) n_d2d++;
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t)
{
    if (bytes && (!dst || !src)) return cudaErrorInvalidValue;
    if (kind != cudaMemcpyDeviceToDevice) return cudaErrorInvalidValue; /* host memory: not modelled */
    if (!simt::capturing()) n_d2d++; /* counted when issued, as kernel launches are */
    simt::device_work([=] {
        if (bytes) std::memmove(dst, src, bytes);
    });
    return cudaSuccess;
}

cudaError_t cudaMemset(void *p, int value, size_t bytes)
{
    if (bytes && !p) return cudaErrorInvalidValue;
    if (capture_forbids("cudaMemset")) return cudaErrorStreamCaptureUnsupported;
    if (bytes) std::memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    if (capture_forbids("cudaDeviceSynchronize")) return cudaErrorStreamCaptureUnsupported;
    n_syncs++;
    std::lock_guard<std::mutex> g(error_mutex);
    return sticky_error;
}

cudaError_t cudaStreamSynchronize(cudaStream_t)
{
    if (capture_forbids("cudaStreamSynchronize")) return cudaErrorStreamCaptureUnsupported;
    n_syncs++;
    std::lock_guard<std::mutex> g(error_mutex);
    return sticky_error;
}

cudaError_t cudaPeekAtLastError(void)
{
    std::lock_guard<std::mutex> g(error_mutex);
    return sticky_error;
}

cudaError_t cudaGetLastError(void)
{
    std::lock_guard<std::mutex> g(error_mutex);
    cudaError_t e = sticky_error;
    sticky_error = cudaSuccess;
    return e;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    }
    return "unknown error";
}

cudaError_t cudaGetDeviceCount(int *n)
{
    int count = device_count; // 1: the SIMT host itself, unless a test says otherwise
    *n = count < 0 ? 0 : count;
    return count < 0 ? cudaErrorNoDevice : cudaSuccess;
}

struct SimtEvent {
    std::chrono::steady_clock::time_point t;
};

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    *e = new SimtEvent;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t)
{
    e->t = std::chrono::steady_clock::now(); // launches are synchronous on the host
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    delete e;
    return cudaSuccess;
}

namespace simt {
const char *last_report_cstr()
{
    static thread_local std::string copy;
    std::lock_guard<std::mutex> g(error_mutex);
    copy = last_message;
    return copy.c_str();
}
} // namespace simt
