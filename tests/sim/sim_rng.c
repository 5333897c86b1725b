/*  tests/sim/sim_rng.c - xoshiro256** seeded by splitmix64 (see sim_rng.h). */
#include <string.h>

#include "sim_rng.h"

//  Advances the splitmix64 counter and returns its mixed value.
uint64_t sim_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

//  Rotates X left by K bits.
static uint64_t rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

//  Seeds the four state words from the seed mixed with the stream number.
void sim_rng_seed (sim_rng_t *rng, uint64_t seed, uint64_t stream)
{
    uint64_t mix = seed;
    uint64_t st = sim_splitmix64 (&mix) ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        rng->s[i] = sim_splitmix64 (&st);
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

//  The xoshiro256** step.
uint64_t sim_rng_next (sim_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl (s[3], 45);
    return result;
}

//  Rejection sampling over the largest multiple of the span.
int64_t sim_rng_range (sim_rng_t *rng, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0) //  the whole 64-bit range
        return (int64_t)sim_rng_next (rng);
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t r;
    do
        r = sim_rng_next (rng);
    while (r >= limit);
    return (int64_t)((uint64_t)lo + r % span);
}

//  Compares 53 random bits against P.
bool sim_rng_chance (sim_rng_t *rng, double p)
{
    if (p <= 0)
        return false;
    if (p >= 1)
        return true;
    return (double)(sim_rng_next (rng) >> 11) * 0x1.0p-53 < p;
}

//  Copies whole 64-bit draws, then a part of one.
void sim_rng_bytes (sim_rng_t *rng, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        uint64_t r = sim_rng_next (rng);
        size_t n = len < sizeof r ? len : sizeof r;
        memcpy (p, &r, n);
        p += n;
        len -= n;
    }
}
