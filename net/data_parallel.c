/* data_parallel.c — the Solver's data-parallel steps (see data_parallel.h). */
#include "data_parallel.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "progress.h"

int dp_active(const DataParallel *dp) { return dp && dp->comm->size > 1; }

/* The gradients are one flat buffer already when every dw follows the one before it. */
static int gradients_contiguous(const Model *m)
{
    for (int i = 1; i < m->n_params; i++)
        if (m->params[i].dw != m->params[i - 1].dw + m->params[i - 1].n) return 0;
    return m->n_params > 0;
}

int dp_init(DataParallel *dp, Comm *comm, Model *m)
{
    memset(dp, 0, sizeof *dp);
    dp->comm = comm, dp->model = m;
    for (int i = 0; i < m->n_params; i++) dp->n += m->params[i].n;
    const Backend *be = m->be;
    if (gradients_contiguous(m)) {
        dp->flat = m->params[0].dw;
    } else {
        dp->packed = 1;
        if (!(dp->flat = be->alloc(be, (dp->n ? dp->n : 1) * sizeof(float)))) {
            dp_free(dp);
            return nndl_fail("data parallel: out of %s memory for the flat gradient buffer (%zu floats)", be->name,
                             dp->n);
        }
    }
    if (!be->allreduce && !(dp->host = nndl_alloc(dp->n ? dp->n : 1, sizeof(float), "all-reduce staging"))) {
        dp_free(dp);
        return NNDL_ERR;
    }
    return NNDL_OK;
}

void dp_free(DataParallel *dp)
{
    if (dp->packed && dp->flat) dp->model->be->release(dp->model->be, dp->flat);
    free(dp->host);
    memset(dp, 0, sizeof *dp);
}

int dp_check_batch(const DataParallel *dp, int batch)
{
    if (!dp_active(dp)) return NNDL_OK;
    int size = dp->comm->size;
    if (batch % size != 0)
        return nndl_fail("--batch-size %d does not split into %d equal shares (one per process): give a multiple "
                         "of %d", batch, size, size);
    return NNDL_OK;
}

void dp_shard(const DataParallel *dp, const int **idx, int *n)
{
    if (!dp_active(dp)) return;
    int share = *n / dp->comm->size;
    *idx += (size_t)share * dp->comm->rank;
    *n = share;
}

/* The one place that knows how the gradients lie: each parameter's dw into the flat buffer
 * and back. Nothing to do when they are contiguous. */
static void pack(DataParallel *dp, int back)
{
    if (!dp->packed) return;
    const Model *m = dp->model;
    float *at = dp->flat;
    for (int i = 0; i < m->n_params; i++) {
        const Param *p = &m->params[i];
        if (back) m->be->copy(m->be, p->dw, at, p->n * sizeof(float));
        else m->be->copy(m->be, at, p->dw, p->n * sizeof(float));
        at += p->n;
    }
}

/* Waits for the device's queued work (a one-value read-back) so that the clock measures only
 * the all-reduce. */
static void wait_device(const DataParallel *dp)
{
    float v;
    dp->model->be->to_host(dp->model->be, &v, dp->flat, sizeof v);
}

int dp_average_gradients(DataParallel *dp)
{
    if (!dp_active(dp)) return NNDL_OK;
    pack(dp, 0);
    double t0 = 0;
    if (dp->timed) wait_device(dp), t0 = now_seconds();
    int rc = comm_allreduce_on(dp->comm, dp->model->be, dp->flat, dp->n, COMM_FLOAT, COMM_AVG, dp->host);
    if (dp->timed) wait_device(dp), dp->allreduce_seconds += now_seconds() - t0;
    if (rc != NNDL_OK) return nndl_fail_context("data parallel: the gradient all-reduce");
    dp->steps++;
    dp->bytes += (double)dp->n * sizeof(float);
    pack(dp, 1);
    return NNDL_OK;
}

int dp_average_losses(DataParallel *dp, double *losses, int n)
{
    if (!dp_active(dp) || n == 0) return NNDL_OK;
    return dp->comm->allreduce(dp->comm, losses, (size_t)n, COMM_DOUBLE, COMM_AVG);
}

int dp_any(DataParallel *dp, int flag)
{
    return dp_active(dp) ? comm_any(dp->comm, flag) : flag != 0;
}

int dp_sync_state(DataParallel *dp)
{
    if (!dp_active(dp)) return NNDL_OK;
    size_t n = model_state_size(dp->model);
    float *state = nndl_alloc(n ? n : 1, sizeof *state, "the model state broadcast");
    if (!state) return NNDL_ERR;
    model_state_save(dp->model, state);
    int rc = NNDL_OK;
    const size_t chunk = (size_t)1 << 28; /* broadcasts of at most 1 GiB */
    for (size_t done = 0; rc == NNDL_OK && done < n; done += chunk)
        rc = dp->comm->broadcast(dp->comm, state + done, (n - done < chunk ? n - done : chunk) * sizeof *state, 0);
    if (rc == NNDL_OK && dp->comm->rank != 0) model_state_load(dp->model, state);
    free(state);
    return rc;
}
