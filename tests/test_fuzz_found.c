/* test_fuzz_found.c — inputs the fuzz targets (fuzz/) found wrong, kept as regression tests. */
#include "error.h"
#include "model_spec.h"
#include "test_util.h"

/* fuzz_model_spec: a keep probability with more than 6 significant digits was formatted with
 * "%g" and came back as another probability (0.1234567 -> "0.123457"), so two different models
 * had one canonical text, the text checkpoints compare. */
static void test_dropout_keep_round_trips(void)
{
    static const char *const specs[] = {"dropout0.1234567-affine2", "dropout0.99999994-affine2",
                                        "dropout1e-40-affine2", "dropout0.5-affine2"};
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

void register_fuzz_found_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"spec: dropout keep probability survives the canonical text", test_dropout_keep_round_trips},
        CU_TEST_INFO_NULL};
    add_suite("inputs found by fuzzing", tests);
}
