/* geometry.c — shape validation for conv and max pool (see geometry.h). */
#include "geometry.h"

#include "error.h"

/* One output size along an axis, or -1 when the window does not fit (a whole number of times,
 * unless floor: then the input left over after the last window is left out). */
static int window_count(int in, int pad, int win, int stride, int floor)
{
    int span = in + 2 * pad - win;
    if (span < 0 || (!floor && span % stride != 0)) return -1;
    return 1 + span / stride;
}

static int conv_geom(ConvGeom *g, int N, int C, int H, int W, int F, int w_channels, int HH, int WW, int stride,
                     int pad, int floor)
{
    if (N <= 0 || C <= 0 || H <= 0 || W <= 0)
        return nndl_fail("conv: input shape (%d, %d, %d, %d) has a zero or negative dimension",
                         N, C, H, W);
    if (F <= 0 || w_channels <= 0 || HH <= 0 || WW <= 0)
        return nndl_fail("conv: filter shape (%d, %d, %d, %d) has a zero or negative dimension",
                         F, w_channels, HH, WW);
    if (w_channels != C)
        return nndl_fail("conv: input has %d channels but filters (%d, %d, %d, %d) expect %d",
                         C, F, w_channels, HH, WW, w_channels);
    if (stride <= 0 || pad < 0)
        return nndl_fail("conv: stride %d must be positive and pad %d non-negative", stride, pad);
    int Ho = window_count(H, pad, HH, stride, floor), Wo = window_count(W, pad, WW, stride, floor);
    if ((Ho < 0 || Wo < 0) && floor)
        return nndl_fail("conv: filter %dx%d with pad %d is larger than input %dx%d (H + 2*pad must be at "
                         "least the filter size)", HH, WW, pad, H, W);
    if (Ho < 0 || Wo < 0)
        return nndl_fail("conv: filter %dx%d with stride %d and pad %d does not fit input %dx%d "
                         "(H + 2*pad - HH and W + 2*pad - WW must be non-negative multiples of "
                         "the stride)", HH, WW, stride, pad, H, W);
    *g = (ConvGeom){N, C, H, W, F, HH, WW, stride, pad, Ho, Wo};
    return NNDL_OK;
}

int conv_geom_init(ConvGeom *g, int N, int C, int H, int W, int F, int w_channels, int HH,
                   int WW, int stride, int pad)
{
    return conv_geom(g, N, C, H, W, F, w_channels, HH, WW, stride, pad, 0);
}

int conv_geom_init_floor(ConvGeom *g, int N, int C, int H, int W, int F, int w_channels, int HH,
                         int WW, int stride, int pad)
{
    return conv_geom(g, N, C, H, W, F, w_channels, HH, WW, stride, pad, 1);
}

static int pool_geom(PoolGeom *g, int N, int C, int H, int W, int ph, int pw, int stride, int floor)
{
    if (N <= 0 || C <= 0 || H <= 0 || W <= 0)
        return nndl_fail("max_pool: input shape (%d, %d, %d, %d) has a zero or negative "
                         "dimension", N, C, H, W);
    if (ph <= 0 || pw <= 0 || stride <= 0)
        return nndl_fail("max_pool: pool %dx%d and stride %d must be positive", ph, pw, stride);
    int Ho = window_count(H, 0, ph, stride, floor), Wo = window_count(W, 0, pw, stride, floor);
    if ((Ho < 0 || Wo < 0) && floor)
        return nndl_fail("max_pool: pool %dx%d is larger than input %dx%d", ph, pw, H, W);
    if (Ho < 0 || Wo < 0)
        return nndl_fail("max_pool: pool %dx%d with stride %d does not fit input %dx%d "
                         "(H - ph and W - pw must be non-negative multiples of the stride)",
                         ph, pw, stride, H, W);
    *g = (PoolGeom){N, C, H, W, ph, pw, stride, Ho, Wo};
    return NNDL_OK;
}

int pool_geom_init(PoolGeom *g, int N, int C, int H, int W, int ph, int pw, int stride)
{
    return pool_geom(g, N, C, H, W, ph, pw, stride, 0);
}

int pool_geom_init_floor(PoolGeom *g, int N, int C, int H, int W, int ph, int pw, int stride)
{
    return pool_geom(g, N, C, H, W, ph, pw, stride, 1);
}

int pool_geom_disjoint(const PoolGeom *g) { return g->ph == g->stride && g->pw == g->stride; }

int pool_geom_tiles(const PoolGeom *g) { return pool_geom_disjoint(g) && g->H % g->ph == 0 && g->W % g->pw == 0; }

int affine_check(int N, int x_row_size, int w_rows, int M)
{
    if (N <= 0 || x_row_size <= 0 || w_rows <= 0 || M <= 0)
        return nndl_fail("affine: input (%d, %d) and weights (%d, %d) must have positive sizes",
                         N, x_row_size, w_rows, M);
    if (x_row_size != w_rows)
        return nndl_fail("affine: input (%d, %d) does not match weights (%d, %d): each input row "
                         "must have as many values as the weights have rows", N, x_row_size,
                         w_rows, M);
    return NNDL_OK;
}
