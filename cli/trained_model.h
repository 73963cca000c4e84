/* trained_model.h — a checkpoint opened for use (eval, predict): the model rebuilt from its spec
 * on a device, with its best parameters when recorded, the training mean image and the class
 * names (a checkpoint without names: CIFAR-10's when it has 10 classes, numbers otherwise). */
#ifndef NNDL_TRAINED_MODEL_H
#define NNDL_TRAINED_MODEL_H

#include "checkpoint.h"
#include "class_names.h"
#include "model.h"

typedef struct TrainedModel {
    Backend *be;
    Model model;
    CheckpointInfo info;
    float *mean;                /* (c, h, w) or NULL: none stored */
    ClassNames classes;
} TrainedModel;

int trained_model_open(TrainedModel *t, const char *path, const char *device);
void trained_model_close(TrainedModel *t);

#endif
