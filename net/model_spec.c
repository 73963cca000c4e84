/* model_spec.c — parsing and formatting layer specs (see model_spec.h); what each token means
 * is the business of its layer kind (net/layers/). */
#include "model_spec.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

/* The registered kind whose token or alias starts at *p, the longest such; *p moves past it. */
static const LayerKind *match_kind(const char **p)
{
    const LayerKind *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < layer_kind_count; i++) {
        const char *names[2] = {layer_kinds[i]->token, layer_kinds[i]->alias};
        for (int j = 0; j < 2; j++) {
            size_t n = names[j] ? strlen(names[j]) : 0;
            if (n > best_len && strncmp(*p, names[j], n) == 0) best = layer_kinds[i], best_len = n;
        }
    }
    *p += best_len;
    return best;
}

static int unknown_layer(const char *at)
{
    char known[512] = "";
    size_t used = 0;
    for (int i = 0; i < layer_kind_count && used < sizeof known; i++)
        used += snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", layer_kinds[i]->syntax);
    return nndl_fail("model spec: unknown layer at '%.20s' (known: %s)", at, known);
}

/* One layer token at *p; on success *p is just past it. */
static int parse_layer(const char **p, LayerSpec *l)
{
    const char *start = *p;
    memset(l, 0, sizeof *l);
    if (!(l->kind = match_kind(p))) return unknown_layer(start);
    if (!l->kind->parse_args || l->kind->parse_args(p, l)) return NNDL_OK;
    const LayerKind *k = l->kind;
    return nndl_fail("model spec: bad %s token at '%.20s' (expected %s%s%s, e.g. %s)", k->token, start, k->syntax,
                     k->rule ? " " : "", k->rule ? k->rule : "", k->example);
}

static int push(ModelSpec *s, const LayerSpec *l)
{
    if (s->n >= MODEL_MAX_LAYERS)
        return nndl_fail("model spec: more than %d layers after expanding repeats", MODEL_MAX_LAYERS);
    s->layers[s->n++] = *l;
    return NNDL_OK;
}

static int parse_sequence(const char **p, ModelSpec *s, int depth);

/* The "[ layers ]" after a block's opening token (res[...]): the layers, then the closing kind
 * with the opening layer's arguments. */
static int parse_block(const char **p, ModelSpec *s, const LayerSpec *open, int depth, const char *start)
{
    if (**p != '[')
        return nndl_fail("model spec: %s must be followed by its layers in [ ... ] at '%.20s' (e.g. %s)",
                         open->kind->token, start, open->kind->example);
    if (depth >= MODEL_SPEC_MAX_DEPTH)
        return nndl_fail("model spec: groups nested more than %d deep at '%.20s'", MODEL_SPEC_MAX_DEPTH, *p);
    ++*p;
    if (parse_sequence(p, s, depth + 1) != NNDL_OK) return NNDL_ERR;
    if (**p != ']') return nndl_fail("model spec: a %s block is not closed with ']' near '%.20s'", open->kind->token, *p);
    ++*p;
    LayerSpec close = *open;
    close.kind = open->kind->closer;
    return push(s, &close);
}

/* A sequence of items up to ']' (inside a group or block, depth > 0) or the end. */
static int parse_sequence(const char **p, ModelSpec *s, int depth)
{
    for (;;) {
        if (**p == '[') {
            if (depth >= MODEL_SPEC_MAX_DEPTH)
                return nndl_fail("model spec: groups nested more than %d deep at '%.20s'", MODEL_SPEC_MAX_DEPTH, *p);
            ++*p;
            int first = s->n;
            if (parse_sequence(p, s, depth + 1) != NNDL_OK) return NNDL_ERR;
            int times;
            if (**p != ']' || (++*p, **p != 'x') || (++*p, !layer_parse_count(p, &times)))
                return nndl_fail("model spec: a group must read [ ... ]x<N>, near '%.20s'", *p);
            int len = s->n - first;
            for (int t = 1; t < times; t++)
                for (int i = 0; i < len; i++)
                    if (push(s, &s->layers[first + i]) != NNDL_OK) return NNDL_ERR;
        } else {
            LayerSpec l;
            const char *start = *p;
            if (parse_layer(p, &l) != NNDL_OK || push(s, &l) != NNDL_OK) return NNDL_ERR;
            if (l.kind->block == BLOCK_OPEN && parse_block(p, s, &l, depth, start) != NNDL_OK) return NNDL_ERR;
        }
        if (**p == '-') {
            ++*p;
            continue;
        }
        if (**p == '\0' && depth) return nndl_fail("model spec: a group '[' is not closed");
        if (**p == '\0' && !depth) return NNDL_OK;
        if (**p == ']' && depth) return NNDL_OK;
        return nndl_fail("model spec: unexpected '%.20s' (layers are joined by '-')", *p);
    }
}

/* Appending with snprintf's contract: `used` counts every character, buf gets what fits. */
static char *at(char *buf, size_t size, size_t used) { return used < size ? buf + used : NULL; }
static size_t room(size_t size, size_t used) { return used < size ? size - used : 0; }

static int format_spec(const ModelSpec *s, char *buf, size_t size)
{
    size_t used = 0;
    if (size) buf[0] = '\0';
    for (int i = 0; i < s->n; i++) {
        /* blocks read res[a-b]: no '-' after an opening layer or before a closing one */
        int joined = i && s->layers[i - 1].kind->block != BLOCK_OPEN && s->layers[i].kind->block != BLOCK_CLOSE;
        if (joined) used += snprintf(at(buf, size, used), room(size, used), "-");
        used += layer_spec_format(at(buf, size, used), room(size, used), &s->layers[i]);
        if (s->layers[i].kind->block == BLOCK_OPEN) used += snprintf(at(buf, size, used), room(size, used), "[");
    }
    return (int)used;
}

int model_spec_parse(ModelSpec *out, const char *text)
{
    out->n = 0;
    size_t written = strnlen(text, MODEL_SPEC_MAX);
    if (written >= MODEL_SPEC_MAX)
        return nndl_fail("model spec: longer than %d characters (starts '%.20s')", MODEL_SPEC_MAX - 1, text);
    const char *p = text;
    if (parse_sequence(&p, out, 0) != NNDL_OK) return NNDL_ERR;
    int last = out->n - 1;
    while (last > 0 && out->layers[last].kind->follows_scores) last--;
    if (out->n == 0 || out->layers[last].kind != layer_kind_find("affine"))
        return nndl_fail("model spec '%s': the last layer must be affine<classes> (a scale<c> may follow it)", text);
    int canonical = format_spec(out, NULL, 0);
    if (canonical >= MODEL_SPEC_MAX)
        return nndl_fail("model spec: its canonical text (repeats expanded) has %d characters, more than %d",
                         canonical, MODEL_SPEC_MAX - 1);
    return NNDL_OK;
}

int layer_spec_equal(const LayerSpec *a, const LayerSpec *b)
{
    return a->kind == b->kind && a->units == b->units && a->size == b->size && a->p_keep == b->p_keep &&
           a->stride == b->stride && a->pad == b->pad && a->flags == b->flags && a->momentum == b->momentum &&
           a->eps == b->eps && a->factor == b->factor;
}

int layer_spec_format(char *buf, size_t size, const LayerSpec *l)
{
    size_t used = snprintf(buf, size, "%s", l->kind->token);
    if (l->kind->format_args) used += l->kind->format_args(at(buf, size, used), room(size, used), l);
    return (int)used;
}

void model_spec_format(const ModelSpec *s, char *buf, int size)
{
    format_spec(s, buf, size > 0 ? (size_t)size : 0);
}

/* snprintf's count, or a message when it did not fit. */
static int fits(int needed, int size, const char *what)
{
    if (needed >= 0 && needed < size) return NNDL_OK;
    return nndl_fail("model spec: the %s spec needs %d characters, more than %d", what, needed, size - 1);
}

int model_spec_fc(char *buf, int size, const int *hidden, int n_hidden, int num_classes,
                  int batchnorm, float dropout_keep)
{
    size_t used = 0, n = size > 0 ? (size_t)size : 0;
    for (int i = 0; i < n_hidden; i++) {
        used += snprintf(at(buf, n, used), room(n, used), "affine%d-%srelu-", hidden[i], batchnorm ? "bn-" : "");
        if (dropout_keep > 0 && dropout_keep < 1) { /* written as the dropout kind writes it */
            LayerSpec d = {.kind = layer_kind_find("dropout"), .p_keep = dropout_keep};
            used += layer_spec_format(at(buf, n, used), room(n, used), &d);
            used += snprintf(at(buf, n, used), room(n, used), "-");
        }
    }
    used += snprintf(at(buf, n, used), room(n, used), "affine%d", num_classes);
    return fits((int)used, size, "fully connected");
}

int model_spec_three_layer_cnn(char *buf, int size, int filters, int filter_size, int hidden,
                               int num_classes, int batchnorm)
{
    const char *bn = batchnorm ? "bn-" : "";
    return fits(snprintf(buf, size, "conv%dx%d-%srelu-pool2-affine%d-%srelu-affine%d", filters, filter_size, bn,
                         hidden, bn, num_classes),
                size, "three-layer convnet");
}
