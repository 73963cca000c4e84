/* trained_model.c — see trained_model.h. */
#include "trained_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cifar10.h"
#include "error.h"
#include "open_read.h"
#include "safetensors.h"
#include "solver.h"

/* What a weights file says of its model, in a checkpoint's terms: no run behind it (epoch 0, no
 * best accuracy) but its test-time augmentation, where the file names one. */
static int weights_info(const char *path, CheckpointInfo *i)
{
    WeightsInfo w;
    if (safetensors_read_info(path, &w) != NNDL_OK) return NNDL_ERR;
    if (!w.spec[0] || !w.in_c)
        return nndl_fail("%s is neither an nndl checkpoint nor weights that name their model (no spec or "
                         "input_shape in the safetensors metadata: `nndl export` writes both)", path);
    snprintf(i->spec, sizeof i->spec, "%s", w.spec);
    i->in_c = w.in_c, i->in_h = w.in_h, i->in_w = w.in_w, i->loss = w.loss, i->recipe.tta = w.tta;
    i->best_val_acc = SOLVER_NO_BEST;
    return NNDL_OK;
}

int trained_model_build(Model *m, const Backend *be, const CheckpointInfo *i, const char *path, int max_batch)
{
    ModelConfig cfg = {.spec = i->spec, .C = i->in_c, .H = i->in_h, .W = i->in_w, .init = INIT_NORMAL,
                       .weight_scale = 1e-3f, .loss = (LossKind)i->loss, .max_batch = max_batch,
                       .file_bytes = regular_file_size(path)};
    if (model_create(m, be, &cfg) != NNDL_OK) return NNDL_ERR;
    m->tta = i->recipe.tta; /* the run's test-time augmentation, unless the caller says otherwise */
    return NNDL_OK;
}

int trained_model_open(TrainedModel *t, const char *path, const char *device)
{
    memset(t, 0, sizeof *t);
    CheckpointInfo *i = &t->info;
    /* by content, and by name for the messages: a missing or damaged "x.ckpt" is a checkpoint */
    t->weights_only = !checkpoint_is_file(path) && safetensors_named(path);
    if (!(t->be = backend_choose(device))) return NNDL_ERR;
    if ((t->weights_only ? weights_info(path, i) : checkpoint_read_info(path, i)) != NNDL_OK) {
        backend_destroy(t->be);
        return NNDL_ERR;
    }
    if (trained_model_build(&t->model, t->be, i, path, 100) != NNDL_OK) {
        backend_destroy(t->be);
        return NNDL_ERR;
    }
    int rc = t->weights_only ? safetensors_load_model(&t->model, &t->mean, path)
                             : checkpoint_load_model(&t->model, &t->mean, path);
    if (rc == NNDL_OK)
        rc = t->weights_only ? safetensors_load_class_names(&t->classes, path)
                             : checkpoint_load_class_names(&t->classes, path);
    if (rc == NNDL_OK && t->classes.n == 0) { /* format 2, trained on CIFAR-10, the only data it read */
        if (t->model.num_classes == CIFAR10_CLASSES)
            for (int c = 0; rc == NNDL_OK && c < CIFAR10_CLASSES; c++) rc = class_names_add(&t->classes, cifar10_class_names[c]);
        else
            rc = class_names_numbered(&t->classes, t->model.num_classes);
    }
    if (rc == NNDL_OK && t->classes.n != t->model.num_classes)
        rc = nndl_fail("%s names %d classes, but its model scores %d", path, t->classes.n, t->model.num_classes);
    if (rc == NNDL_OK && !t->mean) /* weights saved without one: not an error, but scores change with it */
        fprintf(stderr, "note: %s records no mean image; the inputs are used as they are\n", path);
    if (rc != NNDL_OK) trained_model_close(t);
    return rc;
}

void trained_model_close(TrainedModel *t)
{
    class_names_free(&t->classes);
    free(t->mean);
    t->mean = NULL;
    model_free(&t->model);
    backend_destroy(t->be);
    t->be = NULL;
}
