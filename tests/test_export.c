/* test_export.c — weights out and in (net/safetensors.h).
 *
 * Against PyTorch: tests/golden/export_model.safetensors is what nndl exports for a small model
 * with a fixed state (built here; NNDL_WRITE_EXPORT_GOLDEN=1 rewrites it), and
 * tests/golden/export_torch.safetensors holds inputs and the class scores that
 * tools/nndl_torch.py — the documented snippet — computed once from that file in PyTorch
 * (tests/golden/make_export_golden.py, float64). The export must still give those bytes, and
 * nndl loading the file must score the inputs as PyTorch did. Then: the round trip of every
 * tensor, and files of another model or damaged ones refused with a message, the model untouched. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"
#include "layer_kind.h"
#include "model.h"
#include "nndl.h"
#include "safetensors.h"
#include "test_util.h"

#define GOLDEN_MODEL "tests/golden/export_model.safetensors"
#define GOLDEN_TORCH "tests/golden/export_torch.safetensors"
#define SPEC "conv4x3-bn-relu-pool2-affine12-bn-relu-dropout0.5-affine5"
/* the second golden pair: the layer kinds and options that came later (conv stride / nobias,
 * bn noscale / eps, gelu, a residual block with its projection, scale, global average pool) */
#define SPEC2 "conv4x3(stride=2,nobias)-bn(noscale,eps=0.001)-gelu-res(proj)[conv6x3-relu]-scale0.5-gap-affine5"

typedef struct Golden {
    const char *spec, *model, *torch;
} Golden;
static const Golden goldens[] = {
    {SPEC, GOLDEN_MODEL, GOLDEN_TORCH},
    {SPEC2, "tests/golden/export_model2.safetensors", "tests/golden/export_torch2.safetensors"},
};
#define C 3
#define H 8
#define W 8

static char dir[64];

static int setup(void) { return make_temp_dir(dir, sizeof dir, "nndl_export"); }
static int teardown(void)
{
    remove_tree(dir);
    return 0;
}

/* Exact values (no libm), so the exported bytes are the same on every machine: weights in
 * [-0.5, 0.5), running variances in [0.5, 1.5), the mean image in [64, 192). */
static float value(size_t i, unsigned mul) { return (float)((i * mul + 17) % 1000) / 1000.0f - 0.5f; }

static void golden_state(Model *m, float *mean)
{
    size_t n = model_state_size(m);
    float *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) s[i] = value(i, 7919);
    for (int l = 0; l < m->n_layers; l++)
        if (strcmp(m->layers[l].spec.kind->token, "bn") == 0) {
            size_t v = model_buffer_offset(m, l, 1); /* running_var */
            for (size_t i = 0; i < m->layers[l].buffer_n[1]; i++) s[v + i] = 1.0f + value(i, 31);
        }
    model_state_load(m, s);
    free(s);
    for (size_t i = 0; i < (size_t)C * H * W; i++) mean[i] = 128.0f + 128.0f * value(i, 613);
}

static void build(Model *m, const char *spec, uint64_t seed)
{
    CU_ASSERT_FATAL(model_init(m, test_backend("cpu"), spec, C, H, W, 0.1f, 0, LOSS_SOFTMAX, seed, 16) == NNDL_OK);
}

static long file_bytes(const char *path, unsigned char **data)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(n > 0 ? (size_t)n : 1);
    if (fread(*data, 1, (size_t)n, f) != (size_t)n) n = -1;
    fclose(f);
    return n;
}

static void write_bytes(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void check_export_is_the_golden_file(const Golden *g)
{
    Model m;
    float mean[C * H * W];
    build(&m, g->spec, 1);
    golden_state(&m, mean);
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    if (getenv("NNDL_WRITE_EXPORT_GOLDEN")) CU_ASSERT(safetensors_save_model(&m, mean, NULL, g->model) == NNDL_OK);
    CU_ASSERT_FATAL(safetensors_save_model(&m, mean, NULL, path) == NNDL_OK);
    unsigned char *a = NULL, *b = NULL;
    long na = file_bytes(path, &a), nb = file_bytes(g->model, &b);
    CU_ASSERT(na > 0 && na == nb);
    CU_ASSERT(na == nb && memcmp(a, b, (size_t)na) == 0);
    /* the layout the snippet relies on: 8-byte length, JSON, data 8-aligned */
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)a[i] << (8 * i);
    CU_ASSERT(hlen % 8 == 0 && a[8] == '{');
    CU_ASSERT(g != goldens || strstr((char *)a + 8, "\"layers.4.linear.weight\":{\"dtype\":\"F32\",\"shape\":[12,64]"));
    CU_ASSERT(strstr((char *)a + 8, "\"layers.1.bn.running_var\"") != NULL);
    CU_ASSERT(g == goldens || strstr((char *)a + 8, "\"layers.6.proj.weight\":{\"dtype\":\"F32\",\"shape\":[6,4,1,1]"));
    free(a), free(b);
    model_free(&m);
}

static void check_golden_scores_match_pytorch(const Golden *g)
{
    int64_t xs[8], ss[8];
    int xd, sd;
    float *x, *scores, *mean;
    CU_ASSERT_FATAL(safetensors_read_tensor(g->torch, "input", xs, &xd, &x) == NNDL_OK);
    CU_ASSERT_FATAL(safetensors_read_tensor(g->torch, "scores", ss, &sd, &scores) == NNDL_OK);
    CU_ASSERT_FATAL(xd == 4 && xs[1] == C && xs[2] == H && xs[3] == W && sd == 2 && ss[0] == xs[0] && ss[1] == 5);
    int N = (int)xs[0];
    Model m;
    build(&m, g->spec, 99); /* other initial weights: everything must come from the file */
    CU_ASSERT_FATAL(safetensors_load_model(&m, &mean, g->model) == NNDL_OK);
    CU_ASSERT_FATAL(mean != NULL);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < C * H * W; k++) x[(size_t)i * C * H * W + k] -= mean[k];
    float *got = malloc((size_t)N * 5 * sizeof *got);
    CU_ASSERT_FATAL(model_scores(&m, got, x, N) == NNDL_OK);
    double worst = 0, scale = 0;
    int same_label = 1;
    for (int i = 0; i < N; i++) {
        int a = 0, b = 0;
        for (int k = 0; k < 5; k++) {
            float g = got[i * 5 + k], t = scores[i * 5 + k];
            worst = fmax(worst, fabs(g - t)), scale = fmax(scale, fabs(t));
            if (g > got[i * 5 + a]) a = k;
            if (t > scores[i * 5 + b]) b = k;
        }
        same_label &= a == b;
    }
    ASSERT_BELOW(worst / fmax(1, scale), 1e-4, "scores against PyTorch, relative to the largest");
    CU_ASSERT(same_label);
    free(got), free(x), free(scores), free(mean);
    model_free(&m);
}

static void test_export_is_the_golden_file(void)
{
    for (size_t i = 0; i < sizeof goldens / sizeof *goldens; i++) check_export_is_the_golden_file(&goldens[i]);
}

static void test_golden_scores_match_pytorch(void)
{
    for (size_t i = 0; i < sizeof goldens / sizeof *goldens; i++) check_golden_scores_match_pytorch(&goldens[i]);
}

static void test_round_trip(void)
{
    Model a, b;
    float mean[C * H * W], *back = NULL;
    build(&a, SPEC, 3);
    golden_state(&a, mean);
    a.tta = 2; /* the run's test-time augmentation goes along (nndl eval's default) */
    build(&b, SPEC, 4);
    char path[128];
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    CU_ASSERT_FATAL(safetensors_save_model(&a, mean, NULL, path) == NNDL_OK);
    CU_ASSERT_FATAL(safetensors_load_model(&b, &back, path) == NNDL_OK);
    size_t n = model_state_size(&a);
    float *sa = malloc(n * sizeof *sa), *sb = malloc(n * sizeof *sb);
    model_state_save(&a, sa), model_state_save(&b, sb);
    CU_ASSERT(memcmp(sa, sb, n * sizeof *sa) == 0);
    CU_ASSERT(back && memcmp(back, mean, sizeof mean) == 0);
    WeightsInfo info;
    CU_ASSERT(safetensors_read_info(path, &info) == NNDL_OK);
    CU_ASSERT_STRING_EQUAL(info.spec, SPEC);
    CU_ASSERT(info.in_c == C && info.in_h == H && info.in_w == W && info.has_mean && info.n_tensors == 15);
    CU_ASSERT(info.tta == 2 && info.loss == LOSS_SOFTMAX);
    free(sa), free(sb), free(back);
    model_free(&a), model_free(&b);
}

/* Every registered layer kind, in a small net after a conv and after an affine: exported and
 * loaded back into a model with other weights, every state value the same. A new kind with
 * parameters or saved buffers needs its PyTorch names in net/safetensors.c; this says which. */
static void test_every_registered_kind_round_trips(void)
{
    for (int k = 0; k < layer_kind_count; k++) {
        for (int vector = 0; vector < 2; vector++) {
            char net[128], path[128];
            snprintf(net, sizeof net, "%s-relu-%s-affine5", vector ? "affine6" : "conv3x3", layer_kinds[k]->example);
            snprintf(path, sizeof path, "%s/kind.safetensors", dir);
            Model a, b;
            if (model_init(&a, test_backend("cpu"), net, 2, 4, 4, 0.5f, 0, LOSS_SOFTMAX, 1, 2) != NNDL_OK) continue;
            CU_ASSERT_FATAL(model_init(&b, test_backend("cpu"), net, 2, 4, 4, 0.5f, 0, LOSS_SOFTMAX, 2, 2) == NNDL_OK);
            size_t n = model_state_size(&a);
            float *sa = malloc(n * sizeof *sa), *sb = malloc(n * sizeof *sb);
            for (size_t i = 0; i < n; i++) sa[i] = value(i, 389); /* buffers too, not only the drawn weights */
            model_state_load(&a, sa);
            int saved = safetensors_save_model(&a, NULL, NULL, path);
            if (saved != NNDL_OK) fprintf(stderr, "\n    %s: %s\n", net, nndl_last_error());
            CU_ASSERT(saved == NNDL_OK && safetensors_load_model(&b, NULL, path) == NNDL_OK);
            model_state_save(&b, sb);
            CU_ASSERT(memcmp(sa, sb, n * sizeof *sa) == 0);
            free(sa), free(sb);
            model_free(&a), model_free(&b);
        }
    }
}

/* A load that must fail: the message mentions fragment, and the model is untouched. */
static void expect_refused(const char *spec, const char *path, const char *fragment)
{
    Model m;
    build(&m, spec, 5);
    size_t n = model_state_size(&m);
    float *before = malloc(n * sizeof *before), *after = malloc(n * sizeof *after), *mean = NULL;
    model_state_save(&m, before);
    nndl_clear_error();
    ASSERT_ERROR_MENTIONS(safetensors_load_model(&m, &mean, path), fragment);
    model_state_save(&m, after);
    CU_ASSERT(memcmp(before, after, n * sizeof *before) == 0);
    CU_ASSERT(mean == NULL);
    free(before), free(after);
    model_free(&m);
}

static void test_other_models_refused(void)
{
    /* another width: same names, other shapes */
    expect_refused("conv4x3-bn-relu-pool2-affine13-bn-relu-dropout0.5-affine5", GOLDEN_MODEL,
                   "tensor layers.4.linear.weight has shape (12, 64), the model's is (13, 64)");
    /* another layer order: a name the model lacks */
    expect_refused("conv4x3-relu-pool2-affine12-bn-relu-dropout0.5-affine5", GOLDEN_MODEL, "does not have");
    /* fewer layers: a tensor the file lacks is reported too */
    expect_refused("conv4x3-bn-relu-pool2-affine12-bn-relu-dropout0.5-affine5-relu-affine5", GOLDEN_MODEL,
                   "has no tensor layers.10.linear.weight");
}

/* good (a safetensors file of n bytes) with the first `from` in its header replaced by `to`, the
 * header length updated, written to path. */
static void write_with_header_edit(const char *path, const unsigned char *good, long n, const char *from,
                                   const char *to)
{
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)good[i] << (8 * i);
    const unsigned char *at = memmem(good + 8, hlen, from, strlen(from));
    CU_ASSERT_FATAL(at != NULL);
    size_t before = (size_t)(at - good), grow = strlen(to) - strlen(from), total = (size_t)n + grow;
    unsigned char *out = malloc(total);
    memcpy(out, good, before);
    memcpy(out + before, to, strlen(to));
    memcpy(out + before + strlen(to), at + strlen(from), (size_t)n - before - strlen(from));
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((hlen + grow) >> (8 * i));
    write_bytes(path, out, total);
    free(out);
}

static void test_damaged_files_refused(void)
{
    unsigned char *good = NULL;
    long n = file_bytes(GOLDEN_MODEL, &good);
    CU_ASSERT_FATAL(n > 100);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)good[i] << (8 * i);
    char path[128];
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    unsigned char *bad = malloc((size_t)n);
    /* every truncation: each refused (the data no longer covers the tensors, or no header) */
    for (long len = 0; len < n; len += len < 300 ? 1 : 97) {
        write_bytes(path, good, (size_t)len);
        expect_refused(SPEC, path, "");
    }
    /* every byte of the header changed (to a byte JSON cannot take there, or that changes a name,
     * number or bracket): refused or, where JSON allows it, still the same tensors; never a crash */
    for (uint64_t i = 0; i < 8 + hlen; i++) {
        memcpy(bad, good, (size_t)n);
        bad[i] ^= 0x5a;
        write_bytes(path, bad, (size_t)n);
        Model m;
        build(&m, SPEC, 6);
        float *mean = NULL;
        if (safetensors_load_model(&m, &mean, path) != NNDL_OK) CU_ASSERT(strlen(nndl_last_error()) > 0);
        free(mean);
        model_free(&m);
    }
    /* a header length past the file */
    memcpy(bad, good, (size_t)n);
    bad[5] = 0x7f;
    write_bytes(path, bad, (size_t)n);
    expect_refused(SPEC, path, "not a safetensors file or is truncated");
    /* a NaN in the data */
    memcpy(bad, good, (size_t)n);
    const unsigned char nan_le[4] = {0, 0, 0xc0, 0x7f};
    memcpy(bad + 8 + hlen + 4, nan_le, 4);
    write_bytes(path, bad, (size_t)n);
    expect_refused(SPEC, path, "non-finite value");
    /* extra data after the tensors */
    memcpy(bad, good, (size_t)n);
    write_bytes(path, bad, (size_t)n);
    FILE *f = fopen(path, "ab");
    fputs("junk", f);
    fclose(f);
    expect_refused(SPEC, path, "the tensors cover");
    /* metadata that does not parse (fuzz-found: the message quoted the freed header) */
    memcpy(bad, good, (size_t)n);
    char *shape = memmem(bad, (size_t)n, "\"3,8,8\"", 7);
    CU_ASSERT_FATAL(shape != NULL);
    memcpy(shape, "\"3,8,x\"", 7);
    write_bytes(path, bad, (size_t)n);
    WeightsInfo info;
    ASSERT_ERROR_MENTIONS(safetensors_read_info(path, &info), "input_shape '3,8,x' is not C,H,W");
    /* a side past int's range is refused, not wrapped (4294967304 = 2^32 + 8) */
    write_with_header_edit(path, good, n, "\"3,8,8\"", "\"3,4294967304,8\"");
    ASSERT_ERROR_MENTIONS(safetensors_read_info(path, &info), "input_shape '3,4294967304,8' is not C,H,W");
    write_with_header_edit(path, good, n, "\"3,8,8\"", "\"3,8,+8\"");
    ASSERT_ERROR_MENTIONS(safetensors_read_info(path, &info), "is not C,H,W");
    write_with_header_edit(path, good, n, "\"3,8,8\"", "\"3,8,8\""); /* the edit itself changes nothing */
    CU_ASSERT(safetensors_read_info(path, &info) == NNDL_OK && info.in_h == 8);
    /* a spec longer than nndl keeps is refused, not cut to the model it starts with */
    char *long_spec = malloc(sizeof info.spec + 100);
    snprintf(long_spec, sizeof info.spec + 100, "%s-scale1.%0*d-garbage", SPEC, (int)sizeof info.spec, 0);
    write_with_header_edit(path, good, n, SPEC, long_spec);
    ASSERT_ERROR_MENTIONS(safetensors_read_info(path, &info), "the spec in the metadata has");
    free(long_spec);
    /* a spec whose model is far larger than the file (30 MB of weights in a few KB): refused
     * before the model is built, by the program and the library */
    write_with_header_edit(path, good, n, "affine12-", "affine120000-");
    CU_ASSERT(nndl_model_open(path, "cpu") == NULL);
    CU_ASSERT(strstr(nndl_error_message(), "more than a file of") != NULL);
    char args[300];
    snprintf(args, sizeof args, "eval %s --data /nonexistent", path);
    expect_cli(args, 1, "has 8640125 parameters, more than a file of 6576 bytes holds");
    CU_ASSERT_FATAL(write_cifar_batch(dir, "data_batch_1.bin", 0, 10000L * 3073) == 0); /* and train --init-from */
    snprintf(args, sizeof args, "train --data %s --num-train 60 --num-val 20 --epochs 1 --no-save --init-from %s",
             dir, path);
    expect_cli(args, 2, "more than a file of 6576 bytes");
    /* not a file */
    expect_refused(SPEC, dir, "not a regular file");
    free(bad), free(good);
}

/* The commands: nndl export of a checkpoint, nndl train --init-from that file, and refusals. */
static void test_export_and_init_from_commands(void)
{
    char cmd[1024], ckpt[128], out[128];
    CU_ASSERT_FATAL(write_cifar_batch(dir, "data_batch_1.bin", 0, 10000L * 3073) == 0);
    CU_ASSERT_FATAL(write_cifar_batch(dir, "test_batch.bin", 3, 10000L * 3073) == 0);
    const char *small = "--num-train 60 --num-val 20 --num-test 20 --epochs 1 --batch-size 20 --print-every 0";
    snprintf(cmd, sizeof cmd, "train --data %s %s --model conv2x3-bn-relu-pool2-affine10 --checkpoint %s/run", dir,
             small, dir);
    expect_cli(cmd, 0, "test acc");
    snprintf(ckpt, sizeof ckpt, "%s/run_epoch_1.ckpt", dir);
    snprintf(out, sizeof out, "%s/w.safetensors", dir);
    snprintf(cmd, sizeof cmd, "export %s %s", ckpt, out);
    expect_cli(cmd, 0, "wrote");
    WeightsInfo info;
    CU_ASSERT(safetensors_read_info(out, &info) == NNDL_OK && info.has_mean && info.n_tensors == 9);
    CU_ASSERT_STRING_EQUAL(info.spec, "conv2x3-bn-relu-pool2-affine10");
    unsigned char *bytes = NULL; /* the checkpoint's class names (CIFAR-10's) in the metadata */
    CU_ASSERT(file_bytes(out, &bytes) > 0 && strstr((char *)bytes + 8, "\"classes\":\"[\\\"airplane\\\",") != NULL);
    free(bytes);
    /* the file's model when --model is not given */
    snprintf(cmd, sizeof cmd, "train --data %s %s --init-from %s", dir, small, out);
    expect_cli(cmd, 0, "init: weights from");
    snprintf(cmd, sizeof cmd, "train --data %s %s --init-from %s --model conv2x3-relu-pool2-affine10", dir, small, out);
    expect_cli(cmd, 2, "does not have");
    snprintf(cmd, sizeof cmd, "train --data %s %s --init-from %s --resume %s", dir, small, out, ckpt);
    expect_cli(cmd, 2, "give one");
    snprintf(cmd, sizeof cmd, "train --data %s %s --init-from %s", dir, small, ckpt); /* a checkpoint */
    expect_cli(cmd, 1, "not a safetensors file");
    /* a default run's files (--run NAME continues in runs/NAME/) must not replace its start */
    char shell[1400], text[2048], start[200];
    snprintf(start, sizeof start, "%s/runs", dir);
    CU_ASSERT_FATAL(mkdir(start, 0700) == 0);
    snprintf(start, sizeof start, "%s/runs/foo", dir);
    CU_ASSERT_FATAL(mkdir(start, 0700) == 0);
    snprintf(shell, sizeof shell, "cp %s %s/run_best.safetensors && NNDL_RUNS_DIR=%s/runs '%s' train --data %s %s "
             "--run foo --weights-only --init-from %s/run_best.safetensors", out, start, dir, test_program(), dir,
             small, start);
    CU_ASSERT_EQUAL(run_shell(shell, text, sizeof text), 2);
    CU_ASSERT(strstr(text, "the run would overwrite the weights it starts from") != NULL);
    snprintf(cmd, sizeof cmd, "train --data %s --resume %s", dir, out); /* weights, not a checkpoint */
    expect_cli(cmd, 1, "is a weights file (safetensors), not an nndl checkpoint");
    snprintf(cmd, sizeof cmd, "export %s", ckpt);
    expect_cli(cmd, 2, "needs a checkpoint and an output file");
    snprintf(cmd, sizeof cmd, "export %s %s", ckpt, ckpt);
    expect_cli(cmd, 2, "would destroy it");
    snprintf(cmd, sizeof cmd, "export %s/none.ckpt %s", dir, out);
    expect_cli(cmd, 1, "cannot open checkpoint");
    expect_cli("export --help", 0, "usage: nndl export");
    /* past a file-size limit: a failed write (exit 1, the message, no temporary file left),
     * not a process killed by SIGXFSZ half-way through the file */
    char fz[160];
    snprintf(fz, sizeof fz, "%s/fz.safetensors", dir);
    snprintf(shell, sizeof shell, "ulimit -f 8; '%s' export %s %s", test_program(), ckpt, fz);
    int status = run_shell(shell, text, sizeof text);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT(strstr(text, "failed") != NULL);
    char tmp[200];
    CU_ASSERT_FATAL(atomic_file_temp_name(tmp, sizeof tmp, fz) == NNDL_OK);
    CU_ASSERT(access(tmp, F_OK) != 0 && access(fz, F_OK) != 0);
    /* results that do not reach stdout (a full disk) are a failed write too, not exit 0 */
    snprintf(shell, sizeof shell, "'%s' eval %s --data %s --num-test 10 --json > /dev/full", test_program(), out, dir);
    CU_ASSERT_EQUAL(run_shell(shell, text, sizeof text), 1);
    CU_ASSERT(strstr(text, "output to stdout was not written") != NULL);
    if (status != 1) fprintf(stderr, "%s\n", text);
}

/* The library's API (nndl.h) on the same golden file: nndl_model_open reads spec, weights and
 * mean, and nndl_predict gives PyTorch's labels from raw pixels; failures are messages. */
static void test_library_api(void)
{
    int64_t xs[8], ss[8];
    int xd, sd;
    float *x, *torch;
    CU_ASSERT_FATAL(safetensors_read_tensor(GOLDEN_TORCH, "input", xs, &xd, &x) == NNDL_OK);
    CU_ASSERT_FATAL(safetensors_read_tensor(GOLDEN_TORCH, "scores", ss, &sd, &torch) == NNDL_OK);
    int N = (int)xs[0], labels[64];
    float scores[64 * 5];
    CU_ASSERT_FATAL(N <= 64);
    nndl_model *m = nndl_model_open(GOLDEN_MODEL, "cpu");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_STRING_EQUAL(nndl_model_spec(m), SPEC);
    CU_ASSERT(nndl_model_num_classes(m) == 5 && nndl_model_mean(m) != NULL);
    int c = 0, h = 0, w = 0; /* what the file's metadata says: (3, 8, 8) */
    CU_ASSERT(nndl_model_input_shape(m, &c, &h, NULL) == 0 && nndl_model_input_shape(m, NULL, NULL, &w) == 0);
    CU_ASSERT(c == 3 && h == 8 && w == 8 && nndl_model_input_shape(NULL, &c, &h, &w) == -1);
    CU_ASSERT_STRING_EQUAL(nndl_model_device(m), "cpu");
    CU_ASSERT_FATAL(nndl_predict(m, x, N, labels, scores) == 0);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        int b = 0;
        for (int k = 0; k < 5; k++) {
            if (torch[i * 5 + k] > torch[i * 5 + b]) b = k;
            worst = fmax(worst, fabs(scores[i * 5 + k] - torch[i * 5 + k]));
        }
        CU_ASSERT_EQUAL(labels[i], b);
    }
    ASSERT_BELOW(worst, 1e-3, "nndl_predict scores against PyTorch");
    nndl_model_free(m);
    CU_ASSERT(nndl_model_create("conv4x3-foo-affine10", 3, 8, 8, "cpu", 0) == NULL && strstr(nndl_error_message(), "unknown layer"));
    CU_ASSERT(nndl_model_open(dir, "cpu") == NULL && nndl_error_message()[0]);
    CU_ASSERT(nndl_export_checkpoint(GOLDEN_MODEL, "/tmp/never") == -1 &&
              strstr(nndl_error_message(), "not an nndl checkpoint"));
    m = nndl_model_create("affine5", 3, 8, 8, "cpu", 0);
    nndl_train_options o;
    nndl_train_options_init(&o);
    o.update = "nonsense";
    int y[64] = {0};
    CU_ASSERT(nndl_train(m, x, y, N, NULL, NULL, 0, &o) == -1 && strstr(nndl_error_message(), "nonsense"));
    nndl_model_free(m);
    free(x), free(torch);
}

/* nndl_model_create starts a layer spec as the program does: He, std sqrt(2 / fan_in) (with the
 * seed's fixed 1e-3 a deeper spec did not train), and a successful "auto" leaves no message. */
static void test_library_he_start(void)
{
    nndl_model *m = nndl_model_create("conv64x3-relu-affine40-relu-affine10", 3, 8, 8, "auto", 5);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_STRING_EQUAL(nndl_error_message(), "");
    char path[160];
    snprintf(path, sizeof path, "%s/he.safetensors", dir);
    CU_ASSERT_FATAL(nndl_model_save(m, path) == 0);
    struct {
        const char *name;
        double fan_in;
    } layers[] = {{"layers.0.conv.weight", 27}, {"layers.2.linear.weight", 64 * 8 * 8}, {"layers.4.linear.weight", 40}};
    for (size_t k = 0; k < sizeof layers / sizeof *layers; k++) {
        int64_t shape[8];
        int dims;
        float *w;
        CU_ASSERT_FATAL(safetensors_read_tensor(path, layers[k].name, shape, &dims, &w) == NNDL_OK);
        size_t n = 1;
        for (int i = 0; i < dims; i++) n *= (size_t)shape[i];
        double sq = 0;
        for (size_t i = 0; i < n; i++) sq += (double)w[i] * w[i];
        double ratio = sqrt(sq / n) / sqrt(2.0 / layers[k].fan_in); /* 400+ draws: within 15 % */
        if (fabs(ratio - 1) > 0.15) fprintf(stderr, "\n    %s: std %.3g of He's\n", layers[k].name, ratio);
        CU_ASSERT(fabs(ratio - 1) < 0.15);
        free(w);
    }
    nndl_model_free(m);
    /* saved without a mean image: the program says it uses the inputs as they are */
    char args[300];
    snprintf(args, sizeof args, "eval %s --data /nonexistent", path);
    expect_cli(args, 1, "records no mean image; the inputs are used as they are");
}

static int stop_at_last_epoch(int epoch, int epochs, double loss, double train_acc, double val_acc, void *user)
{
    (void)loss, (void)train_acc, (void)val_acc, (void)user;
    return epoch == epochs;
}

/* nndl_train's failures leave the model as it was (a divergence with a validation set used to
 * keep a finite but huge "best" state from the first step, which then made every later call
 * fail too); bad options are named, not reported as a divergence; progress asking to stop
 * after the last epoch still returns 1. */
static void test_library_train_failures(void)
{
    enum { N = 40, CLASSES = 10 };
    Dataset d;
    make_random_dataset(&d, N, 3, 8, 8, 3);
    for (size_t i = 0; i < (size_t)N * 192; i++) d.x[i] *= 1e4f; /* so that lr 10 diverges at once */
    nndl_model *m = nndl_model_create("conv4x3-relu-pool2-affine10", 3, 8, 8, "cpu", 7);
    CU_ASSERT_FATAL(m != NULL);
    int labels[N];
    float before[N * CLASSES], after[N * CLASSES];
    CU_ASSERT_FATAL(nndl_predict(m, d.x, N, labels, before) == 0);
    nndl_train_options o;
    nndl_train_options_init(&o);
    nndl_train_options_init(NULL); /* no crash */
    o.update = "sgd", o.learning_rate = 10, o.epochs = 2, o.batch_size = 10;
    CU_ASSERT(nndl_train(m, d.x, d.y, 30, d.x + 30 * 192, d.y + 30, 10, &o) == -1 &&
              strstr(nndl_error_message(), "diverged") != NULL);
    CU_ASSERT(nndl_predict(m, d.x, N, labels, after) == 0 && memcmp(before, after, sizeof before) == 0);
    struct {
        const char *what;
        float *field, value;
        int n_val;
    } bad[] = {{"validation examples", NULL, 0, -1},      {"reg", &o.reg, -1, 10},
               {"reg", &o.reg, NAN, 10},                   {"momentum", &o.momentum, 5, 10},
               {"learning_rate", &o.learning_rate, 0, 10}, {"lr_decay", &o.lr_decay, INFINITY, 10}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        nndl_train_options b = o;
        b.learning_rate = 1e-3f, b.update = "adam";
        if (bad[k].field) *(float *)((char *)&b + ((char *)bad[k].field - (char *)&o)) = bad[k].value;
        CU_ASSERT(nndl_train(m, d.x, d.y, 30, d.x + 30 * 192, d.y + 30, bad[k].n_val, &b) == -1);
        if (!strstr(nndl_error_message(), bad[k].what)) fprintf(stderr, "\n    %s\n", nndl_error_message());
        CU_ASSERT(strstr(nndl_error_message(), bad[k].what) != NULL);
    }
    CU_ASSERT(nndl_predict(m, d.x, -1, labels, after) == -1);
    /* a sane call afterwards trains; progress stopping at the last epoch returns 1 */
    for (size_t i = 0; i < (size_t)N * 192; i++) d.x[i] *= 1e-4f;
    o.update = "adam", o.learning_rate = 1e-3f, o.progress = stop_at_last_epoch;
    CU_ASSERT(nndl_train(m, d.x, d.y, 30, d.x + 30 * 192, d.y + 30, 10, &o) == 1);
    CU_ASSERT(nndl_predict(m, d.x, N, labels, after) == 0 && memcmp(before, after, sizeof before) != 0);
    /* a save that cannot happen names the file asked for, not the temporary one */
    CU_ASSERT(nndl_model_save(m, "/nonexistent/m.safetensors") == -1);
    CU_ASSERT(strstr(nndl_error_message(), "/nonexistent/m.safetensors: its directory") != NULL);
    CU_ASSERT(nndl_model_save(m, "") == -1 && strstr(nndl_error_message(), "no file name") != NULL);
    nndl_model_free(m);
    dataset_free(&d);
}

typedef struct CancelRun {
    nndl_model *m;
    const Dataset *d;
    volatile int epochs_done, cancelled_at; /* cancelled_at: epochs done when cancelled, or -1 */
    int rc;
} CancelRun;

/* Counts epochs; stops the run itself 50 epochs after the cancel, so a cancel that does not work
 * fails the test instead of hanging it. */
static int count_epoch(int epoch, int epochs, double loss, double train_acc, double val_acc, void *user)
{
    (void)epoch, (void)epochs, (void)loss, (void)train_acc, (void)val_acc;
    CancelRun *r = user;
    r->epochs_done++;
    return r->cancelled_at >= 0 && r->epochs_done > r->cancelled_at + 50;
}

static void *train_until_cancelled(void *arg)
{
    CancelRun *r = arg;
    nndl_train_options o;
    nndl_train_options_init(&o);
    o.epochs = 1000000, o.batch_size = 10, o.progress = count_epoch, o.user = r;
    r->rc = nndl_train(r->m, r->d->x, r->d->y, r->d->n, NULL, NULL, 0, &o);
    return NULL;
}

/* nndl_train_cancel from another thread stops a run of a million epochs once it is under way
 * (nndl_train returns 1, the model usable); one made before a call is dropped by it. */
static void test_library_cancel(void)
{
    Dataset d;
    make_random_dataset(&d, 40, 3, 8, 8, 4);
    CancelRun r = {.m = nndl_model_create("conv4x3-relu-pool2-affine10", 3, 8, 8, "cpu", 1), .d = &d,
                   .cancelled_at = -1};
    CU_ASSERT_FATAL(r.m != NULL);
    nndl_train_cancel(r.m); /* before any training: dropped */
    nndl_train_options o;
    nndl_train_options_init(&o);
    o.epochs = 1, o.batch_size = 10;
    CU_ASSERT(nndl_train(r.m, d.x, d.y, d.n, NULL, NULL, 0, &o) == 0);
    pthread_t t;
    CU_ASSERT_FATAL(pthread_create(&t, NULL, train_until_cancelled, &r) == 0);
    for (int waited = 0; !r.epochs_done && waited < 60000; waited++) usleep(1000); /* under way */
    CU_ASSERT(r.epochs_done > 0);
    r.cancelled_at = r.epochs_done;
    nndl_train_cancel(r.m);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT(r.epochs_done <= r.cancelled_at + 1); /* within the epoch under way */
    int labels[40];
    CU_ASSERT(nndl_predict(r.m, d.x, d.n, labels, NULL) == 0);
    nndl_model_free(r.m);
    dataset_free(&d);
}

void register_export_suite(void)
{
    static const CU_TestInfo tests[] = {
        {"export gives the file PyTorch read (golden bytes)", test_export_is_the_golden_file},
        {"loaded weights score as PyTorch did (golden)", test_golden_scores_match_pytorch},
        {"round trip of every tensor, the mean and the metadata", test_round_trip},
        {"every registered layer kind exports and loads back", test_every_registered_kind_round_trips},
        {"another model's weights refused by name and shape", test_other_models_refused},
        {"truncated, damaged and foreign files refused", test_damaged_files_refused},
        {"nndl export and nndl train --init-from", test_export_and_init_from_commands},
        {"the library API on the golden file: PyTorch's labels, failures as messages", test_library_api},
        {"the library starts a spec as the program does (He)", test_library_he_start},
        {"nndl_train_cancel from another thread stops a run", test_library_cancel},
        {"the library after a failed nndl_train: the model as before; bad options named", test_library_train_failures},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("export (safetensors)", setup, teardown);
    for (const CU_TestInfo *t = tests; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
