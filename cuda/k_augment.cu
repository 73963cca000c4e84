// k_augment.cu — training-batch augmentation on the GPU: one thread per output value, each
// recomputing its image's draw from (seed, epoch, example) with the formulas the CPU uses
// (core/augment.h), so both devices build the very same batch. The epoch and the batch's place in
// the epoch order may be read from device StepVars (AugmentConfig.vars): a recorded step.
#include "cuda_ops.h"

#include "augment.h"

__global__ void augment_kernel(float *out, const float *in, const int *examples, int N, int C, int H, int W,
                               AugmentConfig a)
{
    size_t plane = (size_t)H * W, total = (size_t)N * C * plane;
    examples = augment_resolve(&a, examples);
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t image = i / plane;
        int n = (int)(image / C), y = (int)(i % plane / W), x = (int)(i % W);
        AugmentDraw d = augment_draw(&a, examples ? (uint64_t)examples[n] : 0, H, W);
        out[i] = augment_pixel(in + image * plane, &d, a.cutout, a.pad_mode, y, x, H, W);
    }
}

void cuda_augment(const Backend *, float *out, const float *in, const int *examples, int N, int C, int H, int W,
                  const AugmentConfig *a)
{
    size_t total = (size_t)N * C * H * W;
    NNDL_LAUNCH(augment_kernel, cuda_grid(total), CUDA_BLOCK, 0, out, in, examples, N, C, H, W, *a);
}

__global__ void axpby_kernel(float *y, float a, const float *x, float b, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = a * x[i] + b * y[i];
}

void cuda_axpby(const Backend *, float *y, float a, const float *x, float b, size_t n)
{
    NNDL_LAUNCH(axpby_kernel, cuda_grid(n), CUDA_BLOCK, 0, y, a, x, b, n);
}
