/*  journal/journal.h - the node's journal: one LevelDB per node, holding the
    entries of durable topics and queues, their per-stream statistics and a
    few small persistent values. docs/JOURNAL.md is the long form of this.
    The storage is behind journal/store.h: LevelDB, or for the simulator and
    tests an in-memory disk that models what a crash keeps (store_mem.h,
    chosen with journal_options_t.disk).

    Streams. A stream is a sequence of entries named by a string the journal
    does not interpret ("t/<publisher>/<topic>", "q/<queue>"; 1 to
    JOURNAL_NAME_MAX bytes, no NUL). Its first append maps the name to a
    compact 32-bit stream id, persisted, so that entry keys stay short. Each
    entry has a sequence number chosen by the caller (strictly increasing per
    stream, starting at 1 or above), a time in microseconds (the appender's
    clock, assumed non-decreasing within a stream) and an opaque payload.

    Key layout (one-byte type prefix, then big-endian fixed-width integers,
    so that LevelDB's bytewise order is the numeric order and a range scan
    reads a stream in sequence order):

      'E' sid:u32 seq:u64                 -> time_us:i64 payload    an entry
      'I' sid:u32 time_us:u64 seq:u64     -> (empty)                sparse time index
      'S' sid:u32                         -> version:u8 count bytes first_seq
                                             last_seq first_time last_time (u64 each)
                                             name                 stream record
      'M' key                             -> value                  meta (small values)
      'V'                                 -> format:u32             journal format (1)

    Group commit. Appends, deletions and meta puts/deletes are staged into one
    pending LevelDB WriteBatch; journal_commit () writes the whole batch (and
    the updated stream records, and the time-index points) with one
    leveldb_write, so a batch is on disk entirely or not at all.

    Durability. journal_commit (j, true) ("sync") calls fsync before it
    returns: what it acknowledged survives a power loss. journal_commit (j,
    false) ("async") hands the batch to the OS without fsync: it survives a
    crash of the process (kill -9), but a power cut or a kernel crash may lose
    the last writes.

    Views. journal_stats (), journal_next_seq (), journal_meta_get () and the
    stream enumeration include what is staged in the pending batch (they
    describe the journal as it will be once the batch commits). Iterators and
    journal_seek_time () read committed data only.

    Errors are WEFT_E* codes from weft.h; journal_error () gives the detail of
    the last failure. Disk errors never abort. Any call that reads or writes
    the database may also return the code of an earlier failed commit while
    the journal cannot reopen its database (see journal_commit ()).

    Thread: a journal belongs to one thread (the node's actor); no function
    here may be called concurrently on the same journal or its iterators.
    Distinct journals (in distinct directories) are independent.
*/
#ifndef WEFT_JOURNAL_JOURNAL_H
#define WEFT_JOURNAL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "journal/store.h"

#define JOURNAL_NAME_MAX    1024        //  longest stream name, bytes
#define JOURNAL_KEY_MAX     1024        //  longest meta key, bytes
#define JOURNAL_ENTRY_MAX   (64u << 20) //  largest payload, bytes
#define JOURNAL_INDEX_EVERY 1000        //  a time-index point at least every N entries
#define JOURNAL_INDEX_US    1000000     //  ... and at least every this many microseconds

typedef struct journal journal_t;
typedef struct journal_iter journal_iter_t;
typedef struct jdisk jdisk_t; //  an in-memory disk (journal/store_mem.h)

//  Options of journal_open (); a zeroed struct (or NULL) means defaults.
typedef struct {
    const wlog_t *log;   //  logger (borrowed, must outlive the journal); NULL: warnings to stderr
    size_t cache_bytes;  //  LevelDB block cache size; 0: 8 MiB
    size_t write_buffer; //  LevelDB write buffer (memtable) size; 0: 4 MiB
    jdisk_t *disk;       //  NULL: LevelDB in the directory; else this memory disk (borrowed,
                         //  must outlive the journal), and the directory is only a label
} journal_options_t;

//  Statistics of one stream, kept incrementally and persisted with its entries.
typedef struct {
    uint64_t count;        //  entries present
    uint64_t bytes;        //  payload bytes of the entries present
    uint64_t first_seq;    //  oldest present entry; last_seq + 1 when empty
    uint64_t last_seq;     //  highest seq ever appended, even if deleted since; never decreases
    int64_t first_time_us; //  time of the oldest present entry; 0 when empty
    int64_t last_time_us;  //  time of the entry last_seq (the last append)
} journal_stats_t;

//  Retention limits of a stream; 0 means unlimited.
typedef struct {
    int64_t max_age_us; //  delete entries older than now - max_age_us
    uint64_t max_bytes; //  keep at most this many payload bytes
    uint64_t max_count; //  keep at most this many entries
} journal_limits_t;

//  One entry read by an iterator. DATA is borrowed: valid until the next
//  journal_iter_next () or journal_iter_destroy () on that iterator.
typedef struct {
    uint64_t seq;     //  its sequence number
    int64_t time_us;  //  its time, as appended
    const void *data; //  its payload
    size_t len;       //  payload size
} journal_entry_t;

/* ---------------------------------------------------------------------------
   Open, close, repair
*/

//  Opens (creating it and its parent directories if missing) the journal in
//  DIR. OPTS may be NULL. On success stores the new journal in *OUT and
//  returns 0. On failure returns a code, writes a one-line message into ERR
//  (ERRLEN bytes, may be NULL/0) and logs it:
//    WEFT_ELOCKED  another process (or another journal_t of this one) has DIR open;
//    WEFT_ECORRUPT the journal is damaged: run `weftd --repair` (journal_repair ());
//    WEFT_EIO      DIR cannot be created, is not a directory, or is not writable;
//    WEFT_EINVAL   DIR holds something else than a journal of this format;
//    WEFT_ENOSPC   the disk is full; WEFT_ENOMEM out of memory.
//  Cost: O(streams), not O(entries).
int journal_open (const char *dir, const journal_options_t *opts, journal_t **out, char *err,
                  size_t errlen);

//  Closes the journal and nulls *SELF_P. NULL-safe. Ops staged and not
//  committed are discarded (and logged as a warning): commit first. Every
//  iterator of the journal must have been destroyed before.
void journal_close (journal_t **self_p);

//  Salvages what can be read of the (closed) journal in DIR with LevelDB's
//  repair: entries of damaged files may be lost, what is readable is kept.
//  Must not run while any process has DIR open. Returns 0, WEFT_EIO (with a
//  message in ERR) or WEFT_EINVAL.
int journal_repair (const char *dir, char *err, size_t errlen);

//  Returns the message of the journal's last failure ("" if none). Owned by
//  the journal, valid until its next call.
const char *journal_error (const journal_t *self);

/* ---------------------------------------------------------------------------
   Staging and group commit
*/

//  Stages entry SEQ of STREAM (created on its first append) with TIME_US and
//  a copy of DATA (LEN bytes; DATA may be NULL when LEN is 0). SEQ must be
//  greater than the stream's last_seq (staged included), else WEFT_EINVAL.
//  Returns 0, WEFT_EINVAL (bad name, seq), WEFT_EMSGSIZE (LEN >
//  JOURNAL_ENTRY_MAX) or WEFT_ENOMEM; on failure nothing is staged.
int journal_append (journal_t *self, const char *stream, uint64_t seq, int64_t time_us,
                    const void *data, size_t len);

//  Stages the deletion of entry SEQ of STREAM (a queue ack). The entry may
//  be committed or staged in this batch. Returns 0, WEFT_ENOTFOUND (no such
//  stream or entry, or already deleted), WEFT_EIO/WEFT_ECORRUPT (could not
//  read it) or WEFT_ENOMEM.
int journal_delete (journal_t *self, const char *stream, uint64_t seq);

//  Stages KEY (a string of 1 to JOURNAL_KEY_MAX bytes) = a copy of VALUE
//  (LEN bytes). Returns 0, WEFT_EINVAL or WEFT_ENOMEM.
int journal_meta_put (journal_t *self, const char *key, const void *value, size_t len);

//  Stages the deletion of KEY (deleting a missing key is not an error).
//  Returns 0, WEFT_EINVAL or WEFT_ENOMEM.
int journal_meta_del (journal_t *self, const char *key);

//  Reads KEY, staged puts and deletes of the pending batch included. Stores
//  the value's size in *LEN and, when it fits, the value in BUF (CAP bytes;
//  BUF may be NULL when CAP is 0). Returns 0, WEFT_ENOTFOUND, WEFT_EMSGSIZE
//  (CAP too small: *LEN says how much is needed, nothing copied), WEFT_EINVAL
//  or WEFT_EIO/WEFT_ECORRUPT.
int journal_meta_get (journal_t *self, const char *key, void *buf, size_t cap, size_t *len);

//  Called by journal_meta_scan () for each key: KEY (NUL-terminated) and
//  VALUE (LEN bytes) are borrowed for the call only.
typedef void (journal_meta_fn) (const char *key, const void *value, size_t len, void *arg);

//  Calls FN (KEY, VALUE, LEN, ARG) for every meta key that starts with
//  PREFIX ("" for all), staged puts and deletes included: first the
//  committed keys in byte order, then the keys only the pending batch has.
//  FN must not call the journal. Returns 0, WEFT_EINVAL or
//  WEFT_EIO/WEFT_ECORRUPT (FN may have been called for some keys).
int journal_meta_scan (journal_t *self, const char *prefix, journal_meta_fn *fn, void *arg);

//  Returns the number of ops staged since the last commit (appends,
//  deletions, retention deletions, meta puts and deletes).
size_t journal_pending (const journal_t *self);

//  Writes the pending batch with one leveldb_write; SYNC = fsync before
//  returning (see Durability above). Returns 0 (also when nothing is
//  pending), WEFT_ENOSPC (disk full) or WEFT_EIO/WEFT_ECORRUPT. On failure
//  the whole batch is dropped and the in-memory state (stats, stream ids,
//  next_seq) is as before it: nothing staged in it counts, nothing committed
//  before is harmed; the caller must report failure, not acknowledge.
//  After a failed write the journal closes and reopens its database at once
//  (LevelDB cannot safely write after a failed append) and reloads the
//  streams from disk. While it cannot (disk still full, or an iterator is
//  open), every call that needs the database retries and fails with the
//  same code; stats and the stream list stay readable.
int journal_commit (journal_t *self, bool sync);

//  Makes the next journal_commit () sync its batch (fsync before it returns)
//  even when called with SYNC false: for a write that must survive a power
//  cut on a journal that is otherwise asynchronous (a publisher's sequence
//  reservation, node/durable/). The request goes with the pending batch:
//  once that batch is committed or dropped, commits follow SYNC again. A
//  synced write also makes every write committed before it durable.
void journal_sync_next (journal_t *self);

//  The store under the journal, for a room that keeps keys of its own in the
//  same database (node/raft/: a queue group's log): its backend, the open
//  store (the same object for the journal's life, reopened in place after a
//  failed write) and the pending batch. What the room adds to that batch is
//  written, atomically with the rest, by the next journal_commit (); it says
//  how many ops it added with journal_note_raw () (so that journal_pending ()
//  counts them), and it must treat a failed commit as losing them. Its keys
//  must not begin with one of the journal's prefixes ('E', 'I', 'S', 'M', 'V').
void journal_raw (journal_t *self, const store_ops_t **ops, store_t **store,
                  store_batch_t **batch);
void journal_note_raw (journal_t *self, size_t ops);

//  FOR TESTS ONLY: makes the next journal_commit () fail with ERR (e.g.
//  WEFT_ENOSPC) without writing anything, as a failed write would (the
//  database is reopened too).
void journal_fail_next_commit (journal_t *self, int err);

/* ---------------------------------------------------------------------------
   Streams and statistics (staged ops included)
*/

//  Stores the statistics of STREAM in *STATS. Returns 0 or WEFT_ENOTFOUND.
int journal_stats (const journal_t *self, const char *stream, journal_stats_t *stats);

//  Returns the sequence number the next append to STREAM should use:
//  last_seq + 1, or 1 for a stream never appended to.
uint64_t journal_next_seq (const journal_t *self, const char *stream);

//  Returns the number of streams.
size_t journal_stream_count (const journal_t *self);

//  Returns the name of stream INDEX (0 <= INDEX < journal_stream_count ()),
//  or NULL. Borrowed: valid until the journal closes or a commit fails.
const char *journal_stream_name (const journal_t *self, size_t index);

/* ---------------------------------------------------------------------------
   Reads (committed data only)
*/

//  Creates an iterator over STREAM's committed entries from FROM_SEQ
//  upwards, in sequence order, as committed when it is created (later
//  commits are not seen: create a new one). A range FROM..TO is the caller
//  stopping after TO. Stores it in *OUT; returns 0, WEFT_ENOTFOUND (unknown
//  stream) or WEFT_ENOMEM. Destroy it before closing the journal, and soon:
//  after a failed commit the journal cannot reopen while one is open.
int journal_iter_new (journal_t *self, const char *stream, uint64_t from_seq, journal_iter_t **out);

//  Reads the next entry into *ENTRY (borrowed data, see journal_entry_t).
//  Returns 1 (an entry), 0 (no more) or WEFT_EIO/WEFT_ECORRUPT.
int journal_iter_next (journal_iter_t *self, journal_entry_t *entry);

//  Destroys the iterator and nulls *SELF_P. NULL-safe.
void journal_iter_destroy (journal_iter_t **self_p);

//  Stores in *SEQ the first committed seq of STREAM whose time is >= TIME_US,
//  or the seq after the last committed one when no entry is that recent (a
//  reader starting there sees only newer entries). Uses the sparse time
//  index, then scans at most about JOURNAL_INDEX_EVERY entries. Exact when
//  times are non-decreasing within the stream. Returns 0, WEFT_ENOTFOUND
//  (unknown stream) or WEFT_EIO/WEFT_ECORRUPT.
int journal_seek_time (journal_t *self, const char *stream, int64_t time_us, uint64_t *seq);

/* ---------------------------------------------------------------------------
   Retention
*/

//  Stages deletions of STREAM's oldest entries while it exceeds any of LIM's
//  limits (age against NOW_US, same clock as the appended times), at most
//  BUDGET of them, and stores how many in *DELETED (may be NULL). Call it
//  each loop turn until it deletes nothing; the deletions go out with the
//  next commit. last_seq and next_seq never go back. Returns 0,
//  WEFT_ENOTFOUND, WEFT_EINVAL, WEFT_EIO/WEFT_ECORRUPT or WEFT_ENOMEM.
int journal_retention_step (journal_t *self, const char *stream, const journal_limits_t *lim,
                            int64_t now_us, size_t budget, size_t *deleted);

#endif
