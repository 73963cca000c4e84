/* ref_augment.c — the augmentation written the long way, as a recipe describes it: pad the image
 * (zeros or reflection), crop the window the draw picks, mirror it, cut a square out. Shares only
 * the draws with the backends (augment_draw), not their index arithmetic. */
#include <stdlib.h>

#include "augment.h"
#include "reference.h"

/* Index of padded coordinate i (i - p in image coordinates) in an axis of length n, reflecting
 * without repeating the edge; -1 for zero padding outside. */
static int padded_index(int i, int p, int n, int mode)
{
    int s = i - p;
    if (s >= 0 && s < n) return s;
    if (mode == PAD_ZERO) return -1;
    while (s < 0 || s >= n) s = s < 0 ? -s : 2 * (n - 1) - s;
    return s;
}

void ref_augment(double *out, const double *in, const int *examples, int N, int C, int H, int W,
                 const AugmentConfig *a)
{
    for (int n = 0; n < N; n++) {
        AugmentDraw d = augment_draw(a, examples ? (uint64_t)examples[n] : 0, H, W);
        int p = abs(d.dy) > abs(d.dx) ? abs(d.dy) : abs(d.dx);
        int PH = H + 2 * p, PW = W + 2 * p;
        double *padded = malloc((size_t)PH * PW * sizeof *padded), *crop = malloc((size_t)H * W * sizeof *crop);
        for (int c = 0; c < C; c++) {
            const double *img = in + ((size_t)n * C + c) * H * W;
            double *o = out + ((size_t)n * C + c) * H * W;
            for (int i = 0; i < PH; i++)
                for (int j = 0; j < PW; j++) {
                    int si = padded_index(i, p, H, a->pad_mode), sj = padded_index(j, p, W, a->pad_mode);
                    padded[i * PW + j] = si < 0 || sj < 0 ? 0.0 : img[si * W + sj];
                }
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) crop[y * W + x] = padded[(y + p + d.dy) * PW + x + p + d.dx];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) o[y * W + x] = crop[y * W + (d.flip ? W - 1 - x : x)];
            for (int y = d.cy; a->cutout > 0 && y < d.cy + a->cutout; y++)
                for (int x = d.cx; x < d.cx + a->cutout; x++)
                    if (y >= 0 && y < H && x >= 0 && x < W) o[y * W + x] = 0.0;
        }
        free(padded), free(crop);
    }
}
