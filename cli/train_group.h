/* train_group.h — `nndl train` as one rank of a data-parallel group (core/comm.h): the checks
 * that every rank runs the same configuration, and how a rank ends. */
#ifndef NNDL_TRAIN_GROUP_H
#define NNDL_TRAIN_GROUP_H

#include <stdint.h>

#include "data_source.h"
#include "comm.h"
#include "model.h"

/* A hash of what must be equal on every rank: the command's arguments (except --data's path,
 * which may differ between machines), the device, the data's values and the model's state
 * after initialisation or resume (so the checkpoint too). */
uint64_t train_config_hash(int argc, char **argv, const TrainingData *data, const Model *m);

/* The end of a rank's run with exit status rc: a failure (1, 2) on one rank of several ends the
 * whole group at once (its message is printed by then); otherwise the group finishes together.
 * Returns rc. */
int train_group_end(Comm *c, int rc);

#endif
