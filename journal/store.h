/*  journal/store.h - the journal's key-value storage, behind one table of
    operations (nng style), so that the same journal code runs over LevelDB
    (store_leveldb.c, the real thing) and over an in-memory disk that models
    what a crash keeps (store_mem.c, for the deterministic simulator).

    Model. A store is an ordered map from byte strings to byte strings, in
    bytewise key order (memcmp, then the shorter key first: LevelDB's
    default comparator). It changes only through write (), which applies a
    batch of puts and deletes atomically: after any failure or crash the
    store holds all of a batch or none of it. Reads (get, iterators) see
    committed writes only, never a batch being built.

    Iterators see the store as it was when they were created (a snapshot:
    later writes are not seen). Keys and values they return are borrowed
    until the next move or destroy of that iterator. Every iterator must be
    destroyed before its store is closed or reopened.

    Errors. Operations that can fail return 0 or a WEFT_E* code and fill a
    store_err_t: WEFT_ECORRUPT (damaged data), WEFT_ELOCKED (the store is
    open elsewhere), WEFT_ENOSPC (disk full), WEFT_EIO (any other I/O
    failure), WEFT_ENOMEM. Batch puts and deletes never fail: a backend that
    cannot record one makes the batch's write fail with WEFT_ENOMEM.

    Thread: a store, its batches and iterators belong to one thread.
*/
#ifndef WEFT_JOURNAL_STORE_H
#define WEFT_JOURNAL_STORE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct store store_t;             //  an open store (backend-defined)
typedef struct store_batch store_batch_t; //  a batch of puts and deletes (backend-defined)
typedef struct store_iter store_iter_t;   //  an iterator (backend-defined)
typedef struct jdisk jdisk_t;             //  an in-memory disk (store_mem.h)

//  What a store is opened on, and how.
typedef struct {
    const char *dir;     //  LevelDB: the directory; memory: a label for messages
    size_t cache_bytes;  //  LevelDB block cache size (bytes, > 0)
    size_t write_buffer; //  LevelDB write buffer (memtable) size (bytes, > 0)
    jdisk_t *disk;       //  memory: the disk (borrowed, outlives the store)
} store_conf_t;

//  A failure: its code and the backend's own words for it.
typedef struct {
    int code;       //  WEFT_E*
    bool held_here; //  WEFT_ELOCKED: the holder is this process (else another one)
    char msg[400];  //  the backend's message, e.g. "Corruption: ..." or "disk full (injected)"
} store_err_t;

typedef struct {
    const char *name; //  "leveldb", "memory"

    //  Opens the store CONF describes (creating it if missing) into *OUT.
    //  0 or a code with ERR.
    int (*open) (const store_conf_t *conf, store_t **out, store_err_t *err);
    //  Closes and reopens the database (after a failed write: see
    //  journal_int.h), keeping the options. 0 or a code; on failure the store
    //  is closed: only reopen () and close () may be called on it.
    int (*reopen) (store_t *self, store_err_t *err);
    //  Closes *SELF_P (writes nothing) and nulls it. NULL-safe.
    void (*close) (store_t **self_p);
    //  Salvages what can be read of the closed store CONF describes. 0, or
    //  WEFT_ELOCKED (it is open) / WEFT_EIO with ERR.
    int (*repair) (const store_conf_t *conf, store_err_t *err);

    //  Reads KEY (KLEN bytes): stores a copy of its value in *VALUE (free it
    //  with free_value ()) and its size in *VLEN, or NULL when missing.
    //  Returns 0 (found or not) or a code with ERR.
    int (*get) (store_t *self, const void *key, size_t klen, void **value, size_t *vlen,
                store_err_t *err);
    //  Frees a value returned by get (). NULL-safe.
    void (*free_value) (void *value);

    //  A new empty batch (usable with any store of this backend), or NULL.
    store_batch_t *(*batch_new) (void);
    //  Adds KEY = a copy of VALUE (VLEN bytes; VALUE may be NULL when 0) /
    //  the deletion of KEY. A later op on the same key wins.
    void (*batch_put) (store_batch_t *b, const void *key, size_t klen, const void *value,
                       size_t vlen);
    void (*batch_del) (store_batch_t *b, const void *key, size_t klen);
    //  Empties the batch, keeping it for reuse.
    void (*batch_clear) (store_batch_t *b);
    //  Frees *B_P and nulls it. NULL-safe.
    void (*batch_destroy) (store_batch_t **b_p);
    //  Applies the batch atomically; SYNC: durable (fsync) before returning,
    //  else it survives a crash of the process but maybe not a power loss.
    //  The batch is left as it was. 0 or a code with ERR (nothing applied).
    int (*write) (store_t *self, store_batch_t *b, bool sync, store_err_t *err);

    //  A new iterator over a snapshot of the store, not positioned; or NULL
    //  (out of memory). FILL_CACHE: the blocks it reads may go into the
    //  cache (point lookups near each other), else not (long scans).
    store_iter_t *(*iter_new) (store_t *self, bool fill_cache);
    //  Positions at the first key >= KEY / the first key / the last key.
    void (*iter_seek) (store_iter_t *it, const void *key, size_t klen);
    void (*iter_seek_first) (store_iter_t *it);
    void (*iter_seek_last) (store_iter_t *it);
    //  True when positioned at a key.
    bool (*iter_valid) (const store_iter_t *it);
    //  Moves to the next / the previous key (must be valid).
    void (*iter_next) (store_iter_t *it);
    void (*iter_prev) (store_iter_t *it);
    //  The current key / value (must be valid): borrowed until the next move.
    const void *(*iter_key) (const store_iter_t *it, size_t *klen);
    const void *(*iter_value) (const store_iter_t *it, size_t *vlen);
    //  0, or the code (with ERR) of a failure that ended the iteration.
    int (*iter_error) (const store_iter_t *it, store_err_t *err);
    //  Frees *IT_P and nulls it. NULL-safe.
    void (*iter_destroy) (store_iter_t **it_p);
} store_ops_t;

//  The backends.
extern const store_ops_t store_leveldb_ops; //  store_leveldb.c
extern const store_ops_t store_mem_ops;     //  store_mem.c (conf->disk must be set)

#endif
