/* test_util.c — see test_util.h. */
#include "test_util.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include <stdlib.h>

void test_assert_below(double value, double limit, const char *what, int line, const char *file,
                       const char *func)
{
    char msg[256];
    int ok = value < limit; /* NaN fails */
    snprintf(msg, sizeof msg, "%s: %.3g (limit %.3g)", what, value, limit);
    if (!ok) fprintf(stderr, "\n    FAILED %s\n", msg);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, func, CU_FALSE);
}

void test_assert_error_mentions(int rc, const char *fragment, int line, const char *file,
                                const char *func)
{
    char msg[700];
    int ok = rc == NNDL_ERR && strstr(nndl_last_error(), fragment) != NULL;
    snprintf(msg, sizeof msg, "error (rc %d) '%s' mentions '%s'", rc, nndl_last_error(), fragment);
    if (!ok) fprintf(stderr, "\n    FAILED %s\n", msg);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, func, CU_FALSE);
}

int make_temp_dir(char *path, size_t size, const char *prefix)
{
    snprintf(path, size, "/tmp/%s_XXXXXX", prefix);
    return mkdtemp(path) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

void add_suite(const char *name, const CU_TestInfo *tests)
{
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);
    for (; suite && tests->pName; tests++) CU_add_test(suite, tests->pName, tests->pTestFunc);
}

double *randn(Rng *r, size_t n, double scale, double shift)
{
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = shift + scale * rng_gaussian(r);
    return x;
}

double *zeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

double *linspace(double lo, double hi, size_t n)
{
    double *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = n == 1 ? lo : lo + (hi - lo) * (double)i / (double)(n - 1);
    return x;
}

float *to_float(const double *x, size_t n)
{
    float *f = malloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}

double *to_double(const float *x, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

void round_to_float(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)x[i];
}

int *rand_labels(Rng *r, int N, int C)
{
    int *y = malloc((size_t)(N ? N : 1) * sizeof *y);
    for (int i = 0; i < N; i++) y[i] = (int)rng_below(r, (uint32_t)C);
    return y;
}

static Backend *shared_backends[2]; /* cpu, cuda */

const Backend *test_backend(const char *name)
{
    int k = strcmp(name, "cpu") == 0 ? 0 : strcmp(name, "cuda") == 0 ? 1 : -1;
    if (k < 0) return backend_create(name); /* unknown: NULL with the registry's message */
    if (!shared_backends[k]) shared_backends[k] = backend_create(name);
    return shared_backends[k];
}

void test_backends_destroy(void)
{
    for (int k = 0; k < 2; k++) backend_destroy(shared_backends[k]), shared_backends[k] = NULL;
}
