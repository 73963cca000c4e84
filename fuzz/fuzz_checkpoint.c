/* fuzz_checkpoint.c — libFuzzer target for the checkpoint reader (net/checkpoint.h).
 *
 * The input is written to a file and given to the two readers `nndl eval` uses:
 * checkpoint_read_info, then checkpoint_load_model into the seed corpus's model. Any file must be
 * loaded or refused with a message, never crash, and a loaded one must give what eval then uses:
 * an input mean of C*H*W floats. Only the public functions are used, so the
 * target does not depend on the file layout. */
#include <stdint.h>
#include <stdlib.h>

#include "backend.h"
#include "checkpoint.h"
#include "checkpoint_model.h"
#include "error.h"
#include "scratch.h"
#include "model.h"

static Model model; /* built once: model_init per execution would dominate the run */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* the backend instance lives as long as the process */
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
    if (!fuzz_scratch_write(path, sizeof path, "input.ckpt", data, size, 0)) abort();
    CheckpointInfo info;
    nndl_clear_error(); /* so expect_message sees each call's own message */
    expect_message(checkpoint_read_info(path, &info));
    float *mean = NULL;
    nndl_clear_error();
    int rc = checkpoint_load_model(&model, &mean, path);
    expect_message(rc);
    /* eval subtracts the mean from every image: it must hold C*H*W floats (ASan checks) */
    volatile float sum = 0;
    for (int i = 0; mean && i < FUZZ_CKPT_C * FUZZ_CKPT_H * FUZZ_CKPT_W; i++) sum += mean[i];
    (void)sum;
    free(mean);
    return 0;
}
