/* test_predict.c — predictions and metrics: top-k and softmax of a row of scores against hand
 * values; evaluate() against a brute-force count over the model's own scores; and the program:
 * `nndl eval` (text, --json, --confusion-svg, the checkpoint without --checkpoint) and
 * `nndl predict` (images, CIFAR records, --json) on a short run over a generated image folder,
 * each command checked against the other, and on the weights `nndl export` wrote; their
 * refusals; `bench layers --json`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "evaluation.h"
#include "test_util.h"

static char root[64], folder[128], ckpt[160], c100[128], c100_ckpt[160];
static const char *const names[3] = {"cat", "dog", "frog"};

static void test_top_k_and_softmax(void)
{
    const float s[5] = {1, 3, 3, 0, 2};
    int best[5];
    scores_top_k(s, 5, 3, best);
    CU_ASSERT(best[0] == 1 && best[1] == 2 && best[2] == 4); /* tie: the lower index first */
    scores_top_k(s, 5, 5, best);
    CU_ASSERT(best[3] == 0 && best[4] == 3);
    double p[5], sum = 0;
    scores_softmax(s, 5, p);
    for (int i = 0; i < 5; i++) sum += p[i];
    ASSERT_BELOW(fabs(sum - 1), 1e-12, "softmax sum");
    ASSERT_BELOW(fabs(p[1] / p[3] - exp(3.0)), 1e-9, "softmax ratio e^3");
    const float big[2] = {1e30f, 0}; /* shifted by the maximum: no overflow */
    scores_softmax(big, 2, p);
    CU_ASSERT(p[0] == 1 && p[1] == 0);
}

/* evaluate() against counts made here from the model's own scores. */
static void test_evaluate_against_brute_force(void)
{
    enum { N = 57, C = 7 };
    Model m;
    CU_ASSERT_FATAL(model_init(&m, test_backend("cpu"), "affine12-relu-affine7", 3, 4, 4, 0.5f, 0, LOSS_SOFTMAX, 5, 20) ==
                    NNDL_OK);
    Dataset d;
    make_random_dataset(&d, N, 3, 4, 4, 9);
    for (int i = 0; i < N; i++) d.y[i] %= C;
    Evaluation e;
    CU_ASSERT_FATAL(evaluate(&m, d.x, d.y, N, 3, &e) == NNDL_OK);
    float scores[C];
    int confusion[C * C] = {0}, top1 = 0, top3 = 0;
    for (int i = 0; i < N; i++) {
        CU_ASSERT_FATAL(model_scores(&m, scores, d.x + (size_t)i * 48, 1) == NNDL_OK);
        int arg = 0, above = 0;
        for (int c = 1; c < C; c++) arg = scores[c] > scores[arg] ? c : arg;
        for (int c = 0; c < C; c++) above += scores[c] > scores[d.y[i]];
        confusion[d.y[i] * C + arg]++;
        top1 += arg == d.y[i], top3 += above < 3;
    }
    CU_ASSERT(e.n == N && e.k == 3 && e.correct == top1 && e.topk_correct == top3);
    CU_ASSERT(memcmp(e.confusion, confusion, sizeof confusion) == 0);
    CU_ASSERT_EQUAL(e.correct, model_count_correct(&m, d.x, d.y, N));
    CU_ASSERT(top3 > top1); /* the top-3 count is not the top-1 count by accident */
    evaluation_free(&e);
    d.y[4] = C;
    ASSERT_ERROR_MENTIONS(evaluate(&m, d.x, d.y, N, 3, &e), "label 7");
    dataset_free(&d);
    model_free(&m);
}

/* ---- the program ------------------------------------------------------------------------- */

static int setup(void)
{
    char args[600], out[4096];
    if (make_temp_dir(root, sizeof root, "nndl_predict") != 0) return 1;
    snprintf(folder, sizeof folder, "%s/pets", root);
    snprintf(ckpt, sizeof ckpt, "%s/run_epoch_3.ckpt", root);
    snprintf(c100, sizeof c100, "%s/c100", root);
    snprintf(c100_ckpt, sizeof c100_ckpt, "%s/c100run_epoch_1.ckpt", root);
    if (write_test_image_folder(folder, names, 3, 6, 6, 4) != 0 || mkdir(c100, 0700) != 0 ||
        write_cifar100_file(c100, "train.bin", 50000L * 3074) != 0 || write_cifar100_file(c100, "test.bin", 10000L * 3074) != 0)
        return 1;
    /* red tells the classes apart (10-15, 30-35, 50-55): learnable in a few epochs */
    snprintf(args, sizeof args, "train --data %s --model affine3 --epochs 3 --batch-size 6 --num-val 3 --lr 1e-2 "
             "--print-every 0 --checkpoint %s/run", folder, root);
    if (run_cli(args, out, sizeof out) != 0) return fprintf(stderr, "%s\n", out), 1;
    snprintf(args, sizeof args, "train --data %s --labels coarse --model affine20 --num-train 30 --num-val 10 "
             "--num-test 0 --epochs 1 --batch-size 10 --print-every 0 --checkpoint %s/c100run", c100, root);
    if (run_cli(args, out, sizeof out) != 0) return fprintf(stderr, "%s\n", out), 1;
    return 0;
}

static int teardown(void)
{
    remove_tree(root);
    return 0;
}

/* The program's stdout (stderr dropped) as JSON; NULL when it is not JSON. */
static cJSON *program_json(const char *args, int *status)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", test_program(), args);
    FILE *p = popen(cmd, "r");
    static char out[1 << 16];
    size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[got] = '\0';
    *status = p ? pclose(p) : -1;
    cJSON *j = cJSON_Parse(out);
    if (!j) fprintf(stderr, "\n    not JSON from nndl %s:\n%.400s\n", args, out);
    return j;
}

static double number(const cJSON *o, const char *key) { return cJSON_GetNumberValue(cJSON_GetObjectItem(o, key)); }

/* eval --json on the folder, and predict --json on each of its images: the same predictions. */
static void test_eval_and_predict_agree(void)
{
    char args[1400];
    int status;
    snprintf(args, sizeof args, "eval %s --data %s --json --top-k 2", ckpt, folder);
    cJSON *e = program_json(args, &status);
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT(number(e, "examples") == 18 && number(e, "top_k") == 2);
    const cJSON *classes = cJSON_GetObjectItem(e, "classes"), *confusion = cJSON_GetObjectItem(e, "confusion");
    CU_ASSERT_FATAL(cJSON_GetArraySize(classes) == 3 && cJSON_GetArraySize(confusion) == 3);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(classes, 2), "name")), "frog");
    int diagonal = 0, total = 0;
    for (int c = 0; c < 3; c++) {
        const cJSON *row = cJSON_GetArrayItem(confusion, c);
        int row_total = 0;
        for (int j = 0; j < 3; j++) row_total += (int)cJSON_GetNumberValue(cJSON_GetArrayItem(row, j));
        diagonal += (int)cJSON_GetNumberValue(cJSON_GetArrayItem(row, c));
        total += row_total;
        CU_ASSERT_EQUAL(row_total, 6);
        CU_ASSERT(number(cJSON_GetArrayItem(classes, c), "examples") == 6);
    }
    CU_ASSERT(total == 18 && diagonal == (int)number(e, "correct"));
    CU_ASSERT(number(e, "top_k_accuracy") >= number(e, "accuracy"));
    /* predict, file by file: its top class against the label, and the count against eval's */
    int pos = snprintf(args, sizeof args, "predict --checkpoint %s --json --top-k 3", ckpt);
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 6; k++) pos += snprintf(args + pos, sizeof args - pos, " %s/%s/%d.png", folder, names[c], k);
    cJSON *p = program_json(args, &status);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT_EQUAL(status, 0);
    const cJSON *list = cJSON_GetObjectItem(p, "predictions");
    CU_ASSERT_FATAL(cJSON_GetArraySize(list) == 18);
    int right = 0;
    for (int i = 0; i < 18; i++) {
        const cJSON *top = cJSON_GetObjectItem(cJSON_GetArrayItem(list, i), "top");
        CU_ASSERT_FATAL(cJSON_GetArraySize(top) == 3);
        double sum = 0, prev = 2;
        for (int j = 0; j < 3; j++) {
            double pj = number(cJSON_GetArrayItem(top, j), "probability");
            CU_ASSERT(pj <= prev); /* best first */
            sum += pj, prev = pj;
        }
        ASSERT_BELOW(fabs(sum - 1), 1e-6, "probabilities of all 3 classes");
        const char *first = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(top, 0), "class"));
        right += first && strcmp(first, names[i / 6]) == 0;
    }
    CU_ASSERT_EQUAL(right, (int)number(e, "correct"));
    CU_ASSERT(right >= 12); /* it learnt something: the classes differ in red by 20 */
    cJSON_Delete(e);
    cJSON_Delete(p);
}


/* The exported weights of the checkpoint (nndl export), for eval and predict to read. */
static const char *exported_weights(void)
{
    static char path[200];
    char args[600], out[4096];
    snprintf(path, sizeof path, "%s/run.safetensors", root);
    snprintf(args, sizeof args, "export %s %s", ckpt, path);
    if (access(path, R_OK) != 0 && run_cli(args, out, sizeof out) != 0) fprintf(stderr, "%s\n", out);
    return path;
}

/* The same file as a string, and back (the weights' header patched in place). */
static size_t slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size, f) : 0;
    if (f) fclose(f);
    return n;
}

static void spill(const char *path, const char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) fwrite(buf, 1, n, f), fclose(f);
}

/* eval and predict read the weights nndl export wrote as they read the checkpoint: the same
 * counts, the same confusion matrix, the same predictions with the same probabilities, the
 * class names from the weights' metadata; weights that do not name their model, or name
 * fewer classes than it scores, are refused. */
static void test_eval_and_predict_read_weights(void)
{
    const char *weights = exported_weights();
    char args[1400];
    int status;
    cJSON *from[2][2]; /* [checkpoint, weights][eval, predict] */
    for (int w = 0; w < 2; w++) {
        const char *file = w ? weights : ckpt;
        snprintf(args, sizeof args, "eval %s --data %s --json --top-k 2", file, folder);
        from[w][0] = program_json(args, &status);
        CU_ASSERT_EQUAL(status, 0);
        int pos = snprintf(args, sizeof args, "predict --checkpoint %s --json --top-k 3", file);
        for (int c = 0; c < 3; c++) pos += snprintf(args + pos, sizeof args - pos, " %s/%s/%d.png", folder, names[c], c);
        from[w][1] = program_json(args, &status);
        CU_ASSERT_EQUAL(status, 0);
        CU_ASSERT_FATAL(from[w][0] && from[w][1]);
    }
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(from[1][0], "checkpoint"),
                                                                    "format")), "safetensors");
    CU_ASSERT(number(from[0][0], "correct") == number(from[1][0], "correct"));
    CU_ASSERT(number(from[0][0], "top_k_accuracy") == number(from[1][0], "top_k_accuracy"));
    char *c0 = cJSON_PrintUnformatted(cJSON_GetObjectItem(from[0][0], "confusion"));
    char *c1 = cJSON_PrintUnformatted(cJSON_GetObjectItem(from[1][0], "confusion"));
    CU_ASSERT(c0 && c1 && strcmp(c0, c1) == 0);
    cJSON_free(c0), cJSON_free(c1);
    char *p0 = cJSON_PrintUnformatted(cJSON_GetObjectItem(from[0][1], "predictions"));
    char *p1 = cJSON_PrintUnformatted(cJSON_GetObjectItem(from[1][1], "predictions"));
    CU_ASSERT(p0 && p1 && strcmp(p0, p1) == 0); /* classes by name, probabilities to the digit */
    CU_ASSERT(p1 && strstr(p1, "\"frog\"") != NULL);
    cJSON_free(p0), cJSON_free(p1);
    for (int w = 0; w < 2; w++) cJSON_Delete(from[w][0]), cJSON_Delete(from[w][1]);
    snprintf(args, sizeof args, "eval %s --data %s", weights, folder);
    expect_cli(args, 0, "weights ");

    /* the class list cut to two names, in place: "dog","frog" becomes one name */
    static char buf[1 << 16];
    size_t n = slurp(weights, buf, sizeof buf);
    CU_ASSERT_FATAL(n > 0 && n < sizeof buf);
    char *two = memmem(buf, n, "dog\\\",\\\"frog", 12);
    CU_ASSERT_FATAL(two != NULL);
    memcpy(two, "dog_____frog", 12);
    char cut[200], bare[200];
    snprintf(cut, sizeof cut, "%s/two-names.safetensors", root);
    spill(cut, buf, n);
    snprintf(args, sizeof args, "predict --checkpoint %s %s/cat/0.png", cut, folder);
    expect_cli(args, 1, "names 2 classes, but its model scores 3");
    /* weights that do not say what model they are for (a file PyTorch could have written) */
    static const char header[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char bytes[8 + sizeof header + 4] = {0};
    bytes[0] = (unsigned char)(sizeof header - 1);
    memcpy(bytes + 8, header, sizeof header - 1);
    snprintf(bare, sizeof bare, "%s/bare.safetensors", root);
    spill(bare, (const char *)bytes, 8 + sizeof header - 1 + 4);
    snprintf(args, sizeof args, "eval %s --data %s", bare, folder);
    expect_cli(args, 1, "no spec or input_shape in the safetensors metadata");
}

static void test_eval_text_and_svg(void)
{
    char args[600], svg[160];
    snprintf(svg, sizeof svg, "%s/confusion.svg", root);
    snprintf(args, sizeof args, "eval --checkpoint %s --data %s --confusion-svg %s", ckpt, folder, svg);
    expect_cli(args, 0, "per-class accuracy:\n  cat ");
    expect_cli(args, 0, "confusion matrix (rows: true class");
    expect_cli(args, 0, "top-3 acc"); /* --top-k 5 by default, at most the 3 classes */
    FILE *f = fopen(svg, "r");
    CU_ASSERT_FATAL(f != NULL);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    CU_ASSERT(strncmp(text, "<svg", 4) == 0 && strstr(text, "</svg>") != NULL);
    CU_ASSERT(strstr(text, "<title>true 2, predicted 2:") != NULL && strstr(text, ">frog</text>") != NULL);
    int cells = 0;
    for (const char *s = text; (s = strstr(s, "<title>true ")); s++) cells++;
    CU_ASSERT_EQUAL(cells, 9);
}

static void test_predict_records_and_refusals(void)
{
    char args[800];
    /* record 5 of the CIFAR-100 file: coarse label 5, named from the checkpoint's numbers */
    snprintf(args, sizeof args, "predict --checkpoint %s --record 5 --top-k 2 %s/train.bin", c100_ckpt, c100);
    expect_cli(args, 0, "train.bin record 5 (label: 5)\n  1. ");
    /* a CIFAR-10 record for the 20-class model: its label is not one of the model's, so not shown */
    char out[4096];
    CU_ASSERT_FATAL(write_cifar_batch(root, "c10.bin", 3, 10000L * 3073) == 0);
    snprintf(args, sizeof args, "predict --checkpoint %s --record 1 %s/c10.bin", c100_ckpt, root);
    CU_ASSERT(run_cli(args, out, sizeof out) == 0 && strstr(out, "c10.bin record 1\n  1. ") != NULL &&
              strstr(out, "label") == NULL);
    snprintf(args, sizeof args, "predict --checkpoint %s --record 50000 %s/train.bin", c100_ckpt, c100);
    expect_cli(args, 1, "has 50000 records; --record 50000");
    snprintf(args, sizeof args, "predict --checkpoint %s %s/nothing.png", ckpt, root);
    expect_cli(args, 1, "nothing.png");
    snprintf(args, sizeof args, "predict --checkpoint %s %s", ckpt, ckpt);
    expect_cli(args, 1, "cannot read image");
    snprintf(args, sizeof args, "predict --checkpoint %s --record 0 %s/cat/0.png", ckpt, folder);
    expect_cli(args, 1, "not a CIFAR-10");
    snprintf(args, sizeof args, "predict %s/cat/0.png", folder);
    expect_cli(args, 2, "--checkpoint CKPT is required");
    snprintf(args, sizeof args, "predict --checkpoint %s", ckpt);
    expect_cli(args, 2, "no image or batch file given");
    expect_cli("predict --top-k 0 --checkpoint x x.png", 2, "--top-k");
    /* an image of another size is resized to the model's input */
    char big[160];
    snprintf(big, sizeof big, "%s/big.png", root);
    CU_ASSERT_FATAL(write_test_png(big, 24, 16, 52) == 0);
    snprintf(args, sizeof args, "predict --checkpoint %s --top-k 1 %s", ckpt, big);
    expect_cli(args, 0, "big.png\n  1. ");
    /* eval: a folder class the checkpoint lacks, CIFAR test data for an image-folder model */
    char other[160];
    snprintf(other, sizeof other, "%s/zoo", root);
    static const char *const zoo[2] = {"cat", "zebra"};
    CU_ASSERT_FATAL(write_test_image_folder(other, zoo, 2, 1, 6, 4) == 0);
    snprintf(args, sizeof args, "eval %s --data %s", ckpt, other);
    expect_cli(args, 1, "a class 'zebra'");
    snprintf(args, sizeof args, "eval %s --data %s", ckpt, c100);
    expect_cli(args, 1, "CIFAR-100 test data are (3, 32, 32)");
    snprintf(args, sizeof args, "eval %s --data %s --num-test 7", c100_ckpt, c100);
    expect_cli(args, 0, "test acc: ");
    /* with CIFAR-100's names file, the model's numbered classes are not the data's */
    char names_file[200];
    snprintf(names_file, sizeof names_file, "%s/coarse_label_names.txt", c100);
    FILE *nf = fopen(names_file, "w");
    for (int i = 0; i < 20; i++) fprintf(nf, "group%d\n", i);
    fclose(nf);
    snprintf(args, sizeof args, "eval %s --data %s --num-test 7", c100_ckpt, c100);
    expect_cli(args, 1, "the model's class 0 is '0', but in the CIFAR-100 test data");
    unlink(names_file);
    snprintf(args, sizeof args, "eval %s --data %s --confusion-svg %s", ckpt, folder, root);
    expect_cli(args, 2, "is a directory");
    snprintf(args, sizeof args, "eval %s extra", ckpt);
    expect_cli(args, 2, "unexpected argument 'extra'");
}

/* bench layers --json: the table's rows as objects, each speedup naive / fast. */
static void test_bench_json(void)
{
    int status;
    cJSON *b = program_json("bench layers --json", &status);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(b, "benchmark")), "layers");
    const cJSON *rows = cJSON_GetObjectItem(b, "rows");
    CU_ASSERT_FATAL(cJSON_GetArraySize(rows) == 6);
    for (int i = 0; i < 6; i++) {
        const cJSON *r = cJSON_GetArrayItem(rows, i);
        CU_ASSERT(number(r, "naive_s") > 0 && number(r, "fast_s") > 0);
        ASSERT_BELOW(fabs(number(r, "speedup") - number(r, "naive_s") / number(r, "fast_s")), 1e-9 * number(r, "speedup"),
                     "speedup = naive / fast");
        CU_ASSERT(number(r, "float_error") < 1e-4);
    }
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 4), "layer")),
                           "max pool forward");
    cJSON_Delete(b);
    expect_cli("bench train --json --device tpu", 2, "unknown device 'tpu'");
}

void register_predict_suite(void)
{
    static const CU_TestInfo unit[] = {
        {"top-k and softmax of a row of scores", test_top_k_and_softmax},
        {"evaluate: top-1, top-k, confusion against brute force", test_evaluate_against_brute_force},
        CU_TEST_INFO_NULL};
    add_suite("predictions and metrics", unit);
    static const CU_TestInfo program[] = {
        {"eval --json and predict --json agree on every image", test_eval_and_predict_agree},
        {"eval and predict read exported weights as the checkpoint; refusals", test_eval_and_predict_read_weights},
        {"eval: text report and confusion SVG", test_eval_text_and_svg},
        {"predict: CIFAR records, resizing, refusals", test_predict_records_and_refusals},
        {"bench layers --json", test_bench_json},
        CU_TEST_INFO_NULL};
    CU_pSuite s = CU_add_suite("predictions and metrics: the program", setup, teardown);
    for (const CU_TestInfo *t = program; s && t->pName; t++) CU_add_test(s, t->pName, t->pTestFunc);
}
