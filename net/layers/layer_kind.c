/* layer_kind.c — lookup of registered kinds and the argument reader they share. */
#include "layer_kind.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
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

int layer_parse_decimal(const char **p, double *v)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s) && *s != '.') return 0;
    char *end;
    double x = strtod(s, &end);
    for (const char *c = s; c < end; c++)
        if (!isdigit((unsigned char)*c) && *c != '.' && *c != 'e' && *c != 'E' && *c != '+' && *c != '-') return 0;
    if (end == s || !isfinite(x)) return 0;
    *v = x;
    *p = end;
    return 1;
}

static int format_shortest(char *buf, size_t size, double v, int as_float)
{
    char text[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        double back = strtod(text, NULL);
        if (as_float ? (float)back == (float)v : back == v) break;
    }
    return snprintf(buf, size, "%s", text);
}

int layer_format_float(char *buf, size_t size, float v) { return format_shortest(buf, size, v, 1); }
int layer_format_double(char *buf, size_t size, double v) { return format_shortest(buf, size, v, 0); }

int layer_parse_options(const char **p, LayerSpec *l,
                        int (*set)(LayerSpec *l, const char *name, size_t len, const char **value))
{
    if (**p != '(') return 1;
    const char *s = *p + 1;
    for (;;) {
        const char *name = s;
        while (isalpha((unsigned char)*s)) s++;
        size_t len = (size_t)(s - name);
        if (len == 0) return 0;
        if (*s == '=') {
            ++s;
            const char *before = s;
            if (!set(l, name, len, &s) || s == before) return 0;
        } else if (!set(l, name, len, NULL)) {
            return 0;
        }
        if (*s == ')') break;
        if (*s++ != ',') return 0;
    }
    *p = s + 1;
    return 1;
}

int layer_format_options(char *buf, size_t size, const char *const *items, int n)
{
    size_t used = 0;
    if (size) buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!items[i]) continue;
        int w = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, "%s%s", used ? "," : "(",
                         items[i]);
        used += (size_t)w;
    }
    if (used) used += (size_t)snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, ")");
    return (int)used;
}
