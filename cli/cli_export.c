/* cli_export.c — `nndl export CKPT OUT.safetensors`: a checkpoint's model as named tensors that
 * PyTorch and other tools read (net/safetensors.h, docs/export.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "commands.h"
#include "error.h"
#include "same_file.h"
#include "safetensors.h"
#include "trained_model.h"

static void export_usage(FILE *f)
{
    fprintf(f, "usage: nndl export CHECKPOINT OUT.safetensors\n"
               "  writes the checkpoint's model (its best parameters when recorded, as nndl eval uses)\n"
               "  and its training mean image as a safetensors file with PyTorch's names and layouts:\n"
               "  layers.<i>.conv.weight (F,C,K,K), layers.<i>.linear.weight (out,in), layers.<i>.bn.\n"
               "  running_var (biased), preprocess.mean (C,H,W); the model spec in the metadata.\n"
               "  Load it in PyTorch with tools/nndl_torch.py; train from it with --init-from.\n"
               "  See docs/export.md.\n");
}

static int run_export(const char *ckpt, const char *out)
{
    CheckpointInfo info;
    Backend *be = backend_create("cpu");
    if (!be) return 1;
    if (checkpoint_read_info(ckpt, &info) != NNDL_OK) {
        backend_destroy(be);
        return 1;
    }
    Model m; /* its tta goes into the metadata: eval of the weights views as the run did */
    if (trained_model_build(&m, be, &info, ckpt, 1) != NNDL_OK) {
        backend_destroy(be);
        return 1;
    }
    float *mean = NULL;
    ClassNames names = {0};
    int rc = checkpoint_load_model(&m, &mean, ckpt) == NNDL_OK && checkpoint_load_class_names(&names, ckpt) == NNDL_OK &&
                     safetensors_save_model(&m, mean, &names, out) == NNDL_OK
                 ? 0 : 1;
    if (rc == 0)
        printf("wrote %s: '%s' on input (%d, %d, %d), %s of epoch %d%s%s\n", out, m.spec, m.in_c, m.in_h, m.in_w,
               info.best_val_acc == SOLVER_NO_BEST ? "the parameters" : "the best parameters", info.epoch,
               mean ? ", with the training mean image" : "", names.n ? " and the class names" : "");
    class_names_free(&names);
    free(mean);
    model_free(&m);
    backend_destroy(be);
    return rc;
}

int cli_export(int argc, char **argv)
{
    static const struct option flags[] = {{"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", flags, NULL)) != -1) {
        if (c == 'h') {
            export_usage(stdout);
            return 0;
        }
        fprintf(stderr, "nndl export: unknown option '%s'\n", argv[optind - 1]);
        export_usage(stderr);
        return 2;
    }
    if (argc - optind != 2 || !*argv[optind] || !*argv[optind + 1]) {
        fprintf(stderr, "nndl export: needs a checkpoint and an output file\n");
        export_usage(stderr);
        return 2;
    }
    const char *ckpt = argv[optind], *out = argv[optind + 1];
    if (same_file(ckpt, out)) {
        fprintf(stderr, "nndl export: the output %s is the checkpoint itself; writing it would destroy it\n", out);
        return 2;
    }
    int rc = run_export(ckpt, out);
    if (rc) fprintf(stderr, "nndl export: %s\n", nndl_last_error());
    return rc;
}
