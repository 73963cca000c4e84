/* test_golden.c — nndl's cpu backend against an independent implementation: PyTorch (float64)
 * evaluated the seed's batchnorm CNN once (tests/golden/make_golden.py) and stored inputs,
 * initial weights, the loss, every gradient and the losses of 5 Adam steps. No Python here.
 * Tolerances: float32 against float64, loss 1e-5 relative, gradients 1e-3 of each array's
 * largest element, the Adam trajectory 1e-4 relative. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "test_util.h"

#define GOLDEN "tests/golden/seed_bn_cnn.bin"
#define SPEC "conv8x3-bn-relu-pool2-affine20-bn-relu-affine10"

typedef struct Entry {
    char name[32];
    size_t n;
    double *v;
} Entry;

static Entry entries[64];
static int n_entries;

static int load_golden(void)
{
    FILE *f = fopen(GOLDEN, "rb");
    if (!f) return 1;
    char magic[8];
    uint32_t count, len, ndim, dim;
    int ok = fread(magic, 1, 8, f) == 8 && memcmp(magic, "NNDLGOLD", 8) == 0 &&
             fread(&count, 4, 1, f) == 1 && count <= 64;
    for (uint32_t e = 0; ok && e < count; e++) {
        Entry *en = &entries[n_entries++];
        ok = fread(&len, 4, 1, f) == 1 && len < sizeof en->name && fread(en->name, 1, len, f) == len &&
             fread(&ndim, 4, 1, f) == 1 && ndim <= 4;
        en->name[ok ? len : 0] = '\0';
        en->n = 1;
        for (uint32_t d = 0; ok && d < ndim; d++) ok = fread(&dim, 4, 1, f) == 1, en->n *= dim;
        en->v = malloc(en->n * sizeof *en->v);
        ok = ok && fread(en->v, sizeof *en->v, en->n, f) == en->n;
    }
    fclose(f);
    return ok ? 0 : 1;
}

static int free_golden(void)
{
    for (int i = 0; i < n_entries; i++) free(entries[i].v);
    n_entries = 0;
    return 0;
}

static const Entry *get(const char *name)
{
    for (int i = 0; i < n_entries; i++)
        if (strcmp(entries[i].name, name) == 0) return &entries[i];
    return NULL;
}

/* Model with the golden initial parameters; X and y as nndl wants them. */
static void setup_model(Model *m, float **X, int **y, int *N)
{
    const Entry *ex = get("X"), *ey = get("y");
    CU_ASSERT_FATAL(ex && ey);
    *N = (int)ey->n;
    CU_ASSERT_FATAL(model_init(m, test_backend("cpu"), SPEC, 3, 16, 16, 1e-3f, 1e-3f, LOSS_SOFTMAX, 0, *N) == 0);
    *X = to_float(ex->v, ex->n);
    *y = malloc((size_t)*N * sizeof **y);
    for (int i = 0; i < *N; i++) (*y)[i] = (int)ey->v[i];
    for (int i = 0; i < m->n_params; i++) {
        const Entry *e = get(m->params[i].name);
        CU_ASSERT_FATAL(e && e->n == m->params[i].n);
        float *h = to_float(e->v, e->n);
        m->be->to_device(m->be, m->params[i].w, h, e->n * sizeof *h);
        free(h);
    }
}

static void test_loss_and_gradients_match_pytorch(void)
{
    Model m;
    float *X;
    int *y, N;
    setup_model(&m, &X, &y, &N);
    double loss = model_loss(&m, X, y, N, 0), want = get("loss")->v[0];
    ASSERT_BELOW(fabs(loss - want) / want, 1e-5, "loss vs PyTorch");
    for (int i = 0; i < m.n_params; i++) {
        char name[40];
        snprintf(name, sizeof name, "d%s", m.params[i].name);
        const Entry *g = get(name);
        CU_ASSERT_FATAL(g && g->n == m.params[i].n);
        float *h = malloc(g->n * sizeof *h);
        m.be->to_host(m.be, h, m.params[i].dw, g->n * sizeof *h);
        double diff = 0, scale = 0;
        for (size_t k = 0; k < g->n; k++) diff = fmax(diff, fabs(h[k] - g->v[k])), scale = fmax(scale, fabs(g->v[k]));
        char what[128];
        snprintf(what, sizeof what, "%s vs PyTorch (relative to its largest element)", name);
        /* b1, b2 feed batchnorm: zero in exact arithmetic, float noise only */
        ASSERT_BELOW(scale > 1e-12 ? diff / scale : diff / 1e-3, 1e-3, what);
        free(h);
    }
    free(X), free(y);
    model_free(&m);
}

static void test_adam_trajectory_matches_pytorch(void)
{
    Model m;
    float *X;
    int *y, N;
    setup_model(&m, &X, &y, &N);
    const Entry *losses = get("adam_losses");
    CU_ASSERT_FATAL(losses != NULL);
    OptimConfig cfg[64];
    float *s1[64], *s2[64];
    for (int i = 0; i < m.n_params; i++) {
        cfg[i] = optim_config_default(UPDATE_ADAM);
        s1[i] = m.be->alloc(m.be, m.params[i].n * sizeof(float));
        s2[i] = m.be->alloc(m.be, m.params[i].n * sizeof(float));
        m.be->fill(m.be, s1[i], 0, m.params[i].n);
        m.be->fill(m.be, s2[i], 0, m.params[i].n);
    }
    for (size_t step = 0; step < losses->n; step++) {
        double loss = model_loss(&m, X, y, N, step);
        char what[64];
        snprintf(what, sizeof what, "loss before Adam step %zu vs PyTorch", step + 1);
        ASSERT_BELOW(fabs(loss - losses->v[step]) / losses->v[step], 1e-4, what);
        for (int i = 0; i < m.n_params; i++)
            backend_update(m.be, &cfg[i], m.params[i].w, m.params[i].dw, s1[i], s2[i], m.params[i].n);
    }
    CU_ASSERT(losses->v[losses->n - 1] < losses->v[0]); /* and the steps did descend */
    for (int i = 0; i < m.n_params; i++) m.be->release(m.be, s1[i]), m.be->release(m.be, s2[i]);
    free(X), free(y);
    model_free(&m);
}

void register_golden_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"loss and every gradient vs PyTorch", test_loss_and_gradients_match_pytorch},
        {"5 Adam steps vs torch.optim.Adam", test_adam_trajectory_matches_pytorch},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("golden state from PyTorch", load_golden, free_golden);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
