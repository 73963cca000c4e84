/* test_checkpoint.c — checkpoints as trusted storage, and resuming from them.
 *
 * The file format against its documented layout (little-endian fields, CRC-32 at the end); every
 * flipped byte refused; out-of-range fields and non-finite values refused even under a valid
 * CRC; round trip and bit-exact resume for all five update rules; the atomic writer refusing
 * symlinks and FIFOs, overwriting a stale temporary file and refusing a live writer's; and
 * `nndl train --resume` applying and announcing, or refusing, every flag that differs. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic_file.h"
#include "checkpoint.h"
#include "cifar10.h"
#include "error.h"
#include "solver.h"
#include "test_util.h"

static char tmpdir[64];

/* A small run on random (3, S, S) examples: batch 40 of 120 (3 iterations per epoch), lr decay
 * 0.9, a mean image, checkpoints under ctx's name after every epoch when given. */
typedef struct Run {
    Dataset train, val;
    Model m;
    Solver s;
    float *mean;
} Run;

/* batchnorm and dropout, so running statistics and dropout masks are part of what resumes */
#define SPEC_8 "conv4x3-bn-relu-pool2-affine16-bn-relu-dropout0.8-affine10"
#define SPEC_2 "affine6-bn-relu-dropout0.8-affine10"

static void run_start(Run *r, const char *spec, int size, UpdateRule rule, int epochs,
                      int (*on_epoch)(const Solver *, void *), void *ctx, uint64_t weight_seed)
{
    make_random_dataset(&r->train, 120, 3, size, size, 21);
    make_random_dataset(&r->val, 40, 3, size, size, 22);
    CU_ASSERT_FATAL(model_init(&r->m, test_backend("cpu"), spec, 3, size, size, 5e-2f, 1e-3f, LOSS_SOFTMAX,
                               weight_seed, 40) == NNDL_OK);
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(rule);
    cfg.batch_size = 40, cfg.num_epochs = epochs, cfg.verbose = 0, cfg.seed = 11;
    cfg.num_train_samples = 60, cfg.lr_decay = 0.9f;
    cfg.on_epoch = on_epoch, cfg.on_epoch_ctx = ctx;
    CU_ASSERT_FATAL(solver_init(&r->s, &r->m, &r->train, &r->val, &cfg) == NNDL_OK);
    size_t pixels = (size_t)3 * size * size;
    r->mean = malloc(pixels * sizeof *r->mean);
    for (size_t i = 0; i < pixels; i++) r->mean[i] = 0.01f * (float)i;
    r->s.input_mean = r->mean;
}

static void run_end(Run *r)
{
    solver_free(&r->s);
    model_free(&r->m);
    dataset_free(&r->train);
    dataset_free(&r->val);
    free(r->mean);
}

static int same_floats(const float *a, const float *b, size_t n) { return n == 0 || memcmp(a, b, n * sizeof *a) == 0; }

static float *model_state(const Model *m)
{
    float *v = malloc(model_state_size(m) * sizeof *v);
    model_state_save(m, v);
    return v;
}

static float *device_copy(const Model *m, const float *dev, size_t n)
{
    float *h = malloc(n * sizeof *h);
    m->be->to_host(m->be, h, dev, n * sizeof *h);
    return h;
}

/* ---- file helpers ------------------------------------------------------------------------- */

static unsigned char *read_all(const char *path, size_t *size)
{
    struct stat st;
    CU_ASSERT_FATAL(stat(path, &st) == 0);
    *size = (size_t)st.st_size;
    unsigned char *b = malloc(*size);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_FATAL(f && fread(b, 1, *size, f) == *size);
    fclose(f);
    return b;
}

static void write_all(const char *path, const unsigned char *b, size_t size)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f && fwrite(b, 1, size, f) == size);
    fclose(f);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> 8 * i);
}

static uint32_t float_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* The documented trailer: CRC-32 of every byte before it, little-endian. */
static void reseal(unsigned char *b, size_t size)
{
    set_le32(b + size - 4, (uint32_t)crc32(crc32(0, NULL, 0), b, (uInt)(size - 4)));
}

/* Offsets of the documented header fields, after the spec of length L. */
enum { OFF_VERSION = 8, OFF_SPEC_LEN = 12, OFF_SPEC = 16 };
static size_t off_int(size_t spec_len, int k) { return OFF_SPEC + spec_len + 4 * (size_t)k; }
static size_t off_float(size_t spec_len, int k) { return off_int(spec_len, 11) + 4 * (size_t)k; }
enum { I_IN_C, I_IN_H, I_IN_W, I_LOSS, I_RULE, I_BATCH, I_EPOCHS, I_TRAIN_S, I_VAL_S, I_EPOCH, I_ITER };
enum { F_LR, F_MOMENTUM, F_DECAY, F_BETA1, F_BETA2, F_EPS, F_LR_DECAY, F_REG, F_BEST };
/* The recipe (format 4), after the floats: 15 fields of 4 bytes. */
static size_t off_recipe(size_t spec_len, int k) { return off_float(spec_len, 9) + 4 * (size_t)k; }
enum { R_SMOOTH, R_WD, R_LR_MULT, R_SCHED, R_WARMUP, R_WARM_START, R_FINAL, R_STEP_EPOCHS, R_GAMMA, R_PAD,
       R_PAD_MODE, R_FLIP, R_CUTOUT, R_TTA, R_EMA, R_COUNT };

/* A format-4 file's bytes as format 3 wrote them: the recipe cut out (the version is the caller's). */
static void cut_recipe(unsigned char *b, size_t *size, size_t spec_len)
{
    size_t at = off_recipe(spec_len, 0), n = 4 * R_COUNT;
    memmove(b + at, b + at + n, *size - at - n);
    *size -= n;
}

/* ---- the format --------------------------------------------------------------------------- */

/* The class names tiny checkpoints carry: "class0" .. "class9". */
static const ClassNames *ten_names(void)
{
    static ClassNames names;
    char name[32];
    for (int i = names.n; i < 10; i++) {
        snprintf(name, sizeof name, "class%d", i);
        CU_ASSERT_FATAL(class_names_add(&names, name) == NNDL_OK);
    }
    return &names;
}

/* A tiny Adam run of 2 epochs saved to path; the run stays open for the caller. */
static void tiny_checkpoint(Run *r, const char *path)
{
    run_start(r, SPEC_2, 2, UPDATE_ADAM, 2, NULL, NULL, 3);
    r->s.class_names = ten_names();
    CU_ASSERT_FATAL(solver_train(&r->s) == NNDL_OK);
    CU_ASSERT_FATAL(checkpoint_save(&r->s, path) == NNDL_OK);
}

static void test_layout_is_little_endian_with_crc(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
    char path[128];
    snprintf(path, sizeof path, "%s/tiny.ckpt", tmpdir);
    Run a;
    tiny_checkpoint(&a, path);
    size_t size, L = strlen(a.m.spec);
    unsigned char *b = read_all(path, &size);
    CU_ASSERT(memcmp(b, "NNDLCKPT", 8) == 0);
    CU_ASSERT_EQUAL(le32(b + OFF_VERSION), CHECKPOINT_FORMAT);
    CU_ASSERT_EQUAL(le32(b + OFF_SPEC_LEN), L);
    CU_ASSERT(memcmp(b + OFF_SPEC, a.m.spec, L) == 0);
    CU_ASSERT(le32(b + off_int(L, I_IN_C)) == 3 && le32(b + off_int(L, I_IN_H)) == 2 && le32(b + off_int(L, I_IN_W)) == 2);
    CU_ASSERT_EQUAL(le32(b + off_int(L, I_RULE)), UPDATE_ADAM);
    CU_ASSERT_EQUAL(le32(b + off_int(L, I_BATCH)), 40);
    CU_ASSERT(le32(b + off_int(L, I_EPOCH)) == 2 && le32(b + off_int(L, I_ITER)) == 6);
    CU_ASSERT_EQUAL(le32(b + off_float(L, F_LR)), float_bits(1e-3f));
    CU_ASSERT_EQUAL(le32(b + off_float(L, F_BEST)), float_bits(a.s.best_val_acc));
    /* the tiny run has no recipe: the seed's values */
    CU_ASSERT_EQUAL(le32(b + off_recipe(L, R_SMOOTH)), float_bits(0));
    CU_ASSERT_EQUAL(le32(b + off_recipe(L, R_LR_MULT)), float_bits(1));
    CU_ASSERT_EQUAL(le32(b + off_recipe(L, R_SCHED)), SCHEDULE_EPOCH_DECAY);
    CU_ASSERT_EQUAL(le32(b + off_recipe(L, R_GAMMA)), float_bits(1));
    CU_ASSERT_EQUAL(le32(b + off_recipe(L, R_TTA)), 0);
    CU_ASSERT_EQUAL(le32(b + off_recipe(L, R_COUNT)), 11); /* the solver seed follows */
    /* the class names last: "class9" (6 bytes) after its length, before the trailer */
    CU_ASSERT(le32(b + size - 8 - 10) == 6 && memcmp(b + size - 8 - 6, "class9", 6) == 0);
    CU_ASSERT(memcmp(b + size - 8, "END!", 4) == 0);
    CU_ASSERT_EQUAL(le32(b + size - 4), (uint32_t)crc32(crc32(0, NULL, 0), b, (uInt)(size - 4)));
    free(b);
    run_end(&a);
    remove_tree(tmpdir);
}

/* Class names round trip; a format-2 file (no names) is still read, as one without names; a
 * Solver whose names do not fit its model writes nothing. */
static void test_class_names(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
    char path[128], old[128];
    snprintf(path, sizeof path, "%s/tiny.ckpt", tmpdir);
    snprintf(old, sizeof old, "%s/format2.ckpt", tmpdir);
    Run a;
    tiny_checkpoint(&a, path);
    ClassNames names;
    CU_ASSERT_FATAL(checkpoint_load_class_names(&names, path) == NNDL_OK);
    CU_ASSERT(names.n == 10 && strcmp(names.names[0], "class0") == 0 && strcmp(names.names[9], "class9") == 0);
    class_names_free(&names);
    /* a stored name that is not UTF-8 (an older nndl wrote folder names as they were): the file
     * still opens, the name's bad byte read as '?' */
    {
        size_t n;
        unsigned char *bytes = read_all(path, &n);
        CU_ASSERT_FATAL(memcmp(bytes + n - 8 - 6, "class9", 6) == 0);
        bytes[n - 8 - 1] = 0xe9; /* "class\xe9": Latin-1 */
        reseal(bytes, n);
        write_all(old, bytes, n);
        free(bytes);
        CU_ASSERT_FATAL(checkpoint_load_class_names(&names, old) == NNDL_OK);
        CU_ASSERT(names.n == 10 && strcmp(names.names[9], "class?") == 0);
        class_names_free(&names);
    }
    /* without names, then rewritten as format 2: the 4-byte count dropped, the version 2 */
    a.s.class_names = NULL;
    CU_ASSERT_FATAL(checkpoint_save(&a.s, path) == NNDL_OK);
    size_t size;
    unsigned char *b = read_all(path, &size);
    cut_recipe(b, &size, strlen(a.m.spec));
    CU_ASSERT_FATAL(le32(b + size - 12) == 0);
    memmove(b + size - 12, b + size - 8, 8);
    set_le32(b + OFF_VERSION, 2);
    reseal(b, size - 4);
    write_all(old, b, size - 4);
    CheckpointInfo info;
    CU_ASSERT(checkpoint_read_info(old, &info) == NNDL_OK && info.epoch == 2);
    CU_ASSERT_FATAL(checkpoint_load_class_names(&names, old) == NNDL_OK);
    CU_ASSERT_EQUAL(names.n, 0);
    float *mean = NULL;
    Model m2;
    CU_ASSERT_FATAL(model_init(&m2, test_backend("cpu"), SPEC_2, 3, 2, 2, 1e-3f, 0, LOSS_SOFTMAX, 0, 10) == NNDL_OK);
    CU_ASSERT(checkpoint_load_model(&m2, &mean, old) == NNDL_OK && mean && mean[5] == a.mean[5]);
    free(mean);
    model_free(&m2);
    /* the same bytes claiming format 3 lack the count: refused */
    set_le32(b + OFF_VERSION, 3);
    reseal(b, size - 4);
    write_all(old, b, size - 4);
    ASSERT_ERROR_MENTIONS(checkpoint_read_info(old, &info), "truncated or damaged");
    free(b);
    /* 3 names for a model of 10 classes */
    ClassNames three = {0};
    CU_ASSERT_FATAL(class_names_numbered(&three, 3) == NNDL_OK);
    a.s.class_names = &three;
    ASSERT_ERROR_MENTIONS(checkpoint_save(&a.s, path), "3 class names for a model of 10 classes");
    class_names_free(&three);
    run_end(&a);
    remove_tree(tmpdir);
}

/* Every byte of a small checkpoint, flipped wholly and in one bit, and every truncation of it,
 * must be refused with a message. */
static void test_every_flipped_byte_is_refused(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/tiny.ckpt", tmpdir);
    snprintf(bad, sizeof bad, "%s/flipped.ckpt", tmpdir);
    Run a, b;
    tiny_checkpoint(&a, path);
    run_start(&b, SPEC_2, 2, UPDATE_ADAM, 4, NULL, NULL, 4);
    size_t size;
    unsigned char *bytes = read_all(path, &size);
    write_all(bad, bytes, size);
    CU_ASSERT_FATAL(checkpoint_load(&b.s, bad) == NNDL_OK); /* the unflipped copy loads */
    solver_free(&b.s);
    model_free(&b.m), dataset_free(&b.train), dataset_free(&b.val), free(b.mean);
    run_start(&b, SPEC_2, 2, UPDATE_ADAM, 4, NULL, NULL, 4);
    int loaded = 0, silent = 0, tries = 0;
    for (size_t pos = 0; pos < size; pos++) {
        unsigned char masks[2] = {0xff, (unsigned char)(1u << pos % 8)};
        for (int k = 0; k < 2; k++) {
            bytes[pos] ^= masks[k];
            write_all(bad, bytes, size);
            bytes[pos] ^= masks[k];
            CheckpointInfo info;
            nndl_clear_error();
            int rc = checkpoint_load(&b.s, bad);
            loaded += rc == NNDL_OK;
            silent += rc != NNDL_OK && nndl_last_error()[0] == '\0';
            loaded += checkpoint_read_info(bad, &info) == NNDL_OK;
            tries++;
        }
    }
    for (size_t len = 0; len < size; len++) { /* and every truncation */
        write_all(bad, bytes, len);
        nndl_clear_error();
        int rc = checkpoint_load(&b.s, bad);
        loaded += rc == NNDL_OK;
        silent += rc != NNDL_OK && nndl_last_error()[0] == '\0';
    }
    printf(" (%d flips and %zu truncations of a %zu-byte checkpoint) ", tries, size, size);
    CU_ASSERT_EQUAL(loaded, 0);
    CU_ASSERT_EQUAL(silent, 0);
    CU_ASSERT(b.s.epoch == 0 && b.s.iteration == 0 && b.s.loss.n == 0); /* refusals change nothing */
    free(bytes);
    run_end(&a), run_end(&b);
    remove_tree(tmpdir);
}

/* bad = path with the u32 at off replaced by value, and the CRC made valid again. */
static void patch(const char *path, const char *bad, size_t off, uint32_t value)
{
    size_t size;
    unsigned char *b = read_all(path, &size);
    set_le32(b + off, value);
    reseal(b, size);
    write_all(bad, b, size);
    free(b);
}

/* A field patched to an impossible value is refused by name, CRC or not. */
static void expect_patch_refused(const char *path, const char *bad, size_t off, uint32_t value, const char *fragment)
{
    patch(path, bad, off, value);
    CheckpointInfo info;
    ASSERT_ERROR_MENTIONS(checkpoint_read_info(bad, &info), fragment);
}

static void test_out_of_range_fields_are_refused(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/tiny.ckpt", tmpdir);
    snprintf(bad, sizeof bad, "%s/patched.ckpt", tmpdir);
    Run a;
    tiny_checkpoint(&a, path);
    size_t L = strlen(a.m.spec);
    CheckpointInfo info;
    /* the patcher itself: rewriting a field with its own value keeps the file loadable */
    patch(path, bad, off_int(L, I_EPOCH), 2);
    CU_ASSERT_EQUAL(checkpoint_read_info(bad, &info), NNDL_OK);
    CU_ASSERT(info.epoch == 2 && info.iteration == 6 && info.batch_size == 40 && info.loss == LOSS_SOFTMAX);

    expect_patch_refused(path, bad, off_int(L, I_LOSS), 7, "unknown loss kind 7");
    expect_patch_refused(path, bad, off_int(L, I_RULE), 9, "unknown update rule 9");
    expect_patch_refused(path, bad, off_int(L, I_IN_H), 0, "input shape");
    expect_patch_refused(path, bad, off_int(L, I_BATCH), 0, "batch size 0");
    expect_patch_refused(path, bad, off_int(L, I_EPOCH), (uint32_t)-1, "epoch -1");
    expect_patch_refused(path, bad, off_int(L, I_EPOCH), 3, "epoch 3"); /* beyond the run's 2 epochs */
    expect_patch_refused(path, bad, off_int(L, I_EPOCHS), 1, "of 1 epochs");
    expect_patch_refused(path, bad, off_int(L, I_ITER), 5, "histories");
    expect_patch_refused(path, bad, off_float(L, F_LR), float_bits(-1e-3f), "learning rate -0.001");
    expect_patch_refused(path, bad, off_float(L, F_LR), float_bits(INFINITY), "learning rate inf");
    expect_patch_refused(path, bad, off_float(L, F_LR), float_bits(NAN), "learning rate nan");
    expect_patch_refused(path, bad, off_float(L, F_BETA2), float_bits(1.0f), "beta2 1");
    expect_patch_refused(path, bad, off_float(L, F_LR_DECAY), float_bits(0.0f), "lr decay 0");
    expect_patch_refused(path, bad, off_float(L, F_BEST), float_bits(NAN), "best val accuracy nan");
    expect_patch_refused(path, bad, off_float(L, F_BEST), float_bits(1.5f), "best val accuracy 1.5");
    expect_patch_refused(path, bad, off_float(L, F_BEST), float_bits(SOLVER_NO_BEST), "best val accuracy -1");
    expect_patch_refused(path, bad, OFF_SPEC_LEN, 5000, "a model spec of 5000 bytes");
    expect_patch_refused(path, bad, off_recipe(L, R_SMOOTH), float_bits(1.5f), "label smoothing 1.5");
    expect_patch_refused(path, bad, off_recipe(L, R_WD), float_bits(NAN), "weight decay nan");
    expect_patch_refused(path, bad, off_recipe(L, R_LR_MULT), float_bits(0), "lr factor 0");
    expect_patch_refused(path, bad, off_recipe(L, R_SCHED), 9, "schedule 9");
    expect_patch_refused(path, bad, off_recipe(L, R_PAD), 2, "pad 2"); /* the images are 2 x 2 */
    expect_patch_refused(path, bad, off_recipe(L, R_PAD_MODE), 5, "mode 5");
    expect_patch_refused(path, bad, off_recipe(L, R_TTA), 3, "tta 3");
    /* a moving average claimed without its arrays: the file's layout says otherwise */
    patch(path, bad, off_recipe(L, R_EMA), float_bits(0.5f));
    ASSERT_ERROR_MENTIONS(checkpoint_read_info(bad, &info), "truncated or damaged");
    expect_patch_refused(path, bad, off_recipe(L, R_EMA), float_bits(NAN), "ema nan");

    /* other formats */
    unsigned char old[2048] = "NNDLCKPT";
    set_le32(old + 8, 1);
    write_all(bad, old, sizeof old);
    ASSERT_ERROR_MENTIONS(checkpoint_read_info(bad, &info), "written by an older nndl (format 1");
    set_le32(old + 8, 99);
    write_all(bad, old, sizeof old);
    ASSERT_ERROR_MENTIONS(checkpoint_read_info(bad, &info), "format 99");
    run_end(&a);
    remove_tree(tmpdir);
}

/* A format-3 checkpoint (before the recipe) still loads, as a run without one; its recipe fields
 * are cut out of a format-4 file and the version set to 3. */
static void test_format_3_reads_as_no_recipe(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
    char path[128], old[128];
    snprintf(path, sizeof path, "%s/tiny.ckpt", tmpdir);
    snprintf(old, sizeof old, "%s/format3.ckpt", tmpdir);
    Run a, b;
    tiny_checkpoint(&a, path);
    size_t size;
    unsigned char *bytes = read_all(path, &size);
    cut_recipe(bytes, &size, strlen(a.m.spec));
    set_le32(bytes + OFF_VERSION, 3);
    reseal(bytes, size);
    write_all(old, bytes, size);
    CheckpointInfo info;
    CU_ASSERT_FATAL(checkpoint_read_info(old, &info) == NNDL_OK);
    CU_ASSERT(info.recipe.label_smoothing == 0 && info.recipe.nonweight_lr_mult == 1 && info.recipe.tta == 0 &&
              info.recipe.schedule.kind == SCHEDULE_EPOCH_DECAY && info.recipe.augment.pad == 0);
    run_start(&b, SPEC_2, 2, UPDATE_ADAM, 4, NULL, NULL, 4);
    CU_ASSERT(checkpoint_load(&b.s, old) == NNDL_OK);
    CU_ASSERT_EQUAL(b.s.iteration, 6);
    /* the same bytes claiming format 4 lack the recipe: refused as damaged */
    set_le32(bytes + OFF_VERSION, 4);
    reseal(bytes, size);
    write_all(old, bytes, size);
    ASSERT_ERROR_MENTIONS(checkpoint_read_info(old, &info), "truncated or damaged (format 4)");
    free(bytes);
    run_end(&a), run_end(&b);
    remove_tree(tmpdir);
}

/* Replaces the one occurrence of marker's bytes by value's, reseals, and expects a refusal. */
static void expect_value_refused(const char *path, const char *bad, float marker, float value, const char *fragment)
{
    size_t size, at = 0;
    int found = 0;
    unsigned char *b = read_all(path, &size), m[4];
    set_le32(m, float_bits(marker));
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(b + i, m, 4) == 0) found++, at = i;
    CU_ASSERT_EQUAL_FATAL(found, 1);
    set_le32(b + at, float_bits(value));
    reseal(b, size);
    write_all(bad, b, size);
    float *mean = NULL;
    Model m2;
    CU_ASSERT_FATAL(model_init(&m2, test_backend("cpu"), SPEC_2, 3, 2, 2, 1e-3f, 0, LOSS_SOFTMAX, 0, 10) == NNDL_OK);
    ASSERT_ERROR_MENTIONS(checkpoint_load_model(&m2, &mean, bad), fragment);
    CU_ASSERT_PTR_NULL(mean);
    model_free(&m2);
    free(b);
}

static void test_non_finite_values_are_refused(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/tiny.ckpt", tmpdir);
    snprintf(bad, sizeof bad, "%s/nan.ckpt", tmpdir);
    Run a;
    tiny_checkpoint(&a, path);
    /* markers: a parameter, an Adam moment and a mean pixel set to values found nowhere else */
    float *state = model_state(&a.m);
    state[5] = 1234.5f;
    model_state_load(&a.m, state);
    float *m1 = device_copy(&a.m, a.s.s1[0], a.m.params[0].n);
    m1[3] = 2345.5f;
    a.m.be->to_device(a.m.be, a.s.s1[0], m1, a.m.params[0].n * sizeof *m1);
    a.mean[7] = 3456.5f;
    CU_ASSERT_FATAL(checkpoint_save(&a.s, path) == NNDL_OK);
    expect_value_refused(path, bad, 1234.5f, NAN, "model state holds a non-finite value");
    expect_value_refused(path, bad, 1234.5f, -INFINITY, "model state holds a non-finite value");
    expect_value_refused(path, bad, 2345.5f, INFINITY, "optimizer state of parameter 1 holds a non-finite value");
    expect_value_refused(path, bad, 3456.5f, NAN, "mean image holds a non-finite value");

    /* and nothing of the kind is written: the previous file stays */
    state[5] = NAN;
    model_state_load(&a.m, state);
    size_t before, after;
    unsigned char *b0 = read_all(path, &before);
    ASSERT_ERROR_MENTIONS(checkpoint_save(&a.s, path), "refusing to write checkpoint");
    unsigned char *b1 = read_all(path, &after);
    CU_ASSERT(before == after && memcmp(b0, b1, before) == 0);
    free(b0), free(b1), free(state), free(m1);
    run_end(&a);
    remove_tree(tmpdir);
}

/* ---- round trip and resume for every update rule ------------------------------------------ */

/* An on_epoch hook that saves a checkpoint and keeps the model state it holds. */
typedef struct Snapshot {
    const char *name;
    float *state;
} Snapshot;

static int save_and_keep(const Solver *s, void *ctx)
{
    Snapshot *snap = ctx;
    model_state_save(solver_model(s), snap->state);
    return checkpoint_save_epoch(s, (void *)snap->name);
}

static void check_round_trip(UpdateRule rule)
{
    char name[128], path[160];
    snprintf(name, sizeof name, "%s/rt", tmpdir);
    snprintf(path, sizeof path, "%s_epoch_2.ckpt", name);
    Run a, b;
    Snapshot snap = {name, NULL};
    run_start(&a, SPEC_8, 8, rule, 2, save_and_keep, &snap, 3);
    snap.state = malloc(model_state_size(&a.m) * sizeof(float));
    CU_ASSERT_FATAL(solver_train(&a.s) == NNDL_OK);
    run_start(&b, SPEC_8, 8, rule, 2, NULL, NULL, 4); /* other weights: loading replaces them */
    CU_ASSERT_FATAL(checkpoint_load(&b.s, path) == NNDL_OK);
    size_t n = model_state_size(&a.m);
    float *sb = model_state(&b.m);
    CU_ASSERT(same_floats(snap.state, sb, n));
    CU_ASSERT(b.s.epoch == 2 && b.s.iteration == 6 && a.s.iteration == 6);
    CU_ASSERT(a.s.loss.n == 6 && b.s.loss.n == 6 && same_floats(a.s.loss.v, b.s.loss.v, 6));
    CU_ASSERT(b.s.train_acc.n == 3 && same_floats(a.s.train_acc.v, b.s.train_acc.v, 3));
    CU_ASSERT(b.s.val_acc.n == 3 && same_floats(a.s.val_acc.v, b.s.val_acc.v, 3));
    CU_ASSERT(a.s.best_val_acc >= 0 && a.s.best_val_acc == b.s.best_val_acc);
    CU_ASSERT(same_floats(a.s.best_state, b.s.best_state, n));
    CU_ASSERT_EQUAL(memcmp(a.s.rng.s, b.s.rng.s, sizeof a.s.rng.s), 0);
    CU_ASSERT_EQUAL(a.m.seed, b.m.seed);
    int moments = optim_state_count(rule);
    for (int i = 0; i < a.m.n_params; i++) {
        CU_ASSERT_EQUAL(b.s.opt[i].t, rule == UPDATE_ADAM ? 6 : 0);
        CU_ASSERT_EQUAL(a.s.opt[i].t, b.s.opt[i].t);
        CU_ASSERT_EQUAL(a.s.opt[i].learning_rate, b.s.opt[i].learning_rate);
        CU_ASSERT_DOUBLE_EQUAL(b.s.opt[i].learning_rate, optim_config_default(rule).learning_rate * 0.81, 1e-9);
        size_t pn = a.m.params[i].n;
        float *dev_a[2] = {a.s.s1[i], a.s.s2[i]}, *dev_b[2] = {b.s.s1[i], b.s.s2[i]};
        for (int k = 0; k < moments; k++) {
            float *va = device_copy(&a.m, dev_a[k], pn), *vb = device_copy(&b.m, dev_b[k], pn);
            CU_ASSERT(same_floats(va, vb, pn));
            double norm = 0;
            for (size_t j = 0; j < pn; j++) norm += fabs(va[j]);
            CU_ASSERT(norm > 0); /* a moment that training filled, not zeros on both sides */
            free(va), free(vb);
        }
    }
    free(sb), free(snap.state);
    run_end(&a), run_end(&b);
}

/* 4 epochs straight, against 2 epochs + resume from the checkpoint + 2 more. */
static void check_resume(UpdateRule rule)
{
    char name[128], path[160];
    snprintf(name, sizeof name, "%s/resume", tmpdir);
    snprintf(path, sizeof path, "%s_epoch_2.ckpt", name);
    Run whole, first, second;
    run_start(&whole, SPEC_8, 8, rule, 4, NULL, NULL, 3);
    CU_ASSERT_FATAL(solver_train(&whole.s) == NNDL_OK);
    run_start(&first, SPEC_8, 8, rule, 2, checkpoint_save_epoch, name, 3);
    CU_ASSERT_FATAL(solver_train(&first.s) == NNDL_OK);
    run_start(&second, SPEC_8, 8, rule, 4, NULL, NULL, 9);
    CU_ASSERT_FATAL(checkpoint_load(&second.s, path) == NNDL_OK);
    CU_ASSERT_FATAL(solver_train(&second.s) == NNDL_OK);
    CU_ASSERT(second.s.loss.n == 12 && same_floats(second.s.loss.v, whole.s.loss.v, 12));
    CU_ASSERT(second.s.train_acc.n == 5 && same_floats(second.s.train_acc.v, whole.s.train_acc.v, 5));
    CU_ASSERT(second.s.val_acc.n == 5 && same_floats(second.s.val_acc.v, whole.s.val_acc.v, 5));
    CU_ASSERT_EQUAL(second.s.best_val_acc, whole.s.best_val_acc);
    size_t n = model_state_size(&whole.m);
    CU_ASSERT(same_floats(second.s.best_state, whole.s.best_state, n));
    float *a = model_state(&whole.m), *b = model_state(&second.m);
    CU_ASSERT(same_floats(a, b, n)); /* the best parameters, restored at the end */
    free(a), free(b);
    run_end(&whole), run_end(&first), run_end(&second);
}

static void test_every_rule_round_trips_and_resumes(void)
{
    for (int rule = 0; rule < UPDATE_RULE_COUNT; rule++) {
        CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_ckpt") == 0);
        check_round_trip((UpdateRule)rule);
        check_resume((UpdateRule)rule);
        remove_tree(tmpdir);
    }
}

/* ---- the atomic writer -------------------------------------------------------------------- */

static int write_new(FILE *f, const void *ctx) { return fputs(ctx, f) >= 0; }

static int file_holds(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

static void test_atomic_writer_refusals_and_stale_files(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_atomic") == 0);
    char real[128], link[128], fifo[128], plain[128], tmp[200];
    snprintf(real, sizeof real, "%s/real", tmpdir);
    snprintf(link, sizeof link, "%s/link", tmpdir);
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    snprintf(plain, sizeof plain, "%s/plain.csv", tmpdir);
    write_all(real, (const unsigned char *)"keep", 4);
    CU_ASSERT_FATAL(symlink(real, link) == 0 && mkfifo(fifo, 0600) == 0);
    struct stat st;

    /* a symlink target: refused, the link and the file it names untouched */
    ASSERT_ERROR_MENTIONS(write_file_atomically(link, "log", write_new, "new"), "is a symbolic link");
    CU_ASSERT(lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && file_holds(real, "keep"));
    /* a FIFO: refused (and not opened: that would block), still a FIFO */
    ASSERT_ERROR_MENTIONS(write_file_atomically(fifo, "log", write_new, "new"), "is a FIFO");
    CU_ASSERT(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    /* a symlink planted at the temporary name is not followed */
    CU_ASSERT_FATAL(atomic_file_temp_name(tmp, sizeof tmp, plain) == NNDL_OK);
    CU_ASSERT_FATAL(symlink(real, tmp) == 0);
    ASSERT_ERROR_MENTIONS(write_file_atomically(plain, "log", write_new, "new"), tmp);
    CU_ASSERT(file_holds(real, "keep") && access(plain, F_OK) != 0);
    unlink(tmp);

    /* a stale temporary file from a killed run is overwritten, and none is left behind */
    write_all(tmp, (const unsigned char *)"half a checkpoint", 17);
    CU_ASSERT(write_file_atomically(plain, "log", write_new, "new") == NNDL_OK);
    CU_ASSERT(file_holds(plain, "new") && access(tmp, F_OK) != 0);
    /* a stale temporary that is a hard link to a user's file: replaced, the user's file intact */
    char mine[160];
    snprintf(mine, sizeof mine, "%s/mine", tmpdir);
    write_all(mine, (const unsigned char *)"mine", 4);
    CU_ASSERT_FATAL(linkat(AT_FDCWD, mine, AT_FDCWD, tmp, 0) == 0);
    CU_ASSERT(write_file_atomically(plain, "log", write_new, "new") == NNDL_OK);
    CU_ASSERT(file_holds(plain, "new") && file_holds(mine, "mine") && access(tmp, F_OK) != 0);
    /* a temporary file locked by a live writer is left to it */
    int fd = open(tmp, O_WRONLY | O_CREAT, 0600);
    CU_ASSERT_FATAL(fd >= 0 && flock(fd, LOCK_EX) == 0);
    ASSERT_ERROR_MENTIONS(write_file_atomically(plain, "log", write_new, "newer"), "another process");
    CU_ASSERT(file_holds(plain, "new"));
    close(fd);
    unlink(tmp);
    CU_ASSERT(write_file_atomically(plain, "log", write_new, "newer") == NNDL_OK && file_holds(plain, "newer"));
    remove_tree(tmpdir);
}

/* A full disk, as the writer meets it: writes that fail part-way (a file-size limit in a child
 * process gives EFBIG the way a full disk gives ENOSPC). The old file survives whole, no temporary
 * file is left, and the failure is a message, not a crash. */
static int write_big(FILE *f, const void *ctx)
{
    (void)ctx;
    static char block[65536];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < 16; i++)
        if (fwrite(block, 1, sizeof block, f) != sizeof block) return 0;
    return 1;
}

static void test_atomic_writer_full_disk(void)
{
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_full") == 0);
    char target[128], tmp[200], msg[600] = "";
    snprintf(target, sizeof target, "%s/run.ckpt", tmpdir);
    write_all(target, (const unsigned char *)"old", 3);
    int pipefd[2];
    CU_ASSERT_FATAL(pipe(pipefd) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {100000, 100000};
        signal(SIGXFSZ, SIG_IGN); /* the write returns EFBIG instead of killing the process */
        setrlimit(RLIMIT_FSIZE, &lim);
        int rc = write_file_atomically(target, "checkpoint", write_big, NULL);
        ssize_t ignored = write(pipefd[1], nndl_last_error(), strlen(nndl_last_error()));
        (void)ignored;
        _exit(rc == NNDL_ERR ? 0 : 1);
    }
    close(pipefd[1]);
    ssize_t got = read(pipefd[0], msg, sizeof msg - 1);
    msg[got > 0 ? got : 0] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* refused, not crashed */
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "checkpoint"));
    CU_ASSERT(file_holds(target, "old"));
    CU_ASSERT_FATAL(atomic_file_temp_name(tmp, sizeof tmp, target) == NNDL_OK);
    CU_ASSERT(access(tmp, F_OK) != 0);
    if (!strstr(msg, "checkpoint")) fprintf(stderr, "\n    full-disk message: %s\n", msg);
    remove_tree(tmpdir);
}

/* ---- nndl train --resume ------------------------------------------------------------------ */

static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    for (int ca = 0, cb = 0; same && ca != EOF; same = ca == cb) ca = fgetc(fa), cb = fgetc(fb);
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void test_resume_flags(void)
{
    if (access(test_program(), X_OK) != 0) {
        CU_FAIL("the program is not built (make test builds it)");
        return;
    }
    CU_ASSERT_FATAL(make_temp_dir(tmpdir, sizeof tmpdir, "nndl_resume") == 0);
    CU_ASSERT_FATAL(write_cifar_batch(tmpdir, "data_batch_1.bin", 0,
                                      (long)CIFAR10_RECORDS_PER_FILE * CIFAR10_RECORD_BYTES) == 0);
    char base[300], args[1024], out[8192], ckpt[160];
    snprintf(base, sizeof base, "train --data %s --num-train 20 --num-val 10 --model fc --hidden 8 --batch-size 10 "
             "--print-every 0 --num-test 0 --update sgd_momentum --lr-decay 0.5", tmpdir);
    snprintf(ckpt, sizeof ckpt, "%s/run_epoch_2.ckpt", tmpdir);
    snprintf(args, sizeof args, "%s --epochs 2 --checkpoint %s/run", base, tmpdir);
    CU_ASSERT_FATAL(run_cli(args, out, sizeof out) == 0);

    /* refused: nothing left to train, another loss, another rule, another seed */
    snprintf(args, sizeof args, "%s --epochs 2 --resume %s", base, ckpt);
    expect_cli(args, 2, "--epochs 2: checkpoint");
    snprintf(args, sizeof args, "%s --epochs 1 --resume %s", base, ckpt);
    expect_cli(args, 2, "already at epoch 2");
    snprintf(args, sizeof args, "train --data %s --num-train 20 --num-val 10 --num-test 0 --resume %s", tmpdir, ckpt);
    expect_cli(args, 2, "at epoch 2 of its run's 2: the run is complete");
    snprintf(args, sizeof args, "%s --epochs 3 --loss svm --resume %s", base, ckpt);
    expect_cli(args, 2, "--loss svm: checkpoint");
    snprintf(args, sizeof args, "train --data %s --num-train 20 --num-val 10 --model fc --hidden 8 --batch-size 10 --num-test 0 "
             "--epochs 3 --update adam --resume %s", tmpdir, ckpt);
    expect_cli(args, 2, "update rule sgd_momentum");
    snprintf(args, sizeof args, "%s --epochs 3 --seed 5 --resume %s", base, ckpt);
    expect_cli(args, 2, "--seed 5");

    /* --seed left out: the checkpoint's random streams continue, and say so */
    snprintf(args, sizeof args, "%s --epochs 1 --seed 7 --checkpoint %s/seven", base, tmpdir);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    snprintf(args, sizeof args, "%s --epochs 2 --resume %s/seven_epoch_1.ckpt", base, tmpdir);
    expect_cli(args, 0, "random streams (seed 7) continue");

    /* no --lr: the checkpoint's decayed rate (1e-2 * 0.5^2), in the banner too; same data */
    snprintf(args, sizeof args, "%s --epochs 3 --resume %s", base, ckpt);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    CU_ASSERT(strstr(out, "learning rate 0.0025, the checkpoint's") && strstr(out, "lr 0.0025,"));
    CU_ASSERT(strstr(out, "--batch-size") == NULL && strstr(out, "--lr-decay") == NULL && strstr(out, "mean image") == NULL);
    /* other training data: another mean image */
    snprintf(args, sizeof args, "%s --num-train 25 --epochs 3 --resume %s", base, ckpt);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    CU_ASSERT(strstr(out, "the training mean image differs from the checkpoint's") != NULL);
    /* --lr, --batch-size, --lr-decay: applied and announced; the next checkpoint shows the rate used */
    snprintf(args, sizeof args, "%s --epochs 3 --lr 0.04 --lr-decay 0.25 --batch-size 5 --checkpoint %s/more --resume %s",
             base, tmpdir, ckpt);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0);
    CU_ASSERT(strstr(out, "--lr 0.04 applied to every parameter (the checkpoint's learning rate was 0.0025)") != NULL);
    CU_ASSERT(strstr(out, "--batch-size 5 applied (the checkpoint's run used 10)") != NULL);
    CU_ASSERT(strstr(out, "--lr-decay 0.25 applied (the checkpoint's run used 0.5)") != NULL);
    CU_ASSERT(strstr(out, "--epochs 3 applied (the checkpoint's run used 2)") != NULL);
    CU_ASSERT(strstr(out, "lr 0.04,") != NULL);
    if (!strstr(out, "--lr 0.04 applied")) fprintf(stderr, "\n    %s\n", out);
    CheckpointInfo info;
    snprintf(ckpt, sizeof ckpt, "%s/more_epoch_3.ckpt", tmpdir);
    CU_ASSERT_FATAL(checkpoint_read_info(ckpt, &info) == NNDL_OK);
    CU_ASSERT(info.epoch == 3 && info.batch_size == 5 && info.iteration == 2 + 2 + 4);
    CU_ASSERT_EQUAL(info.current_lr, 0.04f * 0.25f);

    /* --resume alone continues the checkpoint's run: its model, batch size, epochs, rule and
     * settings (the defaults would be the seed's cnn3 at batch 1000 for 15 epochs), and the
     * epoch-2 checkpoint it writes is the uninterrupted run's, byte for byte */
    snprintf(args, sizeof args, "train --data %s --num-train 20 --num-val 10 --num-test 0 --print-every 0 "
             "--checkpoint %s/again --resume %s/run_epoch_1.ckpt", tmpdir, tmpdir, tmpdir);
    int status = run_cli(args, out, sizeof out);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT(strstr(out, "applied") == NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "affine8-bn-relu-affine10 on"));
    if (status != 0 || strstr(out, "applied")) fprintf(stderr, "\n    %s\n", out);
    char first[160], again[160];
    snprintf(first, sizeof first, "%s/run_epoch_2.ckpt", tmpdir);
    snprintf(again, sizeof again, "%s/again_epoch_2.ckpt", tmpdir);
    CU_ASSERT(files_equal(first, again));
    remove_tree(tmpdir);
}

void register_checkpoint_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"format: little-endian fields, CRC-32 trailer", test_layout_is_little_endian_with_crc},
        {"class names: round trip, format 2 still read, a count that does not fit", test_class_names},
        {"every flipped byte and every truncation is refused", test_every_flipped_byte_is_refused},
        {"out-of-range fields and other formats are refused", test_out_of_range_fields_are_refused},
        {"format 3 (before the recipe) reads as a run without one", test_format_3_reads_as_no_recipe},
        {"non-finite values are refused, and never written", test_non_finite_values_are_refused},
        {"all five rules: round trip and bit-exact resume", test_every_rule_round_trips_and_resumes},
        {"atomic writer: symlinks, FIFOs, stale and live temp files", test_atomic_writer_refusals_and_stale_files},
        {"atomic writer on a full disk: old file whole, no temporary left", test_atomic_writer_full_disk},
        {"nndl train --resume: every differing flag applied or refused", test_resume_flags},
        CU_TEST_INFO_NULL};
    add_suite("checkpoints", tests);
}
