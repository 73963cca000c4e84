/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SEED_CNN "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10"

static void bench_usage(void)
{
    fprintf(stderr, "usage: nndl bench layers | nndl bench conv\n"
                    "       nndl bench train [--device cpu|cuda] [--profile] [--model SPEC] [--batch N]\n"
                    "  train: throughput at batch 50 and 1000 (--batch: only N) of SPEC [%s] on the\n"
                    "  device [cpu] (also given as a bare word: nndl bench train cuda); --profile adds\n"
                    "  the machine's sgemm and memory rates and, per batch, a table of every op's\n"
                    "  time per step, share and rate; conv: im2col vs Winograd on 3x3 convolutions\n",
            SEED_CNN);
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
    if (argc == 2 && strcmp(argv[1], "layers") == 0) return bench_layers();
    if (argc == 2 && strcmp(argv[1], "conv") == 0) return bench_conv();
    if (argc >= 2 && strcmp(argv[1], "train") == 0) {
        BenchTrainOptions o;
        if (train_options(argc - 2, argv + 2, &o) == 0) return bench_train(&o);
    } else if (argc >= 2 && strcmp(argv[1], "layers") != 0 && strcmp(argv[1], "conv") != 0) {
        fprintf(stderr, "nndl bench: unknown benchmark '%s'\n", argv[1]);
    } else if (argc >= 2) {
        fprintf(stderr, "nndl bench: unexpected arguments after '%s'\n", argv[1]);
    }
    bench_usage();
    return 2;
}
