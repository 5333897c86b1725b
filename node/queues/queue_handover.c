/*  node/queues/queue_handover.c - a queue changing hands: a new owner
    loads what its journal holds, asks the former holders for theirs
    (QSYNC) and serves once they answered or timed out; a former owner
    steps down; the owner copies a queue to a new replica. See queue.h. */
#include "node/queues/queue.h"

//  Answers the QSENDs held while QUEUE synced.
static void release_held (node_t *self, queue_t *queue)
{
    zlistx_t *held = queue->held;
    queue->held = NULL;
    for (held_send_t *h = held ? zlistx_first (held) : NULL; h; h = zlistx_next (held)) {
        peer_t *from = queue_peer (self, h->from);
        if (from) {
            *queues_of (self)->msg = h->msg;
            queue_on_send (self, from, queues_of (self)->msg, h->body);
        }
        node_frame_free (&h->body);
        free (h);
    }
    zlistx_destroy (&held);
}

//  Loads QUEUE's entries from our journal into its qstate.
static void load_entries (node_t *self, queue_t *queue)
{
    journal_iter_t *it = NULL;
    if (journal_iter_new (self->journal, queue->stream, 1, &it))
        return;
    journal_entry_t entry;
    wire_queue_t *meta = queues_of (self)->out;
    while (journal_iter_next (it, &entry) == 1) {
        uint64_t oseq = 0;
        const void *data = NULL;
        size_t len = 0;
        if (queue_store_decode (entry.data, entry.len, meta, &oseq, &data, &len))
            continue;
        qbody_t *body = queue_body_new (data, len, meta);
        if (body && queue_enqueue (queue, entry.seq, meta, body))
            free (body);
    }
    journal_iter_destroy (&it);
    zhashx_purge (queue->oseqs); //  as owner our local seqs are the ones that count
}

//  Ends QUEUE's activation: serve, copy to replicas, answer held sends.
static void finish_activation (node_t *self, queue_t *queue)
{
    queue->active = true;
    node_probe (self, NODE_FACT_OWNER, queue->name, NULL, queues_of (self)->epoch);
    zhashx_destroy (&queue->sync_wait);
    qstate_stats_t st = {0};
    qstate_stats (queue->q, &st);
    wlog_info (&self->log, "queue %s: owner, %zu messages", queue->name, st.ready + st.delayed);
    queue_replicate_all (self, queue);
    release_held (self, queue);
}

size_t queue_ask_holders (node_t *self, queue_t *queue)
{
    struct queues *qs = queues_of (self);
    if (!queue->sync_wait) {
        queue->sync_wait = zhashx_new ();
        if (!queue->sync_wait)
            return 0;
        zhashx_set_destructor (queue->sync_wait, (zhashx_destructor_fn *)zstr_free);
    }
    //  the members ranked after us may have held it before us (or meanwhile)
    const char *members[4];
    size_t n = ring_replicas (qs->ring, queue->name, 4, members);
    memset (qs->out, 0, offsetof (wire_queue_t, seqs));
    snprintf (qs->out->queue, sizeof qs->out->queue, "%s", queue->name);
    for (size_t i = 1; i < n; i++) {
        int64_t *deadline = malloc (sizeof *deadline);
        if (deadline && queue_send (self, members[i], WIRE_QSYNC_REQ, qs->out, NULL, 0) == 0) {
            *deadline = node_now (self) + QUEUE_SYNC_WAIT;
            zhashx_update (queue->sync_wait, members[i], deadline);
        } else
            free (deadline);
    }
    return zhashx_size (queue->sync_wait);
}

void queue_sync_check (node_t *self, queue_t *queue)
{
    if (!queue->owner || !queue->sync_wait || zhashx_size (queue->sync_wait) > 0)
        return;
    if (!queue->active)
        finish_activation (self, queue);
    else if (queue->resync) {
        //  what the holders had is merged: only now may the replicas be reset
        zhashx_destroy (&queue->sync_wait);
        queue->resync = false;
        queue_replicate_all (self, queue);
    }
}

void queue_activate (node_t *self, queue_t *queue)
{
    struct queues *qs = queues_of (self);
    qstate_options_t opts;
    qstate_options_init (&opts);
    opts.max_deliver = qs->max_deliver;
    opts.ack_timeout_ms = qs->ack_timeout;
    opts.payload_free = queue_body_free;
    queue->owner = true;
    queue->active = false;
    queue->nreplicas = 0;
    qstate_destroy (&queue->q);
    queue->q = qstate_new (queue->name, &opts);
    if (!queue->q)
        return;
    load_entries (self, queue);
    if (queue_ask_holders (self, queue) == 0)
        finish_activation (self, queue);
}

void queue_deactivate (node_t *self, queue_t *queue)
{
    if (queue->active)
        node_probe (self, NODE_FACT_UNOWNED, queue->name, NULL, 0);
    queue->owner = false;
    queue->active = false;
    qstate_destroy (&queue->q); //  in flight: the new owner delivers them again
    zhashx_destroy (&queue->sync_wait);
    queue->nreplicas = 0;
    zlistx_t *held = queue->held;
    queue->held = NULL;
    for (held_send_t *h = held ? zlistx_first (held) : NULL; h; h = zlistx_next (held)) {
        queue_send_confirm (self, h->from, h->msg.token, WEFT_EAGAIN, 0, false);
        node_frame_free (&h->body);
        free (h);
    }
    zlistx_destroy (&held);
    wlog_info (&self->log, "queue %s: no longer owner", queue->name);
}

void queue_replicate_all (node_t *self, queue_t *queue)
{
    struct queues *qs = queues_of (self);
    uint8_t r = queue->replication > qs->replication ? queue->replication : qs->replication;
    const char *members[10];
    size_t n = ring_replicas (qs->ring, queue->name, r, members);
    size_t count = 0;
    char now[9][WIRE_UUID_SIZE * 2 + 1];
    for (size_t i = 1; i < n && count < 9; i++) {
        bool known = false;
        for (size_t k = 0; k < queue->nreplicas; k++)
            known |= strcmp (queue->replicas[k], members[i]) == 0;
        if (!known)
            queue_job_start (self, WIRE_QREPL, members[i], queue->name); //  a full copy
        snprintf (now[count++], sizeof now[0], "%s", members[i]);
    }
    memcpy (queue->replicas, now, sizeof now);
    queue->nreplicas = count;
}
