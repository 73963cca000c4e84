/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SEED_CNN "conv64x3-bn-relu-pool2-affine500-bn-relu-affine10"

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: nndl bench layers | nndl bench conv | nndl bench gemm\n"
               "       nndl bench train [--device cpu|cuda] [--precision fp32|tf32] [--batches B,B,...]\n"
               "                        [--batch N] [--model SPEC] [--profile]   [cpu, fp32, 50,100,1000]\n"
               "       nndl bench allreduce [--device cpu|cuda]\n"
               "       (the device may also be given as a bare word: nndl bench train cuda)\n"
               "       --json after layers or train: one JSON object on stdout instead of the table\n"
               "  layers  the seed's timing cells: naive (double reference) and fast (cpu backend) conv\n"
               "          and max pool, with speedups and differences\n"
               "  train   training throughput (images/s) of SPEC [%s]\n"
               "          at each batch size on the device (--batch N: only N), and the peak RSS; on the\n"
               "          SIMT host (build/nndl-simt) the runtime calls per step instead (counts, no\n"
               "          timings); under mpirun, per step the compute and the gradient all-reduce's time\n"
               "          and bytes; --profile adds the machine's sgemm and memory rates and, per batch,\n"
               "          every op's time per step, share and rate (steps from host batches: the\n"
               "          device-resident graph step cannot be timed op by op)\n"
               "  conv    the cpu's 3x3 convolutions: im2col + sgemm vs Winograd F(2x2,3x3)\n"
               "  gemm    the cpu's matrix products on oneDNN and OpenBLAS, the seed net's shapes\n"
               "  allreduce  the process group's all-reduce (under mpirun): every value checked on\n"
               "          sizes 1 to 4000001, time and bus bandwidth per size\n",
            SEED_CNN);
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

/* `train`'s flags: --device D (or --device=D, or a bare first word, as before), --precision P,
 * --batches LIST, --batch N, --model SPEC, --profile. Prints the problem and returns -1 on
 * anything else. */
static int train_options(int argc, char **argv, BenchTrainOptions *o)
{
    *o = (BenchTrainOptions){.device = "cpu", .spec = SEED_CNN, .precision = PRECISION_FP32,
                             .batches = {50, 100, 1000}, .n_batches = 3};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = strcmp(a, "--device") == 0 || strcmp(a, "--model") == 0 || strcmp(a, "--batch") == 0 ||
                          strcmp(a, "--batches") == 0 || strcmp(a, "--precision") == 0;
        if (strncmp(a, "--device=", 9) == 0) o->device = a + 9;
        else if (strcmp(a, "--profile") == 0) o->profile = 1;
        else if (takes_value) {
            if (!v) return fprintf(stderr, "nndl bench: %s needs a value\n", a), -1;
            i++;
            if (strcmp(a, "--device") == 0) o->device = v;
            else if (strcmp(a, "--model") == 0) o->spec = v;
            else if (strcmp(a, "--batch") == 0) {
                if (!(o->batches[0] = parse_batch(v)))
                    return fprintf(stderr, "nndl bench: --batch '%s' is not a batch size (1 to 100000)\n", v), -1;
                o->n_batches = 1;
            } else if (strcmp(a, "--batches") == 0) {
                if (parse_batches(v, o) != 0)
                    return fprintf(stderr, "nndl bench: --batches %s: a list of 1 to %d sizes in 1..100000\n", v,
                                   BENCH_MAX_BATCHES), -1;
            } else if (strcmp(v, "fp32") == 0) o->precision = PRECISION_FP32;
            else if (strcmp(v, "tf32") == 0) o->precision = PRECISION_TF32;
            else return fprintf(stderr, "nndl bench: --precision %s: fp32 or tf32\n", v), -1;
        } else if (i == 0 && a[0] != '-') o->device = a;
        else return fprintf(stderr, "nndl bench: unexpected arguments after 'train': '%s'\n", a), -1;
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
    if (argc == 2 && strcmp(argv[1], "gemm") == 0 && !json) return bench_gemm();
    if (argc >= 2 && strcmp(argv[1], "train") == 0) {
        BenchTrainOptions o;
        if (train_options(argc - 2, argv + 2, &o) == 0) {
            o.json = json;
            if (!(json && o.profile)) return bench_train(&o);
            fprintf(stderr, "nndl bench: --profile prints tables; it has no --json form\n");
        }
    } else if (argc >= 2 && strcmp(argv[1], "allreduce") == 0) {
        BenchTrainOptions d;
        if (train_options(argc - 2, argv + 2, &d) == 0) return bench_allreduce(d.device);
    } else if (argc >= 2 && (strcmp(argv[1], "conv") == 0 || strcmp(argv[1], "gemm") == 0)) {
        fprintf(stderr, "nndl bench: %s prints a table and takes no arguments\n", argv[1]);
    } else if (argc >= 2 && strcmp(argv[1], "layers") != 0) {
        fprintf(stderr, "nndl bench: unknown benchmark '%s'\n", argv[1]);
    } else if (argc >= 2) {
        fprintf(stderr, "nndl bench: unexpected arguments after '%s'\n", argv[1]);
    }
    bench_usage(stderr);
    return 2;
}
