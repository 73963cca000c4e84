/* cli_predict.c — `nndl predict`: the top-k classes of images (PNG/JPEG, resized to the model's
 * input like an image folder's) or of CIFAR records (--record N of a batch file), with softmax
 * probabilities, from a checkpoint or the weights `nndl export` wrote. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cifar_records.h"
#include "cli_args.h"
#include "commands.h"
#include "error.h"
#include "eval_report.h"
#include "evaluation.h"
#include "image_file.h"
#include "trained_model.h"

static void predict_usage(FILE *f)
{
    fprintf(f, "usage: nndl predict --checkpoint CKPT [options] FILE...\n"
               "  the top-k classes of each FILE with their probabilities (softmax of the scores);\n"
               "  CKPT is a checkpoint or the .safetensors weights `nndl export` wrote\n"
               "  FILE                 a PNG or JPEG image (resized to the model's input: area when\n"
               "                       shrinking, bilinear when enlarging), or with --record a CIFAR-10\n"
               "                       or CIFAR-100 batch file\n"
               "  --record N           classify record N (from 0) of each batch file, and show its label\n"
               "  --top-k K            classes shown per file [5, at most the model's classes]\n"
               "  --json               the results as one JSON object on stdout\n"
               "  --device D           auto, cpu or cuda [auto]\n");
}

enum { OPT_TOP_K = 1000, OPT_JSON, OPT_RECORD };

static const struct option predict_flags[] = {
    {"checkpoint", 1, 0, 'c'}, {"top-k", 1, 0, OPT_TOP_K}, {"json", 0, 0, OPT_JSON}, {"record", 1, 0, OPT_RECORD},
    {"device", 1, 0, 'x'},     {"help", 0, 0, 'h'},        {0, 0, 0, 0}};

typedef struct PredictOptions {
    const char *ckpt, *device;
    int top_k, json, record;    /* record -1: the files are images */
} PredictOptions;

/* One input as the model's example (mean subtracted); *label the record's label or -1. */
static int read_input(const PredictOptions *o, const TrainedModel *t, const char *path, float *x, int *label)
{
    const Model *m = &t->model;
    *label = -1;
    if (o->record >= 0) {
        long records;
        const CifarLayout *l = cifar_layout_of_file(path, &records);
        if (!l) return NNDL_ERR;
        if (m->in_c != 3 || m->in_h != 32 || m->in_w != 32)
            return nndl_fail("%s: CIFAR records are (3, 32, 32), the model takes (%d, %d, %d)", path, m->in_c, m->in_h,
                             m->in_w);
        if (o->record >= records) return nndl_fail("%s has %ld records; --record %d asked for", path, records, o->record);
        /* a CIFAR-100 file's label: the fine one, or the coarse one for a 20-class model */
        CifarLayout layout = *l;
        if (l->label_bytes == 2 && m->num_classes == 20) layout = cifar100_coarse_layout;
        int labels_are_the_models = layout.num_classes == m->num_classes;
        layout.num_classes = 256; /* any byte: the label is only shown, and only in the model's classes */
        Dataset one = {.n = 1, .c = 3, .h = 32, .w = 32, .x = x, .y = label};
        if (cifar_read_records(&layout, &one, 0, path, 0, o->record, 1) != NNDL_OK) return NNDL_ERR;
        if (!labels_are_the_models || *label >= m->num_classes) *label = -1;
    } else {
        if (m->in_c != IMAGE_CHANNELS) return nndl_fail("the model takes %d channels; images are read as RGB", m->in_c);
        if (image_file_read(path, x, m->in_h, m->in_w, 1) != NNDL_OK) return NNDL_ERR;
    }
    size_t size = (size_t)m->in_c * m->in_h * m->in_w;
    if (t->mean)
        for (size_t i = 0; i < size; i++) x[i] -= t->mean[i];
    return NNDL_OK;
}

static void print_text(const PredictOptions *o, const TrainedModel *t, const char *path, int label, const int *best,
                       const double *p, int k)
{
    if (o->record >= 0) printf("%s record %d", path, o->record);
    else printf("%s", path);
    if (label >= 0) printf(" (label: %s)", t->classes.names[label]);
    printf("\n");
    for (int i = 0; i < k; i++) printf("  %d. %-24s %.4f\n", i + 1, t->classes.names[best[i]], p[best[i]]);
}

static cJSON *json_item(const PredictOptions *o, const TrainedModel *t, const char *path, int label, const int *best,
                        const double *p, int k)
{
    cJSON *item = cJSON_CreateObject(), *top = cJSON_CreateArray();
    if (!item || !top) {
        cJSON_Delete(item), cJSON_Delete(top);
        return NULL;
    }
    cJSON_AddStringToObject(item, "file", path);
    if (o->record >= 0) cJSON_AddNumberToObject(item, "record", o->record);
    if (label >= 0) cJSON_AddStringToObject(item, "label", t->classes.names[label]);
    cJSON_AddItemToObject(item, "top", top);
    for (int i = 0; i < k; i++) {
        cJSON *c = cJSON_CreateObject();
        if (!c || !cJSON_AddItemToArray(top, c)) {
            cJSON_Delete(c), cJSON_Delete(item);
            return NULL;
        }
        cJSON_AddStringToObject(c, "class", t->classes.names[best[i]]);
        cJSON_AddNumberToObject(c, "index", best[i]);
        cJSON_AddNumberToObject(c, "probability", p[best[i]]);
    }
    return item;
}

static int run_predict(const PredictOptions *o, char **files, int n_files)
{
    TrainedModel t;
    if (trained_model_open(&t, o->ckpt, o->device) != NNDL_OK) return 1;
    Model *m = &t.model;
    int C = m->num_classes, k = o->top_k < C ? o->top_k : C, rc = 0;
    float *x = malloc((size_t)m->in_c * m->in_h * m->in_w * sizeof *x), *scores = malloc((size_t)C * sizeof *scores);
    double *p = malloc((size_t)C * sizeof *p);
    int *best = malloc((size_t)k * sizeof *best);
    cJSON *root = o->json ? cJSON_CreateObject() : NULL, *list = o->json ? cJSON_CreateArray() : NULL;
    if (!x || !scores || !p || !best || (o->json && (!root || !list))) rc = 1, nndl_fail("out of memory for predictions");
    if (root && list) {
        cJSON_AddStringToObject(root, "checkpoint", o->ckpt);
        cJSON_AddStringToObject(root, "model", t.info.spec);
        cJSON_AddItemToObject(root, "predictions", list);
        list = NULL;
    }
    for (int f = 0; rc == 0 && f < n_files; f++) {
        int label;
        if (read_input(o, &t, files[f], x, &label) != NNDL_OK || model_scores(m, scores, x, 1) != NNDL_OK) {
            rc = 1;
            break;
        }
        scores_softmax(scores, C, p);
        scores_top_k(scores, C, k, best);
        if (!o->json) {
            print_text(o, &t, files[f], label, best, p, k);
            continue;
        }
        cJSON *item = json_item(o, &t, files[f], label, best, p, k);
        if (!item || !cJSON_AddItemToArray(cJSON_GetObjectItem(root, "predictions"), item))
            rc = 1, nndl_fail("out of memory for the JSON output");
    }
    if (rc == 0 && o->json && json_print_and_free(stdout, root) != NNDL_OK) rc = 1;
    else if (rc != 0 || !o->json) cJSON_Delete(root);
    cJSON_Delete(list);
    free(x), free(scores), free(p), free(best);
    trained_model_close(&t);
    return rc;
}

int cli_predict(int argc, char **argv)
{
    PredictOptions o = {.device = "auto", .top_k = 5, .record = -1};
    int c;
    optind = 1;
    opterr = 0; /* our messages, not getopt's; the leading ':' makes a missing value ':', not '?' */
    while ((c = getopt_long(argc, argv, ":", predict_flags, NULL)) != -1) {
        int rc = NNDL_OK;
        switch (c) {
        case 'c': rc = arg_path("--checkpoint", optarg, &o.ckpt); break;
        case 'x': o.device = optarg; break;
        case OPT_TOP_K: rc = arg_int("--top-k", optarg, 1, CLASS_COUNT_MAX, &o.top_k); break;
        case OPT_RECORD: rc = arg_int("--record", optarg, 0, 1 << 30, &o.record); break;
        case OPT_JSON: o.json = 1; break;
        case 'h': predict_usage(stdout); return 0;
        case ':': rc = nndl_fail("%s needs a value", argv[optind - 1]); break;
        default: rc = nndl_fail("unknown option '%s'", argv[optind - 1]);
        }
        if (rc != NNDL_OK) {
            fprintf(stderr, "nndl predict: %s\n", nndl_last_error());
            predict_usage(stderr);
            return 2;
        }
    }
    if (!o.ckpt || optind >= argc) {
        fprintf(stderr, "nndl predict: %s\n", o.ckpt ? "no image or batch file given" : "--checkpoint CKPT is required");
        predict_usage(stderr);
        return 2;
    }
    for (int i = optind; i < argc; i++)
        if (!argv[i][0]) {
            fprintf(stderr, "nndl predict: an empty file name\n");
            return 2;
        }
    int rc = run_predict(&o, argv + optind, argc - optind);
    if (rc) fprintf(stderr, "nndl predict: %s\n", nndl_last_error());
    return rc;
}
