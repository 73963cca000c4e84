/* check_report.c — see check_report.h. */
#include "check_report.h"

#include <string.h>

#include "error.h"
#include "model.h"
#include "model_check.h"
#include "op_checks.h"

typedef struct Printer {
    FILE *out;
    const char *device;
    int failures_only;
} Printer;

static void print_row(const CheckRow *row, void *ctx)
{
    const Printer *p = ctx;
    if (p->failures_only && row->pass) return;
    fprintf(p->out, "%-6s %-13s %-42s %-30s %10.3e %9.1e  %s\n", p->device, row->op, row->shape,
            row->what, row->error, row->tol, row->pass ? "pass" : "FAIL");
}

void check_print_header(FILE *out)
{
    fprintf(out, "%-6s %-13s %-42s %-30s %10s %9s  %s\n", "device", "op", "case", "compared",
            "max error", "tolerance", "result");
}

static int ops_known(const CheckSelection *sel)
{
    for (int i = 0; sel->ops && i < sel->n_ops; i++)
        if (!op_check_find(sel->ops[i])) {
            char known[512] = "";
            for (size_t k = 0; k < op_check_count; k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                         op_checks[k].name);
            return nndl_fail("unknown op '%s' (known: %s)", sel->ops[i], known);
        }
    return NNDL_OK;
}

int check_selection_valid(const CheckSelection *sel, const Backend *be)
{
    if (ops_known(sel) != NNDL_OK) return NNDL_ERR;
    for (int i = 0; i < sel->n_models; i++) {
        Model m;
        if (model_init(&m, be, sel->models[i], sel->model_c, sel->model_h, sel->model_w, 1e-3f, 0, LOSS_SOFTMAX, 0,
                       sel->model_batch) != NNDL_OK)
            return nndl_fail_context("--model %s", sel->models[i]);
        model_free(&m);
    }
    return NNDL_OK;
}

int check_report(FILE *out, const Backend *be, const CheckSelection *sel, CheckTotals *totals)
{
    if (ops_known(sel) != NNDL_OK) return NNDL_ERR;
    Printer printer = {out, be->name, sel->failures_only};
    CheckRun run = {.be = be, .sink = print_row, .ctx = &printer};
    for (size_t k = 0; k < op_check_count; k++) {
        int wanted = !sel->ops;
        for (int i = 0; sel->ops && i < sel->n_ops; i++) wanted |= strcmp(sel->ops[i], op_checks[k].name) == 0;
        if (wanted) op_checks[k].run(&run);
    }
    for (int i = 0; i < sel->n_models; i++)
        check_model_step(&run, sel->models[i], sel->model_c, sel->model_h, sel->model_w, sel->model_batch);
    totals->rows += run.rows;
    totals->failed += run.failed;
    return NNDL_OK;
}
