/* test_golden.c — nndl's cpu backend against an independent implementation: PyTorch (float64)
 * evaluated the seed's batchnorm CNN once (tests/golden/make_golden.py) and stored inputs,
 * initial weights, the loss, every gradient and the losses of 5 Adam steps; and two nets of the
 * newer layer kinds (tests/golden/make_golden_layers.py: conv and bn options, GELU, residual
 * blocks, global pools, scale) with their loss, every gradient and a running mean. No Python
 * here.
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
#define GOLDEN_LAYERS "tests/golden/new_layers.bin" /* entries named "<case>/<name>" */

typedef struct Entry {
    char name[32];
    size_t n;
    double *v;
} Entry;

#define MAX_ENTRIES 128
static Entry entries[MAX_ENTRIES];
static int n_entries;

static int load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    char magic[8];
    uint32_t count, len, ndim, dim;
    int ok = fread(magic, 1, 8, f) == 8 && memcmp(magic, "NNDLGOLD", 8) == 0 &&
             fread(&count, 4, 1, f) == 1 && count <= (uint32_t)(MAX_ENTRIES - n_entries);
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

static int load_golden(void) { return load_file(GOLDEN) || load_file(GOLDEN_LAYERS); }

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

/* ---- the newer layer kinds --------------------------------------------------------------- */

typedef struct LayerCase {
    const char *name, *spec;
    int H;                      /* inputs (3, H, H) */
} LayerCase;

static const LayerCase layer_cases[] = {
    {"res_gap", "conv8x2(pad=0)-bn(noscale)-gelu-res[conv8x3(nobias)-bn-relu-conv8x3]-"
                "res(proj)[conv12x3(stride=2,nobias)-bn(momentum=0.6,eps=0.001)-gelu]-gap-affine10-scale0.5", 13},
    {"res_gmp", "conv8x3(stride=2)-gelu-[res[conv8x3-bn-gelu]]x2-gmp-affine10", 12},
};

static const Entry *get_in(const char *casename, const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "%s/%s", casename, name);
    return get(full);
}

/* Max difference relative to the reference array's largest element (or to 1e-3 when all of it
 * is roundoff, as for a bias before batchnorm). */
static double relative_to_largest(const float *h, const double *want, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t k = 0; k < n; k++) diff = fmax(diff, fabs(h[k] - want[k])), scale = fmax(scale, fabs(want[k]));
    return scale > 1e-12 ? diff / scale : diff / 1e-3;
}

static void check_layer_case(const LayerCase *lc)
{
    const Entry *ex = get_in(lc->name, "X"), *ey = get_in(lc->name, "y");
    CU_ASSERT_FATAL(ex && ey);
    int N = (int)ey->n;
    Model m;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), lc->spec, 3, lc->H, lc->H, 1e-3f, 1e-3f, LOSS_SOFTMAX, 0, N) == 0);
    float *X = to_float(ex->v, ex->n);
    int *y = malloc((size_t)N * sizeof *y);
    for (int i = 0; i < N; i++) y[i] = (int)ey->v[i];
    for (int i = 0; i < m.n_params; i++) {
        const Entry *e = get_in(lc->name, m.params[i].name);
        if (!e) fprintf(stderr, "\n    %s: no golden %s\n", lc->name, m.params[i].name);
        CU_ASSERT_FATAL(e && e->n == m.params[i].n);
        float *h = to_float(e->v, e->n);
        m.be->to_device(m.be, m.params[i].w, h, e->n * sizeof *h);
        free(h);
    }
    char what[128];
    double loss = model_loss(&m, X, y, N, 0), want = get_in(lc->name, "loss")->v[0];
    snprintf(what, sizeof what, "%s: loss vs PyTorch", lc->name);
    ASSERT_BELOW(fabs(loss - want) / want, 1e-5, what);
    for (int i = 0; i < m.n_params; i++) {
        char name[40];
        snprintf(name, sizeof name, "d%s", m.params[i].name);
        const Entry *g = get_in(lc->name, name);
        CU_ASSERT_FATAL(g && g->n == m.params[i].n);
        float *h = malloc(g->n * sizeof *h);
        m.be->to_host(m.be, h, m.params[i].dw, g->n * sizeof *h);
        snprintf(what, sizeof what, "%s: %s vs PyTorch (relative to its largest element)", lc->name, name);
        ASSERT_BELOW(relative_to_largest(h, g->v, g->n), 1e-3, what);
        free(h);
    }
    /* bn(momentum=M): running = M * running + (1 - M) * batch, PyTorch's momentum 1 - M */
    const Entry *rm = get_in(lc->name, "runmean_momentum");
    for (int i = 0; rm && i < m.n_layers; i++) {
        const Layer *l = &m.layers[i];
        if (l->spec.kind != layer_kind_find("bn") || l->spec.momentum == 0.9) continue;
        CU_ASSERT_FATAL(l->buffer_n[0] == rm->n);
        float *h = malloc(rm->n * sizeof *h);
        m.be->to_host(m.be, h, l->buffer[0], rm->n * sizeof *h);
        snprintf(what, sizeof what, "%s: running mean of layer %d vs PyTorch", lc->name, i + 1);
        ASSERT_BELOW(relative_to_largest(h, rm->v, rm->n), 1e-4, what);
        free(h);
    }
    free(X), free(y);
    model_free(&m);
}

static void test_new_layers_match_pytorch(void)
{
    for (size_t i = 0; i < sizeof layer_cases / sizeof *layer_cases; i++) check_layer_case(&layer_cases[i]);
}

void register_golden_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"loss and every gradient vs PyTorch", test_loss_and_gradients_match_pytorch},
        {"5 Adam steps vs torch.optim.Adam", test_adam_trajectory_matches_pytorch},
        {"nets of the newer layer kinds: loss, every gradient, a running mean vs PyTorch",
         test_new_layers_match_pytorch},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("golden state from PyTorch", load_golden, free_golden);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
