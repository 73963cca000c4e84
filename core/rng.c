/* rng.c — xoshiro256** seeded through splitmix64 (see rng.h). */
#include "rng.h"

#include <math.h>

#include "dropout_mask.h"

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(Rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = nndl_mix64(seed + (uint64_t)i * 0x632BE59BD9B4E019ull);
}

uint64_t rng_next(Rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

double rng_gaussian(Rng *r)
{   /* one value per call keeps the state a pure function of the draw count */
    double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r); /* u1 in (0, 1] so log is finite */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint32_t rng_below(Rng *r, uint32_t n)
{   /* rejection of the short last bucket keeps every value equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_next(r); while (x >= limit);
    return (uint32_t)(x % n);
}

void rng_shuffle(Rng *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, (uint32_t)i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
