/*  journal/journal_int.h - the journal's internals, shared by journal.c
    (open, commit, streams), journal_meta.c (meta keys), journal_write.c
    (append, delete, retention) and journal_read.c (iterators, time seek).
    Not a contract: see journal.h.

    In-memory model. Each stream has two copies of its state: COMMITTED (as
    on disk) and STAGED (committed + the pending batch). Staging only touches
    STAGED, the batch and the overlay; a successful commit copies STAGED to
    COMMITTED, a failed one copies COMMITTED back to STAGED and drops the
    streams the batch created. The overlay records what the batch did to
    keys that are already committed (deleted entries, meta puts/deletes), so
    reads of staged state do not need the store to read its own batch.
    Entries appended in the batch are in the stream's PEND array (seq order).

    Storage. Every read and write goes through the store's table of
    operations (journal/store.h): LevelDB (store_leveldb.c) or a memory disk
    (store_mem.c), chosen at open by journal_options_t.disk.

    After a failed write the database is closed and reopened at once:
    LevelDB's log writer is not usable after a failed append (it counts the
    lost bytes as written, so the records after them would be unreadable at
    the next recovery, and acknowledged entries lost). Reopening recovers up
    to the last complete record and reloads the streams from disk. While it
    cannot reopen (disk still full), the journal is BROKEN: every call that
    needs the database retries, and fails with the write's code.
*/
#ifndef WEFT_JOURNAL_JOURNAL_INT_H
#define WEFT_JOURNAL_JOURNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/jmap.h"
#include "journal/journal.h"
#include "journal/store.h"

//  Key type prefixes (see the layout in journal.h and docs/JOURNAL.md).
#define JK_ENTRY  'E'
#define JK_INDEX  'I'
#define JK_META   'M'
#define JK_STREAM 'S'
#define JK_FORMAT 'V'

#define JK_ENTRY_LEN  13 //  'E' sid seq
#define JK_INDEX_LEN  21 //  'I' sid time seq
#define JK_STREAM_LEN 5  //  'S' sid
#define JK_PREFIX_LEN 5  //  type + sid: the range of one stream's entries or index
#define JK_INDEX_SEQ  13 //  offset of the seq in an index key

#define JOURNAL_FORMAT 1  //  value of the 'V' key
#define JREC_VERSION   1  //  first byte of a stream record
#define JREC_HEADER    49 //  stream record bytes before the name
#define JENTRY_HEADER  8  //  entry value bytes before the payload (time_us)

//  Overlay tags (jmap_item_t.num) for keys the batch touched.
#define JOV_DELETED 0 //  the batch deletes this key
#define JOV_PUT     1 //  the batch puts this key (meta: blob = value)

//  A stream's state: its public statistics and where its time index is.
typedef struct {
    journal_stats_t st;  //  count, bytes, first/last seq and time
    uint32_t idx_count;  //  entries since the last index point (0: none yet this run)
    int64_t idx_time_us; //  time of the last index point
} jstate_t;

//  An entry appended in the pending batch.
typedef struct {
    uint64_t seq;    //  its seq
    int64_t time_us; //  its time
    uint32_t len;    //  payload size
    bool deleted;    //  deleted again in the same batch
} jpend_t;

//  One stream.
typedef struct {
    char *name;         //  its name (owned, NUL-terminated)
    size_t nlen;        //  strlen (name)
    uint32_t sid;       //  its persisted id
    size_t slot;        //  its index in journal_t.streams
    jstate_t committed; //  as on disk
    jstate_t staged;    //  committed + the pending batch
    bool dirty;         //  touched by the pending batch
    bool trim_due;      //  its first entry moved in this batch: trim the time index at commit
    jpend_t *pend;      //  entries appended in the pending batch, seq order
    size_t npend;       //  used entries of pend
    size_t pend_cap;    //  allocated entries of pend
} jstream_t;

//  A present entry found by jentry_find ().
typedef struct {
    uint64_t seq;    //  its seq
    int64_t time_us; //  its time
    uint64_t len;    //  payload size
    jpend_t *pend;   //  its PEND slot when staged in this batch, else NULL
} jfound_t;

struct journal {
    char *dir;                   //  directory (owned)
    const wlog_t *log;           //  logger (borrowed, may be NULL)
    const store_ops_t *ops;      //  the storage backend
    store_t *db;                 //  the open store
    store_batch_t *batch;        //  the pending batch
    store_iter_t *scan;          //  committed-data iterator, dropped at each commit
    jstream_t **streams;         //  streams, committed ones first
    size_t nstreams;             //  streams in use (staged ones included)
    size_t ncommitted;           //  streams that exist on disk
    size_t cap;                  //  allocated slots of streams and dirty
    size_t *dirty;               //  indexes of streams touched by the batch
    size_t ndirty;               //  used entries of dirty
    jmap_t names;                //  stream name -> index in streams
    jmap_t overlay;              //  committed key -> JOV_* for the batch
    uint32_t next_sid;           //  id of the next new stream (staged)
    uint32_t committed_next_sid; //  next_sid as on disk
    size_t pending;              //  ops staged since the last commit
    uint8_t *vbuf;               //  scratch for entry values
    size_t vbuf_cap;             //  size of vbuf
    int fail_next;               //  test hook: the next commit fails with this
    bool sync_due;               //  journal_sync_next (): the pending batch is synced
    int broken;                  //  WEFT_E* of a failed write not yet cured by a reopen
    bool reopen_logged;          //  a failed reopen was logged (log it once)
    size_t iters;                //  live journal iterators (no reopen under them)
    char error[512];             //  last failure message
};

//  Big-endian encoders and decoders.
static inline void jput32 (uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline void jput64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint32_t jget32 (const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t jget64 (const uint8_t *p)
{
    return (uint64_t)jget32 (p) << 32 | jget32 (p + 4);
}

//  Writes the key prefix TYPE sid into KEY (JK_PREFIX_LEN bytes).
static inline void jkey_prefix (uint8_t *key, char type, uint32_t sid)
{
    key[0] = (uint8_t)type;
    jput32 (key + 1, sid);
}

//  Writes the entry key of SID, SEQ into KEY (JK_ENTRY_LEN bytes).
static inline void jkey_entry (uint8_t *key, uint32_t sid, uint64_t seq)
{
    jkey_prefix (key, JK_ENTRY, sid);
    jput64 (key + 5, seq);
}

//  Writes the time-index key of SID, TIME_US, SEQ into KEY (JK_INDEX_LEN bytes).
//  Times are stored offset by 2^63 so that negative times sort first.
static inline void jkey_index (uint8_t *key, uint32_t sid, int64_t time_us, uint64_t seq)
{
    jkey_prefix (key, JK_INDEX, sid);
    jput64 (key + 5, (uint64_t)time_us ^ (1ull << 63));
    jput64 (key + JK_INDEX_SEQ, seq);
}

//  journal.c: records a failure: formats the message into self->error, logs
//  it and returns RC.
int jfail (journal_t *self, int rc, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

//  journal.c: records the store's failure ERR with WHAT as context and
//  returns its code.
int jfail_store (journal_t *self, const store_err_t *err, const char *what);

//  journal.c: reports a failure of journal_open () or journal_repair ()
//  before a journal exists: formats it into ERR (ERRLEN bytes, may be NULL/0),
//  logs it to LOG and returns RC.
int jfail_early (const wlog_t *log, char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

//  journal.c: adds stream NAME (NLEN bytes) with id SID and committed
//  statistics ST (both copies); returns 0 or WEFT_ENOMEM with nothing added.
int jstream_add (journal_t *self, const char *name, size_t nlen, uint32_t sid,
                 const journal_stats_t *st);

//  journal.c: frees every stream (before reloading them from disk).
void jstreams_free (journal_t *self);

//  journal_open.c: loads every stream record from the store: O(streams).
//  Returns 0, WEFT_ECORRUPT, WEFT_ENOMEM or the store's code.
int jstreams_load (journal_t *self);

//  journal.c: drops the committed-data iterator of jscan (), if any.
void jscan_drop (journal_t *self);

//  journal.c: returns 0 when the database can be used; after a failed write
//  that could not reopen it yet (see journal_commit ()), tries again and
//  returns 0 or the code that keeps it unusable.
int jready (journal_t *self);

//  journal.c: returns the stream named NAME, or NULL.
jstream_t *jstream_find (const journal_t *self, const char *name);

//  journal_write.c: stages the deletion of S's time-index points below its
//  first seq (once per commit, for streams whose first entry moved).
void jstream_index_trim (journal_t *self, jstream_t *s);

//  journal.c: marks S as touched by the pending batch (never allocates).
void jstream_touch (journal_t *self, jstream_t *s);

//  journal.c: returns the committed-data iterator of this batch (created on
//  first use, destroyed by the next commit), or NULL when out of memory.
store_iter_t *jscan (journal_t *self);

//  journal.c: checks a store iterator's error status; returns 0 or a code
//  (recorded with WHAT as context).
int jscan_error (journal_t *self, const store_iter_t *it, const char *what);

//  journal.c: ensures the stream NAME exists, creating it (staged) if needed;
//  stores it in *OUT. Returns 0, WEFT_EINVAL or WEFT_ENOMEM.
int jstream_ensure (journal_t *self, const char *name, jstream_t **out);

//  journal_write.c: finds the first present entry of S with seq >= FROM
//  (committed and not deleted by the batch, or staged). Returns 1 (found,
//  stored in *F), 0 (none) or an error code.
int jentry_find (journal_t *self, jstream_t *s, uint64_t from, jfound_t *f);

#endif
