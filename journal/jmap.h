/*  journal/jmap.h - a small hash map from byte strings to a number and an
    optional owned blob, for the journal's in-memory tables: stream names to
    stream slots, and the keys staged in the pending write batch.

    Open addressing with linear probing; deletion shifts the following items
    back, so there are no tombstones. The map owns copies of its keys and
    blobs. Items are stable in memory until they are deleted or the map is
    cleared, even when the table grows.
    Thread: a map belongs to one thread.
*/
#ifndef WEFT_JOURNAL_JMAP_H
#define WEFT_JOURNAL_JMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash; //  hash64 of the key
    int64_t num;   //  the caller's number (a slot, a tag)
    void *blob;    //  the caller's bytes (owned copy), or NULL
    size_t blen;   //  size of blob
    size_t klen;   //  size of key
    uint8_t key[]; //  the key bytes (owned copy)
} jmap_item_t;

typedef struct {
    jmap_item_t **slots; //  table of cap slots, NULL when empty
    size_t cap;          //  0 or a power of two
    size_t count;        //  items in the table
} jmap_t;

//  Makes M an empty map (no allocation until the first put).
void jmap_init (jmap_t *m);

//  Deletes every item and frees the table; M is then empty and reusable.
void jmap_free (jmap_t *m);

//  Deletes every item but keeps the table for reuse.
void jmap_clear (jmap_t *m);

//  Returns the item for KEY, or NULL. Borrowed: valid until it is deleted or
//  the map is cleared.
jmap_item_t *jmap_find (const jmap_t *m, const void *key, size_t klen);

//  Sets KEY to NUM and a copy of BLOB (BLEN bytes; BLOB may be NULL),
//  replacing any previous item. Returns 0, or WEFT_ENOMEM with M unchanged.
int jmap_put (jmap_t *m, const void *key, size_t klen, int64_t num, const void *blob, size_t blen);

//  Deletes KEY if present. Never allocates.
void jmap_del (jmap_t *m, const void *key, size_t klen);

#endif
