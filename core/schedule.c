/* schedule.c — learning-rate schedules (see schedule.h). */
#include "schedule.h"

#include <math.h>
#include <string.h>

#include "error.h"

static const char *const names[SCHEDULE_COUNT] = {"epoch-decay", "constant", "step", "cosine", "onecycle"};

Schedule schedule_default(void)
{
    return (Schedule){.kind = SCHEDULE_EPOCH_DECAY, .warmup_epochs = 0, .warmup_start = 0, .final = 0,
                      .step_epochs = 1, .gamma = 1};
}

int schedule_from_name(const char *name, ScheduleKind *kind)
{
    for (int k = 0; k < SCHEDULE_COUNT; k++)
        if (strcmp(name, names[k]) == 0) {
            *kind = (ScheduleKind)k;
            return NNDL_OK;
        }
    return nndl_fail("unknown schedule '%s' (expected constant, epoch-decay, step, cosine or onecycle)", name);
}

const char *schedule_name(ScheduleKind kind) { return kind >= 0 && kind < SCHEDULE_COUNT ? names[kind] : "?"; }

int schedule_check(const Schedule *s)
{
    if (s->kind < 0 || s->kind >= SCHEDULE_COUNT) return nndl_fail("unknown schedule %d", (int)s->kind);
    if (!(s->warmup_epochs >= 0 && s->warmup_epochs <= 1e5) || !(s->warmup_start >= 0 && s->warmup_start <= 1) ||
        !(s->final >= 0 && s->final <= 1) || s->step_epochs < 1 || !(s->gamma > 0 && s->gamma <= 1))
        return nndl_fail("schedule %s: warm-up %g epochs from %g, final %g, step every %d epochs by %g out of range",
                         schedule_name(s->kind), s->warmup_epochs, s->warmup_start, s->final, s->step_epochs,
                         s->gamma);
    if (s->kind == SCHEDULE_EPOCH_DECAY && s->warmup_epochs > 0)
        return nndl_fail("a warm-up needs a per-iteration schedule (constant, step, cosine or onecycle), not "
                         "epoch-decay");
    return NNDL_OK;
}

double schedule_factor(const Schedule *s, long t, long per_epoch, long total)
{
    if (s->kind == SCHEDULE_EPOCH_DECAY) return 1;
    long warm = lround((double)s->warmup_epochs * per_epoch);
    if (warm > total) warm = total;
    if (t < warm) return s->warmup_start + (1.0 - s->warmup_start) * (double)t / warm;
    double p = total > warm ? (double)(t - warm) / (double)(total - warm) : 1; /* progress after it */
    switch (s->kind) {
    case SCHEDULE_STEP: return pow(s->gamma, (double)(t / per_epoch / s->step_epochs));
    case SCHEDULE_COSINE: return s->final + (1.0 - s->final) * 0.5 * (1.0 + cos(M_PI * p));
    case SCHEDULE_ONECYCLE: return 1.0 - (1.0 - s->final) * p;
    default: return 1;
    }
}
