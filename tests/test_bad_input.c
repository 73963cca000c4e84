/* test_bad_input.c — shapes that do not fit, unknown names: a clear error naming the layer and
 * the shapes, never a crash. */
#include <string.h>

#include "backend.h"
#include "error.h"
#include "geometry.h"
#include "test_util.h"

/* The call must fail and its message must mention every fragment. */
static void expect_error(int rc, const char *const fragments[])
{
    for (; *fragments; fragments++) ASSERT_ERROR_MENTIONS(rc, *fragments);
}

static void test_conv_shapes(void)
{
    ConvGeom g;
    expect_error(conv_geom_init(&g, 0, 3, 8, 8, 4, 3, 3, 3, 1, 1),
                 (const char *const[]){"conv", "(0, 3, 8, 8)", NULL});
    expect_error(conv_geom_init(&g, 2, 3, 8, 8, 4, 2, 3, 3, 1, 1),
                 (const char *const[]){"conv", "3 channels", "(4, 2, 3, 3)", NULL});
    expect_error(conv_geom_init(&g, 2, 3, 8, 8, 4, 3, 3, 3, 2, 0), /* (8 - 3) / 2 not whole */
                 (const char *const[]){"conv", "3x3", "stride 2", "8x8", NULL});
    expect_error(conv_geom_init(&g, 2, 3, 4, 4, 4, 3, 7, 7, 1, 1), /* filter larger than input */
                 (const char *const[]){"conv", "7x7", NULL});
    expect_error(conv_geom_init(&g, 2, 3, 8, 8, 4, 3, 3, 3, 0, 1),
                 (const char *const[]){"conv", "stride 0", NULL});
    expect_error(conv_geom_init(&g, 2, 3, 8, 8, 4, 3, 3, 3, 1, -1),
                 (const char *const[]){"conv", "pad -1", NULL});
    expect_error(conv_geom_init(&g, 2, 3, 8, 8, -4, 3, 3, 3, 1, 1),
                 (const char *const[]){"conv", "(-4, 3, 3, 3)", NULL});
    CU_ASSERT_EQUAL(conv_geom_init(&g, 2, 3, 8, 8, 4, 3, 3, 3, 1, 1), NNDL_OK);
    CU_ASSERT(g.Ho == 8 && g.Wo == 8);
}

static void test_pool_shapes(void)
{
    PoolGeom g;
    expect_error(pool_geom_init(&g, 2, 3, 7, 8, 2, 2, 2),
                 (const char *const[]){"max_pool", "2x2", "7x8", NULL});
    expect_error(pool_geom_init(&g, 2, 3, 8, 8, 0, 2, 2),
                 (const char *const[]){"max_pool", "0x2", NULL});
    expect_error(pool_geom_init(&g, 2, -3, 8, 8, 2, 2, 2),
                 (const char *const[]){"max_pool", "(2, -3, 8, 8)", NULL});
    CU_ASSERT_EQUAL(pool_geom_init(&g, 2, 3, 8, 8, 2, 2, 2), NNDL_OK);
    CU_ASSERT(pool_geom_tiles(&g));
    CU_ASSERT_EQUAL(pool_geom_init(&g, 2, 3, 7, 7, 3, 3, 2), NNDL_OK);
    CU_ASSERT(!pool_geom_tiles(&g));
}

static void test_affine_shapes(void)
{
    expect_error(affine_check(10, 3072, 3000, 100),
                 (const char *const[]){"affine", "(10, 3072)", "(3000, 100)", NULL});
    expect_error(affine_check(0, 5, 5, 3), (const char *const[]){"affine", "(0, 5)", NULL});
    CU_ASSERT_EQUAL(affine_check(10, 5, 5, 3), NNDL_OK);
}

static void test_unknown_backend(void)
{
    CU_ASSERT_PTR_NULL(backend_create("tpu"));
    CU_ASSERT_PTR_NOT_NULL(strstr(nndl_last_error(), "tpu"));
    Backend *cpu = backend_create("cpu");
    CU_ASSERT_PTR_NOT_NULL(cpu);
    backend_destroy(cpu);
    /* cuda is either usable or explains why not */
    Backend *cuda = backend_create("cuda");
    if (!cuda) CU_ASSERT_PTR_NOT_NULL(strstr(nndl_last_error(), "cuda"));
    backend_destroy(cuda);
}

/* Where a failure happened goes in front of the message, which stays intact even when the
 * context quotes it (nndl_fail("%s", nndl_last_error()) would read the buffer it writes). */
static void test_error_context(void)
{
    nndl_fail("pool %dx%d does not fit", 3, 3);
    CU_ASSERT_EQUAL(nndl_fail_context("layer %d", 2), NNDL_ERR);
    CU_ASSERT_STRING_EQUAL(nndl_last_error(), "layer 2: pool 3x3 does not fit");
    nndl_fail_context("again (%s)", nndl_last_error());
    CU_ASSERT_STRING_EQUAL(nndl_last_error(), "again (layer 2: pool 3x3 does not fit): layer 2: pool 3x3 does not fit");
    /* a message as long as the buffer keeps its context and loses its end */
    static char big[4000];
    memset(big, 'x', sizeof big - 1);
    nndl_fail("%s", big);
    nndl_fail_context("layer %d", 7);
    CU_ASSERT(strncmp(nndl_last_error(), "layer 7: xxxx", 13) == 0);
    CU_ASSERT(strlen(nndl_last_error()) > 2000 && strlen(nndl_last_error()) < sizeof big);
}

void register_bad_input_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"conv shapes that do not fit", test_conv_shapes},
        {"max pool shapes that do not fit", test_pool_shapes},
        {"affine shapes that do not fit", test_affine_shapes},
        {"unknown or unavailable devices", test_unknown_backend},
        {"an error's context goes in front of it", test_error_context},
        CU_TEST_INFO_NULL};
    add_suite("bad input", tests);
}
