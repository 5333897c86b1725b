/*  node/queues/qstate.h - the in-memory state machine of one queue on its owner node.

    Pure: no sockets, no disk, no clock reads. Time is passed in as `now`,
    milliseconds on the node's monotonic clock. The node journals messages,
    talks to consumers and acts on what this module returns.

    A held message is in exactly one state:
      READY      waiting for a consumer (highest priority first, then lowest seq);
      DELAYED    nacked with a delay, becomes READY at its deadline (qstate_tick);
      IN_FLIGHT  delivered to one consumer, until ack / nack / reject / ack timeout
                 / removal of the consumer;
      DYING      used all its deliveries; the next qstate_tick hands it to on_dead.
    A message leaves the queue by ack (gone), reject or dead-lettering (handed,
    with its payload, to the caller).

    max_deliver: a delivery counts when qstate_next hands the message out. The
    check is made when an in-flight message comes back unacked (ack timeout,
    nack, consumer removed): if it has been delivered max_deliver times it goes
    to DYING instead of READY/DELAYED, and qstate_tick reports it to on_dead with
    reason "max_deliver". So a message is never delivered max_deliver + 1 times.
    A restored message enqueued with deliveries >= max_deliver is DYING at once.

    Priority: 0 (lowest) .. priorities - 1 (highest, at most 9). A priority out
    of range is refused with WEFT_EINVAL rather than clamped, so a producer bug
    or a corrupt record shows up instead of being silently reordered.

    Flow control: a consumer has credits and a prefetch. Each delivery uses one
    credit; qstate_consumer_credit grants more; qstate_consumer_add grants an
    initial `prefetch` credits. Acks, nacks and timeouts do not give credits
    back. Independently, a consumer never holds more than `prefetch` unacked
    deliveries. Consumers with room (credit > 0 and in flight < prefetch) are
    served round-robin.

    Complexity: enqueue, dispatch, ack, nack, reject and one timeout are
    O(log n); lookups by seq and by msg_id are O(1) (CZMQ zhashx). Heaps grow
    at enqueue time only, so nothing after a successful enqueue can fail for
    lack of memory.

    Thread: a qstate_t belongs to one thread (the node actor); no function here
    is safe to call concurrently on the same qstate_t. No globals.
*/
#ifndef WEFT_NODE_QSTATE_H
#define WEFT_NODE_QSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QSTATE_PRIORITIES   10  //  priority levels at most: 0 .. 9
#define QSTATE_MSG_ID_MAX   128 //  longest msg_id in bytes, without the NUL
#define QSTATE_CONSUMER_MAX 64  //  longest consumer name in bytes, without the NUL
#define QSTATE_NAME_MAX     255 //  longest queue name in bytes, without the NUL

#define QSTATE_DEFAULT_MAX_DELIVER    5
#define QSTATE_DEFAULT_ACK_TIMEOUT_MS 30000
#define QSTATE_DEFAULT_MAX_MESSAGES   1000000

//  The state of a held message.
typedef enum {
    QSTATE_READY = 0, //  waiting for a consumer
    QSTATE_DELAYED,   //  nacked with a delay; ready at its deadline
    QSTATE_IN_FLIGHT, //  delivered, waiting for an outcome or its deadline
    QSTATE_DYING      //  out of deliveries; the next qstate_tick dead-letters it
} qstate_state_t;

//  Releases a payload the queue owns. Called once per non-NULL payload that
//  the queue drops (ack, destroy, replacement, dead letter without on_dead).
typedef void (qstate_free_fn) (void *payload, void *arg);

//  Options of a queue. Start from qstate_options_init, then change fields.
typedef struct {
    uint32_t max_deliver;         //  deliveries before dead letter; 0 = unlimited
    int64_t ack_timeout_ms;       //  in-flight deadline after delivery; > 0
    uint8_t priorities;           //  priority levels, 1 .. QSTATE_PRIORITIES
    size_t max_messages;          //  bound on held messages; 0 = unlimited
    qstate_free_fn *payload_free; //  frees payloads; NULL: the queue never frees them
    void *payload_free_arg;       //  second argument of payload_free
} qstate_options_t;

//  What qstate_next hands out. Every pointer is borrowed from the queue and
//  valid until the next call that changes it (ack, reject, tick, destroy...).
typedef struct {
    uint64_t seq;         //  journal sequence of the message
    const char *msg_id;   //  producer id ("" when none)
    uint8_t priority;     //  0 .. 9
    uint32_t deliveries;  //  deliveries including this one (1 the first time)
    const char *consumer; //  the consumer it goes to
    void *payload;        //  the cached body (may be NULL); still owned by the queue
    int64_t deadline;     //  ack deadline: now + ack_timeout_ms
} qstate_delivery_t;

//  A message leaving the queue as a dead letter. The payload belongs to
//  whoever receives the record (the caller of qstate_reject, or on_dead).
typedef struct {
    uint64_t seq;                       //  journal sequence
    char msg_id[QSTATE_MSG_ID_MAX + 1]; //  producer id ("" when none)
    uint8_t priority;                   //  0 .. 9
    uint32_t deliveries;                //  how many times it was delivered
    const char *reason;                 //  "rejected" or "max_deliver" (static)
    void *payload;                      //  owned by the receiver now
} qstate_dead_t;

//  Receives a dead letter from qstate_tick; owns DEAD->payload from then on.
//  DEAD itself is only valid during the call. The callback may use any qstate
//  function (on this queue or another, e.g. the dead-letter queue) except
//  destroying this one.
typedef void (qstate_dead_fn) (qstate_dead_t *dead, void *arg);

//  A held message, as qstate_find and qstate_foreach describe it. Pointers are
//  borrowed and valid until the next call that changes the queue.
typedef struct {
    uint64_t seq;         //  journal sequence
    const char *msg_id;   //  producer id ("" when none)
    uint8_t priority;     //  0 .. 9
    uint32_t deliveries;  //  deliveries so far
    qstate_state_t state; //  READY, DELAYED, IN_FLIGHT or DYING
    const char *consumer; //  holder when IN_FLIGHT, else NULL
    int64_t deadline;     //  IN_FLIGHT: ack deadline; DELAYED: ready time; else 0
    void *payload;        //  cached body, still owned by the queue (may be NULL)
} qstate_info_t;

//  Visits one held message; a non-zero return stops the walk.
typedef int (qstate_foreach_fn) (const qstate_info_t *info, void *arg);

//  Counters of a queue: current sizes, then totals since creation.
typedef struct {
    size_t ready;         //  messages READY
    size_t delayed;       //  messages DELAYED
    size_t in_flight;     //  messages IN_FLIGHT
    size_t dying;         //  messages DYING (dead letters not yet handed out)
    size_t consumers;     //  registered consumers
    uint64_t enqueued;    //  successful qstate_enqueue calls
    uint64_t delivered;   //  deliveries by qstate_next, first or not
    uint64_t redelivered; //  deliveries of a message delivered before
    uint64_t acked;       //  messages acked
    uint64_t nacked;      //  messages nacked
    uint64_t rejected;    //  messages rejected
    uint64_t timeouts;    //  in-flight deadlines that expired
    uint64_t dead;        //  messages dead-lettered (rejected + max_deliver)
} qstate_stats_t;

typedef struct qstate qstate_t;

//  Fills OPTS with the defaults: max_deliver 5, ack_timeout_ms 30000,
//  priorities 10, max_messages 1000000, no payload_free. NULL-safe.
void qstate_options_init (qstate_options_t *opts);

//  Creates an empty queue NAME (1 .. QSTATE_NAME_MAX bytes, copied) with OPTS
//  (copied; NULL = defaults). Returns NULL when NAME or OPTS is invalid
//  (ack_timeout_ms <= 0, priorities 0 or > 10) or when out of memory.
qstate_t *qstate_new (const char *name, const qstate_options_t *opts);

//  Destroys the queue and nulls *SELF_P: every held payload goes to
//  payload_free, consumers are forgotten. NULL-safe, idempotent.
void qstate_destroy (qstate_t **self_p);

//  Returns the queue's name, owned by the queue. NULL when SELF is NULL.
const char *qstate_name (const qstate_t *self);

//  Adds a message. SEQ is the owner's journal sequence (any order for restored
//  messages; a lower seq is served first within a priority). MSG_ID is the
//  producer's id, 0 .. QSTATE_MSG_ID_MAX bytes (NULL or "" = none, then not
//  indexed). DELIVERIES is how many times it was already delivered (0 for a
//  new message); when it is >= max_deliver (not 0) the message is DYING at once.
//  On success the queue owns PAYLOAD (may be NULL); on failure the caller keeps it.
//  Returns 0; WEFT_EINVAL for a NULL SELF, priority >= priorities, a seq or a
//  non-empty msg_id already held; WEFT_EMSGSIZE for a msg_id too long;
//  WEFT_EAGAIN when max_messages are held; WEFT_ENOMEM.
int qstate_enqueue (qstate_t *self, uint64_t seq, const char *msg_id, uint8_t priority,
                    uint32_t deliveries, void *payload);

//  Registers CONSUMER (1 .. QSTATE_CONSUMER_MAX bytes, copied), conventionally
//  "<node-uuid>/<n>", allowed PREFETCH (>= 1) unacked deliveries, with an
//  initial grant of PREFETCH credits. Returns 0; WEFT_EINVAL for a bad
//  argument or a name already registered; WEFT_EMSGSIZE for a name too long;
//  WEFT_ENOMEM.
int qstate_consumer_add (qstate_t *self, const char *consumer, uint32_t prefetch);

//  Unregisters CONSUMER. Every message in flight to it is taken back at once:
//  READY again at its seq position (its delivery count stays incremented), or
//  DYING at NOW when it has used max_deliver deliveries. Returns the number of
//  messages taken back (>= 0), WEFT_ENOTFOUND for an unknown consumer,
//  WEFT_EINVAL for a NULL argument.
int qstate_consumer_remove (qstate_t *self, const char *consumer, int64_t now);

//  Unregisters, as qstate_consumer_remove does, every consumer whose name
//  starts with PREFIX (non-empty), e.g. "<dead-node-uuid>/". Returns the
//  number of consumers removed (>= 0) or WEFT_EINVAL.
int qstate_consumer_remove_prefix (qstate_t *self, const char *prefix, int64_t now);

//  Grants CONSUMER N more credits (saturating at UINT32_MAX). Returns 0,
//  WEFT_ENOTFOUND for an unknown consumer, WEFT_EINVAL for a NULL argument.
int qstate_consumer_credit (qstate_t *self, const char *consumer, uint32_t n);

//  True when CONSUMER is registered.
bool qstate_consumer_exists (qstate_t *self, const char *consumer);

//  Dispatches one message: the READY message of highest priority and lowest
//  seq goes to the next consumer with room, round-robin. It becomes IN_FLIGHT
//  with deadline NOW + ack_timeout_ms; its delivery count is incremented and
//  the consumer uses one credit. Returns 1 and fills OUT; 0 when no message or
//  no consumer is available; WEFT_EINVAL for a NULL argument. DELAYED messages
//  become READY only in qstate_tick: call it first in each loop turn.
int qstate_next (qstate_t *self, int64_t now, qstate_delivery_t *out);

//  CONSUMER acknowledges SEQ: the message is removed and its payload freed.
//  Returns 0; WEFT_ENOTFOUND when SEQ is unknown, already gone, not in flight
//  or in flight to another consumer; WEFT_EINVAL for a NULL argument.
int qstate_ack (qstate_t *self, uint64_t seq, const char *consumer);

//  CONSUMER gives SEQ back: READY at once (DELAY_MS <= 0) or DELAYED until
//  NOW + DELAY_MS; DYING at NOW instead when it has used max_deliver
//  deliveries. Returns as qstate_ack.
int qstate_nack (qstate_t *self, uint64_t seq, const char *consumer, int64_t delay_ms, int64_t now);

//  CONSUMER rejects SEQ: the message leaves the queue and DEAD (not NULL) is
//  filled with reason "rejected"; the caller owns DEAD->payload. Returns as
//  qstate_ack (DEAD is untouched on error).
int qstate_reject (qstate_t *self, uint64_t seq, const char *consumer, qstate_dead_t *dead);

//  Advances time to NOW: DELAYED messages due by NOW become READY; IN_FLIGHT
//  messages past their deadline come back (READY at their seq position, or
//  DYING when out of deliveries); then every DYING message is handed to
//  ON_DEAD (reason "max_deliver"), in the order it died. With ON_DEAD NULL,
//  dead letters are counted and their payloads freed. Returns the number of
//  messages that changed state, or WEFT_EINVAL for a NULL SELF.
int qstate_tick (qstate_t *self, int64_t now, qstate_dead_fn *on_dead, void *arg);

//  Returns when qstate_tick next has work: the earliest in-flight deadline or
//  delay expiry, the time a message started DYING (may be in the past: tick at
//  once; 0 for a restored message enqueued out of deliveries), or INT64_MAX
//  when there is none (or SELF is NULL).
int64_t qstate_next_deadline (const qstate_t *self);

//  Describes the message SEQ in INFO (borrowed pointers, see qstate_info_t).
//  Returns 0, WEFT_ENOTFOUND when it is not held, WEFT_EINVAL for a NULL argument.
int qstate_find (qstate_t *self, uint64_t seq, qstate_info_t *info);

//  Describes the message whose producer id is MSG_ID in INFO: how the node
//  maps a consumer's ack by id to a seq, or spots a duplicate before enqueue.
//  Returns 0, WEFT_ENOTFOUND when no held message has that id (or it is ""),
//  WEFT_EINVAL for a NULL argument.
int qstate_find_id (qstate_t *self, const char *msg_id, qstate_info_t *info);

//  Replaces the cached payload of SEQ with PAYLOAD (may be NULL), freeing the
//  old one with payload_free unless it is the same pointer. On success the
//  queue owns PAYLOAD. Returns 0, WEFT_ENOTFOUND, or WEFT_EINVAL.
int qstate_set_payload (qstate_t *self, uint64_t seq, void *payload);

//  Calls FN for every held message, in no particular order (e.g. to hand the
//  queue to a new owner). FN must not change the queue; read-only calls
//  (find, stats) are fine. Returns 0 after a full walk, the first non-zero
//  value FN returned, or WEFT_EINVAL.
int qstate_foreach (qstate_t *self, qstate_foreach_fn *fn, void *arg);

//  Fills STATS. Returns 0 or WEFT_EINVAL.
int qstate_stats (const qstate_t *self, qstate_stats_t *stats);

//  Number of held messages (every state); 0 when SELF is NULL.
size_t qstate_size (const qstate_t *self);

//  Returns a static name for STATE: "ready", "delayed", "in_flight", "dying"
//  or "unknown".
const char *qstate_state_name (int state);

//  Checks every internal invariant (heap order and positions, counts, links);
//  O(n), for tests and debugging. Returns 0 or WEFT_EINTERNAL.
int qstate_check (qstate_t *self);

#endif
