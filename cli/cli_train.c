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
#include "train_options.h"

static int run_train(const TrainOptions *o)
{
    char spec[MODEL_SPEC_MAX];
    UpdateRule rule;
    Backend *be;
    if (train_options_spec(o, spec, sizeof spec) != NNDL_OK || optim_rule_from_name(o->update, &rule) != NNDL_OK ||
        !(be = backend_choose(o->device)))
        return 2;
    /* the model first: a spec that does not fit is reported before the data is read */
    Model model;
    int predict_batch = o->batch_size > 100 ? o->batch_size : 100;
    if (model_init(&model, be, spec, 3, 32, 32, o->weight_scale, o->reg,
                   strcmp(o->loss, "svm") == 0 ? LOSS_SVM : LOSS_SOFTMAX, o->seed, predict_batch) != NNDL_OK) {
        backend_destroy(be);
        return 2;
    }
    Cifar10 data;
    if (cifar10_load(&data, o->data, o->num_train, o->num_val, 0) != NNDL_OK) {
        model_free(&model);
        backend_destroy(be);
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
    if (rc == 0) rc = solver_train(&solver) == NNDL_OK ? 0 : 1;
    if (rc == 0) {
        printf("best val acc: %f\n", solver.best_val_acc);
        if (o->log && curves_write_csv(&solver, o->log) != NNDL_OK) rc = 1;
        if (o->plot && curves_write_svg(&solver, o->plot) != NNDL_OK) rc = 1;
    }
    solver_free(&solver);
    model_free(&model);
    cifar10_free(&data);
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
    rc = run_train(&o);
    if (rc) fprintf(stderr, "nndl train: %s\n", nndl_last_error());
    return rc;
}
