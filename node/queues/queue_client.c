/*  node/queues/queue_client.c - queues: this node as a producer and a consumer.

    A send is kept (with its body) until its owner confirms it: it goes to the
    owner in our ring, is sent again when the owner changes or does not answer,
    and fails only at its deadline. The owner deduplicates by message id, so a
    resend is never enqueued twice. Transfers this node makes on its own
    (dead letters, redrive) use the same path and never give up.
    A consumer registers with its queue's owner and follows the ring; each
    delivery is remembered until the application settles it, so a settle of
    an unknown or already settled delivery fails with WEFT_ENOTFOUND.
*/
#include "node/queues/queue.h"

#define RESEND_AFTER  1000         //  ms without a confirm before sending again
#define REFRESH_EVERY 5            //  intervals between consumer registrations
#define INTERNAL_BIT  (1ull << 63) //  tokens of transfers this node makes itself

//  O as a wire message, built in the reused scratch (valid until the next
//  use of queues->out): the fields its type carries, the rest zero.
static const wire_queue_t *outgoing_wire (node_t *self, const outgoing_t *o)
{
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    out->token = o->token;
    snprintf (out->queue, sizeof out->queue, "%s", o->queue);
    snprintf (out->msg_id, sizeof out->msg_id, "%s", o->msg_id);
    snprintf (out->reason, sizeof out->reason, "%s", o->reason);
    out->priority = o->priority;
    out->deliveries = o->deliveries;
    out->replication = o->replication;
    out->acks = o->acks;
    out->value = o->time_us;
    return out;
}

//  Sends O to the owner of its queue (now, or when there is one).
static void route (node_t *self, outgoing_t *o)
{
    const char *queue = o->queue;
    char dlq[WIRE_TOPIC_MAX + 8];
    if (o->type == WIRE_QREDRIVE) { //  the dead-letter queue's owner does it
        snprintf (dlq, sizeof dlq, "%s" QUEUE_SUFFIX_DLQ, o->queue);
        queue = dlq;
    }
    const char *owner = queue_owner_of (self, queue);
    struct queues *qs = queues_of (self);
    bool hinted = zhashx_lookup (qs->hints, queue) != NULL;
    if (o->refusals >= 3 && !hinted) {
        //  the owner we see keeps saying it is not: our ring and the members'
        //  disagree (a member we have not heard of, or one they dropped). Try
        //  the queue's other candidates in turn: only a member that owns the
        //  queue in its own view accepts.
        const char *candidates[10];
        size_t n = ring_replicas (queues_of (self)->ring, queue, 10, candidates);
        if (n)
            owner = candidates[(o->refusals / 3) % n];
    }
    o->target[0] = 0;
    o->sent_at = node_now (self);
    if (!owner)
        return; //  no member owns queues yet: the next ring change sends it
    size_t len = zmq_msg_size (&o->body);
    if (queue_send (self, owner, o->type, outgoing_wire (self, o),
                    len ? zmq_msg_data (&o->body) : "", len) == 0)
        snprintf (o->target, sizeof o->target, "%s", owner);
}

//  The key of TOKEN in the by-token index, in OUT (24 bytes).
static void token_key (uint64_t token, char *out)
{
    snprintf (out, 24, "%" PRIx64, token);
}

//  The unconfirmed message with TOKEN, or NULL.
static outgoing_t *find_outgoing (node_t *self, uint64_t token)
{
    char key[24];
    token_key (token, key);
    return zhashx_lookup (queues_of (self)->by_token, key);
}

//  Copies TEXT (at most MAX bytes of it) to *AT, NUL-terminated, and moves
//  *AT past it. Returns the copy.
static const char *put_text (char **at, const char *text, size_t max)
{
    size_t len = strnlen (text, max);
    char *copy = *at;
    memcpy (copy, text, len);
    copy[len] = 0;
    *at += len + 1;
    return copy;
}

//  Creates an outgoing message TOKEN to QUEUE (NULL: META's) with META's
//  QSEND fields and, for a transfer, SRC_QUEUE (NULL: none); takes BODY's
//  content (BODY may be NULL). Its strings are sized to their content.
static outgoing_t *outgoing_new (node_t *self, uint64_t token, const char *queue,
                                 const wire_queue_t *meta, const char *src_queue, zmq_msg_t *body)
{
    struct queues *qs = queues_of (self);
    queue = queue ? queue : meta->queue;
    src_queue = src_queue ? src_queue : "";
    size_t size = strnlen (queue, WIRE_TOPIC_MAX) + strnlen (meta->msg_id, WIRE_MSG_ID_MAX) +
                  strnlen (meta->reason, WIRE_REASON_MAX) +
                  strnlen (meta->consumer, WIRE_CONSUMER_MAX) +
                  strnlen (src_queue, WIRE_TOPIC_MAX) + 5;
    outgoing_t *o = calloc (1, sizeof *o + size);
    if (!o)
        return NULL;
    char *at = o->strings;
    o->queue = put_text (&at, queue, WIRE_TOPIC_MAX);
    o->msg_id = put_text (&at, meta->msg_id, WIRE_MSG_ID_MAX);
    o->reason = put_text (&at, meta->reason, WIRE_REASON_MAX);
    o->consumer = put_text (&at, meta->consumer, WIRE_CONSUMER_MAX);
    o->src_queue = put_text (&at, src_queue, WIRE_TOPIC_MAX);
    o->token = token;
    o->priority = meta->priority;
    o->deliveries = meta->deliveries;
    o->replication = meta->replication;
    o->acks = meta->acks;
    o->time_us = meta->value;
    o->type = WIRE_QSEND;
    char key[24];
    token_key (o->token, key);
    zhashx_update (qs->by_token, key, o);
    zmq_msg_init (&o->body);
    if (body)
        zmq_msg_move (&o->body, body);
    zlistx_add_end (qs->outgoing, o);
    return o;
}

uint64_t queue_transfer (node_t *self, const char *to_queue, const char *src_queue,
                         uint64_t src_group, uint64_t src_seq, const wire_queue_t *meta,
                         const void *body, size_t len)
{
    struct queues *qs = queues_of (self);
    zmq_msg_t frame;
    zmq_msg_init_size (&frame, len);
    if (len)
        memcpy (zmq_msg_data (&frame), body, len);
    uint64_t token = INTERNAL_BIT | ++qs->next_internal;
    outgoing_t *o = outgoing_new (self, token, to_queue, meta, src_queue, &frame);
    zmq_msg_close (&frame);
    if (!o)
        return 0;
    //  on Raft a move or letter takes the target group's own copies (asking
    //  for more than it has voters would be refused, and retried for ever)
    o->replication = qs->raft ? 1 : qs->replication;
    o->acks = qs->acks;
    o->internal = true;
    o->src_seq = src_seq;
    o->src_group = src_group;
    route (self, o);
    return o->token;
}

//  Settles delivery SEQ of QUEUE (by CONSUMER) at OWNER.
static void settle (node_t *self, const char *owner, const char *queue, const char *consumer,
                    uint64_t seq, int kind, int64_t delay)
{
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", queue);
    snprintf (out->consumer, sizeof out->consumer, "%s", consumer);
    out->seq = seq;
    out->kind = (uint8_t)kind;
    out->value = delay;
    queue_send (self, owner, WIRE_QSETTLE, out, NULL, 0);
}

//  O is finished with STATUS (and SEQ / duplicate from the owner): tell
//  whoever waits, and forget it.
static void complete (node_t *self, outgoing_t *o, int status, uint64_t seq, bool duplicate)
{
    if (o->internal) {
        if (status != 0)
            return;                   //  a transfer never gives up: it is sent again later
        if (queues_of (self)->raft) { //  a move out of a superseded group (or a dead letter)
            if (o->src_group)
                qraft_moved (self, o->src_group, o->src_seq);
        } else if (*o->src_owner) //  redrive: the dead letter may go now
            settle (self, o->src_owner, o->src_queue, o->consumer, o->src_seq, WIRE_SETTLE_ACK, 0);
        else
            queue_dead_done (self, o->src_queue, o->src_seq);
    } else if (o->blocking)
        board_confirm (self->board, o->token, status < 0 ? status : (int)(seq & 0x7fffffff));
    else {
        node_event_t ev = {.kind = WEFT_MSG_CONFIRM, .seq = o->token};
        zmq_msg_t topic, headers;
        zmq_msg_init_size (&topic, strlen (o->queue));
        memcpy (zmq_msg_data (&topic), o->queue, strlen (o->queue));
        char text[WIRE_MSG_ID_MAX + 96];
        int n = snprintf (text, sizeof text, "status%c%d%cduplicate%c%s%cmsg_id%c%s", 0, status, 0,
                          0, duplicate ? "yes" : "no", 0, 0, o->msg_id);
        zmq_msg_init_size (&headers, (size_t)n + 1);
        memcpy (zmq_msg_data (&headers), text, (size_t)n + 1);
        node_emit (self, &ev, &topic, NULL, &headers);
    }
    if (!o->internal && o->type == WIRE_QSEND)
        board_release (self->board); //  the window has room again
    zmq_msg_close (&o->body);
    char key[24];
    token_key (o->token, key);
    zhashx_delete (queues_of (self)->by_token, key);
    node_list_remove (queues_of (self)->outgoing, o);
    free (o); //  its strings with it
}

void queue_client_on_confirm (node_t *self, const wire_queue_t *msg)
{
    outgoing_t *o = find_outgoing (self, msg->token);
    if (!o)
        return; //  a late answer to something already finished
    if (msg->status == WEFT_EAGAIN) {
        if (o->refusals < UINT8_MAX)
            o->refusals++;
        o->target[0] = 0; //  not the owner (yet): ask again shortly
        o->sent_at = node_now (self) - RESEND_AFTER + 100;
    } else
        complete (self, o, msg->status, msg->seq, msg->kind == 1);
}

//  Asks the owner of the dead-letter queue of ARGS's queue for a redrive.
static void start_redrive (node_t *self, const queue_args_t *args)
{
    wire_queue_t *meta = queues_of (self)->out; //  the scratch, read before route
    memset (meta, 0, offsetof (wire_queue_t, seqs));
    snprintf (meta->queue, sizeof meta->queue, "%s", args->queue);
    outgoing_t *o = outgoing_new (self, args->token, NULL, meta, NULL, NULL);
    if (!o) {
        board_confirm (self->board, args->token, WEFT_ENOMEM);
        return;
    }
    o->type = WIRE_QREDRIVE;
    o->blocking = true;
    o->deadline = node_now (self) + (args->timeout_ms > 0 ? args->timeout_ms : 5000);
    route (self, o);
}

void queues_cmd_send (node_t *self)
{
    queue_args_t args;
    zmq_msg_t body;
    zmq_msg_init (&body);
    void *pipe = zsock_resolve (self->pipe);
    if (zmq_recv (pipe, &args, sizeof args, 0) != (int)sizeof args ||
        zmq_msg_recv (&body, pipe, 0) < 0) {
        zmq_msg_close (&body);
        return;
    }
    if (args.type == WIRE_QREDRIVE) {
        zmq_msg_close (&body);
        start_redrive (self, &args);
        return;
    }
    wire_queue_t *meta = queues_of (self)->out; //  the scratch, read before route
    memset (meta, 0, offsetof (wire_queue_t, seqs));
    snprintf (meta->queue, sizeof meta->queue, "%s", args.queue);
    snprintf (meta->msg_id, sizeof meta->msg_id, "%s", args.msg_id);
    if (!*meta->msg_id) //  unique across restarts: our UUID, this run, the token
        snprintf (meta->msg_id, sizeof meta->msg_id, "%.12s-%" PRIx64 "-%" PRIu64, self->uuid_hex,
                  self->incarnation, args.token);
    meta->priority = args.priority;
    //  the Raft engine keeps as many copies as its groups have voters: N only asks for a
    //  minimum there (1 unless the send says)
    meta->replication = args.replication         ? args.replication
                        : queues_of (self)->raft ? 1
                                                 : queues_of (self)->replication;
    meta->acks = args.acks;
    meta->value = node_wall_us (self);
    outgoing_t *o = outgoing_new (self, args.token, NULL, meta, NULL, &body);
    zmq_msg_close (&body);
    if (!o) {
        if (args.blocking)
            board_confirm (self->board, args.token, WEFT_ENOMEM);
        return;
    }
    o->type = args.type;
    o->blocking = args.blocking;
    o->deadline =
        node_now (self) + (args.timeout_ms > 0 ? args.timeout_ms : queues_of (self)->send_timeout);
    route (self, o);
}

void queues_cmd_consume (node_t *self)
{
    char *queue = NULL;
    int prefetch = 0;
    int rc = zsock_recv (self->pipe, "si", &queue, &prefetch) < 0 ? WEFT_EINVAL : 0;
    struct queues *qs = queues_of (self);
    consumer_t *c = rc == 0 ? calloc (1, sizeof *c) : NULL;
    if (rc == 0 && ring_size (qs->ring) == 0)
        rc = WEFT_ENOTFOUND; //  no live member to own the queue
    else if (rc == 0 && !c)
        rc = WEFT_ENOMEM;
    if (rc == 0) {
        snprintf (c->queue, sizeof c->queue, "%s", queue);
        //  the run in it too: a restarted node's consumers are not its last run's
        snprintf (c->id, sizeof c->id, "%s/%08" PRIx32 ".%" PRIu64, self->uuid_hex,
                  (uint32_t)self->incarnation, ++qs->next_consumer);
        c->prefetch = (uint32_t)prefetch;
        zhashx_insert (qs->consumers, c->id, c);
        queue_client_ring_changed (self); //  registers it with the owner
        c = NULL;
    }
    free (c);
    zstr_free (&queue);
    zsock_send (self->pipe, "i", rc);
}

//  Sends QCONSUME (or QCANCEL) for consumer C to OWNER.
static void register_consumer (node_t *self, consumer_t *c, const char *owner, int type)
{
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", c->queue);
    snprintf (out->consumer, sizeof out->consumer, "%s", c->id);
    out->value = c->prefetch;
    wlog_debug (&self->log, "queue %s: %s %s at %.8s", c->queue,
                type == WIRE_QCANCEL ? "cancel" : "register", c->id, owner);
    queue_send (self, owner, type, out, NULL, 0);
}

void queues_cmd_cancel (node_t *self)
{
    char *queue = zstr_recv (self->pipe);
    struct queues *qs = queues_of (self);
    int count = 0;
    zlistx_t *gone = zlistx_new ();
    for (consumer_t *c = zhashx_first (qs->consumers); queue && c; c = zhashx_next (qs->consumers))
        if (strcmp (c->queue, queue) == 0) {
            if (*c->owner)
                register_consumer (self, c, c->owner, WIRE_QCANCEL);
            zlistx_add_end (gone, c->id);
        }
    for (char *id = zlistx_first (gone); id; id = zlistx_next (gone), count++)
        zhashx_delete (qs->consumers, id);
    zlistx_destroy (&gone);
    zstr_free (&queue);
    zsock_send (self->pipe, "i", count ? 0 : WEFT_ENOTFOUND);
}

//  The key of a delivery: "<owner>/<seq>/<deliveries>/<queue>" (a redelivery
//  of the same message is another delivery).
static void delivery_key (const char *owner, uint64_t seq, uint32_t deliveries, const char *queue,
                          char *out, size_t cap)
{
    snprintf (out, cap, "%s/%" PRIu64 "/%u/%s", owner, seq, deliveries, queue);
}

void queues_cmd_settle (node_t *self)
{
    queue_settle_args_t args;
    if (zmq_recv (zsock_resolve (self->pipe), &args, sizeof args, 0) != (int)sizeof args)
        return;
    args.owner[sizeof args.owner - 1] = 0;
    args.queue[sizeof args.queue - 1] = 0;
    char key[WIRE_UUID_SIZE * 2 + WIRE_TOPIC_MAX + 48];
    delivery_key (args.owner, args.seq, args.deliveries, args.queue, key, sizeof key);
    char *consumer = zhashx_lookup (queues_of (self)->deliveries, key);
    if (consumer) {
        settle (self, args.owner, args.queue, consumer, args.seq, args.kind, args.delay_ms);
        zhashx_delete (queues_of (self)->deliveries, key);
    } else //  no answer either way: the API thread checked the delivery already (api_queue.c)
        wlog_debug (&self->log, "settle of an unknown delivery ignored");
}

//  A dead letter delivered to our redrive consumer: send it back to its queue.
static void redrive_one (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body)
{
    char target[WIRE_TOPIC_MAX + 1];
    size_t len = strlen (msg->queue);
    snprintf (target, sizeof target, "%.*s", (int)(len > 4 ? len - 4 : len), msg->queue);
    wire_queue_t *meta = queues_of (self)->out;        //  the scratch, read before route
    memcpy (meta, msg, offsetof (wire_queue_t, seqs)); //  its consumer comes along
    snprintf (meta->reason, sizeof meta->reason, "redrive");
    meta->deliveries = 0;
    uint64_t token = queue_transfer (self, target, msg->queue, 0, msg->seq, meta,
                                     body ? (const void *)zmq_msg_data (body) : "",
                                     body ? zmq_msg_size (body) : 0);
    outgoing_t *o = token ? find_outgoing (self, token) : NULL;
    if (o)
        snprintf (o->src_owner, sizeof o->src_owner, "%s", from->uuid_hex);
}

//  Packs the headers of a delivery (msg_id, deliveries, priority; for a dead
//  letter, reason and dead_deliveries from its "<reason>/<count>") into FRAME.
static void delivery_headers (const wire_queue_t *msg, zmq_msg_t *frame)
{
    char text[WIRE_MSG_ID_MAX + WIRE_REASON_MAX + 128];
    int n = snprintf (text, sizeof text, "msg_id%c%s%cdeliveries%c%u%cpriority%c%u%c", 0,
                      msg->msg_id, 0, 0, msg->deliveries, 0, 0, msg->priority, 0);
    const char *slash = strrchr (msg->reason, '/');
    if (*msg->reason && n > 0 && (size_t)n < sizeof text)
        n += snprintf (text + n, sizeof text - (size_t)n, "reason%c%.*s%c", 0,
                       (int)(slash ? slash - msg->reason : (long)strlen (msg->reason)), msg->reason,
                       0);
    if (slash && n > 0 && (size_t)n < sizeof text)
        n += snprintf (text + n, sizeof text - (size_t)n, "dead_deliveries%c%s%c", 0, slash + 1, 0);
    zmq_msg_init_size (frame, (size_t)n);
    memcpy (zmq_msg_data (frame), text, (size_t)n);
}

void queue_client_on_deliver (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body)
{
    struct queues *qs = queues_of (self);
    char redrive[WIRE_CONSUMER_MAX + 1];
    snprintf (redrive, sizeof redrive, "%s/redrive", self->uuid_hex);
    if (strcmp (msg->consumer, redrive) == 0) {
        redrive_one (self, from, msg, body);
        return;
    }
    if (!zhashx_lookup (qs->consumers, msg->consumer)) {
        //  a consumer we no longer have: give the message back at once
        wlog_debug (&self->log, "queue %s: delivery %" PRIu64 " for unknown %s given back",
                    msg->queue, msg->seq, msg->consumer);
        settle (self, from->uuid_hex, msg->queue, msg->consumer, msg->seq, WIRE_SETTLE_NACK, 0);
        return;
    }
    char key[WIRE_UUID_SIZE * 2 + WIRE_TOPIC_MAX + 48];
    delivery_key (from->uuid_hex, msg->seq, msg->deliveries, msg->queue, key, sizeof key);
    char *consumer = strdup (msg->consumer);
    if (consumer)
        zhashx_update (qs->deliveries, key, consumer);
    node_event_t ev = {.kind = WEFT_MSG_DELIVERY, .seq = msg->seq, .time_us = msg->value};
    snprintf (ev.sender, sizeof ev.sender, "%s", from->uuid_hex);
    snprintf (ev.sender_name, sizeof ev.sender_name, "%s", from->name);
    zmq_msg_t topic, frame, headers;
    zmq_msg_init_size (&topic, strlen (msg->queue));
    memcpy (zmq_msg_data (&topic), msg->queue, strlen (msg->queue));
    size_t len = body ? zmq_msg_size (body) : 0;
    zmq_msg_init_size (&frame, len);
    if (len)
        memcpy (zmq_msg_data (&frame), zmq_msg_data (body), len);
    delivery_headers (msg, &headers);
    node_emit (self, &ev, &topic, &frame, &headers);
}

void queue_client_ring_changed (node_t *self)
{
    struct queues *qs = queues_of (self);
    for (outgoing_t *o = zlistx_first (qs->outgoing); o; o = zlistx_next (qs->outgoing)) {
        const char *owner = queue_owner_of (self, o->queue);
        if (!owner || strcmp (owner, o->target) != 0)
            route (self, o); //  the owner changed (or went): send it there
    }
    for (consumer_t *c = zhashx_first (qs->consumers); c; c = zhashx_next (qs->consumers)) {
        const char *owner = queue_owner_of (self, c->queue);
        if (owner && strcmp (owner, c->owner) == 0)
            continue;
        if (*c->owner && queue_peer (self, c->owner))
            register_consumer (self, c, c->owner, WIRE_QCANCEL);
        snprintf (c->owner, sizeof c->owner, "%s", owner ? owner : "");
        if (owner)
            register_consumer (self, c, owner, WIRE_QCONSUME);
    }
}

void queue_client_tick (node_t *self, int64_t now, bool interval)
{
    struct queues *qs = queues_of (self);
    zlistx_t *all = node_list_snapshot (qs->outgoing);
    for (outgoing_t *o = all ? zlistx_first (all) : NULL; o; o = zlistx_next (all))
        if (!o->internal && o->deadline && now >= o->deadline)
            complete (self, o, WEFT_ETIMEDOUT, 0, false);
        else if (now - o->sent_at >= RESEND_AFTER) {
            if (*o->target && o->refusals < UINT8_MAX)
                o->refusals++; //  silence counts as a refusal (route () then looks further)
            route (self, o);   //  no answer (or no owner): once more
        }
    zlistx_destroy (&all);
    //  with Raft members (they give hints) leaders change: follow them soon
    int64_t every = qs->raft || zhashx_size (qs->hints) ? 1 : REFRESH_EVERY;
    if (interval && (now / self->interval) % every == 0)
        for (consumer_t *c = zhashx_first (qs->consumers); c; c = zhashx_next (qs->consumers))
            if (*c->owner) //  idempotent: an owner that restarted learns it again
                register_consumer (self, c, c->owner, WIRE_QCONSUME);
}
