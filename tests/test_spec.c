/* test_spec.c — the edges of the spec path: text that reads back as the same layers, and limits
 * (length, nesting, dropout probabilities, model size) refused with a message instead of being
 * cut, overflowing the stack, underflowing or hanging. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "test_util.h"
#include "train_options.h"

static int same_layers(const ModelSpec *a, const ModelSpec *b)
{
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (!layer_spec_equal(&a->layers[i], &b->layers[i])) return 0;
    return 1;
}

/* Every accepted spec formats to text that parses back to the same layers and formats the same
 * again: the canonical text is what checkpoints store and eval rebuilds the model from. */
static void test_canonical_text_round_trips(void)
{
    static const char *const specs[] = {
        "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10",
        "[conv3x3-relu]x2-pool2-fc7-bn-relu-dropout0.9-affine10",
        "[[relu-bn]x2-dropout0.75]x3-affine010",
        "affine10-dropout0.1234567-affine10",   /* more digits than %g keeps */
        "affine10-dropout0.33333333333333-affine10",
        "affine10-dropout1e-6-affine10",        /* the smallest p allowed */
        "affine10-dropout.5-dropout1-dropout0.999999-affine10",
        "conv1x1-pool1-conv5x7-affine1",
        "conv24x2(pad=0)-conv64x3(stride=2)-conv64x3(nobias)-conv64x3(stride=2,pad=1,nobias)-conv8x4(pad=3)-gap-fc10",
        "bn(noscale)-bn(momentum=0.6)-bn(eps=1e-12)-bn(eps=0.1234567890123,momentum=0.3333333333333333)-affine10",
        "res[conv64x3-bn-relu-conv64x3-bn]-[res(proj)[conv8x3(stride=2)-gelu-res[relu]]]x2-gmp-affine10-scale0.125",
        "affine10-scale1e-6-scale1000000-scale0.1",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        ModelSpec a, b;
        char text[MODEL_SPEC_MAX], again[MODEL_SPEC_MAX];
        CU_ASSERT_EQUAL_FATAL(model_spec_parse(&a, specs[i]), NNDL_OK);
        model_spec_format(&a, text, sizeof text);
        int parsed = model_spec_parse(&b, text) == NNDL_OK;
        CU_ASSERT(parsed);
        if (!parsed) continue;
        int same = same_layers(&a, &b);
        CU_ASSERT(same);
        model_spec_format(&b, again, sizeof again);
        CU_ASSERT_STRING_EQUAL(again, text);
        if (!same) fprintf(stderr, "\n    '%s' formats as '%s', which reads back differently\n", specs[i], text);
    }
}

/* Defaults are left out of the canonical text (old checkpoints and the seed's specs read the
 * same), options come in a fixed order, and blocks keep their brackets. */
static void test_canonical_text_of_options(void)
{
    static const char *const pairs[][2] = {
        {"conv64x3", "conv64x3"},
        {"conv64x3(stride=1,pad=1)", "conv64x3"},
        {"conv24x2(pad=0)", "conv24x2"},
        {"conv24x2(pad=1)", "conv24x2(pad=1)"},
        {"conv64x3(nobias,pad=1,stride=2)", "conv64x3(stride=2,nobias)"},
        {"bn(momentum=0.9,eps=1e-5)", "bn"},
        {"bn(eps=1e-12,noscale)", "bn(noscale,eps=1e-12)"},
        {"res(proj)[conv8x3-relu]", "res(proj)[conv8x3-relu]"},
        {"[res[relu-bn]]x2", "res[relu-bn]-res[relu-bn]"},
        {"scale.125", "scale0.125"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        char spec[256], want[256], text[MODEL_SPEC_MAX];
        snprintf(spec, sizeof spec, "%s-affine10", pairs[i][0]);
        snprintf(want, sizeof want, "%s-affine10", pairs[i][1]);
        ModelSpec s;
        CU_ASSERT_EQUAL_FATAL(model_spec_parse(&s, spec), NNDL_OK);
        model_spec_format(&s, text, sizeof text);
        CU_ASSERT_STRING_EQUAL(text, want);
    }
}

/* A valid spec of `total` characters: dropout0.5 tokens padded with zeros, then affine10. */
static char *long_spec(size_t total)
{
    char *s = malloc(total + 1);
    const char *tail = "affine10", *head = "dropout0.5";
    size_t used = 0, prefix = total - strlen(tail), token = strlen(head) + 1; /* "dropout0.5-" */
    while (used < prefix) {
        size_t left = prefix - used, zeros = left >= 2 * token + 40 ? 40 : left - token;
        used += sprintf(s + used, "%s", head);
        memset(s + used, '0', zeros);
        used += zeros;
        s[used++] = '-';
    }
    strcpy(s + used, tail);
    return s;
}

static void test_long_specs_are_refused_not_cut(void)
{
    /* cut at 1023 characters it would end in "affine1": another valid model */
    char *s = long_spec(MODEL_SPEC_MAX);
    CU_ASSERT_EQUAL_FATAL(strlen(s), MODEL_SPEC_MAX);
    CU_ASSERT_FATAL(strncmp(s + MODEL_SPEC_MAX - 8, "affine10", 8) == 0);
    ModelSpec spec;
    ASSERT_ERROR_MENTIONS(model_spec_parse(&spec, s), "longer than 1023 characters");
    /* --model must not cut it on the way to the parser either */
    TrainOptions o = train_options_default();
    o.model = s;
    char text[MODEL_SPEC_MAX];
    ASSERT_ERROR_MENTIONS(train_options_spec(&o, text, sizeof text), "more than 1023");
    free(s);
    /* the longest accepted spec passes through whole */
    s = long_spec(MODEL_SPEC_MAX - 1);
    o.model = s;
    CU_ASSERT_EQUAL(train_options_spec(&o, text, sizeof text), NNDL_OK);
    CU_ASSERT_STRING_EQUAL(text, s);
    CU_ASSERT_EQUAL(model_spec_parse(&spec, s), NNDL_OK);
    free(s);
    /* short as written, too long once repeats are expanded: the Model and checkpoints keep the
     * canonical text, so it is refused too */
    ASSERT_ERROR_MENTIONS(model_spec_parse(&spec, "[conv100x1]x110-affine10"), "1108 characters");
    Model m;
    ASSERT_ERROR_MENTIONS(model_init(&m, test_backend("cpu"), "[conv100x1]x110-affine10", 1, 1, 1, 1e-3f, 0,
                                     LOSS_SOFTMAX, 0, 2), "more than 1023");
    /* the seed's model builders say so too */
    int hidden[16];
    for (int i = 0; i < 16; i++) hidden[i] = 100000;
    ASSERT_ERROR_MENTIONS(model_spec_fc(text, 64, hidden, 16, 10, 1, 0.5f), "more than 63");
    ASSERT_ERROR_MENTIONS(model_spec_three_layer_cnn(text, 16, 64, 3, 500, 10, 1), "more than 15");
    /* and keep every digit of the dropout probability they are given */
    int one = 100;
    CU_ASSERT_EQUAL(model_spec_fc(text, sizeof text, &one, 1, 10, 0, 0.1234567f), NNDL_OK);
    CU_ASSERT_STRING_EQUAL(text, "affine100-relu-dropout0.1234567-affine10");
}

static char *nested(int depth, const char *inside)
{
    char *s = malloc((size_t)depth * 4 + strlen(inside) + 16), *p = s;
    for (int i = 0; i < depth; i++) *p++ = '[';
    p += sprintf(p, "%s", inside);
    for (int i = 0; i < depth; i++) p += sprintf(p, "]x1");
    strcpy(p, "-affine10");
    return s;
}

static void test_group_nesting_is_limited(void)
{
    ModelSpec spec;
    char *s = nested(MODEL_SPEC_MAX_DEPTH, "relu");
    CU_ASSERT_EQUAL(model_spec_parse(&spec, s), NNDL_OK);
    free(s);
    s = nested(MODEL_SPEC_MAX_DEPTH + 1, "relu");
    ASSERT_ERROR_MENTIONS(model_spec_parse(&spec, s), "nested more than 16 deep");
    free(s);
    /* deep enough to overflow the stack of a parser that recursed once per '[' */
    size_t n = 1 << 20;
    s = malloc(n + 1);
    memset(s, '[', n);
    s[n] = '\0';
    CU_ASSERT_EQUAL(model_spec_parse(&spec, s), NNDL_ERR);
    free(s);
}

static void test_dropout_probabilities(void)
{
    static const char *const refused[] = {
        "affine10-dropout1e-300-affine10", /* underflows float to 0 */
        "affine10-dropout1e-40-affine10",  /* a float denormal: 1/p is infinite */
        "affine10-dropout9e-7-affine10",   /* below the mask's resolution */
        "affine10-dropout0-affine10",
        "affine10-dropout1.5-affine10",
        "affine10-dropout0x1p-1-affine10", /* hex, inf, nan: not a plain decimal */
        "affine10-dropoutinf-affine10",
        "affine10-dropoutnan-affine10",
        "affine10-dropout -affine10",
    };
    ModelSpec spec;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        ASSERT_ERROR_MENTIONS(model_spec_parse(&spec, refused[i]), "in [1e-6, 1]");
    CU_ASSERT_EQUAL(model_spec_parse(&spec, "affine10-dropout1e-6-affine10"), NNDL_OK);
    CU_ASSERT_EQUAL(model_spec_parse(&spec, "affine10-dropout1-affine10"), NNDL_OK);
}

static void expect_model_error(const char *spec, int C, int H, int W, int batch, const char *fragment)
{
    Model m;
    ASSERT_ERROR_MENTIONS(model_init(&m, test_backend("cpu"), spec, C, H, W, 1e-3f, 0, LOSS_SOFTMAX, 0, batch), fragment);
}

/* Models too large to be meant are refused before a single weight is drawn, naming the layer. */
static void test_model_size_limits(void)
{
    expect_model_error("affine1000000-affine10", 3, 32, 32, 100, "layer 1 (affine1000000) has 3073000000 parameters");
    expect_model_error("conv8x3-relu-affine100000-affine10", 3, 32, 32, 100, "layer 3 (affine100000)");
    expect_model_error("conv1000000x999999-affine10", 3, 32, 32, 100, "layer 1 (conv1000000x999999)");
    expect_model_error("conv8x3-affine10", 3, 32, 32, 200000, "layer 1 (conv8x3) outputs 8192 values per example");
    expect_model_error("conv8x3-affine10", 3, 32, 32, 200000, "limit of 1073741824 values per batch");
    expect_model_error("affine10", 1 << 20, 1 << 20, 1 << 20, 1, "input batch");
    /* the seed's model at a large batch stays well inside */
    Model m;
    CU_ASSERT_EQUAL(model_init(&m, test_backend("cpu"), "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10", 3, 32, 32,
                               1e-3f, 0, LOSS_SOFTMAX, 0, 1000), NNDL_OK);
    model_free(&m);
}

/* A shape error says where once ("layer 2: ..."), with the geometry's message intact. */
static void test_shape_error_names_the_layer_once(void)
{
    expect_model_error("conv8x3-pool9-affine10", 3, 8, 8, 4, "layer 2: max_pool: pool 9x9 is larger than input 8x8");
    CU_ASSERT_PTR_NULL(strstr(nndl_last_error(), "layer 2: layer 2"));
    expect_model_error("conv8x3(pad=0)-conv8x3(pad=0)-conv8x3(pad=0)-conv8x3(pad=0)-affine10", 3, 8, 8, 4,
                       "layer 4 (conv8x3(pad=0)): conv: filter 3x3 with pad 0 is larger than input 2x2");
    CU_ASSERT_PTR_NULL(strstr(nndl_last_error(), "layer 4 (conv8x3(pad=0)): layer 4"));
}

void register_spec_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"canonical text reads back as the same layers", test_canonical_text_round_trips},
        {"canonical text of options and blocks", test_canonical_text_of_options},
        {"specs over 1023 characters are refused, never cut", test_long_specs_are_refused_not_cut},
        {"group nesting is limited", test_group_nesting_is_limited},
        {"dropout keep probabilities outside [1e-6, 1] are refused", test_dropout_probabilities},
        {"models over the parameter and activation limits are refused", test_model_size_limits},
        {"shape errors name the layer once", test_shape_error_names_the_layer_once},
        CU_TEST_INFO_NULL};
    add_suite("spec limits", tests);
}
