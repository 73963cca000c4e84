/* cuda_unavailable.c — the "cuda" driver of builds without the CUDA backend (plain `make`'s
 * ./nndl), so that asking for "cuda" is an ordinary, explained failure. The Makefile links either
 * this file or cuda_backend.cu, never both. */
#include <stddef.h>

#include "backend.h"
#include "error.h"

static int unavailable(Backend *be)
{
    (void)be;
    return nndl_fail("cuda: this nndl was built without the CUDA backend (build with `make CUDA=1` "
                     "on a machine with nvcc and a GPU)");
}

static void nothing(Backend *be) { (void)be; }

const BackendDriver cuda_driver = {"cuda", unavailable, nothing};
