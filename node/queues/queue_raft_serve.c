/*  node/queues/queue_raft_serve.c - queues on Raft: what a member answers to
    producers and consumers (QSEND, QCONSUME, QCANCEL, QSETTLE), the
    deliveries and dead letters of the groups it leads, the leader hints
    (WIRE_QLEADER) and the founding of a queue's group.

    A request for a queue goes to the member the client believes leads its
    group (queue_owner_of: the last hint, else the ring's first choice).
    That member serves it when it leads the group and has caught up
    (qhost_serving); otherwise it answers QLEADER with the leader it knows
    (and, for a send, QCONFIRM WEFT_EAGAIN: ask again), so clients follow
    the leader by themselves.

    Founding. A member asked about a queue no group of which it hosts, that
    is the ring's first choice for it, asks every other live member
    (QLEADER, kind query) whether they host one; when all said no, it
    founds the group with the R members the ring wants as voters, and tells
    them (kind found, the voter list) so that each bootstraps the same
    configuration. A member that does not answer within QRAFT_FOUND_WAIT
    stops the founding; the next request starts it again.

    QLEADER kinds (K): 0 answer (C: the leader's uuid or "", S: the group
    id or 0), 1 query, 2 found (S: the group id, C: the founder, L: voters).
*/
#include "node/queues/queue.h"

#include <inttypes.h>

#define QLEADER_ANSWER 0
#define QLEADER_QUERY  1
#define QLEADER_FOUND  2

//  The time of a message, kept in its headers blob (8 bytes, little-endian).
static void time_pack (int64_t time_us, uint8_t out[8])
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)time_us >> (8 * i));
}

static int64_t time_unpack (const qfsm_info_t *msg)
{
    uint64_t v = 0;
    const uint8_t *h = msg->headers;
    for (int i = 0; msg->headers_len == 8 && i < 8; i++)
        v |= (uint64_t)h[i] << (8 * i);
    return (int64_t)v;
}

//  Sends a QLEADER of KIND about QUEUE to TO (S = ID, C = TEXT, L = IDS).
static void send_leader (node_t *self, const char *to, const char *queue, int kind, uint64_t id,
                         const char *text, const uint64_t *ids, size_t n)
{
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", queue);
    snprintf (out->consumer, sizeof out->consumer, "%s", text ? text : "");
    out->kind = (uint8_t)kind;
    out->seq = id;
    for (size_t i = 0; i < n && i < WIRE_SEQS_MAX; i++)
        out->seqs[out->nseqs++] = ids[i];
    queue_send (self, to, WIRE_QLEADER, out, NULL, 0);
}

//  The uuid of the leader of G as this member knows it, or "".
static const char *leader_of (node_t *self, rgq_t *g)
{
    uint64_t id = 0;
    const char *uuid = g && qhost_leader (g->host, &id) ? qraft_uuid_of (self, id) : NULL;
    return uuid ? uuid : "";
}

void qraft_tell_leader (node_t *self, const char *to, const char *queue)
{
    rgq_t *g = qraft_group (self, queue);
    const char *hint = leader_of (self, g);
    if (!g) { //  no group here: the ring's first choice founds or knows it
        const char *wanted[1];
        hint = qraft_wanted (self, queue, wanted, 1) ? wanted[0] : "";
    }
    send_leader (self, to, queue, QLEADER_ANSWER, g ? g->id : 0, hint, NULL, 0);
}

/* ---------------------------------------------------------------------------
   Founding
*/

static void found (node_t *self, const char *queue)
{
    const char *members[9];
    size_t n = qraft_wanted (self, queue, members, 9);
    if (!n || strcmp (members[0], self->uuid_hex) != 0)
        return; //  the ring changed meanwhile: whoever is first now founds
    uint64_t ids[9];
    for (size_t i = 0; i < n; i++)
        ids[i] = qraft_id_of (members[i]);
    char seed[WIRE_TOPIC_MAX + WIRE_UUID_SIZE * 2 + 2];
    snprintf (seed, sizeof seed, "%s/%s", self->uuid_hex, queue);
    uint64_t id = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)seed; *p; p++)
        id = (id ^ *p) * 0x100000001b3ull;
    id = id ? id : 1;
    if (!qraft_group_new (self, queue, self->uuid_hex, id, ids, n))
        return;
    for (size_t i = 1; i < n; i++)
        send_leader (self, members[i], queue, QLEADER_FOUND, id, self->uuid_hex, ids, n);
}

//  Starts founding QUEUE's group (we are its first choice and host none).
static void found_start (node_t *self, const char *queue)
{
    struct queues *qs = queues_of (self);
    if (!self->journal || !self->capacity || zhashx_lookup (qs->founding, queue))
        return;
    rfound_t *f = calloc (1, sizeof *f);
    if (!f || !(f->waiting = zhashx_new ())) {
        free (f);
        return;
    }
    snprintf (f->name, sizeof f->name, "%s", queue);
    f->deadline = node_now (self) + QRAFT_FOUND_WAIT;
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (p->joined && p->capacity)
            zhashx_insert (f->waiting, p->uuid_hex, "");
    //  (sending looks peers up, which moves the table's cursor: not inside its walk)
    for (void *u = zhashx_first (f->waiting); u; u = zhashx_next (f->waiting))
        send_leader (self, zhashx_cursor (f->waiting), queue, QLEADER_QUERY, 0, "", NULL, 0);
    if (zhashx_size (f->waiting) == 0) {
        zhashx_destroy (&f->waiting);
        free (f);
        found (self, queue);
        return;
    }
    zhashx_insert (qs->founding, queue, f);
}

static void found_end (node_t *self, rfound_t *f, bool go)
{
    char queue[WIRE_TOPIC_MAX + 1];
    snprintf (queue, sizeof queue, "%s", f->name);
    zhashx_delete (queues_of (self)->founding, queue);
    zhashx_destroy (&f->waiting);
    free (f);
    if (go)
        found (self, queue);
}

void qraft_found_tick (node_t *self, int64_t now)
{
    struct queues *qs = queues_of (self);
    zlistx_t *done = zlistx_new (), *gone = zlistx_new ();
    for (rfound_t *f = zhashx_first (qs->founding); done && gone && f;
         f = zhashx_next (qs->founding)) {
        zlistx_purge (gone);
        for (void *u = zhashx_first (f->waiting); u; u = zhashx_next (f->waiting))
            if (!queue_peer (self, zhashx_cursor (f->waiting)))
                zlistx_add_end (gone, (void *)zhashx_cursor (f->waiting)); //  no answer due
        for (const char *u = zlistx_first (gone); u; u = zlistx_next (gone))
            zhashx_delete (f->waiting, u);
        if (zhashx_size (f->waiting) == 0 || now >= f->deadline)
            zlistx_add_end (done, f);
    }
    for (rfound_t *f = done ? zlistx_first (done) : NULL; f; f = zlistx_next (done))
        found_end (self, f, zhashx_size (f->waiting) == 0);
    zlistx_destroy (&done);
    zlistx_destroy (&gone);
}

/* ---------------------------------------------------------------------------
   QLEADER
*/

//  Client side: the leader of QUEUE is HINT ("" unknown): follow it.
static void hint_set (node_t *self, const char *queue, const char *hint)
{
    struct queues *qs = queues_of (self);
    const char *old = zhashx_lookup (qs->hints, queue);
    if (*hint && !queue_peer (self, hint))
        hint = ""; //  a member we do not see: the ring's choice is as good
    if (old ? strcmp (old, hint) == 0 : !*hint)
        return;
    if (*hint)
        zhashx_update (qs->hints, queue, (void *)hint);
    else
        zhashx_delete (qs->hints, queue);
    queue_client_ring_changed (self); //  re-routes sends, moves consumers
}

void qraft_on_leader (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    struct queues *qs = queues_of (self);
    if (!qs->raft && msg->kind != QLEADER_ANSWER)
        return; //  members of the owner engine host no groups
    if (msg->kind == QLEADER_QUERY) {
        qraft_tell_leader (self, from->uuid_hex, msg->queue);
        return;
    }
    if (msg->kind == QLEADER_FOUND) {
        bool listed = false;
        for (size_t i = 0; i < msg->nseqs; i++)
            listed |= msg->seqs[i] == qraft_id_of (self->uuid_hex);
        char key[17];
        snprintf (key, sizeof key, "%016" PRIx64, msg->seq);
        if (listed && msg->seq && !zhashx_lookup (qs->group_ids, key) &&
            strcmp (msg->consumer, from->uuid_hex) == 0)
            qraft_group_new (self, msg->queue, from->uuid_hex, msg->seq, msg->seqs, msg->nseqs);
        return;
    }
    rfound_t *f = zhashx_lookup (qs->founding, msg->queue);
    if (f) {
        zhashx_delete (f->waiting, from->uuid_hex);
        if (msg->seq) //  a group exists: no founding
            found_end (self, f, false);
        else if (zhashx_size (f->waiting) == 0)
            found_end (self, f, true);
    }
    if (*msg->consumer || msg->seq == 0)
        hint_set (self, msg->queue, msg->consumer);
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
    if (g && g->host && qhost_serving (g->host, NULL))
        return g;
    if (!g) {
        const char *wanted[1];
        if (qraft_wanted (self, queue, wanted, 1) && strcmp (wanted[0], self->uuid_hex) == 0)
            found_start (self, queue);
    }
    if (!g || *leader_of (self, g))
        qraft_tell_leader (self, from->uuid_hex, queue);
    return NULL;
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
    rwait_t *w = rc ? NULL : malloc (sizeof *w);
    if (!rc && !w)
        rc = WEFT_ENOMEM;
    if (!rc) {
        w->node = self;
        snprintf (w->producer, sizeof w->producer, "%s", from->uuid_hex);
        w->token = msg->token;
        uint8_t stamp[8];
        time_pack (msg->value, stamp);
        qhost_msg_t m = {.id = msg->msg_id,
                         .priority = msg->priority,
                         .headers = stamp,
                         .headers_len = sizeof stamp,
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
    uint64_t term = 0;
    if (!g->host || !qhost_serving (g->host, &term))
        term = 0;
    if (term != g->served_term) { //  qhost forgot its consumers: so do we
        zhashx_purge (g->consumers);
        g->served_term = term;
    }
}

void qraft_on_consume (node_t *self, peer_t *from, const wire_queue_t *msg, bool cancel)
{
    rgq_t *g = served (self, from, msg->queue);
    if (!g)
        return;
    qraft_served (g);
    rcons_t *c = zhashx_lookup (g->consumers, msg->consumer);
    if (cancel) {
        if (c) {
            qhost_cancel (g->host, c->id);
            zhashx_delete (g->consumers, msg->consumer);
        }
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
    if (qhost_consume (g->host, c->id, credits) != 0)
        zhashx_delete (g->consumers, c->name);
}

//  The consumer of G with qhost id ID, or NULL.
static rcons_t *consumer_by_id (rgq_t *g, uint64_t id)
{
    for (rcons_t *c = zhashx_first (g->consumers); c; c = zhashx_next (g->consumers))
        if (c->id == id)
            return c;
    return NULL;
}

void qraft_on_settle (node_t *self, peer_t *from, const wire_queue_t *msg)
{
    rgq_t *g = served (self, from, msg->queue);
    rcons_t *c = g ? zhashx_lookup (g->consumers, msg->consumer) : NULL;
    if (!c)
        return; //  an earlier leader's delivery: it comes again from this one
    if (msg->kind == WIRE_SETTLE_ACK)
        qhost_ack (g->host, c->id, msg->seq, NULL, NULL);
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
    rcons_t *c = consumer_by_id (g, consumer);
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
        if (queue_send (self, c->peer, WIRE_QDELIVER, out, msg->body_len ? msg->body : "",
                        msg->body_len) == 0)
            return;
    }
    if (c) { //  its node is gone (or too slow): its leases lapse, others get them
        qhost_cancel (g->host, consumer);
        zhashx_delete (g->consumers, c->name);
    }
}

void qraft_letter (void *arg, const qfsm_info_t *msg)
{
    rgq_t *g = arg;
    node_t *self = g->node;
    char dlq[WIRE_TOPIC_MAX + 1];
    if (snprintf (dlq, sizeof dlq, "%s" QUEUE_SUFFIX_DLQ, g->name) >= (int)sizeof dlq)
        return; //  no room for the suffix: counted by qhost (letters)
    wire_queue_t *meta = queues_of (self)->out;
    memset (meta, 0, offsetof (wire_queue_t, seqs));
    snprintf (meta->queue, sizeof meta->queue, "%s", dlq);
    snprintf (meta->msg_id, sizeof meta->msg_id, "%s", msg->id);
    snprintf (meta->reason, sizeof meta->reason, "%s/%u", msg->reason ? msg->reason : "dead",
              msg->deliveries);
    meta->priority = msg->priority;
    meta->value = time_unpack (msg);
    queue_transfer (self, dlq, "", 0, meta, msg->body_len ? msg->body : "", msg->body_len);
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
