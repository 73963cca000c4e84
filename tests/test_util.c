/* test_util.c — see test_util.h. */
#include "test_util.h"

#include <ftw.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "error.h"

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

const char *test_program(void)
{
    const char *p = getenv("NNDL_PROGRAM");
    return p && *p ? p : "./nndl";
}

int run_program(const char *args, char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_program(), args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t got = 0, n;
    char sink[4096];
    while ((n = fread(got + 1 < size ? out + got : sink, 1, got + 1 < size ? size - 1 - got : sizeof sink, p)) > 0)
        if (got + 1 < size) got += n;
    out[got] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void expect_cli(const char *args, int want_status, const char *fragment)
{
    char out[8192];
    int status = run_program(args, out, sizeof out);
    CU_ASSERT_EQUAL(status, want_status);
    int found = strstr(out, fragment) != NULL;
    if (!found || status != want_status)
        fprintf(stderr, "\n    nndl %s -> %d: %.300s\n", args, status, out);
    CU_ASSERT(found);
}
