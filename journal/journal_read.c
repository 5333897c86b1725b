/*  journal/journal_read.c - reading committed entries: iterators and the
    time seek. See journal.h for the contract. */
#include "journal/journal_int.h"

#include <stdlib.h>
#include <string.h>

#include "weft.h"

struct journal_iter {
    journal_t *journal;          //  the journal read (borrowed, for errors)
    store_iter_t *it;            //  store iterator: the database as of its creation
    uint8_t start[JK_ENTRY_LEN]; //  first key to read: the stream's prefix + from_seq
    bool started;                //  the first seek was done
    bool done;                   //  past the stream's last entry
};

//  Creates an iterator over STREAM from FROM_SEQ.
int journal_iter_new (journal_t *self, const char *stream, uint64_t from_seq, journal_iter_t **out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    *out = NULL;
    int rc = jready (self);
    jstream_t *s = jstream_find (self, stream);
    if (rc || !s)
        return rc ? rc : WEFT_ENOTFOUND;
    journal_iter_t *iter = calloc (1, sizeof *iter);
    if (!iter)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    iter->journal = self;
    if (!(iter->it = self->ops->iter_new (self->db, false))) {
        free (iter);
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    }
    jkey_entry (iter->start, s->sid, from_seq);
    self->iters++;
    *out = iter;
    return 0;
}

//  Reads the next entry of the stream into *ENTRY.
int journal_iter_next (journal_iter_t *self, journal_entry_t *entry)
{
    if (!self || !entry)
        return WEFT_EINVAL;
    if (self->done)
        return 0;
    const store_ops_t *ops = self->journal->ops;
    if (self->started)
        ops->iter_next (self->it);
    else
        ops->iter_seek (self->it, self->start, sizeof self->start);
    self->started = true;
    size_t klen = 0, vlen = 0;
    const uint8_t *k = NULL, *v = NULL;
    if (ops->iter_valid (self->it)) {
        k = ops->iter_key (self->it, &klen);
        v = ops->iter_value (self->it, &vlen);
    }
    if (!k || klen != JK_ENTRY_LEN || memcmp (k, self->start, JK_PREFIX_LEN) != 0) {
        self->done = true;
        return jscan_error (self->journal, self->it, "reading entries");
    }
    if (vlen < JENTRY_HEADER)
        return jfail (self->journal, WEFT_ECORRUPT, "journal %s is corrupt: a truncated entry",
                      self->journal->dir);
    entry->seq = jget64 (k + JK_PREFIX_LEN);
    entry->time_us = (int64_t)jget64 (v);
    entry->data = v + JENTRY_HEADER;
    entry->len = vlen - JENTRY_HEADER;
    return 1;
}

//  Destroys the iterator.
void journal_iter_destroy (journal_iter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->journal->ops->iter_destroy (&(*self_p)->it);
    (*self_p)->journal->iters--;
    free (*self_p);
    *self_p = NULL;
}

//  Raises *START to the seq of the last committed index point of S whose
//  time is < TIME_US: every entry before it is older than TIME_US.
static int s_index_floor (journal_t *self, const jstream_t *s, int64_t time_us, uint64_t *start)
{
    const store_ops_t *ops = self->ops;
    store_iter_t *it = jscan (self);
    if (!it)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    uint8_t key[JK_INDEX_LEN];
    jkey_index (key, s->sid, time_us, 0);
    ops->iter_seek (it, key, sizeof key);
    if (ops->iter_valid (it))
        ops->iter_prev (it);
    else
        ops->iter_seek_last (it);
    if (!ops->iter_valid (it))
        return jscan_error (self, it, "reading the time index");
    size_t klen;
    const uint8_t *k = ops->iter_key (it, &klen);
    if (klen == JK_INDEX_LEN && memcmp (k, key, JK_PREFIX_LEN) == 0) {
        uint64_t seq = jget64 (k + JK_INDEX_SEQ);
        if (seq > *start)
            *start = seq;
    }
    return 0;
}

//  Scans S's committed entries from START for the first with time >=
//  TIME_US; stores its seq, or the seq after the last committed entry.
static int s_scan_time (journal_t *self, const jstream_t *s, uint64_t start, int64_t time_us,
                        uint64_t *seq)
{
    const store_ops_t *ops = self->ops;
    store_iter_t *it = jscan (self);
    if (!it)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    uint8_t key[JK_ENTRY_LEN];
    jkey_entry (key, s->sid, start);
    *seq = s->committed.st.last_seq + 1;
    for (ops->iter_seek (it, key, sizeof key); ops->iter_valid (it); ops->iter_next (it)) {
        size_t klen, vlen;
        const uint8_t *k = ops->iter_key (it, &klen);
        if (klen != JK_ENTRY_LEN || memcmp (k, key, JK_PREFIX_LEN) != 0)
            return 0;
        const uint8_t *v = ops->iter_value (it, &vlen);
        if (vlen < JENTRY_HEADER)
            return jfail (self, WEFT_ECORRUPT, "journal %s is corrupt: a truncated entry",
                          self->dir);
        if ((int64_t)jget64 (v) >= time_us) {
            *seq = jget64 (k + JK_PREFIX_LEN);
            return 0;
        }
    }
    return jscan_error (self, it, "seeking a time");
}

//  Finds the first committed seq of STREAM whose time is >= TIME_US.
int journal_seek_time (journal_t *self, const char *stream, int64_t time_us, uint64_t *seq)
{
    if (!self || !seq)
        return WEFT_EINVAL;
    int rc = jready (self);
    jstream_t *s = jstream_find (self, stream);
    if (rc || !s)
        return rc ? rc : WEFT_ENOTFOUND;
    const journal_stats_t *st = &s->committed.st;
    *seq = st->last_seq + 1;
    if (st->count == 0)
        return 0;
    uint64_t start = st->first_seq;
    rc = s_index_floor (self, s, time_us, &start);
    return rc ? rc : s_scan_time (self, s, start, time_us, seq);
}
