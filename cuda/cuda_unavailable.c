/* cuda_unavailable.c — linked while there is no CUDA backend in the build, so that asking for
 * "cuda" is an ordinary, explained failure. */
#include <stddef.h>

#include "backend.h"
#include "error.h"

const Backend *cuda_backend_probe(void)
{
    nndl_fail("cuda: no CUDA backend in this build (the layer kernels are not written yet; "
              "the CPU backend is used instead)");
    return NULL;
}
