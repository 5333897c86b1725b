/*  common/hash.c - see hash.h. */
#include "common/hash.h"

#include <string.h>

uint64_t hash64_mix (uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t hash64 (const void *data, size_t len)
{
    const uint8_t *bytes = data;
    uint64_t h = 0xcbf29ce484222325ULL; //  FNV offset basis
    for (size_t i = 0; i < len; i++) {
        h ^= bytes[i];
        h *= 0x100000001b3ULL; //  FNV prime
    }
    //  FNV alone leaves low bits poorly mixed
    return hash64_mix (h);
}

uint64_t hash64_str (const char *text)
{
    return hash64 (text, strlen (text));
}
