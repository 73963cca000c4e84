/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: nndl bench layers | nndl bench train [--device cpu|cuda]   [cpu]\n"
               "       (the device may also be given as a bare word: nndl bench train cuda)\n"
               "       --json after either: one JSON object on stdout instead of the table\n"
               "  layers  the seed's timing cells: naive (double reference) and fast (cpu backend) conv\n"
               "          and max pool, with speedups and differences\n"
               "  train   training throughput (images/s) of the seed's batchnorm CNN at batch 50 and\n"
               "          1000 on the device, and the peak RSS; under mpirun, per step the compute and\n"
               "          the gradient all-reduce's time and bytes\n"
               "  allreduce [--device cpu|cuda]  the process group's all-reduce (under mpirun): every\n"
               "          value checked on sizes 1 to 4000001, time and bus bandwidth per size\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

/* `train`'s device: --device D or --device=D as in train and eval, or the older bare word. */
static int train_device(int argc, char **argv, const char **device)
{
    *device = "cpu";
    if (argc == 0) return 0;
    if (argc == 1 && strncmp(argv[0], "--device=", 9) == 0) return *device = argv[0] + 9, 0;
    if (argc == 1 && argv[0][0] != '-') return *device = argv[0], 0;
    if (argc == 2 && strcmp(argv[0], "--device") == 0) return *device = argv[1], 0;
    return -1;
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
    const char *device;
    if (wants_help(argc, argv)) {
        bench_usage(stdout);
        return 0;
    }
    int json = take_json(&argc, argv);
    if (argc == 2 && strcmp(argv[1], "layers") == 0) return bench_layers(json);
    if (argc >= 2 && strcmp(argv[1], "train") == 0 && train_device(argc - 2, argv + 2, &device) == 0)
        return bench_train(device, json);
    if (argc >= 2 && strcmp(argv[1], "allreduce") == 0 && train_device(argc - 2, argv + 2, &device) == 0)
        return bench_allreduce(device);
    if (argc == 3 && strcmp(argv[1], "train") == 0 && strcmp(argv[2], "--device") == 0)
        fprintf(stderr, "nndl bench: --device needs a value\n");
    else if (argc >= 2 && strcmp(argv[1], "layers") != 0 && strcmp(argv[1], "train") != 0 &&
             strcmp(argv[1], "allreduce") != 0)
        fprintf(stderr, "nndl bench: unknown benchmark '%s'\n", argv[1]);
    else if (argc >= 2)
        fprintf(stderr, "nndl bench: unexpected arguments after '%s'\n", argv[1]);
    bench_usage(stderr);
    return 2;
}
