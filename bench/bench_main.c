/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static void bench_usage(void)
{
    fprintf(stderr, "usage: nndl bench layers | nndl bench train [--device cpu|cuda]   [cpu]\n"
                    "       nndl bench allreduce [--device cpu|cuda]   (under mpirun: the all-reduce, checked)\n"
                    "       (the device may also be given as a bare word: nndl bench train cuda)\n");
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

int bench_main(int argc, char **argv)
{
    const char *device;
    if (argc == 2 && strcmp(argv[1], "layers") == 0) return bench_layers();
    if (argc >= 2 && strcmp(argv[1], "train") == 0 && train_device(argc - 2, argv + 2, &device) == 0)
        return bench_train(device);
    if (argc >= 2 && strcmp(argv[1], "allreduce") == 0 && train_device(argc - 2, argv + 2, &device) == 0)
        return bench_allreduce(device);
    if (argc == 3 && strcmp(argv[1], "train") == 0 && strcmp(argv[2], "--device") == 0)
        fprintf(stderr, "nndl bench: --device needs a value\n");
    else if (argc >= 2 && strcmp(argv[1], "layers") != 0 && strcmp(argv[1], "train") != 0 &&
             strcmp(argv[1], "allreduce") != 0)
        fprintf(stderr, "nndl bench: unknown benchmark '%s'\n", argv[1]);
    else if (argc >= 2)
        fprintf(stderr, "nndl bench: unexpected arguments after '%s'\n", argv[1]);
    bench_usage();
    return 2;
}
