/* safetensors.c — the model's weights as a safetensors file (see safetensors.h). */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "error.h"
#include "open_read.h"

#define FORMAT_NAME "nndl-weights"
#define MAX_DIMS 8

/* One tensor of the file as the model sees it: where its values sit in the model state
 * (model_state_save layout), and whether they are stored transposed. */
typedef struct Tensor {
    char name[48];
    int ndim;
    int64_t shape[4];
    size_t count, offset;
    int is_mean;                /* preprocess.mean, not part of the model state */
    size_t rows, cols;          /* transposed: the state holds (rows, cols), the file (cols, rows) */
} Tensor;

typedef struct TensorList {
    int n;
    Tensor t[MODEL_MAX_LAYERS * (LAYER_MAX_PARAMS + LAYER_MAX_BUFFERS) + 1];
} TensorList;

/* PyTorch's module and tensor names for nndl's layer kinds with state: the params in the kind's
 * order, then its saved buffers. */
static const struct {
    const char *token, *module, *params[LAYER_MAX_PARAMS], *buffers[LAYER_MAX_BUFFERS];
} exported[] = {
    {"conv", "conv", {"weight", "bias"}, {NULL}},
    {"affine", "linear", {"weight", "bias"}, {NULL}},
    {"bn", "bn", {"weight", "bias"}, {"running_mean", "running_var"}},
    {"]", "proj", {"weight"}, {NULL}}, /* a residual block's 1x1 projection of its input */
};

static Tensor *add(TensorList *L, int layer, const char *module, const char *field, size_t count, size_t offset)
{
    Tensor *t = &L->t[L->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "layers.%d.%s.%s", layer, module, field);
    t->ndim = 1, t->shape[0] = (int64_t)count, t->count = count, t->offset = offset;
    return t;
}

/* Every tensor of model m (and the mean, when with_mean), in file order. */
static int list_tensors(const Model *m, int with_mean, TensorList *L)
{
    L->n = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        const LayerKind *k = l->spec.kind;
        int saved = 0, e = -1;
        for (int j = 0; j < k->n_buffers; j++) saved += k->buffers[j].saved;
        if (k->n_params == 0 && saved == 0) continue;
        for (size_t x = 0; x < sizeof exported / sizeof *exported; x++)
            if (strcmp(exported[x].token, k->token) == 0) e = (int)x;
        if (e < 0) return nndl_fail("safetensors: layer %d (%s) has no exported name", i + 1, k->token);
        for (int j = 0; j < k->n_params; j++) {
            if (l->param[j] < 0) continue; /* absent: conv nobias, bn noscale, an identity skip */
            const Param *p = &m->params[l->param[j]];
            Tensor *t = add(L, i, exported[e].module, exported[e].params[j], p->n, model_param_offset(m, l->param[j]));
            if (j == 0 && strcmp(k->token, "conv") == 0) {
                t->ndim = 4;
                t->shape[0] = l->out[0], t->shape[1] = l->in[0], t->shape[2] = t->shape[3] = l->spec.size;
            } else if (j == 0 && strcmp(k->token, "]") == 0) { /* (F, C, 1, 1): block output from its input */
                t->ndim = 4;
                t->shape[0] = l->in[0], t->shape[1] = l->block_in[0], t->shape[2] = t->shape[3] = 1;
            } else if (j == 0 && strcmp(k->token, "affine") == 0) {
                t->rows = layer_shape_size(l->in), t->cols = (size_t)l->spec.units; /* nndl's (D, M) */
                t->ndim = 2, t->shape[0] = (int64_t)t->cols, t->shape[1] = (int64_t)t->rows;
            }
        }
        for (int j = 0, b = 0; j < k->n_buffers; j++)
            if (k->buffers[j].saved)
                add(L, i, exported[e].module, exported[e].buffers[b++], l->buffer_n[j], model_buffer_offset(m, i, j));
    }
    if (with_mean) {
        Tensor *t = &L->t[L->n++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "preprocess.mean");
        t->ndim = 3, t->shape[0] = m->in_c, t->shape[1] = m->in_h, t->shape[2] = m->in_w;
        t->count = (size_t)m->in_c * m->in_h * m->in_w, t->is_mean = 1;
    }
    return NNDL_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct Writing {
    const TensorList *L;
    const float *state, *mean;
    const char *header;         /* padded JSON */
    size_t header_len;
} Writing;

static int put_le(FILE *f, const float *v, size_t n, size_t stride)
{
    unsigned char b[4096];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof b / 4 && i < n; k++, i++) {
            uint32_t u;
            memcpy(&u, &v[i * stride], sizeof u);
            b[4 * k] = (unsigned char)u, b[4 * k + 1] = (unsigned char)(u >> 8);
            b[4 * k + 2] = (unsigned char)(u >> 16), b[4 * k + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(b, 1, 4 * k, f) != 4 * k) return 0;
    }
    return 1;
}

static int write_file(FILE *f, const void *ctx)
{
    const Writing *w = ctx;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)w->header_len >> (8 * i));
    if (fwrite(len, 1, 8, f) != 8 || fwrite(w->header, 1, w->header_len, f) != w->header_len) return 0;
    for (int i = 0; i < w->L->n; i++) {
        const Tensor *t = &w->L->t[i];
        const float *v = t->is_mean ? w->mean : w->state + t->offset;
        if (!t->rows) {
            if (!put_le(f, v, t->count, 1)) return 0;
            continue;
        }
        for (size_t c = 0; c < t->cols; c++) /* row c of the file: column c of the state */
            if (!put_le(f, v + c, t->rows, t->cols)) return 0;
    }
    return !ferror(f);
}

static cJSON *tensor_json(const Tensor *t, size_t begin)
{
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
    if (!o || !shape || !off) {
        cJSON_Delete(o), cJSON_Delete(shape), cJSON_Delete(off);
        return NULL;
    }
    cJSON_AddStringToObject(o, "dtype", "F32");
    for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddItemToObject(o, "shape", shape);
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)begin));
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(begin + 4 * t->count)));
    cJSON_AddItemToObject(o, "data_offsets", off);
    return o;
}

static const char CONVENTIONS[] =
    "names and layouts of PyTorch: conv weight (F,C,K,K); linear weight (out,in), nndl's affine W transposed; "
    "bn running_var is the biased variance, eps 1e-5 unless the spec says bn(eps=E); dropout p = probability of "
    "keeping (identity in eval); res blocks add their input (or its proj) at the closing layer";

static char *header_json(const Model *m, const TensorList *L, const ClassNames *classes)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    char shape[64];
    snprintf(shape, sizeof shape, "%d,%d,%d", m->in_c, m->in_h, m->in_w);
    if (!root || !meta) {
        cJSON_Delete(root), cJSON_Delete(meta);
        return NULL;
    }
    cJSON_AddStringToObject(meta, "format", FORMAT_NAME);
    cJSON_AddStringToObject(meta, "spec", m->spec);
    cJSON_AddStringToObject(meta, "input_shape", shape);
    cJSON_AddStringToObject(meta, "loss", m->loss == LOSS_SVM ? "svm" : "softmax");
    if (m->tta > 0) /* the run's test-time augmentation, for nndl eval's default (absent: none) */
        cJSON_AddStringToObject(meta, "tta", m->tta == 1 ? "1" : "2");
    if (classes && classes->n > 0) { /* a JSON list, as a string: metadata values are strings */
        cJSON *list = cJSON_CreateStringArray((const char *const *)classes->names, classes->n);
        char *text = list ? cJSON_PrintUnformatted(list) : NULL;
        cJSON_Delete(list);
        if (!text || !cJSON_AddStringToObject(meta, "classes", text)) {
            cJSON_free(text), cJSON_Delete(root), cJSON_Delete(meta);
            return NULL;
        }
        cJSON_free(text);
    }
    cJSON_AddStringToObject(meta, "preprocessing", L->n && L->t[L->n - 1].is_mean
                                                        ? "x = pixels (0..255, C,H,W order) - preprocess.mean"
                                                        : "x = pixels (0..255, C,H,W order); no mean recorded");
    cJSON_AddStringToObject(meta, "conventions", CONVENTIONS);
    cJSON_AddItemToObject(root, "__metadata__", meta);
    size_t begin = 0;
    for (int i = 0; i < L->n; i++) {
        cJSON *t = tensor_json(&L->t[i], begin);
        if (!t) {
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddItemToObject(root, L->t[i].name, t);
        begin += 4 * L->t[i].count;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

int safetensors_save_model(const Model *m, const float *mean, const ClassNames *classes, const char *path)
{
    TensorList *L = nndl_alloc(1, sizeof *L, "the tensor list");
    if (!L) return NNDL_ERR;
    float *state = NULL;
    char *json = NULL, *padded = NULL;
    int rc = list_tensors(m, mean != NULL, L);
    if (rc == NNDL_OK) {
        state = nndl_alloc(model_state_size(m) ? model_state_size(m) : 1, sizeof *state, "the model state");
        json = header_json(m, L, classes);
        if (!json) rc = nndl_fail("safetensors: out of memory for the header");
    }
    size_t n = json ? strlen(json) : 0, padded_n = (n + 7) / 8 * 8; /* 8 + padded_n: aligned data */
    if (rc == NNDL_OK && state && (padded = nndl_alloc(padded_n + 1, 1, "the header"))) {
        memcpy(padded, json, n);
        memset(padded + n, ' ', padded_n - n);
        model_state_save(m, state);
        Writing w = {L, state, mean, padded, padded_n};
        rc = write_file_atomically(path, "weights file", write_file, &w);
    } else if (rc == NNDL_OK) {
        rc = NNDL_ERR;
    }
    free(padded), free(state), free(L);
    cJSON_free(json);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct File {
    FILE *f;
    cJSON *root;
    uint64_t data_start, data_size;
    const char *path;
} File;

static void file_close(File *F)
{
    if (F->f) fclose(F->f);
    cJSON_Delete(F->root);
    memset(F, 0, sizeof *F);
}

static int dtype_size(const char *d)
{
    static const struct { const char *name; int size; } types[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},    {"BOOL", 1}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcmp(types[i].name, d) == 0) return types[i].size;
    return 0;
}

/* A whole number in [0, 2^53] (what a JSON double holds exactly). */
static int as_count(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= 0 && j->valuedouble <= 9007199254740992.0) ||
        j->valuedouble != floor(j->valuedouble))
        return 0;
    *out = (uint64_t)j->valuedouble;
    return 1;
}

typedef struct Span {
    uint64_t begin, end;
} Span;

static int by_begin(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* One tensor entry: dtype known, shape whole numbers, offsets inside the data and of the size
 * the shape and dtype give. */
static int check_entry(const File *F, const cJSON *t, Span *span)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    const char *name = t->string;
    int size = cJSON_IsString(dtype) ? dtype_size(dtype->valuestring) : 0;
    if (!cJSON_IsObject(t) || !size || !cJSON_IsArray(shape) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(off) != 2 || cJSON_GetArraySize(shape) > MAX_DIMS)
        return nndl_fail("%s: tensor '%s' needs a known dtype, a shape of at most %d dimensions and two "
                         "data_offsets", F->path, name, MAX_DIMS);
    uint64_t count = 1, dim;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        if (!as_count(d, &dim)) return nndl_fail("%s: tensor '%s' has a dimension that is not a count", F->path, name);
        count = dim && count > UINT64_MAX / 8 / dim ? UINT64_MAX / 8 : count * dim;
    }
    if (!as_count(cJSON_GetArrayItem(off, 0), &span->begin) || !as_count(cJSON_GetArrayItem(off, 1), &span->end) ||
        span->begin > span->end || span->end > F->data_size || span->end - span->begin != count * (uint64_t)size)
        return nndl_fail("%s: tensor '%s': data_offsets do not fit its shape and dtype within the %llu data "
                         "bytes", F->path, name, (unsigned long long)F->data_size);
    return NNDL_OK;
}

/* The header's entries, and the data covered exactly by the tensors (no gap, no overlap). */
static int check_header(File *F)
{
    int n = cJSON_GetArraySize(F->root), k = 0;
    Span *spans = nndl_alloc(n ? (size_t)n : 1, sizeof *spans, "the tensor list");
    if (!spans) return NNDL_ERR;
    const cJSON *t;
    int rc = NNDL_OK;
    cJSON_ArrayForEach(t, F->root) {
        if (!t->string) rc = nndl_fail("%s: a header entry without a name", F->path);
        else if (strcmp(t->string, "__metadata__") == 0) {
            const cJSON *v;
            if (!cJSON_IsObject(t)) rc = nndl_fail("%s: __metadata__ is not an object", F->path);
            else cJSON_ArrayForEach(v, t) if (!cJSON_IsString(v) && rc == NNDL_OK)
                rc = nndl_fail("%s: __metadata__ value '%s' is not a string", F->path, v->string);
        } else {
            rc = check_entry(F, t, &spans[k++]);
        }
        if (rc != NNDL_OK) break;
    }
    if (rc == NNDL_OK) {
        qsort(spans, (size_t)k, sizeof *spans, by_begin);
        uint64_t at = 0;
        for (int i = 0; i < k && rc == NNDL_OK; i++, at = spans[i - 1].end)
            if (spans[i].begin != at) rc = nndl_fail("%s: the tensors' data overlap or leave a gap at byte %llu",
                                                     F->path, (unsigned long long)at);
        if (rc == NNDL_OK && (k ? spans[k - 1].end : 0) != F->data_size)
            rc = nndl_fail("%s: %llu data bytes, the tensors cover %llu", F->path, (unsigned long long)F->data_size,
                           (unsigned long long)(k ? spans[k - 1].end : 0));
    }
    free(spans);
    return rc;
}

static int file_open(File *F, const char *path)
{
    memset(F, 0, sizeof *F);
    F->path = path;
    if (!(F->f = open_read(path))) return nndl_fail("cannot open weights file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(F->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        file_close(F);
        return nndl_fail("weights file %s is not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size, hlen = 0;
    unsigned char len[8];
    if (size < 8 || fread(len, 1, 8, F->f) != 8) {
        file_close(F);
        return nndl_fail("%s is not a safetensors file: %llu bytes, shorter than its header length", path,
                         (unsigned long long)size);
    }
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)len[i] << (8 * i);
    if (hlen < 2 || hlen > SAFETENSORS_MAX_HEADER || hlen > size - 8) {
        file_close(F);
        return nndl_fail("%s is not a safetensors file or is truncated: a header of %llu bytes in a file of %llu",
                         path, (unsigned long long)hlen, (unsigned long long)size);
    }
    char *text = nndl_alloc((size_t)hlen, 1, "the safetensors header");
    if (!text || fread(text, 1, (size_t)hlen, F->f) != hlen) {
        free(text);
        file_close(F);
        return nndl_fail("cannot read the header of %s", path);
    }
    F->root = cJSON_ParseWithLength(text, (size_t)hlen);
    free(text);
    F->data_start = 8 + hlen, F->data_size = size - 8 - hlen;
    if (!cJSON_IsObject(F->root)) {
        file_close(F);
        return nndl_fail("%s: the safetensors header is not a JSON object (damaged file?)", path);
    }
    if (check_header(F) != NNDL_OK) {
        file_close(F);
        return NNDL_ERR;
    }
    return NNDL_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int safetensors_named(const char *path) { return ends_with(path, ".safetensors"); }

static const char *meta(const File *F, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(F->root, "__metadata__"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "C,H,W": three decimal integers from 1 to INT_MAX, nothing else (sscanf's %d would wrap). */
static int parse_shape(const char *s, int *c, int *h, int *w)
{
    int *out[3] = {c, h, w};
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        long v = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
        if (errno || v < 1 || v > INT_MAX) return 0;
        *out[i] = (int)v;
        s = end;
        if (i < 2 && *s++ != ',') return 0;
    }
    return *s == '\0';
}

int safetensors_read_info(const char *path, WeightsInfo *info)
{
    File F;
    memset(info, 0, sizeof *info);
    if (file_open(&F, path) != NNDL_OK) return NNDL_ERR;
    const char *spec = meta(&F, "spec"), *shape = meta(&F, "input_shape"), *loss = meta(&F, "loss");
    const char *tta = meta(&F, "tta");
    if (spec && strlen(spec) >= sizeof info->spec) { /* refused, never cut to a shorter model */
        nndl_fail("%s: the spec in the metadata has %zu characters, more than nndl's %zu", path, strlen(spec),
                  sizeof info->spec - 1);
        file_close(&F);
        return NNDL_ERR;
    }
    if (spec) snprintf(info->spec, sizeof info->spec, "%s", spec);
    info->loss = loss && strcmp(loss, "svm") == 0 ? LOSS_SVM : LOSS_SOFTMAX;
    info->tta = tta && strcmp(tta, "2") == 0 ? 2 : tta && strcmp(tta, "1") == 0 ? 1 : 0;
    if (shape && !parse_shape(shape, &info->in_c, &info->in_h, &info->in_w)) {
        nndl_fail("%s: input_shape '%.40s' is not C,H,W", path, shape); /* before the header is freed */
        file_close(&F);
        return NNDL_ERR;
    }
    info->has_mean = cJSON_GetObjectItemCaseSensitive(F.root, "preprocess.mean") != NULL;
    info->n_tensors = cJSON_GetArraySize(F.root) - (cJSON_GetObjectItemCaseSensitive(F.root, "__metadata__") ? 1 : 0);
    file_close(&F);
    return NNDL_OK;
}

int safetensors_load_class_names(ClassNames *names, const char *path)
{
    File F;
    memset(names, 0, sizeof *names);
    if (file_open(&F, path) != NNDL_OK) return NNDL_ERR;
    const char *text = meta(&F, "classes");
    cJSON *list = text ? cJSON_Parse(text) : NULL;
    int rc = NNDL_OK;
    if (text && !cJSON_IsArray(list)) rc = nndl_fail("%s: the metadata's classes are not a JSON list", path);
    for (const cJSON *c = list ? list->child : NULL; rc == NNDL_OK && c; c = c->next)
        rc = cJSON_IsString(c) ? class_names_add_repaired(names, c->valuestring)
                               : nndl_fail("%s: the metadata's classes hold a value that is not a name", path);
    cJSON_Delete(list);
    file_close(&F);
    if (rc != NNDL_OK) class_names_free(names);
    return rc;
}

static void format_shape(char *buf, size_t size, const cJSON *shape_json, const Tensor *t)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    if (shape_json) {
        const cJSON *d;
        cJSON_ArrayForEach(d, shape_json) if (used < size)
            used += (size_t)snprintf(buf + used, size - used, "%s%.0f", d == shape_json->child ? "" : ", ",
                                     d->valuedouble);
    } else {
        for (int i = 0; i < t->ndim && used < size; i++)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    }
    if (used < size) snprintf(buf + used, size - used, ")");
}

/* Tensor t's values, as floats in the model's layout, into dst. */
static int read_tensor(const File *F, const cJSON *j, const Tensor *t, float *dst)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
    if (strcmp(dtype->valuestring, "F32") != 0)
        return nndl_fail("%s: tensor %s is %s; nndl reads F32", F->path, t->name, dtype->valuestring);
    int same = cJSON_GetArraySize(shape) == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = cJSON_GetArrayItem(shape, d)->valuedouble == (double)t->shape[d];
    if (!same) {
        char has[128], want[128];
        format_shape(has, sizeof has, shape, t);
        format_shape(want, sizeof want, NULL, t);
        return nndl_fail("%s: tensor %s has shape %s, the model's is %s", F->path, t->name, has, want);
    }
    uint64_t begin = (uint64_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "data_offsets"), 0)->valuedouble;
    unsigned char *raw = nndl_alloc(t->count ? t->count : 1, 4, "a tensor");
    if (!raw) return NNDL_ERR;
    if (fseek(F->f, (long)(F->data_start + begin), SEEK_SET) != 0 || fread(raw, 4, t->count, F->f) != t->count) {
        free(raw);
        return nndl_fail("%s: cannot read tensor %s (truncated?)", F->path, t->name);
    }
    for (size_t i = 0; i < t->count; i++) {
        uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 | (uint32_t)raw[4 * i + 2] << 16 |
                     (uint32_t)raw[4 * i + 3] << 24;
        float v;
        memcpy(&v, &u, sizeof v);
        if (!isfinite(v)) {
            free(raw);
            return nndl_fail("%s: tensor %s holds a non-finite value at index %zu", F->path, t->name, i);
        }
        /* file element i: row i / rows, column i % rows of the transposed (cols, rows) layout */
        if (t->rows) dst[(i % t->rows) * t->cols + i / t->rows] = v;
        else dst[i] = v;
    }
    free(raw);
    return NNDL_OK;
}

/* Every header entry is one the model has (or the mean, or a PyTorch counter). */
static int check_no_strangers(const File *F, const TensorList *L, const Model *m)
{
    const cJSON *j;
    cJSON_ArrayForEach(j, F->root) {
        if (strcmp(j->string, "__metadata__") == 0 || strcmp(j->string, "preprocess.mean") == 0 ||
            ends_with(j->string, ".num_batches_tracked"))
            continue;
        int known = 0;
        for (int i = 0; i < L->n && !known; i++) known = strcmp(L->t[i].name, j->string) == 0;
        if (!known)
            return nndl_fail("%s holds tensor %s, which model '%s' does not have (a weights file of another model?)",
                             F->path, j->string, m->spec);
    }
    return NNDL_OK;
}

int safetensors_load_model(Model *m, float **mean, const char *path)
{
    File F;
    if (mean) *mean = NULL;
    if (file_open(&F, path) != NNDL_OK) return NNDL_ERR;
    TensorList *L = nndl_alloc(1, sizeof *L, "the tensor list");
    size_t state_n = model_state_size(m), pixels = (size_t)m->in_c * m->in_h * m->in_w;
    float *state = nndl_alloc(state_n ? state_n : 1, sizeof *state, "the model state");
    float *mean_values = NULL;
    int rc = L && state ? list_tensors(m, 0, L) : NNDL_ERR;
    if (rc == NNDL_OK) rc = check_no_strangers(&F, L, m);
    for (int i = 0; rc == NNDL_OK && i < L->n; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(F.root, L->t[i].name);
        if (!j)
            rc = nndl_fail("%s has no tensor %s, which model '%s' needs (a weights file of another model?)", path,
                           L->t[i].name, m->spec);
        else
            rc = read_tensor(&F, j, &L->t[i], state + L->t[i].offset);
    }
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(F.root, "preprocess.mean");
    if (rc == NNDL_OK && mean && jm) {
        Tensor t = {.name = "preprocess.mean", .ndim = 3, .shape = {m->in_c, m->in_h, m->in_w}, .count = pixels};
        if (!(mean_values = nndl_alloc(pixels, sizeof *mean_values, "the mean image"))) rc = NNDL_ERR;
        else rc = read_tensor(&F, jm, &t, mean_values);
    }
    if (rc == NNDL_OK) {
        model_state_load(m, state);
        if (mean) *mean = mean_values, mean_values = NULL;
    }
    free(mean_values), free(state), free(L);
    file_close(&F);
    return rc;
}

int safetensors_read_tensor(const char *path, const char *name, int64_t shape[8], int *ndim, float **values)
{
    File F;
    *values = NULL;
    if (file_open(&F, path) != NNDL_OK) return NNDL_ERR;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(F.root, name), *d;
    int rc = NNDL_OK;
    Tensor t = {.count = 1};
    if (!j || strcmp(name, "__metadata__") == 0) {
        rc = nndl_fail("%s has no tensor %s", path, name);
    } else {
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(j, "shape")) {
            shape[t.ndim++] = (int64_t)d->valuedouble;
            t.count *= (size_t)d->valuedouble;
        }
        snprintf(t.name, sizeof t.name, "%s", name);
        for (int i = 0; i < t.ndim && i < 4; i++) t.shape[i] = shape[i];
        *ndim = t.ndim;
        if (t.ndim > 4) rc = nndl_fail("%s: tensor %s has more than 4 dimensions", path, name);
        else if (!(*values = nndl_alloc(t.count ? t.count : 1, sizeof **values, "a tensor"))) rc = NNDL_ERR;
        else rc = read_tensor(&F, j, &t, *values);
    }
    if (rc != NNDL_OK) free(*values), *values = NULL;
    file_close(&F);
    return rc;
}
