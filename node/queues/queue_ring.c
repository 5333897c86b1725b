/*  node/queues/queue_ring.c - queues: the ring over live members, routing, the
    node's entry points for queue traffic, and status.

    The ring holds every live member that can own queues (role member, a
    journal, capacity > 0), this node included. When it changes, each queue
    this node holds is looked at again: one it now owns is activated (after
    asking former holders for what they have), one it no longer owns stops
    being served and is offered to the new owner, and producers and consumers
    follow the new owners (queue_client.c).
*/
#include "node/queues/queue.h"

#include "common/jout.h"
#include "node/core/config.h"

void queue_free (void **item)
{
    queue_t *queue = *item;
    if (!queue)
        return;
    qstate_destroy (&queue->q);
    zhashx_destroy (&queue->sync_wait);
    zlistx_destroy (&queue->held);
    zhashx_destroy (&queue->oseqs);
    zlistx_destroy (&queue->deletes);
    free (queue);
    *item = NULL;
}

queue_t *queue_get (node_t *self, const char *name, bool create)
{
    struct queues *qs = queues_of (self);
    queue_t *queue = zhashx_lookup (qs->queues, name);
    size_t len = strlen (name);
    bool dlq = len > 4 && strcmp (name + len - 4, QUEUE_SUFFIX_DLQ) == 0;
    //  a queue's name leaves room for its dead-letter queue's
    if (queue || !create || topic_validate (name, len) ||
        (!dlq && len + sizeof QUEUE_SUFFIX_DLQ > WIRE_TOPIC_MAX + 1))
        return queue;
    queue = calloc (1, sizeof *queue);
    if (!queue)
        return NULL;
    snprintf (queue->name, sizeof queue->name, "%s", name);
    snprintf (queue->stream, sizeof queue->stream, "q/%s", name);
    queue->oseqs = zhashx_new ();
    queue->deletes = zlistx_new ();
    if (!queue->oseqs || !queue->deletes) {
        queue_free ((void **)&queue);
        return NULL;
    }
    zhashx_set_destructor (queue->oseqs, (zhashx_destructor_fn *)zstr_free);
    zlistx_set_destructor (queue->deletes, (zlistx_destructor_fn *)zstr_free);
    zhashx_insert (qs->queues, name, queue);
    return queue;
}

peer_t *queue_peer (node_t *self, const char *uuid_hex)
{
    if (strcmp (uuid_hex, self->uuid_hex) == 0)
        return &queues_of (self)->self_peer;
    peer_t *peer = node_peer_find_hex (self, uuid_hex);
    return peer && peer->joined ? peer : NULL;
}

const char *queue_owner_of (node_t *self, const char *name)
{
    struct queues *qs = queues_of (self);
    const char *hint = zhashx_lookup (qs->hints, name); //  only raft members give hints
    return hint && queue_peer (self, hint) ? hint : ring_owner (qs->ring, name);
}

bool queue_is_replica (node_t *self, const char *name)
{
    const char *members[10];
    size_t n = ring_replicas (queues_of (self)->ring, name, queues_of (self)->replication, members);
    for (size_t i = 1; i < n; i++)
        if (strcmp (members[i], self->uuid_hex) == 0)
            return true;
    return false;
}

int queue_send (node_t *self, const char *uuid_hex, int type, const wire_queue_t *msg,
                const void *body, size_t len)
{
    peer_t *peer = queue_peer (self, uuid_hex);
    if (!peer || wire_encode_queue (&self->sbuf, type, msg))
        return -1;
    return node_send (self, peer->link, body, len);
}

//  Opens the tables and the loopback, reads the settings (queues_start does
//  the rest). 0 or WEFT_E*; what was made is freed by queues_stop ().
static int queues_open (node_t *self, struct queues *qs, char *err, size_t errlen)
{
    if (!(qs->ring = ring_new (RING_VNODES_DEFAULT)) || !(qs->queues = zhashx_new ()) ||
        !(qs->staged = zlistx_new ()) || !(qs->confirms = zlistx_new ()) ||
        !(qs->repl_acks = zlistx_new ()) || !(qs->outgoing = zlistx_new ()) ||
        !(qs->by_token = zhashx_new ()) || !(qs->consumers = zhashx_new ()) ||
        !(qs->deliveries = zhashx_new ()) || !(qs->jobs = zlistx_new ()) ||
        !(qs->dedup = zhashx_new ()) || !(qs->dedup_fifo = zlistx_new ()) ||
        !(qs->msg = calloc (1, sizeof *qs->msg)) || !(qs->out = calloc (1, sizeof *qs->out)))
        return WEFT_ENOMEM;
    zhashx_set_destructor (qs->queues, queue_free);
    zhashx_set_destructor (qs->consumers, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_destructor (qs->deliveries, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_destructor (qs->dedup, (zhashx_destructor_fn *)zstr_free);
    zlistx_set_destructor (qs->dedup_fifo, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_destructor (qs->repl_acks, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_destructor (qs->jobs, (zlistx_destructor_fn *)zstr_free);
    qs->max_deliver = (uint32_t)config_int (self->cfg, CFG_QUEUES_MAX_DELIVER);
    qs->ack_timeout = config_int (self->cfg, CFG_QUEUES_ACK_TIMEOUT);
    qs->dedup_window = config_int (self->cfg, CFG_QUEUES_DEDUP_WINDOW);
    qs->send_timeout = config_int (self->cfg, CFG_QUEUES_SEND_TIMEOUT);
    qs->replication = (uint8_t)config_int (self->cfg, CFG_QUEUES_REPLICATION);
    qs->acks = strcmp (config_value (self->cfg, CFG_QUEUES_ACKS), "owner") == 0 ? WIRE_ACKS_OWNER
                                                                                : WIRE_ACKS_ALL;
    qs->capacity = self->capacity; //  the core decides what we offer
    //  our own traffic goes through our ROUTER too: one code path for all
    world_opts_t opts = {.sndhwm = 100000};
    qs->loop =
        self->world->ops->link_open (self->world, WORLD_SELF, self->uuid, WIRE_UUID_SIZE, &opts);
    if (!qs->loop) {
        snprintf (err, errlen, "cannot open the queue loopback");
        return WEFT_EIO;
    }
    peer_t *me = &qs->self_peer;
    memcpy (me->uuid, self->uuid, WIRE_UUID_SIZE);
    snprintf (me->uuid_hex, sizeof me->uuid_hex, "%s", self->uuid_hex);
    snprintf (me->name, sizeof me->name, "%s", self->name);
    me->link = qs->loop;
    me->joined = true;
    me->capacity = qs->capacity;
    qs->ring_dirty = true;
    return 0;
}

int queues_start (node_t *self, char *err, size_t errlen)
{
    struct queues *qs = queues_of (self); //  zeroed by the core
    int rc = queues_open (self, qs, err, errlen);
    if (rc == 0 && (rc = queue_dedup_load (self)) == 0 && (rc = queue_store_load (self)) == 0)
        rc = qraft_start (self, err, errlen);
    if (rc)
        queues_stop (self); //  the core stops only what started: free what we made
    else
        qs->started = true;
    return rc;
}

void queues_stop (node_t *self)
{
    struct queues *qs = queues_of (self);
    qs->started = false;
    qraft_stop (self);
    zhashx_destroy (&qs->queues);
    ring_destroy (&qs->ring);
    for (staged_t *st = qs->staged ? zlistx_first (qs->staged) : NULL; st;
         st = zlistx_next (qs->staged)) {
        free (st->body);
        free (st);
    }
    zlistx_destroy (&qs->staged);
    for (confirm_t *c = qs->confirms ? zlistx_first (qs->confirms) : NULL; c;
         c = zlistx_next (qs->confirms)) {
        zhashx_destroy (&c->waiting);
        free (c);
    }
    zlistx_destroy (&qs->confirms);
    zlistx_destroy (&qs->repl_acks);
    for (outgoing_t *o = qs->outgoing ? zlistx_first (qs->outgoing) : NULL; o;
         o = zlistx_next (qs->outgoing)) {
        zmq_msg_close (&o->body);
        free (o);
    }
    zlistx_destroy (&qs->outgoing);
    zhashx_destroy (&qs->by_token);
    zhashx_destroy (&qs->consumers);
    zhashx_destroy (&qs->deliveries);
    zlistx_destroy (&qs->jobs);
    zhashx_destroy (&qs->dedup);
    zlistx_destroy (&qs->dedup_fifo);
    if (qs->loop)
        self->world->ops->link_close (self->world, &qs->loop, 0);
    free (qs->msg);
    free (qs->out);
    qs->msg = qs->out = NULL;
}

void queues_membership_changed (node_t *self)
{
    queues_of (self)->ring_dirty = true;
}

//  Rebuilds the ring from our own view of the live members.
static void rebuild_ring (node_t *self)
{
    struct queues *qs = queues_of (self);
    ring_clear (qs->ring);
    if (qs->capacity)
        ring_add (qs->ring, self->uuid_hex, self->name, (int)qs->capacity);
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (p->joined && p->role == WIRE_ROLE_MEMBER && p->capacity)
            ring_add (qs->ring, p->uuid_hex, p->name,
                      (int)(p->capacity < RING_WEIGHT_MAX ? p->capacity : RING_WEIGHT_MAX));
}

//  Looks at every queue we hold again after the ring changed.
static void reassess (node_t *self)
{
    struct queues *qs = queues_of (self);
    zlistx_t *names = zlistx_new ();
    for (queue_t *q = zhashx_first (qs->queues); q; q = zhashx_next (qs->queues))
        zlistx_add_end (names, q->name);
    for (const char *name = zlistx_first (names); name; name = zlistx_next (names)) {
        queue_t *queue = queue_get (self, name, false);
        const char *owner = queue_owner_of (self, name);
        bool mine = owner && strcmp (owner, self->uuid_hex) == 0;
        if (mine && !queue->owner)
            queue_activate (self, queue);
        else if (!mine && queue->owner)
            queue_deactivate (self, queue);
        else if (mine && queue->active) {
            //  still ours, but the members changed: someone may have owned it
            //  meanwhile (a partition healing). Merge what they hold before the
            //  replica set is (re)copied, or a stale copy would overwrite theirs.
            queue->resync = true;
            if (queue_ask_holders (self, queue) == 0)
                queue_sync_check (self, queue);
        }
        journal_stats_t held = {0};
        journal_stats (self->journal, queue->stream, &held);
        if (!mine && owner && held.count > 0 && !queue_is_replica (self, name)) {
            //  we hold messages of a queue we neither own nor copy: offer them
            snprintf (qs->msg->queue, sizeof qs->msg->queue, "%s", name);
            queue_send (self, owner, WIRE_QOFFER, qs->msg, NULL, 0);
        }
    }
    zlistx_destroy (&names);
}

void queue_ring_update (node_t *self)
{
    struct queues *qs = queues_of (self);
    queues_of (self)->ring_dirty = false;
    rebuild_ring (self);
    uint64_t epoch = ring_epoch (qs->ring);
    if (epoch == qs->epoch)
        return;
    qs->epoch = epoch;
    wlog_info (&self->log, "ring: %zu members, epoch %016" PRIx64, ring_size (qs->ring), epoch);
    if (self->journal && !qs->raft)
        reassess (self);
    queue_client_ring_changed (self);
}

//  The Raft engine's share of the queue messages (its own, and the owner's
//  side of the others); false for the client's side (QCONFIRM, QDELIVER).
static bool raft_message (node_t *self, peer_t *peer, int type, const wire_queue_t *msg,
                          zmq_msg_t *body)
{
    switch (type) {
    case WIRE_QSEND:
        qraft_on_send (self, peer, msg, body);
        return true;
    case WIRE_QCONSUME:
    case WIRE_QCANCEL:
        qraft_on_consume (self, peer, msg, type == WIRE_QCANCEL);
        return true;
    case WIRE_QSETTLE:
        qraft_on_settle (self, peer, msg);
        return true;
    case WIRE_QRAFT:
        qraft_on_raft (self, peer, msg, body);
        return true;
    case WIRE_QLEADER:
        qraft_on_leader (self, peer, msg);
        return true;
    case WIRE_QREDRIVE:
        qraft_on_redrive (self, peer, msg);
        return true;
    case WIRE_QCONFIRM:
    case WIRE_QDELIVER:
        return false;
    default: //  the owner engine's replication and sync: not spoken here
        self->counters.bad_frames++;
        return true;
    }
}

void queues_on_message (node_t *self, peer_t *peer, bool from_self, int type, zmq_msg_t *body)
{
    struct queues *qs = queues_of (self);
    wire_queue_t *msg = qs->msg;
    if (from_self)
        peer = &qs->self_peer;
    if (wire_get_queue (self->decoder, msg)) {
        self->counters.bad_frames++;
        return;
    }
    if (type != WIRE_QRAFT && body && zmq_msg_size (body) > self->max_message) {
        self->counters.oversized++; //  only Raft traffic may pass limits.max_message
        return;
    }
    if (qs->raft && raft_message (self, peer, type, msg, body))
        return;
    if (type == WIRE_QLEADER) { //  a client follows leader hints whatever its own engine
        qraft_on_leader (self, peer, msg);
        return;
    }
    switch (type) {
    case WIRE_QSEND:
        queue_on_send (self, peer, msg, body);
        break;
    case WIRE_QCONFIRM:
        queue_client_on_confirm (self, msg);
        break;
    case WIRE_QREPL_ACK:
        queue_on_repl_ack (self, peer, msg);
        break;
    case WIRE_QREPL:
    case WIRE_QREPL_DEL:
    case WIRE_QREPL_RESET:
        queue_on_repl (self, peer, type, msg, body);
        break;
    case WIRE_QCONSUME:
        queue_on_consume (self, msg);
        break;
    case WIRE_QCANCEL:
        queue_on_cancel (self, msg);
        break;
    case WIRE_QDELIVER:
        queue_client_on_deliver (self, peer, msg, body);
        break;
    case WIRE_QSETTLE:
        queue_on_settle (self, msg);
        break;
    case WIRE_QREDRIVE:
        queue_on_redrive (self, peer, msg);
        break;
    default:
        queue_on_sync (self, peer, type, msg, body);
        break;
    }
}

void queues_peer_gone (node_t *self, peer_t *peer)
{
    struct queues *qs = queues_of (self);
    int64_t now = node_now (self);
    for (queue_t *q = zhashx_first (qs->queues); q; q = zhashx_next (qs->queues)) {
        if (q->q) {
            char prefix[WIRE_UUID_SIZE * 2 + 2];
            snprintf (prefix, sizeof prefix, "%s/", peer->uuid_hex);
            int taken = qstate_consumer_remove_prefix (q->q, prefix, now);
            if (taken > 0)
                wlog_info (&self->log, "queue %s: consumers of %s gone", q->name, peer->name);
        }
        if (q->sync_wait)
            zhashx_delete (q->sync_wait, peer->uuid_hex);
    }
    for (confirm_t *c = zlistx_first (qs->confirms); c; c = zlistx_next (qs->confirms))
        zhashx_delete (c->waiting, peer->uuid_hex);
    if (qs->raft)
        qraft_peer_gone (self, peer);
    queues_of (self)->ring_dirty = true;
}

void queues_before_commit (node_t *self, int64_t now)
{
    if (!queues_of (self)->started)
        return;
    if (queues_of (self)->ring_dirty)
        queue_ring_update (self);
    queue_flush_deletes (self);
    if (queues_of (self)->raft)
        qraft_before_commit (self);
    (void)now;
}

void queues_after_commit (node_t *self, bool ok)
{
    if (!queues_of (self)->started)
        return;
    queue_owner_after_commit (self, ok);
    queue_dispatch (self, node_now (self));
    if (queues_of (self)->raft)
        qraft_after_commit (self, ok);
}

void queues_on_timer (node_t *self, int64_t now, bool interval)
{
    if (!queues_of (self)->started)
        return;
    queue_owner_tick (self, now);
    if (queues_of (self)->raft)
        qraft_on_timer (self, now, interval);
    if (!self->silenced) //  tests: a silenced node sends nothing on its own
        queue_client_tick (self, now, interval);
    if (interval)
        queue_dedup_prune (self);
}

bool queues_busy (node_t *self)
{
    struct queues *qs = queues_of (self);
    return qs->started && (queue_jobs_pump (self) | (qs->raft && qraft_busy (self)));
}

//  The status object of QUEUE (the owner engine's fields); NULL when out of memory.
static json_t *queue_json (node_t *self, queue_t *queue)
{
    qstate_stats_t st = {0};
    if (queue->q)
        qstate_stats (queue->q, &st);
    journal_stats_t js = {0};
    journal_stats (self->journal, queue->stream, &js);
    const char *role = queue->owner                           ? "owner"
                       : queue_is_replica (self, queue->name) ? "replica"
                                                              : "holder";
    json_t *o = json_object ();
    if (!o)
        return NULL;
    int rc = jout_set_str (o, "name", queue->name);
    rc |= jout_set_str (o, "role", role);
    rc |= json_object_set_new (o, "active", json_boolean (queue->active));
    rc |= jout_set_uint (o, "stored", js.count);
    rc |= jout_set_uint (o, "depth", st.ready);
    rc |= jout_set_uint (o, "delayed", st.delayed);
    rc |= jout_set_uint (o, "in_flight", st.in_flight);
    rc |= jout_set_uint (o, "consumers", st.consumers);
    rc |= jout_set_uint (o, "enqueued", st.enqueued);
    rc |= jout_set_uint (o, "delivered", st.delivered);
    rc |= jout_set_uint (o, "redelivered", st.redelivered);
    rc |= jout_set_uint (o, "acked", st.acked);
    rc |= jout_set_uint (o, "dead", queue->dead);
    rc |= jout_set_uint (o, "replicas", queue->nreplicas);
    if (rc)
        json_decref (o);
    return rc ? NULL : o;
}

//  The status' "ring": {"epoch": hex, "members": [{uuid, name, weight}]}; NULL
//  when out of memory.
static json_t *ring_json (struct queues *qs)
{
    char epoch[17];
    snprintf (epoch, sizeof epoch, "%016" PRIx64, qs->epoch);
    json_t *ring = json_object (), *members = json_array ();
    int rc = jout_set_str (ring, "epoch", epoch);
    rc |= json_object_set_new (ring, "members", members); //  MEMBERS borrowed from here on
    for (size_t i = 0; !rc && i < ring_size (qs->ring); i++) {
        const char *uuid = NULL, *name = NULL;
        int weight = 0;
        ring_member (qs->ring, i, &uuid, &name, &weight);
        json_t *row = json_object ();
        rc = json_array_append_new (members, row);
        rc |= row ? jout_set_str (row, "uuid", uuid) : -1;
        rc |= row ? jout_set_str (row, "name", name) : -1;
        rc |= row ? jout_set_int (row, "weight", weight) : -1;
    }
    if (rc)
        json_decref (ring);
    return rc ? NULL : ring;
}

//  The status' "queue_counters"; NULL when out of memory.
static json_t *counters_json (struct queues *qs)
{
    json_t *o = json_object ();
    if (!o)
        return NULL;
    int rc = jout_set_uint (o, "unconfirmed", zlistx_size (qs->outgoing));
    rc |= jout_set_uint (o, "consumers", zhashx_size (qs->consumers));
    rc |= jout_set_uint (o, "fenced", qs->fenced);
    rc |= jout_set_uint (o, "duplicates", qs->duplicates);
    if (rc)
        json_decref (o);
    return rc ? NULL : o;
}

int queues_status (node_t *self, json_t *into)
{
    struct queues *qs = queues_of (self);
    json_t *queues = json_array ();
    int rc = json_object_set_new (into, "ring", ring_json (qs));
    rc |= json_object_set_new (into, "queues", queues); //  QUEUES borrowed from here on
    for (queue_t *q = zhashx_first (qs->queues); !rc && q; q = zhashx_next (qs->queues))
        rc = json_array_append_new (queues, queue_json (self, q));
    rc |= rc ? -1 : qraft_queues_add (self, queues);
    rc |= json_object_set_new (into, "queue_counters", counters_json (qs));
    rc |= rc ? -1 : qraft_status_add (self, into);
    return rc ? -1 : 0;
}
