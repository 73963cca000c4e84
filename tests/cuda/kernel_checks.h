/* kernel_checks.h — C entry points to the test kernels of kernel_checks.cu. Each runs its
 * kernel on the SIMT host (normal builds) or on the GPU (CUDA=1 builds), copies the result back
 * and returns 0, or a CUDA error code with kc_last_error() saying what happened. */
#ifndef NNDL_KERNEL_CHECKS_H
#define NNDL_KERNEL_CHECKS_H

#ifdef __cplusplus
extern "C" {
#endif

int kc_on_simt_host(void);          /* 1: kernels run on the CPU; 0: on a GPU */
int kc_schedule_count(void);        /* thread orders to try: 3 on the SIMT host, 1 on a GPU */
const char *kc_use_schedule(int i); /* selects one and returns its name */
void kc_reset_schedule(void);       /* back to the one the process started in */
const char *kc_last_error(void);

/* The SIMT runtime's counters (simt::counters): 0 and *c filled on the SIMT host, -1 on a GPU,
 * where nothing counts them. */
typedef struct KcCounters {
    unsigned long h2d, h2d_bytes, d2h, d2h_bytes, d2d, syncs, launches, allocs, frees;
    unsigned long graph_launches, blas_calls;
} KcCounters;
int kc_counters(KcCounters *c);
void kc_reset_counters(void);
/* What cudaGetDeviceCount answers from now on (n < 0: an error); 0 on the SIMT host, -1 on a GPU. */
int kc_set_device_count(int n);

/* Per-block sums of x with a shared-memory tree reduction (block of 256 threads). */
int kc_block_sums(float *partials, const float *x, int n);
/* The same with the __syncthreads() after the loads left out: a planted bug. */
int kc_block_sums_missing_sync(float *partials, const float *x, int n);
/* Warp shuffles: total (shfl_down + float atomicAdd), per-thread warp totals (shfl_xor),
 * per-warp count of positive values (ballot), lane 0 value broadcast (shfl). */
int kc_warp_ops(float *total, float *warp_total, int *positive_count, float *broadcast,
                const float *x, int n);
/* Inclusive prefix sums within each warp (shfl_up), and per warp whether any / all values are
 * positive (__any_sync, __all_sync); blocks of 64. */
int kc_warp_scan_votes(float *scan, int *any_positive, int *all_positive, const float *x, int n);
/* The math intrinsics kernels use, elementwise: out[5i..5i+4] = __expf(x), rsqrtf(|x|+1),
 * __fdividef(x, 3), fmaxf(x, 0.5), __saturatef(x). */
int kc_intrinsics(float *out, const float *x, int n);
/* Milliseconds between two events around a kernel launch (>= 0). */
int kc_event_elapsed(float *ms);
/* Histogram of values into nbins with integer atomicAdd, and the max with atomicMax. */
int kc_histogram(int *bins, int *max_value, const int *values, int n, int nbins);
/* blocks x threads threads each atomicAdd 1 to one int (*count) and 1.0f to one float (*fsum),
 * rounds times, keeping the returned old values in tickets / fold (blocks*threads*rounds). */
int kc_contended_add(int *count, float *fsum, int *tickets, float *fold, int blocks, int threads, int rounds);
/* out (cols x rows) = in (rows x cols)ᵀ through a padded 32x33 shared tile. */
int kc_transpose(float *out, const float *in, int rows, int cols);
/* Reverses each block's slice of x through dynamic shared memory. */
int kc_block_reverse(float *out, const float *x, int n, int block);
/* Writes x + 1000 y + 1000000 z at every cell of an nx*ny*nz grid from a 3-D launch with
 * blocks of (bx, by, bz); out is pre-filled by the caller to detect missed cells. */
int kc_index3d(int *out, int nx, int ny, int nz, int bx, int by, int bz);
/* Planted bugs and bad launches, reported rather than silently wrong or hung. */
int kc_write_past_end(int n);             /* a bounds check off by one */
int kc_divergent_syncthreads(void);       /* __syncthreads() inside if (threadIdx.x < 16) */
/* A kernel launched without reaching its barrier, then with it: the second launch's result. */
int kc_barrier_after_barrier_free_launch(void);
int kc_launch_too_many_threads(void);     /* a block of 2048 threads */

/* Graphs: a kernel that adds 1 to each of n ints and an sgemm recorded once on the captured stream
 * (nothing runs while recording: *during_capture gets x[0] read after the capture), then the
 * graph launched `replays` times; x comes back. */
int kc_graph_replay(int *x, int n, int *during_capture, int replays);
/* A cudaMemcpy during a capture: fails, and the capture's end reports it invalidated; returns
 * the end's error code (cudaErrorStreamCaptureInvalidated expected), kc_last_error the words. */
int kc_capture_with_sync(void);

/* cuBLAS: C = alpha op(A) op(B) + beta C on the device; matrices column-major as given. */
int kc_sgemm(int transa, int transb, int m, int n, int k, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
int kc_sgemm_strided_batched(int transa, int transb, int m, int n, int k, float alpha,
                             const float *A, int lda, long long sa, const float *B, int ldb,
                             long long sb, float beta, float *C, int ldc, long long sc, int batch);
int kc_sgeam(int transa, int transb, int m, int n, float alpha, const float *A, int lda,
             float beta, const float *B, int ldb, float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
