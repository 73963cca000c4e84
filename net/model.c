/* model.c — building a layer stack from a spec and running it through a Backend. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "geometry.h"
#include "rng.h"

ConvGeom model_layer_conv_geom(const Layer *l, int N)
{
    ConvGeom g;
    conv_geom_init(&g, N, l->in[0], l->in[1], l->in[2], l->spec.units, l->in[0], l->spec.size,
                   l->spec.size, 1, (l->spec.size - 1) / 2);
    return g;
}

PoolGeom model_layer_pool_geom(const Layer *l, int N)
{
    PoolGeom g;
    pool_geom_init(&g, N, l->in[0], l->in[1], l->in[2], l->spec.units, l->spec.units, l->spec.units);
    return g;
}

/* Shapes: each layer's output from its input; errors name the layer. */
static int infer_shape(Layer *l, int index, int spatial)
{
    const int *in = l->in;
    int *out = l->out;
    memcpy(out, in, sizeof l->out);
    l->spatial = spatial;
    switch (l->spec.kind) {
    case LAYER_CONV: {
        if (!spatial)
            return nndl_fail("layer %d (conv%dx%d) needs a (C, H, W) input but gets a vector of "
                             "%d values (after an affine layer)", index + 1, l->spec.units,
                             l->spec.size, in[0]);
        ConvGeom g;
        if (conv_geom_init(&g, 1, in[0], in[1], in[2], l->spec.units, in[0], l->spec.size,
                           l->spec.size, 1, (l->spec.size - 1) / 2) != NNDL_OK)
            return nndl_fail("layer %d: %s", index + 1, nndl_last_error());
        out[0] = g.F, out[1] = g.Ho, out[2] = g.Wo;
        return NNDL_OK;
    }
    case LAYER_POOL: {
        if (!spatial)
            return nndl_fail("layer %d (pool%d) needs a (C, H, W) input but gets a vector",
                             index + 1, l->spec.units);
        PoolGeom g;
        if (pool_geom_init(&g, 1, in[0], in[1], in[2], l->spec.units, l->spec.units, l->spec.units) != NNDL_OK)
            return nndl_fail("layer %d: %s", index + 1, nndl_last_error());
        out[1] = g.Ho, out[2] = g.Wo;
        return NNDL_OK;
    }
    case LAYER_AFFINE:
        out[0] = l->spec.units, out[1] = out[2] = 1;
        return NNDL_OK;
    default: return NNDL_OK;
    }
}

/* The param is counted as soon as it exists, so model_free releases a half-allocated one. */
static int add_param(Model *m, const char *name, int number, size_t n, int is_weight)
{
    Param *p = &m->params[m->n_params++];
    snprintf(p->name, sizeof p->name, "%s%d", name, number);
    p->n = n;
    p->is_weight = is_weight;
    p->w = m->be->alloc(m->be, n * sizeof(float));
    p->dw = m->be->alloc(m->be, n * sizeof(float));
    if (!p->w || !p->dw) return -1;
    m->be->fill(m->be, p->dw, 0, n);
    return m->n_params - 1;
}

static float *device_array(const Backend *be, size_t n, float value)
{
    float *p = be->alloc(be, (n ? n : 1) * sizeof *p);
    if (p) be->fill(be, p, value, n);
    return p;
}

/* Host draw of weight_scale * N(0, 1), then upload. */
static int init_gaussian(const Backend *be, float *dev, size_t n, float scale, Rng *r)
{
    float *h = nndl_alloc(n, sizeof *h, "initial weights");
    if (!h) return NNDL_ERR;
    for (size_t i = 0; i < n; i++) h[i] = (float)(scale * rng_gaussian(r));
    be->to_device(be, dev, h, n * sizeof *h);
    free(h);
    return NNDL_OK;
}

static int alloc_layer(Model *m, Layer *l, int *weight_layers, float weight_scale, Rng *r)
{
    const Backend *be = m->be;
    l->w = l->b = l->gamma = l->beta = -1;
    int C = l->in[0];
    if (l->spec.kind == LAYER_CONV || l->spec.kind == LAYER_AFFINE) {
        int k = ++*weight_layers;
        size_t nw = l->spec.kind == LAYER_CONV ? (size_t)l->spec.units * C * l->spec.size * l->spec.size
                                               : layer_shape_size(l->in) * l->spec.units;
        if ((l->w = add_param(m, "W", k, nw, 1)) < 0 || (l->b = add_param(m, "b", k, l->spec.units, 0)) < 0)
            return NNDL_ERR;
        if (init_gaussian(be, m->params[l->w].w, nw, weight_scale, r) != NNDL_OK) return NNDL_ERR;
        be->fill(be, m->params[l->b].w, 0, l->spec.units);
    } else if (l->spec.kind == LAYER_BN) {
        int k = *weight_layers;
        if ((l->gamma = add_param(m, "gamma", k, C, 0)) < 0 || (l->beta = add_param(m, "beta", k, C, 0)) < 0)
            return NNDL_ERR;
        be->fill(be, m->params[l->gamma].w, 1, C);
        be->fill(be, m->params[l->beta].w, 0, C);
        /* the seed starts both running statistics at zero */
        if (!(l->running_mean = device_array(be, C, 0)) || !(l->running_var = device_array(be, C, 0)) ||
            !(l->mean = device_array(be, C, 0)) || !(l->inv_std = device_array(be, C, 0)))
            return NNDL_ERR;
    }
    l->act = be->alloc(be, layer_shape_size(l->out) * m->max_batch * sizeof(float));
    return l->act ? NNDL_OK : NNDL_ERR;
}

int model_init(Model *m, const Backend *be, const char *spec_text, int C, int H, int W,
               float weight_scale, float reg, LossKind loss, uint64_t seed, int max_batch)
{
    memset(m, 0, sizeof *m);
    ModelSpec spec;
    if (model_spec_parse(&spec, spec_text) != NNDL_OK) return NNDL_ERR;
    if (C <= 0 || H <= 0 || W <= 0 || max_batch <= 0)
        return nndl_fail("model: input (%d, %d, %d) and batch %d must be positive", C, H, W, max_batch);
    *m = (Model){.be = be, .in_c = C, .in_h = H, .in_w = W, .max_batch = max_batch, .reg = reg,
                 .loss = loss, .seed = seed, .n_layers = spec.n};
    model_spec_format(&spec, m->spec, sizeof m->spec);
    int shape[3] = {C, H, W}, spatial = 1;
    size_t largest = layer_shape_size(shape);
    for (int i = 0; i < spec.n; i++) {
        Layer *l = &m->layers[i];
        l->spec = spec.layers[i];
        memcpy(l->in, shape, sizeof shape);
        if (infer_shape(l, i, spatial) != NNDL_OK) return NNDL_ERR;
        memcpy(shape, l->out, sizeof shape);
        if (l->spec.kind == LAYER_AFFINE) spatial = 0;
        if (layer_shape_size(shape) > largest) largest = layer_shape_size(shape);
    }
    m->num_classes = shape[0];
    Rng r;
    rng_seed(&r, seed);
    int weight_layers = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (alloc_layer(m, &m->layers[i], &weight_layers, weight_scale, &r) != NNDL_OK) goto oom;
        if (m->layers[i].spec.kind != LAYER_CONV) continue;
        ConvGeom g = model_layer_conv_geom(&m->layers[i], max_batch); /* the backend's scratch */
        if (be->conv_reserve(be, &g) != NNDL_OK) goto oom;
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
    for (int i = 0; i < m->n_params; i++) {
        if (m->params[i].w) be->release(be, m->params[i].w);
        if (m->params[i].dw) be->release(be, m->params[i].dw);
    }
    for (int i = 0; i < m->n_layers; i++) {
        Layer *l = &m->layers[i];
        float *bufs[] = {l->act, l->running_mean, l->running_var, l->mean, l->inv_std};
        for (size_t k = 0; k < 5; k++)
            if (bufs[k]) be->release(be, bufs[k]);
    }
    float *bufs[] = {m->x, m->grad[0], m->grad[1]};
    for (size_t k = 0; k < 3; k++)
        if (bufs[k]) be->release(be, bufs[k]);
    if (m->labels) be->release(be, m->labels);
    if (m->loss_slot) be->release(be, m->loss_slot);
    free(m->host_scores);
    memset(m, 0, sizeof *m);
}

static float *pw(Model *m, int index) { return index >= 0 ? m->params[index].w : NULL; }
static float *pdw(Model *m, int index) { return index >= 0 ? m->params[index].dw : NULL; }

/* Runs every layer on m->x (N examples); returns the scores (device). */
static const float *forward(Model *m, int N, int train, uint64_t step)
{
    const Backend *be = m->be;
    const float *in = m->x;
    for (int i = 0; i < m->n_layers; i++) {
        Layer *l = &m->layers[i];
        size_t n_out = layer_shape_size(l->out) * N;
        switch (l->spec.kind) {
        case LAYER_CONV: {
            ConvGeom g = model_layer_conv_geom(l, N);
            be->conv_forward(be, l->act, in, pw(m, l->w), pw(m, l->b), &g);
            break;
        }
        case LAYER_POOL: {
            PoolGeom g = model_layer_pool_geom(l, N);
            be->max_pool_forward(be, l->act, in, &g);
            break;
        }
        case LAYER_AFFINE:
            be->affine_forward(be, l->act, in, pw(m, l->w), pw(m, l->b), N, (int)layer_shape_size(l->in), l->spec.units);
            break;
        case LAYER_RELU: be->relu_forward(be, l->act, in, n_out); break;
        case LAYER_BN: {
            BNConfig cfg = {train, (float)MODEL_BN_EPS, (float)MODEL_BN_MOMENTUM};
            be->batchnorm_forward(be, l->act, l->mean, l->inv_std, l->running_mean, l->running_var, in,
                                  pw(m, l->gamma), pw(m, l->beta), &cfg, N, l->in[0], layer_bn_inner(l));
            break;
        }
        case LAYER_DROPOUT: {
            DropoutConfig d = {train, l->spec.p_keep, model_dropout_seed(m, i), step};
            be->dropout_forward(be, l->act, in, n_out, &d);
            break;
        }
        }
        in = l->act;
    }
    return in;
}

/* From dscores in grad[0] back to the first layer, whose input gradient is not needed. */
static void backward(Model *m, int N, uint64_t step)
{
    const Backend *be = m->be;
    int cur = 0;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        Layer *l = &m->layers[i];
        const float *in = i ? m->layers[i - 1].act : m->x, *dout = m->grad[cur];
        float *dx = i ? m->grad[1 - cur] : NULL;
        size_t n_in = layer_shape_size(l->in) * N;
        switch (l->spec.kind) {
        case LAYER_CONV: {
            ConvGeom g = model_layer_conv_geom(l, N);
            be->conv_backward(be, dx, pdw(m, l->w), pdw(m, l->b), dout, in, pw(m, l->w), &g);
            break;
        }
        case LAYER_POOL: {
            PoolGeom g = model_layer_pool_geom(l, N);
            if (dx) be->max_pool_backward(be, dx, dout, in, l->act, &g);
            break;
        }
        case LAYER_AFFINE:
            be->affine_backward(be, dx, pdw(m, l->w), pdw(m, l->b), dout, in, pw(m, l->w), N,
                                (int)layer_shape_size(l->in), l->spec.units);
            break;
        case LAYER_RELU:
            if (dx) be->relu_backward(be, dx, dout, in, n_in);
            break;
        case LAYER_BN: {
            float *dx_bn = dx ? dx : m->grad[1 - cur]; /* dgamma/dbeta are still wanted */
            be->batchnorm_backward(be, dx_bn, pdw(m, l->gamma), pdw(m, l->beta), dout, in,
                                   pw(m, l->gamma), l->mean, l->inv_std, N, l->in[0], layer_bn_inner(l));
            break;
        }
        case LAYER_DROPOUT: {
            DropoutConfig d = {1, l->spec.p_keep, model_dropout_seed(m, i), step};
            if (dx) be->dropout_backward(be, dx, dout, n_in, &d);
            break;
        }
        }
        cur = 1 - cur;
    }
}

static void upload_batch(Model *m, const float *X, int N)
{
    m->be->to_device(m->be, m->x, X, (size_t)N * m->in_c * m->in_h * m->in_w * sizeof(float));
}

void model_loss_into(Model *m, double *loss, const float *X, const int *y, int N, uint64_t step)
{
    const Backend *be = m->be;
    upload_batch(m, X, N);
    be->to_device(be, m->labels, y, (size_t)N * sizeof *y);
    const float *scores = forward(m, N, 1, step);
    if (m->loss == LOSS_SVM) be->svm_loss(be, m->grad[0], loss, scores, m->labels, N, m->num_classes);
    else be->softmax_loss(be, m->grad[0], loss, scores, m->labels, N, m->num_classes);
    backward(m, N, step);
    for (int i = 0; i < m->n_params; i++) {
        Param *p = &m->params[i];
        if (!p->is_weight || m->reg == 0) continue;
        be->l2_penalty(be, p->dw, loss, p->w, m->reg, p->n);
    }
}

double model_loss(Model *m, const float *X, const int *y, int N, uint64_t step)
{
    double loss;
    model_loss_into(m, m->loss_slot, X, y, N, step);
    m->be->to_host(m->be, &loss, m->loss_slot, sizeof loss);
    return loss;
}

int model_scores(Model *m, float *scores, const float *X, int N)
{
    if (N > m->max_batch)
        return nndl_fail("model: %d examples exceed the batch of %d it was built for", N, m->max_batch);
    upload_batch(m, X, N);
    const float *s = forward(m, N, 0, 0);
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

size_t model_state_size(const Model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n_params; i++) n += m->params[i].n;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].spec.kind == LAYER_BN) n += 2 * (size_t)m->layers[i].in[0];
    return n;
}

/* Visits every state array (params, then running mean/var per batchnorm layer) in order. */
static void each_state_array(const Model *m, void (*visit)(const Backend *, float *dev, float *host, size_t n),
                             float *host)
{
    for (int i = 0; i < m->n_params; i++) {
        visit(m->be, m->params[i].w, host, m->params[i].n);
        host += m->params[i].n;
    }
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        if (l->spec.kind != LAYER_BN) continue;
        visit(m->be, l->running_mean, host, l->in[0]);
        visit(m->be, l->running_var, host + l->in[0], l->in[0]);
        host += 2 * (size_t)l->in[0];
    }
}

static void download(const Backend *be, float *dev, float *host, size_t n) { be->to_host(be, host, dev, n * sizeof *host); }
static void upload(const Backend *be, float *dev, float *host, size_t n) { be->to_device(be, dev, host, n * sizeof *host); }

void model_state_save(const Model *m, float *host) { each_state_array(m, download, host); }
void model_state_load(Model *m, const float *host) { each_state_array(m, upload, (float *)host); }
