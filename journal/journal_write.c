/*  journal/journal_write.c - staging appends, deletions and retention into
    the pending batch, with the staged statistics kept in step. See
    journal.h for the contract and journal_int.h for the in-memory model. */
#include "journal/journal_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

/* ---------------------------------------------------------------------------
   Finding present entries (committed and not deleted by the batch, or staged)
*/

//  Fills *F from the committed entry at IT's position.
static int s_found_committed (journal_t *self, store_iter_t *it, jfound_t *f)
{
    size_t klen, vlen;
    const uint8_t *k = self->ops->iter_key (it, &klen);
    const uint8_t *v = self->ops->iter_value (it, &vlen);
    if (vlen < JENTRY_HEADER)
        return jfail (self, WEFT_ECORRUPT, "journal %s is corrupt: a truncated entry", self->dir);
    f->seq = jget64 (k + JK_PREFIX_LEN);
    f->time_us = (int64_t)jget64 (v);
    f->len = vlen - JENTRY_HEADER;
    f->pend = NULL;
    return 1;
}

//  Finds the first committed entry of S with seq >= FROM that the batch did
//  not delete. Returns 1, 0 or an error code.
static int s_find_committed (journal_t *self, jstream_t *s, uint64_t from, jfound_t *f)
{
    const store_ops_t *ops = self->ops;
    store_iter_t *it = jscan (self);
    if (!it)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    uint8_t key[JK_ENTRY_LEN];
    jkey_entry (key, s->sid, from);
    for (ops->iter_seek (it, key, sizeof key); ops->iter_valid (it); ops->iter_next (it)) {
        size_t klen;
        const char *k = ops->iter_key (it, &klen);
        if (klen != JK_ENTRY_LEN || memcmp (k, key, JK_PREFIX_LEN) != 0)
            break;
        if (!jmap_find (&self->overlay, k, klen))
            return s_found_committed (self, it, f);
    }
    return jscan_error (self, it, "scanning entries");
}

//  Returns the index of the first entry of S's pend array with seq >= FROM.
static size_t s_pend_lower (const jstream_t *s, uint64_t from)
{
    size_t lo = 0, hi = s->npend;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pend[mid].seq < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

//  Finds the first entry staged in this batch with seq >= FROM and not
//  deleted again. Returns 1 or 0.
static int s_find_pending (jstream_t *s, uint64_t from, jfound_t *f)
{
    for (size_t i = s_pend_lower (s, from); i < s->npend; i++)
        if (!s->pend[i].deleted) {
            f->seq = s->pend[i].seq;
            f->time_us = s->pend[i].time_us;
            f->len = s->pend[i].len;
            f->pend = &s->pend[i];
            return 1;
        }
    return 0;
}

//  Finds the first present entry of S with seq >= FROM.
int jentry_find (journal_t *self, jstream_t *s, uint64_t from, jfound_t *f)
{
    const journal_stats_t *committed = &s->committed.st;
    if (committed->count > 0 && from <= committed->last_seq) {
        uint64_t start = from > committed->first_seq ? from : committed->first_seq;
        int rc = s_find_committed (self, s, start, f);
        if (rc != 0)
            return rc;
    }
    return s_find_pending (s, from, f);
}

//  Finds entry SEQ of S if present. Returns 1, 0 or an error code.
static int s_lookup (journal_t *self, jstream_t *s, uint64_t seq, jfound_t *f)
{
    const journal_stats_t *st = &s->staged.st;
    if (st->count == 0 || seq < st->first_seq || seq > st->last_seq)
        return 0;
    int rc = jentry_find (self, s, seq, f);
    return rc == 1 && f->seq != seq ? 0 : rc;
}

/* ---------------------------------------------------------------------------
   Appending
*/

//  Grows the value scratch buffer to SIZE bytes.
static int s_vbuf_reserve (journal_t *self, size_t size)
{
    if (size <= self->vbuf_cap)
        return 0;
    size_t cap = self->vbuf_cap ? self->vbuf_cap : 256;
    while (cap < size)
        cap *= 2;
    uint8_t *vbuf = realloc (self->vbuf, cap);
    if (!vbuf)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    self->vbuf = vbuf;
    self->vbuf_cap = cap;
    return 0;
}

//  Grows S's pend array to hold one more entry.
static int s_pend_reserve (journal_t *self, jstream_t *s)
{
    if (s->npend < s->pend_cap)
        return 0;
    jpend_t *pend = realloc (s->pend, s->pend_cap * 2 * sizeof *pend);
    if (!pend)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    s->pend = pend;
    s->pend_cap *= 2;
    return 0;
}

//  Stages a time-index point for entry SEQ when one is due: the first entry
//  of the stream this run, then every JOURNAL_INDEX_EVERY entries or
//  JOURNAL_INDEX_US microseconds, whichever comes first.
static void s_index_maybe (journal_t *self, jstream_t *s, uint64_t seq, int64_t time_us)
{
    jstate_t *st = &s->staged;
    bool due = st->idx_count == 0 || st->idx_count >= JOURNAL_INDEX_EVERY ||
               (time_us > st->idx_time_us &&
                (uint64_t)time_us - (uint64_t)st->idx_time_us >= JOURNAL_INDEX_US);
    if (!due) {
        st->idx_count++;
        return;
    }
    uint8_t key[JK_INDEX_LEN];
    jkey_index (key, s->sid, time_us, seq);
    self->ops->batch_put (self->batch, key, sizeof key, "", 0);
    st->idx_count = 1;
    st->idx_time_us = time_us;
}

//  Counts an appended entry in the staged statistics of S.
static void s_stats_append (jstream_t *s, uint64_t seq, int64_t time_us, size_t len)
{
    journal_stats_t *st = &s->staged.st;
    if (st->count == 0) {
        st->first_seq = seq;
        st->first_time_us = time_us;
    }
    st->count++;
    st->bytes += len;
    st->last_seq = seq;
    st->last_time_us = time_us;
}

//  Checks the arguments of journal_append (); returns 0 or a code.
static int s_append_check (journal_t *self, const char *stream, uint64_t seq, const void *data,
                           size_t len)
{
    if (!stream || (len && !data))
        return jfail (self, WEFT_EINVAL, "journal %s: append without a stream or data", self->dir);
    if (len > JOURNAL_ENTRY_MAX)
        return jfail (self, WEFT_EMSGSIZE, "journal %s: an entry of %zu bytes is too large",
                      self->dir, len);
    jstream_t *s = jstream_find (self, stream);
    uint64_t last = s ? s->staged.st.last_seq : 0;
    if (seq <= last)
        return jfail (self, WEFT_EINVAL,
                      "journal %s: stream %s: seq %" PRIu64 " is not above the last one (%" PRIu64
                      ")",
                      self->dir, stream, seq, last);
    return 0;
}

//  Stages entry SEQ of STREAM.
int journal_append (journal_t *self, const char *stream, uint64_t seq, int64_t time_us,
                    const void *data, size_t len)
{
    if (!self)
        return WEFT_EINVAL;
    jstream_t *s = NULL;
    int rc = jready (self);
    if (rc == 0)
        rc = s_append_check (self, stream, seq, data, len);
    if (rc == 0)
        rc = s_vbuf_reserve (self, JENTRY_HEADER + len);
    if (rc == 0)
        rc = jstream_ensure (self, stream, &s);
    if (rc == 0)
        rc = s_pend_reserve (self, s); //  never fails for a new stream
    if (rc)
        return rc;
    uint8_t key[JK_ENTRY_LEN];
    jkey_entry (key, s->sid, seq);
    jput64 (self->vbuf, (uint64_t)time_us);
    if (len)
        memcpy (self->vbuf + JENTRY_HEADER, data, len);
    self->ops->batch_put (self->batch, key, sizeof key, self->vbuf, JENTRY_HEADER + len);
    s_index_maybe (self, s, seq, time_us);
    s_stats_append (s, seq, time_us, len);
    s->pend[s->npend++] = (jpend_t){.seq = seq, .time_us = time_us, .len = (uint32_t)len};
    jstream_touch (self, s);
    self->pending++;
    return 0;
}

/* ---------------------------------------------------------------------------
   Deleting
*/

//  Stages the deletion of S's committed time-index points below its first
//  seq. Best effort: a stale point only makes a time seek scan a little more.
void jstream_index_trim (journal_t *self, jstream_t *s)
{
    const store_ops_t *ops = self->ops;
    store_iter_t *it = jscan (self);
    uint8_t prefix[JK_PREFIX_LEN];
    jkey_prefix (prefix, JK_INDEX, s->sid);
    if (!it)
        return;
    for (ops->iter_seek (it, prefix, sizeof prefix); ops->iter_valid (it); ops->iter_next (it)) {
        size_t klen;
        const char *k = ops->iter_key (it, &klen);
        if (klen != JK_INDEX_LEN || memcmp (k, prefix, sizeof prefix) != 0)
            break;
        if (jget64 ((const uint8_t *)k + JK_INDEX_SEQ) >= s->staged.st.first_seq)
            break;
        if (jmap_find (&self->overlay, k, klen))
            continue;
        if (jmap_put (&self->overlay, k, klen, JOV_DELETED, NULL, 0) != 0)
            break;
        ops->batch_del (self->batch, k, klen);
    }
}

//  Stages the deletion of the present entry F of S. When F is the first
//  entry, finds the next one first (so a failure stages nothing) and stores
//  it in *NEXT (returning 1 there when there is one).
static int s_remove (journal_t *self, jstream_t *s, const jfound_t *f, jfound_t *next,
                     int *has_next)
{
    journal_stats_t *st = &s->staged.st;
    uint8_t key[JK_ENTRY_LEN];
    jkey_entry (key, s->sid, f->seq);
    int found = 0;
    if (f->seq == st->first_seq && (found = jentry_find (self, s, f->seq + 1, next)) < 0)
        return found;
    if (!f->pend && jmap_put (&self->overlay, key, sizeof key, JOV_DELETED, NULL, 0) != 0)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    if (f->pend)
        f->pend->deleted = true;
    self->ops->batch_del (self->batch, key, sizeof key);
    st->count--;
    st->bytes -= f->len;
    if (f->seq == st->first_seq) {
        st->first_seq = found ? next->seq : st->last_seq + 1;
        st->first_time_us = found ? next->time_us : 0;
        s->trim_due = true; //  once per commit, not per removal: a queue acks FIFO
    }
    if (has_next)
        *has_next = found;
    jstream_touch (self, s);
    self->pending++;
    return 0;
}

//  Stages the deletion of entry SEQ of STREAM.
int journal_delete (journal_t *self, const char *stream, uint64_t seq)
{
    if (!self)
        return WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
    jstream_t *s = jstream_find (self, stream);
    if (!s)
        return jfail (self, WEFT_ENOTFOUND, "journal %s: no stream %s", self->dir,
                      stream ? stream : "(null)");
    jfound_t f, next;
    rc = s_lookup (self, s, seq, &f);
    if (rc == 0)
        return jfail (self, WEFT_ENOTFOUND, "journal %s: stream %s has no entry %" PRIu64,
                      self->dir, stream, seq);
    return rc < 0 ? rc : s_remove (self, s, &f, &next, NULL);
}

/* ---------------------------------------------------------------------------
   Retention
*/

//  True when the stream ST exceeds a limit of LIM at NOW_US.
static bool s_over_limits (const journal_stats_t *st, const journal_limits_t *lim, int64_t now_us)
{
    if (st->count == 0)
        return false;
    if (lim->max_count && st->count > lim->max_count)
        return true;
    if (lim->max_bytes && st->bytes > lim->max_bytes)
        return true;
    if (lim->max_age_us <= 0 || now_us < INT64_MIN + lim->max_age_us)
        return false;
    return st->first_time_us < now_us - lim->max_age_us;
}

//  Stages deletions of STREAM's oldest entries while over a limit, at most BUDGET.
int journal_retention_step (journal_t *self, const char *stream, const journal_limits_t *lim,
                            int64_t now_us, size_t budget, size_t *deleted)
{
    if (deleted)
        *deleted = 0;
    if (!self || !lim || lim->max_age_us < 0)
        return self ? jfail (self, WEFT_EINVAL, "journal %s: bad retention limits", self->dir)
                    : WEFT_EINVAL;
    int rc = jready (self);
    jstream_t *s = jstream_find (self, stream);
    if (rc || !s)
        return rc ? rc : WEFT_ENOTFOUND;
    jfound_t f, next;
    int has = 0;
    size_t done = 0;
    while (rc == 0 && done < budget && s_over_limits (&s->staged.st, lim, now_us)) {
        if (!has && (has = jentry_find (self, s, s->staged.st.first_seq, &f)) <= 0) {
            rc = has < 0 ? has
                         : jfail (self, WEFT_ECORRUPT,
                                  "journal %s is corrupt: stream %s counts %" PRIu64
                                  " entries but has none from %" PRIu64,
                                  self->dir, s->name, s->staged.st.count, s->staged.st.first_seq);
            break;
        }
        if ((rc = s_remove (self, s, &f, &next, &has)) == 0) {
            f = next;
            done++;
        }
    }
    if (deleted)
        *deleted = done;
    return rc;
}
