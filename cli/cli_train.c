/* cli_train.c — `nndl train`: flags to a model, a Solver and files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "checkpoint.h"
#include "data_source.h"
#include "commands.h"
#include "curves.h"
#include "data_parallel.h"
#include "progress.h"
#include "run_outputs.h"
#include "same_file.h"
#include "error.h"
#include "open_read.h"
#include "safetensors.h"
#include "solver.h"
#include "solver_device.h"
#include "stop_signals.h"
#include "train_options.h"
#include "train_group.h"
#include "whiten.h"

/* ---- --resume: every setting that differs from the checkpoint's run is applied and announced,
 * or refused; none is silently ignored. Returns an exit status (2: flags that conflict with the
 * checkpoint, 1: a checkpoint that cannot be used) and the learning rate the run continues with. */

static void announce_change(const char *flag, double now, double then, const char *why)
{
    if (now != then) printf("resume: %s %g applied (the checkpoint's run used %g)%s\n", flag, now, then, why);
}

/* What cannot change on resume: the loss, the update rule, the random streams; and the run must
 * have epochs left. */
static int resume_refusals(const CheckpointInfo *c, const TrainOptions *o, const SolverConfig *cfg, const char *path)
{
    LossKind loss = strcmp(o->loss, "svm") == 0 ? LOSS_SVM : LOSS_SOFTMAX;
    if (cfg->num_epochs <= c->epoch && (o->given & GIVEN_EPOCHS))
        return nndl_fail("--epochs %d: checkpoint %s is already at epoch %d; ask for more epochs to continue "
                         "training", cfg->num_epochs, path, c->epoch);
    if (cfg->num_epochs <= c->epoch)
        return nndl_fail("checkpoint %s is at epoch %d of its run's %d: the run is complete; give --epochs above "
                         "%d to train on", path, c->epoch, c->num_epochs, c->epoch);
    if ((int)loss != c->loss)
        return nndl_fail("--loss %s: checkpoint %s was trained with the %s loss, which a resumed run keeps", o->loss,
                         path, c->loss == LOSS_SVM ? "svm" : "softmax");
    if (cfg->optim.rule != c->optim.rule)
        return nndl_fail("--update %s: checkpoint %s was trained with update rule %s, which a resumed run keeps",
                         optim_rule_name(cfg->optim.rule), path, optim_rule_name(c->optim.rule));
    if ((o->ema > 0) != (c->recipe.ema > 0))
        return nndl_fail("--ema %g: checkpoint %s was trained %s a moving average of the parameters, which a resumed "
                         "run keeps", o->ema, path, c->recipe.ema > 0 ? "with" : "without");
    if ((o->given & GIVEN_SEED) && o->seed != c->seed)
        return nndl_fail("--seed %llu: a resumed run continues the random streams of checkpoint %s (seed %llu); "
                         "leave --seed out", (unsigned long long)o->seed, path, (unsigned long long)c->seed);
    return NNDL_OK;
}

/* Another --num-train or --data gives another training mean image (and other minibatches). */
static int announce_other_data(const Solver *s, const char *path)
{
    float *mean;
    size_t n;
    const Model *m = solver_model(s);
    if (checkpoint_load_mean(&mean, &n, path) != NNDL_OK) return 1;
    const float *now = solver_input_mean(s);
    if (!mean || !now || n != (size_t)m->in_c * m->in_h * m->in_w || memcmp(mean, now, n * sizeof *mean) != 0)
        printf("resume: the training mean image differs from the checkpoint's (other --num-train or --data): "
               "this run's data and mean are used\n");
    free(mean);
    return 0;
}

/* The data's classes must be the checkpoint's, name by name: the same count under other names
 * (another folder, CIFAR-100's other labels) would train the model's outputs on other meanings.
 * A checkpoint without names (format 2) was trained on CIFAR-10. Returns an exit status. */
static int same_classes(const Solver *s, const char *path)
{
    ClassNames then;
    if (!s->class_names || checkpoint_load_class_names(&then, path) != NNDL_OK) return s->class_names ? 1 : 0;
    int rc = 0;
    for (int c = 0; rc == 0 && c < then.n; c++)
        if (c >= s->class_names->n || strcmp(then.names[c], s->class_names->names[c]) != 0)
            rc = 2, nndl_fail("checkpoint %s was trained on classes where class %d is '%s'; this data's class %d is '%s' "
                              "(a resumed run keeps the classes)", path, c, then.names[c], c,
                              c < s->class_names->n ? s->class_names->names[c] : "(none)");
    class_names_free(&then);
    return rc;
}

/* What the command line left out, a resumed run takes from the checkpoint, so that `--resume FILE`
 * alone continues the same run (model, batch size, epochs, rule and its settings, seed). */
static void take_checkpoint_settings(TrainOptions *o, const CheckpointInfo *c)
{
    if (!(o->given & GIVEN_MODEL)) o->model = c->spec;
    if (!(o->given & GIVEN_BATCH_SIZE)) o->batch_size = c->batch_size;
    if (!(o->given & GIVEN_EPOCHS)) o->epochs = c->num_epochs;
    if (!(o->given & GIVEN_LR_DECAY)) o->lr_decay = c->lr_decay;
    if (!(o->given & GIVEN_REG)) o->reg = c->reg;
    if (!(o->given & GIVEN_MOMENTUM)) o->momentum = c->optim.momentum;
    if (!(o->given & GIVEN_TRAIN_SAMPLES)) o->train_samples = c->num_train_samples;
    if (!(o->given & GIVEN_VAL_SAMPLES)) o->val_samples = c->num_val_samples;
    if (!(o->given & GIVEN_SEED)) o->seed = c->seed;
    if (!(o->given & GIVEN_LOSS)) o->loss = c->loss == LOSS_SVM ? "svm" : "softmax";
    if (!(o->given & GIVEN_UPDATE)) o->update = optim_rule_name(c->optim.rule);
    const CheckpointRecipe *r = &c->recipe;
    if (!(o->recipe_given & GIVEN_LR) && r->schedule.kind != SCHEDULE_EPOCH_DECAY)
        o->lr = c->optim.learning_rate; /* the peak the schedule scales; epoch-decay keeps its decayed rates */
    if (!(o->recipe_given & GIVEN_LABEL_SMOOTHING)) o->label_smoothing = r->label_smoothing;
    if (!(o->recipe_given & GIVEN_WEIGHT_DECAY)) o->weight_decay = r->weight_decay;
    if (!(o->recipe_given & GIVEN_NONWEIGHT_LR)) o->nonweight_lr_mult = r->nonweight_lr_mult;
    if (!(o->recipe_given & GIVEN_SCHEDULE)) o->schedule.kind = r->schedule.kind;
    if (!(o->recipe_given & GIVEN_WARMUP)) o->schedule.warmup_epochs = r->schedule.warmup_epochs;
    if (!(o->recipe_given & GIVEN_WARMUP_START)) o->schedule.warmup_start = r->schedule.warmup_start;
    if (!(o->recipe_given & GIVEN_FINAL_LR)) o->schedule.final = r->schedule.final;
    if (!(o->recipe_given & GIVEN_STEP_EPOCHS)) o->schedule.step_epochs = r->schedule.step_epochs;
    if (!(o->recipe_given & GIVEN_CROP_PAD)) o->augment.pad = r->augment.pad;
    if (!(o->recipe_given & GIVEN_PAD_MODE)) o->augment.pad_mode = r->augment.pad_mode;
    if (!(o->recipe_given & GIVEN_FLIP)) o->augment.flip = r->augment.flip;
    if (!(o->recipe_given & GIVEN_CUTOUT)) o->augment.cutout = r->augment.cutout;
    if (!(o->recipe_given & GIVEN_TTA)) o->tta = r->tta;
    if (!(o->recipe_given & GIVEN_EMA)) o->ema = r->ema;
}

/* The recipe's settings given on the command line that differ from the checkpoint's run. */
static void announce_recipe_changes(const TrainOptions *o, const CheckpointRecipe *r)
{
    announce_change("--label-smoothing", o->label_smoothing, r->label_smoothing, "");
    announce_change("--weight-decay", o->weight_decay, r->weight_decay, "");
    announce_change("--bias-lr-mult", o->nonweight_lr_mult, r->nonweight_lr_mult, "");
    if (o->schedule.kind != r->schedule.kind)
        printf("resume: --schedule %s applied (the checkpoint's run used %s)\n", schedule_name(o->schedule.kind),
               schedule_name(r->schedule.kind));
    announce_change("--warmup-epochs", o->schedule.warmup_epochs, r->schedule.warmup_epochs, "");
    announce_change("--warmup-start", o->schedule.warmup_start, r->schedule.warmup_start, "");
    announce_change("--final-lr", o->schedule.final, r->schedule.final, "");
    announce_change("--step-epochs", o->schedule.step_epochs, r->schedule.step_epochs, "");
    const char *why = ": the training images differ from that run's";
    announce_change("--crop-pad", o->augment.pad, r->augment.pad, why);
    announce_change("--pad-mode (1 = reflect)", o->augment.pad_mode, r->augment.pad_mode, why);
    announce_change("--flip", o->augment.flip, r->augment.flip, why);
    announce_change("--cutout", o->augment.cutout, r->augment.cutout, why);
    announce_change("--tta", o->tta, r->tta, "");
    announce_change("--ema", o->ema, r->ema, "");
}

static int resume_run(Solver *s, const TrainOptions *o, const CheckpointInfo *info, float *lr)
{
    CheckpointInfo c = *info;
    const SolverConfig *cfg = solver_config(s);
    if (resume_refusals(&c, o, cfg, o->resume) != NNDL_OK) return 2;
    int rc = same_classes(s, o->resume);
    if (rc) return rc;
    if (checkpoint_load(s, o->resume) != NNDL_OK) return 1;
    printf("resumed from %s after epoch %d (iteration %d)\n", o->resume, c.epoch, c.iteration);
    if (o->recipe_given & GIVEN_LR) {
        solver_set_learning_rate(s, o->lr);
        printf("resume: --lr %g applied to every parameter (the checkpoint's learning rate was %g)\n", o->lr,
               c.current_lr);
        *lr = o->lr;
    } else if (cfg->schedule.kind != SCHEDULE_EPOCH_DECAY) {
        printf("resume: peak learning rate %g, the checkpoint's, on its %s schedule\n", cfg->optim.learning_rate,
               schedule_name(cfg->schedule.kind));
        *lr = cfg->optim.learning_rate;
    } else {
        printf("resume: learning rate %g, the checkpoint's (after its lr decays)\n", c.current_lr);
        *lr = c.current_lr;
    }
    announce_recipe_changes(o, &c.recipe);
    announce_change("--batch-size", cfg->batch_size, c.batch_size, ": the minibatches differ from that run's");
    announce_change("--epochs", cfg->num_epochs, c.num_epochs, "");
    announce_change("--lr-decay", cfg->lr_decay, c.lr_decay, "");
    announce_change("--reg", solver_model(s)->reg, c.reg, "");
    if (cfg->optim.rule == UPDATE_SGD_MOMENTUM || cfg->optim.rule == UPDATE_SGD_NESTEROV_MOMENTUM)
        announce_change("--momentum", cfg->optim.momentum, c.optim.momentum, "");
    if (!(o->given & GIVEN_SEED))
        printf("resume: the checkpoint's random streams (seed %llu) continue\n", (unsigned long long)c.seed);
    /* the checkpoint does not record its validation set: say which one counts now */
    if (s->val && s->val->n > 0 && c.best_val_acc != SOLVER_NO_BEST)
        printf("resume: validation on this run's %d images (--num-val, --data); the checkpoint's best val accuracy "
               "%g stays the one to beat\n", s->val->n, c.best_val_acc);
    announce_change("--train-samples", cfg->num_train_samples, c.num_train_samples, "");
    announce_change("--val-samples", cfg->num_val_samples, c.num_val_samples, "");
    return announce_other_data(s, o->resume);
}

/* Exit status of a run that diverged (README, nndl train --help). */
enum { EXIT_DIVERGED = 3 };

/* The data's classes must be the model's: a smaller last layer would make the loss index past
 * its scores (the Solver refuses that too; this says it before the data is read). */
static int check_classes(const Model *m, const DataShape *d, const char *dir)
{
    const char *kind[] = {"the data", "CIFAR-10", "CIFAR-100", "the image folder"};
    if (m->num_classes != d->classes.n)
        return nndl_fail("--model: the last layer has %d units but %s has %d classes (--data %s; end the spec "
                         "with affine%d)", m->num_classes, kind[d->format], d->classes.n, dir, d->classes.n);
    return NNDL_OK;
}

/* Augmentation shifts by less than the image and cuts out at most all of it (said before the
 * data is read). */
static int check_augment_fits(const TrainOptions *o, const DataShape *d)
{
    int side = d->h < d->w ? d->h : d->w;
    if (o->augment.pad >= side || o->augment.cutout > side)
        return nndl_fail("--crop-pad %d / --cutout %d: the padding must be below the image side %d, the cutout at "
                         "most it", o->augment.pad, o->augment.cutout, side);
    return NNDL_OK;
}

/* Said for data other than CIFAR-10 (whose run prints the seed's lines only). */
static void describe_data(const TrainingData *d, const char *dir)
{
    const ClassNames *c = &d->shape.classes;
    if (d->shape.format == DATA_CIFAR10) return;
    printf("data: %s (%s), %d classes (%s%s%s%s), inputs (%d, %d, %d)\n", dir, data_format_name(d->shape.format), c->n,
           c->names[0], c->n > 1 ? ", " : "", c->n > 1 ? c->names[1] : "", c->n > 2 ? ", ..." : "", d->shape.c,
           d->shape.h, d->shape.w);
}

/* What a stopped run leaves: the state after its last step, resumable (see README). */
static int save_interrupted(const Solver *s, const char *name, char *path, size_t size)
{
    run_outputs_interrupted_path(name, path, size);
    return checkpoint_save(s, path);
}

/* The end of a run that did not finish: what stopped it, and where its results are. */
static int report_unfinished(const Solver *s, const TrainOptions *o, const RunOutputs *out, int outcome, int sig)
{
    char ckpt[RUN_OUTPUTS_MAX_PATH] = "";
    int rc = outcome == SOLVER_DIVERGED ? EXIT_DIVERGED : 128 + sig;
    if (outcome == SOLVER_DIVERGED) {
        if (out->last_path[0])
            snprintf(ckpt, sizeof ckpt, "%s", out->last_path);
        else if (o->resume)
            snprintf(ckpt, sizeof ckpt, "%s", o->resume);
        if (*ckpt) fprintf(stderr, "nndl train: the last good checkpoint is %s\n", ckpt);
    } else {
        fprintf(stderr, "nndl train: stopped by %s after iteration %d (%d of %d epochs done)\n", stop_signal_name(sig),
                s->iteration, s->epoch, s->cfg.num_epochs);
        if (o->checkpoint && save_interrupted(s, o->checkpoint, ckpt, sizeof ckpt) != NNDL_OK) {
            fprintf(stderr, "nndl train: %s\n", nndl_last_error());
            *ckpt = '\0';
        }
        if (*ckpt) fprintf(stderr, "nndl train: wrote %s (--resume it to go on)\n", ckpt);
    }
    return rc;
}

/* Test accuracy of the trained model on the test images loaded with the data. */
static void report_test(Model *m, const Dataset *test)
{
    if (test->n == 0) return;
    int correct = model_count_correct(m, test->x, test->y, test->n);
    if (correct < 0) fprintf(stderr, "nndl train: test accuracy not measured: %s\n", nndl_last_error());
    else printf("test acc: %f (%d / %d)\n", (double)correct / test->n, correct, test->n);
}

/* Trains with the signal handlers in place, writes the curves whatever the outcome, and
 * returns the exit status (messages printed here). */
static int train_and_report(Solver *s, const Dataset *test, const TrainOptions *o, RunOutputs *out, int writer)
{
    int rc = 0;
    s->cfg.stop = stop_signals_install();
    stop_signals_off_team();
    int outcome = solver_train(s);
    int sig = *s->cfg.stop;
    if (outcome == SOLVER_STOPPED && s->cfg.dp) /* the group stopped for a signal one of its ranks got */
        s->cfg.dp->comm->allreduce(s->cfg.dp->comm, &sig, 1, COMM_INT, COMM_MAX);
    if (!writer) { /* a rank other than 0 of a group: rank 0 reports and writes */
        stop_signals_restore();
        return outcome == NNDL_OK ? 0 : outcome == SOLVER_DIVERGED ? EXIT_DIVERGED
               : outcome == SOLVER_STOPPED ? 128 + sig : 1;
    }
    if (outcome == NNDL_OK) {
        if (s->val->n > 0) printf("best val acc: %f\n", s->best_val_acc);
        else printf("no validation set: kept the final parameters\n");
        report_test(s->model, test);
    }
    int unfinished = outcome == SOLVER_DIVERGED || outcome == SOLVER_STOPPED;
    if (outcome == SOLVER_DIVERGED) fprintf(stderr, "nndl train: %s\n", nndl_last_error());
    if (outcome == NNDL_ERR) rc = 1; /* the message is printed by cli_train */
    if (out->log || out->plot) {
        if (run_outputs_write_curves(out, s) != NNDL_OK) {
            rc = 1;
            if (unfinished) fprintf(stderr, "nndl train: %s\n", nndl_last_error());
        } else if (unfinished) {
            const char *files[2] = {out->log, out->plot};
            for (int i = 0; i < 2; i++)
                if (files[i]) fprintf(stderr, "nndl train: wrote %s\n", files[i]);
        }
    }
    if (unfinished) {
        rc = report_unfinished(s, o, out, outcome, sig);
    } else if (rc == 0 && (sig = *s->cfg.stop) != 0) {
        /* the signal came with or after the last step (during the test accuracy or the writes,
         * which finish): the run is complete and written, and the exit status says it was
         * signalled */
        fprintf(stderr, "nndl train: %s arrived after the last step; training is complete and its "
                        "results are written\n", stop_signal_name(sig));
        rc = 128 + sig;
    }
    stop_signals_restore();
    return rc;
}

/* The run's checkpoints (named or the default run's) must not replace the weights it starts
 * from: checked once the names are known. */
static int check_init_from_kept(const TrainOptions *o)
{
    if (o->init_from && o->checkpoint && run_outputs_is_checkpoint(o->init_from, o->checkpoint, o->weights_only))
        return nndl_fail("--init-from %s is one of the files --checkpoint %s writes; the run would overwrite the "
                         "weights it starts from (choose another --checkpoint or --run name)", o->init_from,
                         o->checkpoint);
    return NNDL_OK;
}

/* The checkpoints' directory must take the run's longest names, the last epoch's and a stop's:
 * checked from the flags before anything is read, and again once a resumed run's epochs and a
 * default run's names are known. */
static int check_checkpoint_names(const TrainOptions *o)
{
    if (!o->checkpoint) return NNDL_OK;
    char name[4300]; /* a default run's name is up to 4200 bytes */
    run_outputs_epoch_name(o->checkpoint, o->weights_only, o->epochs, name, sizeof name);
    if (atomic_file_check_target(name, "checkpoint") != NNDL_OK) return NNDL_ERR;
    run_outputs_interrupted_path(o->checkpoint, name, sizeof name);
    return atomic_file_check_target(name, "checkpoint");
}

/* The log and the plot must not overwrite each other, the checkpoint being resumed, the weights
 * a run starts from, or this run's checkpoints; the checkpoints must not overwrite those weights;
 * and every output must be writable where it is named: refused before anything is trained (exit
 * 2), not after the run. */
static int check_output_paths(const TrainOptions *o)
{
    const char *outputs[2] = {o->log, o->plot}, *flags[2] = {"--log", "--plot"};
    if (o->log && o->plot && same_file(o->log, o->plot))
        return nndl_fail("--log and --plot name the same file %s", o->log);
    for (int i = 0; i < 2; i++) {
        if (!outputs[i]) continue;
        if (atomic_file_check_target(outputs[i], i ? "plot" : "log") != NNDL_OK) return NNDL_ERR;
        if (o->resume && same_file(outputs[i], o->resume))
            return nndl_fail("%s %s is the checkpoint being resumed; writing it would destroy it", flags[i], outputs[i]);
        if (o->init_from && same_file(outputs[i], o->init_from))
            return nndl_fail("%s %s is the --init-from weights; writing it would destroy them", flags[i], outputs[i]);
        if (o->checkpoint && run_outputs_is_checkpoint(outputs[i], o->checkpoint, o->weights_only))
            return nndl_fail("%s %s is one of this run's checkpoints (--checkpoint %s)", flags[i], outputs[i],
                             o->checkpoint);
    }
    if (check_init_from_kept(o) != NNDL_OK) return NNDL_ERR;
    return check_checkpoint_names(o);
}

/* The group's side of a run: synchronised batchnorm, the gradient all-reduce, and every rank
 * started with the same flags and data (refused otherwise: exit 2). */
static int join_group(Comm *comm, const TrainOptions *o, Model *model, DataParallel *dp, SolverConfig *cfg)
{
    if (o->sync_bn) {
        if (!model->be->batchnorm_sums || !model->be->batchnorm_forward_sums || !model->be->batchnorm_backward_sums)
            return nndl_fail("--sync-bn: the %s backend has no synchronised batchnorm", model->be->name);
        model->sync_bn = comm;
    }
    if (comm->size == 1) return NNDL_OK;
    if (dp_init(dp, comm, model) != NNDL_OK) return NNDL_ERR;
    cfg->dp = dp;
    /* verbose stays: the loss lines are where losses are averaged, on every rank (the other
     * ranks' stdout is /dev/null) */
    if (comm->rank != 0) cfg->progress = 0;
    return NNDL_OK;
}


/* --init-from without --model trains the file's model (its spec in the metadata). */
static int take_weights_spec(TrainOptions *o, WeightsInfo *w)
{
    if (safetensors_read_info(o->init_from, w) != NNDL_OK) return NNDL_ERR;
    if (!(o->given & GIVEN_MODEL) && w->spec[0]) {
        o->model = w->spec;
        printf("init: the model of %s: %s\n", o->init_from, w->spec);
    }
    return NNDL_OK;
}

/* Without --checkpoint, --log, --plot or --no-save a run keeps its results under
 * $NNDL_RUNS_DIR (default runs/), in a directory named by --run or the start time. */
typedef struct DefaultOutputs {
    char dir[4096], checkpoint[4200], log[4200], plot[4200];
} DefaultOutputs;

static int choose_default_outputs(TrainOptions *o, DefaultOutputs *d)
{
    d->dir[0] = '\0';
    if (o->checkpoint || o->log || o->plot || o->no_save) return NNDL_OK;
    const char *root = getenv("NNDL_RUNS_DIR");
    if (!root || !*root) root = "runs";
    if (mkdir(root, 0777) != 0 && errno != EEXIST) return nndl_fail("cannot create %s: %s", root, strerror(errno));
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    int made = 0;
    for (int k = 1; k < 100 && !made; k++) { /* a named run may continue in its directory */
        if (o->run_name) snprintf(d->dir, sizeof d->dir, "%s/%s", root, o->run_name);
        else if (k == 1) snprintf(d->dir, sizeof d->dir, "%s/%s", root, stamp);
        else snprintf(d->dir, sizeof d->dir, "%s/%s-%d", root, stamp, k);
        made = mkdir(d->dir, 0777) == 0 || (o->run_name && errno == EEXIST);
        if (!made && errno != EEXIST) break;
    }
    if (!made) return nndl_fail("cannot create a run directory %s: %s", d->dir, strerror(errno));
    snprintf(d->checkpoint, sizeof d->checkpoint, "%s/run", d->dir);
    snprintf(d->log, sizeof d->log, "%s/log.csv", d->dir);
    snprintf(d->plot, sizeof d->plot, "%s/curves.svg", d->dir);
    o->checkpoint = d->checkpoint, o->log = d->log, o->plot = d->plot;
    if (!(o->given & GIVEN_KEEP_LAST)) o->keep_last = 1;
    o->save_best = 1;
    return NNDL_OK;
}

static void announce_outputs(const TrainOptions *o, const DefaultOutputs *d)
{
    if (!d->dir[0]) return;
    const char *ext = o->weights_only ? "safetensors" : "ckpt";
    char kept[64] = "all kept";
    if (o->keep_last) snprintf(kept, sizeof kept, "the last %d kept", o->keep_last);
    printf("nndl train: writing to %s/: run_epoch_<e>.%s (%s), run_best.%s, log.csv, curves.svg\n", d->dir, ext,
           kept, ext);
}

/* Flags the built model makes meaningless are refused, never ignored: --momentum for a rule
 * without momentum, model flags that give another model than the checkpoint being resumed. */
static int check_flags_against_model(const TrainOptions *o, const Model *m, UpdateRule rule, const CheckpointInfo *c)
{
    if ((o->given & GIVEN_MOMENTUM) && rule != UPDATE_SGD_MOMENTUM && rule != UPDATE_SGD_NESTEROV_MOMENTUM)
        return nndl_fail("--momentum: update rule %s has no momentum (sgd_momentum and sgd_nesterov_momentum have)",
                         optim_rule_name(rule));
    if (o->resume && strcmp(m->spec, c->spec) != 0)
        return nndl_fail("the model flags give '%s', but checkpoint %s holds '%s', which a resumed run keeps "
                         "(leave the model flags out)", m->spec, o->resume, c->spec);
    return NNDL_OK;
}

static int run_train(const TrainOptions *given, Comm *comm, int argc, char **argv)
{
    if (check_output_paths(given) != NNDL_OK) return 2;
    TrainOptions resumed = *given;
    TrainOptions *o = &resumed;
    CheckpointInfo info;
    WeightsInfo weights;
    DefaultOutputs defaults;
    if (given->resume) {
        if (checkpoint_read_info(given->resume, &info) != NNDL_OK) return 1;
        take_checkpoint_settings(&resumed, &info);
    }
    if (given->init_from && take_weights_spec(&resumed, &weights) != NNDL_OK) return 1;
    /* the data's classes and input shape first, then the model: a spec that does not fit is
     * reported before any image is decoded */
    DataRequest req;
    DataShape shape;
    DataFormat format = DATA_AUTO;
    if (train_options_data_request(o, &req) != NNDL_OK) return 2;
    if (req.format == DATA_AUTO && data_format_detect(req.dir, &format) != NNDL_OK) return 1;
    if (data_request_check(&req, req.format == DATA_AUTO ? format : req.format) != NNDL_OK) return 2;
    if (data_describe(&req, &shape) != NNDL_OK) return 1;
    resumed.num_classes = shape.classes.n;
    char spec[MODEL_SPEC_MAX];
    UpdateRule rule;
    Backend *be;
    if (train_options_spec(o, spec, sizeof spec) != NNDL_OK || optim_rule_from_name(o->update, &rule) != NNDL_OK ||
        !(be = backend_choose(o->device))) {
        data_shape_free(&shape);
        return 2;
    }
    if (o->precision != PRECISION_FP32 && !be->set_precision)
        fprintf(stderr, "nndl train: --precision tf32 is for the GPU's matrix products; the %s backend computes in "
                "fp32 (ignored)\n", be->name);
    else if (be->set_precision && be->set_precision(be, o->precision) != NNDL_OK) {
        data_shape_free(&shape);
        backend_destroy(be);
        return 2;
    }
    Model model;
    /* accuracy checks run in batches of this size; on a device that holds the data they are
     * gathered and counted there, so larger batches only cost device memory */
    int eval_batch = solver_device_available(be) ? 1000 : 100;
    int predict_batch = o->batch_size > eval_batch ? o->batch_size : eval_batch;
    ModelConfig mc = {.spec = spec, .C = shape.c, .H = shape.h, .W = shape.w, .init = train_options_init(o),
                      .weight_scale = o->weight_scale, .reg = o->reg,
                      .loss = strcmp(o->loss, "svm") == 0 ? LOSS_SVM : LOSS_SOFTMAX, .seed = o->seed,
                      .max_batch = predict_batch};
    /* a spec read from a file is bounded by what the file can hold */
    if (o->resume) mc.file_bytes = regular_file_size(o->resume);
    else if (o->init_from && !(o->given & GIVEN_MODEL)) mc.file_bytes = regular_file_size(o->init_from);
    if (model_create(&model, be, &mc) != NNDL_OK) {
        data_shape_free(&shape);
        backend_destroy(be);
        return 2;
    }
    model.label_smoothing = o->label_smoothing, model.tta = o->tta;
    int fits = check_classes(&model, &shape, o->data);
    if (fits == NNDL_OK) fits = check_augment_fits(o, &shape);
    data_shape_free(&shape);
    if (fits != NNDL_OK || check_flags_against_model(o, &model, rule, &info) != NNDL_OK) {
        model_free(&model);
        backend_destroy(be);
        return 2;
    }
    if (o->init_from) { /* every tensor by name and shape, or nothing */
        if (safetensors_load_model(&model, NULL, o->init_from) != NNDL_OK) {
            model_free(&model);
            backend_destroy(be);
            return 2;
        }
        printf("init: weights from %s (%d tensors)\n", o->init_from, weights.n_tensors);
    }
    TrainingData data;
    if (data_load(&req, &data) != NNDL_OK) {
        model_free(&model);
        backend_destroy(be);
        return 1;
    }
    describe_data(&data, o->data);
    int chosen = choose_default_outputs(o, &defaults) == NNDL_OK ? NNDL_OK : 1;
    if (chosen == NNDL_OK && (check_init_from_kept(o) != NNDL_OK || check_checkpoint_names(o) != NNDL_OK))
        chosen = 2; /* --run NAME's files; a resumed run's epochs */
    if (chosen != NNDL_OK) {
        model_free(&model);
        training_data_free(&data);
        backend_destroy(be);
        return chosen;
    }
    SolverConfig cfg = train_options_solver_config(o, rule);
    RunOutputs out = {.checkpoint = o->checkpoint, .save_every = o->save_every, .keep_last = o->keep_last,
                      .save_best = o->save_best, .weights_only = o->weights_only, .log = o->log, .plot = o->plot};
    cfg.on_epoch = run_outputs_on_epoch, cfg.on_epoch_ctx = &out;
    DataParallel dp = {0};
    Solver solver = {0};
    int rc = 0;
    if (!o->resume && !o->init_from && (model.layers[0].spec.flags & LAYER_WHITEN)) { /* a fresh start only */
        rc = model_whiten(&model, &data.train, WHITEN_IMAGES) == NNDL_OK ? 0 : 1;
        if (rc == 0 && comm->rank == 0)
            printf("init: layer 1's filters whiten the %dx%d patches of the first %d training images\n",
                   model.layers[0].spec.size, model.layers[0].spec.size,
                   data.train.n < WHITEN_IMAGES ? data.train.n : WHITEN_IMAGES);
    }
    if (rc == 0) rc = join_group(comm, o, &model, &dp, &cfg) == NNDL_OK ? 0 : 2;
    if (rc == 0) rc = solver_init(&solver, &model, &data.train, &data.val, &cfg) == NNDL_OK ? 0 : 2;
    if (rc == 0) {
        solver.input_mean = data.mean_image;
        solver.class_names = &data.shape.classes;
        float lr = cfg.optim.learning_rate;
        if (o->resume) rc = resume_run(&solver, o, &info, &lr);
        if (rc == 0 && comm_check_same(comm, train_config_hash(argc, argv, &data, &model), "flags or data") != NNDL_OK)
            rc = 2;
        if (rc == 0 && run_outputs_start(&out, &solver, lr) != NNDL_OK) rc = 1;
        if (rc == 0) {
            announce_outputs(o, &defaults);
            printf("nndl train: %s on %s, %d train / %d val, %s lr %g, batch %d, %d epochs\n", model.spec,
                   be->name, data.train.n, data.val.n, optim_rule_name(rule), lr, cfg.batch_size, cfg.num_epochs);
        }
        if (rc == 0 && comm->size > 1)
            printf("nndl train: %d processes (%s), %d examples each per step, batchnorm statistics %s\n", comm->size,
                   comm->name, cfg.batch_size / comm->size, o->sync_bn ? "over the global batch (--sync-bn)"
                                                                         : "per process");
    }
    if (rc == 0) rc = train_and_report(&solver, &data.test, o, &out, comm->rank == 0);
    if (defaults.dir[0]) {
        if (rc == 0) printf("nndl train: results in %s/\n", defaults.dir);
        else rmdir(defaults.dir); /* only when empty: nothing was written */
    }
    run_outputs_free(&out);
    if (solver.model) solver_free(&solver);
    if (dp.comm) dp_free(&dp);
    model_free(&model);
    training_data_free(&data);
    backend_destroy(be);
    return rc;
}

int cli_train(int argc, char **argv)
{
    TrainOptions o = train_options_default();
    int rc = train_options_parse(argc, argv, &o);
    if (rc == 1) {
        train_usage(stdout);
        return 0;
    }
    if (rc != NNDL_OK) {
        fprintf(stderr, "nndl train: %s\n", nndl_last_error());
        train_usage(stderr);
        return 2;
    }
    Comm *comm = comm_world(o.distributed);
    if (!comm) {
        fprintf(stderr, "nndl train: %s\n", nndl_last_error());
        return 2;
    }
    if (comm->rank != 0) { /* one writer: rank 0 prints and writes files; the others report errors */
        o.log = o.plot = o.checkpoint = NULL, o.no_save = 1, o.save_best = 0; /* and no default run directory */
        if (!freopen("/dev/null", "w", stdout)) fprintf(stderr, "nndl train: rank %d prints everything\n", comm->rank);
    }
    rc = run_train(&o, comm, argc, argv);
    if (rc == 1 || rc == 2) {
        if (comm->size > 1) fprintf(stderr, "nndl train (rank %d of %d): %s\n", comm->rank, comm->size, nndl_last_error());
        else fprintf(stderr, "nndl train: %s\n", nndl_last_error());
    }
    return train_group_end(comm, rc);
}
