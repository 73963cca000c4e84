/* rng.h — the one seeded host generator (xoshiro256**) used for weight init, shuffles, subsamples.
 *
 * Weights are drawn on the host and then uploaded, so a seed gives the same model on every
 * device. The state is a plain struct so checkpoints can save and restore it exactly. */
#ifndef NNDL_RNG_H
#define NNDL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct Rng { uint64_t s[4]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);           /* [0, 1) with 53 random bits */
double rng_gaussian(Rng *r);          /* standard normal (Box-Muller) */
uint32_t rng_below(Rng *r, uint32_t n); /* uniform integer in [0, n), unbiased */
void rng_shuffle(Rng *r, int *a, size_t n);

#endif
