/* curves.c — CSV and SVG output of a run's histories (see curves.h). */
#include "curves.h"

#include <math.h>
#include <stdio.h>

#include "atomic_file.h"

static int csv(FILE *f, const void *ctx)
{
    const Solver *s = ctx;
    fprintf(f, "kind,index,value\n");
    for (int i = 0; i < s->loss.n; i++) fprintf(f, "loss,%d,%.6f\n", i + 1, s->loss.v[i]);
    for (int i = 0; i < s->train_acc.n; i++) fprintf(f, "train_acc,%d,%.6f\n", i, s->train_acc.v[i]);
    for (int i = 0; i < s->val_acc.n; i++) fprintf(f, "val_acc,%d,%.6f\n", i, s->val_acc.v[i]);
    return !ferror(f);
}

int curves_write_csv(const Solver *s, const char *path) { return write_file_atomically(path, "log", csv, s); }

/* One panel: a frame at (x0, y0) of size w x h, axes labelled with the data's range. */
typedef struct Panel {
    double x0, y0, w, h, xmin, xmax, ymin, ymax;
} Panel;

static double px(const Panel *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const Panel *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

static void frame(FILE *f, const Panel *p, const char *xlabel, const char *ylabel)
{
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#333'/>\n",
            p->x0, p->y0, p->w, p->h);
    for (int k = 0; k <= 4; k++) {
        /* x counts iterations or epochs: whole numbers */
        double yv = p->ymin + (p->ymax - p->ymin) * k / 4, xv = round(p->xmin + (p->xmax - p->xmin) * k / 4);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%.3g</text>\n", p->x0 - 4,
                py(p, yv) + 4, yv);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%.4g</text>\n", px(p, xv),
                p->y0 + p->h + 14, xv);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13' text-anchor='middle'>%s</text>\n", p->x0 + p->w / 2,
            p->y0 + p->h + 32, xlabel);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13' text-anchor='middle' transform='rotate(-90 %.1f %.1f)'>"
               "%s</text>\n", p->x0 - 45, p->y0 + p->h / 2, p->x0 - 45, p->y0 + p->h / 2, ylabel);
}

static void range(const History *h, double *lo, double *hi)
{
    for (int i = 0; i < h->n; i++) {
        if (isfinite(h->v[i]) && h->v[i] < *lo) *lo = h->v[i];
        if (isfinite(h->v[i]) && h->v[i] > *hi) *hi = h->v[i];
    }
}

static void series(FILE *f, const Panel *p, const History *h, const char *color, int line)
{
    if (line && h->n > 1) {
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", color);
        for (int i = 0; i < h->n; i++) fprintf(f, "%.1f,%.1f ", px(p, i), py(p, h->v[i]));
        fprintf(f, "'/>\n");
    }
    for (int i = 0; i < h->n; i++)
        if (isfinite(h->v[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='%s' fill='%s'/>\n", px(p, line ? i : i + 1),
                    py(p, h->v[i]), line ? "3" : "1.5", color);
}

static int svg(FILE *f, const void *ctx)
{
    const Solver *s = ctx;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='800' height='640' font-family='sans-serif'>\n"
               "<rect width='800' height='640' fill='white'/>\n");
    double lo = INFINITY, hi = -INFINITY;
    range(&s->loss, &lo, &hi);
    if (!(hi > lo)) lo = 0, hi = 1;
    Panel loss = {80, 20, 690, 230, 1, s->loss.n > 1 ? s->loss.n : 2, lo, hi};
    frame(f, &loss, "Iteration", "Loss");
    series(f, &loss, &s->loss, "#1f77b4", 0);
    lo = INFINITY, hi = -INFINITY;
    range(&s->train_acc, &lo, &hi);
    range(&s->val_acc, &lo, &hi);
    if (!(hi > lo)) lo = 0, hi = 1;
    int checks = s->train_acc.n > 1 ? s->train_acc.n - 1 : 1;
    Panel acc = {80, 340, 690, 230, 0, checks, lo, hi};
    frame(f, &acc, "Epoch (accuracy checks)", "Accuracy");
    series(f, &acc, &s->train_acc, "#1f77b4", 1);
    series(f, &acc, &s->val_acc, "#ff7f0e", 1);
    fprintf(f, "<text x='95' y='360' font-size='13' fill='#1f77b4'>Train</text>\n"
               "<text x='95' y='378' font-size='13' fill='#ff7f0e'>Val</text>\n</svg>\n");
    return !ferror(f);
}

int curves_write_svg(const Solver *s, const char *path) { return write_file_atomically(path, "plot", svg, s); }
