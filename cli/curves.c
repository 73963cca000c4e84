/* curves.c — CSV and SVG output of a run (see curves.h). */
#include "curves.h"

#include <math.h>
#include <stdio.h>

#include "atomic_file.h"

typedef struct Rows {
    const EpochRow *v;
    int n;
} Rows;

static void field(FILE *f, double v, const char *fmt)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, fmt, v);
}

static int csv(FILE *f, const void *ctx)
{
    const Rows *r = ctx;
    fprintf(f, CURVES_CSV_HEADER "\n");
    for (int i = 0; i < r->n; i++) {
        const EpochRow *e = &r->v[i];
        fprintf(f, "%d,%d", e->epoch, e->iteration);
        field(f, e->wall_s, "%.3f");
        field(f, e->lr, "%.6g");
        field(f, e->train_loss, "%.6f");
        field(f, e->train_acc, "%.6f");
        field(f, e->val_loss, "%.6f");
        field(f, e->val_acc, "%.6f");
        fputc('\n', f);
    }
    return !ferror(f);
}

int curves_write_csv(const EpochRow *rows, int n, const char *path)
{
    Rows r = {rows, n};
    return write_file_atomically(path, "log", csv, &r);
}

/* ---- SVG ------------------------------------------------------------------------------------ */

/* One panel: a frame at (x0, y0) of size w x h over [xmin, xmax] x [ymin, ymax], which are
 * multiples of the tick steps. */
typedef struct Panel {
    double x0, y0, w, h, xmin, xmax, ymin, ymax, xstep, ystep;
} Panel;

static double px(const Panel *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const Panel *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

/* A round step (1, 2 or 5 times a power of ten) giving about five intervals over span; at
 * least 1 for whole-number axes. */
static double nice_step(double span, int whole)
{
    double raw = span / 5, mag = pow(10, floor(log10(raw))), n = raw / mag;
    double step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
    return whole && step < 1 ? 1 : step;
}

/* [lo, hi] widened to multiples of a round step. */
static void nice_range(double *lo, double *hi, double *step, int whole)
{
    if (!(*hi > *lo)) *hi = *lo + 1;
    *step = nice_step(*hi - *lo, whole);
    *lo = floor(*lo / *step + 1e-9) * *step;
    *hi = ceil(*hi / *step - 1e-9) * *step;
}

/* Decimals that show a step exactly (0.05 -> 2). */
static int decimals(double step) { return step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9); }

static void frame(FILE *f, const Panel *p, const char *title, const char *xlabel, const char *ylabel)
{
    for (double y = p->ymin; y <= p->ymax + p->ystep * 1e-6; y += p->ystep) {
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", p->x0, py(p, y),
                p->x0 + p->w, py(p, y));
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%.*f</text>\n", p->x0 - 5,
                py(p, y) + 4, decimals(p->ystep), fabs(y) < p->ystep * 1e-6 ? 0.0 : y);
    }
    for (double x = p->xmin; x <= p->xmax + p->xstep * 1e-6; x += p->xstep) {
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", px(p, x), p->y0, px(p, x),
                p->y0 + p->h);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%.0f</text>\n", px(p, x),
                p->y0 + p->h + 15, x);
    }
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#333'/>\n", p->x0, p->y0,
            p->w, p->h);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='14' font-weight='bold' text-anchor='middle'>%s</text>\n",
            p->x0 + p->w / 2, p->y0 - 8, title);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13' text-anchor='middle'>%s</text>\n", p->x0 + p->w / 2,
            p->y0 + p->h + 34, xlabel);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13' text-anchor='middle' transform='rotate(-90 %.1f %.1f)'>"
               "%s</text>\n", p->x0 - 50, p->y0 + p->h / 2, p->x0 - 50, p->y0 + p->h / 2, ylabel);
}

/* A legend box in the panel's right corner, top (a falling loss leaves it free) or bottom (a
 * rising accuracy does): a swatch (line and dot) per series. */
static void legend(FILE *f, const Panel *p, const char *const *names, const char *const *colors, int n, int bottom)
{
    double w = 80, x = p->x0 + p->w - w - 8, y = bottom ? p->y0 + p->h - 8 - (8 + 18 * n) : p->y0 + 8;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%d' fill='white' fill-opacity='0.85' stroke='#999'/>\n",
            x, y, w, 8 + 18 * n);
    for (int i = 0; i < n; i++) {
        double cy = y + 13 + 18 * i;
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>"
                   "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n",
                x + 8, cy, x + 30, cy, colors[i], x + 19, cy, colors[i]);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='12'>%s</text>\n", x + 36, cy + 4, names[i]);
    }
}

static void range(const History *h, double *lo, double *hi)
{
    for (int i = 0; i < h->n; i++) {
        if (isfinite(h->v[i]) && h->v[i] < *lo) *lo = h->v[i];
        if (isfinite(h->v[i]) && h->v[i] > *hi) *hi = h->v[i];
    }
}

/* Points (x = first + i) of a history; joined by a line when `line`. */
static void series(FILE *f, const Panel *p, const History *h, int first, const char *color, int line)
{
    if (line && h->n > 1) {
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", color);
        for (int i = 0; i < h->n; i++) fprintf(f, "%.1f,%.1f ", px(p, first + i), py(p, h->v[i]));
        fprintf(f, "'/>\n");
    }
    for (int i = 0; i < h->n; i++)
        if (isfinite(h->v[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='%s' fill='%s'/>\n", px(p, first + i), py(p, h->v[i]),
                    line ? "3" : "1.5", color);
}

static int svg(FILE *f, const void *ctx)
{
    const Solver *s = ctx;
    static const char *const blue = "#1f77b4", *const orange = "#ff7f0e";
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='800' height='660' font-family='sans-serif'>\n"
               "<rect width='800' height='660' fill='white'/>\n");
    double lo = INFINITY, hi = -INFINITY, xlo = 1, xhi = s->loss.n > 1 ? s->loss.n : 2;
    range(&s->loss, &lo, &hi);
    if (!(hi >= lo)) lo = 0, hi = 1;
    Panel loss = {85, 30, 680, 230, 0, 0, lo, hi, 0, 0};
    nice_range(&loss.ymin, &loss.ymax, &loss.ystep, 0);
    nice_range(&xlo, &xhi, &loss.xstep, 1);
    loss.xmin = xlo, loss.xmax = xhi;
    frame(f, &loss, "Training loss", "Iteration", "Loss");
    series(f, &loss, &s->loss, 1, blue, 0);
    legend(f, &loss, (const char *const[]){"Loss"}, (const char *const[]){blue}, 1, 0);

    lo = INFINITY, hi = -INFINITY;
    range(&s->train_acc, &lo, &hi);
    range(&s->val_acc, &lo, &hi);
    if (!(hi >= lo)) lo = 0, hi = 1;
    double clo = 0, chi = s->train_acc.n > 1 ? s->train_acc.n - 1 : 1;
    Panel acc = {85, 355, 680, 230, 0, 0, lo, hi, 0, 0};
    nice_range(&acc.ymin, &acc.ymax, &acc.ystep, 0);
    nice_range(&clo, &chi, &acc.xstep, 1);
    acc.xmin = clo, acc.xmax = chi;
    frame(f, &acc, "Classification accuracy", "Epoch (accuracy checks)", "Accuracy");
    series(f, &acc, &s->train_acc, 0, blue, 1);
    series(f, &acc, &s->val_acc, 0, orange, 1);
    legend(f, &acc, (const char *const[]){"Train", "Val"}, (const char *const[]){blue, orange}, 2, 1);
    fprintf(f, "</svg>\n");
    return !ferror(f);
}

int curves_write_svg(const Solver *s, const char *path) { return write_file_atomically(path, "plot", svg, s); }
