/*  node/queues/qstate.c - the in-memory state machine of one queue (see
    qstate.h): its states and transitions, lifecycle, enqueue and lookups.
    Consumers, dispatch and timers are qstate_consumer.c; introspection and
    the invariant check qstate_check.c; what they share qstate_int.h.

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
#include "node/queues/qstate_int.h"

//  Hands PAYLOAD to payload_free, if both exist.
void qs_payload_free (qstate_t *self, void *payload)
{
    if (payload && self->opts.payload_free)
        self->opts.payload_free (payload, self->opts.payload_free_arg);
}

/* ------------------------------------------------------------------------ */
/*  Round robin                                                              */

//  True when CONSUMER may take one more delivery.
bool qs_has_room (const consumer_t *consumer)
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
void qs_rr_unlink (qstate_t *self, consumer_t *consumer)
{
    if (!consumer->in_rr)
        return;
    qlist_unlink (&self->rr, &consumer->rr);
    consumer->in_rr = false;
}

//  Keeps CONSUMER on the round-robin list exactly when it has room; one that
//  regains room joins at the tail.
void qs_consumer_refresh (qstate_t *self, consumer_t *consumer)
{
    bool room = qs_has_room (consumer);
    if (room && !consumer->in_rr)
        s_rr_append (self, consumer);
    else if (!room && consumer->in_rr)
        qs_rr_unlink (self, consumer);
}

/* ------------------------------------------------------------------------ */
/*  Message states                                                           */

//  True when MSG has used every delivery max_deliver allows.
bool qs_exhausted (const qstate_t *self, const msg_t *msg)
{
    return self->opts.max_deliver > 0 && msg->deliveries >= self->opts.max_deliver;
}

//  Makes detached MSG READY, at its seq position in its priority.
void qs_make_ready (qstate_t *self, msg_t *msg)
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
void qs_make_dying (qstate_t *self, msg_t *msg, int64_t now)
{
    msg->state = QSTATE_DYING;
    msg->deadline = now;
    qlist_append (&self->dying, &msg->link);
    if (now < self->dying_since)
        self->dying_since = now;
}

//  Makes detached MSG IN_FLIGHT to CONSUMER with deadline NOW + ack timeout.
void qs_make_in_flight (qstate_t *self, msg_t *msg, consumer_t *consumer, int64_t now)
{
    msg->state = QSTATE_IN_FLIGHT;
    msg->deadline = qheap_deadline (now, self->opts.ack_timeout_ms);
    msg->consumer = consumer;
    qheap_push (&self->timer, msg->deadline, msg->seq, msg);
    qlist_append (&consumer->flight, &msg->link);
}

//  Takes MSG (not READY) out of the structure its state keeps it in; an
//  in-flight message leaves its consumer, which may regain room.
void qs_detach (qstate_t *self, msg_t *msg)
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
        qs_consumer_refresh (self, consumer);
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
void qs_requeue (qstate_t *self, msg_t *msg, int64_t delay_ms, int64_t now)
{
    if (qs_exhausted (self, msg))
        qs_make_dying (self, msg, now);
    else if (delay_ms > 0)
        s_make_delayed (self, msg, qheap_deadline (now, delay_ms));
    else
        qs_make_ready (self, msg);
}

//  Forgets detached MSG (indexes, counts) and frees it. Returns its payload,
//  which the caller owns from now on.
void *qs_forget (qstate_t *self, msg_t *msg)
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
void qs_dead_fill (const msg_t *msg, const char *reason, qstate_dead_t *dead)
{
    dead->seq = msg->seq;
    strcpy (dead->msg_id, msg->msg_id); //  at most QSTATE_MSG_ID_MAX bytes, checked at enqueue
    dead->priority = msg->priority;
    dead->deliveries = msg->deliveries;
    dead->reason = reason;
    dead->payload = msg->payload;
}

//  Describes MSG in INFO.
void qs_info_fill (const msg_t *msg, qstate_info_t *info)
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
msg_t *qs_held_by (qstate_t *self, uint64_t seq, const char *consumer)
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
    qs_payload_free (self, msg->payload);
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
    if (qs_exhausted (self, msg))
        qs_make_dying (self, msg, 0);
    else
        qs_make_ready (self, msg);
    return 0;
}

int qstate_find (qstate_t *self, uint64_t seq, qstate_info_t *info)
{
    if (!self || !info)
        return WEFT_EINVAL;
    msg_t *msg = zhashx_lookup (self->by_seq, &seq);
    if (!msg)
        return WEFT_ENOTFOUND;
    qs_info_fill (msg, info);
    return 0;
}

int qstate_find_id (qstate_t *self, const char *msg_id, qstate_info_t *info)
{
    if (!self || !msg_id || !info)
        return WEFT_EINVAL;
    msg_t *msg = msg_id[0] ? zhashx_lookup (self->by_id, msg_id) : NULL;
    if (!msg)
        return WEFT_ENOTFOUND;
    qs_info_fill (msg, info);
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
        qs_payload_free (self, msg->payload);
    msg->payload = payload;
    return 0;
}
