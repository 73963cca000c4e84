/* progress.h — a one-line progress bar with images/s and ETA, for terminals only. */
#ifndef NNDL_PROGRESS_H
#define NNDL_PROGRESS_H

#include <stdio.h>

typedef struct Progress {
    FILE *f;            /* NULL: disabled (not a terminal) */
    double start;       /* seconds */
    long total, done;   /* images */
} Progress;

/* Enabled only when f is a terminal. */
void progress_start(Progress *p, FILE *f, long total_images);
void progress_update(Progress *p, long images_done, int epoch, int epochs);
void progress_clear(Progress *p);
double now_seconds(void);

#endif
