/*  tests/sim/sim_rng.h - the simulator's seeded generator: xoshiro256**,
    seeded through splitmix64. No global state: every stream is a value, so
    the network, the fault plan and each host incarnation draw from their own
    stream and a change in one never shifts the others.

    Thread: a generator belongs to one thread.
*/
#ifndef WEFT_SIM_RNG_H
#define WEFT_SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4]; //  xoshiro256** state, never all zero
} sim_rng_t;

//  Seeds RNG from SEED and a STREAM number (distinct streams of one seed
//  are independent).
void sim_rng_seed (sim_rng_t *rng, uint64_t seed, uint64_t stream);

//  The next 64 random bits.
uint64_t sim_rng_next (sim_rng_t *rng);

//  A uniform integer in [LO, HI] (HI >= LO), without modulo bias.
int64_t sim_rng_range (sim_rng_t *rng, int64_t lo, int64_t hi);

//  True with probability P (0 never, 1 always).
bool sim_rng_chance (sim_rng_t *rng, double p);

//  Fills LEN bytes at BUF.
void sim_rng_bytes (sim_rng_t *rng, void *buf, size_t len);

//  One step of splitmix64 on *STATE: a good 64-bit mix of a counter.
uint64_t sim_splitmix64 (uint64_t *state);

#endif
