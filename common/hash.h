/*  common/hash.h - stable 64-bit hashing (same result on every platform and
    every run), for cluster ids and the consistent-hash ring. Thread: pure. */
#ifndef WEFT_COMMON_HASH_H
#define WEFT_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

//  FNV-1a 64 of LEN bytes, finished with a 64-bit avalanche mix so that
//  nearby inputs ("node-1#0", "node-1#1") land far apart.
uint64_t hash64 (const void *data, size_t len);

//  The 64-bit avalanche mix hash64 ends with (splitmix64's finalizer): a
//  bijection whose every output bit depends on every input bit.
uint64_t hash64_mix (uint64_t x);

//  hash64 of a NUL-terminated string.
uint64_t hash64_str (const char *text);

#endif
