/* cuda_unavailable.c — linked into builds without the CUDA backend (plain `make`), so that asking
 * for "cuda" is an ordinary, explained failure. */
#include <stddef.h>

#include "backend.h"
#include "error.h"

const Backend *cuda_backend_probe(void)
{
    nndl_fail("cuda: this nndl was built without the CUDA backend (build with `make CUDA=1` "
              "on a machine with nvcc and a GPU)");
    return NULL;
}
