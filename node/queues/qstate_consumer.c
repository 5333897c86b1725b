/*  node/queues/qstate_consumer.c - the queue state machine (see qstate.h):
    consumers, dispatch, ack / nack / reject, and the timers (delays, ack
    deadlines, dead letters). The states and transitions are in qstate.c.
*/
#include "node/queues/qstate_int.h"

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
    qs_consumer_refresh (self, entry);
    return 0;
}

//  Takes back every message in flight to CONSUMER, then frees it. Returns
//  the number of messages taken back.
static int s_consumer_drop (qstate_t *self, consumer_t *consumer, int64_t now)
{
    int taken = 0;
    while (consumer->flight.head) {
        msg_t *msg = QLIST_ITEM (consumer->flight.head, msg_t, link);
        qs_detach (self, msg);
        qs_requeue (self, msg, 0, now);
        taken++;
    }
    qs_rr_unlink (self, consumer);
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
    qs_consumer_refresh (self, entry);
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
    qs_make_in_flight (self, msg, consumer, now);
    qs_rr_unlink (self, consumer);
    qs_consumer_refresh (self, consumer); //  back at the tail while it has room
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
    msg_t *msg = qs_held_by (self, seq, consumer);
    if (!msg)
        return WEFT_ENOTFOUND;
    qs_detach (self, msg);
    qs_payload_free (self, qs_forget (self, msg));
    self->stats.acked++;
    return 0;
}

int qstate_nack (qstate_t *self, uint64_t seq, const char *consumer, int64_t delay_ms, int64_t now)
{
    if (!self || !consumer)
        return WEFT_EINVAL;
    msg_t *msg = qs_held_by (self, seq, consumer);
    if (!msg)
        return WEFT_ENOTFOUND;
    qs_detach (self, msg);
    qs_requeue (self, msg, delay_ms, now);
    self->stats.nacked++;
    return 0;
}

int qstate_reject (qstate_t *self, uint64_t seq, const char *consumer, qstate_dead_t *dead)
{
    if (!self || !consumer || !dead)
        return WEFT_EINVAL;
    msg_t *msg = qs_held_by (self, seq, consumer);
    if (!msg)
        return WEFT_ENOTFOUND;
    qs_detach (self, msg);
    qs_dead_fill (msg, "rejected", dead);
    qs_forget (self, msg); //  the payload now belongs to the caller, through DEAD
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
    qs_detach (self, msg);
    if (in_flight) {
        self->stats.timeouts++;
        qs_requeue (self, msg, 0, now);
    } else
        qs_make_ready (self, msg);
    return msg->state == QSTATE_READY;
}

//  Hands every DYING message to ON_DEAD (or frees it when ON_DEAD is NULL).
//  Returns how many.
static int s_drain_dying (qstate_t *self, qstate_dead_fn *on_dead, void *arg)
{
    int count = 0;
    while (self->dying.head) {
        msg_t *msg = QLIST_ITEM (self->dying.head, msg_t, link);
        qs_detach (self, msg);
        qstate_dead_t dead;
        qs_dead_fill (msg, "max_deliver", &dead);
        qs_forget (self, msg);
        self->stats.dead++;
        if (count < INT_MAX)
            count++;
        if (on_dead)
            on_dead (&dead, arg); //  the queue is consistent: the callback may use it
        else
            qs_payload_free (self, dead.payload);
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
