/* fuzz_safetensors.c — libFuzzer target for the safetensors reader (net/safetensors.h), which
 * reads files from other tools (`nndl train --init-from`, nndl_model_open).
 *
 * The input is written to a file and given to safetensors_read_info, then to
 * safetensors_load_model into the checkpoint target's small model, and to
 * safetensors_read_tensor for one of its names. Any file must be loaded or refused with a
 * message, never crash; a loaded mean holds C*H*W floats. */
#include <stdint.h>
#include <stdlib.h>

#include "backend.h"
#include "checkpoint_model.h"
#include "error.h"
#include "model.h"
#include "safetensors.h"
#include "scratch.h"

static Model model; /* built once: model_init per execution would dominate the run */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (model_init(&model, backend_create("cpu"), FUZZ_CKPT_SPEC, FUZZ_CKPT_C, FUZZ_CKPT_H, FUZZ_CKPT_W,
                   1e-2f, 0, LOSS_SOFTMAX, 1, 4) != NNDL_OK)
        abort();
    return 0;
}

static void expect_message(int rc)
{
    if (rc != NNDL_OK && nndl_last_error()[0] == '\0') abort(); /* a refusal always says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    if (!fuzz_scratch_write(path, sizeof path, "input.safetensors", data, size, 0)) abort();
    WeightsInfo info;
    nndl_clear_error();
    expect_message(safetensors_read_info(path, &info));
    float *mean = NULL, *values = NULL;
    nndl_clear_error();
    expect_message(safetensors_load_model(&model, &mean, path));
    volatile float sum = 0;
    for (int i = 0; mean && i < FUZZ_CKPT_C * FUZZ_CKPT_H * FUZZ_CKPT_W; i++) sum += mean[i];
    free(mean);
    int64_t shape[8];
    int ndim = 0;
    nndl_clear_error();
    int rc = safetensors_read_tensor(path, "layers.0.conv.weight", shape, &ndim, &values);
    expect_message(rc);
    size_t n = 1;
    for (int d = 0; rc == NNDL_OK && d < ndim; d++) n *= (size_t)shape[d];
    for (size_t i = 0; values && i < n; i++) sum += values[i];
    (void)sum;
    free(values);
    return 0;
}
