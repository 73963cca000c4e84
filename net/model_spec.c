/* model_spec.c — parsing and formatting layer specs (see model_spec.h). */
#include "model_spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static int parse_int(const char **p, int *v)
{
    if (!isdigit((unsigned char)**p)) return 0;
    long x = strtol(*p, (char **)p, 10);
    if (x <= 0 || x > 1000000) return 0;
    *v = (int)x;
    return 1;
}

static int starts(const char **p, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*p, word, n) != 0) return 0;
    *p += n;
    return 1;
}

/* One layer token at *p; on success *p is just past it. */
static int parse_layer(const char **p, LayerSpec *l)
{
    const char *start = *p;
    memset(l, 0, sizeof *l);
    if (starts(p, "conv")) {
        l->kind = LAYER_CONV;
        if (parse_int(p, &l->units) && **p == 'x' && (++*p, parse_int(p, &l->size)) && l->size % 2 == 1)
            return NNDL_OK;
        return nndl_fail("model spec: bad conv token at '%.20s' (expected conv<F>x<K> with K odd, "
                         "e.g. conv64x3)", start);
    }
    if (starts(p, "pool")) {
        l->kind = LAYER_POOL;
        if (parse_int(p, &l->units)) return NNDL_OK;
        return nndl_fail("model spec: bad pool token at '%.20s' (expected pool<k>, e.g. pool2)", start);
    }
    if (starts(p, "affine") || starts(p, "fc")) {
        l->kind = LAYER_AFFINE;
        if (parse_int(p, &l->units)) return NNDL_OK;
        return nndl_fail("model spec: bad affine token at '%.20s' (expected affine<M>, e.g. "
                         "affine500)", start);
    }
    if (starts(p, "relu")) return l->kind = LAYER_RELU, NNDL_OK;
    if (starts(p, "bn")) return l->kind = LAYER_BN, NNDL_OK;
    if (starts(p, "dropout")) {
        l->kind = LAYER_DROPOUT;
        char *end;
        double v = strtod(*p, &end);
        if (end != *p && v > 0 && v <= 1) {
            l->p_keep = (float)v;
            *p = end;
            return NNDL_OK;
        }
        return nndl_fail("model spec: bad dropout token at '%.20s' (expected dropout<p> with p, "
                         "the probability of keeping a unit, in (0, 1])", start);
    }
    return nndl_fail("model spec: unknown layer at '%.20s' (known: conv<F>x<K>, pool<k>, "
                     "affine<M>, relu, bn, dropout<p>)", start);
}

static int push(ModelSpec *s, const LayerSpec *l)
{
    if (s->n >= MODEL_MAX_LAYERS)
        return nndl_fail("model spec: more than %d layers after expanding repeats", MODEL_MAX_LAYERS);
    s->layers[s->n++] = *l;
    return NNDL_OK;
}

/* A sequence of items up to ']' (inside a group) or the end. */
static int parse_sequence(const char **p, ModelSpec *s, int in_group)
{
    for (;;) {
        if (**p == '[') {
            ++*p;
            int first = s->n;
            if (parse_sequence(p, s, 1) != NNDL_OK) return NNDL_ERR;
            int times;
            if (**p != ']' || (++*p, **p != 'x') || (++*p, !parse_int(p, &times)))
                return nndl_fail("model spec: a group must read [ ... ]x<N>, near '%.20s'", *p);
            int len = s->n - first;
            for (int t = 1; t < times; t++)
                for (int i = 0; i < len; i++)
                    if (push(s, &s->layers[first + i]) != NNDL_OK) return NNDL_ERR;
        } else {
            LayerSpec l;
            if (parse_layer(p, &l) != NNDL_OK || push(s, &l) != NNDL_OK) return NNDL_ERR;
        }
        if (**p == '-') {
            ++*p;
            continue;
        }
        if (**p == '\0' && in_group) return nndl_fail("model spec: a group '[' is not closed");
        if (**p == '\0' && !in_group) return NNDL_OK;
        if (**p == ']' && in_group) return NNDL_OK;
        return nndl_fail("model spec: unexpected '%.20s' (layers are joined by '-')", *p);
    }
}

int model_spec_parse(ModelSpec *out, const char *text)
{
    out->n = 0;
    const char *p = text;
    if (parse_sequence(&p, out, 0) != NNDL_OK) return NNDL_ERR;
    if (out->n == 0 || out->layers[out->n - 1].kind != LAYER_AFFINE)
        return nndl_fail("model spec '%s': the last layer must be affine<classes>", text);
    return NNDL_OK;
}

/* The shortest "%g" text of a keep probability that parses back to the same float: "%g" alone
 * keeps 6 digits, so dropout0.1234567 and dropout0.1234569 would share one canonical text. */
static void format_keep(char *buf, size_t size, float p)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, p);
        if ((float)strtod(buf, NULL) == p) return;
    }
}

void model_spec_format(const ModelSpec *s, char *buf, int size)
{
    char keep[32];
    int used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n && used < size; i++) {
        const LayerSpec *l = &s->layers[i];
        const char *sep = i ? "-" : "";
        switch (l->kind) {
        case LAYER_CONV: used += snprintf(buf + used, size - used, "%sconv%dx%d", sep, l->units, l->size); break;
        case LAYER_POOL: used += snprintf(buf + used, size - used, "%spool%d", sep, l->units); break;
        case LAYER_AFFINE: used += snprintf(buf + used, size - used, "%saffine%d", sep, l->units); break;
        case LAYER_RELU: used += snprintf(buf + used, size - used, "%srelu", sep); break;
        case LAYER_BN: used += snprintf(buf + used, size - used, "%sbn", sep); break;
        case LAYER_DROPOUT:
            format_keep(keep, sizeof keep, l->p_keep);
            used += snprintf(buf + used, size - used, "%sdropout%s", sep, keep);
            break;
        }
    }
}

void model_spec_fc(char *buf, int size, const int *hidden, int n_hidden, int num_classes,
                   int batchnorm, float dropout_keep)
{
    int used = 0;
    for (int i = 0; i < n_hidden; i++) {
        used += snprintf(buf + used, size - used, "affine%d-%srelu-", hidden[i], batchnorm ? "bn-" : "");
        if (dropout_keep > 0 && dropout_keep < 1)
            used += snprintf(buf + used, size - used, "dropout%g-", dropout_keep);
    }
    snprintf(buf + used, size - used, "affine%d", num_classes);
}

void model_spec_three_layer_cnn(char *buf, int size, int filters, int filter_size, int hidden,
                                int num_classes, int batchnorm)
{
    const char *bn = batchnorm ? "bn-" : "";
    snprintf(buf, size, "conv%dx%d-%srelu-pool2-affine%d-%srelu-affine%d", filters, filter_size,
             bn, hidden, bn, num_classes);
}
