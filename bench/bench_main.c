/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: nndl bench layers | nndl bench train [--device cpu|cuda] [--precision fp32|tf32]\n"
               "                                             [--batches B,B,...]   [cpu, fp32, 50,100,1000]\n"
               "       (the device may also be given as a bare word: nndl bench train cuda)\n"
               "       --json after either: one JSON object on stdout instead of the table\n"
               "  layers  the seed's timing cells: naive (double reference) and fast (cpu backend) conv\n"
               "          and max pool, with speedups and differences\n"
               "  train   training throughput (images/s) of the seed's batchnorm CNN at each batch size on\n"
               "          the device, and the peak RSS; on the SIMT host (build/nndl-simt) the runtime\n"
               "          calls per step instead (counts, no timings)\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

static int parse_batches(const char *text, BenchTrainOptions *o)
{
    o->n_batches = 0;
    for (const char *p = text; *p;) {
        char *end;
        long b = strtol(p, &end, 10);
        if (end == p || b < 1 || b > 100000 || o->n_batches == BENCH_MAX_BATCHES || (*end && *end != ',') ||
            (*end == ',' && !end[1]))
            return -1;
        o->batches[o->n_batches++] = (int)b;
        p = *end ? end + 1 : end;
    }
    return o->n_batches ? 0 : -1;
}

/* `train`'s flags: --device D (or --device=D, or the older bare word), --precision P,
 * --batches LIST; a message and -1 for anything else. */
static int train_options(int argc, char **argv, BenchTrainOptions *o)
{
    *o = (BenchTrainOptions){.device = "cpu", .precision = PRECISION_FP32, .batches = {50, 100, 1000}, .n_batches = 3};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--device=", 9) == 0) o->device = a + 9;
        else if (a[0] != '-' && i == 0) o->device = a;
        else if (strcmp(a, "--device") == 0 || strcmp(a, "--precision") == 0 || strcmp(a, "--batches") == 0) {
            if (!v) return fprintf(stderr, "nndl bench: %s needs a value\n", a), -1;
            i++;
            if (a[2] == 'd') o->device = v;
            else if (a[2] == 'p' && strcmp(v, "fp32") == 0) o->precision = PRECISION_FP32;
            else if (a[2] == 'p' && strcmp(v, "tf32") == 0) o->precision = PRECISION_TF32;
            else if (a[2] == 'p') return fprintf(stderr, "nndl bench: --precision %s: fp32 or tf32\n", v), -1;
            else if (parse_batches(v, o) != 0)
                return fprintf(stderr, "nndl bench: --batches %s: a list of 1 to %d sizes in 1..100000\n", v,
                               BENCH_MAX_BATCHES), -1;
        } else {
            return fprintf(stderr, "nndl bench: unexpected arguments after 'train': '%s'\n", a), -1;
        }
    }
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

int bench_main(int argc, char **argv)
{
    BenchTrainOptions o;
    if (wants_help(argc, argv)) {
        bench_usage(stdout);
        return 0;
    }
    int json = take_json(&argc, argv);
    if (argc == 2 && strcmp(argv[1], "layers") == 0) return bench_layers(json);
    if (argc >= 2 && strcmp(argv[1], "train") == 0) {
        if (train_options(argc - 2, argv + 2, &o) == 0) {
            o.json = json;
            return bench_train(&o);
        }
    } else if (argc >= 2 && strcmp(argv[1], "layers") != 0) {
        fprintf(stderr, "nndl bench: unknown benchmark '%s'\n", argv[1]);
    } else if (argc >= 2) {
        fprintf(stderr, "nndl bench: unexpected arguments after '%s'\n", argv[1]);
    }
    bench_usage(stderr);
    return 2;
}
