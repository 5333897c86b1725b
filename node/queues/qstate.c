/*  node/qstate.c - the in-memory state machine of one queue (see qstate.h).

    Every held message is in exactly one place, which is its state:
      READY      the binary min-heap of its priority, keyed by seq;
      DELAYED    the timer heap, keyed by (deadline, seq);
      IN_FLIGHT  the timer heap too, and its consumer's in-flight list;
      DYING      the dying list, in the order the messages died.
    The timer heap is indexed, so any DELAYED or IN_FLIGHT message leaves it
    in O(log n). Lookups go through two zhashx tables (seq, msg_id). Heap room
    is reserved at enqueue time, so moving a message between states never
    allocates. Consumers with room form a round-robin list: dispatch takes the
    head and puts it back at the tail while it still has room. The heaps,
    lists and tables themselves are node/qheap.c.
*/
#include "node/queues/qstate.h"
#include "node/queues/qheap.h"

#include "weft.h"

#include <czmq.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct consumer consumer_t;

//  One held message; allocated with room for its msg_id.
typedef struct msg {
    uint64_t seq;         //  journal sequence: hash key and FIFO order
    int64_t deadline;     //  ack deadline, delay expiry or time it died; 0 when READY
    void *payload;        //  cached body, owned by the queue
    consumer_t *consumer; //  holder while IN_FLIGHT, else NULL
    qlink_t link;         //  place in the consumer's in-flight list or the dying list
    size_t slot;          //  index in the timer heap while in it (kept by the heap)
    uint32_t deliveries;  //  deliveries so far
    uint8_t priority;     //  0 .. priorities - 1
    uint8_t state;        //  a qstate_state_t
    char msg_id[];        //  producer id, NUL-terminated ("" when none)
} msg_t;

//  A registered consumer.
struct consumer {
    char name[QSTATE_CONSUMER_MAX + 1]; //  "<node-uuid>/<n>", hash key
    uint32_t prefetch;                  //  most unacked deliveries it may hold
    uint32_t credits;                   //  deliveries it still asked for
    qlist_t flight;                     //  messages in flight to it
    bool in_rr;                         //  on the round-robin list (has room)
    qlink_t rr;                         //  place on the round-robin list
    qlink_t all;                        //  place in the list of all consumers
};

//  The queue.
struct qstate {
    char *name;                        //  queue name
    qstate_options_t opts;             //  options, validated
    qheap_t ready[QSTATE_PRIORITIES];  //  READY messages per priority, unindexed
    size_t held_at[QSTATE_PRIORITIES]; //  held messages per priority (heap reserve)
    qheap_t timer;                     //  DELAYED and IN_FLIGHT messages, indexed
    qlist_t dying;                     //  DYING messages, oldest first
    int64_t dying_since;               //  earliest death in the list, INT64_MAX if none
    size_t held;                       //  messages held, every state
    size_t delayed;                    //  DELAYED messages (the rest of timer is in flight)
    zhashx_t *by_seq;                  //  seq -> msg_t
    zhashx_t *by_id;                   //  msg_id -> msg_t, non-empty ids only
    zhashx_t *by_name;                 //  consumer name -> consumer_t
    qlist_t all;                       //  every consumer, the newest first
    qlist_t rr;                        //  consumers with room, the next to serve first
    qstate_stats_t stats;              //  totals (sizes are computed)
};

/* ------------------------------------------------------------------------ */
/*  Small helpers                                                            */

//  Hands PAYLOAD to payload_free, if both exist.
static void s_payload_free (qstate_t *self, void *payload)
{
    if (payload && self->opts.payload_free)
        self->opts.payload_free (payload, self->opts.payload_free_arg);
}

/* ------------------------------------------------------------------------ */
/*  Round robin                                                              */

//  True when CONSUMER may take one more delivery.
static bool s_has_room (const consumer_t *consumer)
{
    return consumer->credits > 0 && consumer->flight.size < consumer->prefetch;
}

//  Puts CONSUMER at the tail of the round-robin list.
static void s_rr_append (qstate_t *self, consumer_t *consumer)
{
    qlist_append (&self->rr, &consumer->rr);
    consumer->in_rr = true;
}

//  Takes CONSUMER off the round-robin list, if it is on it.
static void s_rr_unlink (qstate_t *self, consumer_t *consumer)
{
    if (!consumer->in_rr)
        return;
    qlist_unlink (&self->rr, &consumer->rr);
    consumer->in_rr = false;
}

//  Keeps CONSUMER on the round-robin list exactly when it has room; one that
//  regains room joins at the tail.
static void s_consumer_refresh (qstate_t *self, consumer_t *consumer)
{
    bool room = s_has_room (consumer);
    if (room && !consumer->in_rr)
        s_rr_append (self, consumer);
    else if (!room && consumer->in_rr)
        s_rr_unlink (self, consumer);
}

/* ------------------------------------------------------------------------ */
/*  Message states                                                           */

//  True when MSG has used every delivery max_deliver allows.
static bool s_exhausted (const qstate_t *self, const msg_t *msg)
{
    return self->opts.max_deliver > 0 && msg->deliveries >= self->opts.max_deliver;
}

//  Makes detached MSG READY, at its seq position in its priority.
static void s_make_ready (qstate_t *self, msg_t *msg)
{
    msg->state = QSTATE_READY;
    msg->deadline = 0;
    qheap_push (&self->ready[msg->priority], msg->deadline, msg->seq, msg);
}

//  Makes detached MSG DELAYED until AT.
static void s_make_delayed (qstate_t *self, msg_t *msg, int64_t at)
{
    msg->state = QSTATE_DELAYED;
    msg->deadline = at;
    qheap_push (&self->timer, msg->deadline, msg->seq, msg);
    self->delayed++;
}

//  Makes detached MSG DYING since NOW: the next tick dead-letters it.
static void s_make_dying (qstate_t *self, msg_t *msg, int64_t now)
{
    msg->state = QSTATE_DYING;
    msg->deadline = now;
    qlist_append (&self->dying, &msg->link);
    if (now < self->dying_since)
        self->dying_since = now;
}

//  Makes detached MSG IN_FLIGHT to CONSUMER with deadline NOW + ack timeout.
static void s_make_in_flight (qstate_t *self, msg_t *msg, consumer_t *consumer, int64_t now)
{
    msg->state = QSTATE_IN_FLIGHT;
    msg->deadline = qheap_deadline (now, self->opts.ack_timeout_ms);
    msg->consumer = consumer;
    qheap_push (&self->timer, msg->deadline, msg->seq, msg);
    qlist_append (&consumer->flight, &msg->link);
}

//  Takes MSG (not READY) out of the structure its state keeps it in; an
//  in-flight message leaves its consumer, which may regain room.
static void s_detach (qstate_t *self, msg_t *msg)
{
    consumer_t *consumer = msg->consumer;
    switch (msg->state) {
    case QSTATE_DELAYED:
        qheap_remove (&self->timer, msg);
        self->delayed--;
        break;
    case QSTATE_IN_FLIGHT:
        qheap_remove (&self->timer, msg);
        qlist_unlink (&consumer->flight, &msg->link);
        msg->consumer = NULL;
        s_consumer_refresh (self, consumer);
        break;
    case QSTATE_DYING:
        qlist_unlink (&self->dying, &msg->link);
        if (self->dying.size == 0)
            self->dying_since = INT64_MAX;
        break;
    default: //  READY messages leave only through qstate_next, which pops them
        break;
    }
}

//  Puts detached MSG, back unacked, where it belongs: DYING when out of
//  deliveries, else DELAYED until NOW + DELAY_MS (DELAY_MS > 0) or READY.
static void s_requeue (qstate_t *self, msg_t *msg, int64_t delay_ms, int64_t now)
{
    if (s_exhausted (self, msg))
        s_make_dying (self, msg, now);
    else if (delay_ms > 0)
        s_make_delayed (self, msg, qheap_deadline (now, delay_ms));
    else
        s_make_ready (self, msg);
}

//  Forgets detached MSG (indexes, counts) and frees it. Returns its payload,
//  which the caller owns from now on.
static void *s_forget (qstate_t *self, msg_t *msg)
{
    zhashx_delete (self->by_seq, &msg->seq);
    if (msg->msg_id[0])
        zhashx_delete (self->by_id, msg->msg_id);
    self->held--;
    self->held_at[msg->priority]--;
    void *payload = msg->payload;
    free (msg);
    return payload;
}

//  Describes detached MSG as a dead letter for REASON (static) in DEAD.
static void s_dead_fill (const msg_t *msg, const char *reason, qstate_dead_t *dead)
{
    dead->seq = msg->seq;
    strcpy (dead->msg_id, msg->msg_id); //  at most QSTATE_MSG_ID_MAX bytes, checked at enqueue
    dead->priority = msg->priority;
    dead->deliveries = msg->deliveries;
    dead->reason = reason;
    dead->payload = msg->payload;
}

//  Describes MSG in INFO.
static void s_info_fill (const msg_t *msg, qstate_info_t *info)
{
    info->seq = msg->seq;
    info->msg_id = msg->msg_id;
    info->priority = msg->priority;
    info->deliveries = msg->deliveries;
    info->state = (qstate_state_t)msg->state;
    info->consumer = msg->consumer ? msg->consumer->name : NULL;
    info->deadline = msg->deadline;
    info->payload = msg->payload;
}

//  The message SEQ when it is in flight to CONSUMER, else NULL.
static msg_t *s_held_by (qstate_t *self, uint64_t seq, const char *consumer)
{
    msg_t *msg = zhashx_lookup (self->by_seq, &seq);
    if (!msg || msg->state != QSTATE_IN_FLIGHT)
        return NULL;
    return strcmp (msg->consumer->name, consumer) == 0 ? msg : NULL;
}

/* ------------------------------------------------------------------------ */
/*  Life cycle                                                               */

void qstate_options_init (qstate_options_t *opts)
{
    if (!opts)
        return;
    memset (opts, 0, sizeof *opts);
    opts->max_deliver = QSTATE_DEFAULT_MAX_DELIVER;
    opts->ack_timeout_ms = QSTATE_DEFAULT_ACK_TIMEOUT_MS;
    opts->priorities = QSTATE_PRIORITIES;
    opts->max_messages = QSTATE_DEFAULT_MAX_MESSAGES;
}

//  True when OPTS can run a queue.
static bool s_options_valid (const qstate_options_t *opts)
{
    return opts->ack_timeout_ms > 0 && opts->priorities >= 1 &&
           opts->priorities <= QSTATE_PRIORITIES;
}

qstate_t *qstate_new (const char *name, const qstate_options_t *opts)
{
    qstate_options_t defaults;
    qstate_options_init (&defaults);
    if (!opts)
        opts = &defaults;
    size_t len = name ? strnlen (name, QSTATE_NAME_MAX + 1) : 0;
    if (len == 0 || len > QSTATE_NAME_MAX || !s_options_valid (opts))
        return NULL;
    qstate_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    qheap_index (&self->timer, offsetof (msg_t, slot));
    self->dying_since = INT64_MAX;
    self->name = strdup (name);
    self->by_seq = qheap_table_u64 ();
    self->by_id = qheap_table_str ();
    self->by_name = qheap_table_str ();
    if (!self->name || !self->by_seq || !self->by_id || !self->by_name)
        qstate_destroy (&self);
    return self;
}

//  Frees message ITEM and its payload, with no bookkeeping (queue SELF is
//  going away).
static void s_msg_drop (void *item, void *self)
{
    msg_t *msg = item;
    s_payload_free (self, msg->payload);
    free (msg);
}

void qstate_destroy (qstate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qstate_t *self = *self_p;
    for (int p = 0; p < QSTATE_PRIORITIES; p++)
        qheap_release (&self->ready[p], s_msg_drop, self);
    qheap_release (&self->timer, s_msg_drop, self);
    qlink_t *link;
    while ((link = qlist_pop (&self->dying)))
        s_msg_drop (QLIST_ITEM (link, msg_t, link), self);
    while ((link = qlist_pop (&self->all)))
        free (QLIST_ITEM (link, consumer_t, all));
    zhashx_destroy (&self->by_seq);
    zhashx_destroy (&self->by_id);
    zhashx_destroy (&self->by_name);
    free (self->name);
    free (self);
    *self_p = NULL;
}

const char *qstate_name (const qstate_t *self)
{
    return self ? self->name : NULL;
}

/* ------------------------------------------------------------------------ */
/*  Messages                                                                 */

//  Checks the arguments of an enqueue: 0, WEFT_EINVAL, WEFT_EMSGSIZE or
//  WEFT_EAGAIN. Duplicates are found when indexing, to save a lookup.
static int s_enqueue_check (qstate_t *self, const char *msg_id, uint8_t priority)
{
    if (priority >= self->opts.priorities)
        return WEFT_EINVAL;
    if (strnlen (msg_id, QSTATE_MSG_ID_MAX + 1) > QSTATE_MSG_ID_MAX)
        return WEFT_EMSGSIZE;
    if (self->opts.max_messages && self->held >= self->opts.max_messages)
        return WEFT_EAGAIN;
    return 0;
}

//  Indexes new MSG by seq and msg_id. Returns 0, WEFT_EINVAL for a seq or
//  msg_id already held, or WEFT_ENOMEM; nothing is indexed on failure.
static int s_index (qstate_t *self, msg_t *msg)
{
    int rc = qheap_table_insert (self->by_seq, &msg->seq, msg);
    if (rc || !msg->msg_id[0])
        return rc;
    rc = qheap_table_insert (self->by_id, msg->msg_id, msg);
    if (rc)
        zhashx_delete (self->by_seq, &msg->seq);
    return rc;
}

int qstate_enqueue (qstate_t *self, uint64_t seq, const char *msg_id, uint8_t priority,
                    uint32_t deliveries, void *payload)
{
    if (!self)
        return WEFT_EINVAL;
    if (!msg_id)
        msg_id = "";
    int rc = s_enqueue_check (self, msg_id, priority);
    if (rc)
        return rc;
    if (qheap_reserve (&self->ready[priority], self->held_at[priority] + 1) ||
        qheap_reserve (&self->timer, self->held + 1))
        return WEFT_ENOMEM;
    size_t id_len = strlen (msg_id);
    msg_t *msg = calloc (1, sizeof *msg + id_len + 1);
    if (!msg)
        return WEFT_ENOMEM;
    msg->seq = seq;
    msg->priority = priority;
    msg->deliveries = deliveries;
    msg->payload = payload;
    memcpy (msg->msg_id, msg_id, id_len + 1);
    rc = s_index (self, msg);
    if (rc) {
        free (msg);
        return rc;
    }
    self->held++;
    self->held_at[priority]++;
    self->stats.enqueued++;
    if (s_exhausted (self, msg))
        s_make_dying (self, msg, 0);
    else
        s_make_ready (self, msg);
    return 0;
}

int qstate_find (qstate_t *self, uint64_t seq, qstate_info_t *info)
{
    if (!self || !info)
        return WEFT_EINVAL;
    msg_t *msg = zhashx_lookup (self->by_seq, &seq);
    if (!msg)
        return WEFT_ENOTFOUND;
    s_info_fill (msg, info);
    return 0;
}

int qstate_find_id (qstate_t *self, const char *msg_id, qstate_info_t *info)
{
    if (!self || !msg_id || !info)
        return WEFT_EINVAL;
    msg_t *msg = msg_id[0] ? zhashx_lookup (self->by_id, msg_id) : NULL;
    if (!msg)
        return WEFT_ENOTFOUND;
    s_info_fill (msg, info);
    return 0;
}

int qstate_set_payload (qstate_t *self, uint64_t seq, void *payload)
{
    if (!self)
        return WEFT_EINVAL;
    msg_t *msg = zhashx_lookup (self->by_seq, &seq);
    if (!msg)
        return WEFT_ENOTFOUND;
    if (msg->payload != payload)
        s_payload_free (self, msg->payload);
    msg->payload = payload;
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  Consumers                                                                */

int qstate_consumer_add (qstate_t *self, const char *consumer, uint32_t prefetch)
{
    if (!self || !consumer || !consumer[0] || prefetch == 0)
        return WEFT_EINVAL;
    size_t len = strnlen (consumer, QSTATE_CONSUMER_MAX + 1);
    if (len > QSTATE_CONSUMER_MAX)
        return WEFT_EMSGSIZE;
    if (zhashx_lookup (self->by_name, consumer))
        return WEFT_EINVAL;
    consumer_t *entry = calloc (1, sizeof *entry);
    if (!entry)
        return WEFT_ENOMEM;
    memcpy (entry->name, consumer, len + 1);
    entry->prefetch = prefetch;
    entry->credits = prefetch;
    if (zhashx_insert (self->by_name, entry->name, entry)) {
        free (entry);
        return WEFT_ENOMEM;
    }
    qlist_prepend (&self->all, &entry->all);
    s_consumer_refresh (self, entry);
    return 0;
}

//  Takes back every message in flight to CONSUMER, then frees it. Returns
//  the number of messages taken back.
static int s_consumer_drop (qstate_t *self, consumer_t *consumer, int64_t now)
{
    int taken = 0;
    while (consumer->flight.head) {
        msg_t *msg = QLIST_ITEM (consumer->flight.head, msg_t, link);
        s_detach (self, msg);
        s_requeue (self, msg, 0, now);
        taken++;
    }
    s_rr_unlink (self, consumer);
    qlist_unlink (&self->all, &consumer->all);
    zhashx_delete (self->by_name, consumer->name);
    free (consumer);
    return taken;
}

int qstate_consumer_remove (qstate_t *self, const char *consumer, int64_t now)
{
    if (!self || !consumer)
        return WEFT_EINVAL;
    consumer_t *entry = zhashx_lookup (self->by_name, consumer);
    if (!entry)
        return WEFT_ENOTFOUND;
    return s_consumer_drop (self, entry, now);
}

int qstate_consumer_remove_prefix (qstate_t *self, const char *prefix, int64_t now)
{
    if (!self || !prefix || !prefix[0])
        return WEFT_EINVAL;
    size_t len = strlen (prefix);
    int removed = 0;
    qlink_t *link = self->all.head;
    while (link) {
        consumer_t *consumer = QLIST_ITEM (link, consumer_t, all);
        link = link->next;
        if (strncmp (consumer->name, prefix, len) == 0) {
            s_consumer_drop (self, consumer, now);
            removed++;
        }
    }
    return removed;
}

int qstate_consumer_credit (qstate_t *self, const char *consumer, uint32_t n)
{
    if (!self || !consumer)
        return WEFT_EINVAL;
    consumer_t *entry = zhashx_lookup (self->by_name, consumer);
    if (!entry)
        return WEFT_ENOTFOUND;
    entry->credits = n > UINT32_MAX - entry->credits ? UINT32_MAX : entry->credits + n;
    s_consumer_refresh (self, entry);
    return 0;
}

bool qstate_consumer_exists (qstate_t *self, const char *consumer)
{
    return self && consumer && zhashx_lookup (self->by_name, consumer) != NULL;
}

/* ------------------------------------------------------------------------ */
/*  Dispatch and outcomes                                                    */

//  Describes MSG, just delivered, in OUT.
static void s_delivery_fill (const msg_t *msg, qstate_delivery_t *out)
{
    out->seq = msg->seq;
    out->msg_id = msg->msg_id;
    out->priority = msg->priority;
    out->deliveries = msg->deliveries;
    out->consumer = msg->consumer->name;
    out->payload = msg->payload;
    out->deadline = msg->deadline;
}

int qstate_next (qstate_t *self, int64_t now, qstate_delivery_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    //  A consumer is on the round-robin list only while it has room.
    consumer_t *consumer = QLIST_ITEM (self->rr.head, consumer_t, rr);
    qheap_t *heap = qheap_last_busy (self->ready, self->opts.priorities);
    if (!consumer || !heap)
        return 0;
    msg_t *msg = qheap_pop (heap);
    if (msg->deliveries < UINT32_MAX)
        msg->deliveries++;
    consumer->credits--;
    s_make_in_flight (self, msg, consumer, now);
    s_rr_unlink (self, consumer);
    s_consumer_refresh (self, consumer); //  back at the tail while it has room
    self->stats.delivered++;
    if (msg->deliveries > 1)
        self->stats.redelivered++;
    s_delivery_fill (msg, out);
    return 1;
}

int qstate_ack (qstate_t *self, uint64_t seq, const char *consumer)
{
    if (!self || !consumer)
        return WEFT_EINVAL;
    msg_t *msg = s_held_by (self, seq, consumer);
    if (!msg)
        return WEFT_ENOTFOUND;
    s_detach (self, msg);
    s_payload_free (self, s_forget (self, msg));
    self->stats.acked++;
    return 0;
}

int qstate_nack (qstate_t *self, uint64_t seq, const char *consumer, int64_t delay_ms, int64_t now)
{
    if (!self || !consumer)
        return WEFT_EINVAL;
    msg_t *msg = s_held_by (self, seq, consumer);
    if (!msg)
        return WEFT_ENOTFOUND;
    s_detach (self, msg);
    s_requeue (self, msg, delay_ms, now);
    self->stats.nacked++;
    return 0;
}

int qstate_reject (qstate_t *self, uint64_t seq, const char *consumer, qstate_dead_t *dead)
{
    if (!self || !consumer || !dead)
        return WEFT_EINVAL;
    msg_t *msg = s_held_by (self, seq, consumer);
    if (!msg)
        return WEFT_ENOTFOUND;
    s_detach (self, msg);
    s_dead_fill (msg, "rejected", dead);
    s_forget (self, msg); //  the payload now belongs to the caller, through DEAD
    self->stats.rejected++;
    self->stats.dead++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  Time                                                                     */

//  Handles MSG, whose timer deadline has come: a delayed message becomes
//  ready; an in-flight one comes back (ready or dying). Returns 1 when it
//  became ready.
static int s_due (qstate_t *self, msg_t *msg, int64_t now)
{
    bool in_flight = msg->state == QSTATE_IN_FLIGHT;
    s_detach (self, msg);
    if (in_flight) {
        self->stats.timeouts++;
        s_requeue (self, msg, 0, now);
    } else
        s_make_ready (self, msg);
    return msg->state == QSTATE_READY;
}

//  Hands every DYING message to ON_DEAD (or frees it when ON_DEAD is NULL).
//  Returns how many.
static int s_drain_dying (qstate_t *self, qstate_dead_fn *on_dead, void *arg)
{
    int count = 0;
    while (self->dying.head) {
        msg_t *msg = QLIST_ITEM (self->dying.head, msg_t, link);
        s_detach (self, msg);
        qstate_dead_t dead;
        s_dead_fill (msg, "max_deliver", &dead);
        s_forget (self, msg);
        self->stats.dead++;
        if (count < INT_MAX)
            count++;
        if (on_dead)
            on_dead (&dead, arg); //  the queue is consistent: the callback may use it
        else
            s_payload_free (self, dead.payload);
    }
    return count;
}

int qstate_tick (qstate_t *self, int64_t now, qstate_dead_fn *on_dead, void *arg)
{
    if (!self)
        return WEFT_EINVAL;
    int changed = 0;
    msg_t *msg;
    while ((msg = qheap_top (&self->timer)) && msg->deadline <= now) {
        int ready = s_due (self, msg, now);
        if (changed < INT_MAX)
            changed += ready;
    }
    int dead = s_drain_dying (self, on_dead, arg);
    return changed > INT_MAX - dead ? INT_MAX : changed + dead;
}

int64_t qstate_next_deadline (const qstate_t *self)
{
    if (!self)
        return INT64_MAX;
    msg_t *top = qheap_top (&self->timer);
    int64_t deadline = top ? top->deadline : INT64_MAX;
    return self->dying_since < deadline ? self->dying_since : deadline;
}

/* ------------------------------------------------------------------------ */
/*  Introspection                                                            */

//  Calls FN on every message of HEAP; returns the first non-zero result.
static int s_heap_walk (const qheap_t *heap, qstate_foreach_fn *fn, void *arg)
{
    qstate_info_t info;
    for (size_t i = 0; i < qheap_size (heap); i++) {
        s_info_fill (qheap_at (heap, i)->item, &info);
        int rc = fn (&info, arg);
        if (rc)
            return rc;
    }
    return 0;
}

int qstate_foreach (qstate_t *self, qstate_foreach_fn *fn, void *arg)
{
    if (!self || !fn)
        return WEFT_EINVAL;
    int rc = 0;
    for (int p = 0; p < QSTATE_PRIORITIES && !rc; p++)
        rc = s_heap_walk (&self->ready[p], fn, arg);
    if (!rc)
        rc = s_heap_walk (&self->timer, fn, arg);
    qstate_info_t info;
    for (qlink_t *link = self->dying.head; link && !rc; link = link->next) {
        s_info_fill (QLIST_ITEM (link, msg_t, link), &info);
        rc = fn (&info, arg);
    }
    return rc;
}

int qstate_stats (const qstate_t *self, qstate_stats_t *stats)
{
    if (!self || !stats)
        return WEFT_EINVAL;
    *stats = self->stats;
    stats->ready = qheap_total (self->ready, QSTATE_PRIORITIES);
    stats->delayed = self->delayed;
    stats->in_flight = qheap_size (&self->timer) - self->delayed;
    stats->dying = self->dying.size;
    stats->consumers = zhashx_size (self->by_name);
    return 0;
}

size_t qstate_size (const qstate_t *self)
{
    return self ? self->held : 0;
}

const char *qstate_state_name (int state)
{
    static const char *names[] = {"ready", "delayed", "in_flight", "dying"};
    return state >= 0 && state <= QSTATE_DYING ? names[state] : "unknown";
}

/* ------------------------------------------------------------------------ */
/*  Self-check                                                               */

//  Checks HEAP: order, slots, room (qheap_check), the keys and state of each
//  message (READY for a ready heap of PRIORITY, DELAYED or IN_FLIGHT for the
//  timer heap) and that each is indexed. Returns the number of faults.
static int s_check_heap (qstate_t *self, const qheap_t *heap, int priority)
{
    int faults = qheap_check (heap);
    for (size_t i = 0; i < qheap_size (heap); i++) {
        const qheap_entry_t *entry = qheap_at (heap, i);
        msg_t *msg = entry->item;
        faults += entry->seq != msg->seq || entry->deadline != msg->deadline;
        faults += zhashx_lookup (self->by_seq, &msg->seq) != msg;
        if (priority >= 0)
            faults += msg->state != QSTATE_READY || msg->priority != priority;
        else
            faults += msg->state != QSTATE_DELAYED && msg->state != QSTATE_IN_FLIGHT;
        faults += (msg->state == QSTATE_IN_FLIGHT) != (msg->consumer != NULL);
        faults += msg->state == QSTATE_READY && s_exhausted (self, msg);
    }
    return faults;
}

//  Checks LIST: links, size, and that every message is in STATE and held by
//  CONSUMER (NULL for none). Returns the number of faults.
static int s_check_list (const qlist_t *list, int state, const consumer_t *consumer)
{
    int faults = qlist_check (list);
    if (faults)
        return faults; //  maybe a cycle: not safe to walk
    for (qlink_t *link = list->head; link; link = link->next) {
        const msg_t *msg = QLIST_ITEM (link, msg_t, link);
        faults += msg->state != state || msg->consumer != consumer;
    }
    return faults;
}

//  Checks every consumer: its in-flight list, its limits, its place on the
//  round-robin list. Adds the number of messages in flight to *IN_FLIGHT.
//  Returns the number of faults.
static int s_check_consumers (qstate_t *self, size_t *in_flight)
{
    int faults = qlist_check (&self->rr) + qlist_check (&self->all);
    if (faults)
        return faults; //  maybe a cycle: not safe to walk
    size_t on_rr = 0;
    for (qlink_t *link = self->all.head; link; link = link->next) {
        consumer_t *consumer = QLIST_ITEM (link, consumer_t, all);
        faults += s_check_list (&consumer->flight, QSTATE_IN_FLIGHT, consumer);
        faults += consumer->flight.size > consumer->prefetch;
        faults += consumer->in_rr != s_has_room (consumer);
        faults += zhashx_lookup (self->by_name, consumer->name) != consumer;
        *in_flight += consumer->flight.size;
        on_rr += consumer->in_rr;
    }
    return faults + (on_rr != self->rr.size) + (self->all.size != zhashx_size (self->by_name));
}

int qstate_check (qstate_t *self)
{
    if (!self)
        return WEFT_EINVAL;
    int faults = 0;
    size_t ready = qheap_total (self->ready, QSTATE_PRIORITIES), held_at = 0, in_flight = 0;
    for (int p = 0; p < QSTATE_PRIORITIES; p++) {
        faults += s_check_heap (self, &self->ready[p], p);
        faults += qheap_room (&self->ready[p]) < self->held_at[p];
        held_at += self->held_at[p];
    }
    faults += s_check_heap (self, &self->timer, -1);
    size_t timed = qheap_size (&self->timer);
    faults += qheap_room (&self->timer) < self->held || self->delayed > timed;
    faults += s_check_list (&self->dying, QSTATE_DYING, NULL);
    faults += s_check_consumers (self, &in_flight);
    faults += in_flight != timed - self->delayed;
    faults += ready + timed + self->dying.size != self->held;
    faults += held_at != self->held || zhashx_size (self->by_seq) != self->held;
    faults += self->dying.size == 0 && self->dying_since != INT64_MAX;
    return faults ? WEFT_EINTERNAL : 0;
}
