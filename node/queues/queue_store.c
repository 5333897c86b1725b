/*  node/queues/queue_store.c - queues: entries in the journal, replicas, the sync
    of a new owner with former holders, streaming jobs, and deduplication.

    A replica stores what its owner sends (QREPL) under its own local seqs and
    remembers owner seq -> local seq, so QREPL_DEL finds the copy; QREPL_RESET
    drops the whole copy (a full one follows). Only the member that is owner
    in the replica's own view is obeyed (fencing a stale owner).
    A new owner asks the members ranked after it (QSYNC_REQ); each streams
    what it holds (QSYNC_MSG ... QSYNC_END); the owner merges by message id,
    answers QSYNC_DONE, and the former holder drops its copy unless it is a
    replica. Message ids seen in the last queues.dedup_window_ms are kept in
    the journal ("d/<queue>/<msg_id>" -> first seen, ms) and in memory.
*/
#include "node/queues/queue.h"

#include <time.h>

#include "node/wire/entry.h"

//  Wall-clock milliseconds (dedup times survive restarts).
static int64_t wall_ms (node_t *self)
{
    return node_wall_us (self) / 1000;
}

int queue_store_append (node_t *self, queue_t *queue, const wire_queue_t *meta, uint64_t oseq,
                        const void *body, size_t len, uint64_t *seq)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 6);
    msgpack_pack_str_with_body (&pk, meta->msg_id, strlen (meta->msg_id));
    msgpack_pack_uint8 (&pk, meta->priority);
    msgpack_pack_uint32 (&pk, meta->deliveries);
    msgpack_pack_int64 (&pk, meta->value);
    msgpack_pack_uint64 (&pk, oseq);
    msgpack_pack_str_with_body (&pk, meta->reason, strlen (meta->reason));
    size_t size = wire_entry_size (buf.size, len);
    uint8_t *entry = size ? malloc (size) : NULL;
    int rc = size ? WEFT_ENOMEM : WEFT_EINVAL;
    if (entry && (rc = wire_entry_pack (buf.data, buf.size, body, len, entry)) == 0) {
        *seq = journal_next_seq (self->journal, queue->stream);
        rc = journal_append (self->journal, queue->stream, *seq, meta->value, entry, size);
    }
    free (entry);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

//  Copies string O (at most CAP - 1 bytes) into OUT; false if it is not one.
static bool copy_str (const msgpack_object *o, char *out, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return false;
    memcpy (out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = 0;
    return true;
}

int queue_store_decode (const void *data, size_t len, wire_queue_t *meta, uint64_t *oseq,
                        const void **body, size_t *blen)
{
    const void *header, *rest;
    size_t hlen, rlen;
    if (wire_entry_split (data, len, &header, &hlen, &rest, &rlen))
        return WEFT_ECORRUPT;
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    int rc = WEFT_ECORRUPT;
    if (msgpack_unpack_next (&up, header, hlen, NULL) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size >= 6) {
        const msgpack_object *f = up.data.via.array.ptr;
        memset (meta, 0, offsetof (wire_queue_t, seqs));
        if (copy_str (&f[0], meta->msg_id, sizeof meta->msg_id) &&
            f[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && f[1].via.u64 <= 9 &&
            f[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            (f[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
             f[3].type == MSGPACK_OBJECT_NEGATIVE_INTEGER) &&
            f[4].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            copy_str (&f[5], meta->reason, sizeof meta->reason)) {
            meta->priority = (uint8_t)f[1].via.u64;
            meta->deliveries = (uint32_t)f[2].via.u64;
            meta->value = f[3].via.i64;
            *oseq = f[4].via.u64;
            *body = rest;
            *blen = rlen;
            rc = 0;
        }
    }
    msgpack_unpacked_destroy (&up);
    return rc;
}

//  Remembers that owner seq OSEQ of QUEUE is our entry SEQ.
static void map_oseq (queue_t *queue, uint64_t oseq, uint64_t seq)
{
    char key[24];
    snprintf (key, sizeof key, "%" PRIu64, oseq);
    char *value = zsys_sprintf ("%" PRIu64, seq);
    if (value)
        zhashx_update (queue->oseqs, key, value);
}

int queue_store_load (node_t *self)
{
    size_t count = self->journal ? journal_stream_count (self->journal) : 0;
    wire_queue_t *meta = queues_of (self)->out;
    for (size_t i = 0; i < count; i++) {
        const char *stream = journal_stream_name (self->journal, i);
        journal_stats_t st;
        if (!stream || strncmp (stream, "q/", 2) != 0 ||
            journal_stats (self->journal, stream, &st) || st.count == 0)
            continue;
        queue_t *queue = queue_get (self, stream + 2, true);
        journal_iter_t *it = NULL;
        if (!queue || journal_iter_new (self->journal, stream, 1, &it))
            continue;
        journal_entry_t entry;
        while (journal_iter_next (it, &entry) == 1) {
            uint64_t oseq = 0;
            const void *body;
            size_t len;
            if (queue_store_decode (entry.data, entry.len, meta, &oseq, &body, &len) == 0)
                map_oseq (queue, oseq, entry.seq);
        }
        journal_iter_destroy (&it);
        wlog_info (&self->log, "queue %s: %" PRIu64 " messages held", queue->name, st.count);
    }
    return 0;
}

void queue_store_drop (node_t *self, queue_t *queue)
{
    journal_iter_t *it = NULL;
    if (journal_iter_new (self->journal, queue->stream, 1, &it) == 0) {
        journal_entry_t entry;
        zlistx_t *seqs = zlistx_new ();
        while (seqs && journal_iter_next (it, &entry) == 1)
            zlistx_add_end (seqs, zsys_sprintf ("%" PRIu64, entry.seq));
        journal_iter_destroy (&it);
        for (char *s = zlistx_first (seqs); s; s = zlistx_next (seqs)) {
            journal_delete (self->journal, queue->stream, strtoull (s, NULL, 10));
            free (s);
        }
        zlistx_destroy (&seqs);
    }
    zhashx_purge (queue->oseqs);
}

//  QREPL: store a copy; the ack goes out after the commit.
static void on_copy (node_t *self, peer_t *from, queue_t *queue, const wire_queue_t *msg,
                     zmq_msg_t *body)
{
    char key[24];
    snprintf (key, sizeof key, "%" PRIu64, msg->seq);
    uint64_t seq = 0;
    if (!zhashx_lookup (queue->oseqs, key)) {
        if (queue_store_append (self, queue, msg, msg->seq, body ? zmq_msg_data (body) : NULL,
                                body ? zmq_msg_size (body) : 0, &seq))
            return; //  not stored: no ack, the owner's confirm waits
        map_oseq (queue, msg->seq, seq);
        queue_dedup_add (self, queue->name, msg->msg_id);
    }
    queue_answer_later (self, WIRE_QREPL_ACK, from->uuid_hex, queue->name, msg->seq);
}

void queue_answer_later (node_t *self, int type, const char *to, const char *queue, uint64_t seq)
{
    qanswer_t *a = calloc (1, sizeof *a);
    if (!a)
        return; //  no answer: the owner's confirm, or the holder's drop, waits
    a->type = type;
    snprintf (a->to, sizeof a->to, "%s", to);
    snprintf (a->queue, sizeof a->queue, "%s", queue);
    a->seq = seq;
    zlistx_add_end (queues_of (self)->repl_acks, a);
}

void queue_on_repl (node_t *self, peer_t *from, int type, const wire_queue_t *msg, zmq_msg_t *body)
{
    const char *owner = queue_owner_of (self, msg->queue);
    if (!owner || strcmp (owner, from->uuid_hex) != 0) {
        queues_of (self)->fenced++; //  not the owner as we see it: a stale owner is fenced
        return;
    }
    queue_t *queue = queue_get (self, msg->queue, true);
    if (!queue || !self->journal || queue->owner)
        return;
    if (type == WIRE_QREPL)
        on_copy (self, from, queue, msg, body);
    else if (type == WIRE_QREPL_RESET)
        queue_store_drop (self, queue);
    else
        for (size_t i = 0; i < msg->nseqs; i++) {
            char key[24];
            snprintf (key, sizeof key, "%" PRIu64, msg->seqs[i]);
            const char *local = zhashx_lookup (queue->oseqs, key);
            if (local)
                journal_delete (self->journal, queue->stream, strtoull (local, NULL, 10));
            zhashx_delete (queue->oseqs, key);
        }
}

//  QSYNC_MSG at the new owner: merge a former holder's message by its id.
static void on_sync_msg (node_t *self, queue_t *queue, const wire_queue_t *msg, zmq_msg_t *body)
{
    qstate_info_t info;
    if (!queue->owner || !queue->q || qstate_find_id (queue->q, msg->msg_id, &info) == 0 ||
        queue_dedup_seen (self, queue->name, msg->msg_id))
        return; //  we have it, or had it recently
    staged_t *st = calloc (1, sizeof *st);
    if (!st)
        return;
    st->queue = queue;
    st->priority = msg->priority;
    st->deliveries = msg->deliveries;
    st->replication = queues_of (self)->replication;
    snprintf (st->msg_id, sizeof st->msg_id, "%s", msg->msg_id);
    const void *data = body ? zmq_msg_data (body) : NULL;
    size_t len = body ? zmq_msg_size (body) : 0;
    st->body = queue_body_new (data, len, msg);
    if (!st->body || queue_store_append (self, queue, msg, 0, data, len, &st->seq)) {
        free (st->body);
        free (st);
        return;
    }
    queue_dedup_add (self, queue->name, msg->msg_id);
    zlistx_add_end (queues_of (self)->staged, st);
}

void queue_on_sync (node_t *self, peer_t *from, int type, const wire_queue_t *msg, zmq_msg_t *body)
{
    queue_t *queue = queue_get (self, msg->queue, true);
    if (!queue || !self->journal)
        return;
    wire_queue_t *out = queues_of (self)->out;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    snprintf (out->queue, sizeof out->queue, "%s", queue->name);
    if (type == WIRE_QSYNC_REQ) {
        if (queue->owner) //  we still think we own it: nothing to hand over yet
            queue_send (self, from->uuid_hex, WIRE_QSYNC_END, out, NULL, 0);
        else
            queue_job_start (self, WIRE_QSYNC_MSG, from->uuid_hex, queue->name);
    } else if (type == WIRE_QSYNC_MSG)
        on_sync_msg (self, queue, msg, body);
    else if (type == WIRE_QSYNC_END) {
        if (queue->sync_wait)
            zhashx_delete (queue->sync_wait, from->uuid_hex);
        queue_sync_check (self, queue);
        //  answered after the commit that holds what it sent us
        queue_answer_later (self, WIRE_QSYNC_DONE, from->uuid_hex, queue->name, 0);
    } else if (type == WIRE_QSYNC_DONE) {
        if (!queue->owner && !queue_is_replica (self, queue->name))
            queue_store_drop (self, queue);
    } else if (type == WIRE_QOFFER && queue->owner &&
               queue_send (self, from->uuid_hex, WIRE_QSYNC_REQ, out, NULL, 0) == 0) {
        if (!queue->sync_wait) {
            queue->sync_wait = zhashx_new ();
            zhashx_set_destructor (queue->sync_wait, (zhashx_destructor_fn *)zstr_free);
        }
        int64_t *deadline = malloc (sizeof *deadline);
        if (deadline) {
            *deadline = node_now (self) + QUEUE_SYNC_WAIT;
            zhashx_update (queue->sync_wait, from->uuid_hex, deadline);
        }
    }
}

void queue_job_start (node_t *self, int type, const char *peer, const char *queue)
{
    qjob_t *job = calloc (1, sizeof *job);
    if (!job)
        return;
    job->type = type;
    job->next = 1;
    snprintf (job->peer, sizeof job->peer, "%s", peer);
    snprintf (job->queue, sizeof job->queue, "%s", queue);
    if (type == WIRE_QREPL) { //  a full copy starts from nothing
        wire_queue_t *out = queues_of (self)->out;
        memset (out, 0, offsetof (wire_queue_t, seqs));
        snprintf (out->queue, sizeof out->queue, "%s", queue);
        queue_send (self, peer, WIRE_QREPL_RESET, out, NULL, 0);
    }
    zlistx_add_end (queues_of (self)->jobs, job);
}

//  Sends what it can of JOB; returns true when it is done.
static bool pump_job (node_t *self, qjob_t *job, long *budget)
{
    queue_t *queue = queue_get (self, job->queue, false);
    peer_t *peer = queue_peer (self, job->peer);
    if (!queue || !peer)
        return true;
    journal_iter_t *it = NULL;
    wire_queue_t *out = queues_of (self)->out;
    bool done = true;
    if (journal_iter_new (self->journal, queue->stream, job->next, &it) == 0) {
        journal_entry_t entry;
        while (*budget > 0 && journal_iter_next (it, &entry) == 1) {
            uint64_t oseq = 0;
            const void *body = NULL;
            size_t len = 0;
            if (queue_store_decode (entry.data, entry.len, out, &oseq, &body, &len) == 0) {
                snprintf (out->queue, sizeof out->queue, "%s", queue->name);
                out->seq = entry.seq;
                if (queue_send (self, job->peer, job->type, out, body, len)) {
                    done = false; //  its queue is full: go on next turn
                    break;
                }
                job->sent++;
            }
            job->next = entry.seq + 1;
            (*budget)--;
        }
        if (*budget <= 0)
            done = false;
        journal_iter_destroy (&it);
    }
    if (done && job->type == WIRE_QSYNC_MSG) {
        memset (out, 0, offsetof (wire_queue_t, seqs));
        snprintf (out->queue, sizeof out->queue, "%s", queue->name);
        out->value = (int64_t)job->sent;
        done = queue_send (self, job->peer, WIRE_QSYNC_END, out, NULL, 0) == 0;
    }
    return done;
}

bool queue_jobs_pump (node_t *self)
{
    zlistx_t *jobs = queues_of (self)->jobs;
    long budget = QUEUE_JOB_BUDGET;
    zlistx_t *all = node_list_snapshot (jobs);
    for (qjob_t *job = all ? zlistx_first (all) : NULL; job && budget > 0; job = zlistx_next (all))
        if (pump_job (self, job, &budget))
            node_list_remove (jobs, job); //  the list's destructor frees it
    zlistx_destroy (&all);
    return zlistx_size (jobs) > 0;
}

//  The dedup key of MSG_ID in QUEUE, in OUT.
static void dedup_key (const char *queue, const char *msg_id, char *out, size_t cap)
{
    snprintf (out, cap, "%s/%s", queue, msg_id);
}

bool queue_dedup_seen (node_t *self, const char *queue, const char *msg_id)
{
    char key[WIRE_TOPIC_MAX + WIRE_MSG_ID_MAX + 2];
    dedup_key (queue, msg_id, key, sizeof key);
    return *msg_id && zhashx_lookup (queues_of (self)->dedup, key);
}

//  Remembers KEY (first seen at SEEN) for pruning: ids are pruned in the
//  order they came, so pruning looks at the oldest ones only.
static void dedup_remember (node_t *self, const char *key, int64_t seen)
{
    size_t len = strlen (key);
    dedup_entry_t *entry = malloc (sizeof *entry + len + 1);
    if (!entry)
        return; //  then it is never pruned: the window only grows for it
    entry->seen = seen;
    memcpy (entry->key, key, len + 1);
    zlistx_add_end (queues_of (self)->dedup_fifo, entry);
}

void queue_dedup_add (node_t *self, const char *queue, const char *msg_id)
{
    char key[WIRE_TOPIC_MAX + WIRE_MSG_ID_MAX + 2];
    dedup_key (queue, msg_id, key, sizeof key);
    int64_t *seen = *msg_id ? malloc (sizeof *seen) : NULL;
    if (!seen)
        return;
    *seen = wall_ms (self);
    zhashx_update (queues_of (self)->dedup, key, seen);
    dedup_remember (self, key, *seen);
    char meta[sizeof key + 2];
    snprintf (meta, sizeof meta, "d/%s", key);
    journal_meta_put (self->journal, meta, seen, sizeof *seen);
}

void queue_dedup_forget (node_t *self, const char *queue, const char *msg_id)
{
    char key[WIRE_TOPIC_MAX + WIRE_MSG_ID_MAX + 2];
    dedup_key (queue, msg_id, key, sizeof key);
    zhashx_delete (queues_of (self)->dedup, key);
}

void queue_dedup_prune (node_t *self)
{
    int64_t oldest = wall_ms (self) - queues_of (self)->dedup_window;
    zlistx_t *fifo = queues_of (self)->dedup_fifo;
    dedup_entry_t *entry;
    for (int budget = 10000; budget > 0 && (entry = zlistx_first (fifo)); budget--) {
        if (entry->seen >= oldest)
            break; //  the rest are younger
        int64_t *seen = zhashx_lookup (queues_of (self)->dedup, entry->key);
        if (seen && *seen == entry->seen) { //  not seen again since
            char meta[WIRE_TOPIC_MAX + WIRE_MSG_ID_MAX + 4];
            snprintf (meta, sizeof meta, "d/%s", entry->key);
            journal_meta_del (self->journal, meta);
            zhashx_delete (queues_of (self)->dedup, entry->key);
        }
        zlistx_delete (fifo, zlistx_cursor (fifo)); //  frees ENTRY
    }
}

//  journal_meta_fn: loads one dedup record.
static void load_dedup (const char *key, const void *value, size_t len, void *arg)
{
    node_t *self = arg;
    int64_t *seen = len == sizeof *seen ? malloc (sizeof *seen) : NULL;
    if (!seen)
        return;
    memcpy (seen, value, sizeof *seen);
    zhashx_update (queues_of (self)->dedup, key + 2, seen);
    dedup_remember (self, key + 2, *seen); //  the journal scan order is not by time: the
                                           //  first prune may wait on a younger id, harmless
}

int queue_dedup_load (node_t *self)
{
    return self->journal ? journal_meta_scan (self->journal, "d/", load_dedup, self) : 0;
}
