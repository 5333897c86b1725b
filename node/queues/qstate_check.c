/*  node/queues/qstate_check.c - the queue state machine (see qstate.h):
    introspection (foreach, stats, sizes, state names) and the invariant
    check the tests run after every step.
*/
#include "node/queues/qstate_int.h"

/* ------------------------------------------------------------------------ */
/*  Introspection                                                            */

//  Calls FN on every message of HEAP; returns the first non-zero result.
static int s_heap_walk (const qheap_t *heap, qstate_foreach_fn *fn, void *arg)
{
    qstate_info_t info;
    for (size_t i = 0; i < qheap_size (heap); i++) {
        qs_info_fill (qheap_at (heap, i)->item, &info);
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
        qs_info_fill (QLIST_ITEM (link, msg_t, link), &info);
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
        faults += msg->state == QSTATE_READY && qs_exhausted (self, msg);
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
        faults += consumer->in_rr != qs_has_room (consumer);
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
