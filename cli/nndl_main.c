/* nndl_main.c — the command-line front end: `nndl <command> [...]`. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "comm.h"
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nndl <command> [options]\n"
            "commands:\n"
            "  train           train a network on CIFAR-10/100 or an image folder (nndl train --help)\n"
            "  eval            test accuracy of a checkpoint: top-k, per class, confusion (nndl eval --help)\n"
            "  predict         the top classes of image files or CIFAR records (nndl predict --help)\n"
            "  export          a checkpoint's weights as safetensors for PyTorch (nndl export --help)\n"
            "  check           every op on each device against the double reference (nndl check --help)\n"
            "  bench layers    seed timing table: naive vs fast conv and max pool\n"
            "  bench train     training throughput of the seed's batchnorm CNN (--profile: per op)\n"
            "  bench conv      cpu 3x3 convolutions: im2col vs Winograd\n"
            "  bench allreduce the process group's all-reduce, checked and timed (under mpirun)\n"
            "  help, -h        this text        --version   how this nndl was built, and its devices\n");
}

static int run_command(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        print_build_facts(stdout, backend_create);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int one_process = strcmp(argv[1], "eval") == 0 || strcmp(argv[1], "predict") == 0 ||
                      strcmp(argv[1], "export") == 0 || strcmp(argv[1], "check") == 0;
    int ranks = one_process ? comm_launch_size() : 0;
    /* said, not refused: a job step of several tasks (Slurm's PMI_SIZE) may run one per task on
     * purpose, each on its own files */
    if (ranks > 1)
        fprintf(stderr, "note: nndl %s is not data-parallel: each of the launcher's %d processes runs all of it "
                        "(nndl train and nndl bench allreduce are the data-parallel commands)\n", argv[1], ranks);
    if (strcmp(argv[1], "bench") == 0) return bench_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "train") == 0) return cli_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0) return cli_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "predict") == 0) return cli_predict(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0) return cli_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0) return cli_export(argc - 1, argv + 1);
    fprintf(stderr, "nndl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

/* Results that did not reach stdout (a full disk, a closed descriptor) are a failed write, exit
 * 1: `nndl eval --json > r.json` must not succeed with an empty file. */
static int stdout_written(int rc)
{
    int flushed = fflush(stdout) == 0, err = errno;
    if (flushed && !ferror(stdout)) return rc;
    fprintf(stderr, "nndl: the output to stdout was not written%s%s\n", flushed ? "" : ": ", flushed ? "" : strerror(err));
    return rc ? rc : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines reach a log or a pipe as they happen */
    /* past a file-size limit (ulimit -f) a write fails with EFBIG, which the writers report and
     * clean up after, instead of the default SIGXFSZ killing the process mid-file */
    signal(SIGXFSZ, SIG_IGN);
    return stdout_written(run_command(argc, argv));
}
