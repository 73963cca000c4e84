// kernel_checks.cu — small kernels that exercise each feature of the SIMT host (and, built with
// nvcc, of a real GPU): shared-memory reduction, warp shuffles and votes, atomics, a tiled
// transpose, dynamic shared memory, 3-D odd-sized grids, cuBLAS; plus planted bugs.
#include "cuda_compat.h"

#include <string.h>

#include "kernel_checks.h"

static char last_error[512];

static int finish(void)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
#ifdef NNDL_SIMT_HOST
    snprintf(last_error, sizeof last_error, "%s: %s", cudaGetErrorString(e), simt::last_report_cstr());
#else
    snprintf(last_error, sizeof last_error, "%s", cudaGetErrorString(e));
#endif
    return (int)e;
}

extern "C" const char *kc_last_error(void) { return last_error; }

#ifdef NNDL_SIMT_HOST
extern "C" int kc_counters(KcCounters *c)
{
    simt::Counters k = simt::counters();
    *c = KcCounters{k.h2d,      k.h2d_bytes, k.d2h,   k.d2h_bytes,      k.d2d,       k.syncs,
                    k.launches, k.allocs,    k.frees, k.graph_launches, k.blas_calls};
    return 0;
}
extern "C" void kc_reset_counters(void) { simt::reset_counters(); }
extern "C" int kc_set_device_count(int n)
{
    simt::set_device_count(n);
    return 0;
}
#else
extern "C" int kc_counters(KcCounters *) { return -1; }
extern "C" void kc_reset_counters(void) {}
extern "C" int kc_set_device_count(int) { return -1; }
#endif

// Device buffer holding a copy of host data (or zeros), freed by its destructor.
template <class T> struct DeviceBuffer {
    T *p = nullptr;
    size_t n;
    explicit DeviceBuffer(size_t count, const T *host = nullptr) : n(count)
    {
        CUDA_CHECK(cudaMalloc(&p, n * sizeof(T) + (n == 0)));
        if (host) CUDA_CHECK(cudaMemcpy(p, host, n * sizeof(T), cudaMemcpyHostToDevice));
        else CUDA_CHECK(cudaMemset(p, 0, n * sizeof(T)));
    }
    void to_host(T *dst) const { CUDA_CHECK(cudaMemcpy(dst, p, n * sizeof(T), cudaMemcpyDeviceToHost)); }
    ~DeviceBuffer() { cudaFree(p); }
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer &operator=(const DeviceBuffer &) = delete;
};

// ---- shared-memory tree reduction ---------------------------------------------------------

#define REDUCE_BLOCK 256

__global__ void block_sum_kernel(float *partials, const float *x, int n)
{
    __shared__ float buf[REDUCE_BLOCK];
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    buf[t] = i < n ? x[i] : 0.0f;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }
    if (t == 0) partials[blockIdx.x] = buf[0];
}

// Planted bug: the loads are not fenced from the first reads of other threads' slots.
__global__ void block_sum_missing_sync_kernel(float *partials, const float *x, int n)
{
    __shared__ float buf[REDUCE_BLOCK];
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    buf[t] = i < n ? x[i] : 0.0f;
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }
    if (t == 0) partials[blockIdx.x] = buf[0];
}

static int block_sums(bool planted_bug, float *partials, const float *x, int n)
{
    unsigned blocks = nndl_blocks((size_t)n, REDUCE_BLOCK);
    DeviceBuffer<float> dx((size_t)n, x), dp(blocks);
    if (planted_bug) NNDL_LAUNCH(block_sum_missing_sync_kernel, blocks, REDUCE_BLOCK, 0, dp.p, dx.p, n);
    else NNDL_LAUNCH(block_sum_kernel, blocks, REDUCE_BLOCK, 0, dp.p, dx.p, n);
    int rc = finish();
    dp.to_host(partials);
    return rc;
}

extern "C" int kc_block_sums(float *p, const float *x, int n) { return block_sums(false, p, x, n); }
extern "C" int kc_block_sums_missing_sync(float *p, const float *x, int n) { return block_sums(true, p, x, n); }

// ---- warp shuffles, votes, float atomics ------------------------------------------------------

__global__ void warp_ops_kernel(float *total, float *warp_total, int *positive_count,
                                float *broadcast, const float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % warpSize;
    float v = i < n ? x[i] : 0.0f;
    float down = v, all = v;
    for (int offset = 16; offset > 0; offset >>= 1) down += __shfl_down_sync(0xffffffffu, down, offset);
    for (int mask = 16; mask > 0; mask >>= 1) all += __shfl_xor_sync(0xffffffffu, all, mask);
    unsigned positive = __ballot_sync(0xffffffffu, i < n && v > 0);
    float first = __shfl_sync(0xffffffffu, v, 0);
    if (lane == 0) {
        atomicAdd(total, down);
        positive_count[i / warpSize] = (int)__popc(positive);
    }
    if (i < n) {
        warp_total[i] = all;
        broadcast[i] = first;
    }
}

extern "C" int kc_warp_ops(float *total, float *warp_total, int *positive_count, float *broadcast,
                           const float *x, int n)
{
    const unsigned block = 96; // three full warps
    unsigned blocks = nndl_blocks((size_t)n, block), warps = blocks * block / 32;
    DeviceBuffer<float> dx((size_t)n, x), dt(1), dw((size_t)n), db((size_t)n);
    DeviceBuffer<int> dc(warps);
    NNDL_LAUNCH(warp_ops_kernel, blocks, block, 0, dt.p, dw.p, dc.p, db.p, dx.p, n);
    int rc = finish();
    dt.to_host(total), dw.to_host(warp_total), dc.to_host(positive_count), db.to_host(broadcast);
    return rc;
}

__global__ void fill_for_event_kernel(float *p, int n)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) p[i] = (float)i;
}

// ---- warp scan and votes ------------------------------------------------------------------------

__global__ void warp_scan_votes_kernel(float *scan, int *any_positive, int *all_positive, const float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % warpSize;
    float v = i < n ? x[i] : 0.0f;
    for (int offset = 1; offset < 32; offset <<= 1) {
        float up = __shfl_up_sync(0xffffffffu, v, offset);
        if (lane >= offset) v += up;
    }
    int any = __any_sync(0xffffffffu, i < n && x[i] > 0), all = __all_sync(0xffffffffu, i >= n || x[i] > 0);
    if (i < n) scan[i] = v;
    if (lane == 0) any_positive[i / warpSize] = any, all_positive[i / warpSize] = all;
}

extern "C" int kc_warp_scan_votes(float *scan, int *any_positive, int *all_positive, const float *x, int n)
{
    unsigned blocks = nndl_blocks((size_t)n, 64), warps = blocks * 2;
    DeviceBuffer<float> dx((size_t)n, x), ds((size_t)n);
    DeviceBuffer<int> da(warps), dl(warps);
    NNDL_LAUNCH(warp_scan_votes_kernel, blocks, 64, 0, ds.p, da.p, dl.p, dx.p, n);
    int rc = finish();
    ds.to_host(scan), da.to_host(any_positive), dl.to_host(all_positive);
    return rc;
}

// ---- math intrinsics and events ---------------------------------------------------------------------

__global__ void intrinsics_kernel(float *out, const float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    out[5 * i] = __expf(v);
    out[5 * i + 1] = rsqrtf(fabsf(v) + 1.0f);
    out[5 * i + 2] = __fdividef(v, 3.0f);
    out[5 * i + 3] = fmaxf(v, 0.5f);
    out[5 * i + 4] = __saturatef(v);
}

extern "C" int kc_intrinsics(float *out, const float *x, int n)
{
    DeviceBuffer<float> dx((size_t)n, x), dout((size_t)n * 5);
    NNDL_LAUNCH(intrinsics_kernel, nndl_blocks((size_t)n, 128), 128, 0, dout.p, dx.p, n);
    int rc = finish();
    dout.to_host(out);
    return rc;
}

extern "C" int kc_event_elapsed(float *ms)
{
    cudaEvent_t start, end;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&end));
    DeviceBuffer<float> d(4096);
    CUDA_CHECK(cudaEventRecord(start, 0));
    NNDL_LAUNCH(fill_for_event_kernel, 16, 256, 0, d.p, 4096);
    CUDA_CHECK(cudaEventRecord(end, 0));
    CUDA_CHECK(cudaEventSynchronize(end));
    CUDA_CHECK(cudaEventElapsedTime(ms, start, end));
    CUDA_CHECK(cudaEventDestroy(start));
    CUDA_CHECK(cudaEventDestroy(end));
    return finish();
}

// ---- graphs ------------------------------------------------------------------------------------

__global__ void add_one_kernel(int *x, int n)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] += 1;
}

extern "C" int kc_graph_replay(int *x, int n, int *during_capture, int replays)
{
    DeviceBuffer<int> d(n);
    DeviceBuffer<float> a(4), c(4);
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) return -1;
    CUBLAS_CHECK(cublasSetStream(h, NNDL_STREAM));
    const float one = 1, zero = 0;
    cudaGraph_t g;
    cudaGraphExec_t exec;
    CUDA_CHECK(cudaStreamBeginCapture(NNDL_STREAM, cudaStreamCaptureModeGlobal));
    NNDL_LAUNCH(add_one_kernel, 2, 64, 0, d.p, n);
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a.p, 2, a.p, 2, &zero, c.p, 2));
    CUDA_CHECK(cudaStreamEndCapture(NNDL_STREAM, &g));
    CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
    CUDA_CHECK(cudaMemcpy(during_capture, d.p, sizeof(int), cudaMemcpyDeviceToHost));
    for (int r = 0; r < replays; r++) CUDA_CHECK(cudaGraphLaunch(exec, NNDL_STREAM));
    CUDA_CHECK(cudaStreamSynchronize(NNDL_STREAM));
    d.to_host(x);
    CUDA_CHECK(cudaGraphExecDestroy(exec));
    CUDA_CHECK(cudaGraphDestroy(g));
    cublasDestroy(h);
    return finish();
}

extern "C" int kc_capture_with_sync(void)
{
    DeviceBuffer<int> d(16);
    int host[16];
    cudaGraph_t g = nullptr;
    CUDA_CHECK(cudaStreamBeginCapture(NNDL_STREAM, cudaStreamCaptureModeGlobal));
    NNDL_LAUNCH(add_one_kernel, 1, 16, 0, d.p, 16);
    cudaError_t copy = cudaMemcpy(host, d.p, sizeof host, cudaMemcpyDeviceToHost);
    cudaError_t end = cudaStreamEndCapture(NNDL_STREAM, &g);
    if (g) cudaGraphDestroy(g);
    cudaGetLastError(); // clear the sticky error the refused copy left
#ifdef NNDL_SIMT_HOST
    snprintf(last_error, sizeof last_error, "copy: %s; end: %s; %s", cudaGetErrorString(copy),
             cudaGetErrorString(end), simt::last_report_cstr());
#else
    snprintf(last_error, sizeof last_error, "copy: %s; end: %s", cudaGetErrorString(copy), cudaGetErrorString(end));
#endif
    return copy == cudaSuccess ? 0 : (int)end;
}

// ---- integer atomics ------------------------------------------------------------------------

__global__ void histogram_kernel(int *bins, int *max_value, const int *values, int n, int nbins)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        atomicAdd(&bins[values[i] % nbins], 1);
        atomicMax(max_value, values[i]);
    }
}

extern "C" int kc_histogram(int *bins, int *max_value, const int *values, int n, int nbins)
{
    DeviceBuffer<int> dv((size_t)n, values), db((size_t)nbins), dm(1);
    NNDL_LAUNCH(histogram_kernel, 7, 64, 0, db.p, dm.p, dv.p, n, nbins); // grid-stride loop
    int rc = finish();
    db.to_host(bins), dm.to_host(max_value);
    return rc;
}

// ---- atomics under contention -----------------------------------------------------------------

// Every thread adds 1 to one int and 1.0f to one float, rounds times, and keeps the old values
// atomicAdd returned: with real atomicity they are the tickets 0..total-1, each exactly once.
__global__ void contended_add_kernel(int *count, float *fsum, int *tickets, float *fold, int rounds)
{
    size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (int k = 0; k < rounds; k++) {
        tickets[t * rounds + k] = atomicAdd(count, 1);
        fold[t * rounds + k] = atomicAdd(fsum, 1.0f);
    }
}

extern "C" int kc_contended_add(int *count, float *fsum, int *tickets, float *fold, int blocks, int threads,
                                int rounds)
{
    size_t total = (size_t)blocks * threads * rounds;
    DeviceBuffer<int> dc(1), dt(total);
    DeviceBuffer<float> df(1), dfo(total);
    NNDL_LAUNCH(contended_add_kernel, blocks, threads, 0, dc.p, df.p, dt.p, dfo.p, rounds);
    int rc = finish();
    dc.to_host(count), df.to_host(fsum), dt.to_host(tickets), dfo.to_host(fold);
    return rc;
}

// ---- tiled transpose ----------------------------------------------------------------------------

#define TILE 32
#define TILE_ROWS 8

__global__ void transpose_kernel(float *out, const float *in, int rows, int cols)
{
    __shared__ float tile[TILE][TILE + 1]; // +1: no bank conflicts on the column reads
    int x = blockIdx.x * TILE + threadIdx.x, y = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += TILE_ROWS)
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(size_t)(y + j) * cols + x];
    __syncthreads();
    x = blockIdx.y * TILE + threadIdx.x;
    y = blockIdx.x * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += TILE_ROWS)
        if (x < rows && y + j < cols) out[(size_t)(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
}

extern "C" int kc_transpose(float *out, const float *in, int rows, int cols)
{
    size_t n = (size_t)rows * cols;
    DeviceBuffer<float> di(n, in), dout(n);
    dim3 grid(nndl_blocks((size_t)cols, TILE), nndl_blocks((size_t)rows, TILE)), block(TILE, TILE_ROWS);
    NNDL_LAUNCH(transpose_kernel, grid, block, 0, dout.p, di.p, rows, cols);
    int rc = finish();
    dout.to_host(out);
    return rc;
}

// ---- dynamic shared memory ------------------------------------------------------------------------

__global__ void block_reverse_kernel(float *out, const float *x, int n)
{
    NNDL_DYNAMIC_SHARED(float, slice);
    int t = threadIdx.x, base = blockIdx.x * blockDim.x;
    int valid = min((int)blockDim.x, n - base);
    if (t < valid) slice[t] = x[base + t];
    __syncthreads();
    if (t < valid) out[base + t] = slice[valid - 1 - t];
}

extern "C" int kc_block_reverse(float *out, const float *x, int n, int block)
{
    DeviceBuffer<float> dx((size_t)n, x), dout((size_t)n);
    NNDL_LAUNCH(block_reverse_kernel, nndl_blocks((size_t)n, (unsigned)block), (unsigned)block,
                (size_t)block * sizeof(float), dout.p, dx.p, n);
    int rc = finish();
    dout.to_host(out);
    return rc;
}

// ---- 3-D grids of odd sizes -------------------------------------------------------------------------

__global__ void index3d_kernel(int *out, int nx, int ny, int nz)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    int z = blockIdx.z * blockDim.z + threadIdx.z;
    if (x < nx && y < ny && z < nz) out[((size_t)z * ny + y) * nx + x] = x + 1000 * y + 1000000 * z;
}

extern "C" int kc_index3d(int *out, int nx, int ny, int nz, int bx, int by, int bz)
{
    size_t n = (size_t)nx * ny * nz;
    DeviceBuffer<int> d(n, out);
    dim3 block((unsigned)bx, (unsigned)by, (unsigned)bz);
    dim3 grid(nndl_blocks((size_t)nx, block.x), nndl_blocks((size_t)ny, block.y), nndl_blocks((size_t)nz, block.z));
    NNDL_LAUNCH(index3d_kernel, grid, block, 0, d.p, nx, ny, nz);
    int rc = finish();
    d.to_host(out);
    return rc;
}

// ---- planted bugs and bad launches --------------------------------------------------------------

__global__ void write_past_end_kernel(float *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) out[i] = 1.0f; // should be i < n
}

extern "C" int kc_write_past_end(int n)
{
    DeviceBuffer<float> d((size_t)n);
    NNDL_LAUNCH(write_past_end_kernel, nndl_blocks((size_t)n + 1, 64), 64, 0, d.p, n);
    return finish();
}

__global__ void divergent_sync_kernel(float *out)
{
    if (threadIdx.x < 16) __syncthreads();
    out[threadIdx.x] = 1.0f;
}

extern "C" int kc_divergent_syncthreads(void)
{
    DeviceBuffer<float> d(64);
    NNDL_LAUNCH(divergent_sync_kernel, 1, 64, 0, d.p);
    return finish();
}

// A barrier only when asked: illegal only in spirit on a GPU (uniform), but the SIMT host learns from
// the first launch that the kernel has none and runs the next one's threads one after another.
__global__ void barrier_if_kernel(float *out, int sync)
{
    if (sync) __syncthreads();
    out[threadIdx.x] = 2.0f;
}

extern "C" int kc_barrier_after_barrier_free_launch(void)
{
    DeviceBuffer<float> d(64);
    NNDL_LAUNCH(barrier_if_kernel, 1, 64, 0, d.p, 0);
    int rc = finish();
    if (rc != 0) return -rc; // the first launch must pass
    NNDL_LAUNCH(barrier_if_kernel, 1, 64, 0, d.p, 1);
    return finish();
}

extern "C" int kc_launch_too_many_threads(void)
{
    DeviceBuffer<float> d(64);
    NNDL_LAUNCH(divergent_sync_kernel, 1, 2048, 0, d.p);
    return finish();
}

// ---- cuBLAS -------------------------------------------------------------------------------------------

static cublasOperation_t op(int t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

// Elements a column-major matrix with leading dimension ld and `cols` columns spans.
static size_t span(int ld, int cols) { return (size_t)ld * (size_t)(cols > 0 ? cols : 0); }

extern "C" int kc_sgemm_strided_batched(int ta, int tb, int m, int n, int k, float alpha,
                                        const float *A, int lda, long long sa, const float *B,
                                        int ldb, long long sb, float beta, float *C, int ldc,
                                        long long sc, int batch)
{
    size_t na = (size_t)sa * (batch - 1) + span(lda, ta ? m : k);
    size_t nb = (size_t)sb * (batch - 1) + span(ldb, tb ? k : n);
    size_t nc = (size_t)sc * (batch - 1) + span(ldc, n);
    DeviceBuffer<float> dA(na, A), dB(nb, B), dC(nc, C);
    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    cublasStatus_t st = cublasSgemmStridedBatched(h, op(ta), op(tb), m, n, k, &alpha, dA.p, lda, sa,
                                                  dB.p, ldb, sb, &beta, dC.p, ldc, sc, batch);
    CUBLAS_CHECK(cublasDestroy(h));
    int rc = finish();
    dC.to_host(C);
    return st != CUBLAS_STATUS_SUCCESS ? -(int)st : rc;
}

extern "C" int kc_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc)
{
    size_t na = span(lda, ta ? m : k), nb = span(ldb, tb ? k : n), nc = span(ldc, n);
    DeviceBuffer<float> dA(na, A), dB(nb, B), dC(nc, C);
    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    cublasStatus_t st = cublasSgemm(h, op(ta), op(tb), m, n, k, &alpha, dA.p, lda, dB.p, ldb, &beta,
                                    dC.p, ldc);
    CUBLAS_CHECK(cublasDestroy(h));
    int rc = finish();
    dC.to_host(C);
    return st != CUBLAS_STATUS_SUCCESS ? -(int)st : rc;
}

extern "C" int kc_sgeam(int ta, int tb, int m, int n, float alpha, const float *A, int lda,
                        float beta, const float *B, int ldb, float *C, int ldc)
{
    DeviceBuffer<float> dA(span(lda, ta ? m : n), A), dB(span(ldb, tb ? m : n), B), dC(span(ldc, n));
    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    cublasStatus_t st = cublasSgeam(h, op(ta), op(tb), m, n, &alpha, dA.p, lda, &beta, dB.p, ldb, dC.p, ldc);
    CUBLAS_CHECK(cublasDestroy(h));
    int rc = finish();
    dC.to_host(C);
    return st != CUBLAS_STATUS_SUCCESS ? -(int)st : rc;
}

// ---- where the kernels run --------------------------------------------------------------------------

extern "C" int kc_on_simt_host(void)
{
#ifdef NNDL_SIMT_HOST
    return 1;
#else
    return 0;
#endif
}

extern "C" int kc_schedule_count(void) { return kc_on_simt_host() ? 3 : 1; }

extern "C" const char *kc_use_schedule(int i)
{
#ifdef NNDL_SIMT_HOST
    static const simt::Schedule s[3] = {simt::Schedule::Concurrent, simt::Schedule::Ascending,
                                        simt::Schedule::Descending};
    static const char *const names[3] = {"concurrent", "ascending", "descending"};
    simt::set_schedule(s[i]);
    return names[i];
#else
    (void)i;
    return "gpu";
#endif
}

extern "C" void kc_reset_schedule(void)
{
#ifdef NNDL_SIMT_HOST
    simt::set_schedule(simt::default_schedule());
#endif
}
