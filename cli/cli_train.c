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
    if (cfg->num_epochs <= c->epoch)
        return nndl_fail("--epochs %d: checkpoint %s is already at epoch %d; ask for more epochs to continue "
                         "training", cfg->num_epochs, path, c->epoch);
    if ((int)loss != c->loss)
        return nndl_fail("--loss %s: checkpoint %s was trained with the %s loss, which a resumed run keeps", o->loss,
                         path, c->loss == LOSS_SVM ? "svm" : "softmax");
    if (cfg->optim.rule != c->optim.rule)
        return nndl_fail("--update %s: checkpoint %s was trained with update rule %s, which a resumed run keeps",
                         optim_rule_name(cfg->optim.rule), path, optim_rule_name(c->optim.rule));
    if (o->seed != train_options_default().seed && o->seed != c->seed)
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

static int resume_run(Solver *s, const TrainOptions *o, float *lr)
{
    CheckpointInfo c;
    const SolverConfig *cfg = solver_config(s);
    if (checkpoint_read_info(o->resume, &c) != NNDL_OK) return 1;
    if (resume_refusals(&c, o, cfg, o->resume) != NNDL_OK) return 2;
    if (checkpoint_load(s, o->resume) != NNDL_OK) return 1;
    printf("resumed from %s after epoch %d (iteration %d)\n", o->resume, c.epoch, c.iteration);
    if (o->lr > 0) {
        solver_set_learning_rate(s, o->lr);
        printf("resume: --lr %g applied to every parameter (the checkpoint's learning rate was %g)\n", o->lr,
               c.current_lr);
        *lr = o->lr;
    } else {
        printf("resume: learning rate %g, the checkpoint's (after its lr decays)\n", c.current_lr);
        *lr = c.current_lr;
    }
    announce_change("--batch-size", cfg->batch_size, c.batch_size, ": the minibatches differ from that run's");
    announce_change("--epochs", cfg->num_epochs, c.num_epochs, "");
    announce_change("--lr-decay", cfg->lr_decay, c.lr_decay, "");
    announce_change("--reg", solver_model(s)->reg, c.reg, "");
    if (cfg->optim.rule == UPDATE_SGD_MOMENTUM || cfg->optim.rule == UPDATE_SGD_NESTEROV_MOMENTUM)
        announce_change("--momentum", cfg->optim.momentum, c.optim.momentum, "");
    if (o->seed != c.seed) /* the default: --seed was left out (resume_refusals) */
        printf("resume: the checkpoint's random streams (seed %llu) continue\n", (unsigned long long)c.seed);
    announce_change("--train-samples", cfg->num_train_samples, c.num_train_samples, "");
    announce_change("--val-samples", cfg->num_val_samples, c.num_val_samples, "");
    return announce_other_data(s, o->resume);
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
    Cifar10 data;
    if (cifar10_load(&data, o->data, o->num_train, o->num_val, 0) != NNDL_OK) {
        model_free(&model);
        return 1;
    }
    SolverConfig cfg = train_options_solver_config(o, rule);
    if (o->checkpoint) cfg.on_epoch = checkpoint_save_epoch, cfg.on_epoch_ctx = (void *)o->checkpoint;
    Solver solver;
    int rc = solver_init(&solver, &model, &data.train, &data.val, &cfg) == NNDL_OK ? 0 : 2;
    if (rc == 0) {
        solver.input_mean = data.mean_image;
        float lr = cfg.optim.learning_rate;
        if (o->resume) rc = resume_run(&solver, o, &lr);
        if (rc == 0)
            printf("nndl train: %s on %s, %d train / %d val, %s lr %g, batch %d, %d epochs\n", model.spec,
                   be->name, data.train.n, data.val.n, optim_rule_name(rule), lr, cfg.batch_size, cfg.num_epochs);
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
