/* test_util.h — shared helpers for the CUnit suites: assertions that print the measured value
 * when they fail, temporary directories; random data comes from check_data.h. */
#ifndef NNDL_TEST_UTIL_H
#define NNDL_TEST_UTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>

#include "check_data.h"

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

/* The program under test (NNDL_PROGRAM, set by make test; sanitizer builds have their own), run
 * with args: its exit status (128 + signal if killed) and its stdout and stderr in out. */
const char *test_program(void);
int run_program(const char *args, char *out, size_t size);
/* Runs the program and asserts its exit status and that its output mentions fragment. */
void expect_cli(const char *args, int want_status, const char *fragment);

/* Suites register themselves from test_main.c; tests is a CU_TEST_INFO_NULL-terminated array. */
typedef void (*SuiteRegistrar)(void);
void add_suite(const char *name, const CU_TestInfo *tests);

#endif
