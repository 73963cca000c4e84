/* test_fuzz_found.c — inputs the fuzz targets (fuzz/) found wrong, kept as regression tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "checkpoint.h"
#include "error.h"
#include "model_spec.h"
#include "test_util.h"

/* fuzz_model_spec: a keep probability with more than 6 significant digits was formatted with
 * "%g" and came back as another probability (0.1234567 -> "0.123457"), so two different models
 * had one canonical text, the text checkpoints compare. */
static void test_dropout_keep_round_trips(void)
{
    static const char *const specs[] = {"dropout0.1234567-affine2", "dropout0.99999994-affine2",
                                        "dropout0.000001234567-affine2", "dropout0.5-affine2"};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        ModelSpec a, b;
        char text[MODEL_SPEC_MAX];
        CU_ASSERT_EQUAL_FATAL(model_spec_parse(&a, specs[i]), NNDL_OK);
        model_spec_format(&a, text, sizeof text);
        CU_ASSERT_EQUAL_FATAL(model_spec_parse(&b, text), NNDL_OK);
        CU_ASSERT_EQUAL(b.layers[0].p_keep, a.layers[0].p_keep);
    }
    /* values that round-trip in 6 digits keep their short text */
    ModelSpec s;
    char text[MODEL_SPEC_MAX];
    CU_ASSERT_EQUAL_FATAL(model_spec_parse(&s, "dropout0.9-affine2"), NNDL_OK);
    model_spec_format(&s, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "dropout0.9-affine2");
}

/* fuzz_checkpoint: checkpoint_load_model handed back the stored input mean whatever its length,
 * and eval subtracts C*H*W floats of it from every image: a damaged file with a 1-float mean made
 * eval read past the buffer. The file here is a real checkpoint with the mean's length prefix
 * (u64 4, then the 4 floats) replaced by a 1-float mean. */
static void test_checkpoint_mean_of_wrong_length(void)
{
    enum { C = 1, H = 2, W = 2, MEAN_N = C * H * W };
    const char *spec = "affine3";
    char dir[64], path[96];
    CU_ASSERT_FATAL(make_temp_dir(dir, sizeof dir, "nndl_fuzzfound") == 0);
    snprintf(path, sizeof path, "%s/short_mean.ckpt", dir);
    Dataset train;
    CU_ASSERT_FATAL(dataset_alloc(&train, 4, C, H, W) == NNDL_OK);
    memset(train.x, 0, sizeof(float) * 4 * MEAN_N);
    memset(train.y, 0, sizeof(int) * 4);
    const float mean[MEAN_N] = {0.5f, 1.5f, 2.5f, 3.5f};
    Model m;
    Solver s;
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(UPDATE_SGD);
    cfg.batch_size = 2, cfg.num_epochs = 1, cfg.verbose = 0;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), spec, C, H, W, 1e-2f, 0, LOSS_SOFTMAX, 1, 4) == NNDL_OK);
    CU_ASSERT_FATAL(solver_init(&s, &m, &train, &train, &cfg) == NNDL_OK);
    s.input_mean = mean;
    CU_ASSERT_FATAL(checkpoint_save(&s, path) == NNDL_OK);
    solver_free(&s);

    FILE *f = fopen(path, "rb");
    unsigned char bytes[1 << 16];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    unsigned char stored[8 + sizeof mean], shorter[8 + sizeof(float)];
    const uint64_t full_n = MEAN_N, short_n = 1;
    memcpy(stored, &full_n, 8), memcpy(stored + 8, mean, sizeof mean);
    memcpy(shorter, &short_n, 8), memcpy(shorter + 8, mean, sizeof(float));
    unsigned char *at = memmem(bytes, n, stored, sizeof stored);
    CU_ASSERT_FATAL(at != NULL);
    memcpy(at, shorter, sizeof shorter);
    memmove(at + sizeof shorter, at + sizeof stored, n - (size_t)(at - bytes) - sizeof stored);
    f = fopen(path, "wb");
    fwrite(bytes, 1, n - (sizeof stored - sizeof shorter), f);
    fclose(f);

    float *loaded = NULL;
    CU_ASSERT_EQUAL(checkpoint_load_model(&m, &loaded, path), NNDL_ERR);
    CU_ASSERT_PTR_NULL(loaded);
    free(loaded);
    model_free(&m);
    dataset_free(&train);
    remove_tree(dir);
}

void register_fuzz_found_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"spec: dropout keep probability survives the canonical text", test_dropout_keep_round_trips},
        {"checkpoint: an input mean of the wrong length is refused", test_checkpoint_mean_of_wrong_length},
        CU_TEST_INFO_NULL};
    add_suite("inputs found by fuzzing", tests);
}
