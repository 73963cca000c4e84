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

void progress_start(Progress *p, FILE *f, long total_images, double interval)
{
    p->tty = f && isatty(fileno(f));
    p->f = f && (p->tty || interval > 0) ? f : NULL;
    p->interval = interval;
    p->start = p->last = now_seconds();
    p->total = total_images;
    p->done = 0;
}

void progress_update(Progress *p, long images_done, int epoch, int epochs)
{
    if (!p->f) return;
    p->done = images_done;
    double now = now_seconds(), elapsed = now - p->start, rate = elapsed > 0 ? images_done / elapsed : 0;
    long eta = rate > 0 ? (long)((p->total - images_done) / rate) : 0;
    if (!p->tty) {
        if (now - p->last < p->interval) return;
        p->last = now;
        fprintf(p->f, "progress: epoch %d/%d, %ld/%ld images, %.0f img/s, ETA %ld:%02ld\n", epoch, epochs,
                images_done, p->total, rate, eta / 60, eta % 60);
        fflush(p->f);
        return;
    }
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
    if (p->f && p->tty) fprintf(p->f, "\r%100s\r", "");
}
