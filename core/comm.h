/* comm.h — the processes of a data-parallel run, behind one small interface.
 *
 * A Comm is this process's view of the group it trains with: its rank, the group's size, and
 * collective operations that every rank calls in the same order (a rank that skips one leaves
 * the others waiting). Implementations: dist/comm_mpi.c (MPI_COMM_WORLD; the Makefile links it
 * when MPI is found or MPI=1), dist/comm_unavailable.c (a build without MPI), and comm_single()
 * here (one process, no library), which both return when the program was not started by a
 * launcher such as mpirun.
 *
 * The collectives work on host memory. Device memory goes through comm_allreduce_on(): a
 * backend with its own collective (the CUDA backend with NCCL) reduces in place on the device;
 * one whose memory is host memory (cpu, the SIMT host) hands the buffer to the Comm; any other
 * stages the values through host memory. */
#ifndef NNDL_COMM_H
#define NNDL_COMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum CommType { COMM_FLOAT, COMM_DOUBLE, COMM_INT } CommType;
/* COMM_AVG: the sum divided by the group's size (NCCL's ncclAvg; sum then divide on MPI). */
typedef enum CommOp { COMM_SUM, COMM_AVG, COMM_MAX } CommOp;

typedef struct Comm Comm;
struct Comm {
    const char *name;           /* "mpi", "single" */
    int rank, size;
    void *ctx;                  /* the implementation's state */
    /* in place over n values of host memory, on every rank; NNDL_OK or NNDL_ERR (message set) */
    int (*allreduce)(Comm *c, void *buf, size_t n, CommType t, CommOp op);
    /* root's bytes into every rank's buf */
    int (*broadcast)(Comm *c, void *buf, size_t bytes, int root);
    /* every rank's `bytes` bytes of mine, in rank order, into all (size * bytes) */
    int (*allgather)(Comm *c, const void *mine, void *all, size_t bytes);
    /* ends every rank of the group with this exit status (after this rank printed why) */
    void (*abort)(Comm *c, int status);
    /* the end of a run that every rank reaches; frees the Comm */
    void (*finish)(Comm *c);
};

/* The group this process belongs to: when the environment says a launcher started it (mpirun:
 * OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK) or `required` (--distributed), every rank of the
 * launch; otherwise one process. NULL (message set) when a launch needs MPI and this build has
 * none, or MPI cannot start. Defined by dist/comm_mpi.c or dist/comm_unavailable.c. */
Comm *comm_world(int required);
/* Whether this build has MPI (--version, the tests), and which. */
const char *comm_mpi_version(void);

/* A group of one: every collective leaves the values as they are. */
Comm *comm_single(void);
/* A launcher's environment variables are set (this process is one of several ranks). */
int comm_launched(void);
/* The number of processes the launcher says it started (OMPI_COMM_WORLD_SIZE, PMI_SIZE), or 0
 * when it does not say. */
int comm_launch_size(void);

/* The size of one value of type t. */
size_t comm_type_size(CommType t);

/* Fails unless every rank passed the same hash; the message names the first rank whose `what`
 * (e.g. "flags and data") differs from rank 0's. Every rank returns the same result. */
int comm_check_same(Comm *c, uint64_t hash, const char *what);

/* All ranks stop together: non-zero when any rank's flag is non-zero. */
int comm_any(Comm *c, int flag);

/* An in-place collective over host memory for a backend's allreduce slot (see backend.h), used
 * by the backends whose memory is host memory. */
struct Backend;
int comm_allreduce_host_memory(const struct Backend *be, Comm *c, void *buf, size_t n, int t, int op);
/* In place over n values in be's memory (see the top of this file). host_scratch: n values of
 * host memory for a backend that stages, or NULL to allocate them for the call. */
int comm_allreduce_on(Comm *c, const struct Backend *be, void *buf, size_t n, CommType t, CommOp op,
                      void *host_scratch);

#ifdef __cplusplus
}
#endif
#endif
