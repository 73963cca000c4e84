/* test_check.c — `nndl check` as a user runs it: the command passes on a correct backend, fails
 * (exit 1) when one op is wrong, refuses unknown ops and unusable devices, and runs the cuda
 * checks through the SIMT host. The comparisons themselves are those of the backend suites. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "error.h"
#include "test_util.h"

static void test_check_command_on_cpu(void)
{
    static char out[1 << 16];
    CU_ASSERT_EQUAL(run_cli("check --device cpu", out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nndl check: all passed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "OpenMP threads; GEMM ")); /* the device line */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "x(4,3,31,31) w(5,3,3,3) s2 p1")); /* a conv case ran */
    /* and the ops of the newer layer kinds */
    static const char *const newer[] = {"conv_floor", "global_max_pool", "global_avg_pool", "gelu", "scale_add"};
    for (size_t i = 0; i < sizeof newer / sizeof *newer; i++) {
        char row[64];
        snprintf(row, sizeof row, "cpu    %s", newer[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, row));
    }
    CU_ASSERT_PTR_NULL(strstr(out, "FAIL"));
    int rows = 0, failed = -1;
    const char *summary = strstr(out, "\ncpu: ");
    while (summary && sscanf(summary, "\ncpu: %d comparisons, %d failed", &rows, &failed) != 2)
        summary = strstr(summary + 1, "\ncpu: ");
    CU_ASSERT(rows > 100);
    CU_ASSERT_EQUAL(failed, 0);
}

static void test_check_command_refusals(void)
{
    expect_cli("check --op softmax_fast", 2, "unknown op 'softmax_fast'");
    expect_cli("check --device tpu", 2, "'tpu' is not cpu, cuda or all");
    expect_cli("check --model", 2, "--model needs a value");
    /* plain ./nndl has no cuda backend: asked for by name, that is a failure, not a skip; a CUDA=1
     * build on a GPU checks it */
    if (cli_has_cuda())
        expect_cli("check --device cuda --op relu", 0, "cuda: 2 comparisons, 0 failed");
    else
        expect_cli("check --device cuda", 1, "requested but unusable");
    expect_cli("check --device cpu --model 'conv8x3(stride=0)-affine10' --op relu", 2, "bad conv token"); /* a bad flag */
    expect_cli("check --device cpu --model cnn3", 2, "--model: model spec: unknown layer");
    /* a model that parses but cannot be built on the input: the user's error (exit 2), before
     * the table, not a FAIL row that reads as a broken device */
    char out[4096];
    CU_ASSERT_EQUAL(run_cli("check --device cpu --op relu --model affine100000-affine100000-affine10", out, sizeof out), 2);
    CU_ASSERT(strstr(out, "past the limit") != NULL && strstr(out, "FAIL") == NULL && strstr(out, "max error") == NULL);
    expect_cli("check --device cpu --model 'conv12x2(whiten)-affine10'", 2, "whiten makes 2 x C x K x K = 24 filters");
    /* the one-process commands under a launcher of several ranks say that each rank runs all of
     * it (a job step may mean it: each task on its own files), and go on */
    const char *one_process[] = {"eval /nonexistent.ckpt", "predict --checkpoint /nonexistent.ckpt a.png",
                                 "export /nonexistent.ckpt b.safetensors", "check --device cpu --op relu"};
    for (size_t k = 0; k < sizeof one_process / sizeof *one_process; k++) {
        char shell[600];
        snprintf(shell, sizeof shell, "OMPI_COMM_WORLD_SIZE=2 '%s' %s", test_program(), one_process[k]);
        CU_ASSERT_EQUAL(run_shell(shell, out, sizeof out), k == 3 ? 0 : 1);
        CU_ASSERT(strstr(out, "is not data-parallel: each of the launcher's 2 processes runs all of it") != NULL);
    }
    CU_ASSERT_EQUAL(run_cli("check --op nosuch", out, sizeof out), 2);
    CU_ASSERT(strstr(out, "unknown op 'nosuch'") != NULL && strstr(out, "max error") == NULL); /* no table begun */
    expect_cli("--version", 0, "nndl 0.");
    /* the seed's default model: its biases before batchnorm have a zero exact gradient */
    expect_cli("check --device cpu --op relu --model conv8x3-bn-relu-pool2-affine20-bn-relu-affine10 "
               "--input 3,16,16 --batch 2", 0, "nndl check: all passed");
    /* a model step of every newer kind: its projection's gradient is among the rows */
    expect_cli("check --device cpu --op gelu --model 'conv8x2(pad=0)-bn(noscale)-gelu-res[conv8x3(nobias)-bn-relu]-"
               "res(proj)[conv16x3(stride=2)-gelu]-gmp-affine10-scale0.125' --input 3,9,9 --batch 2", 0, "Wproj4");
}

/* ---- a planted wrong op: relu backward that forgets the mask ------------------------------ */

static void relu_backward_without_mask(const Backend *be, float *dx, const float *dout, const float *x, size_t n)
{
    (void)be, (void)x;
    memcpy(dx, dout, n * sizeof *dx);
}

static Backend *planted_create(const char *name)
{
    Backend *be = backend_create(name);
    if (be && strcmp(name, "cpu") == 0) be->relu_backward = relu_backward_without_mask;
    return be;
}

/* The command's whole output, run in-process with its table written to a temporary file. */
static int run_check_command(const CheckOptions *o, BackendCreate create, char *text, size_t size)
{
    FILE *out = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    int rc = check_command_run(o, create, out);
    rewind(out);
    size_t n = fread(text, 1, size - 1, out);
    text[n] = '\0';
    fclose(out);
    return rc;
}

static void test_planted_wrong_op_fails_the_command(void)
{
    static char text[1 << 15];
    const char *relu[] = {"relu"}, *conv[] = {"conv"};
    CheckOptions o = {.device = "cpu", .sel = {.ops = relu, .n_ops = 1}};
    CU_ASSERT_EQUAL(run_check_command(&o, planted_create, text, sizeof text), 1);
    /* the forward row passes, the backward row is the one that fails, and the summary says so */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "relu          x(1001), x[0] = 0                          dx"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "FAIL\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "cpu: 2 comparisons, 1 failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "nndl check: FAILED"));
    CU_ASSERT_EQUAL(run_check_command(&o, backend_create, text, sizeof text), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "nndl check: all passed"));
    o.sel.ops = conv; /* a check that does not use the broken op still passes */
    CU_ASSERT_EQUAL(run_check_command(&o, planted_create, text, sizeof text), 0);
}

/* The test binary carries the cuda backend (on the SIMT host, or on the GPU in a CUDA=1 build): the
 * command's cuda path runs. */
static void test_check_command_on_cuda_through_simt(void)
{
    static char text[1 << 16];
    if (!test_backend("cuda")) {
        CU_FAIL("the test binary should carry the cuda backend on the SIMT host");
        return;
    }
    CheckOptions o = {.device = "cuda",
                      .sel = {.model_c = 3, .model_h = 8, .model_w = 8, .model_batch = 3}};
    const char *models[] = {"conv4x3-bn-relu-pool2-affine6-relu-dropout0.8-affine10"};
    o.sel.models = models, o.sel.n_models = 1;
    CU_ASSERT_EQUAL(run_check_command(&o, backend_create, text, sizeof text), 0);
    CU_ASSERT(strstr(text, "cuda: SIMT host") || strstr(text, "(compute capability "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "W2 after an sgd step")); /* the model step ran */
    CU_ASSERT_PTR_NULL(strstr(text, "FAIL"));
}

void register_check_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"nndl check --device cpu passes and prints the table", test_check_command_on_cpu},
        {"nndl check refuses unknown ops, devices and specs", test_check_command_refusals},
        {"a planted wrong op makes nndl check exit 1", test_planted_wrong_op_fails_the_command},
        {"nndl check --device cuda (SIMT host or GPU), with a model step", test_check_command_on_cuda_through_simt},
        CU_TEST_INFO_NULL};
    add_suite("nndl check", tests);
}
