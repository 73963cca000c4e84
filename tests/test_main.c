/* test_main.c — runs every CUnit suite; exits non-zero when any assertion failed. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_util.h"

void register_gradcheck_suite(void);
void register_seed_suite(void);
void register_reference_grad_suite(void);
void register_cpu_backend_suite(void);
void register_optim_suite(void);
void register_bad_input_suite(void);
void register_kernel_suite(void);
void register_model_suite(void);
void register_spec_suite(void);
void register_training_suite(void);
void register_checkpoint_suite(void);
void register_data_suite(void);
void register_golden_suite(void);
void register_cuda_backend_suite(void);
void register_device_recipe_suite(void);
void register_check_suite(void);
void register_faults_suite(void);
void register_program_suite(void);
void register_fuzz_found_suite(void);
void register_recipe_suite(void);
void register_whiten_suite(void);
void register_export_suite(void);
void register_run_outputs_suite(void);
void register_data_sources_suite(void);
void register_predict_suite(void);
void register_distributed_suite(void);
void register_cuda_fused_suite(void);

static const SuiteRegistrar registrars[] = {
    register_gradcheck_suite,  register_seed_suite,  register_reference_grad_suite,
    register_cpu_backend_suite, register_optim_suite, register_bad_input_suite, register_kernel_suite,
    register_model_suite, register_spec_suite, register_training_suite, register_checkpoint_suite,
    register_data_suite, register_golden_suite, register_cuda_backend_suite, register_cuda_fused_suite,
    register_device_recipe_suite,
    register_check_suite,
    register_faults_suite, register_program_suite, register_fuzz_found_suite, register_data_sources_suite,
    register_predict_suite, register_export_suite, register_run_outputs_suite,
    register_recipe_suite, register_whiten_suite, register_distributed_suite,
};

/* With arguments, only the suites whose names contain one of them run (make test runs all); an
 * argument "-NAME" instead leaves out the suites whose names contain NAME. */
static void select_suites(int argc, char **argv)
{
    if (argc < 2) return;
    int includes = 0;
    for (int i = 1; i < argc; i++) includes += argv[i][0] != '-';
    CU_set_fail_on_inactive(CU_FALSE);
    for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
        int wanted = !includes;
        for (int i = 1; i < argc; i++) {
            if (argv[i][0] == '-' && strstr(s->pName, argv[i] + 1)) wanted = 0, i = argc;
            else if (argv[i][0] != '-' && strstr(s->pName, argv[i])) wanted = 1;
        }
        CU_set_suite_active(s, wanted ? CU_TRUE : CU_FALSE);
    }
}

/* Wall time per suite, printed slowest first after the run, so that CI's time has an address.
 * CUnit's handlers take no context, hence file-scope state (of this runner only). */
#define MAX_SUITES 64
typedef struct SuiteTime {
    const char *name;
    double seconds;
} SuiteTime;
static SuiteTime suite_times[MAX_SUITES];
static int n_suite_times;
static double suite_started_at;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static void suite_started(const CU_pSuite s)
{
    (void)s;
    suite_started_at = now_seconds();
}
static void suite_completed(const CU_pSuite s, const CU_pFailureRecord f)
{
    (void)f;
    if (s->fActive && n_suite_times < MAX_SUITES) {
        suite_times[n_suite_times].name = s->pName;
        suite_times[n_suite_times++].seconds = now_seconds() - suite_started_at;
    }
}
static int slower_first(const void *a, const void *b)
{
    double x = ((const SuiteTime *)a)->seconds, y = ((const SuiteTime *)b)->seconds;
    return (x < y) - (x > y);
}
static void print_suite_times(void)
{
    qsort(suite_times, (size_t)n_suite_times, sizeof suite_times[0], slower_first);
    printf("\nwall time per suite, slowest first:\n");
    for (int i = 0; i < n_suite_times; i++) printf("  %8.1f s  %s\n", suite_times[i].seconds, suite_times[i].name);
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    for (size_t i = 0; i < sizeof registrars / sizeof *registrars; i++) registrars[i]();
    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
        return 2;
    }
    select_suites(argc, argv);
    /* runs of the program without output flags write under $NNDL_RUNS_DIR: a directory of the
     * tests', removed at the end, not ./runs */
    char runs[64];
    if (make_temp_dir(runs, sizeof runs, "nndl_runs") != 0) return 2;
    setenv("NNDL_RUNS_DIR", runs, 1);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_set_suite_start_handler(suite_started);
    CU_set_suite_complete_handler(suite_completed);
    CU_basic_run_tests();
    print_suite_times();
    unsigned failures = CU_get_number_of_failure_records();
    CU_cleanup_registry();
    remove_tree(runs);
    test_backends_destroy();
    return failures ? 1 : 0;
}
