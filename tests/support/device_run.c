/* device_run.c — see device_run.h. */
#include "device_run.h"

#include <CUnit/CUnit.h>
#include <string.h>

void device_run_free(DeviceRun *r)
{
    solver_free(&r->s);
    model_free(&r->m);
    backend_destroy(r->be);
    dataset_free(&r->train), dataset_free(&r->val);
}

int same_history(const History *a, const History *b)
{
    return a->n == b->n && memcmp(a->v, b->v, (size_t)a->n * sizeof *a->v) == 0;
}

void assert_replayed_steps_cost_nothing(const KcCounters *c, unsigned long steps)
{
    CU_ASSERT_EQUAL(c->h2d, 0);
    CU_ASSERT_EQUAL(c->h2d_bytes, 0);
    CU_ASSERT_EQUAL(c->d2h, 0);
    CU_ASSERT_EQUAL(c->allocs, 0);
    CU_ASSERT_EQUAL(c->syncs, 0);
    CU_ASSERT_EQUAL(c->graph_launches, steps);
    CU_ASSERT_EQUAL(c->launches, 0);
    CU_ASSERT_EQUAL(c->blas_calls, 0);
}
