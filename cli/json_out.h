/* json_out.h — printing the --json output of eval, predict and bench (cJSON objects). */
#ifndef NNDL_JSON_OUT_H
#define NNDL_JSON_OUT_H

#include <stdio.h>

#include <cjson/cJSON.h>

/* Prints json formatted, then frees it; NNDL_ERR (message set) when json is NULL or cannot be
 * printed: what an allocation failure while building it leaves. */
int json_print_and_free(FILE *f, cJSON *json);

#endif
