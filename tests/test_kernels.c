/* test_kernels.c — the SIMT host's own tests (and, in a CUDA=1 build, the same kernels on the
 * GPU): each kernel's result against a plain CPU computation, under every thread order the
 * host offers; planted bugs must be caught; cuBLAS calls against a plain triple loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/kernel_checks.h"
#include "test_util.h"

/* Runs `check` once per thread order, naming the order when something fails. */
#define FOR_EACH_SCHEDULE(sched_name)                                                              \
    for (int s_ = 0; s_ < kc_schedule_count(); s_++)                                              \
        for (const char *sched_name = kc_use_schedule(s_); sched_name; sched_name = NULL)

static void reset_schedule(void) { kc_reset_schedule(); }

static float *rand_floats(Rng *r, int n)
{
    float *x = malloc((size_t)n * sizeof *x);
    for (int i = 0; i < n; i++) x[i] = (float)rng_gaussian(r);
    return x;
}

static void check_block_sums(int n, const char *sched)
{
    Rng r;
    rng_seed(&r, (uint64_t)n);
    float *x = rand_floats(&r, n);
    int blocks = (n + 255) / 256;
    float *p = calloc((size_t)blocks, sizeof *p);
    CU_ASSERT_EQUAL_FATAL(kc_block_sums(p, x, n), 0);
    for (int b = 0; b < blocks; b++) {
        double want = 0;
        for (int i = b * 256; i < n && i < (b + 1) * 256; i++) want += x[i];
        char what[80];
        snprintf(what, sizeof what, "block %d sum, %s order", b, sched);
        ASSERT_BELOW(fabs(p[b] - want), 1e-4 * (1 + fabs(want)), what);
    }
    free(x), free(p);
}

static void test_shared_memory_reduction(void)
{
    FOR_EACH_SCHEDULE(sched) {
        check_block_sums(1000, sched);
        check_block_sums(256, sched);
        check_block_sums(1, sched);
    }
    reset_schedule();
}

static void test_warp_shuffles(void)
{
    const int n = 1000; /* 11 blocks of 96; the last partly out of range */
    Rng r;
    rng_seed(&r, 9);
    float *x = rand_floats(&r, n), total, *wt = malloc(n * sizeof *wt), *bc = malloc(n * sizeof *bc);
    int warps = (n + 95) / 96 * 3, *pos = calloc((size_t)warps, sizeof *pos);
    FOR_EACH_SCHEDULE(sched) {
        CU_ASSERT_EQUAL_FATAL(kc_warp_ops(&total, wt, pos, bc, x, n), 0);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[i];
        ASSERT_BELOW(fabs(total - sum), 1e-3, "shfl_down total + float atomicAdd");
        for (int w = 0; w < warps; w++) {
            double ws = 0;
            int count = 0;
            for (int i = w * 32; i < n && i < (w + 1) * 32; i++) ws += x[i], count += x[i] > 0;
            CU_ASSERT_EQUAL(pos[w], count); /* ballot + popc */
            for (int i = w * 32; i < n && i < (w + 1) * 32; i++) {
                ASSERT_BELOW(fabs(wt[i] - ws), 1e-4, "shfl_xor all-reduce");
                CU_ASSERT_EQUAL(bc[i], x[w * 32]); /* shfl from lane 0 */
            }
        }
    }
    reset_schedule();
    free(x), free(wt), free(bc), free(pos);
}

static void test_warp_scan_and_votes(void)
{
    const int n = 200; /* 4 blocks of 64: the last warp partly out of range */
    Rng r;
    rng_seed(&r, 19);
    float *x = rand_floats(&r, n), *scan = malloc(n * sizeof *scan);
    for (int i = 64; i < 96; i++) x[i] = fabsf(x[i]) + 0.1f; /* a warp of positives only */
    int warps = 8, any[8], all[8];
    FOR_EACH_SCHEDULE(sched) {
        CU_ASSERT_EQUAL_FATAL(kc_warp_scan_votes(scan, any, all, x, n), 0);
        for (int w = 0; w < warps; w++) {
            double prefix = 0;
            int want_any = 0, want_all = 1;
            for (int i = w * 32; i < (w + 1) * 32 && i < n; i++) {
                prefix += x[i];
                ASSERT_BELOW(fabs(scan[i] - prefix), 1e-4, "shfl_up inclusive scan");
                want_any |= x[i] > 0, want_all &= x[i] > 0;
            }
            if (w * 32 >= n) continue;
            CU_ASSERT_EQUAL(any[w] != 0, want_any);
            CU_ASSERT_EQUAL(all[w] != 0, want_all);
        }
        CU_ASSERT(all[2] != 0); /* the planted all-positive warp */
    }
    reset_schedule();
    free(x), free(scan);
}

static void test_math_intrinsics_and_events(void)
{
    const int n = 300;
    Rng r;
    rng_seed(&r, 20);
    float *x = rand_floats(&r, n), *out = malloc((size_t)n * 5 * sizeof *out);
    CU_ASSERT_EQUAL_FATAL(kc_intrinsics(out, x, n), 0);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double v = x[i], want[5] = {exp(v), 1 / sqrt(fabs(v) + 1), v / 3, fmax(v, 0.5), v < 0 ? 0 : v > 1 ? 1 : v};
        for (int k = 0; k < 5; k++) worst = fmax(worst, fabs(out[5 * i + k] - want[k]) / fmax(1, fabs(want[k])));
    }
    ASSERT_BELOW(worst, 1e-5, "intrinsics vs libm"); /* GPU fast-math intrinsics: a few ulp */
    float ms = -1;
    CU_ASSERT_EQUAL(kc_event_elapsed(&ms), 0);
    CU_ASSERT(ms >= 0 && ms < 10000);
    free(x), free(out);
}

static void test_atomics_histogram(void)
{
    const int n = 10007, nbins = 17;
    Rng r;
    rng_seed(&r, 10);
    int *v = malloc(n * sizeof *v), bins[17], want[17] = {0}, mx = -1, want_mx = 0;
    for (int i = 0; i < n; i++) v[i] = (int)rng_below(&r, 100000), want[v[i] % nbins]++;
    for (int i = 0; i < n; i++) want_mx = v[i] > want_mx ? v[i] : want_mx;
    FOR_EACH_SCHEDULE(sched) {
        CU_ASSERT_EQUAL_FATAL(kc_histogram(bins, &mx, v, n, nbins), 0);
        CU_ASSERT_EQUAL(memcmp(bins, want, sizeof want), 0);
        CU_ASSERT_EQUAL(mx, want_mx);
    }
    reset_schedule();
    free(v);
}

/* Heavy contention on one address: every thread of 64 blocks of 256 hits the same int and
 * float. The counts are exact (integers below 2^24 are exact in float too), and the returned
 * old values are each ticket 0..total-1 exactly once: no update lost, none seen twice. */
static void test_atomics_contention(void)
{
    enum { BLOCKS = 64, THREADS = 256, ROUNDS = 8, TOTAL = BLOCKS * THREADS * ROUNDS };
    int *tickets = malloc(TOTAL * sizeof *tickets), count = -1;
    float *fold = malloc(TOTAL * sizeof *fold), fsum = -1;
    char *seen = malloc(2 * TOTAL);
    FOR_EACH_SCHEDULE(sched) {
        CU_ASSERT_EQUAL_FATAL(kc_contended_add(&count, &fsum, tickets, fold, BLOCKS, THREADS, ROUNDS), 0);
        memset(seen, 0, 2 * TOTAL);
        int bad = 0;
        for (int i = 0; i < TOTAL; i++) {
            int f = (int)fold[i];
            bad += tickets[i] < 0 || tickets[i] >= TOTAL || seen[tickets[i]]++;
            bad += (float)f != fold[i] || f < 0 || f >= TOTAL || seen[TOTAL + f]++;
        }
        if (count != TOTAL || fsum != (float)TOTAL || bad)
            fprintf(stderr, "\n    %s order: count %d, float sum %.1f of %d; %d tickets wrong\n", sched, count,
                    fsum, TOTAL, bad);
        CU_ASSERT(count == TOTAL && fsum == (float)TOTAL && bad == 0);
    }
    reset_schedule();
    free(tickets), free(fold), free(seen);
}

static void test_tiled_transpose(void)
{
    static const int shapes[][2] = {{77, 45}, {32, 32}, {1, 50}, {100, 3}};
    Rng r;
    rng_seed(&r, 11);
    FOR_EACH_SCHEDULE(sched) {
        for (int s = 0; s < 4; s++) {
            int rows = shapes[s][0], cols = shapes[s][1];
            float *in = rand_floats(&r, rows * cols), *out = calloc((size_t)rows * cols, sizeof *out);
            CU_ASSERT_EQUAL_FATAL(kc_transpose(out, in, rows, cols), 0);
            int wrong = 0;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) wrong += out[(size_t)j * rows + i] != in[(size_t)i * cols + j];
            CU_ASSERT_EQUAL(wrong, 0);
            free(in), free(out);
        }
    }
    reset_schedule();
}

static void test_dynamic_shared_memory(void)
{
    const int n = 1000, block = 128;
    Rng r;
    rng_seed(&r, 12);
    float *x = rand_floats(&r, n), *out = calloc(n, sizeof *out);
    FOR_EACH_SCHEDULE(sched) {
        CU_ASSERT_EQUAL_FATAL(kc_block_reverse(out, x, n, block), 0);
        int wrong = 0;
        for (int b = 0; b * block < n; b++) {
            int base = b * block, valid = n - base < block ? n - base : block;
            for (int t = 0; t < valid; t++) wrong += out[base + t] != x[base + valid - 1 - t];
        }
        CU_ASSERT_EQUAL(wrong, 0);
    }
    reset_schedule();
    free(x), free(out);
}

static void test_odd_3d_grids(void)
{
    static const int cases[][6] = {{13, 7, 5, 5, 3, 2}, {1, 1, 1, 1, 1, 1}, {33, 2, 3, 32, 1, 1}};
    FOR_EACH_SCHEDULE(sched) {
        for (int c = 0; c < 3; c++) {
            int nx = cases[c][0], ny = cases[c][1], nz = cases[c][2], n = nx * ny * nz, wrong = 0;
            int *out = malloc((size_t)n * sizeof *out);
            for (int i = 0; i < n; i++) out[i] = -1;
            CU_ASSERT_EQUAL_FATAL(kc_index3d(out, nx, ny, nz, cases[c][3], cases[c][4], cases[c][5]), 0);
            for (int z = 0; z < nz; z++)
                for (int y = 0; y < ny; y++)
                    for (int x = 0; x < nx; x++) wrong += out[(z * ny + y) * nx + x] != x + 1000 * y + 1000000 * z;
            CU_ASSERT_EQUAL(wrong, 0);
            free(out);
        }
    }
    reset_schedule();
}

/* ---- planted bugs: the host must catch them ------------------------------------------------- */

/* On a GPU the planted bugs are not asserted (a race may happen to give the right sum, an
 * off-by-one write may land in padding); with NNDL_GPU_PLANTED=1 they are run anyway so that
 * compute-sanitizer (racecheck, memcheck) can be shown finding them. */
static int gpu_planted_run(void) { return !kc_on_simt_host() && getenv("NNDL_GPU_PLANTED"); }

static void test_planted_missing_syncthreads(void)
{
    if (gpu_planted_run()) kc_block_sums_missing_sync((float[2]){0}, (float[512]){0}, 512);
    if (!kc_on_simt_host()) return; /* on a GPU: compute-sanitizer racecheck's job */
#ifdef __SANITIZE_THREAD__
    return; /* the planted race is real: ThreadSanitizer would (rightly) report it */
#endif
    const int n = 512;
    Rng r;
    rng_seed(&r, 13);
    float *x = rand_floats(&r, n), p[2];
    int caught = 0;
    for (int s = 0; s < kc_schedule_count(); s++) {
        kc_use_schedule(s);
        CU_ASSERT_EQUAL(kc_block_sums_missing_sync(p, x, n), 0);
        for (int b = 0; b < 2; b++) {
            double want = 0;
            for (int i = b * 256; i < (b + 1) * 256; i++) want += x[i];
            caught |= fabs(p[b] - want) > 1e-3;
        }
    }
    reset_schedule();
    CU_ASSERT(caught); /* wrong under at least one thread order, every run */
    free(x);
}

static void test_planted_out_of_range_write(void)
{
    if (gpu_planted_run()) kc_write_past_end(100);
    if (!kc_on_simt_host()) return; /* on a GPU: compute-sanitizer memcheck's job */
    CU_ASSERT_EQUAL(kc_write_past_end(100), 700 /* cudaErrorIllegalAddress */);
    CU_ASSERT_PTR_NOT_NULL(strstr(kc_last_error(), "write_past_end_kernel"));
    CU_ASSERT_EQUAL(kc_block_sums((float[1]){0}, (float[1]){1}, 1), 0); /* error was cleared */
}

static void test_divergent_syncthreads_reported(void)
{
    if (!kc_on_simt_host()) return; /* undefined behaviour on a GPU: may hang */
    FOR_EACH_SCHEDULE(sched) {
        CU_ASSERT_EQUAL(kc_divergent_syncthreads(), 719 /* cudaErrorLaunchFailure */);
        CU_ASSERT_PTR_NOT_NULL(strstr(kc_last_error(), "__syncthreads"));
    }
    reset_schedule();
}

/* The SIMT host runs the threads of a kernel whose first launch reached no barrier one after
 * another; one that reaches a barrier later is reported, not run wrongly or hung. */
static void test_barrier_after_barrier_free_launch(void)
{
    if (!kc_on_simt_host()) return;
    CU_ASSERT_EQUAL(kc_barrier_after_barrier_free_launch(), 719 /* cudaErrorLaunchFailure */);
    CU_ASSERT_PTR_NOT_NULL(strstr(kc_last_error(), "whose earlier launch reached none"));
}

static void test_bad_launch_configuration(void)
{
    /* CUDA 13.0 on an H100 answers cudaErrorInvalidValue (1); older runtimes documented
     * cudaErrorInvalidConfiguration (9). Either way the launch must fail, not run. */
    int rc = kc_launch_too_many_threads();
    CU_ASSERT(rc == 1 || rc == 9);
}

/* ---- cuBLAS semantics --------------------------------------------------------------------------- */

/* C = alpha op(A) op(B) + beta C in double, column-major; beta == 0 ignores C. */
static void gemm_loop(int ta, int tb, int m, int n, int k, double alpha, const float *A, int lda,
                      const float *B, int ldb, double beta, const float *C0, double *C, int ldc)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int l = 0; l < k; l++) {
                double a = ta ? A[l + (size_t)i * lda] : A[i + (size_t)l * lda];
                double b = tb ? B[j + (size_t)l * ldb] : B[l + (size_t)j * ldb];
                s += a * b;
            }
            C[i + (size_t)j * ldc] = alpha * s + (beta == 0 ? 0 : beta * C0[i + (size_t)j * ldc]);
        }
}

static float *filled(Rng *r, size_t n, float nan_fill)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = nan_fill != 0 ? NAN : (float)rng_gaussian(r);
    return x;
}

static void test_cublas_sgemm(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {17, 13, 29}, {64, 33, 1}, {3, 40, 8}};
    static const float scalars[][2] = {{1.5f, 0.0f}, {-0.5f, 2.0f}};
    Rng r;
    rng_seed(&r, 14);
    for (int s = 0; s < 5; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int sc = 0; sc < 2; sc++) {
                    int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
                    float alpha = scalars[sc][0], beta = scalars[sc][1];
                    float *A = filled(&r, (size_t)lda * (ta ? m : k), 0);
                    float *B = filled(&r, (size_t)ldb * (tb ? k : n), 0);
                    /* beta == 0: C starts as NaN, which must not leak into the result */
                    float *C = filled(&r, (size_t)ldc * n, beta == 0);
                    double *want = calloc((size_t)ldc * n, sizeof *want);
                    gemm_loop(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, want, ldc);
                    CU_ASSERT_EQUAL_FATAL(kc_sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc), 0);
                    double worst = 0;
                    for (int j = 0; j < n; j++)
                        for (int i = 0; i < m; i++) {
                            size_t at = i + (size_t)j * ldc;
                            double e = fabs(C[at] - want[at]) / fmax(1, fabs(want[at]));
                            worst = isnan(e) || e > worst ? (isnan(e) ? INFINITY : e) : worst;
                        }
                    char what[96];
                    snprintf(what, sizeof what, "sgemm %c%c m%d n%d k%d beta %g", ta ? 'T' : 'N',
                             tb ? 'T' : 'N', m, n, k, beta);
                    ASSERT_BELOW(worst, 1e-5, what);
                    free(A), free(B), free(C), free(want);
                }
}

static void test_cublas_strided_batched_and_geam(void)
{
    Rng r;
    rng_seed(&r, 15);
    const int m = 6, n = 5, k = 4, batch = 3, lda = 7, ldb = 6, ldc = 6; /* A: N, B: T */
    const long long sa = lda * k + 2, sb = ldb * k + 1, sc = ldc * n;
    float *A = filled(&r, (size_t)sa * batch, 0), *B = filled(&r, (size_t)sb * batch, 0);
    float *C = filled(&r, (size_t)sc * batch, 0), *C0 = malloc((size_t)sc * batch * sizeof *C0);
    memcpy(C0, C, (size_t)sc * batch * sizeof *C);
    double *want = calloc((size_t)sc * batch, sizeof *want);
    for (int b = 0; b < batch; b++)
        gemm_loop(0, 1, m, n, k, 0.75, A + b * sa, lda, B + b * sb, ldb, -1.0, C0 + b * sc, want + b * sc, ldc);
    CU_ASSERT_EQUAL_FATAL(kc_sgemm_strided_batched(0, 1, m, n, k, 0.75f, A, lda, sa, B, ldb, sb,
                                                   -1.0f, C, ldc, sc, batch), 0);
    double worst = 0;
    for (long long i = 0; i < sc * batch; i++) worst = fmax(worst, fabs(C[i] - want[i]));
    ASSERT_BELOW(worst, 1e-5, "sgemm strided batched");

    /* geam: C (m x n) = 2 Aᵀ + (-1) B with A stored (n x m), and with beta 0 and B all NaN */
    float *GA = filled(&r, (size_t)(n + 1) * m, 0), *GB = filled(&r, (size_t)m * n, 0);
    float *NB = filled(&r, (size_t)m * n, 1), *GC = malloc((size_t)m * n * sizeof *GC);
    CU_ASSERT_EQUAL_FATAL(kc_sgeam(1, 0, m, n, 2.0f, GA, n + 1, -1.0f, GB, m, GC, m), 0);
    worst = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
            worst = fmax(worst, fabs(GC[i + j * m] - (2.0 * GA[j + i * (n + 1)] - GB[i + j * m])));
    ASSERT_BELOW(worst, 1e-6, "sgeam transpose-add");
    CU_ASSERT_EQUAL_FATAL(kc_sgeam(1, 0, m, n, 1.0f, GA, n + 1, 0.0f, NB, m, GC, m), 0);
    int wrong = 0;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) wrong += GC[i + j * m] != GA[j + i * (n + 1)];
    CU_ASSERT_EQUAL(wrong, 0); /* beta 0: B never read */

    /* lda smaller than the rows of A: CUBLAS_STATUS_INVALID_VALUE (7) */
    CU_ASSERT_EQUAL(kc_sgemm(0, 0, m, n, k, 1.0f, A, m - 1, B, k, 0.0f, C, m), -7);
    free(A), free(B), free(C), free(C0), free(want), free(GA), free(GB), free(NB), free(GC);
}

/* A recorded kernel + sgemm runs only when the graph is launched, once per launch; on the SIMT
 * host a replay is one graph launch and no kernel launch or cuBLAS call of the host's. */
static void test_graph_replay(void)
{
    int x[100], during = -1;
    KcCounters c;
    int counted = kc_counters(&c) == 0;
    kc_reset_counters();
    CU_ASSERT_EQUAL_FATAL(kc_graph_replay(x, 100, &during, 3), 0);
    CU_ASSERT_EQUAL(during, 0); /* nothing ran while recording */
    int all_three = 1;
    for (int i = 0; i < 100; i++) all_three &= x[i] == 3;
    CU_ASSERT(all_three);
    if (counted) {
        kc_counters(&c);
        CU_ASSERT_EQUAL(c.graph_launches, 3);
        CU_ASSERT_EQUAL(c.launches, 0);   /* the kernel was recorded, never launched by the host */
        CU_ASSERT_EQUAL(c.blas_calls, 1); /* issued once, while recording */
    }
}

/* A synchronous copy while recording is refused and invalidates the capture (a graph cannot
 * hold a host round trip), as CUDA does in global capture mode. */
static void test_capture_refuses_sync(void)
{
    int rc = kc_capture_with_sync();
    CU_ASSERT_NOT_EQUAL(rc, 0);
    if (kc_on_simt_host()) {
        CU_ASSERT_EQUAL(rc, 901); /* cudaErrorStreamCaptureInvalidated */
        CU_ASSERT_PTR_NOT_NULL(strstr(kc_last_error(), "cudaMemcpy during a stream capture"));
    }
}

void register_kernel_suite(void)
{
    static const CU_TestInfo portable[] = {
        {"shared-memory tree reduction", test_shared_memory_reduction},
        {"warp shuffles, ballot, float atomicAdd", test_warp_shuffles},
        {"warp shfl_up scan, __any_sync, __all_sync", test_warp_scan_and_votes},
        {"math intrinsics and event timing", test_math_intrinsics_and_events},
        {"integer atomics histogram and atomicMax", test_atomics_histogram},
        {"int and float atomicAdd under contention: 64 x 256 threads on one address", test_atomics_contention},
        {"2-D tiled transpose, padded shared tile", test_tiled_transpose},
        {"dynamic shared memory", test_dynamic_shared_memory},
        {"odd 3-D grids with bounds checks", test_odd_3d_grids},
        {"invalid launch configuration", test_bad_launch_configuration},
        {"cuBLAS sgemm: every op pair, odd sizes, leading dims", test_cublas_sgemm},
        {"cuBLAS strided batched gemm, geam, argument checks", test_cublas_strided_batched_and_geam},
        {"graph: a recorded kernel and sgemm run once per replay", test_graph_replay},
        {"graph: a synchronous copy while recording invalidates the capture", test_capture_refuses_sync},
        CU_TEST_INFO_NULL};
    /* Planted bugs are the host's to catch; on a GPU they are compute-sanitizer's (see
     * gpu_planted_run), and a divergent __syncthreads may hang a GPU. */
    static const CU_TestInfo host_only[] = {
        {"planted bug: missing __syncthreads is caught", test_planted_missing_syncthreads},
        {"planted bug: out-of-range write is reported", test_planted_out_of_range_write},
        {"__syncthreads in divergent code is reported, not hung", test_divergent_syncthreads_reported},
        {"a barrier in a kernel learnt barrier-free is reported", test_barrier_after_barrier_free_launch},
        CU_TEST_INFO_NULL};
    static const CU_TestInfo gpu_planted[] = {
        {"planted bugs run for compute-sanitizer (not asserted)", test_planted_missing_syncthreads},
        {"planted out-of-range write for compute-sanitizer", test_planted_out_of_range_write},
        CU_TEST_INFO_NULL};
    if (kc_on_simt_host()) {
        add_suite("kernels on the SIMT host", portable);
        add_suite("planted kernel bugs on the SIMT host", host_only);
    } else {
        add_suite("kernels on the GPU", portable);
        if (gpu_planted_run()) add_suite("planted kernel bugs on the GPU", gpu_planted);
    }
}
