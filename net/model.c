/* model.c — building a layer stack from a spec and running it through a Backend. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fused_group.h"
#include "progress.h"
#include "rng.h"

/* A parameter's room in the blocks: rounded up to 16 floats, so the next starts 64-byte aligned. */
static size_t param_room(size_t n) { return (n + 15) / 16 * 16; }

/* The next parameter, placed at the blocks' first free offset (*used). */
static int add_param(Model *m, size_t *used, const char *name, int number, size_t n, int is_weight, int frozen)
{
    Param *p = &m->params[m->n_params++];
    snprintf(p->name, sizeof p->name, "%s%d", name, number);
    p->n = n;
    p->is_weight = is_weight;
    p->frozen = frozen;
    p->w = m->param_block + *used;
    p->dw = m->grad_block + *used;
    *used += param_room(n);
    return m->n_params - 1;
}

static int param_present(const ParamKind *pk, const Layer *l) { return !pk->present || pk->present(l); }

/* Both blocks, zero-filled (the gaps between parameters stay 0, so updates leave them 0). */
static int alloc_param_blocks(Model *m)
{
    size_t total = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        for (int j = 0; j < l->spec.kind->n_params; j++)
            if (param_present(&l->spec.kind->params[j], l)) total += param_room(l->spec.kind->params[j].size(l));
    }
    m->param_values = total;
    size_t bytes = (total ? total : 1) * sizeof(float);
    if (!(m->param_block = m->be->alloc(m->be, bytes)) || !(m->grad_block = m->be->alloc(m->be, bytes)))
        return NNDL_ERR;
    m->be->fill(m->be, m->param_block, 0, total);
    m->be->fill(m->be, m->grad_block, 0, total);
    return NNDL_OK;
}

int weight_init_parse(const char *name)
{
    if (strcmp(name, "normal") == 0) return INIT_NORMAL;
    if (strcmp(name, "he") == 0) return INIT_HE;
    return -1;
}

const char *weight_init_name(WeightInit init)
{
    return init == INIT_NORMAL ? "normal" : init == INIT_HE ? "he" : NULL;
}

static float *device_array(const Backend *be, size_t n, float value)
{
    float *p = be->alloc(be, (n ? n : 1) * sizeof *p);
    if (p) be->fill(be, p, value, n);
    return p;
}

/* Host draw of weight_scale * N(0, 1), the kind's structured start over it, then upload. */
static int init_gaussian(const Backend *be, float *dev, size_t n, float scale, Rng *r, const ParamKind *pk,
                         const Layer *l)
{
    float *h = nndl_alloc(n, sizeof *h, "initial weights");
    if (!h) return NNDL_ERR;
    for (size_t i = 0; i < n; i++) h[i] = (float)(scale * rng_gaussian(r));
    if (pk->shape_init) pk->shape_init(l, h);
    be->to_device(be, dev, h, n * sizeof *h);
    free(h);
    return NNDL_OK;
}

static int alloc_layer(Model *m, Layer *l, int *number, size_t *used, const ModelConfig *cfg, Rng *r)
{
    const Backend *be = m->be;
    const LayerKind *k = l->spec.kind;
    int has_params = 0;
    for (int j = 0; j < k->n_params; j++) has_params |= param_present(&k->params[j], l);
    if (k->numbered && has_params) ++*number;
    for (int j = 0; j < LAYER_MAX_PARAMS; j++) l->param[j] = -1;
    for (int j = 0; j < k->n_params; j++) {
        const ParamKind *pk = &k->params[j];
        if (!param_present(pk, l)) continue;
        size_t n = pk->size(l);
        l->param[j] = add_param(m, used, pk->name, *number, n, pk->is_weight,
                                pk->is_weight && (l->spec.flags & LAYER_FROZEN));
        float *w = m->params[l->param[j]].w;
        if (pk->init == PARAM_GAUSSIAN) {
            float scale = cfg->init == INIT_HE ? (float)sqrt(2.0 / (double)pk->fan_in(l)) : cfg->weight_scale;
            if (init_gaussian(be, w, n, scale, r, pk, l) != NNDL_OK) return NNDL_ERR;
        } else {
            be->fill(be, w, pk->init == PARAM_ONES ? 1 : 0, n);
        }
    }
    for (int j = 0; j < k->n_buffers; j++) {
        l->buffer_n[j] = k->buffers[j].size(l);
        if (!(l->buffer[j] = device_array(be, l->buffer_n[j], k->buffers[j].value))) return NNDL_ERR;
    }
    if (k->block == BLOCK_OPEN &&
        !(l->skip_grad = be->alloc(be, layer_shape_size(l->in) * m->max_batch * sizeof *l->skip_grad)))
        return NNDL_ERR;
    /* the backend's scratch for this layer at the largest batch, so that steps never allocate */
    if (k->reserve && k->reserve(l, be, m->max_batch) != NNDL_OK) return NNDL_ERR;
    l->act = be->alloc(be, layer_shape_size(l->out) * m->max_batch * sizeof(float));
    return l->act ? NNDL_OK : NNDL_ERR;
}

/* Shapes: each layer's output from its input; errors name the layer. */
static int infer_shape(Layer *l, int index)
{
    memcpy(l->out, l->in, sizeof l->out);
    return l->spec.kind->shape ? l->spec.kind->shape(l, index) : NNDL_OK;
}

/* The size limits of model.h, checked layer by layer so the message names the one that
 * crosses them. */
static int check_sizes(const Model *m, size_t file_bytes)
{
    size_t params = 0, values = layer_size_mul(layer_size_mul((size_t)m->in_c * m->in_h, m->in_w), m->max_batch);
    if (values > MODEL_MAX_BATCH_VALUES)
        return nndl_fail("model: an input batch of %d x (%d, %d, %d) is %zu values, more than the limit of %zu",
                         m->max_batch, m->in_c, m->in_h, m->in_w, values, MODEL_MAX_BATCH_VALUES);
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        char token[64];
        if (l->spec.kind->block == BLOCK_CLOSE) /* "]" says little: its parameters are the skip path's */
            snprintf(token, sizeof token, "the skip path of the block opened at layer %d", l->pair + 1);
        else
            layer_spec_format(token, sizeof token, &l->spec);
        size_t layer_params = 0;
        for (int j = 0; j < l->spec.kind->n_params; j++) {
            if (!param_present(&l->spec.kind->params[j], l)) continue;
            size_t n = l->spec.kind->params[j].size(l);
            layer_params = n > SIZE_MAX - layer_params ? SIZE_MAX : layer_params + n;
        }
        if (layer_params > MODEL_MAX_PARAMS - params)
            return nndl_fail("model: layer %d (%s) has %zu parameters, which bring the model past the limit of "
                             "%zu parameters", i + 1, token, layer_params, MODEL_MAX_PARAMS);
        params += layer_params;
        size_t out = layer_size_mul(layer_shape_size(l->out), m->max_batch);
        if (out > MODEL_MAX_BATCH_VALUES - values)
            return nndl_fail("model: layer %d (%s) outputs %zu values per example (%d, %d, %d), %zu for a batch "
                             "of %d, which bring the activations past the limit of %zu values per batch",
                             i + 1, token, layer_shape_size(l->out), l->out[0], l->out[1], l->out[2], out,
                             m->max_batch, MODEL_MAX_BATCH_VALUES);
        values += out;
    }
    if (file_bytes && params > file_bytes / sizeof(float)) /* a damaged or crafted spec: not built */
        return nndl_fail("model: '%s' on input (%d, %d, %d) has %zu parameters, more than a file of %zu bytes "
                         "holds: not the file's model", m->spec, m->in_c, m->in_h, m->in_w, params, file_bytes);
    return NNDL_OK;
}

/* Pairs each residual block's opening and closing layers (the parser nests them properly). */
static void pair_blocks(Model *m)
{
    int open[MODEL_MAX_LAYERS], depth = 0;
    for (int i = 0; i < m->n_layers; i++) {
        Layer *l = &m->layers[i];
        l->pair = -1;
        if (l->spec.kind->block == BLOCK_OPEN) open[depth++] = i;
        if (l->spec.kind->block == BLOCK_CLOSE && depth > 0) {
            l->pair = open[--depth];
            m->layers[l->pair].pair = i;
        }
    }
}

int model_init(Model *m, const Backend *be, const char *spec, int C, int H, int W,
               float weight_scale, float reg, LossKind loss, uint64_t seed, int max_batch)
{
    ModelConfig cfg = {.spec = spec, .C = C, .H = H, .W = W, .init = INIT_NORMAL, .weight_scale = weight_scale,
                       .reg = reg, .loss = loss, .seed = seed, .max_batch = max_batch};
    return model_create(m, be, &cfg);
}

int model_create(Model *m, const Backend *be, const ModelConfig *cfg)
{
    memset(m, 0, sizeof *m);
    const char *spec_text = cfg->spec;
    int C = cfg->C, H = cfg->H, W = cfg->W, max_batch = cfg->max_batch;
    ModelSpec spec;
    if (model_spec_parse(&spec, spec_text) != NNDL_OK) return NNDL_ERR;
    if (C <= 0 || H <= 0 || W <= 0 || max_batch <= 0)
        return nndl_fail("model: input (%d, %d, %d) and batch %d must be positive", C, H, W, max_batch);
    *m = (Model){.be = be, .in_c = C, .in_h = H, .in_w = W, .max_batch = max_batch, .reg = cfg->reg,
                 .loss = cfg->loss, .seed = cfg->seed, .n_layers = spec.n};
    model_spec_format(&spec, m->spec, sizeof m->spec);
    for (int i = 0; i < spec.n; i++) m->layers[i].spec = spec.layers[i];
    pair_blocks(m);
    int shape[3] = {C, H, W}, spatial = 1;
    for (int i = 0; i < spec.n; i++) {
        Layer *l = &m->layers[i];
        l->spatial = spatial;
        memcpy(l->in, shape, sizeof shape);
        if (l->spec.kind->block == BLOCK_CLOSE) memcpy(l->block_in, m->layers[l->pair].in, sizeof l->block_in);
        if (infer_shape(l, i) != NNDL_OK) return NNDL_ERR;
        memcpy(shape, l->out, sizeof shape);
        if (l->spec.kind->flattens) spatial = 0;
    }
    m->num_classes = shape[0];
    if (check_sizes(m, cfg->file_bytes) != NNDL_OK) return NNDL_ERR;
    size_t largest = layer_shape_size(m->layers[0].in);
    for (int i = 0; i < m->n_layers; i++)
        if (layer_shape_size(m->layers[i].out) > largest) largest = layer_shape_size(m->layers[i].out);
    Rng r;
    rng_seed(&r, cfg->seed);
    int number = 0;
    size_t used = 0;
    if (alloc_param_blocks(m) != NNDL_OK) goto oom;
    for (int i = 0; i < m->n_layers; i++)
        if (alloc_layer(m, &m->layers[i], &number, &used, cfg, &r) != NNDL_OK) goto oom;
    for (int i = 0; i < m->n_layers;) {
        int len = fused_group_length(m->layers, m->n_layers, i);
        m->group[i] = len;
        for (int k = 1; k < len; k++) m->group[i + k] = 0;
        i += len;
    }
    size_t batch_values = largest * max_batch;
    m->x = be->alloc(be, (size_t)C * H * W * max_batch * sizeof(float));
    m->labels = be->alloc(be, (size_t)max_batch * sizeof(int));
    m->grad[0] = be->alloc(be, batch_values * sizeof(float));
    m->grad[1] = be->alloc(be, batch_values * sizeof(float));
    m->loss_slot = be->alloc(be, sizeof *m->loss_slot);
    m->host_scores = nndl_alloc((size_t)max_batch * m->num_classes, sizeof(float), "host scores");
    if (!m->x || !m->labels || !m->grad[0] || !m->grad[1] || !m->loss_slot || !m->host_scores) goto oom;
    return NNDL_OK;
oom:
    model_free(m);
    return nndl_fail("model: out of memory for '%s' at batch %d on the %s device", spec_text, max_batch, be->name);
}

void model_free(Model *m)
{
    const Backend *be = m->be;
    if (!be) return;
    if (m->param_block) be->release(be, m->param_block);
    if (m->grad_block) be->release(be, m->grad_block);
    for (int i = 0; i < m->n_layers; i++) {
        Layer *l = &m->layers[i];
        if (l->act) be->release(be, l->act);
        if (l->skip_grad) be->release(be, l->skip_grad);
        for (int j = 0; j < LAYER_MAX_BUFFERS; j++)
            if (l->buffer[j]) be->release(be, l->buffer[j]);
    }
    float *bufs[] = {m->x, m->grad[0], m->grad[1]};
    for (size_t k = 0; k < 3; k++)
        if (bufs[k]) be->release(be, bufs[k]);
    if (m->labels) be->release(be, m->labels);
    if (m->loss_slot) be->release(be, m->loss_slot);
    free(m->host_scores);
    memset(m, 0, sizeof *m);
}

/* What layer i's forward or backward call sees: its parameters and the model's scratch. */
static LayerCall layer_call(const Model *m, int i, int N, int train, uint64_t step, const int64_t *step_at)
{
    const Layer *l = &m->layers[i];
    LayerCall c = {.be = m->be, .N = N, .index = i, .train = train, .seed = m->seed, .step = step,
                   .step_at = step_at, .sync = m->sync_bn};
    for (int j = 0; j < l->spec.kind->n_params; j++) {
        if (l->param[j] < 0) continue;
        c.w[j] = m->params[l->param[j]].w;
        c.dw[j] = m->params[l->param[j]].dw;
    }
    if (l->spec.kind->block) {
        const Layer *open = l->spec.kind->block == BLOCK_OPEN ? l : &m->layers[l->pair];
        c.block_in = open->act;
        c.skip_grad = open->skip_grad;
    }
    return c;
}

/* The profile's clock: the device's queued work is finished first. */
static double profile_clock(const Model *m)
{
    if (m->be->synchronize) m->be->synchronize(m->be);
    return now_seconds();
}

/* Adds the time since *t to *slot and restarts *t; nothing when not profiling. */
static void profile_lap(const Model *m, double *t, double *slot)
{
    if (!m->profile) return;
    double now = profile_clock(m);
    *slot += now - *t;
    *t = now;
}

/* The layers run as one from layer i: its fused group's length (0 inside a group), or 1 for
 * every layer under synchronised batchnorm (the fused op has no group-wide statistics). */
static int span(const Model *m, int i) { return m->sync_bn ? 1 : m->group[i]; }

/* Runs every layer (or fused group) on m->x (N examples); returns the scores (device). */
static const float *forward(Model *m, int N, int train, uint64_t step, const int64_t *step_at)
{
    const float *in = m->x;
    double t = m->profile ? profile_clock(m) : 0;
    for (int i = 0; i < m->n_layers; i += span(m, i)) {
        const Layer *l = &m->layers[i];
        LayerCall c = layer_call(m, i, N, train, step, step_at);
        if (span(m, i) > 1) fused_group_forward(l, span(m, i), &c, in);
        else l->spec.kind->forward(l, &c, l->act, in);
        in = m->layers[i + span(m, i) - 1].act;
        if (m->profile) profile_lap(m, &t, &m->profile->forward[i]);
    }
    return in;
}

/* From dscores in grad[0] back to the first layer, whose input gradient is not needed. */
static void backward(Model *m, int N, uint64_t step, const int64_t *step_at)
{
    int cur = 0;
    double t = m->profile ? profile_clock(m) : 0;
    for (int last = m->n_layers - 1; last >= 0;) {
        int i = last;
        while (span(m, i) == 0) i--; /* the group's first layer */
        const Layer *l = &m->layers[i];
        const float *in = i ? m->layers[i - 1].act : m->x;
        LayerCall c = layer_call(m, i, N, 1, step, step_at);
        c.spare = m->grad[1 - cur];
        if (span(m, i) > 1) {
            float *dx = fused_group_backward(l, span(m, i), &c, m->grad[cur], m->grad[1 - cur], in);
            cur = dx == m->grad[0] ? 0 : 1;
        } else {
            l->spec.kind->backward(l, &c, i ? m->grad[1 - cur] : NULL, m->grad[cur], in);
            cur = 1 - cur;
        }
        if (m->profile) profile_lap(m, &t, &m->profile->backward[i]);
        last = i - 1;
    }
}

static void upload_batch(Model *m, const float *X, int N)
{
    m->be->to_device(m->be, m->x, X, (size_t)N * m->in_c * m->in_h * m->in_w * sizeof(float));
}

void model_loss_into(Model *m, double *loss, const float *X, const int *y, int N, uint64_t step)
{
    double t = m->profile ? profile_clock(m) : 0;
    upload_batch(m, X, N);
    if (m->profile) m->profile->upload += profile_clock(m) - t;
    model_loss_on_input(m, loss, y, N, step);
}

void model_loss_on_input(Model *m, double *loss, const int *y, int N, uint64_t step)
{
    double t = m->profile ? profile_clock(m) : 0;
    m->be->to_device(m->be, m->labels, y, (size_t)N * sizeof *y);
    if (m->profile) m->profile->upload += profile_clock(m) - t;
    model_loss_on_device(m, loss, N, step, NULL);
}

void model_loss_on_device(Model *m, double *loss, int N, uint64_t step, const int64_t *step_at)
{
    const Backend *be = m->be;
    double t = 0;
    const float *scores = forward(m, N, 1, step, step_at);
    if (m->profile) t = profile_clock(m);
    if (m->loss == LOSS_SVM) be->svm_loss(be, m->grad[0], loss, scores, m->labels, N, m->num_classes);
    else if (m->label_smoothing > 0)
        be->softmax_smoothed_loss(be, m->grad[0], loss, scores, m->labels, N, m->num_classes, m->label_smoothing);
    else be->softmax_loss(be, m->grad[0], loss, scores, m->labels, N, m->num_classes);
    if (m->profile) profile_lap(m, &t, &m->profile->loss);
    backward(m, N, step, step_at);
    if (m->profile) t = profile_clock(m);
    for (int i = 0; i < m->n_params; i++) {
        Param *p = &m->params[i];
        if (!param_penalised(p) || m->reg == 0) continue;
        be->l2_penalty(be, m->l2_gradient_in_update ? NULL : p->dw, loss, p->w, m->reg, p->n);
    }
    if (m->profile) {
        profile_lap(m, &t, &m->profile->l2);
        m->profile->steps++;
    }
}

double model_loss(Model *m, const float *X, const int *y, int N, uint64_t step)
{
    double loss;
    model_loss_into(m, m->loss_slot, X, y, N, step);
    m->be->to_host(m->be, &loss, m->loss_slot, sizeof loss);
    return loss;
}

int model_tta_views(int tta, AugmentConfig *views)
{
    int n = 0;
    for (int shift = 0; shift < (tta >= 2 ? 3 : 1); shift++)
        for (int flip = 0; flip < (tta >= 1 ? 2 : 1); flip++) {
            int d = shift == 0 ? 0 : shift == 1 ? -1 : 1;
            views[n++] = (AugmentConfig){.fixed = 1, .fixed_dy = d, .fixed_dx = d, .fixed_flip = flip,
                                         .pad_mode = PAD_REFLECT};
        }
    return n;
}

/* Test-mode scores of the batch in m->x, summed over the views of m->tta in grad[1] (free outside
 * a training step and at least a batch of scores): the batch is copied to grad[0] (as large as an
 * input batch), and each view is built from it into m->x. */
const float *model_scores_on_device(Model *m, int N)
{
    if (m->tta == 0) return forward(m, N, 0, 0, NULL);
    const Backend *be = m->be;
    AugmentConfig views[MODEL_TTA_MAX_VIEWS];
    int n_views = model_tta_views(m->tta, views);
    size_t n_scores = (size_t)N * m->num_classes;
    be->copy(be, m->grad[0], m->x, (size_t)N * m->in_c * m->in_h * m->in_w * sizeof(float));
    for (int v = 0; v < n_views; v++) {
        be->augment(be, m->x, m->grad[0], NULL, N, m->in_c, m->in_h, m->in_w, &views[v]);
        const float *s = forward(m, N, 0, 0, NULL);
        if (v) be->add(be, m->grad[1], m->grad[1], s, n_scores);
        else be->copy(be, m->grad[1], s, n_scores * sizeof *s);
    }
    return m->grad[1];
}

int model_scores(Model *m, float *scores, const float *X, int N)
{
    if (N > m->max_batch)
        return nndl_fail("model: %d examples exceed the batch of %d it was built for", N, m->max_batch);
    upload_batch(m, X, N);
    const float *s = model_scores_on_device(m, N);
    m->be->to_host(m->be, scores, s, (size_t)N * m->num_classes * sizeof *scores);
    return NNDL_OK;
}

int model_predict(Model *m, int *pred, const float *X, int N)
{
    size_t example = (size_t)m->in_c * m->in_h * m->in_w;
    for (int start = 0; start < N; start += m->max_batch) {
        int n = N - start < m->max_batch ? N - start : m->max_batch;
        model_scores(m, m->host_scores, X + start * example, n);
        for (int i = 0; i < n; i++) {
            const float *row = m->host_scores + (size_t)i * m->num_classes;
            int best = 0;
            for (int c = 1; c < m->num_classes; c++)
                if (row[c] > row[best]) best = c;
            pred[start + i] = best;
        }
    }
    return NNDL_OK;
}

int model_count_correct(Model *m, const float *X, const int *y, int N)
{
    int *pred = nndl_alloc(N > 0 ? (size_t)N : 1, sizeof *pred, "predictions");
    if (!pred) return NNDL_ERR;
    model_predict(m, pred, X, N);
    int correct = 0;
    for (int i = 0; i < N; i++) correct += pred[i] == y[i];
    free(pred);
    return correct;
}

size_t model_state_size(const Model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++) n += m->params[i].n;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].spec.kind->n_buffers; j++)
            if (m->layers[i].spec.kind->buffers[j].saved) n += m->layers[i].buffer_n[j];
    return n;
}

/* Visits every state array (params, then each layer's saved buffers, such as a batchnorm
 * layer's running mean and variance) in order. */
static void each_state_array(const Model *m, void (*visit)(const Backend *, float *dev, float *host, size_t n),
                             float *host)
{
    for (int i = 0; i < m->n_params; i++) {
        visit(m->be, m->params[i].w, host, m->params[i].n);
        host += m->params[i].n;
    }
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        for (int j = 0; j < l->spec.kind->n_buffers; j++) {
            if (!l->spec.kind->buffers[j].saved) continue;
            visit(m->be, l->buffer[j], host, l->buffer_n[j]);
            host += l->buffer_n[j];
        }
    }
}

static void download(const Backend *be, float *dev, float *host, size_t n) { be->to_host(be, host, dev, n * sizeof *host); }
static void upload(const Backend *be, float *dev, float *host, size_t n) { be->to_device(be, dev, host, n * sizeof *host); }

void model_state_save(const Model *m, float *host) { each_state_array(m, download, host); }
void model_state_load(Model *m, const float *host) { each_state_array(m, upload, (float *)host); }

size_t model_param_offset(const Model *m, int p)
{
    size_t off = 0;
    for (int i = 0; i < p; i++) off += m->params[i].n;
    return off;
}

size_t model_buffer_offset(const Model *m, int layer, int buffer)
{
    size_t off = model_param_offset(m, m->n_params);
    for (int i = 0; i <= layer; i++) {
        const Layer *l = &m->layers[i];
        for (int j = 0; j < l->spec.kind->n_buffers; j++) {
            if (i == layer && j == buffer) return off;
            if (l->spec.kind->buffers[j].saved) off += l->buffer_n[j];
        }
    }
    return off;
}
