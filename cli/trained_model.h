/* trained_model.h — a checkpoint, or the weights `nndl export` wrote (safetensors), opened for
 * use (eval, predict): the model rebuilt from its spec on a device, with its best parameters when
 * recorded, the training mean image and the class names (a file without names: CIFAR-10's when
 * the model has 10 classes, numbers otherwise). */
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
    int weights_only;           /* a safetensors file: info holds its model, no run (epoch 0, no best) */
} TrainedModel;

int trained_model_open(TrainedModel *t, const char *path, const char *device);
/* The model a file's info describes, built on be for batches of max_batch with the run's
 * test-time augmentation, its parameters bounded by what the file at path can hold (the weights
 * are the caller's to load). */
int trained_model_build(Model *m, const Backend *be, const CheckpointInfo *i, const char *path, int max_batch);
void trained_model_close(TrainedModel *t);

#endif
