/*  node/queues/queue_owner.c - queues: the owner's side (ownership changes
    are in queue_handover.c).

    QSEND: check ownership and policy, deduplicate the message id, stage the
    entry in the journal. After the turn's commit: enqueue into the qstate,
    copy to the replicas (QREPL), and confirm to the producer at once
    (acks=owner) or when every replica has acknowledged its copy (acks=all).
    Then dispatch to consumers by credit, priority and FIFO; settle acks,
    nacks and rejects; redeliver on ack timeout or when a consumer's node
    goes; move what used up max_deliver, or was rejected, to "<queue>.dlq".
*/
#include "node/queues/queue.h"

void queue_body_free (void *payload, void *arg)
{
    (void)arg;
    free (payload);
}

qbody_t *queue_body_new (const void *data, size_t len, const wire_queue_t *meta)
{
    qbody_t *body = malloc (sizeof *body + (len ? len : 1));
    if (!body)
        return NULL;
    body->time_us = meta->value;
    snprintf (body->reason, sizeof body->reason, "%s", meta->reason);
    snprintf (body->msg_id, sizeof body->msg_id, "%s", meta->msg_id);
    body->len = len;
    if (len)
        memcpy (body->data, data, len);
    return body;
}

int queue_enqueue (queue_t *queue, uint64_t seq, const wire_queue_t *meta, qbody_t *body)
{
    if (!queue->q)
        return WEFT_ESTATE;
    int rc = qstate_enqueue (queue->q, seq, meta->msg_id, meta->priority, meta->deliveries, body);
    if (rc == WEFT_EINVAL) //  its id is held already (a transfer racing its source): keep it anyway
        rc = qstate_enqueue (queue->q, seq, NULL, meta->priority, meta->deliveries, body);
    return rc;
}

void queue_send_confirm (node_t *self, const char *producer, uint64_t token, int status,
                         uint64_t seq, bool duplicate)
{
    if (!*producer)
        return; //  a message moved by a sync: nobody waits for it
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    out->token = token;
    out->status = status;
    out->seq = seq;
    out->kind = duplicate ? 1 : 0;
    queue_send (self, producer, WIRE_QCONFIRM, out, NULL, 0);
}

//  Holds a QSEND until QUEUE has synced.
static void hold_send (queue_t *queue, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body)
{
    if (!queue->held) {
        queue->held = zlistx_new ();
        if (!queue->held)
            return;
    }
    held_send_t *held = malloc (sizeof *held);
    if (!held)
        return;
    held->msg = *msg;
    snprintf (held->from, sizeof held->from, "%s", from->uuid_hex);
    held->body = body ? node_frame_dup (body) : NULL;
    zlistx_add_end (queue->held, held);
}

//  Checks a QSEND against ownership and the write policy. Returns 0, or the
//  code to confirm with (WEFT_EAGAIN: not the owner, ask again).
static int check_send (node_t *self, queue_t *queue, const wire_queue_t *msg, zmq_msg_t *body)
{
    struct queues *qs = queues_of (self);
    const char *owner = queue_owner_of (self, msg->queue);
    if (!queue)
        return WEFT_EINVAL;
    if (!owner || strcmp (owner, self->uuid_hex) != 0)
        return WEFT_EAGAIN;
    if (!self->journal)
        return WEFT_ESTATE;
    if (body && zmq_msg_size (body) > self->max_message)
        return WEFT_EMSGSIZE;
    if (self->journal_failed)
        return self->journal_failed;
    if (msg->acks == WIRE_ACKS_ALL && ring_size (qs->ring) < msg->replication) {
        wlog_warn (&self->log, "queue %s: %u copies with acks=all need %u members; %zu alive",
                   msg->queue, msg->replication, msg->replication, ring_size (qs->ring));
        return WEFT_ESTATE;
    }
    return 0;
}

//  Stages MSG (BODY may be NULL) in QUEUE's stream; PRODUCER is "" for a
//  message moved by a sync. Returns 0 or a WEFT_E* code.
static int stage (node_t *self, queue_t *queue, const wire_queue_t *msg, zmq_msg_t *body,
                  const char *producer, bool duplicate)
{
    staged_t *st = calloc (1, sizeof *st);
    if (!st)
        return WEFT_ENOMEM;
    st->queue = queue;
    st->duplicate = duplicate;
    st->token = msg->token;
    st->priority = msg->priority;
    st->deliveries = msg->deliveries;
    st->replication = msg->replication ? msg->replication : queues_of (self)->replication;
    st->acks = msg->acks;
    snprintf (st->msg_id, sizeof st->msg_id, "%s", msg->msg_id);
    snprintf (st->producer, sizeof st->producer, "%s", producer);
    int rc = 0;
    if (!duplicate) {
        const void *data = body ? zmq_msg_data (body) : NULL;
        size_t len = body ? zmq_msg_size (body) : 0;
        st->body = queue_body_new (data, len, msg);
        rc = st->body ? queue_store_append (self, queue, msg, 0, data, len, &st->seq) : WEFT_ENOMEM;
        if (rc == 0)
            queue_dedup_add (self, queue->name, msg->msg_id);
    }
    if (rc) {
        free (st->body);
        free (st);
        return rc;
    }
    zlistx_add_end (queues_of (self)->staged, st);
    return 0;
}

void queue_on_send (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body)
{
    queue_t *queue = queue_get (self, msg->queue, true);
    int rc = check_send (self, queue, msg, body);
    if (rc == 0 && !queue->owner)
        queue_activate (self, queue);
    if (rc == 0 && !queue->active) {
        hold_send (queue, from, msg, body); //  answered once the former holders are heard
        return;
    }
    //  transfers by the queues themselves (dead letters, redrive: they carry a
    //  reason) reuse the message id on purpose: only producers' sends are deduplicated
    bool transfer = msg->reason[0] != 0;
    bool duplicate = rc == 0 && !transfer && queue_dedup_seen (self, msg->queue, msg->msg_id);
    if (duplicate)
        queues_of (self)->duplicates++;
    if (rc == 0)
        rc = stage (self, queue, msg, body, from->uuid_hex, duplicate);
    if (rc)
        queue_send_confirm (self, from->uuid_hex, msg->token, rc, 0, false);
}

//  Sends the copy of a just-committed message ST to its replicas; returns
//  the confirm waiting for them, or NULL when nobody needs to answer.
static confirm_t *replicate (node_t *self, staged_t *st)
{
    struct queues *qs = queues_of (self);
    const char *members[10];
    size_t n = ring_replicas (qs->ring, st->queue->name, st->replication, members);
    if (st->replication > st->queue->replication)
        st->queue->replication = st->replication;
    wire_queue_t *out = qs->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", st->queue->name);
    snprintf (out->msg_id, sizeof out->msg_id, "%s", st->msg_id);
    snprintf (out->reason, sizeof out->reason, "%s", st->body->reason);
    out->seq = st->seq;
    out->priority = st->priority;
    out->deliveries = st->deliveries;
    out->value = st->body->time_us;
    confirm_t *c = NULL;
    for (size_t i = 1; i < n; i++) {
        if (queue_send (self, members[i], WIRE_QREPL, out, st->body->data, st->body->len))
            continue;
        if (st->acks != WIRE_ACKS_ALL || !*st->producer)
            continue;
        if (!c && (c = calloc (1, sizeof *c)) && !(c->waiting = zhashx_new ())) {
            free (c);
            c = NULL;
        }
        if (c)
            zhashx_insert (c->waiting, members[i], "1");
    }
    return c;
}

//  Handles one staged message after a successful commit.
static void committed (node_t *self, staged_t *st)
{
    if (st->duplicate) {
        queue_send_confirm (self, st->producer, st->token, 0, 0, true);
        return;
    }
    qbody_t *body = st->body;
    confirm_t *c = replicate (self, st);
    wire_queue_t meta = {.priority = st->priority, .deliveries = st->deliveries};
    snprintf (meta.msg_id, sizeof meta.msg_id, "%s", st->msg_id);
    if (queue_enqueue (st->queue, st->seq, &meta, body) == 0)
        st->body = NULL; //  the qstate has it now
    if (!c) {
        queue_send_confirm (self, st->producer, st->token, 0, st->seq, false);
        return;
    }
    snprintf (c->queue, sizeof c->queue, "%s", st->queue->name);
    snprintf (c->producer, sizeof c->producer, "%s", st->producer);
    c->seq = st->seq;
    c->token = st->token;
    zlistx_add_end (queues_of (self)->confirms, c);
}

void queue_owner_after_commit (node_t *self, bool ok)
{
    struct queues *qs = queues_of (self);
    int failure = self->journal_failed;
    for (staged_t *st = zlistx_first (qs->staged); st; st = zlistx_next (qs->staged)) {
        if (ok)
            committed (self, st);
        else {
            queue_dedup_forget (self, st->queue->name, st->msg_id); //  it was never stored
            queue_send_confirm (self, st->producer, st->token, failure ? failure : WEFT_EIO, 0,
                                false);
        }
        free (st->body);
        free (st);
    }
    zlistx_purge (qs->staged);
    wire_queue_t *out = qs->out;
    for (qanswer_t *a = zlistx_first (qs->repl_acks); ok && a; a = zlistx_next (qs->repl_acks)) {
        memset (out, 0, offsetof (wire_queue_t, seqs));
        snprintf (out->queue, sizeof out->queue, "%s", a->queue);
        out->seq = a->seq;
        queue_send (self, a->to, a->type, out, NULL, 0);
    }
    zlistx_purge (qs->repl_acks);
}

void queue_on_repl_ack (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    zlistx_t *confirms = queues_of (self)->confirms;
    for (confirm_t *c = zlistx_first (confirms); c; c = zlistx_next (confirms))
        if (c->seq == msg->seq && strcmp (c->queue, msg->queue) == 0) {
            zhashx_delete (c->waiting, from->uuid_hex);
            return;
        }
}

//  Confirms what every replica has acknowledged (or that no replica waits on).
static void confirm_ready (node_t *self)
{
    zlistx_t *confirms = queues_of (self)->confirms;
    zlistx_t *all = node_list_snapshot (confirms);
    for (confirm_t *c = all ? zlistx_first (all) : NULL; c; c = zlistx_next (all))
        if (zhashx_size (c->waiting) == 0) {
            queue_send_confirm (self, c->producer, c->token, 0, c->seq, false);
            zhashx_destroy (&c->waiting);
            node_list_remove (confirms, c);
            free (c);
        }
    zlistx_destroy (&all);
}

void queue_dispatch (node_t *self, int64_t now)
{
    struct queues *qs = queues_of (self);
    confirm_ready (self);
    int budget = QUEUE_DISPATCH;
    wire_queue_t *out = qs->out;
    for (queue_t *q = zhashx_first (qs->queues); q && budget > 0; q = zhashx_next (qs->queues)) {
        qstate_delivery_t d;
        while (q->active && q->q && budget-- > 0 && qstate_next (q->q, now, &d) == 1) {
            qbody_t *body = d.payload;
            char uuid[WIRE_UUID_SIZE * 2 + 1];
            snprintf (uuid, sizeof uuid, "%.32s", d.consumer);
            memset (out, 0, offsetof (wire_queue_t, seqs));
            snprintf (out->queue, sizeof out->queue, "%s", q->name);
            snprintf (out->consumer, sizeof out->consumer, "%s", d.consumer);
            snprintf (out->msg_id, sizeof out->msg_id, "%s", body ? body->msg_id : "");
            snprintf (out->reason, sizeof out->reason, "%s", body ? body->reason : "");
            out->seq = d.seq;
            out->deliveries = d.deliveries;
            out->priority = d.priority;
            out->value = body ? body->time_us : 0;
            if (queue_send (self, uuid, WIRE_QDELIVER, out, body ? body->data : "",
                            body ? body->len : 0)) {
                //  its node is gone or too slow: take the delivery back
                qstate_nack (q->q, d.seq, d.consumer, 0, now);
                break;
            }
            node_probe (self, NODE_FACT_DISPATCHED, q->name, out->msg_id, d.deliveries);
        }
    }
}

//  Moves a dead message of QUEUE to its dead-letter queue (a transfer: the
//  entry stays until the dead-letter queue's owner has confirmed it).
static void dead_letter (node_t *self, queue_t *queue, qstate_dead_t *dead)
{
    qbody_t *body = dead->payload;
    size_t len = strlen (queue->name);
    bool is_dlq = len > 4 && strcmp (queue->name + len - 4, QUEUE_SUFFIX_DLQ) == 0;
    if (is_dlq) {
        wlog_warn (&self->log, "queue %s: message %s dead again (%s): dropped", queue->name,
                   dead->msg_id, dead->reason);
        queue_dead_done (self, queue->name, dead->seq);
    } else {
        char dlq[WIRE_TOPIC_MAX + 8];
        snprintf (dlq, sizeof dlq, "%s" QUEUE_SUFFIX_DLQ, queue->name);
        wire_queue_t *meta = queues_of (self)->out;
        memset (meta, 0, offsetof (wire_queue_t, seqs));
        snprintf (meta->msg_id, sizeof meta->msg_id, "%s", dead->msg_id);
        //  "<reason>/<deliveries>": the dead-letter queue counts its own deliveries
        snprintf (meta->reason, sizeof meta->reason, "%.40s/%u", dead->reason, dead->deliveries);
        meta->priority = dead->priority;
        meta->deliveries = 0;
        meta->value = body ? body->time_us : 0;
        queue_transfer (self, dlq, queue->name, 0, dead->seq, meta, body ? body->data : "",
                        body ? body->len : 0);
    }
    free (body);
}

//  What qstate_tick's dead-letter callback needs.
typedef struct {
    node_t *self;   //  the node
    queue_t *queue; //  the queue being ticked
} tick_ctx_t;

//  qstate_dead_fn: hands the dead message to its dead-letter queue.
static void on_dead (qstate_dead_t *dead, void *arg)
{
    tick_ctx_t *ctx = arg;
    ctx->queue->dead++;
    dead_letter (ctx->self, ctx->queue, dead);
}

//  Ends the sync waits whose holder did not answer in time.
static void sync_timeouts (node_t *self, queue_t *queue, int64_t now)
{
    zlistx_t *late = zlistx_new ();
    for (int64_t *deadline = zhashx_first (queue->sync_wait); deadline && late;
         deadline = zhashx_next (queue->sync_wait))
        if (now >= *deadline)
            zlistx_add_end (late, strdup (zhashx_cursor (queue->sync_wait)));
    for (char *uuid = zlistx_first (late); uuid; uuid = zlistx_next (late)) {
        wlog_warn (&self->log, "queue %s: %s did not answer the sync in time", queue->name, uuid);
        zhashx_delete (queue->sync_wait, uuid);
        free (uuid);
    }
    zlistx_destroy (&late);
    queue_sync_check (self, queue);
}

void queue_owner_tick (node_t *self, int64_t now)
{
    struct queues *qs = queues_of (self);
    for (queue_t *q = zhashx_first (qs->queues); q; q = zhashx_next (qs->queues)) {
        if (q->sync_wait)
            sync_timeouts (self, q, now);
        if (q->active && q->q) {
            tick_ctx_t ctx = {self, q};
            qstate_tick (q->q, now, on_dead, &ctx);
        }
    }
}

//  Removes entry SEQ of QUEUE from our journal and, later, from the replicas.
static void forget (node_t *self, queue_t *queue, uint64_t seq)
{
    if (journal_delete (self->journal, queue->stream, seq))
        return;
    char *text = zsys_sprintf ("%" PRIu64, seq);
    if (text)
        zlistx_add_end (queue->deletes, text);
}

void queue_dead_done (node_t *self, const char *name, uint64_t seq)
{
    queue_t *queue = queue_get (self, name, false);
    if (queue)
        forget (self, queue, seq);
}

void queue_flush_deletes (node_t *self)
{
    struct queues *qs = queues_of (self);
    wire_queue_t *out = qs->out;
    for (queue_t *q = zhashx_first (qs->queues); q; q = zhashx_next (qs->queues)) {
        while (zlistx_size (q->deletes) > 0) {
            memset (out, 0, offsetof (wire_queue_t, seqs));
            snprintf (out->queue, sizeof out->queue, "%s", q->name);
            char *text;
            while (out->nseqs < WIRE_SEQS_MAX && (text = zlistx_first (q->deletes))) {
                out->seqs[out->nseqs++] = strtoull (text, NULL, 10);
                zlistx_delete (q->deletes, zlistx_cursor (q->deletes));
            }
            for (size_t i = 0; q->owner && i < q->nreplicas; i++)
                queue_send (self, q->replicas[i], WIRE_QREPL_DEL, out, NULL, 0);
        }
    }
}

void queue_on_settle (node_t *self, const wire_queue_t *msg)
{
    queue_t *queue = queue_get (self, msg->queue, false);
    if (!queue || !queue->active || !queue->q)
        return; //  not ours (any more): the owner now will deliver it again
    int64_t now = node_now (self);
    int rc = WEFT_EINVAL;
    if (msg->kind == WIRE_SETTLE_ACK) {
        qstate_info_t info;
        char id[WIRE_MSG_ID_MAX + 1] = "";
        if (self->probe && qstate_find (queue->q, msg->seq, &info) == 0)
            snprintf (id, sizeof id, "%s", info.msg_id);
        rc = qstate_ack (queue->q, msg->seq, msg->consumer);
        if (rc == 0 && *id)
            node_probe (self, NODE_FACT_ACKED, queue->name, id, msg->seq);
        if (rc == 0)
            forget (self, queue, msg->seq);
        if (rc == 0 && queue->redriving && strstr (msg->consumer, "/redrive") &&
            --queue->redriving == 0) {
            qstate_consumer_remove (queue->q, msg->consumer, now); //  the redrive is done
            return;
        }
    } else if (msg->kind == WIRE_SETTLE_NACK)
        rc = qstate_nack (queue->q, msg->seq, msg->consumer, msg->value > 0 ? msg->value : 0, now);
    else if (msg->kind == WIRE_SETTLE_REJECT) {
        qstate_dead_t dead;
        rc = qstate_reject (queue->q, msg->seq, msg->consumer, &dead);
        if (rc == 0) {
            queue->dead++;
            dead_letter (self, queue, &dead);
        }
    }
    if (rc == 0 && !strstr (msg->consumer, "/redrive"))
        qstate_consumer_credit (queue->q, msg->consumer, 1);
    else if (rc)
        wlog_debug (&self->log, "queue %s: settle of %" PRIu64 " by %s refused: %s", queue->name,
                    msg->seq, msg->consumer, weft_strerror (rc));
}

void queue_on_consume (node_t *self, const wire_queue_t *msg)
{
    queue_t *queue = queue_get (self, msg->queue, true);
    const char *owner = queue ? queue_owner_of (self, msg->queue) : NULL;
    if (!owner || strcmp (owner, self->uuid_hex) != 0 || !self->journal)
        return; //  not ours: the consumer follows the ring and asks the owner
    if (!queue->owner)
        queue_activate (self, queue);
    if (!queue->q || qstate_consumer_exists (queue->q, msg->consumer))
        return;
    uint32_t prefetch = msg->value > 0 && msg->value < 1000000 ? (uint32_t)msg->value : 1;
    if (qstate_consumer_add (queue->q, msg->consumer, prefetch) == 0) {
        qstate_consumer_credit (queue->q, msg->consumer, QUEUE_CREDIT);
        wlog_debug (&self->log, "queue %s: consumer %s (prefetch %u)", queue->name, msg->consumer,
                    prefetch);
    }
}

void queue_on_cancel (node_t *self, const wire_queue_t *msg)
{
    queue_t *queue = queue_get (self, msg->queue, false);
    if (queue && queue->q)
        qstate_consumer_remove (queue->q, msg->consumer, node_now (self));
}

void queue_on_redrive (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    char dlq[WIRE_TOPIC_MAX + 8];
    snprintf (dlq, sizeof dlq, "%s" QUEUE_SUFFIX_DLQ, msg->queue);
    queue_t *queue = queue_get (self, dlq, true);
    const char *owner = queue_owner_of (self, dlq);
    uint64_t token = msg->token;
    if (!queue || !owner || strcmp (owner, self->uuid_hex) != 0) {
        queue_send_confirm (self, from->uuid_hex, token, WEFT_EAGAIN, 0, false);
        return;
    }
    if (!queue->owner)
        queue_activate (self, queue);
    qstate_stats_t st = {0};
    if (queue->q)
        qstate_stats (queue->q, &st);
    //  an internal consumer takes every dead letter and sends it back (queue_client.c)
    char consumer[WIRE_CONSUMER_MAX + 1];
    snprintf (consumer, sizeof consumer, "%s/redrive", self->uuid_hex);
    queue->redriving = st.ready + st.delayed; //  not those in flight to consumers
    //  exactly as many credits as there are dead letters now: later ones stay
    uint32_t take = (uint32_t)(queue->redriving < 100000 ? queue->redriving : 100000);
    if (queue->q && take && !qstate_consumer_exists (queue->q, consumer))
        qstate_consumer_add (queue->q, consumer, take); //  its initial credits: TAKE
    queue_send_confirm (self, from->uuid_hex, token, 0, queue->redriving, false);
}
