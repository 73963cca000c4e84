/* json_out.c — see json_out.h. */
#include "json_out.h"

#include "error.h"

int json_print_and_free(FILE *f, cJSON *json)
{
    char *text = json ? cJSON_Print(json) : NULL;
    cJSON_Delete(json);
    if (!text) return nndl_fail("out of memory for the JSON output");
    fprintf(f, "%s\n", text);
    cJSON_free(text);
    return NNDL_OK;
}
