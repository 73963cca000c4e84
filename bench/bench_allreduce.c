/* bench_allreduce.c — `nndl bench allreduce`: the process group's all-reduce on its own, through
 * the path training uses (comm_allreduce_on, the backend's memory), for sizes from 1 value to
 * millions, odd counts included. Every rank fills its buffer with values whose sums are exact
 * in float (small integers and halves), so each result is checked for equality, not closeness:
 * sum and average of floats, sum of doubles, and the same through host staging (a backend
 * without a collective of its own). Prints the time and the bus bandwidth (2 (N-1)/N bytes per
 * rank, the ring all-reduce's traffic) per size; exits 1 on any wrong value. Run it under mpirun;
 * alone it checks the one-process group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "backend.h"
#include "error.h"
#include "progress.h"

/* rank r's value i, and what the sum over `size` ranks must be */
static double value(size_t i, int r) { return (double)(i % 1001) + 0.5 * r; }
static double total(size_t i, int size) { return size * (double)(i % 1001) + 0.25 * size * (size - 1); }

static void fill(const Backend *be, void *dev, void *host, size_t n, CommType t, int rank)
{
    for (size_t i = 0; i < n; i++) {
        if (t == COMM_DOUBLE) ((double *)host)[i] = value(i, rank);
        else ((float *)host)[i] = (float)value(i, rank);
    }
    be->to_device(be, dev, host, n * comm_type_size(t));
}

/* Wrong values after one all-reduce of n values of type t with op. */
static size_t wrong_values(Comm *c, const Backend *be, void *dev, void *host, size_t n, CommType t, CommOp op)
{
    fill(be, dev, host, n, t, c->rank);
    if (comm_allreduce_on(c, be, dev, n, t, op, NULL) != NNDL_OK) return n;
    be->to_host(be, host, dev, n * comm_type_size(t));
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        double want = total(i, c->size) / (op == COMM_AVG ? c->size : 1);
        double got = t == COMM_DOUBLE ? ((double *)host)[i] : ((float *)host)[i];
        if (t == COMM_FLOAT) want = (float)want;
        wrong += got != want;
    }
    return wrong;
}

static int run(Comm *c, Backend *be)
{
    static const size_t sizes[] = {1, 2, 3, 7, 1000, 4097, 65537, 1048577, 4000001};
    enum { SIZES = sizeof sizes / sizeof *sizes };
    size_t most = sizes[SIZES - 1];
    double *host = nndl_alloc(most, sizeof *host, "the all-reduce check");
    void *dev = be->alloc(be, most * sizeof(double));
    if (!host || !dev) {
        free(host);
        if (dev) be->release(be, dev);
        return nndl_fail("out of memory for the all-reduce check (%zu values)", most);
    }
    Backend staged = *be; /* the same device through host memory, as a backend without a collective */
    staged.allreduce = NULL;
    printf("nndl bench allreduce — %d process%s (%s), device %s\n\n", c->size, c->size > 1 ? "es" : "", c->name,
           be->name);
    printf("|    floats | ms per all-reduce | bus GB/s | float sum, avg; double sum; staged: wrong values |\n");
    printf("|-----------|-------------------|----------|--------------------------------------------------|\n");
    size_t bad = 0;
    for (int k = 0; k < SIZES; k++) {
        size_t n = sizes[k];
        size_t w[4] = {wrong_values(c, be, dev, host, n, COMM_FLOAT, COMM_SUM),
                       wrong_values(c, be, dev, host, n, COMM_FLOAT, COMM_AVG),
                       wrong_values(c, be, dev, host, n, COMM_DOUBLE, COMM_SUM),
                       wrong_values(c, &staged, dev, host, n, COMM_FLOAT, COMM_AVG)};
        int reps = n < 100000 ? 20 : 3;
        float v;
        be->to_host(be, &v, dev, sizeof v); /* the device idle before the clock starts */
        double t0 = now_seconds();
        for (int r = 0; r < reps; r++) comm_allreduce_on(c, be, dev, n, COMM_FLOAT, COMM_SUM, NULL);
        be->to_host(be, &v, dev, sizeof v);
        double t = (now_seconds() - t0) / reps;
        double bus = c->size > 1 ? 2.0 * (c->size - 1) / c->size * n * sizeof(float) / t / 1e9 : 0;
        printf("| %9zu | %17.3f | %8.2f | %11zu %6zu %7zu %22zu |\n", n, 1e3 * t, bus, w[0], w[1], w[2], w[3]);
        bad += w[0] + w[1] + w[2] + w[3];
    }
    free(host);
    be->release(be, dev);
    int all_bad = c->allreduce(c, &(int){bad > 0}, 1, COMM_INT, COMM_MAX) != NNDL_OK;
    if (bad) return nndl_fail("rank %d: %zu wrong values after all-reduces", c->rank, bad);
    if (all_bad) return NNDL_ERR;
    printf("\nevery value exact on every rank (sizes 1 to %zu)\n", most);
    return NNDL_OK;
}

int bench_allreduce(const char *device)
{
    Comm *c = comm_world(0);
    if (!c) {
        fprintf(stderr, "nndl bench allreduce: %s\n", nndl_last_error());
        return 2;
    }
    if (c->rank != 0 && !freopen("/dev/null", "w", stdout)) fprintf(stderr, "rank %d prints too\n", c->rank);
    Backend *be = backend_create(device);
    int rc = be ? 0 : 2;
    if (be && run(c, be) != NNDL_OK) rc = 1;
    if (rc) fprintf(stderr, "nndl bench allreduce (rank %d of %d): %s\n", c->rank, c->size, nndl_last_error());
    backend_destroy(be);
    if (rc && c->size > 1) c->abort(c, rc);
    c->finish(c);
    return rc;
}
