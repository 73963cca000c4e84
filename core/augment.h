/* augment.h — training-batch augmentation as pure functions of (seed, epoch, example).
 *
 * Random translation (a crop of the image padded by `pad` pixels on every side, with zeros or
 * a reflection of the border), horizontal flip and cutout (a size x size square set to zero, the
 * mean pixel once the mean image is subtracted, clipped at the border). Every draw is a
 * counter-based hash of (seed, epoch, example index in the dataset), not a stateful generator:
 * the CPU loop, the CUDA kernel and the plain reference draw the very same transform for an
 * example, and a resumed run (same seed, same epoch) sees the very same images.
 *
 * The same structure describes one fixed transform (fixed = 1: no draws, every example gets
 * shift (dy, dx) and flip), which test-time augmentation uses. */
#ifndef NNDL_AUGMENT_H
#define NNDL_AUGMENT_H

#include <stdint.h>

#include "dropout_mask.h"
#include "hd.h"
#include "step_vars.h"

typedef enum PadMode { PAD_ZERO, PAD_REFLECT } PadMode;

typedef struct AugmentConfig {
    int pad;                    /* translation of up to pad pixels each way; 0: none */
    int pad_mode;               /* PadMode: what the shifted image shows past its border */
    int flip;                   /* 1: mirror left-right with probability 1/2 */
    int cutout;                 /* side of the zeroed square; 0: none */
    uint64_t seed, epoch;       /* keys of the draws */
    /* a fixed transform instead of draws (test-time augmentation) */
    int fixed, fixed_dy, fixed_dx, fixed_flip;
    /* NULL: epoch above, and the op's examples are the batch's. Otherwise device StepVars read
     * when the op runs: epoch vars->epoch, the batch's examples from examples[vars->batch_start]
     * (an epoch order), so a recorded step replays with the current ones */
    const StepVars *vars;
} AugmentConfig;

/* What one example gets: output pixel (y, x) shows input pixel (y + dy, x' + dx), where x' is
 * W - 1 - x when flipped; then the square [cy, cy + cutout) x [cx, cx + cutout) is zeroed. */
typedef struct AugmentDraw {
    int dy, dx, flip, cy, cx;
} AugmentDraw;

static inline NNDL_HD int augment_active(const AugmentConfig *a)
{
    return a->fixed || a->pad > 0 || a->flip || a->cutout > 0;
}

/* Resolves a->vars (see AugmentConfig) into a plain config and the batch's example indices. */
static inline NNDL_HD const int *augment_resolve(AugmentConfig *a, const int *examples)
{
    if (!a->vars) return examples;
    a->epoch = (uint64_t)a->vars->epoch;
    if (examples) examples += a->vars->batch_start;
    a->vars = 0;
    return examples;
}

/* Uniform in [0, n) from 64 hashed bits (the bias of the modulo is below 2^-50 for small n). */
static inline NNDL_HD int augment_below(uint64_t h, int n) { return (int)(h % (uint64_t)n); }

static inline NNDL_HD AugmentDraw augment_draw(const AugmentConfig *a, uint64_t example, int H, int W)
{
    AugmentDraw d = {0, 0, 0, 0, 0};
    if (a->fixed) {
        d.dy = a->fixed_dy, d.dx = a->fixed_dx, d.flip = a->fixed_flip, d.cy = H, d.cx = W;
        return d;
    }
    /* a constant apart from dropout's keys, so the two never share a stream */
    uint64_t key = nndl_mix64(nndl_mix64(a->seed ^ 0xA5A5F00DC0FFEE11ull) ^ nndl_mix64(a->epoch) ^ (example << 1));
    int span = 2 * a->pad + 1;
    d.dy = augment_below(nndl_mix64(key + 1), span) - a->pad;
    d.dx = augment_below(nndl_mix64(key + 2), span) - a->pad;
    d.flip = a->flip ? (int)(nndl_mix64(key + 3) >> 63) : 0;
    if (a->cutout > 0) { /* the square's centre anywhere in the image, as DeVries & Taylor */
        d.cy = augment_below(nndl_mix64(key + 4), H) - a->cutout / 2;
        d.cx = augment_below(nndl_mix64(key + 5), W) - a->cutout / 2;
    } else {
        d.cy = H, d.cx = W; /* outside: nothing cut */
    }
    return d;
}

/* The source coordinate of an output coordinate shifted by d along an axis of length n, or -1
 * for a zero pixel. Reflection without repeating the edge (numpy's and PyTorch's "reflect"),
 * valid for shifts below n. */
static inline NNDL_HD int augment_source(int i, int d, int n, int mode)
{
    int s = i + d;
    if (s >= 0 && s < n) return s;
    if (mode == PAD_ZERO) return -1;
    return s < 0 ? -s : 2 * (n - 1) - s;
}

/* Output value at (y, x) of one channel plane `in` (H x W) under draw d. */
static inline NNDL_HD float augment_pixel(const float *in, const AugmentDraw *d, int cutout, int mode, int y,
                                          int x, int H, int W)
{
    if (cutout > 0 && y >= d->cy && y < d->cy + cutout && x >= d->cx && x < d->cx + cutout) return 0.0f;
    int xs = augment_source(d->flip ? W - 1 - x : x, d->dx, W, mode);
    int ys = augment_source(y, d->dy, H, mode);
    return xs < 0 || ys < 0 ? 0.0f : in[ys * W + xs];
}

#endif
