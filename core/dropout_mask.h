/* dropout_mask.h — the dropout keep/drop decision as a pure function of (seed, step, index).
 *
 * A counter-based hash instead of a stateful generator: forward and backward recompute the same
 * mask without storing it, and the CPU, the reference and the CUDA kernels draw the very same
 * mask, so cross-device tests compare dropout exactly. The seed's p is the probability of KEEPING
 * a unit (inverted dropout: kept units are scaled by 1/p). */
#ifndef NNDL_DROPOUT_MASK_H
#define NNDL_DROPOUT_MASK_H

#include <stdint.h>

#include "hd.h"

static inline NNDL_HD uint64_t nndl_mix64(uint64_t z)
{   /* splitmix64 finaliser: every input bit affects every output bit */
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 1 when unit `index` is kept at training step `step`, with probability p_keep. */
static inline NNDL_HD int dropout_keep(uint64_t seed, uint64_t step, uint64_t index, float p_keep)
{
    uint64_t h = nndl_mix64(nndl_mix64(seed ^ nndl_mix64(step)) + index);
    float u = (float)(h >> 40) * (1.0f / 16777216.0f); /* 24 bits: exact in float, in [0, 1) */
    return u < p_keep;
}

#endif
