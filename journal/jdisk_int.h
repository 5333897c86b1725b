/*  journal/jdisk_int.h - the memory disk's internals, shared by jdisk.c
    (the versioned skip list, crash, sweep) and store_mem.c (the store ops
    over it). Not a contract: see store_mem.h.

    Versions. Every committed batch gets the next version number; each op of
    it is one node (key, version, value or tombstone). Nodes are ordered by
    key (bytewise), then by version, newest first, so the versions of a key
    are adjacent. A reader at snapshot S sees, for each key, its newest node
    with version <= S, unless that node is a tombstone. Batches with version
    <= durable survive a crash; the others are the unsynced suffix.
*/
#ifndef WEFT_JOURNAL_JDISK_INT_H
#define WEFT_JOURNAL_JDISK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/store_mem.h"

#define JDISK_HEIGHT 20 //  tallest node: enough for 4^20 keys

//  One version of one key. The key, then the value, follow next[].
typedef struct jnode {
    uint64_t ver;         //  the batch that wrote it
    size_t klen;          //  key size
    size_t vlen;          //  value size (0 for a tombstone)
    uint8_t *key;         //  the key (inside this allocation); the value follows it
    bool del;             //  a tombstone: the batch deleted the key
    int height;           //  levels of next[] (1..JDISK_HEIGHT)
    struct jnode *next[]; //  successor at each level
} jnode_t;

//  A snapshot some reader holds: versions it sees are not swept.
typedef struct jsnap {
    uint64_t ver;       //  the version read
    struct jsnap *prev; //  list of the disk's snapshots
    struct jsnap *next; //  ...
} jsnap_t;

//  One op of a batch: its key and value are in the batch's arena.
typedef struct {
    size_t off;  //  key offset in the arena; the value follows the key
    size_t klen; //  key size
    size_t vlen; //  value size
    bool del;    //  a delete
} jop_t;

//  A batch of the memory backend.
struct store_batch {
    jop_t *ops;     //  the ops, in order
    size_t nops;    //  used entries of ops
    size_t cap;     //  allocated entries of ops
    uint8_t *arena; //  keys and values
    size_t used;    //  used bytes of arena
    size_t acap;    //  allocated bytes of arena
    bool nomem;     //  an op could not be recorded: writing it fails
};

struct jdisk {
    jnode_t *head;    //  the skip list's head (JDISK_HEIGHT levels, no key)
    int height;       //  levels in use
    uint64_t ver;     //  version of the last committed batch
    uint64_t durable; //  batches up to this version survive a crash
    size_t nodes;     //  nodes in the list
    size_t sweep_at;  //  sweep old versions when nodes reaches this
    int fail_err;     //  jdisk_fail_writes (): writes and opens fail with this
    bool locked;      //  a store has the disk open
    jsnap_t *snaps;   //  live snapshots (iterators)
};

//  Returns <0, 0, >0 as node N's key is below, equal to or above KEY.
int jnode_keycmp (const jnode_t *n, const void *key, size_t klen);

//  The first node at or after (KEY, VER) in list order (key ascending,
//  version descending); NULL when none. VER 0 gives the first node of the
//  next key (no node has version 0).
jnode_t *jdisk_lower_bound (const jdisk_t *d, const void *key, size_t klen, uint64_t ver);

//  The last node whose key is below KEY (KEY NULL: the last node), or NULL.
jnode_t *jdisk_last_below (const jdisk_t *d, const void *key, size_t klen);

//  Applies batch B as the next version, all of it or nothing; SYNC: it and
//  everything before it become durable. Returns 0 or WEFT_ENOMEM.
int jdisk_apply (jdisk_t *d, const store_batch_t *b, bool sync);

//  Registers / unregisters a reader's snapshot S (at the current version).
void jdisk_snap_add (jdisk_t *d, jsnap_t *s);
void jdisk_snap_del (jdisk_t *d, jsnap_t *s);

#endif
