/*  journal/store_leveldb.c - the LevelDB backend of journal/store.h: the
    only file of the journal that calls LevelDB. Options: paranoid checks,
    verified checksums on every read, a block cache and a bloom filter, no
    compression. Batches and iterators are LevelDB's own objects, so the
    journal's hot paths cost one indirect call over calling LevelDB. */
#include "journal/store.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define STORE_BLOOM_BITS 10 //  bloom filter bits per key

struct store {
    char *dir;                      //  directory (owned)
    leveldb_t *db;                  //  the database; NULL after a failed reopen
    leveldb_options_t *options;     //  open options
    leveldb_cache_t *cache;         //  block cache
    leveldb_filterpolicy_t *filter; //  bloom filter for point reads
    leveldb_readoptions_t *rget;    //  point reads (checksums verified)
    leveldb_readoptions_t *rscan;   //  scans (checksums verified, cache not filled)
    leveldb_writeoptions_t *wsync;  //  writes with fsync
    leveldb_writeoptions_t *wasync; //  writes without fsync
};

//  A batch is a leveldb_writebatch_t, an iterator a leveldb_iterator_t:
//  the store types are only their names.
#define S_BATCH(b) ((leveldb_writebatch_t *)(b))
#define S_ITER(it) ((leveldb_iterator_t *)(it))

/* ---------------------------------------------------------------------------
   Errors
*/

//  Maps a LevelDB status message to a WEFT_E* code. LevelDB reports a held
//  lock as "IO error: lock <dir>/LOCK: ..." ("already held by process" when
//  this process holds it), damage as "Corruption: ...".
static int s_code (const char *lerr)
{
    if (strncmp (lerr, "IO error: lock ", 15) == 0)
        return WEFT_ELOCKED;
    if (strncmp (lerr, "Corruption:", 11) == 0)
        return WEFT_ECORRUPT;
    if (strstr (lerr, "No space left on device") || strstr (lerr, "Disk quota exceeded"))
        return WEFT_ENOSPC;
    return WEFT_EIO;
}

//  Fills ERR from LevelDB's message LERR (freed here); returns the code.
static int s_fail (char *lerr, store_err_t *err)
{
    err->code = s_code (lerr);
    err->held_here = err->code == WEFT_ELOCKED && strstr (lerr, "already held by process");
    snprintf (err->msg, sizeof err->msg, "%s", lerr);
    leveldb_free (lerr);
    return err->code;
}

/* ---------------------------------------------------------------------------
   Open, close, repair
*/

//  Frees every handle of SELF.
static void s_free (store_t *self)
{
    if (self->db)
        leveldb_close (self->db);
    leveldb_options_destroy (self->options);
    leveldb_filterpolicy_destroy (self->filter);
    leveldb_cache_destroy (self->cache);
    leveldb_readoptions_destroy (self->rget);
    leveldb_readoptions_destroy (self->rscan);
    leveldb_writeoptions_destroy (self->wsync);
    leveldb_writeoptions_destroy (self->wasync);
    free (self->dir);
    free (self);
}

//  Creates the options of a store of CONF; NULL when out of memory.
static store_t *s_new (const store_conf_t *conf)
{
    store_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (conf->dir))) {
        free (self);
        return NULL;
    }
    self->cache = leveldb_cache_create_lru (conf->cache_bytes);
    self->filter = leveldb_filterpolicy_create_bloom (STORE_BLOOM_BITS);
    self->options = leveldb_options_create ();
    leveldb_options_set_create_if_missing (self->options, 1);
    leveldb_options_set_paranoid_checks (self->options, 1);
    leveldb_options_set_cache (self->options, self->cache);
    leveldb_options_set_filter_policy (self->options, self->filter);
    leveldb_options_set_write_buffer_size (self->options, conf->write_buffer);
    //  entries are mostly small and already compact: snappy costs CPU on every
    //  replay and compaction and saves little
    leveldb_options_set_compression (self->options, leveldb_no_compression);
    self->rget = leveldb_readoptions_create ();
    leveldb_readoptions_set_verify_checksums (self->rget, 1);
    self->rscan = leveldb_readoptions_create ();
    leveldb_readoptions_set_verify_checksums (self->rscan, 1);
    leveldb_readoptions_set_fill_cache (self->rscan, 0);
    self->wsync = leveldb_writeoptions_create ();
    leveldb_writeoptions_set_sync (self->wsync, 1);
    self->wasync = leveldb_writeoptions_create ();
    return self;
}

//  Opens the database in conf->dir.
static int s_open (const store_conf_t *conf, store_t **out, store_err_t *err)
{
    *out = NULL;
    store_t *self = s_new (conf);
    if (!self) {
        err->code = WEFT_ENOMEM;
        snprintf (err->msg, sizeof err->msg, "out of memory");
        return err->code;
    }
    char *lerr = NULL;
    self->db = leveldb_open (self->options, self->dir, &lerr);
    if (lerr) {
        s_free (self);
        return s_fail (lerr, err);
    }
    *out = self;
    return 0;
}

//  Closes and reopens the database with the same options (and cache).
static int s_reopen (store_t *self, store_err_t *err)
{
    if (self->db)
        leveldb_close (self->db);
    char *lerr = NULL;
    self->db = leveldb_open (self->options, self->dir, &lerr);
    if (lerr && self->db) {
        leveldb_close (self->db);
        self->db = NULL;
    }
    return lerr ? s_fail (lerr, err) : 0;
}

//  Closes the store.
static void s_close (store_t **self_p)
{
    if (self_p && *self_p) {
        s_free (*self_p);
        *self_p = NULL;
    }
}

//  Fails with WEFT_ELOCKED when some process (this one included) has DIR
//  open: a trial open takes LevelDB's lock and releases it at once.
static int s_check_unlocked (const char *dir, store_err_t *err)
{
    leveldb_options_t *options = leveldb_options_create ();
    char *lerr = NULL;
    leveldb_t *db = leveldb_open (options, dir, &lerr);
    leveldb_options_destroy (options);
    if (db)
        leveldb_close (db);
    if (lerr && s_code (lerr) == WEFT_ELOCKED)
        return s_fail (lerr, err);
    leveldb_free (lerr);
    return 0;
}

//  Salvages the database in conf->dir with leveldb_repair_db.
static int s_repair (const store_conf_t *conf, store_err_t *err)
{
    int rc = s_check_unlocked (conf->dir, err);
    if (rc)
        return rc;
    leveldb_options_t *options = leveldb_options_create ();
    char *lerr = NULL;
    leveldb_repair_db (options, conf->dir, &lerr);
    leveldb_options_destroy (options);
    if (lerr) {
        s_fail (lerr, err);
        err->code = WEFT_EIO;
    }
    return lerr ? WEFT_EIO : 0;
}

/* ---------------------------------------------------------------------------
   Reads and writes
*/

//  Reads KEY (a malloc'ed copy, LevelDB's own).
static int s_get (store_t *self, const void *key, size_t klen, void **value, size_t *vlen,
                  store_err_t *err)
{
    char *lerr = NULL;
    *value = leveldb_get (self->db, self->rget, key, klen, vlen, &lerr);
    return lerr ? s_fail (lerr, err) : 0;
}

//  Frees a value of s_get ().
static void s_free_value (void *value)
{
    leveldb_free (value);
}

//  A new LevelDB write batch.
static store_batch_t *s_batch_new (void)
{
    return (store_batch_t *)leveldb_writebatch_create ();
}

//  Adds a put to the batch.
static void s_batch_put (store_batch_t *b, const void *key, size_t klen, const void *value,
                         size_t vlen)
{
    leveldb_writebatch_put (S_BATCH (b), key, klen, value ? value : "", vlen);
}

//  Adds a delete to the batch.
static void s_batch_del (store_batch_t *b, const void *key, size_t klen)
{
    leveldb_writebatch_delete (S_BATCH (b), key, klen);
}

//  Empties the batch.
static void s_batch_clear (store_batch_t *b)
{
    leveldb_writebatch_clear (S_BATCH (b));
}

//  Frees the batch.
static void s_batch_destroy (store_batch_t **b_p)
{
    if (b_p && *b_p) {
        leveldb_writebatch_destroy (S_BATCH (*b_p));
        *b_p = NULL;
    }
}

//  Writes the batch with one leveldb_write.
static int s_write (store_t *self, store_batch_t *b, bool sync, store_err_t *err)
{
    char *lerr = NULL;
    leveldb_write (self->db, sync ? self->wsync : self->wasync, S_BATCH (b), &lerr);
    return lerr ? s_fail (lerr, err) : 0;
}

/* ---------------------------------------------------------------------------
   Iterators: thin wrappers, one call each
*/

static store_iter_t *s_iter_new (store_t *self, bool fill_cache)
{
    return (store_iter_t *)leveldb_create_iterator (self->db,
                                                    fill_cache ? self->rget : self->rscan);
}

static void s_iter_seek (store_iter_t *it, const void *key, size_t klen)
{
    leveldb_iter_seek (S_ITER (it), key, klen);
}

static void s_iter_seek_first (store_iter_t *it)
{
    leveldb_iter_seek_to_first (S_ITER (it));
}

static void s_iter_seek_last (store_iter_t *it)
{
    leveldb_iter_seek_to_last (S_ITER (it));
}

static bool s_iter_valid (const store_iter_t *it)
{
    return leveldb_iter_valid ((const leveldb_iterator_t *)it);
}

static void s_iter_next (store_iter_t *it)
{
    leveldb_iter_next (S_ITER (it));
}

static void s_iter_prev (store_iter_t *it)
{
    leveldb_iter_prev (S_ITER (it));
}

static const void *s_iter_key (const store_iter_t *it, size_t *klen)
{
    return leveldb_iter_key ((const leveldb_iterator_t *)it, klen);
}

static const void *s_iter_value (const store_iter_t *it, size_t *vlen)
{
    return leveldb_iter_value ((const leveldb_iterator_t *)it, vlen);
}

//  Returns 0 or the iterator's error status.
static int s_iter_error (const store_iter_t *it, store_err_t *err)
{
    char *lerr = NULL;
    leveldb_iter_get_error ((const leveldb_iterator_t *)it, &lerr);
    return lerr ? s_fail (lerr, err) : 0;
}

static void s_iter_destroy (store_iter_t **it_p)
{
    if (it_p && *it_p) {
        leveldb_iter_destroy (S_ITER (*it_p));
        *it_p = NULL;
    }
}

const store_ops_t store_leveldb_ops = {
    .name = "leveldb",
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
