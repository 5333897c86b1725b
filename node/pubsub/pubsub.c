/*  node/pubsub/pubsub.c - volatile topics: publish, gap detection, stream
    heads, drop counts, readiness markers. One subsystem (its table is at
    the end).

    Out: the core hands us what the application publishes on a topic that no
    durable declaration took; we stamp the per-(publisher, topic) sequence
    and send [topic][MSG header][body] on the XPUB. Topic and body frames
    move through without a copy.
    In: the core validated the message, matched it against the application's
    subscriptions and found its sender; we detect sequence gaps per
    (publisher, topic) and pass it on to the application.
    Heads: every interval, for each stream published on within the last
    HEAD_LINGER intervals, a HEAD (flag HEAD, no DURABLE: seq = the last one
    sent) goes out, so that a subscriber learns of losses at the tail of a
    burst too - sent only while every peer says it takes them (caps VHEAD:
    an older node would hand a HEAD to its application).
    Drops: a subscriber counts what it missed of each publisher and tells
    it (MISSED, at most once per interval, when the count moved); so the
    publisher's status shows, per subscriber, what did not reach it.
    Ready: our SUB subscribes to the marker 0xFF + our UUID. When a peer's
    XPUB sees that subscription arrive, it knows our subscriptions have
    reached it, and reports us as "ready" (docs/PROTOCOL.md).
    Peers: our SUB connects to each peer's PUB when it enters the table, and
    disconnects a while after it left (see STALE_AFTER_MS).
*/
#include "common/hex.h"
#include "common/jout.h"
#include "node/core/config.h"
#include "node/core/node.h"

#define BATCH       512                  //  notices read from the XPUB per wake-up
#define MARKER_LEN  (1 + WIRE_UUID_SIZE) //  0xFF + UUID
#define MARKER_BYTE 0xFF                 //  never starts a topic; sorts after every topic
#define HEAD_LINGER 10 //  intervals a stream's head is announced after its last publish

//  Disconnecting at once would drop what the peer published just before it
//  left (still queued in our SUB), and libzmq 4.3.4 can abort on a read that
//  follows the disconnect of a pipe with queued messages (fq.cpp: !_more).
//  So the endpoint is disconnected later, when its traffic is long over.
#define STALE_AFTER_MS 10000

//  What we received of one (publisher, topic) stream.
typedef struct {
    uint64_t last; //  last seq seen
    bool fresh;    //  nothing seen yet: the first message sets the start
} rx_seq_t;

//  Per peer: topic -> rx_seq_t, and what was missed each way.
typedef struct {
    zhashx_t *seqs;
    uint64_t missed;      //  its messages we missed (gaps, tail losses seen in a HEAD)
    uint64_t missed_told; //  the count it last heard from us (MISSED)
    uint64_t dropped;     //  our messages it says it missed (its MISSED)
} pubsub_peer_t;

//  One stream we publish.
typedef struct {
    uint64_t seq;    //  last seq published
    uint32_t linger; //  intervals its HEAD is still announced
} tx_stream_t;

//  The subsystem's state.
typedef struct {
    zhashx_t *pub_seqs;           //  topic -> tx_stream_t, the streams we publish
    zhashx_t *stale_subs;         //  PUB endpoint of a gone peer -> when to disconnect it
    zhashx_t *early_ready;        //  uuid hex of markers seen before the peer was known
    peer_t *rx_peer;              //  the sender of the last message received
    rx_seq_t *rx_seq;             //  its stream of the last topic received
    char rx_topic[TOPIC_MAX + 1]; //  that topic
} pubsub_t;

//  --- Start and stop -----------------------------------------------------------------

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

static int pubsub_start (node_t *self, void *state, char *err, size_t errlen)
{
    pubsub_t *ps = state;
    const char *bind = config_value (self->cfg, CFG_TRANSPORT_BIND);
    int rc = xpub_start (self, *bind ? bind : self->addr, err, errlen);
    if (rc)
        return rc;
    ps->pub_seqs = zhashx_new ();
    ps->stale_subs = zhashx_new ();
    ps->early_ready = zhashx_new ();
    if (!ps->pub_seqs || !ps->stale_subs || !ps->early_ready)
        return WEFT_ENOMEM;
    zhashx_set_destructor (ps->pub_seqs, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_destructor (ps->stale_subs, (zhashx_destructor_fn *)zstr_free);
    world_opts_t opts = {
        .rcvhwm = (int)config_int (self->cfg, CFG_PUBSUB_HWM),
        .maxmsgsize =
            (int64_t)self->max_message + config_int (self->cfg, CFG_LIMITS_MAX_HEADER) + 512,
    };
    if ((rc = self->world->ops->listen (self->world, WORLD_SUB, NULL, 0, &opts, NULL, err, errlen)))
        return rc;
    uint8_t marker[MARKER_LEN] = {MARKER_BYTE};
    memcpy (marker + 1, self->uuid, WIRE_UUID_SIZE);
    self->world->ops->sub_filter (self->world, marker, sizeof marker, true);
    return 0;
}

static void pubsub_stop (node_t *self, void *state)
{
    pubsub_t *ps = state;
    zhashx_destroy (&ps->pub_seqs);
    zhashx_destroy (&ps->stale_subs);
    zhashx_destroy (&ps->early_ready);
}

//  --- Out ----------------------------------------------------------------------------

//  Returns the next sequence number for TOPIC (a NUL-terminated copy).
static uint64_t next_pub_seq (pubsub_t *ps, const char *topic)
{
    tx_stream_t *st = zhashx_lookup (ps->pub_seqs, topic);
    if (!st) {
        st = calloc (1, sizeof *st);
        if (!st)
            return 0; //  out of memory: sequence 0 tells subscribers "unknown"
        zhashx_insert (ps->pub_seqs, topic, st);
    }
    st->linger = HEAD_LINGER;
    return ++st->seq;
}

//  True when every peer takes volatile HEADs (an older one would deliver them).
static bool heads_welcome (node_t *self)
{
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (!(p->caps & WIRE_CAP_VHEAD))
            return false;
    return true;
}

//  Sends the HEAD of every stream published on lately (see the top).
static void announce_heads (node_t *self, pubsub_t *ps)
{
    if (zhashx_size (self->peers) == 0 || !heads_welcome (self))
        return;
    for (tx_stream_t *st = zhashx_first (ps->pub_seqs); st; st = zhashx_next (ps->pub_seqs)) {
        if (st->linger == 0)
            continue;
        st->linger--;
        node_publish_head (self, zhashx_cursor (ps->pub_seqs), st->seq, WIRE_FLAG_HEAD);
    }
}

//  Takes every topic that reaches it (durable ones were taken before).
static bool pubsub_on_publish (node_t *self, void *state, const char *name, zmq_msg_t *topic,
                               zmq_msg_t *body, wire_msg_t *msg)
{
    msg->seq = next_pub_seq (state, name);
    if (wire_encode_msg (&self->sbuf, msg) == 0) {
        zmq_msg_t frames[3];
        zmq_msg_init (&frames[0]);
        zmq_msg_move (&frames[0], topic);
        world_frame_copy (&frames[1], self->sbuf.data, self->sbuf.size);
        zmq_msg_init (&frames[2]);
        zmq_msg_move (&frames[2], body);
        if (node_publish (self, frames, 3) == 0)
            self->counters.published++;
    }
    return true;
}

//  --- In -----------------------------------------------------------------------------

//  Checks the sequence of a volatile message from PEER on TOPIC (HEAD: a
//  stream head, SEQ the last one sent); returns how many messages were lost
//  before it, or up to it for a HEAD (0 if none or unknown).
static uint64_t check_gap (pubsub_t *ps, peer_t *peer, const char *topic, uint64_t seq, bool head)
{
    if (!peer || !seq)
        return 0;
    //  a stream usually sends many messages in a row: remember the last one
    rx_seq_t *st = ps->rx_seq;
    if (!st || ps->rx_peer != peer || strcmp (ps->rx_topic, topic) != 0) {
        pubsub_peer_t *pp = node_peer_state (peer, SUBSYS_PUBSUB);
        st = pp->seqs ? zhashx_lookup (pp->seqs, topic) : NULL;
        if (!st && pp->seqs && (st = calloc (1, sizeof *st))) {
            st->fresh = true;
            zhashx_insert (pp->seqs, topic, st);
        }
        ps->rx_peer = peer;
        ps->rx_seq = st;
        snprintf (ps->rx_topic, sizeof ps->rx_topic, "%s", topic);
    }
    if (!st)
        return 0;
    uint64_t seen = head ? seq : seq - 1; //  what the stream had sent before this
    uint64_t lost = !st->fresh && seen > st->last ? seen - st->last : 0;
    if (!head || seq > st->last || st->fresh)
        st->last = seq; //  a lower seq means the publisher restarted its count
    st->fresh = false;
    if (lost)
        ((pubsub_peer_t *)node_peer_state (peer, SUBSYS_PUBSUB))->missed += lost;
    return lost;
}

//  A volatile topic message for the application: gap check, then deliver.
static void pubsub_on_topic (node_t *self, void *state, peer_t *peer, const char *name,
                             const wire_msg_t *msg, node_event_t *ev, zmq_msg_t *topic,
                             zmq_msg_t *body, zmq_msg_t *headers)
{
    bool head = (msg->flags & WIRE_FLAG_HEAD) != 0;
    uint64_t lost = check_gap (state, peer, name, msg->seq, head);
    if (lost) {
        node_event_t gap = *ev;
        gap.kind = WEFT_MSG_GAP;
        gap.seq = lost;
        self->counters.gaps += lost;
        zmq_msg_t copy;
        zmq_msg_init (&copy);
        zmq_msg_copy (&copy, topic);
        node_emit (self, &gap, &copy, NULL, NULL);
    }
    if (head)
        return; //  never for the application
    node_emit (self, ev, topic, body, headers);
    self->counters.delivered++;
}

//  MISSED from PEER: how many of our messages it missed in all.
static void pubsub_on_message (node_t *self, void *state, peer_t *peer, int type, zmq_msg_t *from,
                               zmq_msg_t *body, zmq_msg_t *extra)
{
    uint64_t missed = 0;
    if (!peer || wire_get_missed (self->decoder, &missed)) {
        self->counters.bad_frames++;
        return;
    }
    ((pubsub_peer_t *)node_peer_state (peer, SUBSYS_PUBSUB))->dropped = missed;
}

//  Tells each publisher whose count moved what we missed of it.
static void tell_missed (node_t *self)
{
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers)) {
        pubsub_peer_t *pp = node_peer_state (p, SUBSYS_PUBSUB);
        if (pp->missed == pp->missed_told || !p->link || !(p->caps & WIRE_CAP_VHEAD) ||
            wire_encode_missed (&self->sbuf, pp->missed))
            continue;
        if (node_send (self, p->link, NULL, 0) == 0)
            pp->missed_told = pp->missed;
    }
}

//  Subscription notices on the XPUB: a peer's readiness marker arrived (1)
//  or went (0). User-topic subscriptions need nothing from us.
static void pubsub_on_xpub (node_t *self, void *state)
{
    pubsub_t *ps = state;
    for (int i = 0; i < BATCH; i++) {
        zmq_msg_t frame;
        size_t count = 0;
        int rc = self->world->ops->recv (self->world, WORLD_XPUB, &frame, 1, &count, NULL);
        if (rc < 0)
            return;
        if (rc > 0)
            continue;
        const uint8_t *notice = zmq_msg_data (&frame);
        if (zmq_msg_size (&frame) == 1 + MARKER_LEN && notice[1] == MARKER_BYTE) {
            peer_t *peer = node_peer_find (self, notice + 2);
            char hex[WIRE_UUID_SIZE * 2 + 1];
            hex_encode (notice + 2, WIRE_UUID_SIZE, hex);
            if (peer)
                peer->ready = notice[0] == 1;
            else if (notice[0] == 1)
                zhashx_update (ps->early_ready, hex, "1");
            else
                zhashx_delete (ps->early_ready, hex);
        }
        zmq_msg_close (&frame);
    }
}

//  --- Peers and timers -----------------------------------------------------------------

static void peer_added (node_t *self, pubsub_t *ps, peer_t *peer)
{
    pubsub_peer_t *pp = node_peer_state (peer, SUBSYS_PUBSUB);
    if ((pp->seqs = zhashx_new ()))
        zhashx_set_destructor (pp->seqs, (zhashx_destructor_fn *)zstr_free);
    //  still connected from an earlier life of this endpoint: keep that connection
    int64_t *due = zhashx_lookup (ps->stale_subs, peer->pub_ep);
    if (due)
        zhashx_delete (ps->stale_subs, peer->pub_ep);
    else if (self->world->ops->sub_connect (self->world, peer->pub_ep, true) < 0)
        wlog_warn (&self->log, "cannot connect SUB to %s", peer->pub_ep);
    if (zhashx_lookup (ps->early_ready, peer->uuid_hex)) {
        peer->ready = true;
        zhashx_delete (ps->early_ready, peer->uuid_hex);
    }
}

static void peer_removed (node_t *self, pubsub_t *ps, peer_t *peer)
{
    if (ps->rx_peer == peer) { //  the cache must not outlive it
        ps->rx_peer = NULL;
        ps->rx_seq = NULL;
    }
    //  its marker subscription stands on our XPUB until its SUB goes (then
    //  the XPUB tells us, and the entry goes): if it comes back (we expired
    //  it, it did not expire us) it is ready at once, as it really is
    if (peer->ready)
        zhashx_update (ps->early_ready, peer->uuid_hex, "1");
    int64_t *due = malloc (sizeof *due);
    if (!due)
        return; //  then it stays connected: harmless, libzmq just retries it
    *due = node_now (self) + STALE_AFTER_MS;
    zhashx_update (ps->stale_subs, peer->pub_ep, due);
}

static void pubsub_peer_event (node_t *self, void *state, peer_t *peer, peer_event_t event)
{
    if (event == PEER_ADDED)
        peer_added (self, state, peer);
    else if (event == PEER_REMOVED)
        peer_removed (self, state, peer);
}

static void pubsub_peer_fini (peer_t *peer, void *peer_state)
{
    pubsub_peer_t *pp = peer_state;
    zhashx_destroy (&pp->seqs);
}

//  Disconnects the SUB from endpoints of peers gone for a while.
static void pubsub_on_timer (node_t *self, void *state, int64_t now, bool interval)
{
    pubsub_t *ps = state;
    zlistx_t *done = zlistx_new ();
    for (int64_t *due = zhashx_first (ps->stale_subs); due && done;
         due = zhashx_next (ps->stale_subs))
        if (now >= *due)
            zlistx_add_end (done, (void *)zhashx_cursor (ps->stale_subs));
    for (const char *ep = zlistx_first (done); ep; ep = zlistx_next (done)) {
        self->world->ops->sub_connect (self->world, ep, false);
        zhashx_delete (ps->stale_subs, ep); //  frees the key EP last
    }
    zlistx_destroy (&done);
    if (interval) {
        announce_heads (self, ps);
        tell_missed (self);
    }
}

//  One row of the status' "pubsub" peers: {"uuid":...,"missed":N,"dropped":N};
//  NULL when out of memory.
static json_t *peer_row (const peer_t *p, const pubsub_peer_t *pp)
{
    json_t *row = json_object ();
    if (row && !jout_set_str (row, "uuid", p->uuid_hex) &&
        !jout_set_uint (row, "missed", pp->missed) && !jout_set_uint (row, "dropped", pp->dropped))
        return row;
    json_decref (row);
    return NULL;
}

//  The status part: "pubsub":{"peers":[...]}, a row per peer whose missed or
//  dropped count is not 0.
static int pubsub_status (node_t *self, void *state, json_t *into)
{
    json_t *part = json_object (), *peers = json_array ();
    int rc = json_object_set_new (part, "peers", peers); //  PEERS borrowed from here on
    for (peer_t *p = zhashx_first (self->peers); p && !rc; p = zhashx_next (self->peers)) {
        pubsub_peer_t *pp = node_peer_state (p, SUBSYS_PUBSUB);
        if (pp->missed || pp->dropped)
            rc = json_array_append_new (peers, peer_row (p, pp));
    }
    if (rc) {
        json_decref (part);
        return -1;
    }
    return json_object_set_new (into, "pubsub", part);
}

const subsystem_t pubsub_subsystem = {
    .name = "pubsub",
    .id = SUBSYS_PUBSUB,
    .state_size = sizeof (pubsub_t),
    .peer_state_size = sizeof (pubsub_peer_t),
    .start = pubsub_start,
    .stop = pubsub_stop,
    .type_min = WIRE_MISSED,
    .type_max = WIRE_MISSED,
    .on_message = pubsub_on_message,
    .status = pubsub_status,
    .on_topic = pubsub_on_topic,
    .on_publish = pubsub_on_publish,
    .on_xpub = pubsub_on_xpub,
    .peer_event = pubsub_peer_event,
    .peer_fini = pubsub_peer_fini,
    .on_timer = pubsub_on_timer,
};
