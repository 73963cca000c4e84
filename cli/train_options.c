/* train_options.c — the flags of `nndl train` (see train_options.h). */
#include "train_options.h"

#include <getopt.h>
#include <string.h>

#include "cifar10.h"
#include "cli_args.h"
#include "error.h"
#include "model_spec.h"

TrainOptions train_options_default(void)
{
    return (TrainOptions){.data = DEFAULT_DATA, .model = "cnn3", .device = "auto", .update = "adam",
                          .loss = "softmax", .epochs = 15, .batch_size = 1000, .filters = 64,
                          .filter_size = 3, .batchnorm = 1, .num_train = 49000, .num_val = 1000,
                          .num_test = 1000, .hidden = {500}, .n_hidden = 1, .print_every = 10000,
                          .train_samples = 1000, .val_samples = 0, .lr = 0, .lr_decay = 1.0f,
                          .reg = 1e-3f, .weight_scale = 1e-3f, .dropout = 0, .momentum = 0.9f};
}

void train_usage(FILE *f)
{
    fprintf(f,
        "usage: nndl train [options]     (defaults: the seed's batchnorm CNN on CIFAR-10)\n"
        "  --data DIR          CIFAR-10 binary directory [" DEFAULT_DATA "]\n"
        "  --model M           cnn3 (ThreeLayerConvNet), fc (FullyConnectedNet) or a layer spec\n"
        "                      such as '[conv32x3-bn-relu-pool2]x2-affine100-relu-affine10' [cnn3]\n"
        "  --filters F         cnn3 filters [64]          --filter-size K  cnn3 filter size [3]\n"
        "  --hidden H[,H...]   hidden units: one for cnn3, a list for fc [500]\n"
        "  --batchnorm / --no-batchnorm   batchnorm in cnn3 and fc [on]\n"
        "  --dropout P         fc dropout, P = probability of keeping a unit; 0 = none [0]\n"
        "  --weight-scale S    std of the initial weights [1e-3]\n"
        "  --reg R             L2 regularisation strength [1e-3]\n"
        "  --loss softmax|svm  [softmax]\n"
        "  --update RULE       sgd, sgd_momentum, sgd_nesterov_momentum, rmsprop, adam [adam]\n"
        "  --lr LR             learning rate [the rule's default: 1e-3 adam, 1e-2 others]\n"
        "  --momentum MU       for the momentum rules [0.9]\n"
        "  --lr-decay D        learning rate factor per epoch [1]\n"
        "  --epochs E [15]     --batch-size B [1000]     --seed S [0]\n"
        "  --num-train N [49000]  --num-val N [1000]    examples in each split; with --num-val 0\n"
        "                      there is no best-by-val selection: the final parameters are kept\n"
        "  --num-test N        test accuracy of the final model on the first N test images,\n"
        "                      0 = none [1000]\n"
        "  --train-samples N   examples for the train accuracy check [1000]\n"
        "  --val-samples N     examples for the val accuracy check, 0 = all [0]\n"
        "  --print-every N     iterations between loss lines, 0 = none [10000]\n"
        "  --device D          auto, cpu or cuda [auto: cuda if usable, else cpu]\n"
        "  --checkpoint NAME   write NAME_epoch_<e>.ckpt after every epoch\n"
        "  --resume FILE       continue a checkpoint's run: flags left out come from it (model,\n"
        "                      batch size, epochs, rule, seed, ...); flags given are applied or refused\n"
        "  --log FILE.csv      losses and accuracies      --plot FILE.svg  the two curves\n"
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
        "    ends the program at once\n");
}

enum { OPT_NO_BN = 1000, OPT_TRAIN_SAMPLES, OPT_VAL_SAMPLES, OPT_PRINT_EVERY, OPT_NUM_TEST, OPT_SYNC_BN,
       OPT_DISTRIBUTED };

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
    {"sync-bn", 0, 0, OPT_SYNC_BN}, {"distributed", 0, 0, OPT_DISTRIBUTED},
    {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

int train_options_parse(int argc, char **argv, TrainOptions *o)
{
    int c;
    optind = 1;
    opterr = 0; /* our messages, not getopt's; the leading ':' makes a missing value ':', not '?' */
    while ((c = getopt_long(argc, argv, ":", train_flags, NULL)) != -1) {
        const char *a = optarg, *flag = argv[optind - 1];
        int rc = NNDL_OK;
        switch (c) {
        case 'd': rc = arg_path("--data", a, &o->data); break;
        case 'm': o->model = a, o->given |= GIVEN_MODEL; break;
        case 'e': rc = arg_int("--epochs", a, 1, 100000, &o->epochs), o->given |= GIVEN_EPOCHS; break;
        case 'b': rc = arg_int("--batch-size", a, 1, 100000, &o->batch_size), o->given |= GIVEN_BATCH_SIZE; break;
        case 'u': o->update = a, o->given |= GIVEN_UPDATE; break;
        case 'l': rc = arg_float("--lr", a, 1e-12, 10, &o->lr); break;
        case 'D': rc = arg_float("--lr-decay", a, 1e-6, 1, &o->lr_decay), o->given |= GIVEN_LR_DECAY; break;
        case 'r': rc = arg_float("--reg", a, 0, 1e3, &o->reg), o->given |= GIVEN_REG; break;
        case 'w': rc = arg_float("--weight-scale", a, 1e-12, 1e3, &o->weight_scale); break;
        case 'F': rc = arg_int("--filters", a, 1, 4096, &o->filters), o->given |= GIVEN_MODEL; break;
        case 'K': rc = arg_int("--filter-size", a, 1, 31, &o->filter_size), o->given |= GIVEN_MODEL; break;
        case 'H':
            rc = (o->n_hidden = arg_int_list("--hidden", a, o->hidden, 16)) < 0 ? NNDL_ERR : NNDL_OK;
            o->given |= GIVEN_MODEL;
            break;
        case 'B': o->batchnorm = 1, o->given |= GIVEN_MODEL; break;
        case OPT_NO_BN: o->batchnorm = 0, o->given |= GIVEN_MODEL; break;
        case 'p': rc = arg_float("--dropout", a, 0, 1, &o->dropout), o->given |= GIVEN_MODEL; break;
        case 'n': rc = arg_int("--num-train", a, 1, CIFAR10_TRAIN_RECORDS, &o->num_train); break;
        case 'v': rc = arg_int("--num-val", a, 0, CIFAR10_TRAIN_RECORDS, &o->num_val); break;
        case OPT_NUM_TEST: rc = arg_int("--num-test", a, 0, CIFAR10_RECORDS_PER_FILE, &o->num_test); break;
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
        case OPT_SYNC_BN: o->sync_bn = 1; break;
        case OPT_DISTRIBUTED: o->distributed = 1; break;
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
    if (strcmp(o->loss, "softmax") != 0 && strcmp(o->loss, "svm") != 0)
        return nndl_fail("--loss: '%s' is not softmax or svm", o->loss);
    return NNDL_OK;
}

int train_options_spec(const TrainOptions *o, char *spec, int size)
{
    if (strcmp(o->model, "cnn3") == 0) {
        if (o->n_hidden != 1) return nndl_fail("--hidden: cnn3 has one hidden layer, got %d sizes", o->n_hidden);
        return model_spec_three_layer_cnn(spec, size, o->filters, o->filter_size, o->hidden[0],
                                          CIFAR10_CLASSES, o->batchnorm);
    }
    if (strcmp(o->model, "fc") == 0)
        return model_spec_fc(spec, size, o->hidden, o->n_hidden, CIFAR10_CLASSES, o->batchnorm, o->dropout);
    size_t n = strlen(o->model);
    if (n >= (size_t)size) /* never cut: a cut spec can be another valid model */
        return nndl_fail("--model: the spec has %zu characters, more than %d", n, size - 1);
    memcpy(spec, o->model, n + 1);
    return NNDL_OK;
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
    return cfg;
}
