/*  journal/jdisk.c - the memory disk: a versioned skip list in bytewise key
    order, with the crash model of store_mem.h. See jdisk_int.h for the
    versions; the store ops over it are in store_mem.c. */
#include "journal/jdisk_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "weft.h"

#define JDISK_SWEEP_MIN 1024 //  never sweep below this many nodes

/* ---------------------------------------------------------------------------
   The skip list
*/

//  Returns <0, 0, >0 as N's key is below, equal to or above KEY.
int jnode_keycmp (const jnode_t *n, const void *key, size_t klen)
{
    size_t common = n->klen < klen ? n->klen : klen;
    int c = common ? memcmp (n->key, key, common) : 0;
    if (c)
        return c;
    return n->klen < klen ? -1 : n->klen > klen;
}

//  Returns <0, 0, >0 as N is before, at or after (KEY, VER) in list order.
static int s_cmp (const jnode_t *n, const void *key, size_t klen, uint64_t ver)
{
    int c = jnode_keycmp (n, key, klen);
    if (c)
        return c;
    return n->ver > ver ? -1 : n->ver < ver;
}

//  Finds (KEY, VER): stores in UPDATE[l] the last node before it at each
//  level; returns the first node at or after it.
static jnode_t *s_search (const jdisk_t *d, const void *key, size_t klen, uint64_t ver,
                          jnode_t **update)
{
    jnode_t *x = d->head;
    for (int l = d->height - 1; l >= 0; l--) {
        while (x->next[l] && s_cmp (x->next[l], key, klen, ver) < 0)
            x = x->next[l];
        if (update)
            update[l] = x;
    }
    return x->next[0];
}

//  The first node at or after (KEY, VER).
jnode_t *jdisk_lower_bound (const jdisk_t *d, const void *key, size_t klen, uint64_t ver)
{
    return s_search (d, key, klen, ver, NULL);
}

//  The last node whose key is below KEY (NULL: the last node).
jnode_t *jdisk_last_below (const jdisk_t *d, const void *key, size_t klen)
{
    jnode_t *x = d->head;
    for (int l = d->height - 1; l >= 0; l--)
        while (x->next[l] && (!key || jnode_keycmp (x->next[l], key, klen) < 0))
            x = x->next[l];
    return x == d->head ? NULL : x;
}

//  The height of a node for KEY at VER: 1 + one level per 2 zero bits of a
//  hash (p = 1/4), so the same history always builds the same list.
static int s_height (const void *key, size_t klen, uint64_t ver)
{
    uint64_t h = hash64_mix (hash64 (key, klen) ^ ver);
    int height = 1;
    while (height < JDISK_HEIGHT && (h & 3) == 0) {
        height++;
        h >>= 2;
    }
    return height;
}

//  A new unlinked node for op OP of batch B at VER, or NULL.
static jnode_t *s_node_new (const store_batch_t *b, const jop_t *op, uint64_t ver)
{
    const uint8_t *key = b->arena + op->off;
    int height = s_height (key, op->klen, ver);
    jnode_t *n = malloc (sizeof *n + (size_t)height * sizeof n->next[0] + op->klen + op->vlen);
    if (!n)
        return NULL;
    n->ver = ver;
    n->klen = op->klen;
    n->vlen = op->del ? 0 : op->vlen;
    n->del = op->del;
    n->height = height;
    n->key = (uint8_t *)&n->next[height];
    memcpy (n->key, key, op->klen + n->vlen);
    return n;
}

//  Links N into the list; a node with the same key and version (the same
//  key twice in one batch) is replaced: the later op wins. Never allocates.
static void s_link (jdisk_t *d, jnode_t *n)
{
    jnode_t *update[JDISK_HEIGHT];
    for (int l = d->height; l < JDISK_HEIGHT; l++)
        update[l] = d->head;
    jnode_t *at = s_search (d, n->key, n->klen, n->ver, update);
    if (at && s_cmp (at, n->key, n->klen, n->ver) == 0) {
        for (int l = 0; l < at->height; l++)
            update[l]->next[l] = at->next[l];
        free (at);
        d->nodes--;
    }
    if (n->height > d->height)
        d->height = n->height;
    for (int l = 0; l < n->height; l++) {
        n->next[l] = update[l]->next[l];
        update[l]->next[l] = n;
    }
    d->nodes++;
}

/* ---------------------------------------------------------------------------
   Sweeping old versions, and crashes
*/

//  True when A and B have the same key.
static bool s_same_key (const jnode_t *a, const jnode_t *b)
{
    return a->klen == b->klen && memcmp (a->key, b->key, a->klen) == 0;
}

//  Rebuilds the list in one pass: drops every node above version CUT, and
//  of each key keeps the nodes above version BASE plus its newest node at or
//  below BASE, unless that one is a tombstone (nothing older can be read).
static void s_rebuild (jdisk_t *d, uint64_t cut, uint64_t base)
{
    jnode_t *last[JDISK_HEIGHT];
    for (int l = 0; l < JDISK_HEIGHT; l++)
        last[l] = d->head;
    jnode_t *prev = NULL, *next;
    bool prev_dropped = false, based = false;
    int height = 1;
    for (jnode_t *n = d->head->next[0]; n; prev = n, n = next) {
        next = n->next[0];
        if (!prev || !s_same_key (prev, n))
            based = false;
        if (prev_dropped)
            free (prev);
        bool keep = n->ver <= cut && (n->ver > base || !based);
        if (n->ver <= cut && n->ver <= base && !based) {
            based = true;
            keep = !n->del;
        }
        prev_dropped = !keep;
        if (!keep) {
            d->nodes--;
            continue;
        }
        for (int l = 0; l < n->height; l++) {
            last[l]->next[l] = n;
            last[l] = n;
        }
        height = n->height > height ? n->height : height;
    }
    if (prev_dropped)
        free (prev);
    for (int l = 0; l < JDISK_HEIGHT; l++)
        last[l]->next[l] = NULL;
    d->height = height;
}

//  Sweeps the versions no snapshot and no crash can read any more, and sets
//  the next sweep at twice what is left: amortized O(1) per node written.
static void s_sweep (jdisk_t *d)
{
    uint64_t base = d->durable;
    for (const jsnap_t *s = d->snaps; s; s = s->next)
        base = s->ver < base ? s->ver : base;
    s_rebuild (d, UINT64_MAX, base);
    d->sweep_at = d->nodes * 2 > JDISK_SWEEP_MIN ? d->nodes * 2 : JDISK_SWEEP_MIN;
}

//  Applies batch B as the next version: every node is allocated before any
//  is linked, so the batch is applied whole or not at all.
int jdisk_apply (jdisk_t *d, const store_batch_t *b, bool sync)
{
    if (b->nomem)
        return WEFT_ENOMEM;
    jnode_t **nodes = b->nops ? calloc (b->nops, sizeof *nodes) : NULL;
    if (b->nops && !nodes)
        return WEFT_ENOMEM;
    uint64_t ver = d->ver + 1;
    for (size_t i = 0; i < b->nops; i++)
        if (!(nodes[i] = s_node_new (b, &b->ops[i], ver))) {
            while (i > 0)
                free (nodes[--i]);
            free (nodes);
            return WEFT_ENOMEM;
        }
    for (size_t i = 0; i < b->nops; i++)
        s_link (d, nodes[i]);
    free (nodes);
    d->ver = ver;
    if (sync)
        d->durable = ver;
    if (d->nodes >= d->sweep_at)
        s_sweep (d);
    return 0;
}

//  Registers snapshot S at the current version.
void jdisk_snap_add (jdisk_t *d, jsnap_t *s)
{
    s->ver = d->ver;
    s->prev = NULL;
    s->next = d->snaps;
    if (d->snaps)
        d->snaps->prev = s;
    d->snaps = s;
}

//  Unregisters snapshot S.
void jdisk_snap_del (jdisk_t *d, jsnap_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        d->snaps = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

/* ---------------------------------------------------------------------------
   The disk's API (store_mem.h)
*/

//  A new empty disk.
jdisk_t *jdisk_new (void)
{
    jdisk_t *self = calloc (1, sizeof *self);
    if (self)
        self->head = calloc (1, sizeof *self->head + JDISK_HEIGHT * sizeof self->head->next[0]);
    if (!self || !self->head) {
        free (self);
        return NULL;
    }
    self->head->height = JDISK_HEIGHT;
    self->height = 1;
    self->sweep_at = JDISK_SWEEP_MIN;
    return self;
}

//  Frees every node.
static void s_free_nodes (jdisk_t *self)
{
    jnode_t *n = self->head->next[0];
    while (n) {
        jnode_t *next = n->next[0];
        free (n);
        n = next;
    }
    memset (self->head->next, 0, JDISK_HEIGHT * sizeof self->head->next[0]);
    self->height = 1;
    self->nodes = 0;
    self->sweep_at = JDISK_SWEEP_MIN;
}

//  Frees the disk.
void jdisk_destroy (jdisk_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_nodes (*self_p);
    free ((*self_p)->head);
    free (*self_p);
    *self_p = NULL;
}

//  A crash: keeps the durable batches and the first KEEP unsynced ones.
int jdisk_crash (jdisk_t *self, uint64_t keep)
{
    if (self->locked)
        return WEFT_ESTATE;
    uint64_t unsynced = self->ver - self->durable;
    uint64_t cut = self->durable + (keep < unsynced ? keep : unsynced);
    s_rebuild (self, cut, cut);
    self->ver = self->durable = cut;
    self->sweep_at = self->nodes * 2 > JDISK_SWEEP_MIN ? self->nodes * 2 : JDISK_SWEEP_MIN;
    return 0;
}

//  Disk loss.
int jdisk_wipe (jdisk_t *self)
{
    if (self->locked)
        return WEFT_ESTATE;
    s_free_nodes (self);
    self->durable = self->ver;
    return 0;
}

//  Everything committed becomes durable.
void jdisk_sync_all (jdisk_t *self)
{
    self->durable = self->ver;
}

//  Writes and opens fail with ERR until reset with 0.
void jdisk_fail_writes (jdisk_t *self, int err)
{
    self->fail_err = err;
}

//  Committed batches a crash may lose.
uint64_t jdisk_unsynced (const jdisk_t *self)
{
    return self->ver - self->durable;
}

//  Live keys at the last version: O(nodes).
uint64_t jdisk_keys (const jdisk_t *self)
{
    uint64_t keys = 0;
    const jnode_t *prev = NULL;
    for (const jnode_t *n = self->head->next[0]; n; prev = n, n = n->next[0])
        if ((!prev || !s_same_key (prev, n)) && !n->del)
            keys++;
    return keys;
}
