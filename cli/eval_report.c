/* eval_report.c — see eval_report.h. */
#include "eval_report.h"

#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "error.h"

static double ratio(int a, int b) { return b ? (double)a / b : 0; }

void eval_print_text(FILE *f, const Evaluation *e, const ClassNames *names)
{
    int C = e->classes, width = 5;
    for (int c = 0; c < C; c++) width = (int)strlen(names->names[c]) > width ? (int)strlen(names->names[c]) : width;
    if (width > 24) width = 24;
    if (e->k > 1) fprintf(f, "top-%d acc: %f (%d / %d)\n", e->k, ratio(e->topk_correct, e->n), e->topk_correct, e->n);
    fprintf(f, "per-class accuracy:\n");
    for (int c = 0; c < C; c++) {
        int total = evaluation_row_total(e, c), right = e->confusion[c * C + c];
        if (total) fprintf(f, "  %-*.*s  %f (%d / %d)\n", width, width, names->names[c], ratio(right, total), right, total);
        else fprintf(f, "  %-*.*s  -        (no examples)\n", width, width, names->names[c]);
    }
    if (C > EVAL_TEXT_MATRIX_MAX) {
        fprintf(f, "confusion matrix: %d classes, see --confusion-svg or --json\n", C);
        return;
    }
    int cell = 5;
    for (int i = 0; i < C * C; i++) {
        char n[16];
        int len = snprintf(n, sizeof n, "%d", e->confusion[i]);
        if (len + 1 > cell) cell = len + 1;
    }
    fprintf(f, "confusion matrix (rows: true class, columns: predicted, in the order above):\n");
    for (int c = 0; c < C; c++) {
        fprintf(f, "  %-*.*s ", width, width, names->names[c]);
        for (int j = 0; j < C; j++) fprintf(f, "%*d", cell, e->confusion[c * C + j]);
        fputc('\n', f);
    }
}

cJSON *eval_json(const Evaluation *e, const ClassNames *names)
{
    int C = e->classes;
    cJSON *root = cJSON_CreateObject(), *classes = cJSON_CreateArray(), *matrix = cJSON_CreateArray();
    if (!root || !classes || !matrix) {
        cJSON_Delete(root), cJSON_Delete(classes), cJSON_Delete(matrix);
        return NULL;
    }
    int ok = cJSON_AddNumberToObject(root, "examples", e->n) && cJSON_AddNumberToObject(root, "correct", e->correct) &&
             cJSON_AddNumberToObject(root, "accuracy", ratio(e->correct, e->n)) &&
             cJSON_AddNumberToObject(root, "top_k", e->k) &&
             cJSON_AddNumberToObject(root, "top_k_accuracy", ratio(e->topk_correct, e->n));
    cJSON_AddItemToObject(root, "classes", classes);
    cJSON_AddItemToObject(root, "confusion", matrix);
    for (int c = 0; ok && c < C; c++) {
        int total = evaluation_row_total(e, c), right = e->confusion[c * C + c];
        cJSON *item = cJSON_CreateObject(), *row = cJSON_CreateIntArray(e->confusion + (size_t)c * C, C);
        ok = item && row && cJSON_AddItemToArray(classes, item) && cJSON_AddItemToArray(matrix, row);
        ok = ok && cJSON_AddStringToObject(item, "name", names->names[c]) && cJSON_AddNumberToObject(item, "examples", total) &&
             cJSON_AddNumberToObject(item, "correct", right) &&
             (total ? cJSON_AddNumberToObject(item, "accuracy", ratio(right, total)) != NULL
                    : cJSON_AddNullToObject(item, "accuracy") != NULL);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- the heat map ------------------------------------------------------------------------- */

typedef struct SvgJob {
    const Evaluation *e;
    const ClassNames *names;
} SvgJob;

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '\'': fputs("&apos;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static int heat_map(FILE *f, const void *ctx)
{
    const SvgJob *job = ctx;
    const Evaluation *e = job->e;
    int C = e->classes;
    double cell = C <= 10 ? 40 : C <= 40 ? 20 : 8, label = 130, x0 = label + 10, y0 = label + 40;
    double w = x0 + C * cell + 90, h = y0 + C * cell + 40; /* room for the slanted labels */
    int font = cell >= 20 ? 11 : 7;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' font-family='sans-serif'>\n", w, h);
    fprintf(f, "<rect width='100%%' height='100%%' fill='white'/>\n");
    fprintf(f, "<text x='%.1f' y='20' font-size='14'>confusion matrix: %d examples, accuracy %.4f</text>\n", x0,
            e->n, ratio(e->correct, e->n));
    fprintf(f, "<text x='%.1f' y='36' font-size='11'>rows: true class, columns: predicted; shade: share of the "
               "row</text>\n", x0);
    for (int c = 0; c < C; c++) {
        int total = evaluation_row_total(e, c);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='%d' text-anchor='end'>", x0 - 4, y0 + (c + 0.5) * cell + font / 3.0, font);
        xml_text(f, job->names->names[c]);
        fprintf(f, "</text>\n<text transform='translate(%.1f,%.1f) rotate(-60)' font-size='%d'>", x0 + (c + 0.5) * cell,
                y0 - 4, font);
        xml_text(f, job->names->names[c]);
        fprintf(f, "</text>\n");
        for (int j = 0; j < C; j++) {
            int n = e->confusion[c * C + j];
            double v = ratio(n, total);
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='rgb(%d,%d,%d)' stroke='#ddd'>"
                       "<title>true %d, predicted %d: %d</title></rect>\n", x0 + j * cell, y0 + c * cell, cell, cell,
                    255 - (int)(v * 247), 255 - (int)(v * 190), 255 - (int)(v * 95), c, j, n);
            if (C <= EVAL_TEXT_MATRIX_MAX && n)
                fprintf(f, "<text x='%.1f' y='%.1f' font-size='%d' text-anchor='middle' fill='%s'>%d</text>\n",
                        x0 + (j + 0.5) * cell, y0 + (c + 0.5) * cell + font / 3.0, font, v > 0.5 ? "white" : "black", n);
        }
    }
    fprintf(f, "</svg>\n");
    return !ferror(f);
}

int eval_write_confusion_svg(const char *path, const Evaluation *e, const ClassNames *names)
{
    SvgJob job = {e, names};
    return write_file_atomically(path, "confusion matrix", heat_map, &job);
}
