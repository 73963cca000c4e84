/* cpu_augment.c — training-batch augmentation (the formulas of core/augment.h), one image per
 * loop iteration. */
#include "augment.h"
#include "cpu_ops.h"
#include "cpu_parallel.h"

void cpu_augment(const Backend *be, float *out, const float *in, const int *examples, int N, int C, int H, int W,
                 const AugmentConfig *config)
{
    (void)be;
    AugmentConfig resolved = *config, *a = &resolved;
    examples = augment_resolve(a, examples);
    size_t plane = (size_t)H * W;
#pragma omp parallel for if ((size_t)N * C * plane > CPU_PARALLEL_MIN)
    for (int n = 0; n < N; n++) {
        AugmentDraw d = augment_draw(a, examples ? (uint64_t)examples[n] : 0, H, W);
        for (int c = 0; c < C; c++) {
            const float *src = in + ((size_t)n * C + c) * plane;
            float *dst = out + ((size_t)n * C + c) * plane;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) dst[y * W + x] = augment_pixel(src, &d, a->cutout, a->pad_mode, y, x, H, W);
        }
    }
}
