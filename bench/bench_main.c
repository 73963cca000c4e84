/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SEED_CNN "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10"

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: nndl bench layers | nndl bench conv\n"
               "       nndl bench train [--device cpu|cuda] [--profile] [--model SPEC] [--batch N]\n"
               "       --json after layers or train: one JSON object on stdout instead of the table\n"
               "  layers  the seed's timing cells: naive (double reference) and fast (cpu backend) conv\n"
               "          and max pool, with speedups and differences\n"
               "  train   training throughput (images/s) at batch 50 and 1000 (--batch: only N) of SPEC\n"
               "          [%s] on the device [cpu] (also a bare word:\n"
               "          nndl bench train cuda), and the peak RSS; --profile adds the machine's sgemm\n"
               "          and memory rates and, per batch, every op's time per step, share and rate\n"
               "  conv    the cpu's 3x3 convolutions: im2col + sgemm vs Winograd F(2x2,3x3)\n",
            SEED_CNN);
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

/* Takes --json out of argv (anywhere after the benchmark's name); returns whether it was there. */
static int take_json(int *argc, char **argv)
{
    int json = 0, kept = 2;
    for (int i = 2; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else argv[kept++] = argv[i];
    }
    *argc = *argc < 2 ? *argc : kept;
    return json;
}

/* A positive batch size, or 0. */
static int parse_batch(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 && v <= 100000 ? (int)v : 0;
}

/* `train`'s flags: --device D (or --device=D, or a bare first word, as before), --profile,
 * --model SPEC, --batch N. Prints the problem and returns -1 on anything else. */
static int train_options(int argc, char **argv, BenchTrainOptions *o)
{
    *o = (BenchTrainOptions){.device = "cpu", .spec = SEED_CNN};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **value = strcmp(a, "--device") == 0 ? &o->device
                             : strcmp(a, "--model") == 0 ? &o->spec
                             : NULL;
        if (strncmp(a, "--device=", 9) == 0) o->device = a + 9;
        else if (strcmp(a, "--profile") == 0) o->profile = 1;
        else if (value || strcmp(a, "--batch") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "nndl bench: %s needs a value\n", a);
                return -1;
            }
            if (value) *value = argv[++i];
            else if (!(o->batch = parse_batch(argv[++i]))) {
                fprintf(stderr, "nndl bench: --batch '%s' is not a batch size (1 to 100000)\n", argv[i]);
                return -1;
            }
        } else if (i == 0 && a[0] != '-') o->device = a;
        else {
            fprintf(stderr, "nndl bench: unexpected arguments after 'train': '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

int bench_main(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        bench_usage(stdout);
        return 0;
    }
    int json = take_json(&argc, argv);
    if (argc == 2 && strcmp(argv[1], "layers") == 0) return bench_layers(json);
    if (argc == 2 && strcmp(argv[1], "conv") == 0 && !json) return bench_conv();
    if (argc >= 2 && strcmp(argv[1], "train") == 0) {
        BenchTrainOptions o;
        if (train_options(argc - 2, argv + 2, &o) == 0) {
            o.json = json;
            if (!(json && o.profile)) return bench_train(&o);
            fprintf(stderr, "nndl bench: --profile prints tables; it has no --json form\n");
        }
    } else if (argc >= 2 && strcmp(argv[1], "conv") == 0) {
        fprintf(stderr, "nndl bench: conv prints a table; it has no --json form\n");
    } else if (argc >= 2 && strcmp(argv[1], "layers") != 0) {
        fprintf(stderr, "nndl bench: unknown benchmark '%s'\n", argv[1]);
    } else if (argc >= 2) {
        fprintf(stderr, "nndl bench: unexpected arguments after '%s'\n", argv[1]);
    }
    bench_usage(stderr);
    return 2;
}
