/*  journal/journal.c - errors, streams and group commit. See journal.h for
    the contract and journal_int.h for the in-memory model; opening, loading
    and repair are in journal_open.c, appends, deletions and retention in
    journal_write.c, reads in journal_read.c, meta keys in journal_meta.c. */
#include "journal/journal_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define JOURNAL_PEND_INITIAL 16 //  pend slots of a new stream

/* ---------------------------------------------------------------------------
   Errors
*/

//  The level a failure with code RC is logged at: the caller's mistakes and
//  missing keys are not the journal's errors.
static wlog_level_t s_level (int rc)
{
    if (rc == WEFT_ENOTFOUND)
        return WLOG_DEBUG;
    return rc == WEFT_EINVAL || rc == WEFT_EMSGSIZE ? WLOG_WARN : WLOG_ERROR;
}

//  Formats a message into ERR (if any) and logs it; returns RC.
static int s_report (const wlog_t *log, char *err, size_t errlen, int rc, const char *fmt,
                     va_list args)
{
    char line[512];
    vsnprintf (line, sizeof line, fmt, args);
    if (err && errlen)
        snprintf (err, errlen, "%s", line);
    wlog (log, s_level (rc), "%s", line);
    return rc;
}

//  Reports a failure of journal_open () or journal_repair () before a
//  journal exists; returns RC.
int jfail_early (const wlog_t *log, char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    s_report (log, err, errlen, rc, fmt, args);
    va_end (args);
    return rc;
}

//  Records a failure of SELF: message into self->error, logged once.
int jfail (journal_t *self, int rc, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    s_report (self->log, self->error, sizeof self->error, rc, fmt, args);
    va_end (args);
    return rc;
}

//  Records the store's failure ERR that happened doing WHAT.
int jfail_store (journal_t *self, const store_err_t *err, const char *what)
{
    int rc = err->code;
    if (rc == WEFT_ELOCKED && err->held_here)
        jfail (self, rc, "journal %s is already open in this process (%s)", self->dir, err->msg);
    else if (rc == WEFT_ELOCKED)
        jfail (self, rc, "journal %s is in use by another process (%s)", self->dir, err->msg);
    else if (rc == WEFT_ECORRUPT)
        jfail (self, rc, "journal %s is corrupt: %s: %s; run `weftd --repair`", self->dir, what,
               err->msg);
    else if (rc == WEFT_ENOSPC)
        jfail (self, rc, "journal %s: %s: disk full (%s)", self->dir, what, err->msg);
    else
        jfail (self, rc, "journal %s: %s: %s", self->dir, what, err->msg);
    return rc;
}

//  Returns the last failure message.
const char *journal_error (const journal_t *self)
{
    return self ? self->error : "no journal";
}

/* ---------------------------------------------------------------------------
   Streams
*/

//  Grows the streams and dirty arrays to hold one more stream.
static int s_streams_reserve (journal_t *self)
{
    if (self->nstreams < self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : 16;
    jstream_t **streams = realloc (self->streams, cap * sizeof *streams);
    if (!streams)
        return WEFT_ENOMEM;
    self->streams = streams;
    size_t *dirty = realloc (self->dirty, cap * sizeof *dirty);
    if (!dirty)
        return WEFT_ENOMEM;
    self->dirty = dirty;
    self->cap = cap;
    return 0;
}

//  Frees a stream.
static void s_stream_free (jstream_t *s)
{
    if (s) {
        free (s->name);
        free (s->pend);
        free (s);
    }
}

//  Adds stream NAME (NLEN bytes) with id SID and committed statistics ST
//  (both copies); returns 0 or WEFT_ENOMEM with nothing added.
int jstream_add (journal_t *self, const char *name, size_t nlen, uint32_t sid,
                 const journal_stats_t *st)
{
    jstream_t *s = calloc (1, sizeof *s);
    if (!s || s_streams_reserve (self) != 0)
        goto nomem;
    s->name = malloc (nlen + 1);
    s->pend = malloc (JOURNAL_PEND_INITIAL * sizeof *s->pend);
    if (!s->name || !s->pend)
        goto nomem;
    memcpy (s->name, name, nlen);
    s->name[nlen] = 0;
    s->nlen = nlen;
    s->sid = sid;
    s->pend_cap = JOURNAL_PEND_INITIAL;
    s->slot = self->nstreams;
    s->committed.st = *st;
    s->staged = s->committed;
    if (jmap_put (&self->names, name, nlen, (int64_t)s->slot, NULL, 0) != 0)
        goto nomem;
    self->streams[self->nstreams++] = s;
    return 0;
nomem:
    s_stream_free (s);
    return WEFT_ENOMEM;
}

//  Frees every stream (before reloading them from disk).
void jstreams_free (journal_t *self)
{
    for (size_t i = 0; i < self->nstreams; i++)
        s_stream_free (self->streams[i]);
    self->nstreams = self->ncommitted = self->ndirty = 0;
    jmap_clear (&self->names);
}

//  Returns the stream NAME, or NULL.
jstream_t *jstream_find (const journal_t *self, const char *name)
{
    if (!self || !name)
        return NULL;
    jmap_item_t *item = jmap_find (&self->names, name, strlen (name));
    return item ? self->streams[item->num] : NULL;
}

//  Marks S as touched by the pending batch.
void jstream_touch (journal_t *self, jstream_t *s)
{
    if (!s->dirty) {
        s->dirty = true;
        self->dirty[self->ndirty++] = s->slot;
    }
}

//  Ensures stream NAME exists, creating it in the pending batch.
int jstream_ensure (journal_t *self, const char *name, jstream_t **out)
{
    if ((*out = jstream_find (self, name)) != NULL)
        return 0;
    size_t nlen = strlen (name);
    if (nlen == 0 || nlen > JOURNAL_NAME_MAX)
        return jfail (self, WEFT_EINVAL, "journal %s: a stream name has 1 to %d bytes", self->dir,
                      JOURNAL_NAME_MAX);
    if (self->next_sid == 0)
        return jfail (self, WEFT_EINVAL, "journal %s: no stream id left", self->dir);
    journal_stats_t empty = {.first_seq = 1};
    if (jstream_add (self, name, nlen, self->next_sid, &empty) != 0)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    self->next_sid++;
    *out = self->streams[self->nstreams - 1];
    jstream_touch (self, *out);
    return 0;
}

//  Encodes S's staged record (the 'S' value) into BUF; returns its size.
static size_t s_record_encode (const jstream_t *s, uint8_t *buf)
{
    const journal_stats_t *st = &s->staged.st;
    buf[0] = JREC_VERSION;
    jput64 (buf + 1, st->count);
    jput64 (buf + 9, st->bytes);
    jput64 (buf + 17, st->first_seq);
    jput64 (buf + 25, st->last_seq);
    jput64 (buf + 33, (uint64_t)st->first_time_us);
    jput64 (buf + 41, (uint64_t)st->last_time_us);
    memcpy (buf + JREC_HEADER, s->name, s->nlen);
    return JREC_HEADER + s->nlen;
}

//  Returns the number of streams.
size_t journal_stream_count (const journal_t *self)
{
    return self ? self->nstreams : 0;
}

//  Returns the name of stream INDEX, or NULL.
const char *journal_stream_name (const journal_t *self, size_t index)
{
    return self && index < self->nstreams ? self->streams[index]->name : NULL;
}

//  Returns the staged statistics of STREAM.
int journal_stats (const journal_t *self, const char *stream, journal_stats_t *stats)
{
    jstream_t *s = jstream_find (self, stream);
    if (!s || !stats)
        return s ? WEFT_EINVAL : WEFT_ENOTFOUND;
    *stats = s->staged.st;
    return 0;
}

//  Returns last_seq + 1 (staged), 1 for an unknown stream.
uint64_t journal_next_seq (const journal_t *self, const char *stream)
{
    jstream_t *s = jstream_find (self, stream);
    return s ? s->staged.st.last_seq + 1 : 1;
}

/* ---------------------------------------------------------------------------
   Committed-data scans
*/

//  Returns this batch's committed-data iterator. Store iterators see the
//  database as of their creation; it changes only at commit, which drops it.
//  (it fills the block cache: deletes and index trims look up entries near
//  each other, again and again; long scans of whole streams do not)
store_iter_t *jscan (journal_t *self)
{
    if (!self->scan)
        self->scan = self->ops->iter_new (self->db, true);
    return self->scan;
}

//  Drops the committed-data iterator.
void jscan_drop (journal_t *self)
{
    if (self->scan)
        self->ops->iter_destroy (&self->scan);
}

//  Returns 0, or records and returns the error status of IT.
int jscan_error (journal_t *self, const store_iter_t *it, const char *what)
{
    store_err_t err;
    return self->ops->iter_error (it, &err) ? jfail_store (self, &err, what) : 0;
}

/* ---------------------------------------------------------------------------
   Group commit
*/

//  Returns the number of staged ops.
void journal_raw (journal_t *self, const store_ops_t **ops, store_t **store,
                  store_batch_t **batch)
{
    *ops = self->ops;
    *store = self->db;
    *batch = self->batch;
}

void journal_note_raw (journal_t *self, size_t ops)
{
    self->pending += ops;
}

size_t journal_pending (const journal_t *self)
{
    return self ? self->pending : 0;
}

//  Adds the staged record of every stream the batch touched to the batch.
static void s_stage_records (journal_t *self)
{
    uint8_t key[JK_STREAM_LEN];
    uint8_t value[JREC_HEADER + JOURNAL_NAME_MAX];
    for (size_t i = 0; i < self->ndirty; i++) {
        jstream_t *s = self->streams[self->dirty[i]];
        if (s->trim_due) {
            s->trim_due = false;
            jstream_index_trim (self, s);
        }
        jkey_prefix (key, JK_STREAM, s->sid);
        size_t vlen = s_record_encode (s, value);
        self->ops->batch_put (self->batch, key, sizeof key, value, vlen);
    }
}

//  Forgets the batch (its ops, overlay and dirty list) once it is settled.
static void s_batch_reset (journal_t *self)
{
    self->ops->batch_clear (self->batch);
    jmap_clear (&self->overlay);
    self->ndirty = 0;
    self->pending = 0;
    jscan_drop (self);
}

//  After a successful write: the staged state becomes the committed one.
static void s_settle (journal_t *self)
{
    for (size_t i = 0; i < self->ndirty; i++) {
        jstream_t *s = self->streams[self->dirty[i]];
        s->committed = s->staged;
        s->dirty = false;
        s->npend = 0;
    }
    self->ncommitted = self->nstreams;
    self->committed_next_sid = self->next_sid;
    s_batch_reset (self);
}

//  After a failed write: back to the committed state; the streams the batch
//  created are dropped. Never allocates.
static void s_rollback (journal_t *self)
{
    for (size_t i = 0; i < self->ndirty; i++) {
        jstream_t *s = self->streams[self->dirty[i]];
        s->staged = s->committed;
        s->dirty = false;
        s->npend = 0;
    }
    while (self->nstreams > self->ncommitted) {
        jstream_t *s = self->streams[--self->nstreams];
        jmap_del (&self->names, s->name, s->nlen);
        s_stream_free (s);
    }
    self->next_sid = self->committed_next_sid;
    s_batch_reset (self);
}

//  Closes and reopens the database and reloads the streams from disk (see
//  journal_int.h: after a failed write). Returns 0 or a code; on failure the
//  database stays closed and the journal broken.
static int s_reopen (journal_t *self)
{
    if (self->iters)
        return WEFT_ESTATE; //  store iterators must not outlive their database
    jscan_drop (self);
    store_err_t err;
    int rc = self->ops->reopen (self->db, &err);
    if (rc)
        jfail_store (self, &err, "reopening after a failed write");
    if (rc == 0) {
        jstreams_free (self);
        rc = jstreams_load (self); //  on failure the store stays open, unused: broken
    }
    if (rc == 0) {
        wlog_info (self->log, "journal %s: reopened after a failed write", self->dir);
        self->broken = 0;
        self->reopen_logged = false;
    }
    return rc;
}

//  Returns 0 when the database can be used, retrying a reopen if broken.
int jready (journal_t *self)
{
    if (!self->broken)
        return 0;
    const wlog_t *log = self->log;
    wlog_t quiet = {.level = WLOG_NONE};
    if (self->reopen_logged)
        self->log = &quiet; //  a full disk must not flood the log: once is enough
    int rc = s_reopen (self);
    self->log = log;
    self->reopen_logged = rc != 0;
    return rc == 0 ? 0 : self->broken;
}

//  After a failed write of the batch: drops it, and reopens the database
//  before anything else is written through it. Returns RC.
static int s_write_failed (journal_t *self, int rc)
{
    char error[sizeof self->error];
    snprintf (error, sizeof error, "%s", self->error);
    s_rollback (self);
    self->broken = rc;
    if (jready (self) != 0) //  keep the commit's message: that is what failed
        snprintf (self->error, sizeof self->error, "%s", error);
    return rc;
}

//  Writes the pending batch with one store write.
int journal_commit (journal_t *self, bool sync)
{
    if (!self)
        return WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
    bool durable = sync || self->sync_due; //  a batch that asked for a sync gets one
    self->sync_due = false;                //  it goes with this batch, written or dropped
    if (self->fail_next) {
        rc = self->fail_next;
        self->fail_next = 0;
        jfail (self, rc, "journal %s: commit failed (%s, injected by a test)", self->dir,
               rc == WEFT_ENOSPC ? "disk full" : "I/O error");
        return s_write_failed (self, rc);
    }
    if (self->pending == 0 && self->ndirty == 0)
        return 0;
    s_stage_records (self);
    store_err_t err;
    if (self->ops->write (self->db, self->batch, durable, &err) != 0)
        return s_write_failed (self, jfail_store (self, &err, "commit failed"));
    s_settle (self);
    return 0;
}

//  The pending batch is synced whatever its commit says.
void journal_sync_next (journal_t *self)
{
    if (self)
        self->sync_due = true;
}

//  Test hook: the next commit fails with ERR.
void journal_fail_next_commit (journal_t *self, int err)
{
    if (self)
        self->fail_next = err < 0 ? err : WEFT_EIO;
}
