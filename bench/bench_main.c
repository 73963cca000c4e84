/* bench_main.c — `nndl bench <what>`: benchmark programs that print tables. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int bench_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "layers") == 0) return bench_layers();
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return bench_train(argc >= 3 ? argv[2] : "cpu");
    fprintf(stderr, "usage: nndl bench layers | nndl bench train [cpu|cuda]\n");
    return 2;
}
