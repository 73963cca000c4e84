// cuda_nccl.cu — the CUDA backend's collective: NCCL all-reduce in place on device memory, on the
// stream the backend's kernels run on, so gradients never leave the GPU. The instance's NCCL
// communicator is made on first use from the process group (core/comm.h): rank 0's
// ncclUniqueId is broadcast over MPI, then every rank joins with ncclCommInitRank.
//
// Built only by nvcc with NCCL (the Makefile's NNDL_NCCL, where nccl.h is found); elsewhere the
// backend table leaves the slot to comm_allreduce_host_memory (the SIMT host, whose "device"
// memory is host memory) or to staging through host memory (nvcc without NCCL).
#include "cuda_ops.h"

#include "error.h"

#if defined(NNDL_NCCL) && !defined(NNDL_SIMT_HOST)
#include <nccl.h>

static ncclDataType_t nccl_type(int t) { return t == COMM_DOUBLE ? ncclDouble : t == COMM_INT ? ncclInt32 : ncclFloat32; }
static ncclRedOp_t nccl_op(int op) { return op == COMM_AVG ? ncclAvg : op == COMM_MAX ? ncclMax : ncclSum; }

static int nccl_join(CudaContext *x, Comm *c)
{
    ncclUniqueId id;
    if (c->rank == 0) {
        ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess) return nndl_fail("NCCL: no unique id (%s)", ncclGetErrorString(r));
    }
    if (c->broadcast(c, &id, sizeof id, 0) != NNDL_OK) return NNDL_ERR;
    ncclComm_t comm;
    ncclResult_t r = ncclCommInitRank(&comm, c->size, id, c->rank);
    if (r != ncclSuccess)
        return nndl_fail("NCCL: rank %d of %d could not join (%s)", c->rank, c->size, ncclGetErrorString(r));
    x->nccl = comm;
    x->nccl_group = c;
    return NNDL_OK;
}

int cuda_nccl_allreduce(const Backend *be, Comm *c, void *buf, size_t n, int t, int op)
{
    CudaContext *x = cuda_ctx(be);
    if (x->nccl && x->nccl_group != c) return nndl_fail("NCCL: this cuda instance already serves another group");
    if (!x->nccl && nccl_join(x, c) != NNDL_OK) return NNDL_ERR;
    ncclResult_t r = ncclAllReduce(buf, buf, n, nccl_type(t), nccl_op(op), (ncclComm_t)x->nccl, 0);
    if (r != ncclSuccess) return nndl_fail("NCCL all-reduce of %zu values failed (%s)", n, ncclGetErrorString(r));
    return NNDL_OK;
}

void cuda_nccl_free(const Backend *be)
{
    CudaContext *x = cuda_ctx(be);
    if (x->nccl) ncclCommDestroy((ncclComm_t)x->nccl);
    x->nccl = NULL;
}
#else
int cuda_nccl_allreduce(const Backend *, Comm *, void *, size_t, int, int)
{
    return nndl_fail("this build of the cuda backend has no NCCL");
}
void cuda_nccl_free(const Backend *) {}
#endif
