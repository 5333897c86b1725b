/*  journal/store_mem.c - the memory backend of journal/store.h, over a
    jdisk_t (store_mem.h): the store is the disk's lock, batches are arrays
    of ops, iterators read a snapshot of the versioned skip list (jdisk.c). */
#include "journal/jdisk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

struct store {
    jdisk_t *disk; //  the disk (borrowed)
    char *label;   //  the journal's directory, for messages (owned)
    bool open;     //  holds the disk's lock (false after a failed reopen)
};

struct store_iter {
    jdisk_t *disk; //  the disk read (borrowed)
    jsnap_t snap;  //  the version read, registered with the disk
    jnode_t *cur;  //  the current node: visible at snap.ver; NULL when not valid
};

/* ---------------------------------------------------------------------------
   Open, close
*/

//  Fills ERR with CODE and a message; returns CODE.
static int s_fail (store_err_t *err, int code, const char *what)
{
    err->code = code;
    err->held_here = code == WEFT_ELOCKED;
    snprintf (err->msg, sizeof err->msg, "%s", what);
    return code;
}

//  The message of a fault injected with jdisk_fail_writes ().
static const char *s_fault (int code)
{
    return code == WEFT_ENOSPC ? "No space left on device (injected by jdisk_fail_writes)"
                               : "Input/output error (injected by jdisk_fail_writes)";
}

//  Takes the disk's lock.
static int s_lock (jdisk_t *disk, store_err_t *err)
{
    if (disk->locked)
        return s_fail (err, WEFT_ELOCKED, "lock: the memory disk is already held by process");
    if (disk->fail_err)
        return s_fail (err, disk->fail_err, s_fault (disk->fail_err));
    disk->locked = true;
    return 0;
}

//  Opens the store on conf->disk.
static int s_open (const store_conf_t *conf, store_t **out, store_err_t *err)
{
    *out = NULL;
    if (!conf->disk)
        return s_fail (err, WEFT_EINVAL, "no memory disk given");
    store_t *self = calloc (1, sizeof *self);
    if (!self || !(self->label = strdup (conf->dir ? conf->dir : ""))) {
        free (self);
        return s_fail (err, WEFT_ENOMEM, "out of memory");
    }
    self->disk = conf->disk;
    int rc = s_lock (self->disk, err);
    if (rc) {
        free (self->label);
        free (self);
        return rc;
    }
    self->open = true;
    *out = self;
    return 0;
}

//  Releases the lock and takes it again (as LevelDB's reopen would, it fails
//  while the disk is "full").
static int s_reopen (store_t *self, store_err_t *err)
{
    if (self->open)
        self->disk->locked = false;
    self->open = false;
    int rc = s_lock (self->disk, err);
    self->open = rc == 0;
    return rc;
}

//  Closes the store: releases the lock, writes nothing.
static void s_close (store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    if (self->open)
        self->disk->locked = false;
    free (self->label);
    free (self);
    *self_p = NULL;
}

//  Nothing to repair in memory.
static int s_repair (const store_conf_t *conf, store_err_t *err)
{
    return conf->disk && conf->disk->locked ? s_fail (err, WEFT_ELOCKED, "the disk is open") : 0;
}

/* ---------------------------------------------------------------------------
   Reads and writes
*/

//  The node of KEY visible at version VER, or NULL (missing or deleted).
static jnode_t *s_visible (const jdisk_t *d, const void *key, size_t klen, uint64_t ver)
{
    jnode_t *n = jdisk_lower_bound (d, key, klen, ver);
    return n && !n->del && jnode_keycmp (n, key, klen) == 0 ? n : NULL;
}

//  Reads KEY at the last version (a malloc'ed copy).
static int s_get (store_t *self, const void *key, size_t klen, void **value, size_t *vlen,
                  store_err_t *err)
{
    *value = NULL;
    *vlen = 0;
    const jnode_t *n = s_visible (self->disk, key, klen, self->disk->ver);
    if (!n)
        return 0;
    if (!(*value = malloc (n->vlen ? n->vlen : 1)))
        return s_fail (err, WEFT_ENOMEM, "out of memory");
    memcpy (*value, n->key + n->klen, n->vlen);
    *vlen = n->vlen;
    return 0;
}

//  Frees a value of s_get ().
static void s_free_value (void *value)
{
    free (value);
}

//  A new empty batch.
static store_batch_t *s_batch_new (void)
{
    return calloc (1, sizeof (store_batch_t));
}

//  Records one op (key, then value, copied into the arena).
static void s_batch_add (store_batch_t *b, const void *key, size_t klen, const void *value,
                         size_t vlen, bool del)
{
    if (b->nops == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        jop_t *ops = realloc (b->ops, cap * sizeof *ops);
        if (!ops) {
            b->nomem = true;
            return;
        }
        b->ops = ops;
        b->cap = cap;
    }
    if (b->used + klen + vlen > b->acap) {
        size_t acap = b->acap ? b->acap : 4096;
        while (acap < b->used + klen + vlen)
            acap *= 2;
        uint8_t *arena = realloc (b->arena, acap);
        if (!arena) {
            b->nomem = true;
            return;
        }
        b->arena = arena;
        b->acap = acap;
    }
    if (klen)
        memcpy (b->arena + b->used, key, klen);
    if (vlen)
        memcpy (b->arena + b->used + klen, value, vlen);
    b->ops[b->nops++] = (jop_t){.off = b->used, .klen = klen, .vlen = vlen, .del = del};
    b->used += klen + vlen;
}

//  Adds a put.
static void s_batch_put (store_batch_t *b, const void *key, size_t klen, const void *value,
                         size_t vlen)
{
    s_batch_add (b, key, klen, value, vlen, false);
}

//  Adds a delete.
static void s_batch_del (store_batch_t *b, const void *key, size_t klen)
{
    s_batch_add (b, key, klen, NULL, 0, true);
}

//  Empties the batch, keeping its memory.
static void s_batch_clear (store_batch_t *b)
{
    b->nops = 0;
    b->used = 0;
    b->nomem = false;
}

//  Frees the batch.
static void s_batch_destroy (store_batch_t **b_p)
{
    if (!b_p || !*b_p)
        return;
    free ((*b_p)->ops);
    free ((*b_p)->arena);
    free (*b_p);
    *b_p = NULL;
}

//  Applies the batch, unless a fault is injected.
static int s_write (store_t *self, store_batch_t *b, bool sync, store_err_t *err)
{
    if (self->disk->fail_err)
        return s_fail (err, self->disk->fail_err, s_fault (self->disk->fail_err));
    if (jdisk_apply (self->disk, b, sync) != 0)
        return s_fail (err, WEFT_ENOMEM, "out of memory");
    return 0;
}

/* ---------------------------------------------------------------------------
   Iterators over a snapshot
*/

//  A new iterator at the last version.
static store_iter_t *s_iter_new (store_t *self, bool fill_cache)
{
    store_iter_t *it = calloc (1, sizeof *it);
    if (it) {
        it->disk = self->disk;
        jdisk_snap_add (it->disk, &it->snap);
    }
    return it;
}

//  Settles forward: from node N, the first node visible at the snapshot.
static void s_forward (store_iter_t *it, jnode_t *n)
{
    uint64_t ver = it->snap.ver;
    while (n && (n->ver > ver || n->del)) {
        if (n->ver > ver) //  too new: the key's newest version we may read
            n = jdisk_lower_bound (it->disk, n->key, n->klen, ver);
        else //  deleted at our version: the next key
            n = jdisk_lower_bound (it->disk, n->key, n->klen, 0);
    }
    it->cur = n;
}

//  Settles backward: from the last node below KEY (NULL: the last node), the
//  last key visible at the snapshot.
static void s_backward (store_iter_t *it, const void *key, size_t klen)
{
    jnode_t *n = jdisk_last_below (it->disk, key, klen);
    while (n) {
        jnode_t *v = s_visible (it->disk, n->key, n->klen, it->snap.ver);
        if (v) {
            it->cur = v;
            return;
        }
        n = jdisk_last_below (it->disk, n->key, n->klen);
    }
    it->cur = NULL;
}

static void s_iter_seek (store_iter_t *it, const void *key, size_t klen)
{
    s_forward (it, jdisk_lower_bound (it->disk, key, klen, UINT64_MAX));
}

static void s_iter_seek_first (store_iter_t *it)
{
    s_forward (it, it->disk->head->next[0]);
}

static void s_iter_seek_last (store_iter_t *it)
{
    s_backward (it, NULL, 0);
}

static bool s_iter_valid (const store_iter_t *it)
{
    return it->cur != NULL;
}

//  The next key: usually the next node, else a seek past this key's versions.
static void s_iter_next (store_iter_t *it)
{
    jnode_t *cur = it->cur, *n = cur->next[0];
    if (n && jnode_keycmp (n, cur->key, cur->klen) == 0)
        n = jdisk_lower_bound (it->disk, cur->key, cur->klen, 0);
    s_forward (it, n);
}

static void s_iter_prev (store_iter_t *it)
{
    s_backward (it, it->cur->key, it->cur->klen);
}

static const void *s_iter_key (const store_iter_t *it, size_t *klen)
{
    *klen = it->cur->klen;
    return it->cur->key;
}

static const void *s_iter_value (const store_iter_t *it, size_t *vlen)
{
    *vlen = it->cur->vlen;
    return it->cur->key + it->cur->klen;
}

//  Memory does not fail under a reader.
static int s_iter_error (const store_iter_t *it, store_err_t *err)
{
    return 0;
}

static void s_iter_destroy (store_iter_t **it_p)
{
    if (!it_p || !*it_p)
        return;
    jdisk_snap_del ((*it_p)->disk, &(*it_p)->snap);
    free (*it_p);
    *it_p = NULL;
}

const store_ops_t store_mem_ops = {
    .name = "memory",
    .open = s_open,
    .reopen = s_reopen,
    .close = s_close,
    .repair = s_repair,
    .get = s_get,
    .free_value = s_free_value,
    .batch_new = s_batch_new,
    .batch_put = s_batch_put,
    .batch_del = s_batch_del,
    .batch_clear = s_batch_clear,
    .batch_destroy = s_batch_destroy,
    .write = s_write,
    .iter_new = s_iter_new,
    .iter_seek = s_iter_seek,
    .iter_seek_first = s_iter_seek_first,
    .iter_seek_last = s_iter_seek_last,
    .iter_valid = s_iter_valid,
    .iter_next = s_iter_next,
    .iter_prev = s_iter_prev,
    .iter_key = s_iter_key,
    .iter_value = s_iter_value,
    .iter_error = s_iter_error,
    .iter_destroy = s_iter_destroy,
};
