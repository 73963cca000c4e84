/* progress.c — see progress.h. */
#include "progress.h"

#include <time.h>
#include <unistd.h>

double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

void progress_start(Progress *p, FILE *f, long total_images)
{
    p->f = f && isatty(fileno(f)) ? f : NULL;
    p->start = now_seconds();
    p->total = total_images;
    p->done = 0;
}

void progress_update(Progress *p, long images_done, int epoch, int epochs)
{
    if (!p->f) return;
    p->done = images_done;
    double elapsed = now_seconds() - p->start, rate = elapsed > 0 ? images_done / elapsed : 0;
    long eta = rate > 0 ? (long)((p->total - images_done) / rate) : 0;
    int width = 30, filled = p->total ? (int)(width * images_done / p->total) : width;
    char bar[31];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(p->f, "\r  epoch %d/%d [%s] %ld/%ld  %.0f img/s  ETA %ld:%02ld ", epoch, epochs, bar,
            images_done, p->total, rate, eta / 60, eta % 60);
    fflush(p->f);
}

void progress_clear(Progress *p)
{
    if (p->f) fprintf(p->f, "\r%100s\r", "");
}
