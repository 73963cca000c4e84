/* train_presets.c — the preset table (see train_presets.h).
 *
 * cifar-fast: an airbench94-shaped net at half width (Jordan, "94% on CIFAR-10 in 3.29 seconds
 * on a single GPU", 2024: stem conv 2x2 unpadded, three blocks conv-pool-bn-gelu-conv-bn-gelu,
 * batchnorm without scale weights, global max pool, linear, scaled scores) and its recipe adapted
 * to batch 512 and 12 epochs on all 50000 training images. airbench's values, per 1024 examples of
 * a summed loss with Nesterov momentum 0.85 (lr 11.5, weight decay 0.0153, biases' lr x64, label
 * smoothing 0.2, warm-up over 23% of the steps from 0.2, linear decay to 0.07, flip + 2-pixel
 * reflect translation, flip test-time augmentation), become for a mean loss at batch 512:
 * lr = 11.5 * 512 / (1024 * (1 + 1 / 0.15)) = 0.75; the coupled decay of 0.0153 * 512 / 7851 =
 * 1e-3 per step, amplified by the momentum to 1e-3 / 0.15 per step, is lr * 0.009 decoupled.
 * 8 epochs with flip TTA stopped at 0.891 on the first 1000 test images; 10 epochs with six test
 * views (flip x one-pixel diagonal shifts, --tta=2) reached 0.904 once and 0.893 once (with
 * Winograd F(4x4)); 12 epochs reached 0.904 in 1032 s on 2 cores, less than PyTorch's 10
 * (docs/training.md, 2026-11-26).
 * The unpadded 2x2 stem makes 31x31 maps, which the pools floor to 15, 7 and 3, as PyTorch's.
 * Bias-free convs, as each feeds a batchnorm. */
#include "train_presets.h"

#include <string.h>

#include "error.h"

#define AIRBENCH_HALF_NET                                                                                        \
    "conv24x2(pad=0,nobias)-bn(noscale)-gelu-"                                                                     \
    "conv32x3(nobias)-pool2-bn(noscale)-gelu-conv32x3(nobias)-bn(noscale)-gelu-"                                   \
    "conv128x3(nobias)-pool2-bn(noscale)-gelu-conv128x3(nobias)-bn(noscale)-gelu-"                                 \
    "conv128x3(nobias)-pool2-bn(noscale)-gelu-conv128x3(nobias)-bn(noscale)-gelu-"                                 \
    "gmp-affine10-scale0.125"

/* cifar94: the same net at airbench94's full width (64/256/256) with its starts: the stem's 2x2
 * filters whiten the training images' patches and stay fixed (its bias trains), every 3x3 conv
 * starts as the identity on its first channels (dirac), and evaluations use a moving average
 * of the weights. The 45000/5000 split on an H200 (docs/training.md, 2026-11-26): whitening +0.9
 * points of val accuracy, dirac +0.7, the average (0.9 per step) +0.6. At batch 512 and 14 epochs
 * (the recipe below) 0.942 val, 0.945 on the first 1000 test images; the preset itself reached
 * 0.947 in 48:51 on 2 CPU cores. A GPU takes --batch-size 1024 --lr 1.5 --epochs 10
 * --warmup-epochs 2.3: 0.936-0.940 in 9.1 s of training on an H100. */
#define AIRBENCH_FULL_NET                                                                                        \
    "conv24x2(whiten,frozen)-gelu-"                                                                               \
    "conv64x3(nobias,dirac)-pool2-bn(noscale)-gelu-conv64x3(nobias,dirac)-bn(noscale)-gelu-"                       \
    "conv256x3(nobias,dirac)-pool2-bn(noscale)-gelu-conv256x3(nobias,dirac)-bn(noscale)-gelu-"                     \
    "conv256x3(nobias,dirac)-pool2-bn(noscale)-gelu-conv256x3(nobias,dirac)-bn(noscale)-gelu-"                     \
    "gmp-affine10-scale0.125"

static const TrainPreset presets[] = {
    {"cifar-fast", "airbench94's net at half width and its recipe (~0.90 in 12 epochs)",
     {"--model", AIRBENCH_HALF_NET, "--init", "he", "--num-train", "50000", "--num-val", "0",
      "--epochs", "12", "--batch-size", "512", "--update", "sgd_nesterov_momentum", "--lr", "0.75",
      "--momentum", "0.85", "--reg", "0", "--weight-decay", "0.009", "--bias-lr-mult", "64",
      "--schedule", "onecycle", "--warmup-epochs", "1.84", "--warmup-start", "0.2", "--final-lr", "0.07",
      "--label-smoothing", "0.2", "--flip", "--crop-pad", "2", "--pad-mode", "reflect", "--tta=2",
      NULL}},
    {"cifar94", "airbench94's full-width net, starts and recipe (~0.94 in 14 epochs)",
     {"--model", AIRBENCH_FULL_NET, "--init", "he", "--num-train", "50000", "--num-val", "0",
      "--epochs", "14", "--batch-size", "512", "--update", "sgd_nesterov_momentum", "--lr", "0.75",
      "--momentum", "0.85", "--reg", "0", "--weight-decay", "0.009", "--bias-lr-mult", "64",
      "--schedule", "onecycle", "--warmup-epochs", "3.2", "--warmup-start", "0.2", "--final-lr", "0.07",
      "--label-smoothing", "0.2", "--flip", "--crop-pad", "2", "--pad-mode", "reflect", "--tta=2", "--ema", "0.9",
      NULL}},
};

const TrainPreset *train_preset_find(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    nndl_fail("--preset: unknown preset '%s' (known: cifar-fast, cifar94)", name);
    return NULL;
}

void train_presets_print(FILE *f)
{
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
        fprintf(f, "  preset %s: %s\n   ", presets[i].name, presets[i].summary);
        int col = 3;
        for (const char *const *a = presets[i].flags; *a; a++) {
            int len = (int)strlen(*a) + 1;
            if (col + len > 100 && (*a)[0] == '-') fprintf(f, "\n   "), col = 3;
            fprintf(f, " %s", *a);
            col += len;
        }
        fprintf(f, "\n");
    }
}
