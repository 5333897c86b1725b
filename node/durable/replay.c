/*  node/durable/replay.c - durable topics on the publisher's side, serving
    replays: a peer's REPLAY_REQ (a pattern, a start, per-topic cursors, an
    end) becomes a job over the journal streams it covers; every loop turn
    sends a bounded share of every job (REPLAY_MSG: the stored header and
    body, exactly what the live message carried), then REPLAY_END. A start
    that retention already deleted is answered with REPLAY_TRUNC first.

    A range a crash skipped (reserve.c: numbers between the last journaled
    entry and the reserved ceiling at a restart) holds nothing, and never
    will: it is answered with REPLAY_TRUNC (requested = its first seq asked,
    first = where the stream goes on), in order with the entries around it,
    so that the subscriber moves past it instead of asking for it forever.
    A range counts as skipped when it lies between two committed entries
    (a durable stream is only ever trimmed from its start), or above the
    last one up to the ceiling this run started above.
*/
#include "node/durable/durable.h"
#include "node/wire/entry.h"

#define REPLAY_BUDGET 2048 //  replayed messages sent per loop turn, all jobs together

//  One stream of a replay job.
typedef struct {
    char topic[TOPIC_MAX + 1]; //  the stream's topic
    uint64_t next;             //  next seq to send
    uint64_t to;               //  last seq to send
} replay_stream_t;

//  A replay we serve to a peer.
typedef struct {
    uint8_t peer[WIRE_UUID_SIZE]; //  who asked
    uint64_t id;                  //  its request id
    zlistx_t *streams;            //  replay_stream_t, owned; the head is in progress
    uint64_t sent;                //  REPLAY_MSGs sent (said in REPLAY_END)
} replay_job_t;

//  Frees a replay job and its streams (the destructor of ds->replays).
static void replay_job_free (void **item)
{
    replay_job_t *job = *item;
    if (!job)
        return;
    zlistx_destroy (&job->streams);
    free (job);
    *item = NULL;
}

int replay_start (durable_t *ds)
{
    ds->replays = zlistx_new ();
    if (!ds->replays)
        return WEFT_ENOMEM;
    zlistx_set_destructor (ds->replays, replay_job_free);
    return 0;
}

void replay_stop (durable_t *ds)
{
    zlistx_destroy (&ds->replays);
}

//  Sends REPLAY_TRUNC: STREAM starts at FIRST, later than REQUESTED.
static void send_truncated (node_t *self, peer_t *peer, uint64_t id, const char *topic,
                            uint64_t requested, uint64_t first)
{
    if (wire_encode_replay_trunc (&self->sbuf, id, topic, requested, first) == 0)
        node_send (self, peer->link, NULL, 0);
}

//  Where a replay of TOPIC (stats ST) starts for request REQ; 0 for none.
static uint64_t stream_start (node_t *self, peer_t *peer, const wire_replay_req_t *req,
                              const char *topic, const journal_stats_t *st)
{
    uint64_t start = 0;
    bool strict = true; //  asking for a seq that is gone deserves a TRUNC
    for (size_t i = 0; i < req->ncursors; i++)
        if (req->cursors[i].topic_len == strlen (topic) &&
            memcmp (req->cursors[i].topic, topic, req->cursors[i].topic_len) == 0)
            start = req->cursors[i].next;
    if (!start) {
        if (req->from_kind == WIRE_FROM_EARLIEST) {
            start = st->first_seq;
            strict = false;
        } else if (req->from_kind == WIRE_FROM_SEQ)
            start = (uint64_t)(req->from_value > 0 ? req->from_value : 1);
        else if (req->from_kind == WIRE_FROM_TIME) {
            char stream[TOPIC_MAX + 8];
            durable_stream_name (topic, stream, sizeof stream);
            if (journal_seek_time (self->journal, stream, req->from_value, &start))
                return 0;
            strict = false;
        } else
            return 0; //  latest: nothing to replay
    }
    if (start < st->first_seq) {
        if (strict)
            send_truncated (self, peer, req->id, topic, start, st->first_seq);
        start = st->first_seq;
    }
    return start;
}

void replay_on_request (node_t *self, durable_t *ds, peer_t *peer)
{
    wire_replay_req_t *req = malloc (sizeof *req);
    if (!req || wire_get_replay_req (self->decoder, req)) {
        self->counters.bad_frames++;
        free (req);
        return;
    }
    replay_job_t *job = calloc (1, sizeof *job);
    if (!job || !(job->streams = zlistx_new ())) {
        free (job);
        free (req);
        return;
    }
    zlistx_set_destructor (job->streams, (zlistx_destructor_fn *)zstr_free);
    memcpy (job->peer, peer->uuid, WIRE_UUID_SIZE);
    job->id = req->id;
    size_t count = self->journal ? journal_stream_count (self->journal) : 0;
    for (size_t i = 0; i < count; i++) {
        const char *stream = journal_stream_name (self->journal, i);
        journal_stats_t st;
        if (!stream || strncmp (stream, DURABLE_STREAM_PREFIX, 2) != 0 ||
            !pattern_match (req->pattern, stream + 2, strlen (stream + 2)) ||
            journal_stats (self->journal, stream, &st))
            continue;
        uint64_t start = stream_start (self, peer, req, stream + 2, &st);
        uint64_t last = reserve_skipped_to (ds, stream);
        last = last > st.last_seq ? last : st.last_seq; //  a skipped tail is answered too
        uint64_t to = req->to_seq && req->to_seq < last ? req->to_seq : last;
        replay_stream_t *rs = start && start <= to ? calloc (1, sizeof *rs) : NULL;
        if (rs) {
            snprintf (rs->topic, sizeof rs->topic, "%s", stream + 2);
            rs->next = start;
            rs->to = to;
            zlistx_add_end (job->streams, rs);
        }
    }
    wlog_debug (&self->log, "replay %" PRIu64 " of %s for %s: %zu streams", req->id, req->pattern,
                peer->name, zlistx_size (job->streams));
    free (req);
    zlistx_add_end (ds->replays, job);
}

//  Sends one stored entry of STREAM as REPLAY_MSG; returns 0 or -1 (peer busy).
static int send_entry (node_t *self, peer_t *peer, replay_job_t *job, replay_stream_t *rs,
                       const journal_entry_t *entry)
{
    const void *header, *body;
    size_t hlen, blen;
    if (wire_entry_split (entry->data, entry->len, &header, &hlen, &body, &blen))
        return 0; //  not ours: skip it
    if (wire_encode_replay_msg (&self->sbuf, job->id, rs->topic))
        return 0;
    zmq_msg_t frames[3];
    world_frame_copy (&frames[0], self->sbuf.data, self->sbuf.size);
    world_frame_copy (&frames[1], header, hlen);
    world_frame_copy (&frames[2], body, blen);
    if (node_send_frames (self, peer->link, frames, 3) < 0)
        return -1;
    job->sent++;
    self->counters.replayed++;
    return 0;
}

//  Sends REPLAY_TRUNC for the known-empty range FROM .. UPTO - 1 of RS;
//  0 or -1 (peer busy: the job goes on next turn, from FROM again).
static int send_skipped (node_t *self, peer_t *peer, replay_job_t *job, replay_stream_t *rs,
                         uint64_t from, uint64_t upto)
{
    if (wire_encode_replay_trunc (&self->sbuf, job->id, rs->topic, from, upto))
        return 0;
    return node_send (self, peer->link, NULL, 0) == 0 ? 0 : -1;
}

//  Where the known-empty range from RS->next ends (the seq after it), given
//  the next stored entry NEXT_SEQ (0: none up to RS->to) and the stream's
//  FIRST present seq; RS->next when nothing is known empty there.
static uint64_t skipped_until (durable_t *ds, const char *stream, const replay_stream_t *rs,
                               uint64_t next_seq, uint64_t first)
{
    if (rs->next < first)
        return rs->next; //  retention took them: the jump tells the subscriber (GAP)
    if (next_seq)
        return next_seq; //  between two committed entries: a crash skipped these
    uint64_t skipped = reserve_skipped_to (ds, stream);
    if (skipped < rs->next)
        return rs->next; //  above the last entry, and not a skipped tail: to come live
    return (skipped < rs->to ? skipped : rs->to) + 1;
}

//  Sends what it can of stream RS; returns its budget use, or -1 if the peer is busy.
static long pump_stream (node_t *self, durable_t *ds, peer_t *peer, replay_job_t *job,
                         replay_stream_t *rs, long budget)
{
    char stream[TOPIC_MAX + 8];
    durable_stream_name (rs->topic, stream, sizeof stream);
    journal_iter_t *it = NULL;
    journal_stats_t st;
    if (journal_stats (self->journal, stream, &st) ||
        journal_iter_new (self->journal, stream, rs->next, &it)) {
        rs->next = rs->to + 1; //  stream gone: nothing more to send
        return 0;
    }
    long sent = 0;
    journal_entry_t entry;
    while (sent < budget && rs->next <= rs->to) {
        bool more = journal_iter_next (it, &entry) == 1 && entry.seq <= rs->to;
        uint64_t upto = skipped_until (ds, stream, rs, more ? entry.seq : 0, st.first_seq);
        if (upto > rs->next && send_skipped (self, peer, job, rs, rs->next, upto) < 0)
            sent = -1;
        else if (upto > rs->next)
            rs->next = upto;
        if (sent < 0 || !more)
            break;
        if (send_entry (self, peer, job, rs, &entry) < 0) {
            sent = -1;
            break;
        }
        rs->next = entry.seq + 1;
        sent++;
    }
    if (sent >= 0 && sent < budget && rs->next <= rs->to)
        rs->next = rs->to + 1; //  the iterator ended: retention took the rest, or it comes live
    journal_iter_destroy (&it);
    return sent;
}

//  Advances JOB; returns true when it is finished (END sent).
static bool pump_job (node_t *self, durable_t *ds, replay_job_t *job, long *budget)
{
    peer_t *peer = node_peer_find (self, job->peer);
    if (!peer)
        return true; //  it left: nobody to send to
    replay_stream_t *rs;
    while (*budget > 0 && (rs = zlistx_first (job->streams))) {
        long used = pump_stream (self, ds, peer, job, rs, *budget);
        if (used < 0)
            return false; //  its queue is full: go on next turn
        *budget -= used;
        if (rs->next > rs->to)
            zlistx_delete (job->streams, zlistx_cursor (job->streams));
    }
    if (zlistx_size (job->streams) > 0)
        return false;
    return wire_encode_replay_end (&self->sbuf, job->id, 0, job->sent) == 0 &&
           node_send (self, peer->link, NULL, 0) == 0;
}

bool replay_pump (node_t *self, durable_t *ds)
{
    long budget = REPLAY_BUDGET;
    replay_job_t *job = zlistx_first (ds->replays);
    while (job && budget > 0) {
        if (pump_job (self, ds, job, &budget)) {
            zlistx_delete (ds->replays, zlistx_cursor (ds->replays));
            job = zlistx_first (ds->replays);
        } else
            job = zlistx_next (ds->replays);
    }
    return zlistx_size (ds->replays) > 0;
}
