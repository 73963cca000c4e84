/* comm_mpi.c — the Comm of MPI_COMM_WORLD (OpenMPI, MPICH: any MPI-3 library), linked when the
 * build has MPI (Makefile: MPI=1, or found by mpicc --showme).
 *
 * MPI's default error handler ends the whole job on a communication failure, and mpirun ends
 * every rank when one dies or calls MPI_Abort, naming it ("process rank 1 ... exited on signal
 * 9"): no rank is left waiting in a collective. Errors are returned here for the few calls that
 * check for them (MPI_ERRORS_RETURN is not set). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "error.h"

static MPI_Datatype mpi_type(CommType t) { return t == COMM_DOUBLE ? MPI_DOUBLE : t == COMM_INT ? MPI_INT : MPI_FLOAT; }

/* MPI has no average: a sum, then divided here (the same division on every rank). */
static void divide(void *buf, size_t n, CommType t, int size)
{
    if (t == COMM_DOUBLE) for (size_t i = 0; i < n; i++) ((double *)buf)[i] /= size;
    else if (t == COMM_FLOAT) for (size_t i = 0; i < n; i++) ((float *)buf)[i] /= (float)size;
    else for (size_t i = 0; i < n; i++) ((int *)buf)[i] /= size;
}

static int mpi_allreduce(Comm *c, void *buf, size_t n, CommType t, CommOp op)
{
    /* MPI counts are int: large buffers go in chunks */
    const size_t chunk = (size_t)1 << 30;
    char *p = buf;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < chunk ? n - done : chunk;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p + done * comm_type_size(t), (int)k, mpi_type(t),
                               op == COMM_MAX ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return nndl_fail("MPI_Allreduce of %zu values failed (error %d)", n, rc);
        done += k;
    }
    if (op == COMM_AVG) divide(buf, n, t, c->size);
    return NNDL_OK;
}

static int mpi_broadcast(Comm *c, void *buf, size_t bytes, int root)
{
    (void)c;
    if (bytes > (size_t)1 << 30) return nndl_fail("broadcast of %zu bytes: more than 1 GiB at once", bytes);
    int rc = MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? NNDL_OK : nndl_fail("MPI_Bcast of %zu bytes failed (error %d)", bytes, rc);
}

static int mpi_allgather(Comm *c, const void *mine, void *all, size_t bytes)
{
    (void)c;
    int rc = MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? NNDL_OK : nndl_fail("MPI_Allgather failed (error %d)", rc);
}

static void mpi_abort(Comm *c, int status)
{
    (void)c;
    fflush(stdout), fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status); /* not reached */
}

static void mpi_finish(Comm *c)
{
    fflush(stdout), fflush(stderr);
    MPI_Finalize();
    free(c);
}

Comm *comm_world(int required)
{
    if (!required && !comm_launched()) return comm_single();
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        nndl_fail("MPI_Init failed: start nndl with mpirun (or srun) to train on several processes");
        return NULL;
    }
    Comm *c = nndl_alloc(1, sizeof *c, "the process group");
    if (!c) {
        MPI_Abort(MPI_COMM_WORLD, 1);
        return NULL;
    }
    *c = (Comm){.name = "mpi", .allreduce = mpi_allreduce, .broadcast = mpi_broadcast,
                .allgather = mpi_allgather, .abort = mpi_abort, .finish = mpi_finish};
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    return c;
}

const char *comm_mpi_version(void)
{
    static char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    if (!*v) {
        MPI_Get_library_version(v, &n);
        v[strcspn(v, ",\n")] = '\0'; /* the first clause: "Open MPI v4.1.4" */
    }
    return v;
}
