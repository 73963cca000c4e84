/* cli_eval.c — `nndl eval`: test accuracy of a checkpoint. The model is rebuilt from the spec
 * the checkpoint stores, and the test images get the training mean image it stores. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cifar10.h"
#include "cli_args.h"
#include "commands.h"
#include "error.h"
#include "model.h"

static void eval_usage(FILE *f)
{
    fprintf(f, "usage: nndl eval --checkpoint FILE [--data DIR] [--num-test N] [--device D] [--tta[=L]]\n"
               "  test accuracy on the first N test images [1000] (N up to 10000; see README on the\n"
               "  test batch shipped here, whose records past 1016 are rebuilt from a lossy copy)\n"
               "  --tta[=L]  test-time augmentation: 1 (--tta) the image and its mirror, 2 with one-pixel\n"
               "             shifts, 0 none [the checkpoint's run's]\n");
}

static const struct option eval_flags[] = {{"checkpoint", 1, 0, 'c'}, {"data", 1, 0, 'd'},
                                           {"num-test", 1, 0, 'n'},   {"device", 1, 0, 'x'},
                                           {"tta", 2, 0, 't'},
                                           {"help", 0, 0, 'h'},       {0, 0, 0, 0}};

/* tta < 0: the checkpoint's run's test-time augmentation */
static int run_eval(const char *ckpt, const char *dir, int num_test, const char *device, int tta)
{
    Backend *be = backend_choose(device);
    CheckpointInfo info;
    if (!be || checkpoint_read_info(ckpt, &info) != NNDL_OK) {
        backend_destroy(be);
        return 1;
    }
    Model m;
    if (model_init(&m, be, info.spec, info.in_c, info.in_h, info.in_w, 1e-3f, 0, (LossKind)info.loss, 0, 100) != NNDL_OK) {
        backend_destroy(be);
        return 1;
    }
    m.tta = tta >= 0 ? tta : info.recipe.tta;
    float *mean = NULL;
    Dataset test = {0};
    int rc = 1, correct = 0;
    if (checkpoint_load_model(&m, &mean, ckpt) == NNDL_OK && cifar10_load_test(&test, dir, num_test, mean) == NNDL_OK &&
        (correct = model_count_correct(&m, test.x, test.y, test.n)) >= 0) {
        if (info.best_val_acc == SOLVER_NO_BEST) /* saved before the first accuracy check */
            printf("checkpoint %s: %s, epoch %d, no val accuracy yet (its current parameters)\n", ckpt, info.spec,
                   info.epoch);
        else
            printf("checkpoint %s: %s, epoch %d, best val acc %f (its best parameters)\n", ckpt, info.spec,
                   info.epoch, info.best_val_acc);
        printf("test acc: %f (%d / %d, on %s%s)\n", (double)correct / test.n, correct, test.n, be->name,
               m.tta == 2 ? ", flip and shift tta" : m.tta == 1 ? ", flip tta" : "");
        rc = 0;
    }
    dataset_free(&test);
    free(mean);
    model_free(&m);
    backend_destroy(be);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    const char *ckpt = NULL, *dir = "data/cifar-10-batches-bin", *device = "auto";
    int num_test = 1000, tta = -1, c;
    optind = 1;
    opterr = 0; /* our messages, not getopt's; the leading ':' makes a missing value ':', not '?' */
    while ((c = getopt_long(argc, argv, ":", eval_flags, NULL)) != -1) {
        int rc = NNDL_OK;
        switch (c) {
        case 'c': rc = arg_path("--checkpoint", optarg, &ckpt); break;
        case 'd': rc = arg_path("--data", optarg, &dir); break;
        case 'x': device = optarg; break;
        case 'n': rc = arg_int("--num-test", optarg, 1, CIFAR10_RECORDS_PER_FILE, &num_test); break;
        case 't': rc = optarg ? arg_int("--tta", optarg, 0, 2, &tta) : (tta = 1, NNDL_OK); break;
        case 'h': eval_usage(stdout); return 0;
        case ':': rc = nndl_fail("%s needs a value", argv[optind - 1]); break;
        default: rc = nndl_fail("unknown option '%s'", argv[optind - 1]);
        }
        if (rc != NNDL_OK) {
            fprintf(stderr, "nndl eval: %s\n", nndl_last_error());
            eval_usage(stderr);
            return 2;
        }
    }
    if (!ckpt || optind < argc) {
        fprintf(stderr, "nndl eval: %s\n", ckpt ? "unexpected argument" : "--checkpoint FILE is required");
        eval_usage(stderr);
        return 2;
    }
    int rc = run_eval(ckpt, dir, num_test, device, tta);
    if (rc) fprintf(stderr, "nndl eval: %s\n", nndl_last_error());
    return rc;
}
