// k_data.cu — the training data on the device: minibatches gathered by index from the examples
// uploaded once (uint8 pixels converted and mean-subtracted here, with the host preprocessing's
// arithmetic, or floats), correct predictions counted where the scores are, and the end of a step
// that advances the device's StepVars (so that a recorded step replays with the next values).
#include "cuda_ops.h"

// One thread per value of the batch: x[i][j] = src[order[p]][j], p = base + *start + i.
__global__ void gather_kernel(float *x, int *y, DeviceExamples src, const int *order, const int32_t *start, int base,
                              int n)
{
    size_t total = (size_t)n * src.size;
    int first = base + (start ? *start : 0);
    for (size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x; k < total; k += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(k / src.size);
        size_t j = k % src.size;
        int p = first + i, e = order ? order[p] : p;
        size_t from = (size_t)e * src.size + j;
        // (float)byte - mean: one float subtraction, as data/cifar10.c's preprocessing does it
        x[k] = src.u8 ? (float)((const unsigned char *)src.x)[from] - src.mean[j] : ((const float *)src.x)[from];
        if (j == 0 && y) y[i] = src.y[e];
    }
}

void cuda_gather(const Backend *, float *x, int *y, const DeviceExamples *src, const int *order, const int32_t *start,
                 int base, int n)
{
    NNDL_LAUNCH(gather_kernel, cuda_grid((size_t)n * src->size), CUDA_BLOCK, 0, x, y, *src, order, start, base, n);
}

// One block (a batch's rows are few), so that overwriting and counting need no second launch:
// one thread per row finds the first maximum, as model_predict takes it; integer adds are exact
// in any order.
__global__ void count_correct_kernel(int *count, const float *scores, const int *y, int N, int C, int accumulate)
{
    __shared__ int block_count;
    if (threadIdx.x == 0) block_count = 0;
    __syncthreads();
    for (int n = threadIdx.x; n < N; n += blockDim.x) {
        const float *row = scores + (size_t)n * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (row[c] > row[best]) best = c;
        if (best == y[n]) atomicAdd(&block_count, 1);
    }
    __syncthreads();
    if (threadIdx.x == 0) *count = (accumulate ? *count : 0) + block_count;
}

void cuda_count_correct(const Backend *, int *count, const float *scores, const int *y, int N, int C, int accumulate)
{
    NNDL_LAUNCH(count_correct_kernel, 1, CUDA_BLOCK, 0, count, scores, y, N, C, accumulate);
}

__global__ void step_finish_kernel(StepVars *v, double *loss_slots, const double *loss, int batch)
{
    loss_slots[v->loss_slot] = *loss;
    v->iteration++, v->loss_slot++, v->t++, v->batch_start += batch;
    if (v->lr_table) { // the next step's rates, as the host's schedule gives them
        int64_t k = v->iteration - v->lr_first;
        float base = v->lr_table[k < 0 ? 0 : k < v->lr_n ? k : v->lr_n - 1];
        v->learning_rate[0] = base * v->lr_mult[0], v->learning_rate[1] = base * v->lr_mult[1];
    }
}

void cuda_step_finish(const Backend *, StepVars *v, double *loss_slots, const double *loss, int batch)
{
    NNDL_LAUNCH(step_finish_kernel, 1, 1, 0, v, loss_slots, loss, batch);
}
