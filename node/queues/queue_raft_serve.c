/*  node/queues/queue_raft_serve.c - queues on Raft: what a member answers to
    producers and consumers (QSEND, QCONSUME, QCANCEL, QSETTLE), and the
    deliveries and dead letters of the groups it leads. Leader hints and
    the founding of a queue's group: queue_raft_found.c.

    A request for a queue goes to the member the client believes leads its
    group (queue_owner_of: the last hint, else the ring's first choice).
    That member serves it when it leads the group and has caught up
    (qhost_serving); otherwise it answers QLEADER with the leader it knows
    (and, for a send, QCONFIRM WEFT_EAGAIN: ask again), so clients follow
    the leader by themselves.

*/
#include "node/queues/queue.h"

#include <inttypes.h>

//  The time of a message, kept in its headers blob (8 bytes, little-endian).
static void time_pack (int64_t time_us, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)time_us >> (8 * i));
}

//  The dead-letter reason kept after the time ("<reason>/<deliveries>"), into OUT.
static void reason_unpack (const qfsm_info_t *msg, char *out, size_t cap)
{
    size_t len = msg->headers_len > 8 ? msg->headers_len - 8 : 0;
    snprintf (out, cap, "%.*s", (int)(len < cap ? len : cap - 1), (const char *)msg->headers + 8);
}

static int64_t time_unpack (const qfsm_info_t *msg)
{
    uint64_t v = 0;
    const uint8_t *h = msg->headers;
    for (int i = 0; msg->headers_len >= 8 && i < 8; i++)
        v |= (uint64_t)h[i] << (8 * i);
    return (int64_t)v;
}

/* ---------------------------------------------------------------------------
   Producers
*/

typedef struct {
    node_t *node;
    char producer[WIRE_UUID_SIZE * 2 + 1];
    uint64_t token;
} rwait_t;

static void sent (void *arg, int status, uint64_t seq)
{
    rwait_t *w = arg;
    bool duplicate = status == QFSM_DUPLICATE;
    if (status == QFSM_DUPLICATE || status == QFSM_PARKED)
        status = 0;
    else if (status == QHOST_ENOTLEADER || status == QHOST_EUNKNOWN || status == WEFT_ECLOSED)
        status = WEFT_EAGAIN; //  the client sends it again (same id) to the leader
    if (status == 0 && duplicate)
        queues_of (w->node)->duplicates++;
    queue_send_confirm (w->node, w->producer, w->token, status, seq, duplicate);
    free (w);
}

//  G if this member serves it (leads and caught up), else NULL after telling
//  FROM who does (and, for QUEUE no group of which is here, founding it if
//  we are its first choice).
static rgq_t *served (node_t *self, peer_t *from, const char *queue)
{
    rgq_t *g = qraft_group (self, queue);
    if (g && g->host && qhost_serving (g->host, NULL) && !qraft_superseded (self, g))
        return g;
    if (!g) {
        const char *wanted[1];
        if (qraft_wanted (self, queue, wanted, 1) && strcmp (wanted[0], self->uuid_hex) == 0)
            qraft_found_start (self, queue);
    }
    if (!g || *qraft_leader_of (self, g))
        qraft_tell_leader (self, from->uuid_hex, queue);
    return NULL;
}

//  The voters of G.
static size_t voters (rgq_t *g)
{
    rg_server_t servers[RG_MAX_SERVERS];
    size_t n = rgroup_servers (qhost_group (g->host), servers, RG_MAX_SERVERS), count = 0;
    for (size_t i = 0; i < n && i < RG_MAX_SERVERS; i++)
        count += servers[i].role == RG_ROLE_VOTER;
    return count;
}

void qraft_on_send (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body)
{
    size_t len = body ? zmq_msg_size (body) : 0;
    int rc = 0;
    rgq_t *g = NULL;
    if (!self->journal || !self->capacity)
        rc = WEFT_EAGAIN; //  not a member that holds queues (a client's ring may be stale)
    else if (len > self->max_message)
        rc = WEFT_EMSGSIZE;
    else if (self->journal_failed)
        rc = self->journal_failed;
    else if (!(g = served (self, from, msg->queue)))
        rc = WEFT_EAGAIN;
    else if (msg->replication > voters (g)) {
        rc = WEFT_ESTATE; //  more copies asked for than the group has voters: refused, not cut
        wlog_warn (&self->log, "queue %s: %u copies asked for, the group has %zu voters",
                   msg->queue, msg->replication, voters (g));
    }
    rwait_t *w = rc ? NULL : malloc (sizeof *w);
    if (!rc && !w)
        rc = WEFT_ENOMEM;
    if (!rc) {
        w->node = self;
        snprintf (w->producer, sizeof w->producer, "%s", from->uuid_hex);
        w->token = msg->token;
        //  headers: the producer's time, then a dead letter's reason (a transfer's R)
        uint8_t stamp[8 + WIRE_REASON_MAX];
        time_pack (msg->value, stamp);
        size_t rlen = strnlen (msg->reason, WIRE_REASON_MAX);
        memcpy (stamp + 8, msg->reason, rlen);
        qhost_msg_t m = {.id = msg->msg_id,
                         .priority = msg->priority,
                         .headers = stamp,
                         .headers_len = 8 + rlen,
                         .body = len ? zmq_msg_data (body) : NULL,
                         .body_len = len};
        rc = qhost_enqueue (g->host, &m, msg->token, sent, w);
        if (rc) {
            free (w);
            rc = rc == QHOST_ENOTLEADER ? WEFT_EAGAIN : rc;
        }
    }
    if (rc)
        queue_send_confirm (self, from->uuid_hex, msg->token, rc, 0, false);
}

/* ---------------------------------------------------------------------------
   Consumers
*/

void qraft_served (rgq_t *g)
{
    uint64_t epoch = g->host ? qhost_epoch (g->host) : 0;
    if (epoch != g->served_term) { //  leadership changed: qhost forgot its consumers, so do we
        zhashx_purge (g->consumers);
        g->draining = false;
        g->served_term = epoch;
    }
}

void qraft_on_consume (node_t *self, peer_t *from, const wire_queue_t *msg, bool cancel)
{
    rgq_t *g = served (self, from, msg->queue);
    if (!g)
        return;
    qraft_served (g);
    rcons_t *c = zhashx_lookup (g->consumers, msg->consumer);
    if (cancel) { //  its id stays: acks of its earlier deliveries still match if it comes back
        if (c)
            qhost_cancel (g->host, c->id);
        return;
    }
    if (!c) {
        c = calloc (1, sizeof *c);
        if (!c)
            return;
        c->id = ++g->next_consumer;
        snprintf (c->name, sizeof c->name, "%s", msg->consumer);
        snprintf (c->peer, sizeof c->peer, "%s", from->uuid_hex);
        zhashx_insert (g->consumers, c->name, c);
    }
    uint32_t credits = msg->value > 0 && msg->value < INT32_MAX ? (uint32_t)msg->value : 1;
    int rc = qhost_consume (g->host, c->id, credits);
    wlog_debug (&self->log, "queue %s: consumer %s (%" PRIu64 ") credits %u: %s", g->name, c->name,
                c->id, credits, qhost_strerror (rc));
    if (rc != 0 && zhashx_size (g->consumers) > QHOST_DEFAULT_MAX_CONSUMERS)
        zhashx_delete (g->consumers, c->name); //  refused and over the bound: forget it
}

//  The consumer of G with qhost id ID, or NULL.
static rcons_t *consumer_by_id (rgq_t *g, uint64_t id)
{
    for (rcons_t *c = zhashx_first (g->consumers); c; c = zhashx_next (g->consumers))
        if (c->id == id)
            return c;
    return NULL;
}

//  An ack that committed, told to the simulator's observer (tests/sim only).
typedef struct {
    node_t *node;
    char queue[WIRE_TOPIC_MAX + 1];
    char id[QFSM_ID_MAX + 1];
} rack_t;

static void acked (void *arg, int status, uint64_t seq)
{
    rack_t *a = arg;
    if (status == 0)
        node_probe (a->node, NODE_FACT_ACKED, a->queue, a->id, seq);
    free (a);
}

//  Acks SEQ of G for consumer C; the observer, if any, hears of its commit.
static void ack (node_t *self, rgq_t *g, rcons_t *c, uint64_t seq)
{
    rack_t *a = NULL;
    qfsm_info_t info;
    if (self->probe && qfsm_find (qhost_fsm (g->host), seq, &info) == 0 &&
        (a = calloc (1, sizeof *a))) {
        a->node = self;
        snprintf (a->queue, sizeof a->queue, "%s", g->name);
        snprintf (a->id, sizeof a->id, "%s", info.id);
    }
    int rc = qhost_ack (g->host, c->id, seq, a ? acked : NULL, a);
    if (rc != 0) {
        wlog_debug (&self->log, "queue %s: ack of %" PRIu64 " by %s: %s", g->name, seq, c->name,
                    qhost_strerror (rc));
        free (a);
    }
}

void qraft_on_settle (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    rgq_t *g = served (self, from, msg->queue);
    rcons_t *c = g ? zhashx_lookup (g->consumers, msg->consumer) : NULL;
    if (!c) { //  an earlier leader's delivery: it comes again from this one
        wlog_debug (&self->log, "queue %s: settle of %" PRIu64 " by unknown %s", msg->queue,
                    msg->seq, msg->consumer);
        return;
    }
    if (msg->kind == WIRE_SETTLE_ACK)
        ack (self, g, c, msg->seq);
    else if (msg->kind == WIRE_SETTLE_NACK)
        qhost_nack (g->host, c->id, msg->seq, msg->value > 0 ? msg->value : 0, NULL, NULL);
    else
        qhost_reject (g->host, c->id, msg->seq, "rejected", NULL, NULL);
}

void qraft_deliver (void *arg, uint64_t consumer, const qfsm_info_t *msg, uint64_t term)
{
    rgq_t *g = arg;
    node_t *self = g->node;
    qraft_served (g);
    if (consumer == QRAFT_DRAIN && g->draining) { //  a message moves (superseded, redrive)
        bool redrive = strcmp (g->move_to, g->name) != 0;
        wire_queue_t *meta = queues_of (self)->out;
        memset (meta, 0, offsetof (wire_queue_t, seqs));
        //  a redriven letter gets an id of its own (its queue remembers the first one's),
        //  the same for every try of the move: a repeated move is a duplicate there
        if (redrive)
            snprintf (meta->msg_id, sizeof meta->msg_id, "%.100s~r%" PRIu64, msg->id, msg->seq);
        else {
            snprintf (meta->msg_id, sizeof meta->msg_id, "%s", msg->id);
            reason_unpack (msg, meta->reason, sizeof meta->reason);
        }
        meta->priority = msg->priority;
        meta->value = time_unpack (msg);
        queue_transfer (self, g->move_to, g->name, g->id, msg->seq, meta,
                        msg->body_len ? msg->body : "", msg->body_len);
        if (g->move_left != UINT64_MAX && --g->move_left == 0) {
            qhost_cancel (g->host, QRAFT_DRAIN); //  those there at the redrive: done
            g->draining = false;
        }
        return;
    }
    rcons_t *c = consumer_by_id (g, consumer);
    if (c)
        node_probe (self, NODE_FACT_DISPATCHED, g->name, msg->id, msg->deliveries);
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", g->name);
    if (c) {
        snprintf (out->consumer, sizeof out->consumer, "%s", c->name);
        snprintf (out->msg_id, sizeof out->msg_id, "%s", msg->id);
        out->seq = msg->seq;
        out->deliveries = msg->deliveries;
        out->priority = msg->priority;
        out->value = time_unpack (msg);
        reason_unpack (msg, out->reason, sizeof out->reason);
        if (queue_send (self, c->peer, WIRE_QDELIVER, out, msg->body_len ? msg->body : "",
                        msg->body_len) == 0)
            return;
    }
    wlog_debug (&self->log, "queue %s: delivery of %" PRIu64 " to %s failed", g->name, msg->seq,
                c ? c->name : "an unknown consumer");
    if (c) //  its node is gone (or too slow): its messages go to others; it may register again
        qhost_cancel (g->host, consumer);
}

void qraft_letter (void *arg, const qfsm_info_t *msg)
{
    rgq_t *g = arg;
    node_t *self = g->node;
    char dlq[WIRE_TOPIC_MAX + 1];
    if (snprintf (dlq, sizeof dlq, "%s" QUEUE_SUFFIX_DLQ, g->name) >= (int)sizeof dlq) {
        wlog_warn (&self->log,
                   "queue %s: no room for a dead-letter queue's name: letter %s dropped", g->name,
                   msg->id);
        qhost_lettered (g->host, msg->seq); //  nowhere to store it: it goes (counted)
        return;
    }
    wire_queue_t *meta = queues_of (self)->out;
    memset (meta, 0, offsetof (wire_queue_t, seqs));
    snprintf (meta->queue, sizeof meta->queue, "%s", dlq);
    snprintf (meta->msg_id, sizeof meta->msg_id, "%s", msg->id);
    snprintf (meta->reason, sizeof meta->reason, "%s/%u", msg->reason ? msg->reason : "dead",
              msg->deliveries);
    meta->priority = msg->priority;
    meta->value = time_unpack (msg);
    //  the message stays here until the dlq confirms (qraft_moved: qhost_lettered)
    queue_transfer (self, dlq, g->name, g->id, msg->seq, meta, msg->body_len ? msg->body : "",
                    msg->body_len);
}

//  QREDRIVE of QUEUE: the leader of QUEUE.dlq moves the letters it holds now
//  back into QUEUE and answers how many.
void qraft_on_redrive (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    char dlq[WIRE_TOPIC_MAX + 1];
    if (snprintf (dlq, sizeof dlq, "%s" QUEUE_SUFFIX_DLQ, msg->queue) >= (int)sizeof dlq) {
        queue_send_confirm (self, from->uuid_hex, msg->token, WEFT_EINVAL, 0, false);
        return;
    }
    rgq_t *g = served (self, from, dlq);
    if (!g) {
        rknown_t *k = zhashx_lookup (queues_of (self)->known, dlq);
        //  no such dead-letter queue anywhere (the ring's first choice answers): nothing to do
        const char *wanted[1];
        bool first = qraft_wanted (self, dlq, wanted, 1) && !strcmp (wanted[0], self->uuid_hex);
        queue_send_confirm (self, from->uuid_hex, msg->token, !k && first ? 0 : WEFT_EAGAIN, 0,
                            false);
        return;
    }
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (g->host), &st);
    uint64_t count = st.ready + st.delayed;
    if (count && !g->draining && qhost_consume (g->host, QRAFT_DRAIN, QRAFT_DRAIN_CREDITS) == 0) {
        g->draining = true;
        snprintf (g->move_to, sizeof g->move_to, "%s", msg->queue);
        g->move_left = count;
    }
    queue_send_confirm (self, from->uuid_hex, msg->token, g->draining || !count ? 0 : WEFT_EAGAIN,
                        count, false);
}

void qraft_peer_gone (node_t *self, peer_t *peer)
{
    struct queues *qs = queues_of (self);
    for (rgq_t *g = zhashx_first (qs->group_ids); g; g = zhashx_next (qs->group_ids)) {
        zlistx_t *gone = zlistx_new ();
        for (rcons_t *c = zhashx_first (g->consumers); gone && c; c = zhashx_next (g->consumers))
            if (strcmp (c->peer, peer->uuid_hex) == 0)
                zlistx_add_end (gone, c);
        for (rcons_t *c = gone ? zlistx_first (gone) : NULL; c; c = zlistx_next (gone)) {
            qhost_cancel (g->host, c->id);
            zhashx_delete (g->consumers, c->name);
        }
        zlistx_destroy (&gone);
    }
    zlistx_t *stale = zlistx_new ();
    for (char *h = zhashx_first (qs->hints); stale && h; h = zhashx_next (qs->hints))
        if (strcmp (h, peer->uuid_hex) == 0)
            zlistx_add_end (stale, (void *)zhashx_cursor (qs->hints));
    for (char *q = stale ? zlistx_first (stale) : NULL; q; q = zlistx_next (stale))
        zhashx_delete (qs->hints, q);
    zlistx_destroy (&stale);
}
