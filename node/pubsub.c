/*  node/pubsub.c - topics: publish, subscribe, deliver, readiness markers.

    Out: the API thread hands us [topic][body][headers] on the pipe; we stamp
    the per-(publisher, topic) sequence and the time, and send
    [topic][MSG header][body] on the XPUB. Topic and body frames move through
    without a copy.
    In: the SUB is filtered by the literal prefix of each pattern
    (pattern_prefix); we check the full pattern, the header and the sizes,
    detect sequence gaps per (publisher, topic), and pass the message on to
    the application.
    Ready: our SUB subscribes to the marker 0xFF + our UUID. When a peer's
    XPUB sees that subscription arrive, it knows our subscriptions have
    reached it, and reports us as "ready" (docs/PROTOCOL.md).
*/
#include "node/node.h"

#include "common/hex.h"
#include "node/config.h"

#define BATCH       512                  //  messages read from the SUB per wake-up
#define MARKER_LEN  (1 + WIRE_UUID_SIZE) //  0xFF + UUID
#define MARKER_BYTE 0xFF                 //  never starts a topic; sorts after every topic

//  Binds the XPUB. Returns 0 or a WEFT_E* code with the reason in ERR.
static int xpub_start (node_t *self, const char *bind, char *err, size_t errlen)
{
    world_opts_t opts = {
        .sndhwm = (int)config_int (self->cfg, CFG_PUBSUB_HWM),
        .linger_ms = 500, //  what was published just before a stop still leaves
    };
    uint16_t port = (uint16_t)config_int (self->cfg, CFG_TRANSPORT_PUB_PORT);
    int rc = self->world->ops->listen (self->world, WORLD_XPUB, bind, port, &opts, &self->pub_port,
                                       err, errlen);
    if (rc)
        return rc;
    snprintf (self->pub_ep, sizeof self->pub_ep, "tcp://%s:%u", self->addr, self->pub_port);
    return 0;
}

int pubsub_start (node_t *self, char *err, size_t errlen)
{
    const char *bind = config_value (self->cfg, CFG_TRANSPORT_BIND);
    int rc = xpub_start (self, *bind ? bind : self->addr, err, errlen);
    if (rc)
        return rc;
    self->stale_subs = zhashx_new ();
    if (!self->stale_subs)
        return WEFT_ENOMEM;
    zhashx_set_destructor (self->stale_subs, (zhashx_destructor_fn *)zstr_free);
    world_opts_t opts = {
        .rcvhwm = (int)config_int (self->cfg, CFG_PUBSUB_HWM),
        .maxmsgsize = (int64_t)self->max_message + config_int (self->cfg, CFG_LIMITS_MAX_HEADER) + 512,
    };
    if ((rc = self->world->ops->listen (self->world, WORLD_SUB, NULL, 0, &opts, NULL, err, errlen)))
        return rc;
    uint8_t marker[MARKER_LEN] = {MARKER_BYTE};
    memcpy (marker + 1, self->uuid, WIRE_UUID_SIZE);
    self->world->ops->sub_filter (self->world, marker, sizeof marker, true);
    return 0;
}

//  Parses a headers frame ("k\0v\0k\0v\0...") into MSG's header table.
static void parse_headers (zmq_msg_t *frame, wire_msg_t *msg)
{
    const char *p = zmq_msg_data (frame);
    const char *end = p + zmq_msg_size (frame);
    while (p < end && msg->nheaders < WIRE_HEADERS_MAX) {
        const char *key = p;
        const char *value = memchr (key, 0, (size_t)(end - key));
        if (!value++ || value >= end)
            return;
        const char *next = memchr (value, 0, (size_t)(end - value));
        if (!next)
            return;
        wire_kv_t *kv = &msg->headers[msg->nheaders++];
        kv->key = key;
        kv->key_len = (size_t)(value - 1 - key);
        kv->value = value;
        kv->value_len = (size_t)(next - value);
        p = next + 1;
    }
}

//  Returns the next sequence number for TOPIC (a NUL-terminated copy).
static uint64_t next_pub_seq (node_t *self, const char *topic)
{
    uint64_t *seq = zhashx_lookup (self->pub_seqs, topic);
    if (!seq) {
        seq = calloc (1, sizeof *seq);
        if (!seq)
            return 0; //  out of memory: sequence 0 tells subscribers "unknown"
        zhashx_insert (self->pub_seqs, topic, seq);
    }
    return ++*seq;
}

void pubsub_on_publish (node_t *self)
{
    void *pipe = zsock_resolve (self->pipe);
    zmq_msg_t topic, body, headers;
    zmq_msg_init (&topic);
    zmq_msg_init (&body);
    zmq_msg_init (&headers);
    zmq_msg_recv (&topic, pipe, 0);
    zmq_msg_recv (&body, pipe, 0);
    if (zmq_msg_more (&body))
        zmq_msg_recv (&headers, pipe, 0);

    char name[TOPIC_MAX + 1];
    size_t len = zmq_msg_size (&topic);
    len = len > TOPIC_MAX ? TOPIC_MAX : len; //  api.c validated it; stay safe anyway
    memcpy (name, zmq_msg_data (&topic), len);
    name[len] = 0;
    wire_msg_t msg = {.time_us = node_wall_us (self)};
    memcpy (msg.sender, self->uuid, WIRE_UUID_SIZE);
    parse_headers (&headers, &msg);
    if (durable_publish (self, name, &topic, &body, &msg)) {
        zmq_msg_close (&topic);
        zmq_msg_close (&body);
        zmq_msg_close (&headers);
        return;
    }
    msg.seq = next_pub_seq (self, name);
    if (wire_encode_msg (&self->sbuf, &msg) == 0) {
        zmq_msg_t frames[3];
        zmq_msg_init (&frames[0]);
        zmq_msg_move (&frames[0], &topic);
        world_frame_copy (&frames[1], self->sbuf.data, self->sbuf.size);
        zmq_msg_init (&frames[2]);
        zmq_msg_move (&frames[2], &body);
        if (node_publish (self, frames, 3) == 0)
            self->counters.published++;
    }
    zmq_msg_close (&topic);
    zmq_msg_close (&body);
    zmq_msg_close (&headers);
}

int pubsub_subscribe (node_t *self, const char *pattern)
{
    if (pattern_validate (pattern))
        return WEFT_EINVAL;
    int rc = topic_set_add (self->subs, pattern);
    if (rc < 0)
        return rc;
    char prefix[TOPIC_MAX + 1];
    size_t len = pattern_prefix (pattern, prefix, sizeof prefix);
    //  libzmq counts subscriptions too: one SUBSCRIBE per subscribe call
    self->world->ops->sub_filter (self->world, prefix, len, true);
    return 0;
}

int pubsub_unsubscribe (node_t *self, const char *pattern)
{
    int rc = topic_set_remove (self->subs, pattern);
    if (rc < 0)
        return rc;
    char prefix[TOPIC_MAX + 1];
    size_t len = pattern_prefix (pattern, prefix, sizeof prefix);
    self->world->ops->sub_filter (self->world, prefix, len, false);
    return 0;
}

//  Checks the sequence of a volatile message from PEER on TOPIC; returns how
//  many messages were lost before it (0 if none or unknown).
static uint64_t check_gap (node_t *self, peer_t *peer, const char *topic, uint64_t seq)
{
    if (!peer || !seq)
        return 0;
    //  a stream usually sends many messages in a row: remember the last one
    rx_stream_t *st = self->rx_stream;
    if (!st || self->rx_peer != peer || strcmp (self->rx_topic, topic) != 0) {
        st = repair_stream (peer, topic);
        self->rx_stream = st;
        snprintf (self->rx_topic, sizeof self->rx_topic, "%s", topic);
    }
    if (!st)
        return 0;
    uint64_t lost = !st->fresh && seq > st->last + 1 ? seq - st->last - 1 : 0;
    st->last = seq; //  a lower seq means the publisher restarted its count
    st->fresh = false;
    return lost;
}

//  The peer with UUID, remembering the last one asked for (messages come in
//  runs from one publisher: this saves a hex conversion and a lookup each).
static peer_t *find_sender (node_t *self, const uint8_t *uuid)
{
    if (self->rx_peer && memcmp (self->rx_peer->uuid, uuid, WIRE_UUID_SIZE) == 0)
        return self->rx_peer;
    peer_t *peer = membership_find (self, uuid);
    if (peer != self->rx_peer) {
        self->rx_peer = peer;
        self->rx_stream = NULL;
    }
    return peer;
}

void pubsub_pack_headers (const wire_msg_t *msg, zmq_msg_t *frame)
{
    size_t size = 0;
    for (size_t i = 0; i < msg->nheaders; i++)
        size += msg->headers[i].key_len + msg->headers[i].value_len + 2;
    zmq_msg_init_size (frame, size);
    char *p = zmq_msg_data (frame);
    for (size_t i = 0; i < msg->nheaders; i++) {
        memcpy (p, msg->headers[i].key, msg->headers[i].key_len);
        p += msg->headers[i].key_len;
        *p++ = 0;
        memcpy (p, msg->headers[i].value, msg->headers[i].value_len);
        p += msg->headers[i].value_len;
        *p++ = 0;
    }
}

//  Validates one received message and passes it to the application.
//  TOPIC and BODY are handed over (closed here or sent on).
static void deliver (node_t *self, zmq_msg_t *topic, zmq_msg_t *header, zmq_msg_t *body)
{
    size_t len = zmq_msg_size (topic);
    const char *data = zmq_msg_data (topic);
    int type = 0;
    wire_msg_t msg;
    if (len == 0 || len > TOPIC_MAX || topic_validate (data, len) ||
        wire_decode (self->decoder, zmq_msg_data (header), zmq_msg_size (header), &type) ||
        type != WIRE_MSG || wire_get_msg (self->decoder, &msg)) {
        if (wire_decoder_fault (self->decoder) == WIRE_FAULT_OVERSIZED)
            self->counters.oversized++;
        else
            self->counters.bad_frames++;
        return;
    }
    if (zmq_msg_size (body) > self->max_message) {
        self->counters.oversized++;
        return;
    }
    self->counters.received++;
    char name[TOPIC_MAX + 1];
    memcpy (name, data, len);
    name[len] = 0;
    if (!topic_set_match (self->subs, name, len))
        return; //  passed the prefix filter, not the pattern
    peer_t *peer = find_sender (self, msg.sender);
    node_event_t ev = {.kind = WEFT_MSG_MESSAGE, .seq = msg.seq, .time_us = msg.time_us};
    if (peer) {
        memcpy (ev.sender, peer->uuid_hex, sizeof ev.sender);
        memcpy (ev.sender_name, peer->name, sizeof ev.sender_name);
    }
    zmq_msg_t headers;
    if (msg.nheaders)
        pubsub_pack_headers (&msg, &headers);
    if (msg.flags & WIRE_FLAG_DURABLE) {
        repair_on_live (self, peer, name, &ev, topic, body, msg.nheaders ? &headers : NULL,
                        msg.flags);
        if (msg.nheaders)
            zmq_msg_close (&headers); //  moved out if it was kept
        return;
    }
    uint64_t lost = check_gap (self, peer, name, msg.seq);
    if (lost) {
        node_event_t gap = ev;
        gap.kind = WEFT_MSG_GAP;
        gap.seq = lost;
        self->counters.gaps += lost;
        zmq_msg_t copy;
        zmq_msg_init (&copy);
        zmq_msg_copy (&copy, topic);
        node_emit (self, &gap, &copy, NULL, NULL);
    }
    node_emit (self, &ev, topic, body, msg.nheaders ? &headers : NULL);
    self->counters.delivered++;
}

void pubsub_on_sub (node_t *self)
{
    for (int i = 0; i < BATCH; i++) {
        zmq_msg_t frames[3];
        size_t count = 0;
        int rc = self->world->ops->recv (self->world, WORLD_SUB, frames, 3, &count, NULL);
        if (rc < 0)
            return; //  nothing more waiting
        if (rc == 0 && count == 3)
            deliver (self, &frames[0], &frames[1], &frames[2]);
        else
            self->counters.bad_frames++;
        world_frames_close (frames, count);
    }
}

void pubsub_on_xpub (node_t *self)
{
    for (int i = 0; i < BATCH; i++) {
        zmq_msg_t frame;
        size_t count = 0;
        int rc = self->world->ops->recv (self->world, WORLD_XPUB, &frame, 1, &count, NULL);
        if (rc < 0)
            return;
        if (rc > 0)
            continue;
        const uint8_t *notice = zmq_msg_data (&frame);
        size_t size = zmq_msg_size (&frame);
        if (size != 1 + MARKER_LEN || notice[1] != MARKER_BYTE) {
            zmq_msg_close (&frame);
            continue; //  a user-topic subscription: nothing to do
        }
        peer_t *peer = membership_find (self, notice + 2);
        char hex[WIRE_UUID_SIZE * 2 + 1];
        hex_encode (notice + 2, WIRE_UUID_SIZE, hex);
        if (peer)
            peer->ready = notice[0] == 1;
        else if (notice[0] == 1)
            zhashx_update (self->early_ready, hex, "1");
        else
            zhashx_delete (self->early_ready, hex);
        zmq_msg_close (&frame);
    }
}

void pubsub_peer_added (node_t *self, peer_t *peer)
{
    //  still connected from an earlier life of this endpoint: keep that connection
    int64_t *due = zhashx_lookup (self->stale_subs, peer->pub_ep);
    if (due)
        zhashx_delete (self->stale_subs, peer->pub_ep);
    else if (self->world->ops->sub_connect (self->world, peer->pub_ep, true) < 0)
        wlog_warn (&self->log, "cannot connect SUB to %s", peer->pub_ep);
    if (zhashx_lookup (self->early_ready, peer->uuid_hex)) {
        peer->ready = true;
        zhashx_delete (self->early_ready, peer->uuid_hex);
    }
}

//  Disconnecting at once would drop what the peer published just before it
//  left (still queued in our SUB), and libzmq 4.3.4 can abort on a read that
//  follows the disconnect of a pipe with queued messages (fq.cpp: !_more).
//  So the endpoint is disconnected later, when its traffic is long over.
#define STALE_AFTER_MS 10000

void pubsub_peer_removed (node_t *self, peer_t *peer)
{
    int64_t *due = malloc (sizeof *due);
    if (!due)
        return; //  then it stays connected: harmless, libzmq just retries it
    *due = node_now (self) + STALE_AFTER_MS;
    zhashx_update (self->stale_subs, peer->pub_ep, due);
}

void pubsub_on_timer (node_t *self, int64_t now)
{
    zlistx_t *done = zlistx_new ();
    for (int64_t *due = zhashx_first (self->stale_subs); due && done;
         due = zhashx_next (self->stale_subs))
        if (now >= *due)
            zlistx_add_end (done, (void *)zhashx_cursor (self->stale_subs));
    for (const char *ep = zlistx_first (done); ep; ep = zlistx_next (done)) {
        self->world->ops->sub_connect (self->world, ep, false);
        zhashx_delete (self->stale_subs, ep); //  frees the key EP last
    }
    zlistx_destroy (&done);
}
