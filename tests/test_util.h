/* test_util.h — shared helpers for the CUnit suites: random data, float/double conversion, and
 * assertions that print the measured value when they fail. */
#ifndef NNDL_TEST_UTIL_H
#define NNDL_TEST_UTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>

#include "backend.h"
#include "rng.h"

/* Fails the test with "what: value (limit)" so a red run says by how much. */
#define ASSERT_BELOW(value, limit, what)                                                          \
    test_assert_below((value), (limit), (what), __LINE__, __FILE__, __func__)
void test_assert_below(double value, double limit, const char *what, int line, const char *file,
                       const char *func);

/* The call failed (rc == NNDL_ERR) and its message (nndl_last_error) mentions fragment. */
#define ASSERT_ERROR_MENTIONS(rc, fragment)                                                       \
    test_assert_error_mentions((rc), (fragment), __LINE__, __FILE__, __func__)
void test_assert_error_mentions(int rc, const char *fragment, int line, const char *file,
                                const char *func);

/* A fresh directory under /tmp (template "/tmp/nndl_XXXXXX" style), and its removal with all
 * it holds; tests leave nothing behind. */
int make_temp_dir(char *path, size_t size, const char *prefix);
void remove_tree(const char *path);

/* Suites register themselves from test_main.c; tests is a CU_TEST_INFO_NULL-terminated array. */
typedef void (*SuiteRegistrar)(void);
void add_suite(const char *name, const CU_TestInfo *tests);

/* The suites' shared instance of backend `name`, created on first use and destroyed by
 * test_backends_destroy at the end of the run; NULL (reason in nndl_last_error) when the backend
 * is unavailable. Tests that need a fresh context create their own. */
const Backend *test_backend(const char *name);
void test_backends_destroy(void);

double *randn(Rng *r, size_t n, double scale, double shift); /* malloc'd N(shift, scale^2) */
double *zeros(size_t n);
double *linspace(double lo, double hi, size_t n);
float *to_float(const double *x, size_t n);                   /* malloc'd copy */
double *to_double(const float *x, size_t n);
/* Rounds a double array through float, so the reference sees exactly the backend's inputs. */
void round_to_float(double *x, size_t n);
int *rand_labels(Rng *r, int N, int C);

#endif
