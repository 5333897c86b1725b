/*  node/durable/durable.c - durable topics on the publisher's side: the
    journal, group commit, HEAD announcements, retention, the journal's
    status. Serving replays to peers is in replay.c.

    A message on a durable topic is staged in the journal (stream "t/<topic>")
    with the next sequence of that stream, which never repeats, also across
    restarts and power cuts (reserve.c reserves the numbers durably first). Everything staged during
   one turn of the loop is committed in one batch (the core's commit); only then are the messages
   sent on the XPUB, so a subscriber never sees a message its publisher could lose. Each journal
   entry holds the MSG header frame as sent, then the body: u32 big-endian header length | header |
   body   (node/wire/entry.h) so that a replay sends exactly what the live message carried.
*/
#include "node/durable/durable.h"
#include "node/wire/entry.h"

#include "common/hex.h"
#include "common/jout.h"
#include "node/core/config.h"

#define RETENTION_BUDGET 1024 //  entries deleted by retention per loop turn
#define HEAD_LINGER      10   //  intervals a stream's head is announced after its last publish

//  An outbound durable message waiting for its batch to commit.
typedef struct {
    zmq_msg_t topic;  //  topic frame
    zmq_msg_t header; //  MSG header frame
    zmq_msg_t body;   //  body frame
    uint64_t seq;     //  its sequence
} outbound_t;

//  What HEAD announcements know of one stream.
typedef struct {
    uint64_t last; //  last seq committed and sent
    int64_t until; //  announce until then (monotonic ms)
} head_t;

static void outbound_free (void **item)
{
    outbound_t *out = *item;
    if (!out)
        return;
    zmq_msg_close (&out->topic);
    zmq_msg_close (&out->header);
    zmq_msg_close (&out->body);
    free (out);
    *item = NULL;
}

int durable_declare (node_t *self, durable_t *ds, const char *pattern,
                     const journal_limits_t *limits)
{
    if (pattern_validate (pattern))
        return WEFT_EINVAL;
    if (!self->journal)
        return WEFT_ESTATE;
    for (durable_decl_t *d = zlistx_first (ds->durables); d; d = zlistx_next (ds->durables))
        if (strcmp (d->pattern, pattern) == 0) {
            d->limits = *limits; //  declaring again changes the retention
            return 0;
        }
    durable_decl_t *decl = calloc (1, sizeof *decl);
    if (!decl)
        return WEFT_ENOMEM;
    snprintf (decl->pattern, sizeof decl->pattern, "%s", pattern);
    decl->limits = *limits;
    zlistx_add_end (ds->durables, decl);
    return 0;
}

//  Returns the declaration covering TOPIC, or NULL if TOPIC is volatile.
static durable_decl_t *durable_match (durable_t *ds, const char *topic)
{
    for (durable_decl_t *d = zlistx_first (ds->durables); d; d = zlistx_next (ds->durables))
        if (pattern_match (d->pattern, topic, strlen (topic)))
            return d;
    return NULL;
}

//  Declares the patterns of durable.topics with the default limits.
static int declare_from_config (node_t *self, durable_t *ds, char *err, size_t errlen)
{
    journal_limits_t limits = {0};
    config_parse_limits (config_value (self->cfg, CFG_DURABLE_RETENTION), &limits);
    const char *list = config_value (self->cfg, CFG_DURABLE_TOPICS);
    while (*list) {
        size_t len = strcspn (list, ",");
        char pattern[TOPIC_MAX + 1];
        snprintf (pattern, sizeof pattern, "%.*s", (int)(len < TOPIC_MAX ? len : TOPIC_MAX), list);
        if (len && durable_declare (self, ds, pattern, &limits)) {
            if (self->journal)
                snprintf (err, errlen, "durable.topics: '%s' is not a valid pattern", pattern);
            else
                snprintf (err, errlen,
                          "durable.topics needs journal.dir: durable topics are "
                          "journaled by their publisher");
            return WEFT_EINVAL;
        }
        list += len + (list[len] == ',');
    }
    return 0;
}

int durable_start (node_t *self, durable_t *ds, char *err, size_t errlen)
{
    ds->durables = zlistx_new ();
    ds->outbox = zlistx_new ();
    ds->heads = zhashx_new ();
    if (!ds->durables || !ds->outbox || !ds->heads || replay_start (ds))
        return WEFT_ENOMEM;
    zlistx_set_destructor (ds->durables, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_destructor (ds->outbox, outbound_free);
    zhashx_set_destructor (ds->heads, (zhashx_destructor_fn *)zstr_free);
    int rc = reserve_start (self, ds);
    if (rc) {
        snprintf (err, errlen, "journal: the sequence reservations cannot be read: %s",
                  weft_strerror (rc));
        return rc;
    }
    return declare_from_config (self, ds, err, errlen);
}

void durable_stop (node_t *self, durable_t *ds)
{
    reserve_stop (self, ds);
    zlistx_destroy (&ds->durables);
    zlistx_destroy (&ds->outbox);
    zhashx_destroy (&ds->heads);
    replay_stop (ds);
}

bool durable_publish (node_t *self, durable_t *ds, const char *name, zmq_msg_t *topic,
                      zmq_msg_t *body, wire_msg_t *msg)
{
    if (!self->journal || !durable_match (ds, name))
        return false;
    char stream[TOPIC_MAX + 8];
    durable_stream_name (name, stream, sizeof stream);
    msg->seq = reserve_next (self, ds, stream);
    msg->flags |= WIRE_FLAG_DURABLE;
    outbound_t *out = msg->seq ? calloc (1, sizeof *out) : NULL;
    size_t blen = zmq_msg_size (body), size = 0;
    uint8_t *entry = NULL;
    if (out && wire_encode_msg (&self->sbuf, msg) == 0 &&
        (size = wire_entry_size (self->sbuf.size, blen)) && (entry = malloc (size)))
        wire_entry_pack (self->sbuf.data, self->sbuf.size, zmq_msg_data (body), blen, entry);
    if (!entry) {
        free (out);
        self->counters.journal_errors++;
        return true;
    }
    size_t hlen = self->sbuf.size;
    int rc = journal_append (self->journal, stream, msg->seq, msg->time_us, entry, size);
    free (entry);
    if (rc) {
        wlog_warn (&self->log, "durable message on %s not journaled: %s", name, weft_strerror (rc));
        self->counters.journal_errors++;
        free (out);
        return true;
    }
    out->seq = msg->seq;
    ds->retention_due = true;
    zmq_msg_init (&out->topic);
    zmq_msg_init (&out->body);
    zmq_msg_move (&out->topic, topic);
    zmq_msg_move (&out->body, body);
    zmq_msg_init_size (&out->header, hlen);
    memcpy (zmq_msg_data (&out->header), self->sbuf.data, hlen);
    zlistx_add_end (ds->outbox, out);
    return true;
}

void durable_head_set (node_t *self, durable_t *ds, const char *topic, uint64_t seq)
{
    head_t *head = zhashx_lookup (ds->heads, topic);
    if (!head && (head = calloc (1, sizeof *head)))
        zhashx_insert (ds->heads, topic, head);
    if (head) {
        head->last = seq;
        head->until = node_now (self) + HEAD_LINGER * self->interval;
    }
}

//  Records that OUT went out, for HEAD announcements.
static void head_update (node_t *self, durable_t *ds, outbound_t *out)
{
    char topic[TOPIC_MAX + 1];
    size_t len = zmq_msg_size (&out->topic);
    memcpy (topic, zmq_msg_data (&out->topic), len);
    topic[len] = 0;
    durable_head_set (self, ds, topic, out->seq);
}

static void retention_step (node_t *self, durable_t *ds, int64_t now_us);

void durable_before_commit (node_t *self, durable_t *ds)
{
    if (self->journal && ds->retention_due) {
        //  streams that grew this turn are trimmed in the same commit: a fast
        //  publisher cannot outrun its retention
        ds->retention_due = false;
        retention_step (self, ds, node_wall_us (self));
    }
}

void durable_after_commit (node_t *self, durable_t *ds, bool ok)
{
    reserve_after_commit (ds, ok);
    if (!ok) {
        //  nothing of a failed batch was sent: the publisher's call already
        //  returned, so these are counted as journal errors
        self->counters.journal_errors += zlistx_size (ds->outbox);
        zlistx_purge (ds->outbox);
        return;
    }
    for (outbound_t *out = zlistx_first (ds->outbox); out; out = zlistx_next (ds->outbox)) {
        head_update (self, ds, out);
        self->counters.journaled++;
        zmq_msg_t frames[3];
        zmq_msg_t *parts[3] = {&out->topic, &out->header, &out->body};
        for (int i = 0; i < 3; i++) {
            zmq_msg_init (&frames[i]);
            zmq_msg_move (&frames[i], parts[i]);
        }
        if (node_publish (self, frames, 3) == 0)
            self->counters.published++;
    }
    zlistx_purge (ds->outbox);
}

//  Sends a HEAD (the last seq of a stream, no body) for streams recently active,
//  so subscribers notice losses at the tail of a stream.
static void announce_heads (node_t *self, durable_t *ds, int64_t now)
{
    for (head_t *head = zhashx_first (ds->heads); head; head = zhashx_next (ds->heads)) {
        if (now > head->until)
            continue;
        node_publish_head (self, zhashx_cursor (ds->heads), head->last,
                           WIRE_FLAG_DURABLE | WIRE_FLAG_HEAD);
    }
}

//  Applies retention to a few streams, a bounded amount of work per call.
static void retention_step (node_t *self, durable_t *ds, int64_t now_us)
{
    size_t count = journal_stream_count (self->journal);
    size_t budget = RETENTION_BUDGET;
    for (size_t i = 0; i < count && budget > 0; i++) {
        size_t index = (ds->retention_next + i) % count;
        const char *stream = journal_stream_name (self->journal, index);
        if (!stream || strncmp (stream, DURABLE_STREAM_PREFIX, 2) != 0)
            continue;
        durable_decl_t *decl = durable_match (ds, stream + 2);
        if (!decl ||
            (!decl->limits.max_age_us && !decl->limits.max_bytes && !decl->limits.max_count))
            continue;
        size_t deleted = 0;
        journal_retention_step (self->journal, stream, &decl->limits, now_us, budget, &deleted);
        budget -= deleted < budget ? deleted : budget;
    }
    ds->retention_next = count ? (ds->retention_next + 1) % count : 0;
}

void durable_on_timer (node_t *self, durable_t *ds, int64_t now, bool interval)
{
    if (!self->journal)
        return;
    if (interval)
        announce_heads (self, ds, now);
    retention_step (self, ds, node_wall_us (self));
    if (self->journal_failed && interval)
        journal_meta_put (self->journal, "node/probe", &now, sizeof now); //  retried by the flush
}

//  The status row of STREAM with its stats ST; NULL when out of memory.
static json_t *stream_json (const char *stream, const journal_stats_t *st)
{
    json_t *row = json_object ();
    if (row && !jout_set_str (row, "stream", stream) && !jout_set_uint (row, "count", st->count) &&
        !jout_set_uint (row, "bytes", st->bytes) &&
        !jout_set_uint (row, "first_seq", st->first_seq) &&
        !jout_set_uint (row, "last_seq", st->last_seq) &&
        !jout_set_int (row, "first_time_us", st->first_time_us) &&
        !jout_set_int (row, "last_time_us", st->last_time_us))
        return row;
    json_decref (row);
    return NULL;
}

json_t *durable_journal_json (node_t *self)
{
    if (!self->journal)
        return json_null ();
    json_t *streams = json_array ();
    size_t count = journal_stream_count (self->journal);
    for (size_t i = 0; streams && i < count; i++) {
        const char *stream = journal_stream_name (self->journal, i);
        journal_stats_t st;
        if (!stream || journal_stats (self->journal, stream, &st))
            continue;
        if (json_array_append_new (streams, stream_json (stream, &st))) {
            json_decref (streams);
            return NULL;
        }
    }
    return streams;
}
