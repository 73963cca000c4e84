/* cli_train.c — `nndl train`: flags to a model, a Solver and files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cifar10.h"
#include "commands.h"
#include "curves.h"
#include "error.h"
#include "solver.h"
#include "stop_signals.h"
#include "train_options.h"

/* Exit status of a run that diverged (README, nndl train --help). */
enum { EXIT_DIVERGED = 3 };

/* The data's classes must be the model's: a smaller last layer would make the loss index past
 * its scores (the Solver refuses that too; this says it before the data is read). */
static int check_classes(const Model *m)
{
    if (m->num_classes != CIFAR10_CLASSES)
        return nndl_fail("--model: the last layer has %d units but CIFAR-10 has %d classes "
                         "(end the spec with affine%d)", m->num_classes, CIFAR10_CLASSES, CIFAR10_CLASSES);
    return NNDL_OK;
}

/* What a stopped run leaves: the state after its last step, resumable (see README). */
static int save_interrupted(const Solver *s, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s_interrupted.ckpt", name);
    return checkpoint_save(s, path);
}

/* The end of a run that did not finish: what stopped it, and where its results are. */
static int report_unfinished(const Solver *s, const TrainOptions *o, int outcome, int sig, int first_epoch)
{
    char ckpt[4096] = "";
    int rc = outcome == SOLVER_DIVERGED ? EXIT_DIVERGED : 128 + sig;
    if (outcome == SOLVER_DIVERGED) {
        if (o->checkpoint && s->epoch > first_epoch)
            snprintf(ckpt, sizeof ckpt, "%s_epoch_%d.ckpt", o->checkpoint, s->epoch);
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
    int *pred = malloc((size_t)test->n * sizeof *pred), correct = 0;
    model_predict(m, pred, test->x, test->n);
    for (int i = 0; i < test->n; i++) correct += pred[i] == test->y[i];
    printf("test acc: %f (%d / %d)\n", (double)correct / test->n, correct, test->n);
    free(pred);
}

/* Trains with the signal handlers in place, writes the curves whatever the outcome, and
 * returns the exit status (messages printed here). */
static int train_and_report(Solver *s, const Dataset *test, const TrainOptions *o)
{
    int first_epoch = s->epoch, rc = 0;
    s->cfg.stop = stop_signals_install();
    int outcome = solver_train(s);
    int sig = *s->cfg.stop;
    if (outcome == NNDL_OK) {
        if (s->val->n > 0) printf("best val acc: %f\n", s->best_val_acc);
        else printf("no validation set: kept the final parameters\n");
        report_test(s->model, test);
    }
    int unfinished = outcome == SOLVER_DIVERGED || outcome == SOLVER_STOPPED;
    if (outcome == SOLVER_DIVERGED) fprintf(stderr, "nndl train: %s\n", nndl_last_error());
    if (outcome == NNDL_ERR) rc = 1; /* the message is printed by cli_train */
    const char *files[2] = {o->log, o->plot};
    for (int i = 0; i < 2; i++) {
        if (!files[i]) continue;
        if ((i == 0 ? curves_write_csv : curves_write_svg)(s, files[i]) != NNDL_OK) {
            rc = 1;
            if (unfinished) fprintf(stderr, "nndl train: %s\n", nndl_last_error());
        } else if (unfinished) {
            fprintf(stderr, "nndl train: wrote %s\n", files[i]);
        }
    }
    if (unfinished) {
        rc = report_unfinished(s, o, outcome, sig, first_epoch);
    } else if (rc == 0 && sig) { /* the signal came after the last step: everything is written */
        rc = 128 + sig;
    }
    stop_signals_restore();
    return rc;
}

static int run_train(const TrainOptions *o)
{
    char spec[MODEL_SPEC_MAX];
    UpdateRule rule;
    const Backend *be;
    if (train_options_spec(o, spec, sizeof spec) != NNDL_OK || optim_rule_from_name(o->update, &rule) != NNDL_OK ||
        !(be = backend_choose(o->device)))
        return 2;
    /* the model first: a spec that does not fit is reported before the data is read */
    Model model;
    int predict_batch = o->batch_size > 100 ? o->batch_size : 100;
    if (model_init(&model, be, spec, 3, 32, 32, o->weight_scale, o->reg,
                   strcmp(o->loss, "svm") == 0 ? LOSS_SVM : LOSS_SOFTMAX, o->seed, predict_batch) != NNDL_OK)
        return 2;
    if (check_classes(&model) != NNDL_OK) {
        model_free(&model);
        return 2;
    }
    Cifar10 data;
    if (cifar10_load(&data, o->data, o->num_train, o->num_val, o->num_test) != NNDL_OK) {
        model_free(&model);
        return 1;
    }
    SolverConfig cfg = train_options_solver_config(o, rule);
    if (o->checkpoint) cfg.on_epoch = checkpoint_save_epoch, cfg.on_epoch_ctx = (void *)o->checkpoint;
    Solver solver;
    int rc = solver_init(&solver, &model, &data.train, &data.val, &cfg) == NNDL_OK ? 0 : 2;
    if (rc == 0) {
        solver.input_mean = data.mean_image;
        printf("nndl train: %s on %s, %d train / %d val, %s lr %g, batch %d, %d epochs\n", model.spec,
               be->name, data.train.n, data.val.n, optim_rule_name(rule), cfg.optim.learning_rate,
               cfg.batch_size, cfg.num_epochs);
        if (o->resume) {
            rc = checkpoint_load(&solver, o->resume) == NNDL_OK ? 0 : 1;
            if (rc == 0) printf("resumed from %s after epoch %d (iteration %d)\n", o->resume, solver.epoch, solver.iteration);
        }
    }
    if (rc == 0) rc = train_and_report(&solver, &data.test, o);
    solver_free(&solver);
    model_free(&model);
    cifar10_free(&data);
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
    rc = run_train(&o);
    if (rc == 1 || rc == 2) fprintf(stderr, "nndl train: %s\n", nndl_last_error());
    return rc;
}
