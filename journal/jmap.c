/*  journal/jmap.c - see jmap.h. */
#include "journal/jmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "weft.h"

#define JMAP_MIN_CAP 16

//  Makes M an empty map.
void jmap_init (jmap_t *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

//  Frees one item and its blob.
static void s_item_free (jmap_item_t *item)
{
    free (item->blob);
    free (item);
}

//  Deletes every item, keeping the table.
void jmap_clear (jmap_t *m)
{
    for (size_t i = 0; i < m->cap && m->count; i++)
        if (m->slots[i]) {
            s_item_free (m->slots[i]);
            m->slots[i] = NULL;
            m->count--;
        }
    m->count = 0;
}

//  Deletes every item and the table.
void jmap_free (jmap_t *m)
{
    jmap_clear (m);
    free (m->slots);
    jmap_init (m);
}

//  Returns the slot holding KEY, or the empty slot where it would go.
//  The table must exist and have at least one empty slot.
static size_t s_probe (const jmap_t *m, const void *key, size_t klen, uint64_t hash)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)hash & mask;
    while (m->slots[i]) {
        const jmap_item_t *item = m->slots[i];
        if (item->hash == hash && item->klen == klen && memcmp (item->key, key, klen) == 0)
            break;
        i = (i + 1) & mask;
    }
    return i;
}

//  Returns the item for KEY, or NULL.
jmap_item_t *jmap_find (const jmap_t *m, const void *key, size_t klen)
{
    if (m->count == 0)
        return NULL;
    return m->slots[s_probe (m, key, klen, hash64 (key, klen))];
}

//  Moves every item into a table of NEWCAP slots. Returns 0 or WEFT_ENOMEM.
static int s_resize (jmap_t *m, size_t newcap)
{
    jmap_item_t **slots = calloc (newcap, sizeof *slots);
    if (!slots)
        return WEFT_ENOMEM;
    jmap_t grown = {.slots = slots, .cap = newcap, .count = m->count};
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i]) {
            jmap_item_t *item = m->slots[i];
            grown.slots[s_probe (&grown, item->key, item->klen, item->hash)] = item;
        }
    free (m->slots);
    *m = grown;
    return 0;
}

//  Sets KEY to NUM and a copy of BLOB, replacing any previous item.
int jmap_put (jmap_t *m, const void *key, size_t klen, int64_t num, const void *blob, size_t blen)
{
    if ((m->count + 1) * 4 > m->cap * 3) {
        int rc = s_resize (m, m->cap ? m->cap * 2 : JMAP_MIN_CAP);
        if (rc)
            return rc;
    }
    void *copy = NULL;
    if (blob && blen) {
        if (!(copy = malloc (blen)))
            return WEFT_ENOMEM;
        memcpy (copy, blob, blen);
    }
    uint64_t hash = hash64 (key, klen);
    size_t i = s_probe (m, key, klen, hash);
    jmap_item_t *item = m->slots[i];
    if (!item) {
        if (!(item = malloc (sizeof *item + klen))) {
            free (copy);
            return WEFT_ENOMEM;
        }
        item->hash = hash;
        item->klen = klen;
        memcpy (item->key, key, klen);
        item->blob = NULL;
        m->slots[i] = item;
        m->count++;
    }
    free (item->blob);
    item->blob = copy;
    item->blen = copy ? blen : 0;
    item->num = num;
    return 0;
}

//  Deletes KEY, then moves back the items of the same run that would no
//  longer be found past the hole (backward-shift deletion).
void jmap_del (jmap_t *m, const void *key, size_t klen)
{
    if (m->count == 0)
        return;
    size_t mask = m->cap - 1;
    size_t hole = s_probe (m, key, klen, hash64 (key, klen));
    if (!m->slots[hole])
        return;
    s_item_free (m->slots[hole]);
    m->slots[hole] = NULL;
    m->count--;
    for (size_t i = (hole + 1) & mask; m->slots[i]; i = (i + 1) & mask) {
        size_t home = (size_t)m->slots[i]->hash & mask;
        //  The item at I may fill the hole if its home is not in (hole, i].
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            m->slots[i] = NULL;
            hole = i;
        }
    }
}
