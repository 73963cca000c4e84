/* cli_eval.c — `nndl eval`: a checkpoint's (or exported weights') accuracy on test data — top-1
 * and top-k, per class, and the confusion matrix (text, JSON, an SVG heat map). The model is
 * rebuilt from the spec the file stores; the test images get the training mean image it stores. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cli_args.h"
#include "commands.h"
#include "data_source.h"
#include "error.h"
#include "eval_report.h"
#include "same_file.h"
#include "trained_model.h"

static void eval_usage(FILE *f)
{
    fprintf(f, "usage: nndl eval [--checkpoint] FILE [options]\n"
               "  the checkpoint's accuracy on test data: top-1 and top-k, per class, confusion matrix;\n"
               "  FILE is a checkpoint or the .safetensors weights `nndl export` wrote\n"
               "  --data DIR           CIFAR-10 or CIFAR-100 directory (its test batch), or an image\n"
               "                       folder DIR/<class>/<image> (classes matched by name, images\n"
               "                       resized to the model's input) [data/cifar-10-batches-bin]\n"
               "  --data-format F      auto, cifar10, cifar100 or folder [auto]\n"
               "  --num-test N         the first N test records [1000; up to 10000], or N images of a\n"
               "                       folder (a seeded sample) [all]\n"
               "  --top-k K            also the top-K accuracy [5; 1 = none]\n"
               "  --confusion-svg FILE the confusion matrix as an SVG heat map\n"
               "  --json               the results as one JSON object on stdout\n"
               "  --device D           auto, cpu or cuda [auto]\n"
               "  --tta[=L]            test-time augmentation: 1 (--tta) the image and its mirror, 2\n"
               "                       also shifted one pixel, 0 none [the checkpoint's run's]\n"
               "  (see README on the test batch shipped here, whose records past 1016 are rebuilt from\n"
               "  a lossy copy)\n");
}

enum { OPT_FORMAT = 1000, OPT_TOP_K, OPT_SVG, OPT_JSON, OPT_TTA };

static const struct option eval_flags[] = {
    {"checkpoint", 1, 0, 'c'}, {"data", 1, 0, 'd'},          {"num-test", 1, 0, 'n'},
    {"device", 1, 0, 'x'},     {"data-format", 1, 0, OPT_FORMAT}, {"top-k", 1, 0, OPT_TOP_K},
    {"confusion-svg", 1, 0, OPT_SVG}, {"json", 0, 0, OPT_JSON}, {"tta", 2, 0, OPT_TTA}, {"help", 0, 0, 'h'},
    {0, 0, 0, 0}};

typedef struct EvalOptions {
    const char *ckpt, *device, *svg;
    DataRequest data;
    int top_k, json;
    int tta;                    /* < 0: the checkpoint's run's */
} EvalOptions;

static int report(const EvalOptions *o, const TrainedModel *t, const Evaluation *e)
{
    const CheckpointInfo *i = &t->info;
    if (o->json) {
        cJSON *j = eval_json(e, &t->classes);
        cJSON *ck = j ? cJSON_CreateObject() : NULL;
        if (ck) {
            cJSON_AddItemToObject(j, "checkpoint", ck);
            cJSON_AddStringToObject(ck, "path", o->ckpt);
            cJSON_AddStringToObject(ck, "format", t->weights_only ? "safetensors" : "checkpoint");
            cJSON_AddStringToObject(ck, "model", i->spec);
            if (t->weights_only) cJSON_AddNullToObject(ck, "epoch"); /* weights carry no run */
            else cJSON_AddNumberToObject(ck, "epoch", i->epoch);
            if (i->best_val_acc == SOLVER_NO_BEST) cJSON_AddNullToObject(ck, "best_val_acc");
            else cJSON_AddNumberToObject(ck, "best_val_acc", i->best_val_acc);
            cJSON_AddStringToObject(j, "data", o->data.dir);
            cJSON_AddStringToObject(j, "device", t->be->name);
        }
        if (json_print_and_free(stdout, j) != NNDL_OK) return 1;
    } else {
        if (t->weights_only) printf("weights %s: %s\n", o->ckpt, i->spec);
        else if (i->best_val_acc == SOLVER_NO_BEST) /* saved before the first accuracy check */
            printf("checkpoint %s: %s, epoch %d, no val accuracy yet (its current parameters)\n", o->ckpt, i->spec,
                   i->epoch);
        else
            printf("checkpoint %s: %s, epoch %d, best val acc %f (its best parameters)\n", o->ckpt, i->spec, i->epoch,
                   i->best_val_acc);
        printf("test acc: %f (%d / %d, on %s%s)\n", (double)e->correct / e->n, e->correct, e->n, t->be->name,
               t->model.tta == 2 ? ", flip and shift tta" : t->model.tta == 1 ? ", flip tta" : "");
        eval_print_text(stdout, e, &t->classes);
    }
    if (o->svg) {
        if (eval_write_confusion_svg(o->svg, e, &t->classes) != NNDL_OK) return 1;
        if (!o->json) printf("wrote %s\n", o->svg);
    }
    return 0;
}

static int run_eval(const EvalOptions *o)
{
    if (o->svg && same_file(o->svg, o->ckpt)) {
        nndl_fail("--confusion-svg %s is the file being evaluated; writing it would destroy it", o->svg);
        return 2;
    }
    if (o->svg && atomic_file_check_target(o->svg, "confusion matrix") != NNDL_OK) return 2;
    TrainedModel t;
    if (trained_model_open(&t, o->ckpt, o->device) != NNDL_OK) return 1;
    Model *m = &t.model;
    if (o->tta >= 0) m->tta = o->tta;
    Dataset test = {0};
    Evaluation e = {0};
    int rc = 1;
    if (data_load_test(&o->data, &t.classes, m->in_c, m->in_h, m->in_w, t.mean, &test) == NNDL_OK &&
        evaluate(m, test.x, test.y, test.n, o->top_k, &e) == NNDL_OK)
        rc = report(o, &t, &e);
    evaluation_free(&e);
    dataset_free(&test);
    trained_model_close(&t);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    EvalOptions o = {.device = "auto", .data = data_request_default("data/cifar-10-batches-bin"), .top_k = 5,
                     .tta = -1};
    const char *format = "auto";
    int c, num_test = 0;
    optind = 1;
    opterr = 0; /* our messages, not getopt's; the leading ':' makes a missing value ':', not '?' */
    while ((c = getopt_long(argc, argv, ":h", eval_flags, NULL)) != -1) {
        int rc = NNDL_OK;
        switch (c) {
        case 'c': rc = arg_path("--checkpoint", optarg, &o.ckpt); break;
        case 'd': rc = arg_path("--data", optarg, &o.data.dir); break;
        case 'x': o.device = optarg; break;
        case 'n': rc = arg_int("--num-test", optarg, 1, 1 << 30, &num_test), o.data.num_test = num_test; break;
        case OPT_FORMAT: format = optarg; break;
        case OPT_TOP_K: rc = arg_int("--top-k", optarg, 1, CLASS_COUNT_MAX, &o.top_k); break;
        case OPT_SVG: rc = arg_path("--confusion-svg", optarg, &o.svg); break;
        case OPT_JSON: o.json = 1; break;
        case OPT_TTA: rc = optarg ? arg_int("--tta", optarg, 0, 2, &o.tta) : (o.tta = 1, NNDL_OK); break;
        case 'h': eval_usage(stdout); return 0;
        case ':': rc = nndl_fail("%s needs a value", argv[optind - 1]); break;
        default: rc = nndl_fail("unknown option '%s'", argv[optind - 1]);
        }
        if (rc == NNDL_OK && c == OPT_FORMAT) rc = data_format_from_name(format, &o.data.format);
        if (rc != NNDL_OK) {
            fprintf(stderr, "nndl eval: %s\n", nndl_last_error());
            eval_usage(stderr);
            return 2;
        }
    }
    /* `nndl eval FILE`: the checkpoint without --checkpoint */
    if (!o.ckpt && optind < argc && arg_path("checkpoint", argv[optind], &o.ckpt) == NNDL_OK) optind++;
    if (!o.ckpt || optind < argc) {
        if (o.ckpt) fprintf(stderr, "nndl eval: unexpected argument '%s'\n", argv[optind]);
        else fprintf(stderr, "nndl eval: --checkpoint FILE is required\n");
        eval_usage(stderr);
        return 2;
    }
    int rc = run_eval(&o);
    if (rc) fprintf(stderr, "nndl eval: %s\n", nndl_last_error());
    return rc;
}
