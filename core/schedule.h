/* schedule.h — learning-rate schedules as a pure function of the iteration.
 *
 * The factor the peak learning rate is multiplied by at iteration t (0-based, the step about to
 * be taken) of a run of `total` iterations, `per_epoch` per epoch. Being a function of t alone,
 * a resumed run continues the schedule exactly. SCHEDULE_EPOCH_DECAY is the seed's: the factor
 * lr_decay applied at each epoch's end by the Solver, not by this function (it returns 1). */
#ifndef NNDL_SCHEDULE_H
#define NNDL_SCHEDULE_H

typedef enum ScheduleKind {
    SCHEDULE_EPOCH_DECAY,       /* the seed's --lr-decay per epoch (the default) */
    SCHEDULE_CONSTANT,
    SCHEDULE_STEP,              /* times `gamma` every step_epochs epochs */
    SCHEDULE_COSINE,            /* half a cosine from 1 down to final */
    SCHEDULE_ONECYCLE,          /* linear from 1 down to final (after the warm-up) */
    SCHEDULE_COUNT
} ScheduleKind;

typedef struct Schedule {
    ScheduleKind kind;
    float warmup_epochs;        /* linear warm-up from warmup_start to 1 over these epochs; 0: none */
    float warmup_start;         /* the factor at iteration 0 of the warm-up */
    float final;                /* cosine, onecycle: the factor at the last iteration */
    int step_epochs;            /* step: epochs between two multiplications by gamma */
    float gamma;                /* step: the factor */
} Schedule;

Schedule schedule_default(void);
/* Unknown names are an error naming the valid ones. */
int schedule_from_name(const char *name, ScheduleKind *kind);
const char *schedule_name(ScheduleKind kind);
/* NNDL_OK or a message for values out of range (warm-up past the run is allowed: it is cut). */
int schedule_check(const Schedule *s);
double schedule_factor(const Schedule *s, long t, long per_epoch, long total);

#endif
