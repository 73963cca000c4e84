/* data_parallel.h — one model trained by a group of processes (core/comm.h), the Solver's side.
 *
 * Every rank holds a replica of the model and the optimizer. Each global minibatch (the same
 * shuffle on every rank, so the batches do not depend on the group's size) is cut into equal
 * contiguous shares, one per rank; each rank computes the loss and gradients of its share, and
 * one all-reduce per step averages the gradients over the group, packed into one flat buffer
 * (the mean of equal shares' mean gradients is the whole batch's). The update then runs on every
 * rank from the same gradients and state, so the replicas stay equal. Losses are averaged where
 * they reach the host. Every call here is a collective: every rank makes it at the same point.
 *
 * With dp NULL (or a group of one) every function does nothing and the Solver trains alone. */
#ifndef NNDL_DATA_PARALLEL_H
#define NNDL_DATA_PARALLEL_H

#include <stddef.h>

#include "comm.h"
#include "model.h"

typedef struct DataParallel {
    Comm *comm;
    Model *model;
    float *flat;                /* the gradients, packed, in the backend's memory; params[0].dw
                                 * itself when the model's gradients are contiguous */
    int packed;                 /* flat is a buffer of its own (pack before, unpack after) */
    size_t n;                   /* floats all-reduced per step */
    void *host;                 /* staging for a backend without a collective of its own */
    /* measured when `timed` (bench train): the all-reduces so far; timing waits for the device
     * before and after each all-reduce */
    int timed;
    long steps;
    double allreduce_seconds, bytes;
} DataParallel;

/* For model m on comm's group: the flat gradient buffer (and host staging where the backend
 * needs it). */
int dp_init(DataParallel *dp, Comm *comm, Model *m);
void dp_free(DataParallel *dp);

/* More than one process: the Solver's share and all-reduce run. */
int dp_active(const DataParallel *dp);
/* A global batch must split into equal shares: NNDL_ERR with a message otherwise. */
int dp_check_batch(const DataParallel *dp, int batch);
/* This rank's share of the global batch idx[0..*n): replaces idx and *n. */
void dp_shard(const DataParallel *dp, const int **idx, int *n);
/* Averages every parameter's gradient over the group (one all-reduce). */
int dp_average_gradients(DataParallel *dp);
/* Averages n losses (host doubles) over the group: the global batch's losses. */
int dp_average_losses(DataParallel *dp, double *losses, int n);
/* Non-zero on every rank when any rank's flag is (a stop requested on one rank stops all). */
int dp_any(DataParallel *dp, int flag);
/* Rank 0's model state (parameters and batchnorm running statistics) on every rank: before the
 * model is measured or saved. Running statistics differ between ranks that normalise with their
 * own batches; rank 0's are kept, as PyTorch DDP broadcasts rank 0's buffers. */
int dp_sync_state(DataParallel *dp);

#endif
