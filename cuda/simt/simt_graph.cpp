// simt_graph.cpp — CUDA graphs on the SIMT host: stream capture records device work (kernel
// launches, cuBLAS calls) instead of running it, instantiation copies the record, and a graph
// launch replays it in order. One capture at a time (the host runs one stream); see simt.h for
// the calls a capture refuses.
#include "simt.h"
#include "simt_internal.h"

#include <mutex>
#include <vector>

struct SimtGraph {
    std::vector<std::function<void()>> work;
};
struct SimtGraphExec {
    std::vector<std::function<void()>> work;
};

namespace simt {

static std::recursive_mutex capture_mutex;
static bool active = false, invalidated = false;
static std::vector<std::function<void()>> recording;

bool capturing()
{
    std::lock_guard<std::recursive_mutex> g(capture_mutex);
    return active;
}

bool capture_forbids(const char *call)
{
    std::lock_guard<std::recursive_mutex> g(capture_mutex);
    if (!active) return false;
    invalidated = true;
    report(cudaErrorStreamCaptureUnsupported, "%s during a stream capture: it would synchronise or allocate, "
           "which a captured graph cannot do (the capture is invalidated)", call);
    return true;
}

void device_work(const std::function<void()> &work)
{
    {
        std::lock_guard<std::recursive_mutex> g(capture_mutex);
        if (active) {
            recording.push_back(work);
            return;
        }
    }
    work();
}

} // namespace simt

using namespace simt;

static bool capturable(cudaStream_t s) { return s == cudaStreamPerThread || (s != nullptr && s != (cudaStream_t)0x1); }

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode)
{
    std::lock_guard<std::recursive_mutex> g(capture_mutex);
    // the legacy default stream (0, or cudaStreamLegacy) cannot be captured on a GPU either
    if (!capturable(s) || active) return cudaErrorStreamCaptureUnsupported;
    active = true, invalidated = false;
    recording.clear();
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph)
{
    std::lock_guard<std::recursive_mutex> g(capture_mutex);
    if (!capturable(s) || !active || !graph) return cudaErrorInvalidValue;
    active = false;
    *graph = nullptr;
    if (invalidated) {
        recording.clear();
        return cudaErrorStreamCaptureInvalidated;
    }
    *graph = new SimtGraph{std::move(recording)};
    recording.clear();
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus *status)
{
    std::lock_guard<std::recursive_mutex> g(capture_mutex);
    *status = !active ? cudaStreamCaptureStatusNone
                      : invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long)
{
    if (!exec || !graph) return cudaErrorInvalidValue;
    *exec = new SimtGraphExec{graph->work};
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s)
{
    if (!exec) return cudaErrorInvalidValue;
    if (capture_forbids("cudaGraphLaunch")) return cudaErrorStreamCaptureUnsupported;
    (void)s;
    count_graph_launch();
    for (auto &w : exec->work) w();
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
    delete exec;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    delete graph;
    return cudaSuccess;
}
