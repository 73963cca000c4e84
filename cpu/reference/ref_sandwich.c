/* ref_sandwich.c — the seed's sandwich layers, composed from the reference layers. */
#include <stdlib.h>
#include <string.h>

#include "reference.h"

static double *dup_zero(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

void ref_cache_free(RefCache *c)
{
    free(c->a);
    free(c->bn);
    free(c->r);
    memset(c, 0, sizeof *c);
}

void ref_affine_relu_forward(double *out, RefCache *c, const double *x, const double *w,
                             const double *b, int N, int D, int M)
{
    *c = (RefCache){.x = x, .w = w, .N = N, .D = D, .M = M};
    c->a = dup_zero((size_t)N * M);
    ref_affine_forward(c->a, x, w, b, N, D, M);
    ref_relu_forward(out, c->a, (size_t)N * M);
}

void ref_affine_relu_backward(double *dx, double *dw, double *db, const double *dout,
                              const RefCache *c)
{
    size_t n = (size_t)c->N * c->M;
    double *da = dup_zero(n);
    ref_relu_backward(da, dout, c->a, n);
    ref_affine_backward(dx, dw, db, da, c->x, c->w, c->N, c->D, c->M);
    free(da);
}

void ref_affine_bn_relu_forward(double *out, RefCache *c, const double *x, const double *w,
                                const double *b, const double *gamma, const double *beta,
                                RefBNParam *p, int N, int D, int M)
{
    *c = (RefCache){.x = x, .w = w, .gamma = gamma, .N = N, .D = D, .M = M, .eps = p->eps};
    c->a = dup_zero((size_t)N * M);
    c->bn = dup_zero((size_t)N * M);
    ref_affine_forward(c->a, x, w, b, N, D, M);
    ref_batchnorm_forward(c->bn, c->a, gamma, beta, p, N, M, 1);
    ref_relu_forward(out, c->bn, (size_t)N * M);
}

void ref_affine_bn_relu_backward(double *dx, double *dw, double *db, double *dgamma,
                                 double *dbeta, const double *dout, const RefCache *c)
{
    size_t n = (size_t)c->N * c->M;
    double *dbn = dup_zero(n), *da = dup_zero(n);
    ref_relu_backward(dbn, dout, c->bn, n);
    ref_batchnorm_backward(da, dgamma, dbeta, dbn, c->a, c->gamma, c->eps, c->N, c->M, 1);
    ref_affine_backward(dx, dw, db, da, c->x, c->w, c->N, c->D, c->M);
    free(dbn);
    free(da);
}

void ref_conv_relu_forward(double *out, RefCache *c, const double *x, const double *w,
                           const double *b, const ConvGeom *g)
{
    *c = (RefCache){.x = x, .w = w, .cg = *g};
    c->a = dup_zero(conv_out_size(g));
    ref_conv_forward_naive(c->a, x, w, b, g);
    ref_relu_forward(out, c->a, conv_out_size(g));
}

void ref_conv_relu_backward(double *dx, double *dw, double *db, const double *dout,
                            const RefCache *c)
{
    double *da = dup_zero(conv_out_size(&c->cg));
    ref_relu_backward(da, dout, c->a, conv_out_size(&c->cg));
    ref_conv_backward_naive(dx, dw, db, da, c->x, c->w, &c->cg);
    free(da);
}

void ref_conv_relu_pool_forward(double *out, RefCache *c, const double *x, const double *w,
                                const double *b, const ConvGeom *g, const PoolGeom *pg)
{
    *c = (RefCache){.x = x, .w = w, .cg = *g, .pg = *pg};
    c->a = dup_zero(conv_out_size(g));
    c->r = dup_zero(conv_out_size(g));
    ref_conv_forward_naive(c->a, x, w, b, g);
    ref_relu_forward(c->r, c->a, conv_out_size(g));
    ref_max_pool_forward_naive(out, c->r, pg);
}

void ref_conv_relu_pool_backward(double *dx, double *dw, double *db, const double *dout,
                                 const RefCache *c)
{
    size_t n = conv_out_size(&c->cg);
    double *dr = dup_zero(n), *da = dup_zero(n);
    ref_max_pool_backward_naive(dr, dout, c->r, &c->pg);
    ref_relu_backward(da, dr, c->a, n);
    ref_conv_backward_naive(dx, dw, db, da, c->x, c->w, &c->cg);
    free(dr);
    free(da);
}

void ref_conv_bn_relu_pool_forward(double *out, RefCache *c, const double *x, const double *w,
                                   const double *b, const double *gamma, const double *beta,
                                   RefBNParam *p, const ConvGeom *g, const PoolGeom *pg)
{
    size_t n = conv_out_size(g);
    *c = (RefCache){.x = x, .w = w, .gamma = gamma, .cg = *g, .eps = p->eps};
    if (pg) c->pg = *pg;
    c->a = dup_zero(n);
    c->bn = dup_zero(n);
    ref_conv_forward_naive(c->a, x, w, b, g);
    ref_batchnorm_forward(c->bn, c->a, gamma, beta, p, g->N, g->F, g->Ho * g->Wo);
    if (!pg) {
        ref_relu_forward(out, c->bn, n);
        return;
    }
    c->r = dup_zero(n);
    ref_relu_forward(c->r, c->bn, n);
    ref_max_pool_forward_naive(out, c->r, pg);
}

void ref_conv_bn_relu_pool_backward(double *dx, double *dw, double *db, double *dgamma,
                                    double *dbeta, const double *dout, const RefCache *c)
{
    const ConvGeom *g = &c->cg;
    size_t n = conv_out_size(g);
    double *dr = dup_zero(n), *dbn = dup_zero(n), *da = dup_zero(n);
    if (c->r) ref_max_pool_backward_naive(dr, dout, c->r, &c->pg);
    else memcpy(dr, dout, n * sizeof *dr);
    ref_relu_backward(dbn, dr, c->bn, n);
    ref_batchnorm_backward(da, dgamma, dbeta, dbn, c->a, c->gamma, c->eps, g->N, g->F,
                           g->Ho * g->Wo);
    ref_conv_backward_naive(dx, dw, db, da, c->x, c->w, g);
    free(dr);
    free(dbn);
    free(da);
}
