/* backend_checks.c — the op checks of check/op_checks.c as CUnit suites, one per backend: every
 * row of `nndl check` becomes an assertion, so the command and the tests share one definition of
 * what "this device computes what the reference computes" means. */
#include <stdio.h>
#include <string.h>

#include "backend_checks.h"
#include "error.h"
#include "op_checks.h"
#include "test_util.h"

static const Backend *be; /* the backend under test, set by the suite's init */

static void assert_row(const CheckRow *row, void *ctx)
{
    (void)ctx;
    char msg[320];
    snprintf(msg, sizeof msg, "%s %s %s: error %.3g (tolerance %.3g)", row->op, row->shape,
             row->what, row->error, row->tol);
    if (!row->pass) fprintf(stderr, "\n    FAILED %s\n", msg);
    CU_assertImplementation(row->pass ? CU_TRUE : CU_FALSE, __LINE__, msg, __FILE__, __func__, CU_FALSE);
}

/* CUnit tests take no argument: one function serves every check, found by the test's title. */
static void test_op_check(void)
{
    const char *title = CU_get_current_test()->pName;
    const OpCheck *check = NULL;
    for (size_t i = 0; i < op_check_count && !check; i++)
        if (strcmp(op_checks[i].title, title) == 0) check = &op_checks[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(check);
    CheckRun run = {.be = be, .sink = assert_row};
    check->run(&run);
    CU_ASSERT(run.rows > 0);
}

static int init_cpu(void) { return !(be = test_backend("cpu")); }
static int init_cuda(void) { return !(be = test_backend("cuda")); }

void register_backend_checks(const char *name, const char *be_name)
{
    if (!test_backend(be_name)) {
        printf("suite '%s' not run: %s\n", name, nndl_last_error());
        return;
    }
    CU_pSuite suite = CU_add_suite(name, strcmp(be_name, "cuda") ? init_cpu : init_cuda, NULL);
    for (size_t i = 0; suite && i < op_check_count; i++) CU_add_test(suite, op_checks[i].title, test_op_check);
}
