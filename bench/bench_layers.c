/* bench_layers.c — the seed's timing cells (In [42], In [43]): naive (double reference) against
 * fast (the cpu backend), forward and backward, with speedup and max relative difference. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"
#include "bench.h"
#include "compare.h"
#include "error.h"
#include "reference.h"
#include "rng.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Best of REPS runs of a statement, in seconds: the first run pays for page faults and BLAS
 * thread start-up, which the seed's single timing also paid but a table should not show. */
#define REPS 3
#define BEST_TIME(result, stmt)                                                                   \
    do {                                                                                          \
        (result) = 1e30;                                                                          \
        for (int rep_ = 0; rep_ < REPS; rep_++) {                                                 \
            double t0_ = now();                                                                   \
            stmt;                                                                                 \
            double t_ = now() - t0_;                                                              \
            if (t_ < (result)) (result) = t_;                                                     \
        }                                                                                         \
    } while (0)

static double *gaussian(Rng *r, size_t n)
{   /* float-representable, so naive and fast see identical inputs */
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)rng_gaussian(r);
    return x;
}

static float *as_float(const double *x, size_t n)
{
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}

typedef struct Diff { double rel, scaled; } Diff;

/* The seed's rel_error of the float result against the double one, and float_error
 * (|a - b| / max(1, |b|)), which does not blow up on values near zero. */
static Diff diff(const float *fast, const double *naive, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = fast[i];
    Diff e = {rel_error(d, naive, n), float_error(fast, naive, n)};
    free(d);
    return e;
}

/* A table row, or with rows (JSON) an object of the same values. */
static void row(cJSON *rows, const char *what, double t_naive, double t_fast, Diff e)
{
    if (rows) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(rows, o)) return cJSON_Delete(o);
        cJSON_AddStringToObject(o, "layer", what);
        cJSON_AddNumberToObject(o, "naive_s", t_naive);
        cJSON_AddNumberToObject(o, "fast_s", t_fast);
        cJSON_AddNumberToObject(o, "speedup", t_naive / t_fast);
        cJSON_AddNumberToObject(o, "rel_error", e.rel);
        cJSON_AddNumberToObject(o, "float_error", e.scaled);
        return;
    }
    printf("| %-20s | %10.4f | %10.5f | %8.1fx | %12.3g | %12.3g |\n", what, t_naive, t_fast,
           t_naive / t_fast, e.rel, e.scaled);
}

int bench_layers(int json)
{
    Backend *be = backend_create("cpu");
    if (!be) return 1;
    Rng r;
    rng_seed(&r, 42);
    ConvGeom cg;
    PoolGeom pg;
    conv_geom_init(&cg, 100, 3, 31, 31, 25, 3, 3, 3, 2, 1);
    pool_geom_init(&pg, 100, 3, 32, 32, 2, 2, 2);
    size_t nx = conv_in_size(&cg), nw = conv_w_size(&cg), no = conv_out_size(&cg);
    double *x = gaussian(&r, nx), *w = gaussian(&r, nw), *b = gaussian(&r, 25);
    double *dout = gaussian(&r, no), *out = malloc(no * sizeof *out);
    double *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw), db[25];
    float *fx = as_float(x, nx), *fw = as_float(w, nw), *fb = as_float(b, 25);
    float *fdout = as_float(dout, no), *fout = malloc(no * sizeof *fout);
    float *fdx = malloc(nx * sizeof *fdx), *fdw = malloc(nw * sizeof *fdw), fdb[25];
    if (be->conv_reserve(be, &cg) != NNDL_OK) return 1;

    cJSON *root = json ? cJSON_CreateObject() : NULL, *rows = json ? cJSON_CreateArray() : NULL;
    if (json) {
        cJSON_AddStringToObject(root, "benchmark", "layers");
        cJSON_AddNumberToObject(root, "best_of", REPS);
        cJSON_AddItemToObject(root, "rows", rows);
    } else {
        printf("nndl bench layers — seed timing cells, naive = double reference loops, "
               "fast = cpu backend (float32)\n");
        printf("conv: x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1; "
               "pool: x (100, 3, 32, 32), 2x2 stride 2; best of %d runs\n\n", REPS);
        printf("| %-20s | %10s | %10s | %9s | %12s | %12s |\n", "layer", "naive (s)", "fast (s)",
               "speedup", "rel_error", "float_error");
        printf("|----------------------|------------|------------|-----------|--------------|"
               "--------------|\n");
    }

    double tn, tf;
    BEST_TIME(tn, ref_conv_forward_naive(out, x, w, b, &cg));
    BEST_TIME(tf, be->conv_forward(be, fout, fx, fw, fb, &cg));
    row(rows, "conv forward", tn, tf, diff(fout, out, no));

    BEST_TIME(tn, ref_conv_backward_naive(dx, dw, db, dout, x, w, &cg));
    BEST_TIME(tf, be->conv_backward(be, fdx, fdw, fdb, fdout, fx, fw, &cg));
    row(rows, "conv backward dx", tn, tf, diff(fdx, dx, nx));
    row(rows, "conv backward dw", tn, tf, diff(fdw, dw, nw));
    row(rows, "conv backward db", tn, tf, diff(fdb, db, 25));

    size_t px = pool_in_size(&pg), po = pool_out_size(&pg);
    double *pxd = gaussian(&r, px), *pdout = gaussian(&r, po), *pout = malloc(po * sizeof *pout);
    double *pdx = malloc(px * sizeof *pdx);
    float *fpx = as_float(pxd, px), *fpdout = as_float(pdout, po);
    float *fpout = malloc(po * sizeof *fpout), *fpdx = malloc(px * sizeof *fpdx);
    BEST_TIME(tn, ref_max_pool_forward_naive(pout, pxd, &pg));
    BEST_TIME(tf, be->max_pool_forward(be, fpout, fpx, &pg));
    row(rows, "max pool forward", tn, tf, diff(fpout, pout, po));
    BEST_TIME(tn, ref_max_pool_backward_naive(pdx, pdout, pxd, &pg));
    BEST_TIME(tf, be->max_pool_backward(be, fpdx, fpdout, fpx, fpout, &pg));
    row(rows, "max pool backward", tn, tf, diff(fpdx, pdx, px));
    if (!json)
        printf("\nrel_error is the seed's max |a-b| / max(1e-8, |a|+|b|); float_error is "
               "max |a-b| / max(1, |b|).\nconv differences are float32 rounding against float64 "
               "(the seed compares two float64 paths, ~1e-11); pool is exact.\n");

    free(x), free(w), free(b), free(dout), free(out), free(dx), free(dw);
    free(fx), free(fw), free(fb), free(fdout), free(fout), free(fdx), free(fdw);
    free(pxd), free(pdout), free(pout), free(pdx), free(fpx), free(fpdout), free(fpout), free(fpdx);
    backend_destroy(be);
    return json ? json_print_and_free(stdout, root) == NNDL_OK ? 0 : 1 : 0;
}
