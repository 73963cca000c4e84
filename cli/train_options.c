/* train_options.c — the flags of `nndl train` (see train_options.h). */
#include "train_options.h"

#include <getopt.h>
#include <string.h>

#include "cifar10.h"
#include "image_file.h"
#include "cli_args.h"
#include "error.h"
#include "model_spec.h"
#include "train_presets.h"

TrainOptions train_options_default(void)
{
    return (TrainOptions){.data = DEFAULT_DATA, .model = "cnn3", .device = "auto", .update = "adam",
                          .loss = "softmax", .epochs = 15, .batch_size = 1000, .filters = 64,
                          .filter_size = 3, .batchnorm = 1, .num_train = 49000, .num_val = 1000,
                          .num_test = 1000, .hidden = {500}, .n_hidden = 1, .print_every = 10000,
                          .train_samples = 1000, .val_samples = 0, .lr = 0, .lr_decay = 1.0f,
                          .reg = 1e-3f, .weight_scale = 1e-3f, .dropout = 0, .momentum = 0.9f,
                          .data_format = "auto", .labels = "fine", .val_fraction = 0.1f,
                          .num_classes = CIFAR10_CLASSES,
                          .save_every = 1, .keep_last = 0, .progress_interval = 30,
                          .nonweight_lr_mult = 1, .schedule = schedule_default(), .augment = {.pad_mode = PAD_ZERO}};
}

void train_usage(FILE *f)
{
    fprintf(f,
        "usage: nndl train [options]     (defaults: the seed's batchnorm CNN on CIFAR-10)\n"
        "  --data DIR          training data: a CIFAR-10 or CIFAR-100 binary directory, or an image\n"
        "                      folder DIR/<class>/<image>.png|.jpg [" DEFAULT_DATA "]\n"
        "  --data-format F     auto, cifar10, cifar100 or folder [auto: from the files]\n"
        "  --labels fine|coarse  CIFAR-100's 100 fine or 20 coarse classes [fine]\n"
        "  --resize WxH        image folders: resize every image to WxH (area when shrinking,\n"
        "                      bilinear when enlarging); without it images must be one size\n"
        "  --val-data DIR      image folders: a separate val folder (else one is held out)\n"
        "  --val-fraction F    image folders: share held out for validation [0.1]\n"
        "  --test-data DIR     image folders: test images for the final accuracy [none]\n"
        "  --model M           cnn3 (ThreeLayerConvNet), fc (FullyConnectedNet) or a layer spec\n"
        "                      such as '[conv32x3-bn-relu-pool2]x2-affine100-relu-affine10' [cnn3];\n"
        "                      also conv<F>x<K>(stride=S,pad=P,nobias,frozen,whiten,dirac),\n"
        "                      bn(noscale,momentum=M,eps=E),\n"
        "                      gelu, gap, gmp, scale<c>, residual blocks res[...] and res(proj)[...]\n"
        "  --filters F         cnn3 filters [64]          --filter-size K  cnn3 filter size [3]\n"
        "  --hidden H[,H...]   hidden units: one for cnn3, a list for fc [500]\n"
        "  --batchnorm / --no-batchnorm   batchnorm in cnn3 and fc [on]\n"
        "  --dropout P         fc dropout, P = probability of keeping a unit; 0 = none [0]\n"
        "  --init he|normal    initial weights: he = Kaiming normal, std sqrt(2 / fan_in);\n"
        "                      normal = --weight-scale * N(0,1) [normal for cnn3 and fc, he for\n"
        "                      a layer spec]; biases start at 0\n"
        "  --weight-scale S    std of the initial weights with --init normal [1e-3]\n"
        "  --reg R             L2 regularisation strength [1e-3]\n"
        "  --loss softmax|svm  [softmax]\n"
        "  --update RULE       sgd, sgd_momentum, sgd_nesterov_momentum, rmsprop, adam [adam]\n"
        "  --lr LR             learning rate [the rule's default: 1e-3 adam, 1e-2 others]\n"
        "  --momentum MU       for the momentum rules [0.9]\n"
        "  --lr-decay D        learning rate factor per epoch [1]\n"
        "  --epochs E [15]     --batch-size B [1000]     --seed S [0]\n"
        "  --num-train N [49000]  --num-val N [1000]    examples in each split; with --num-val 0\n"
        "                      there is no best-by-val selection: the final parameters are kept\n"
        "                      (image folders: all but the held-out images / --val-fraction)\n"
        "  --num-test N        test accuracy of the final model on the first N test images,\n"
        "                      0 = none [1000; image folders: all of --test-data]\n"
        "  --train-samples N   examples for the train accuracy check [1000]\n"
        "  --val-samples N     examples for the val accuracy check, 0 = all [0]\n"
        "  --print-every N     iterations between loss lines, 0 = none [10000]\n"
        "  --device D          auto, cpu or cuda [auto: cuda if usable, else cpu]\n"
        "  --precision P       fp32 or tf32: the GPU's matrix products on tensor cores with\n"
        "                      inputs rounded to 10 bits (~1e-3); the cpu ignores it [fp32]\n"
        "  --checkpoint NAME   write NAME_epoch_<e>.ckpt after every epoch (see --save-every)\n"
        "  --save-every N      a checkpoint every N epochs, and after the last [1]\n"
        "  --keep-last K       keep only the K newest epoch checkpoints this run wrote, 0 = all [0]\n"
        "  --save-best         also NAME_best.ckpt whenever the val accuracy improves\n"
        "  --weights-only      checkpoints as NAME_epoch_<e>.safetensors / NAME_best.safetensors:\n"
        "                      the weights and mean only (nndl export's format; --init-from reads\n"
        "                      them, --resume needs full .ckpt files with the optimizer state)\n"
        "  --run NAME          without --checkpoint/--log/--plot, every run writes runs/NAME/\n"
        "                      (run_epoch_<e>.ckpt, the last kept, run_best.ckpt, log.csv, curves.svg);\n"
        "                      NAME defaults to the start time; $NNDL_RUNS_DIR replaces runs/\n"
        "  --no-save           write nothing unless asked (no runs/ directory)\n"
        "  --progress-interval S  seconds between progress lines when stderr is not a terminal\n"
        "                      (a terminal gets a bar), 0 = none [30]\n"
        "  --resume FILE       continue a checkpoint's run: flags left out come from it (model,\n"
        "                      batch size, epochs, rule, seed, ...); flags given are applied or refused\n"
        "  --init-from F.safetensors  start from these weights (nndl export's names and shapes;\n"
        "                      the model is the file's spec unless --model is given)\n"
        "  --log FILE.csv      per epoch: epoch, iteration, wall_s, lr, train_loss, train_acc,\n"
        "                      val_loss, val_acc (written after every epoch)\n"
        "  --plot FILE.svg     the loss and accuracy curves (written after every epoch)\n"
        "training recipe (all off by default: the seed's run):\n"
        "  --preset NAME       a model and recipe by name (below); flags given override its values\n"
        "  --label-smoothing E softmax targets (1 - E) one-hot + E / classes [0]\n"
        "  --weight-decay WD   decoupled weight decay, w *= 1 - lr * WD each step (AdamW for adam,\n"
        "                      SGDW for the others), on every parameter; beside --reg [0]\n"
        "  --bias-lr-mult F    learning-rate factor of biases and batchnorm parameters (their\n"
        "                      decay is divided by it, so all decay alike) [1]\n"
        "  --schedule S        epoch-decay (--lr-decay per epoch), constant, step (--lr-decay every\n"
        "                      --step-epochs), cosine, onecycle (linear decay), per iteration\n"
        "                      [epoch-decay]\n"
        "  --warmup-epochs E   linear warm-up of the lr over E epochs (not with epoch-decay) [0]\n"
        "  --warmup-start F    the warm-up's first lr, a fraction of --lr [0]\n"
        "  --final-lr F        cosine and onecycle end at F times --lr [0]\n"
        "  --step-epochs N     step: epochs between two --lr-decay factors [1]\n"
        "  --crop-pad N        random translation by up to N pixels (a crop of the padded image) [0]\n"
        "  --pad-mode M        what the translation shows past the border: zero or reflect [zero]\n"
        "  --flip              random horizontal flip      --cutout N  zero a random NxN square [0]\n"
        "  --tta[=L]           test-time augmentation of the val/test accuracy: 1 (--tta) averages\n"
        "                      the image and its mirror, 2 adds one-pixel shifts, 0 none [0]\n"
        "  --ema D             evaluate (accuracy checks, best and final model) a moving average\n"
        "                      of the parameters, decay D per step (less in the first steps); 0 none [0]\n"
        "data-parallel (a build with MPI, started as mpirun -np N nndl train ...): each process\n"
        "  trains on 1/N of every minibatch and the gradients are averaged; rank 0 alone prints\n"
        "  and writes files; --batch-size is the global batch, a multiple of N\n"
        "  --sync-bn           batchnorm statistics over the whole global batch, as one process\n"
        "                      computes them [off: each process's own share, as PyTorch DDP]\n"
        "  --distributed       start MPI even without a launcher's environment (mpirun sets it)\n"
        "exit status: 0 done; 1 missing data or a failed write; 2 bad flags or model;\n"
        "  3 training diverged (a non-finite loss or parameter: try a smaller --lr; the log,\n"
        "    plot and epoch checkpoints up to the failure are kept);\n"
        "  130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP: the step in progress is\n"
        "    finished, NAME_interrupted.ckpt, the log and the plot written; a second signal\n"
        "    ends the program at once\n"
        "presets:\n");
    train_presets_print(f);
}

enum {
    OPT_NO_BN = 1000, OPT_TRAIN_SAMPLES, OPT_VAL_SAMPLES, OPT_PRINT_EVERY, OPT_NUM_TEST, OPT_DATA_FORMAT,
    OPT_LABELS, OPT_RESIZE, OPT_VAL_DATA, OPT_VAL_FRACTION, OPT_TEST_DATA, OPT_INIT_FROM, OPT_SAVE_EVERY,
    OPT_KEEP_LAST, OPT_SAVE_BEST, OPT_WEIGHTS_ONLY, OPT_RUN, OPT_NO_SAVE, OPT_PROGRESS,
    OPT_PRESET, OPT_LABEL_SMOOTHING, OPT_WEIGHT_DECAY, OPT_BIAS_LR, OPT_SCHEDULE, OPT_WARMUP, OPT_WARMUP_START,
    OPT_FINAL_LR, OPT_STEP_EPOCHS, OPT_CROP_PAD, OPT_PAD_MODE, OPT_FLIP, OPT_CUTOUT, OPT_TTA, OPT_EMA, OPT_INIT, OPT_PRECISION, OPT_SYNC_BN, OPT_DISTRIBUTED
};

static const struct option train_flags[] = {
    {"data", 1, 0, 'd'}, {"model", 1, 0, 'm'}, {"epochs", 1, 0, 'e'}, {"batch-size", 1, 0, 'b'},
    {"update", 1, 0, 'u'}, {"lr", 1, 0, 'l'}, {"lr-decay", 1, 0, 'D'}, {"reg", 1, 0, 'r'},
    {"weight-scale", 1, 0, 'w'}, {"filters", 1, 0, 'F'}, {"filter-size", 1, 0, 'K'},
    {"hidden", 1, 0, 'H'}, {"batchnorm", 0, 0, 'B'}, {"no-batchnorm", 0, 0, OPT_NO_BN},
    {"dropout", 1, 0, 'p'}, {"num-train", 1, 0, 'n'}, {"num-val", 1, 0, 'v'},
    {"num-test", 1, 0, OPT_NUM_TEST}, {"seed", 1, 0, 's'}, {"device", 1, 0, 'x'},
    {"checkpoint", 1, 0, 'c'}, {"resume", 1, 0, 'R'}, {"log", 1, 0, 'L'}, {"plot", 1, 0, 'P'},
    {"loss", 1, 0, 'o'}, {"momentum", 1, 0, 'M'}, {"train-samples", 1, 0, OPT_TRAIN_SAMPLES},
    {"val-samples", 1, 0, OPT_VAL_SAMPLES}, {"print-every", 1, 0, OPT_PRINT_EVERY},
    {"init-from", 1, 0, OPT_INIT_FROM}, {"save-every", 1, 0, OPT_SAVE_EVERY}, {"keep-last", 1, 0, OPT_KEEP_LAST},
    {"save-best", 0, 0, OPT_SAVE_BEST}, {"weights-only", 0, 0, OPT_WEIGHTS_ONLY}, {"run", 1, 0, OPT_RUN},
    {"no-save", 0, 0, OPT_NO_SAVE}, {"progress-interval", 1, 0, OPT_PROGRESS},
    {"preset", 1, 0, OPT_PRESET}, {"label-smoothing", 1, 0, OPT_LABEL_SMOOTHING},
    {"weight-decay", 1, 0, OPT_WEIGHT_DECAY}, {"bias-lr-mult", 1, 0, OPT_BIAS_LR},
    {"schedule", 1, 0, OPT_SCHEDULE}, {"warmup-epochs", 1, 0, OPT_WARMUP},
    {"warmup-start", 1, 0, OPT_WARMUP_START}, {"final-lr", 1, 0, OPT_FINAL_LR},
    {"step-epochs", 1, 0, OPT_STEP_EPOCHS}, {"crop-pad", 1, 0, OPT_CROP_PAD}, {"pad-mode", 1, 0, OPT_PAD_MODE},
    {"flip", 0, 0, OPT_FLIP}, {"cutout", 1, 0, OPT_CUTOUT}, {"tta", 2, 0, OPT_TTA}, {"ema", 1, 0, OPT_EMA},
    {"data-format", 1, 0, OPT_DATA_FORMAT}, {"labels", 1, 0, OPT_LABELS}, {"resize", 1, 0, OPT_RESIZE},
    {"val-data", 1, 0, OPT_VAL_DATA}, {"val-fraction", 1, 0, OPT_VAL_FRACTION}, {"test-data", 1, 0, OPT_TEST_DATA},
    {"sync-bn", 0, 0, OPT_SYNC_BN}, {"distributed", 0, 0, OPT_DISTRIBUTED},
    {"precision", 1, 0, OPT_PRECISION},
    {"init", 1, 0, OPT_INIT}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

/* "WxH" (or "N" for NxN), each side 1..IMAGE_SIDE_MAX. */
static int arg_size(const char *flag, const char *text, int *h, int *w)
{
    char width[32];
    const char *x = strchr(text, 'x'), *height = x ? x + 1 : text;
    size_t n = x ? (size_t)(x - text) : strlen(text);
    int a, b;
    if (n < sizeof width) memcpy(width, text, n), width[n] = '\0';
    if (n >= sizeof width || arg_int(flag, width, 1, IMAGE_SIDE_MAX, &a) != NNDL_OK ||
        arg_int(flag, height, 1, IMAGE_SIDE_MAX, &b) != NNDL_OK)
        return nndl_fail("%s: '%s' is not WIDTHxHEIGHT (e.g. 32x32), sides 1..%d", flag, text, IMAGE_SIDE_MAX);
    *w = a, *h = b;
    return NNDL_OK;
}

static int parse_flags(int argc, char **argv, TrainOptions *o)
{
    int c;
    optind = 1;
    opterr = 0; /* our messages, not getopt's; the leading ':' makes a missing value ':', not '?' */
    while ((c = getopt_long(argc, argv, ":h", train_flags, NULL)) != -1) {
        const char *a = optarg, *flag = argv[optind - 1];
        int rc = NNDL_OK;
        switch (c) {
        case 'd': rc = arg_path("--data", a, &o->data); break;
        case 'm': o->model = a, o->given |= GIVEN_MODEL; break;
        case 'e': rc = arg_int("--epochs", a, 1, 100000, &o->epochs), o->given |= GIVEN_EPOCHS; break;
        case 'b': rc = arg_int("--batch-size", a, 1, 100000, &o->batch_size), o->given |= GIVEN_BATCH_SIZE; break;
        case 'u': o->update = a, o->given |= GIVEN_UPDATE; break;
        case 'l': rc = arg_float("--lr", a, 1e-12, 10, &o->lr), o->recipe_given |= GIVEN_LR; break;
        case 'D': rc = arg_float("--lr-decay", a, 1e-6, 1, &o->lr_decay), o->given |= GIVEN_LR_DECAY; break;
        case 'r': rc = arg_float("--reg", a, 0, 1e3, &o->reg), o->given |= GIVEN_REG; break;
        case 'w': rc = arg_float("--weight-scale", a, 1e-12, 1e3, &o->weight_scale), o->given |= GIVEN_WEIGHT_SCALE; break;
        case 'F': rc = arg_int("--filters", a, 1, 4096, &o->filters), o->given |= GIVEN_MODEL | GIVEN_CNN3_SHAPE; break;
        case 'K': rc = arg_int("--filter-size", a, 1, 31, &o->filter_size), o->given |= GIVEN_MODEL | GIVEN_CNN3_SHAPE; break;
        case 'H':
            rc = (o->n_hidden = arg_int_list("--hidden", a, o->hidden, 16)) < 0 ? NNDL_ERR : NNDL_OK;
            o->given |= GIVEN_MODEL | GIVEN_HIDDEN;
            break;
        case 'B': o->batchnorm = 1, o->given |= GIVEN_MODEL | GIVEN_BATCHNORM; break;
        case OPT_NO_BN: o->batchnorm = 0, o->given |= GIVEN_MODEL | GIVEN_BATCHNORM; break;
        case 'p': rc = arg_float("--dropout", a, 0, 1, &o->dropout), o->given |= GIVEN_MODEL | GIVEN_DROPOUT; break;
        case 'n': rc = arg_int("--num-train", a, 1, 1 << 30, &o->num_train), o->given |= GIVEN_NUM_TRAIN; break;
        case 'v': rc = arg_int("--num-val", a, 0, 1 << 30, &o->num_val), o->given |= GIVEN_NUM_VAL; break;
        case OPT_NUM_TEST: rc = arg_int("--num-test", a, 0, 1 << 30, &o->num_test), o->given |= GIVEN_NUM_TEST; break;
        case OPT_DATA_FORMAT: o->data_format = a; break;
        case OPT_LABELS: o->labels = a; break;
        case OPT_RESIZE: rc = arg_size("--resize", a, &o->resize_h, &o->resize_w); break;
        case OPT_VAL_DATA: rc = arg_path("--val-data", a, &o->val_data); break;
        case OPT_TEST_DATA: rc = arg_path("--test-data", a, &o->test_data); break;
        case OPT_VAL_FRACTION: rc = arg_float("--val-fraction", a, 0, 0.99, &o->val_fraction); break;
        case 's': rc = arg_u64("--seed", a, &o->seed), o->given |= GIVEN_SEED; break;
        case 'x': o->device = a; break;
        case 'c': rc = arg_path("--checkpoint", a, &o->checkpoint); break;
        case 'R': rc = arg_path("--resume", a, &o->resume); break;
        case 'L': rc = arg_path("--log", a, &o->log); break;
        case 'P': rc = arg_path("--plot", a, &o->plot); break;
        case 'o': o->loss = a, o->given |= GIVEN_LOSS; break;
        case 'M': rc = arg_float("--momentum", a, 0, 1, &o->momentum), o->given |= GIVEN_MOMENTUM; break;
        case OPT_TRAIN_SAMPLES:
            rc = arg_int("--train-samples", a, 0, 1 << 30, &o->train_samples), o->given |= GIVEN_TRAIN_SAMPLES;
            break;
        case OPT_VAL_SAMPLES:
            rc = arg_int("--val-samples", a, 0, 1 << 30, &o->val_samples), o->given |= GIVEN_VAL_SAMPLES;
            break;
        case OPT_PRINT_EVERY: rc = arg_int("--print-every", a, 0, 1 << 30, &o->print_every); break;
        case OPT_PRECISION:
            if (strcmp(a, "fp32") == 0) o->precision = PRECISION_FP32;
            else if (strcmp(a, "tf32") == 0) o->precision = PRECISION_TF32;
            else rc = nndl_fail("--precision %s: fp32 or tf32", a);
            break;
        case OPT_INIT_FROM: rc = arg_path("--init-from", a, &o->init_from); break;
        case OPT_SAVE_EVERY: rc = arg_int("--save-every", a, 1, 100000, &o->save_every); break;
        case OPT_KEEP_LAST: rc = arg_int("--keep-last", a, 0, 100000, &o->keep_last), o->given |= GIVEN_KEEP_LAST; break;
        case OPT_SAVE_BEST: o->save_best = 1; break;
        case OPT_WEIGHTS_ONLY: o->weights_only = 1; break;
        case OPT_RUN: rc = arg_path("--run", a, &o->run_name); break;
        case OPT_NO_SAVE: o->no_save = 1; break;
        case OPT_PROGRESS: {
            float v;
            rc = arg_float("--progress-interval", a, 0, 1e6, &v);
            o->progress_interval = v;
            break;
        }
        case OPT_SYNC_BN: o->sync_bn = 1; break;
        case OPT_DISTRIBUTED: o->distributed = 1; break;
        case OPT_PRESET: break; /* applied first, by train_options_parse */
        case OPT_LABEL_SMOOTHING:
            rc = arg_float("--label-smoothing", a, 0, 1, &o->label_smoothing), o->recipe_given |= GIVEN_LABEL_SMOOTHING;
            break;
        case OPT_WEIGHT_DECAY:
            rc = arg_float("--weight-decay", a, 0, 1e3, &o->weight_decay), o->recipe_given |= GIVEN_WEIGHT_DECAY;
            break;
        case OPT_BIAS_LR:
            rc = arg_float("--bias-lr-mult", a, 1e-4, 1e4, &o->nonweight_lr_mult), o->recipe_given |= GIVEN_NONWEIGHT_LR;
            break;
        case OPT_SCHEDULE: rc = schedule_from_name(a, &o->schedule.kind), o->recipe_given |= GIVEN_SCHEDULE; break;
        case OPT_WARMUP:
            rc = arg_float("--warmup-epochs", a, 0, 1e5, &o->schedule.warmup_epochs), o->recipe_given |= GIVEN_WARMUP;
            break;
        case OPT_WARMUP_START:
            rc = arg_float("--warmup-start", a, 0, 1, &o->schedule.warmup_start), o->recipe_given |= GIVEN_WARMUP_START;
            break;
        case OPT_FINAL_LR: rc = arg_float("--final-lr", a, 0, 1, &o->schedule.final), o->recipe_given |= GIVEN_FINAL_LR; break;
        case OPT_STEP_EPOCHS:
            rc = arg_int("--step-epochs", a, 1, 100000, &o->schedule.step_epochs), o->recipe_given |= GIVEN_STEP_EPOCHS;
            break;
        case OPT_CROP_PAD: rc = arg_int("--crop-pad", a, 0, 1024, &o->augment.pad), o->recipe_given |= GIVEN_CROP_PAD; break;
        case OPT_PAD_MODE:
            if (strcmp(a, "zero") == 0) o->augment.pad_mode = PAD_ZERO;
            else if (strcmp(a, "reflect") == 0) o->augment.pad_mode = PAD_REFLECT;
            else rc = nndl_fail("--pad-mode: '%s' is not zero or reflect", a);
            o->recipe_given |= GIVEN_PAD_MODE;
            break;
        case OPT_FLIP: o->augment.flip = 1, o->recipe_given |= GIVEN_FLIP; break;
        case OPT_CUTOUT: rc = arg_int("--cutout", a, 0, 1024, &o->augment.cutout), o->recipe_given |= GIVEN_CUTOUT; break;
        case OPT_EMA: rc = arg_float("--ema", a, 0, 0.99999999, &o->ema), o->recipe_given |= GIVEN_EMA; break;
        case OPT_TTA: rc = a ? arg_int("--tta", a, 0, 2, &o->tta) : (o->tta = 1, NNDL_OK), o->recipe_given |= GIVEN_TTA; break;
        case OPT_INIT:
            if (weight_init_parse(a) < 0) return nndl_fail("--init: '%s' is not he or normal", a);
            o->init = a;
            break;
        case 'h': return 1;
        case ':': return nndl_fail("%s needs a value", flag);
        default: return nndl_fail("unknown option '%s'", flag);
        }
        if (rc != NNDL_OK) return NNDL_ERR;
    }
    if (optind < argc) return nndl_fail("unexpected argument '%s'", argv[optind]);
    size_t n = o->checkpoint ? strlen(o->checkpoint) : 0;
    if (n && o->checkpoint[n - 1] == '/')
        return nndl_fail("--checkpoint %s: NAME starts the file names NAME_epoch_<e>.ckpt, so it cannot end "
                         "with '/' (e.g. %srun)", o->checkpoint, o->checkpoint);
    if (o->run_name && (o->checkpoint || o->log || o->plot || o->no_save))
        return nndl_fail("--run %s names the directory of the default outputs; with --checkpoint, --log, --plot "
                         "or --no-save name the files instead", o->run_name);
    if (o->run_name && (strchr(o->run_name, '/') || strcmp(o->run_name, ".") == 0 || strcmp(o->run_name, "..") == 0))
        return nndl_fail("--run %s: a directory name under runs/, without '/'", o->run_name);
    if (o->init_from && (o->given & GIVEN_WEIGHT_SCALE))
        return nndl_fail("--weight-scale: the weights come from --init-from %s; leave it out", o->init_from);
    if (o->resume && (o->given & GIVEN_WEIGHT_SCALE))
        return nndl_fail("--weight-scale: a resumed run's weights come from its checkpoint; leave it out");
    if (o->init_from && o->resume)
        return nndl_fail("--init-from and --resume: a resumed run continues its checkpoint's weights; give one");
    if (strcmp(o->loss, "softmax") != 0 && strcmp(o->loss, "svm") != 0)
        return nndl_fail("--loss: '%s' is not softmax or svm", o->loss);
    if (o->label_smoothing > 0 && strcmp(o->loss, "softmax") != 0)
        return nndl_fail("--label-smoothing is for the softmax loss, not %s", o->loss);
    if (schedule_check(&o->schedule) != NNDL_OK) return NNDL_ERR;
    DataRequest r;
    return train_options_data_request(o, &r);
}

int train_options_data_request(const TrainOptions *o, DataRequest *r)
{
    *r = data_request_default(o->data);
    if (data_format_from_name(o->data_format, &r->format) != NNDL_OK) return NNDL_ERR;
    if (strcmp(o->labels, "fine") != 0 && strcmp(o->labels, "coarse") != 0)
        return nndl_fail("--labels: '%s' is not fine or coarse", o->labels);
    r->coarse = strcmp(o->labels, "coarse") == 0;
    r->val_dir = o->val_data, r->test_dir = o->test_data;
    if (o->given & GIVEN_NUM_TRAIN) r->num_train = o->num_train;
    if (o->given & GIVEN_NUM_VAL) r->num_val = o->num_val;
    if (o->given & GIVEN_NUM_TEST) r->num_test = o->num_test;
    r->val_fraction = o->val_fraction;
    r->resize_h = o->resize_h, r->resize_w = o->resize_w;
    r->split_seed = o->seed;
    return NNDL_OK;
}

/* The value of --preset on the command line (the last one given), or NULL. */
static const char *preset_flag(int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) name = argv[++i];
        else if (strncmp(argv[i], "--preset=", 9) == 0) name = argv[i] + 9;
    }
    return name;
}

int train_options_parse(int argc, char **argv, TrainOptions *o)
{
    const char *name = preset_flag(argc, argv);
    if (name) {
        const TrainPreset *p = train_preset_find(name);
        if (!p) return NNDL_ERR;
        char *flags[PRESET_MAX_FLAGS + 1] = {"nndl train --preset"};
        int n = 1;
        for (const char *const *f = p->flags; *f; f++) flags[n++] = (char *)*f;
        if (parse_flags(n, flags, o) != NNDL_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", nndl_last_error());
            return nndl_fail("--preset %s: %s", name, why);
        }
        o->preset = p->name;
        /* the preset's momentum does not count as the user's: --update adam over the preset is
         * not refused as "adam has no momentum" (the momentum rules still take its value, and a
         * resumed run the checkpoint's); a --momentum the user gives counts as before */
        o->given &= ~GIVEN_MOMENTUM;
    }
    return parse_flags(argc, argv, o);
}

/* A model flag that the chosen model does not use is refused: it would be ignored otherwise. */
static int check_model_flags(const TrainOptions *o)
{
    int cnn3 = strcmp(o->model, "cnn3") == 0, fc = strcmp(o->model, "fc") == 0;
    const char *which = cnn3 ? "cnn3" : fc ? "fc" : "a layer spec";
    if ((o->given & GIVEN_DROPOUT) && !fc)
        return nndl_fail("--dropout: --model %s has no dropout flag (--model fc has; in a spec write dropout<p>)", which);
    if ((o->given & GIVEN_CNN3_SHAPE) && !cnn3)
        return nndl_fail("--filters / --filter-size shape --model cnn3, not %s", which);
    if ((o->given & (GIVEN_HIDDEN | GIVEN_BATCHNORM)) && !cnn3 && !fc)
        return nndl_fail("--hidden / --batchnorm / --no-batchnorm shape cnn3 and fc; a layer spec says its own layers");
    return NNDL_OK;
}

int train_options_spec(const TrainOptions *o, char *spec, int size)
{
    if (check_model_flags(o) != NNDL_OK) return NNDL_ERR;
    if (strcmp(o->model, "cnn3") == 0) {
        if (o->n_hidden != 1) return nndl_fail("--hidden: cnn3 has one hidden layer, got %d sizes", o->n_hidden);
        return model_spec_three_layer_cnn(spec, size, o->filters, o->filter_size, o->hidden[0],
                                          o->num_classes, o->batchnorm);
    }
    if (strcmp(o->model, "fc") == 0)
        return model_spec_fc(spec, size, o->hidden, o->n_hidden, o->num_classes, o->batchnorm, o->dropout);
    size_t n = strlen(o->model);
    if (n >= (size_t)size) /* never cut: a cut spec can be another valid model */
        return nndl_fail("--model: the spec has %zu characters, more than %d", n, size - 1);
    memcpy(spec, o->model, n + 1);
    return NNDL_OK;
}

WeightInit train_options_init(const TrainOptions *o)
{
    if (o->init) return (WeightInit)weight_init_parse(o->init);
    return strcmp(o->model, "cnn3") == 0 || strcmp(o->model, "fc") == 0 ? INIT_NORMAL : INIT_HE;
}

SolverConfig train_options_solver_config(const TrainOptions *o, UpdateRule rule)
{
    SolverConfig cfg = solver_config_default();
    cfg.optim = optim_config_default(rule);
    if (o->lr > 0) cfg.optim.learning_rate = o->lr;
    cfg.optim.momentum = o->momentum;
    cfg.lr_decay = o->lr_decay, cfg.batch_size = o->batch_size, cfg.num_epochs = o->epochs;
    cfg.num_train_samples = o->train_samples, cfg.num_val_samples = o->val_samples;
    cfg.print_every = o->print_every, cfg.progress = 1, cfg.seed = o->seed;
    cfg.optim.weight_decay = o->weight_decay, cfg.nonweight_lr_mult = o->nonweight_lr_mult;
    cfg.schedule = o->schedule;
    cfg.schedule.gamma = o->lr_decay; /* the step schedule's factor */
    cfg.augment = o->augment;
    cfg.ema = o->ema;
    cfg.progress_interval = o->progress_interval;
    return cfg;
}
