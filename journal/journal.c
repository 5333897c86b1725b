/*  journal/journal.c - open, close, repair, streams and group commit.
    See journal.h for the contract and journal_int.h for the in-memory model;
    appends, deletions and retention are in journal_write.c, reads in
    journal_read.c, meta keys in journal_meta.c. */
#include "journal/journal_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft.h"

#define JOURNAL_CACHE_DEFAULT (8u << 20) //  block cache when the option is 0
#define JOURNAL_WRITE_DEFAULT (4u << 20) //  write buffer when the option is 0
#define JOURNAL_PEND_INITIAL  16         //  pend slots of a new stream
#define JOURNAL_BLOOM_BITS    10         //  bloom filter bits per key

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
static int s_fail_early (const wlog_t *log, char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
static int s_fail_early (const wlog_t *log, char *err, size_t errlen, int rc, const char *fmt, ...)
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

//  Maps a LevelDB status message to a WEFT_E* code. LevelDB reports a held
//  lock as "IO error: lock <dir>/LOCK: ..." ("already held by process" when
//  this process holds it), damage as "Corruption: ...".
static int s_leveldb_code (const char *lerr)
{
    if (strncmp (lerr, "IO error: lock ", 15) == 0)
        return WEFT_ELOCKED;
    if (strncmp (lerr, "Corruption:", 11) == 0)
        return WEFT_ECORRUPT;
    if (strstr (lerr, "No space left on device") || strstr (lerr, "Disk quota exceeded"))
        return WEFT_ENOSPC;
    return WEFT_EIO;
}

//  Maps and records a LevelDB error (freed here) that happened doing WHAT.
int jfail_leveldb (journal_t *self, char *lerr, const char *what)
{
    int rc = s_leveldb_code (lerr);
    if (rc == WEFT_ELOCKED && strstr (lerr, "already held by process"))
        jfail (self, rc, "journal %s is already open in this process (%s)", self->dir, lerr);
    else if (rc == WEFT_ELOCKED)
        jfail (self, rc, "journal %s is in use by another process (%s)", self->dir, lerr);
    else if (rc == WEFT_ECORRUPT)
        jfail (self, rc, "journal %s is corrupt: %s: %s; run `weftd --repair`", self->dir, what,
               lerr);
    else if (rc == WEFT_ENOSPC)
        jfail (self, rc, "journal %s: %s: disk full (%s)", self->dir, what, lerr);
    else
        jfail (self, rc, "journal %s: %s: %s", self->dir, what, lerr);
    leveldb_free (lerr);
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
static int s_stream_add (journal_t *self, const char *name, size_t nlen, uint32_t sid,
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
static void s_streams_free (journal_t *self)
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
    if (s_stream_add (self, name, nlen, self->next_sid, &empty) != 0)
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

//  Decodes a stream record (LEN bytes of V) into *ST and the name's place;
//  returns 0, or -1 when malformed.
static int s_record_decode (const uint8_t *v, size_t len, journal_stats_t *st, const char **name,
                            size_t *nlen)
{
    if (len <= JREC_HEADER || len > JREC_HEADER + JOURNAL_NAME_MAX || v[0] != JREC_VERSION)
        return -1;
    st->count = jget64 (v + 1);
    st->bytes = jget64 (v + 9);
    st->first_seq = jget64 (v + 17);
    st->last_seq = jget64 (v + 25);
    st->first_time_us = (int64_t)jget64 (v + 33);
    st->last_time_us = (int64_t)jget64 (v + 41);
    *name = (const char *)v + JREC_HEADER;
    *nlen = len - JREC_HEADER;
    if (memchr (*name, 0, *nlen) || st->count > st->last_seq)
        return -1;
    return 0;
}

//  Loads one stream record from the iterator's current position.
static int s_load_record (journal_t *self, leveldb_iterator_t *it)
{
    size_t klen, vlen;
    const uint8_t *k = (const uint8_t *)leveldb_iter_key (it, &klen);
    const uint8_t *v = (const uint8_t *)leveldb_iter_value (it, &vlen);
    journal_stats_t st;
    const char *name;
    size_t nlen;
    if (klen != JK_STREAM_LEN || s_record_decode (v, vlen, &st, &name, &nlen) != 0)
        return jfail (self, WEFT_ECORRUPT, "journal %s is corrupt: a malformed stream record",
                      self->dir);
    uint32_t sid = jget32 (k + 1);
    if (sid == 0 || jmap_find (&self->names, name, nlen))
        return jfail (self, WEFT_ECORRUPT,
                      "journal %s is corrupt: stream id %" PRIu32
                      " is invalid or its name is taken",
                      self->dir, sid);
    if (s_stream_add (self, name, nlen, sid, &st) != 0)
        return jfail (self, WEFT_ENOMEM, "journal %s: out of memory", self->dir);
    if (sid >= self->next_sid)
        self->next_sid = sid + 1;
    return 0;
}

//  Loads every stream record: O(streams).
static int s_load_streams (journal_t *self)
{
    leveldb_iterator_t *it = leveldb_create_iterator (self->db, self->rscan);
    const char prefix = JK_STREAM;
    int rc = 0;
    self->next_sid = 1;
    for (leveldb_iter_seek (it, &prefix, 1); leveldb_iter_valid (it) && rc == 0;
         leveldb_iter_next (it)) {
        size_t klen;
        const char *k = leveldb_iter_key (it, &klen);
        if (klen == 0 || k[0] != JK_STREAM)
            break;
        rc = s_load_record (self, it);
    }
    if (rc == 0)
        rc = jscan_error (self, it, "reading the stream records");
    leveldb_iter_destroy (it);
    self->ncommitted = self->nstreams;
    self->committed_next_sid = self->next_sid;
    return rc;
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

//  Returns this batch's committed-data iterator. LevelDB iterators see the
//  database as of their creation; it changes only at commit, which drops it.
//  (it fills the block cache: deletes and index trims look up entries near
//  each other, again and again; long scans of whole streams use rscan)
leveldb_iterator_t *jscan (journal_t *self)
{
    if (!self->scan)
        self->scan = leveldb_create_iterator (self->db, self->rget);
    return self->scan;
}

//  Drops the committed-data iterator.
static void s_scan_drop (journal_t *self)
{
    if (self->scan) {
        leveldb_iter_destroy (self->scan);
        self->scan = NULL;
    }
}

//  Returns 0, or records and returns the error status of IT.
int jscan_error (journal_t *self, const leveldb_iterator_t *it, const char *what)
{
    char *lerr = NULL;
    leveldb_iter_get_error (it, &lerr);
    return lerr ? jfail_leveldb (self, lerr, what) : 0;
}

/* ---------------------------------------------------------------------------
   Group commit
*/

//  Returns the number of staged ops.
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
        leveldb_writebatch_put (self->batch, (const char *)key, sizeof key, (const char *)value,
                                vlen);
    }
}

//  Forgets the batch (its ops, overlay and dirty list) once it is settled.
static void s_batch_reset (journal_t *self)
{
    leveldb_writebatch_clear (self->batch);
    jmap_clear (&self->overlay);
    self->ndirty = 0;
    self->pending = 0;
    s_scan_drop (self);
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
        return WEFT_ESTATE; //  LevelDB iterators must not outlive their database
    s_scan_drop (self);
    if (self->db)
        leveldb_close (self->db);
    char *lerr = NULL;
    self->db = leveldb_open (self->options, self->dir, &lerr);
    int rc = lerr ? jfail_leveldb (self, lerr, "reopening after a failed write") : 0;
    if (rc == 0) {
        s_streams_free (self);
        rc = s_load_streams (self);
    }
    if (rc && self->db) {
        leveldb_close (self->db);
        self->db = NULL;
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

//  Writes the pending batch with one leveldb_write.
int journal_commit (journal_t *self, bool sync)
{
    if (!self)
        return WEFT_EINVAL;
    int rc = jready (self);
    if (rc)
        return rc;
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
    char *lerr = NULL;
    leveldb_write (self->db, sync ? self->wsync : self->wasync, self->batch, &lerr);
    if (lerr)
        return s_write_failed (self, jfail_leveldb (self, lerr, "commit failed"));
    s_settle (self);
    return 0;
}

//  Test hook: the next commit fails with ERR.
void journal_fail_next_commit (journal_t *self, int err)
{
    if (self)
        self->fail_next = err < 0 ? err : WEFT_EIO;
}

/* ---------------------------------------------------------------------------
   Open, close, repair
*/

//  Creates DIR and its missing parents; returns 0 or an errno value.
static int s_mkdirs (const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen (dir);
    if (len >= sizeof path)
        return ENAMETOOLONG;
    memcpy (path, dir, len + 1);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (path, 0755) != 0 && errno != EEXIST)
                return errno;
            *p = '/';
        }
    if (mkdir (path, 0755) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

//  Makes sure DIR is a writable directory, creating it if missing.
static int s_prepare_dir (const char *dir, const wlog_t *log, char *err, size_t errlen)
{
    struct stat info;
    int code = s_mkdirs (dir);
    if (code == 0 && stat (dir, &info) != 0)
        code = errno;
    if (code == 0 && !S_ISDIR (info.st_mode))
        code = ENOTDIR;
    if (code == ENOTDIR)
        return s_fail_early (log, err, errlen, WEFT_EIO,
                             "journal %s is not a directory (or a parent is a file)", dir);
    if (code)
        return s_fail_early (log, err, errlen, WEFT_EIO, "journal %s cannot be created: %s", dir,
                             strerror (code));
    if (access (dir, W_OK | X_OK) != 0)
        return s_fail_early (log, err, errlen, WEFT_EIO, "journal %s is not writable: %s", dir,
                             strerror (errno));
    return 0;
}

//  Allocates a journal for DIR with its LevelDB options; NULL when out of memory.
static journal_t *s_new (const char *dir, const journal_options_t *opts)
{
    journal_t *self = calloc (1, sizeof *self);
    if (!self || !(self->dir = strdup (dir))) {
        free (self);
        return NULL;
    }
    self->log = opts ? opts->log : NULL;
    size_t cache = opts && opts->cache_bytes ? opts->cache_bytes : JOURNAL_CACHE_DEFAULT;
    size_t wbuf = opts && opts->write_buffer ? opts->write_buffer : JOURNAL_WRITE_DEFAULT;
    self->cache = leveldb_cache_create_lru (cache);
    self->filter = leveldb_filterpolicy_create_bloom (JOURNAL_BLOOM_BITS);
    self->options = leveldb_options_create ();
    leveldb_options_set_create_if_missing (self->options, 1);
    leveldb_options_set_paranoid_checks (self->options, 1);
    leveldb_options_set_cache (self->options, self->cache);
    leveldb_options_set_filter_policy (self->options, self->filter);
    leveldb_options_set_write_buffer_size (self->options, wbuf);
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
    self->batch = leveldb_writebatch_create ();
    jmap_init (&self->names);
    jmap_init (&self->overlay);
    return self;
}

//  Checks the format key; on a new database writes it, on a database that
//  has keys but no format key refuses it.
static int s_check_format (journal_t *self)
{
    const char key = JK_FORMAT;
    char *lerr = NULL;
    size_t vlen = 0;
    char *value = leveldb_get (self->db, self->rget, &key, 1, &vlen, &lerr);
    if (lerr)
        return jfail_leveldb (self, lerr, "reading the format");
    uint32_t format = value && vlen == 4 ? jget32 ((const uint8_t *)value) : 0;
    bool found = value != NULL;
    leveldb_free (value);
    if (found && format != JOURNAL_FORMAT)
        return jfail (self, WEFT_EINVAL, "journal %s has format %" PRIu32 ", this build reads %d",
                      self->dir, format, JOURNAL_FORMAT);
    if (found)
        return 0;
    leveldb_iterator_t *it = leveldb_create_iterator (self->db, self->rscan);
    leveldb_iter_seek_to_first (it);
    bool empty = !leveldb_iter_valid (it);
    int rc = jscan_error (self, it, "reading the format");
    leveldb_iter_destroy (it);
    if (rc || !empty)
        return rc ? rc
                  : jfail (self, WEFT_EINVAL, "journal %s holds a database that is not a journal",
                           self->dir);
    uint8_t v[4];
    jput32 (v, JOURNAL_FORMAT);
    leveldb_put (self->db, self->wsync, &key, 1, (const char *)v, sizeof v, &lerr);
    return lerr ? jfail_leveldb (self, lerr, "writing the format") : 0;
}

//  Opens the journal in DIR.
int journal_open (const char *dir, const journal_options_t *opts, journal_t **out, char *err,
                  size_t errlen)
{
    const wlog_t *log = opts ? opts->log : NULL;
    if (err && errlen)
        *err = 0;
    if (out)
        *out = NULL;
    if (!dir || !*dir || !out)
        return s_fail_early (log, err, errlen, WEFT_EINVAL, "journal: no directory given");
    int rc = s_prepare_dir (dir, log, err, errlen);
    if (rc)
        return rc;
    journal_t *self = s_new (dir, opts);
    if (!self)
        return s_fail_early (log, err, errlen, WEFT_ENOMEM, "journal %s: out of memory", dir);
    char *lerr = NULL;
    self->db = leveldb_open (self->options, dir, &lerr);
    rc = lerr ? jfail_leveldb (self, lerr, "open") : 0;
    if (rc == 0)
        rc = s_check_format (self);
    if (rc == 0)
        rc = s_load_streams (self);
    if (rc) {
        if (err && errlen)
            snprintf (err, errlen, "%s", self->error);
        journal_close (&self);
        return rc;
    }
    self->error[0] = 0;
    *out = self;
    return 0;
}

//  Frees the LevelDB handles and options of SELF.
static void s_leveldb_free (journal_t *self)
{
    s_scan_drop (self);
    if (self->db)
        leveldb_close (self->db);
    leveldb_writebatch_destroy (self->batch);
    leveldb_options_destroy (self->options);
    leveldb_filterpolicy_destroy (self->filter);
    leveldb_cache_destroy (self->cache);
    leveldb_readoptions_destroy (self->rget);
    leveldb_readoptions_destroy (self->rscan);
    leveldb_writeoptions_destroy (self->wsync);
    leveldb_writeoptions_destroy (self->wasync);
}

//  Closes the journal, discarding staged ops.
void journal_close (journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    journal_t *self = *self_p;
    if (self->pending)
        wlog_warn (self->log, "journal %s: closed with %zu ops not committed (discarded)",
                   self->dir, self->pending);
    s_leveldb_free (self);
    s_streams_free (self);
    free (self->streams);
    free (self->dirty);
    jmap_free (&self->names);
    jmap_free (&self->overlay);
    free (self->vbuf);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

//  Fails with WEFT_ELOCKED when some process (this one included) has DIR
//  open: a trial open takes LevelDB's lock and releases it at once.
static int s_check_unlocked (const char *dir, char *err, size_t errlen)
{
    leveldb_options_t *options = leveldb_options_create ();
    char *lerr = NULL;
    leveldb_t *db = leveldb_open (options, dir, &lerr);
    leveldb_options_destroy (options);
    if (db)
        leveldb_close (db);
    int rc = lerr && s_leveldb_code (lerr) == WEFT_ELOCKED ? WEFT_ELOCKED : 0;
    if (rc)
        s_fail_early (NULL, err, errlen, rc, "journal %s is in use, cannot repair it (%s)", dir,
                      lerr);
    leveldb_free (lerr);
    return rc;
}

//  Salvages the journal in DIR with leveldb_repair_db.
int journal_repair (const char *dir, char *err, size_t errlen)
{
    struct stat info;
    if (err && errlen)
        *err = 0;
    if (!dir || !*dir)
        return s_fail_early (NULL, err, errlen, WEFT_EINVAL, "journal: no directory given");
    if (stat (dir, &info) != 0 || !S_ISDIR (info.st_mode))
        return s_fail_early (NULL, err, errlen, WEFT_EIO, "journal %s is not a directory", dir);
    int rc = s_check_unlocked (dir, err, errlen);
    if (rc)
        return rc;
    leveldb_options_t *options = leveldb_options_create ();
    char *lerr = NULL;
    leveldb_repair_db (options, dir, &lerr);
    leveldb_options_destroy (options);
    if (lerr) {
        rc = s_fail_early (NULL, err, errlen, WEFT_EIO, "journal %s: repair failed: %s", dir, lerr);
        leveldb_free (lerr);
    }
    return rc;
}
