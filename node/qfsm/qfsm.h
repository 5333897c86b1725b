/*  node/qfsm/qfsm.h - the replicated state machine of one queue (or queue shard):
    what every member of the queue's Raft group applies, entry by entry, in log order.

    Pure and deterministic: no sockets, no clock reads, no Raft calls, no randomness,
    no iteration over hash order. Two states fed the same entries are equal, byte for
    byte of their snapshots (qfsm_equal); a state restored from a snapshot and fed the
    rest equals one that applied everything.

    What is replicated: the messages not yet acked (ids, priority, headers, body, the
    producer's token, delivery counts, not-before times), the dedup table, counters,
    limits. What is not: dispatch (credits, in-flight leases, ack timeouts) is the
    leader's local business; a new leader rebuilds it from this state, where every
    un-acked message is ready again (at-least-once). Delivery counts survive a leader
    change because the leader logs them (DELIVERED).

    Time: every entry carries the proposing leader's now_ms. The state's clock is the
    largest now_ms applied so far (monotone even when leaders' clocks disagree); the
    dedup window, NACK delays and the ready/delayed split use it, never a real clock.

    Sequence numbers: assigned at apply time from a counter in the state (1, 2, ...),
    so every member numbers alike. FIFO within a priority is seq order, and dispatch
    order is the highest priority first, then the lowest seq.

    Commands (one Raft entry = one batch of commands, see the encoding below):
      ENQUEUE   {id, priority, headers, body, not_before_ms, token}: a new message. An
                id in the dedup table answers QFSM_DUPLICATE with the first seq, adding
                nothing. Beyond max_messages / max_bytes it answers WEFT_EFULL (in a
                dead-letter queue: QFSM_PARKED, see below), and so it does, in any
                queue, once seqs ran out (2^64 - 1). Otherwise 0 and its new seq.
      ACK       {seq}: the message is gone. 0, or WEFT_EINVAL for a seq not pending.
      DELIVERED {seq, count}: the leader handed the message out; its delivery count
                becomes max (count, current). The leader must not hand out a message
                whose count reached max_deliver (qfsm_info_t.exhausted).
      NACK      {seq, delay_ms}: back to the queue, not before clock + delay_ms. When its
                count reached max_deliver it is dead-lettered instead, reason
                "max_deliver" (QFSM_DEADLETTERED).
      DEAD      {seq, reason}: dead-lettered now (QFSM_DEADLETTERED); refused with
                WEFT_EINVAL in a dead-letter queue, which has nowhere to send it.
      PURGE     every message goes (parked ones too); count = how many.
      CONFIG    {limits, dedup bounds, dlq flag}: replaces the configuration. Messages
                already held stay even if they exceed new limits; an over-full dedup
                table is trimmed at once, oldest first.
    Every command gets one qfsm_result_t, in order (an ACK of n seqs gets n).

    Dedup: msg_id -> (seq, applied time), bounded by dedup_max ids and dedup_window_ms
    of state clock (defaults 100,000 and 2 minutes); the oldest are evicted first.
    Ids stay after their message is acked, so a producer's retry within the window is
    still a duplicate. Empty ids are never deduplicated.

    Dead letters are never dropped: the messages themselves are handed to the caller
    in qfsm_out_t (with their reason) so the host enqueues them into `<queue>.dlq`.
    A state configured as a dead-letter queue (dlq) never refuses: an ENQUEUE beyond
    its limits is parked (kept, counted, in snapshots, not dispatched) and parked
    letters join the queue, oldest first, as soon as there is room; while any are
    parked new letters park behind them. A dead-letter queue ignores max_deliver.

    Encoding, little-endian, no padding (docs/QUEUES.md, "The replicated state machine"):
      entry     u16 magic 0x4651 | u8 version 1 | u8 flags 0 | u32 records | i64 now_ms
      ENQUEUE   u8 1 | u8 priority | u8 id_len | u32 headers_len | u32 body_len
                | i64 not_before_ms | u64 token | id | headers | body
      ACK       u8 2 | u32 n (>= 1) | n x u64 seq
      DELIVERED u8 3 | u64 seq | u32 count (>= 1)
      NACK      u8 4 | u64 seq | i64 delay_ms (>= 0)
      DEAD      u8 5 | u64 seq | u8 reason_len | reason
      PURGE     u8 6
      CONFIG    u8 7 | u64 max_messages | u64 max_bytes | u32 max_deliver | u32 dedup_max
                | i64 dedup_window_ms (>= 0) | u8 flags (bit 0: dlq)
    An entry is checked whole before anything is applied: a bad magic, version, flag,
    op, length, count, priority (> 9), id (> 128 bytes or holding a NUL), reason (> 64
    bytes), headers (> 64 KiB), body (> 64 MiB) or a trailing byte makes qfsm_apply
    return WEFT_EINVAL and change nothing. Nothing is allocated beyond what the
    entry's own size bounds. The snapshot format is in qfsm_snap.c.

    Memory: a failed allocation during apply returns WEFT_ENOMEM and leaves the state
    part-applied, i.e. different from its peers': it is then marked broken and answers
    WEFT_ESTATE to every later apply; the host must restore it from a snapshot.

    Thread: a qfsm_t, qfsm_out_t or qfsm_batch_t belongs to one thread. No globals.
*/
#ifndef WEFT_NODE_QFSM_H
#define WEFT_NODE_QFSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QFSM_PRIORITIES  10                 //  priorities 0 (lowest) .. 9
#define QFSM_ID_MAX      128                //  longest msg_id, bytes
#define QFSM_REASON_MAX  64                 //  longest dead-letter reason, bytes
#define QFSM_HEADERS_MAX (64 * 1024)        //  largest headers blob, bytes
#define QFSM_BODY_MAX    (64 * 1024 * 1024) //  largest body, bytes

#define QFSM_DEFAULT_MAX_MESSAGES    1000000
#define QFSM_DEFAULT_MAX_BYTES       (1024ULL * 1024 * 1024)
#define QFSM_DEFAULT_MAX_DELIVER     5
#define QFSM_DEFAULT_DEDUP_MAX       100000
#define QFSM_DEFAULT_DEDUP_WINDOW_MS 120000

//  Positive result statuses (negative ones are WEFT_E* codes).
#define QFSM_DUPLICATE    1 //  ENQUEUE: the id is known; seq is the first message's
#define QFSM_PARKED       2 //  ENQUEUE on a full dead-letter queue: kept, parked
#define QFSM_DEADLETTERED 3 //  NACK / DEAD: the message left as a dead letter

//  Command types.
typedef enum {
    QFSM_ENQUEUE = 1,
    QFSM_ACK = 2,
    QFSM_DELIVERED = 3,
    QFSM_NACK = 4,
    QFSM_DEAD = 5,
    QFSM_PURGE = 6,
    QFSM_CONFIG = 7
} qfsm_op_t;

//  The replicated configuration of a state.
typedef struct {
    uint64_t max_messages;   //  pending messages at most; 0 = unlimited
    uint64_t max_bytes;      //  pending headers + body bytes at most; 0 = unlimited
    uint32_t max_deliver;    //  deliveries before dead letter; 0 = unlimited
    uint32_t dedup_max;      //  ids the dedup table keeps; 0 = no dedup
    int64_t dedup_window_ms; //  how long an id is kept, state clock; 0 = no dedup
    bool dlq;                //  a dead-letter queue: parks instead of refusing
} qfsm_config_t;

//  One command, as the batch encoder takes it and the decoder gives it. Pointers
//  are borrowed (decoded: into the entry, valid while it is).
typedef struct {
    qfsm_op_t op;          //  what it is
    uint64_t seq;          //  ACK, DELIVERED, NACK, DEAD: the message
    uint8_t priority;      //  ENQUEUE: 0 .. 9
    uint8_t id_len;        //  ENQUEUE: 0 .. QFSM_ID_MAX (0: no id)
    uint8_t reason_len;    //  DEAD: 0 .. QFSM_REASON_MAX
    uint32_t count;        //  DELIVERED: the new delivery count, >= 1
    uint32_t headers_len;  //  ENQUEUE
    uint32_t body_len;     //  ENQUEUE
    int64_t not_before_ms; //  ENQUEUE: not dispatched before (state clock); 0 = now
    int64_t delay_ms;      //  NACK: >= 0
    uint64_t token;        //  ENQUEUE: the producer's, opaque, returned in the result
    const char *id;        //  ENQUEUE: id_len bytes, no NUL among them
    const void *headers;   //  ENQUEUE: headers_len bytes
    const void *body;      //  ENQUEUE: body_len bytes
    const char *reason;    //  DEAD: reason_len bytes
    qfsm_config_t config;  //  CONFIG
} qfsm_cmd_t;

//  The outcome of one command.
typedef struct {
    int status;     //  0, QFSM_DUPLICATE, QFSM_PARKED, QFSM_DEADLETTERED, WEFT_EFULL, WEFT_EINVAL
    qfsm_op_t op;   //  the command's type
    uint64_t seq;   //  the message (ENQUEUE: the new seq, or the first one's if duplicate)
    uint64_t token; //  ENQUEUE: the command's token
    uint64_t count; //  PURGE: messages removed; DELIVERED: the delivery count now
} qfsm_result_t;

//  A message, as queries and dead letters describe it. Pointers are borrowed:
//  valid until the next apply, restore or destroy (letters: until qfsm_out_reset).
typedef struct {
    uint64_t seq;          //  its sequence
    uint64_t token;        //  the producer's token
    int64_t not_before_ms; //  not dispatched before (state clock)
    uint32_t deliveries;   //  deliveries logged so far
    uint8_t priority;      //  0 .. 9
    bool parked;           //  parked in a full dead-letter queue
    bool exhausted;        //  used max_deliver deliveries: do not hand it out again
    const char *id;        //  NUL-terminated ("" when none)
    size_t id_len;         //  strlen (id)
    const void *headers;   //  headers blob
    size_t headers_len;    //  its size
    const void *body;      //  body
    size_t body_len;       //  its size
    const char *reason;    //  dead letters: NUL-terminated reason; else NULL
} qfsm_info_t;

//  Counters: sizes now (ready / delayed relative to the state clock), then totals.
typedef struct {
    uint64_t pending;      //  messages held, not parked
    uint64_t ready;        //  pending with not_before <= clock
    uint64_t delayed;      //  pending with not_before > clock
    uint64_t parked;       //  parked letters (dead-letter queue over its limit)
    uint64_t bytes;        //  headers + body bytes of pending messages
    uint64_t parked_bytes; //  headers + body bytes of parked letters
    uint64_t dedup_ids;    //  ids in the dedup table
    uint64_t next_seq;     //  the seq the next message gets
    int64_t clock;         //  the state clock, ms
    uint64_t entries;      //  entries applied
    uint64_t enqueued;     //  messages added (parked ones included)
    uint64_t acked;        //  messages acked
    uint64_t nacked;       //  NACKs that put a message back
    uint64_t delivered;    //  DELIVERED commands applied
    uint64_t dead;         //  messages dead-lettered
    uint64_t duplicates;   //  ENQUEUEs answered QFSM_DUPLICATE
    uint64_t refused;      //  ENQUEUEs answered WEFT_EFULL
    uint64_t purged;       //  messages removed by PURGE
    uint64_t parked_total; //  ENQUEUEs answered QFSM_PARKED
    uint64_t invalid;      //  commands answered WEFT_EINVAL
} qfsm_stats_t;

//  A walk over the ready messages in dispatch order (qfsm_iter_first).
typedef struct {
    const void *msg; //  the current message
    int64_t now;     //  messages with not_before > now are skipped
} qfsm_iter_t;

typedef struct qfsm qfsm_t;
typedef struct qfsm_out qfsm_out_t;
typedef struct qfsm_batch qfsm_batch_t;

/* ------------------------------------------------------------------------ */
/*  The state                                                                */

//  Fills CONFIG with the defaults (QFSM_DEFAULT_*, not a dead-letter queue).
void qfsm_config_init (qfsm_config_t *config);

//  Creates an empty state with CONFIG (copied; NULL = defaults). Every member of a
//  group must start from the same CONFIG (or set it with a CONFIG command). Returns
//  NULL when CONFIG is invalid (negative window) or when out of memory.
qfsm_t *qfsm_new (const qfsm_config_t *config);

//  Destroys the state and nulls *SELF_P. NULL-safe, idempotent.
void qfsm_destroy (qfsm_t **self_p);

//  Applies one log entry (ENTRY, SIZE bytes). Appends one result per command to
//  OUT and every message dead-lettered to its letters (OUT is not reset first).
//  Returns 0; WEFT_EINVAL for a malformed entry (nothing changed, nothing added to
//  OUT); WEFT_ENOMEM (the state is broken, see above); WEFT_ESTATE for a broken state.
int qfsm_apply (qfsm_t *self, const void *entry, size_t size, qfsm_out_t *out);

//  Copies the configuration into CONFIG.
void qfsm_config (const qfsm_t *self, qfsm_config_t *config);

//  Fills STATS.
void qfsm_stats (const qfsm_t *self, qfsm_stats_t *stats);

//  Describes pending or parked message SEQ in INFO. Returns 0 or WEFT_ENOTFOUND.
int qfsm_find (const qfsm_t *self, uint64_t seq, qfsm_info_t *info);

//  Starts a walk over the pending messages with not_before <= NOW, highest priority
//  first, then lowest seq (dispatch order; parked letters are not in it). Fills INFO
//  with the first and returns 1, or returns 0 when there is none. The walk is valid
//  until the next apply. Skipping delayed messages costs O(their number).
int qfsm_iter_first (const qfsm_t *self, int64_t now, qfsm_iter_t *iter, qfsm_info_t *info);

//  Moves ITER to the next message in dispatch order and fills INFO: 1, or 0 at the end.
int qfsm_iter_next (const qfsm_t *self, qfsm_iter_t *iter, qfsm_info_t *info);

//  The earliest not_before of a delayed message (> clock), or INT64_MAX when none is:
//  when the leader should look again.
int64_t qfsm_next_due (const qfsm_t *self);

//  Checks every internal invariant (lists in seq order, counts, heap, tables); O(n),
//  for tests. Returns 0 or WEFT_EINTERNAL.
int qfsm_check (const qfsm_t *self);

/* ------------------------------------------------------------------------ */
/*  Snapshots (qfsm_snap.c)                                                  */

//  Serializes the whole state into *DATA (malloc'ed; the caller frees it with free ())
//  and *SIZE. Returns 0, WEFT_ESTATE for a broken state, or WEFT_ENOMEM.
int qfsm_snapshot (const qfsm_t *self, void **data, size_t *size);

//  Creates a state from snapshot DATA (SIZE bytes, e.g. from the network) into
//  *SELF_P. Every length, count, order and the checksum are checked; returns 0,
//  WEFT_EINVAL for a malformed snapshot (nothing created), or WEFT_ENOMEM.
int qfsm_restore (const void *data, size_t size, qfsm_t **self_p);

//  A 64-bit digest of the whole state (the snapshot's checksum, computed without
//  building it). Equal states have equal digests.
uint64_t qfsm_digest (const qfsm_t *self);

//  True when A and B are the same state: their snapshots are byte for byte equal.
bool qfsm_equal (const qfsm_t *a, const qfsm_t *b);

/* ------------------------------------------------------------------------ */
/*  Results and dead letters of apply                                        */

//  Creates an empty output. NULL when out of memory.
qfsm_out_t *qfsm_out_new (void);

//  Destroys OUT (and the letters it holds) and nulls *OUT_P. NULL-safe.
void qfsm_out_destroy (qfsm_out_t **out_p);

//  Empties OUT: forgets its results and frees its letters.
void qfsm_out_reset (qfsm_out_t *out);

//  Number of results in OUT.
size_t qfsm_out_results (const qfsm_out_t *out);

//  Result I (< qfsm_out_results), borrowed until the next apply or reset.
const qfsm_result_t *qfsm_out_result (const qfsm_out_t *out, size_t i);

//  Number of dead letters in OUT.
size_t qfsm_out_letters (const qfsm_out_t *out);

//  Describes letter I (< qfsm_out_letters) in INFO (reason set). Returns 0 or WEFT_EINVAL.
int qfsm_out_letter (const qfsm_out_t *out, size_t i, qfsm_info_t *info);

/* ------------------------------------------------------------------------ */
/*  Entries: encoding and decoding (qfsm_codec.c)                            */

//  Starts an entry stamped NOW_MS. NULL when out of memory.
qfsm_batch_t *qfsm_batch_new (int64_t now_ms);

//  Destroys BATCH and nulls *BATCH_P. NULL-safe.
void qfsm_batch_destroy (qfsm_batch_t **batch_p);

//  Appends CMD (checked as the decoder would; consecutive ACKs share one record).
//  Returns 0, WEFT_EINVAL, WEFT_EMSGSIZE (the entry would pass 4 GiB) or WEFT_ENOMEM.
int qfsm_batch_add (qfsm_batch_t *batch, const qfsm_cmd_t *cmd);

//  The entry's bytes so far, borrowed until the next add or destroy; *SIZE set.
const void *qfsm_batch_data (const qfsm_batch_t *batch, size_t *size);

//  Commands in BATCH (an ACK of n seqs counts n).
size_t qfsm_batch_count (const qfsm_batch_t *batch);

//  A decoder over one entry.
typedef struct {
    const uint8_t *at;  //  next record
    const uint8_t *end; //  end of the entry
    uint32_t records;   //  records not yet read
    uint32_t acks_left; //  seqs left in the current ACK record
    int64_t now_ms;     //  the entry's time
    size_t commands;    //  commands in the entry (ACK seqs counted one by one)
} qfsm_reader_t;

//  Checks the whole entry (DATA, SIZE bytes) and points READER at its first command.
//  Returns 0 or WEFT_EINVAL. READER borrows DATA.
int qfsm_reader_init (qfsm_reader_t *reader, const void *data, size_t size);

//  Decodes the next command into CMD: 1, or 0 at the end.
int qfsm_reader_next (qfsm_reader_t *reader, qfsm_cmd_t *cmd);

#endif
