/* cuda_unavailable.c — linked instead of the CUDA backend when the build had no nvcc, so that
 * asking for "cuda" is an ordinary, explained failure. */
#include <stddef.h>

#include "backend.h"
#include "error.h"

const Backend *cuda_backend_probe(void)
{
    nndl_fail("cuda: this nndl was built without CUDA (no nvcc found at build time; "
              "rebuild with CUDA=1 and nvcc on PATH)");
    return NULL;
}
