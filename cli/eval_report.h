/* eval_report.h — an Evaluation (net/evaluation.h) for people and scripts: the text report of
 * `nndl eval`, its JSON object (cJSON), and the confusion matrix as an SVG heat map. */
#ifndef NNDL_EVAL_REPORT_H
#define NNDL_EVAL_REPORT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "class_names.h"
#include "evaluation.h"
#include "json_out.h"

/* The text matrix is printed up to this many classes (wider ones: the SVG or the JSON). */
#define EVAL_TEXT_MATRIX_MAX 20

/* top-k accuracy (k > 1), per-class accuracy and the confusion matrix. */
void eval_print_text(FILE *f, const Evaluation *e, const ClassNames *names);
/* {"examples", "correct", "accuracy", "top_k", "top_k_accuracy", "classes": [{"name", "examples",
 * "correct", "accuracy"}...], "confusion": [[...]...]}; NULL when out of memory. */
cJSON *eval_json(const Evaluation *e, const ClassNames *names);
/* The heat map, each row normalised by its true class's count, written atomically. */
int eval_write_confusion_svg(const char *path, const Evaluation *e, const ClassNames *names);

#endif
