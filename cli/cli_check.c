/* cli_check.c — `nndl check`: does this device compute what the double reference computes?
 * Every op of the dispatch table, forward and backward, on the shapes the test suite uses, and
 * optionally one training step of a model, on each chosen device; a table of comparisons, a
 * summary line, exit 1 on any failure. The checks are the test suite's own (check/). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "build_info.h"
#include "check_report.h"
#include "cli_args.h"
#include "commands.h"
#include "error.h"
#include "model_spec.h"

enum { MAX_SELECTED = 32 };

static void check_usage(FILE *f)
{
    fprintf(f,
        "usage: nndl check [--device cpu|cuda|all] [--op NAME]... [--model SPEC]...\n"
        "  every op of the dispatch table, forward and backward, against the double-precision\n"
        "  reference on the test suite's shapes (batch 1, odd sizes, strides, pads, ties)\n"
        "  --device D        cpu, cuda or all (all: cuda skipped with its reason if unusable) [all]\n"
        "  --op NAME         only this check (repeatable): affine, relu, affine_relu, conv, conv_floor,\n"
        "                    max_pool, max_pool_ties, global_max_pool, global_avg_pool, gelu, scale_add,\n"
        "                    batchnorm, bn_relu_pool, dropout, losses, smoothed_loss, augment, axpby,\n"
        "                    l2_penalty, update\n"
        "  --model SPEC      also one training step of this model: loss, every gradient and the\n"
        "                    parameters after an sgd step, against the double reference model\n"
        "  --input C,H,W     the model's input [3,32,32]      --batch N   its batch [4]\n"
        "  --failures-only   print failed comparisons only\n"
        "exit status: 0 all passed, 1 a comparison failed or a requested device is unusable,\n"
        "2 bad flags\n");
}

static const struct option check_flags[] = {
    {"device", 1, 0, 'x'}, {"op", 1, 0, 'o'},    {"model", 1, 0, 'm'}, {"input", 1, 0, 'i'},
    {"batch", 1, 0, 'b'},  {"failures-only", 0, 0, 'f'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

/* Returns NNDL_OK, NNDL_ERR (message set) or 1 for --help. */
static int parse_check(int argc, char **argv, CheckOptions *o, const char **ops, const char **models)
{
    int c, shape[3];
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", check_flags, NULL)) != -1) {
        const char *a = optarg, *flag = argv[optind - 1];
        switch (c) {
        case 'x': o->device = a; break;
        case 'o':
            if (o->sel.n_ops == MAX_SELECTED) return nndl_fail("--op: at most %d", MAX_SELECTED);
            ops[o->sel.n_ops++] = a;
            o->sel.ops = ops;
            break;
        case 'm': {
            ModelSpec spec; /* a spec that does not parse is a bad flag, refused before any check */
            if (model_spec_parse(&spec, a) != NNDL_OK) return nndl_fail_context("--model");
            if (o->sel.n_models == MAX_SELECTED) return nndl_fail("--model: at most %d", MAX_SELECTED);
            models[o->sel.n_models++] = a;
            o->sel.models = models;
            break;
        }
        case 'i':
            if (arg_int_list("--input", a, shape, 3) != 3) return nndl_fail("--input: expected C,H,W");
            o->sel.model_c = shape[0], o->sel.model_h = shape[1], o->sel.model_w = shape[2];
            break;
        case 'b':
            if (arg_int("--batch", a, 1, 1024, &o->sel.model_batch) != NNDL_OK) return NNDL_ERR;
            break;
        case 'f': o->sel.failures_only = 1; break;
        case 'h': return 1;
        case ':': return nndl_fail("%s needs a value", flag);
        default: return nndl_fail("unknown option '%s'", flag);
        }
    }
    if (optind < argc) return nndl_fail("unexpected argument '%s'", argv[optind]);
    if (strcmp(o->device, "cpu") && strcmp(o->device, "cuda") && strcmp(o->device, "all"))
        return nndl_fail("--device: '%s' is not cpu, cuda or all", o->device);
    return NNDL_OK;
}

int check_command_run(const CheckOptions *o, BackendCreate create, FILE *out)
{
    fprintf(out, "nndl check: ");
    print_build_facts(out, create);
    const char *names[] = {"cpu", "cuda"};
    Backend *chosen[2] = {NULL, NULL};
    int rc = 0;
    for (int d = 0; d < 2; d++) {
        if (strcmp(o->device, "all") != 0 && strcmp(o->device, names[d]) != 0) continue;
        if (!(chosen[d] = create(names[d])) && strcmp(o->device, "all") != 0) {
            fprintf(out, "%s: requested but unusable: %s\n", names[d], nndl_last_error());
            rc = 1;
        }
    }
    fprintf(out, "\n");
    check_print_header(out);
    CheckTotals totals[2] = {{0, 0}, {0, 0}};
    for (int d = 0; d < 2 && rc != 2; d++)
        if (chosen[d] && check_report(out, chosen[d], &o->sel, &totals[d]) != NNDL_OK) {
            fprintf(stderr, "nndl check: %s\n", nndl_last_error());
            rc = 2;
        }
    if (rc != 2) {
        fprintf(out, "\n");
        for (int d = 0; d < 2; d++) {
            if (!chosen[d]) continue;
            fprintf(out, "%s: %d comparisons, %d failed\n", names[d], totals[d].rows, totals[d].failed);
            if (totals[d].failed || totals[d].rows == 0) rc = 1;
        }
        fprintf(out, "nndl check: %s\n", rc ? "FAILED" : "all passed");
    }
    for (int d = 0; d < 2; d++) backend_destroy(chosen[d]);
    return rc;
}

int cli_check(int argc, char **argv)
{
    const char *ops[MAX_SELECTED], *models[MAX_SELECTED];
    CheckOptions o = {.device = "all", .sel = {.model_c = 3, .model_h = 32, .model_w = 32, .model_batch = 4}};
    int rc = parse_check(argc, argv, &o, ops, models);
    if (rc == 1) {
        check_usage(stdout);
        return 0;
    }
    if (rc != NNDL_OK) {
        fprintf(stderr, "nndl check: %s\n", nndl_last_error());
        check_usage(stderr);
        return 2;
    }
    Backend *host = backend_create("cpu"); /* the selection checked before the table starts */
    rc = host && check_selection_valid(&o.sel, host) == NNDL_OK ? NNDL_OK : NNDL_ERR;
    backend_destroy(host);
    if (rc != NNDL_OK) {
        fprintf(stderr, "nndl check: %s\n", nndl_last_error());
        return 2;
    }
    return check_command_run(&o, backend_create, stdout);
}
