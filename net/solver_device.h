/* solver_device.h — the Solver's device-resident path (solver_device.c), for backends with the
 * gather, count_correct and step_finish ops (core/backend.h):
 *
 * - the training and validation sets are uploaded once, as uint8 bytes with the mean image when
 *   every value is exactly (float)byte - mean (CIFAR-10's preprocessing; checked value by value,
 *   so the device's batch is the host's, bit for bit), else as float32;
 * - each epoch's order (the host shuffle, unchanged) is uploaded once per epoch; a step gathers
 *   its minibatch by index on the device, and the values that change from step to step (batch
 *   position, loss slot, Adam's t, learning rates, the iteration that keys dropout masks:
 *   StepVars) live on the device and are advanced by the step itself, so a step copies nothing
 *   between host and device; the epoch that keys augmentation draws is written with them once per
 *   epoch; a per-iteration schedule goes up as a table of one epoch's rates with StepVars, which
 *   step_finish indexes by the iteration; the decoupled weight decay reads the rate in the update
 *   kernels, and the moving average of the weights is updated by the step (ema_step) with the
 *   decay of its iteration;
 * - where the backend has graphs, the step (gather, augmentation, forward, loss, backward, update,
 *   step_finish) is recorded once per batch size and replayed: one graph launch per step;
 * - accuracy checks gather, score (test-time augmentation included) and count on the device and
 *   bring back one count.
 * When the device cannot hold the data, setup frees what it allocated and the Solver copies
 * minibatches from the host as before (saying so on its output when verbose).
 * The host keeps a mirror of StepVars (the Solver's iteration, loss slots, OptimConfig.t and
 * learning rates) and writes it to the device only when the device's copy may differ: at an
 * epoch's start, after the loss slots wrap, after solver_set_learning_rate. */
#ifndef NNDL_SOLVER_DEVICE_H
#define NNDL_SOLVER_DEVICE_H

#include "solver.h"

/* Examples uploaded to a backend's memory. */
typedef struct DeviceSet {
    DeviceExamples ex;
    void *x;
    float *mean;
    int *y;
} DeviceSet;

struct SolverDevice {
    DeviceSet train, val;
    int *order;                 /* the epoch's order (train n) */
    int *picked;                /* an accuracy subsample's indices */
    StepVars *vars;
    double *step_loss;
    int *count;
    float *lr_table;            /* a per-iteration schedule's rates (StepVars.lr_table), lr_n of them */
    float *lr_host;             /* their host staging */
    int lr_n;
    int positioned_b;           /* the minibatch StepVars point at on the device; -1: unknown */
    int uniform;                /* every parameter has its class's learning rate and the same t (StepVars holds them) */
    int use_graph;              /* the backend records graphs */
    BackendGraph *graph;
    int graph_n;                /* the batch size the graph was recorded for */
    int graphs_recorded;        /* captures so far (one per batch size) */
    int record_n, record_b;     /* what the recording callback records */
    Solver *solver;
};

/* Whether the backend can train from its own copy of the data. */
int solver_device_available(const Backend *be);
/* Uploads the data (the mean: s->input_mean, may be NULL) and allocates the step's buffers. */
int solver_device_setup(Solver *s);
void solver_device_free(Solver *s);
/* The epoch's order, s->order, to the device. */
void solver_device_epoch(Solver *s);
/* Minibatch b (n examples from position b * batch_size of the order) as one step. */
int solver_device_step(Solver *s, int b, int n);
/* Correct predictions among examples picked[0..n) of d (picked NULL: the first n), counted on
 * the device; -1 when d is not one of the uploaded sets. */
int solver_device_correct(Solver *s, const Dataset *d, const int *picked, int n);

/* Uploads d (uint8 with mean when exact, else float32); NNDL_ERR when out of device memory. */
int device_set_upload(DeviceSet *set, const Backend *be, const Dataset *d, const float *mean);
void device_set_free(DeviceSet *set, const Backend *be);

#endif
