/* fuzz_model_spec.c — libFuzzer target for the layer spec parser (net/model_spec.h).
 *
 * Any text must be accepted or refused with a message, never crash; and every accepted spec must
 * survive parse -> model_spec_format -> parse with the same layers, since the formatted text is
 * what checkpoints store and compare. A mismatch aborts so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model_spec.h"

/* The parser refuses specs whose canonical text does not fit MODEL_SPEC_MAX; twice that leaves
 * room to see a violation of that promise instead of checking a cut text. */
#define FORMAT_ROOM (2 * MODEL_SPEC_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    static ModelSpec first, second; /* 2.6 KB each: off the stack */
    nndl_clear_error(); /* so the check below sees this call's message */
    int rc = model_spec_parse(&first, text);
    free(text);
    if (rc != NNDL_OK) {
        if (nndl_last_error()[0] == '\0') abort(); /* a refusal always says why */
        return 0;
    }
    if (first.n < 1 || first.n > MODEL_MAX_LAYERS) abort();
    char canonical[FORMAT_ROOM];
    model_spec_format(&first, canonical, sizeof canonical);
    if (strlen(canonical) >= MODEL_SPEC_MAX) abort();
    if (model_spec_parse(&second, canonical) != NNDL_OK) {
        fprintf(stderr, "canonical spec '%s' refused: %s\n", canonical, nndl_last_error());
        abort();
    }
    if (second.n != first.n) abort();
    for (int i = 0; i < first.n; i++)
        if (!layer_spec_equal(&first.layers[i], &second.layers[i])) {
            fprintf(stderr, "layer %d differs after '%s'\n", i, canonical);
            abort();
        }
    return 0;
}
