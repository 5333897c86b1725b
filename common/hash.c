/*  common/hash.c - see hash.h. */
#include "common/hash.h"

#include <string.h>

uint64_t hash64 (const void *data, size_t len)
{
    const uint8_t *bytes = data;
    uint64_t h = 0xcbf29ce484222325ULL; //  FNV offset basis
    for (size_t i = 0; i < len; i++) {
        h ^= bytes[i];
        h *= 0x100000001b3ULL; //  FNV prime
    }
    //  splitmix64 finalizer: FNV alone leaves low bits poorly mixed
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

uint64_t hash64_str (const char *text)
{
    return hash64 (text, strlen (text));
}
