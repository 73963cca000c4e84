/* trained_model.c — see trained_model.h. */
#include "trained_model.h"

#include <stdlib.h>
#include <string.h>

#include "cifar10.h"
#include "error.h"

int trained_model_open(TrainedModel *t, const char *path, const char *device)
{
    memset(t, 0, sizeof *t);
    CheckpointInfo *i = &t->info;
    if (!(t->be = backend_choose(device))) return NNDL_ERR;
    if (checkpoint_read_info(path, i) != NNDL_OK) {
        backend_destroy(t->be);
        return NNDL_ERR;
    }
    if (model_init(&t->model, t->be, i->spec, i->in_c, i->in_h, i->in_w, 1e-3f, 0, (LossKind)i->loss, 0, 100) !=
        NNDL_OK) {
        backend_destroy(t->be);
        return NNDL_ERR;
    }
    t->model.tta = i->recipe.tta; /* the run's test-time augmentation, unless the caller says otherwise */
    int rc = checkpoint_load_model(&t->model, &t->mean, path);
    if (rc == NNDL_OK) rc = checkpoint_load_class_names(&t->classes, path);
    if (rc == NNDL_OK && t->classes.n == 0) { /* format 2, trained on CIFAR-10, the only data it read */
        if (t->model.num_classes == CIFAR10_CLASSES)
            for (int c = 0; rc == NNDL_OK && c < CIFAR10_CLASSES; c++) rc = class_names_add(&t->classes, cifar10_class_names[c]);
        else
            rc = class_names_numbered(&t->classes, t->model.num_classes);
    }
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
