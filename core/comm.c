/* comm.c — what every Comm shares: the one-process group, the launcher check, and the
 * collectives built on an implementation's primitives (see comm.h). */
#include "comm.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"

size_t comm_type_size(CommType t) { return t == COMM_DOUBLE ? sizeof(double) : t == COMM_INT ? sizeof(int) : sizeof(float); }

int comm_launched(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int comm_launch_size(void)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long n = v ? strtol(v, &end, 10) : 0;
        if (v && *v && !*end && n > 0 && n <= INT_MAX) return (int)n;
    }
    return 0;
}

/* ---- a group of one --------------------------------------------------------------------- */

static int single_allreduce(Comm *c, void *buf, size_t n, CommType t, CommOp op)
{
    (void)c, (void)buf, (void)n, (void)t, (void)op;
    return NNDL_OK;
}

static int single_broadcast(Comm *c, void *buf, size_t bytes, int root)
{
    (void)c, (void)buf, (void)bytes, (void)root;
    return NNDL_OK;
}

static int single_allgather(Comm *c, const void *mine, void *all, size_t bytes)
{
    (void)c;
    memmove(all, mine, bytes);
    return NNDL_OK;
}

static void single_abort(Comm *c, int status)
{
    (void)c;
    exit(status);
}

static void single_finish(Comm *c) { free(c); }

Comm *comm_single(void)
{
    Comm *c = nndl_alloc(1, sizeof *c, "the process group");
    if (c)
        *c = (Comm){.name = "single", .rank = 0, .size = 1, .allreduce = single_allreduce,
                    .broadcast = single_broadcast, .allgather = single_allgather, .abort = single_abort,
                    .finish = single_finish};
    return c;
}

/* ---- collectives on the primitives ------------------------------------------------------ */

int comm_check_same(Comm *c, uint64_t hash, const char *what)
{
    if (c->size == 1) return NNDL_OK;
    uint64_t *all = nndl_alloc((size_t)c->size, sizeof *all, "the ranks' configuration hashes");
    if (!all) return NNDL_ERR;
    int rc = c->allgather(c, &hash, all, sizeof hash);
    int differs = -1;
    for (int r = 1; rc == NNDL_OK && r < c->size && differs < 0; r++)
        if (all[r] != all[0]) differs = r;
    free(all);
    if (rc != NNDL_OK) return NNDL_ERR;
    if (differs >= 0)
        return nndl_fail("rank %d of %d was started with other %s than rank 0 (configuration hash differs); "
                         "every rank must run the same command on the same data", differs, c->size, what);
    return NNDL_OK;
}

int comm_any(Comm *c, int flag)
{
    if (c->size == 1) return flag != 0;
    int v = flag != 0;
    if (c->allreduce(c, &v, 1, COMM_INT, COMM_MAX) != NNDL_OK) return 1; /* a broken group stops */
    return v;
}

int comm_allreduce_host_memory(const Backend *be, Comm *c, void *buf, size_t n, int t, int op)
{
    (void)be;
    return c->allreduce(c, buf, n, (CommType)t, (CommOp)op);
}

int comm_allreduce_on(Comm *c, const Backend *be, void *buf, size_t n, CommType t, CommOp op, void *host_scratch)
{
    if (c->size == 1 || n == 0) return NNDL_OK;
    if (be->allreduce) return be->allreduce(be, c, buf, n, (int)t, (int)op);
    size_t bytes = n * comm_type_size(t);
    void *host = host_scratch ? host_scratch : nndl_alloc(n, comm_type_size(t), "an all-reduce staging buffer");
    if (!host) return NNDL_ERR;
    be->to_host(be, host, buf, bytes);
    int rc = c->allreduce(c, host, n, t, op);
    if (rc == NNDL_OK) be->to_device(be, buf, host, bytes);
    if (!host_scratch) free(host);
    return rc;
}
