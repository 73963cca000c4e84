/* progress.h — training progress on stderr: on a terminal a one-line bar with images/s and ETA,
 * redrawn in place; elsewhere (a log file, a pipe, a batch job) a plain line every `interval`
 * seconds, which a log keeps readable instead of filling it with carriage returns. */
#ifndef NNDL_PROGRESS_H
#define NNDL_PROGRESS_H

#include <stdio.h>

typedef struct Progress {
    FILE *f;            /* NULL: disabled */
    int tty;            /* the bar; otherwise plain lines */
    double interval;    /* seconds between plain lines; <= 0: none */
    double start, last; /* seconds */
    long total, done;   /* images */
} Progress;

/* f NULL disables it; on a terminal the bar, otherwise a line every interval seconds. */
void progress_start(Progress *p, FILE *f, long total_images, double interval);
void progress_update(Progress *p, long images_done, int epoch, int epochs);
void progress_clear(Progress *p);
double now_seconds(void);

#endif
