/* layer_kind.c — lookup of registered kinds and the argument reader they share. */
#include "layer_kind.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const LayerKind *layer_kind_find(const char *token)
{
    for (int i = 0; i < layer_kind_count; i++) {
        const LayerKind *k = layer_kinds[i];
        if (strcmp(k->token, token) == 0 || (k->alias && strcmp(k->alias, token) == 0)) return k;
    }
    return NULL;
}

int layer_parse_count(const char **p, int *v)
{
    if (!isdigit((unsigned char)**p)) return 0;
    char *end;
    long x = strtol(*p, &end, 10);
    if (x <= 0 || x > LAYER_MAX_COUNT) return 0;
    *p = end;
    *v = (int)x;
    return 1;
}
