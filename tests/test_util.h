/* test_util.h — shared helpers for the CUnit suites: assertions that print the measured value
 * when they fail, temporary directories; random data comes from check_data.h. */
#ifndef NNDL_TEST_UTIL_H
#define NNDL_TEST_UTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>

#include "check_data.h"
#include "dataset.h"
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

/* n examples of (c, h, w): gaussian pixels, random labels of 10 classes (pure memorisation). */
void make_random_dataset(Dataset *d, int n, int c, int h, int w, uint64_t seed);

/* Generated CIFAR-10 batch files (the real data set is not needed): record r has label
 * (r + label_offset) % 10 and pixel i = (r + i) % 251 for the first 40 records; the file is
 * then extended to size bytes of zeros (label 0, black images), sparse. */
int write_cifar_batch(const char *dir, const char *name, int label_offset, long size);

/* A w x h PNG (stb_image_write) whose red channel is `red`, green 30x, blue 40y. */
int write_test_png(const char *path, int w, int h, int red);
/* An image folder dir/<classes[c]>/<k>.png, per_class w x h images per class, image k of class c
 * with red = 10 + 20c + k. */
int write_test_image_folder(const char *dir, const char *const *classes, int n_classes, int per_class, int w, int h);
/* A CIFAR-100 file of size bytes: records r < 40 have coarse label r % 20, fine (3r) % 100,
 * pixel i = (r + i) % 251; the rest zeros (sparse). */
int write_cifar100_file(const char *dir, const char *name, long size);

/* The program under test (NNDL_PROGRAM, which make test sets; ./nndl otherwise), run with args:
 * its exit status, and stdout + stderr into out. expect_cli asserts the status and that the
 * output mentions fragment, printing both when it does not. */
const char *test_program(void);
int run_cli(const char *args, char *out, size_t size);
/* A shell command line the same way (stdout + stderr into out; the exit status, -1 when killed). */
int run_shell(const char *command, char *out, size_t size);
void expect_cli(const char *args, int want_status, const char *fragment);
/* Whether the program under test has a usable cuda device (a CUDA=1 build on a machine with a
 * GPU; `--version` says so): command-line tests that name no device then run on it. */
int cli_has_cuda(void);

/* Suites register themselves from test_main.c; tests is a CU_TEST_INFO_NULL-terminated array. */
typedef void (*SuiteRegistrar)(void);
void add_suite(const char *name, const CU_TestInfo *tests);

/* The suites' shared instance of backend `name`, created on first use and destroyed by
 * test_backends_destroy at the end of the run; NULL (reason in nndl_last_error) when the backend
 * is unavailable. Tests that need a fresh context create their own. */
const Backend *test_backend(const char *name);
void test_backends_destroy(void);

#endif
