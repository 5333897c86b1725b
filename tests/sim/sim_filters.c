/*  tests/sim/sim_filters.c - prefix filter sets of SUB sockets and of the
    XPUB's view of each subscriber (see sim_int.h). A list, in the order
    filters were added; a duplicate counts twice, as in ZeroMQ. */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

//  Appends a copy of PREFIX; 0 or -1 when out of memory.
int sim_filters_add (sim_filters_t *set, const void *prefix, size_t len)
{
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        unsigned char **items = realloc (set->items, cap * sizeof *items);
        if (!items)
            return -1;
        set->items = items;
        size_t *lens = realloc (set->lens, cap * sizeof *lens);
        if (!lens)
            return -1;
        set->lens = lens;
        set->cap = cap;
    }
    unsigned char *copy = malloc (len + 1);
    if (!copy)
        return -1;
    if (len)
        memcpy (copy, prefix, len);
    set->items[set->len] = copy;
    set->lens[set->len++] = len;
    return 0;
}

//  Removes the first filter equal to PREFIX, keeping the order of the others.
bool sim_filters_remove (sim_filters_t *set, const void *prefix, size_t len)
{
    for (size_t i = 0; i < set->len; i++) {
        if (set->lens[i] != len || (len && memcmp (set->items[i], prefix, len) != 0))
            continue;
        free (set->items[i]);
        memmove (&set->items[i], &set->items[i + 1], (set->len - i - 1) * sizeof *set->items);
        memmove (&set->lens[i], &set->lens[i + 1], (set->len - i - 1) * sizeof *set->lens);
        set->len--;
        return true;
    }
    return false;
}

//  True when some filter is a prefix of DATA (LEN bytes).
bool sim_filters_match (const sim_filters_t *set, const void *data, size_t len)
{
    for (size_t i = 0; i < set->len; i++)
        if (set->lens[i] <= len &&
            (set->lens[i] == 0 || !memcmp (set->items[i], data, set->lens[i])))
            return true;
    return false;
}

//  Frees every filter and the arrays.
void sim_filters_clear (sim_filters_t *set)
{
    for (size_t i = 0; i < set->len; i++)
        free (set->items[i]);
    free (set->items);
    free (set->lens);
    *set = (sim_filters_t){0};
}
