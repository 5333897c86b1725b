/*  node/durable/repair.c - durable topics on the subscriber's side: gap
    repair and the replays that fill holes. The replaying subscriptions
    themselves (from a start, durable names, their cursors) are in rsub.c.

    For every (publisher, topic) stream of a durable topic the subscriber keeps
    the last sequence it delivered (rx_stream_t). A live message that follows
    it is delivered; one that jumps ahead is held, and the missing range is
    asked of the publisher (REPLAY_REQ); replayed messages fill the hole, and
    when the replay ends (REPLAY_END) the held messages follow, in order, with
    no gap and no duplicate at the seam. A subscription that starts in the past
    (earliest, a sequence, a time) or a durable subscription resuming from its
    cursors asks every publisher the same way, and holds the live messages of
    the streams it covers until that publisher's replay has ended.
*/
#include "node/durable/durable.h"

#define HELD_MAX      100000 //  live messages held per stream during a replay
#define PARKED_MAX    1024   //  publishers whose streams are kept while they are away
#define PARKED_TOPICS 4096   //  streams begun per parked publisher while it is away

//  A live message held until the replay before it ends.
typedef struct {
    node_event_t ev; //  kind MESSAGE, seq, time, sender
    zmq_msg_t topic; //  frames, owned
    zmq_msg_t body;
    zmq_msg_t headers;
    bool has_headers;
} held_msg_t;

static void held_free (void **item)
{
    held_msg_t *held = *item;
    if (!held)
        return;
    zmq_msg_close (&held->topic);
    zmq_msg_close (&held->body);
    zmq_msg_close (&held->headers);
    free (held);
    *item = NULL;
}

//  Initializes FRAME with a copy of TEXT.
static void text_frame (zmq_msg_t *frame, const char *text)
{
    size_t len = strlen (text);
    zmq_msg_init_size (frame, len);
    memcpy (zmq_msg_data (frame), text, len);
}

static int held_compare (const void *a, const void *b)
{
    uint64_t x = ((const held_msg_t *)a)->ev.seq, y = ((const held_msg_t *)b)->ev.seq;
    return x < y ? -1 : x > y;
}

static void repair_stream_free (void **item)
{
    rx_stream_t *st = *item;
    if (!st)
        return;
    zlistx_destroy (&st->held);
    free (st);
    *item = NULL;
}

rx_stream_t *repair_stream (peer_t *peer, const char *topic)
{
    rx_stream_t *st = zhashx_lookup (durable_peer (peer)->rx, topic);
    if (st)
        return st;
    st = calloc (1, sizeof *st);
    if (!st)
        return NULL;
    st->fresh = true;
    zhashx_insert (durable_peer (peer)->rx, topic, st);
    return st;
}

int repair_peer_init (durable_t *ds, peer_t *peer)
{
    durable_peer_t *dp = durable_peer (peer);
    dp->rx = ds->parked ? zhashx_lookup (ds->parked, peer->uuid_hex) : NULL;
    if (dp->rx) {
        //  a publisher we knew: its streams go on where they were
        zhashx_delete (ds->parked, peer->uuid_hex); //  the parked table owns nothing
    } else
        dp->rx = zhashx_new ();
    dp->requests = zlistx_new ();
    if (!dp->rx || !dp->requests)
        return WEFT_ENOMEM;
    zhashx_set_destructor (dp->rx, repair_stream_free);
    zlistx_set_destructor (dp->requests, (zlistx_destructor_fn *)zstr_free);
    return 0;
}

void repair_peer_fini (durable_peer_t *dp)
{
    zhashx_destroy (&dp->rx);
    zlistx_destroy (&dp->requests);
}

static void flush_held (node_t *self, durable_t *ds, peer_t *peer, rx_stream_t *st,
                        const char *topic);

void repair_parked_free (durable_t *ds)
{
    zlistx_t *tables = ds->parked ? zhashx_values (ds->parked) : NULL;
    for (zhashx_t *rx = tables ? zlistx_first (tables) : NULL; rx; rx = zlistx_next (tables))
        zhashx_destroy (&rx);
    zlistx_destroy (&tables);
    zhashx_destroy (&ds->parked);
}

void repair_peer_park (durable_t *ds, peer_t *peer)
{
    durable_peer_t *dp = durable_peer (peer);
    if (!dp->rx)
        return;
    //  parked even with no stream yet: what it sent just before it left
    //  (still on our SUB) may start one that a replaying subscription wants
    if (!ds->parked)
        ds->parked = zhashx_new (); //  values are freed by repair_parked_free
    if (!ds->parked || zhashx_size (ds->parked) >= PARKED_MAX)
        return; //  then it starts afresh if it comes back, as before
    for (rx_stream_t *st = zhashx_first (dp->rx); st; st = zhashx_next (dp->rx))
        st->repair = 0; //  its replays ended with its link
    zhashx_update (ds->parked, peer->uuid_hex, dp->rx);
    dp->rx = NULL; //  now the parked table's
}

void repair_peer_resume (node_t *self, durable_t *ds, peer_t *peer)
{
    durable_peer_t *dp = durable_peer (peer);
    zlistx_t *topics = dp->rx ? zhashx_keys (dp->rx) : NULL;
    for (const char *t = topics ? zlistx_first (topics) : NULL; t; t = zlistx_next (topics)) {
        rx_stream_t *st = zhashx_lookup (dp->rx, t);
        if (st && !st->repair && !st->fresh)
            flush_held (self, ds, peer, st, t); //  asks for what it missed meanwhile
    }
    zlistx_destroy (&topics);
}

//  Delivers one message of stream ST to the application and moves ST on.
static void deliver (node_t *self, durable_t *ds, rx_stream_t *st, node_event_t *ev,
                     zmq_msg_t *topic, zmq_msg_t *body, zmq_msg_t *headers)
{
    st->last = ev->seq;
    st->fresh = false;
    char name[TOPIC_MAX + 1];
    size_t len = zmq_msg_size (topic);
    memcpy (name, zmq_msg_data (topic), len);
    name[len] = 0;
    //  an auto-ack cursor moves when the application takes the message (TAKEN),
    //  not now: a crash or a full event queue in between would skip it
    if (self->journal && rsub_auto_covers (ds, name))
        ev->flags |= NODE_EVENT_AUTO_ACK;
    node_emit (self, ev, topic, body, headers);
    self->counters.delivered++;
}

//  Asks PEER to replay TOPIC from FROM to TO (a gap) and marks ST repairing.
static void request_range (node_t *self, peer_t *peer, rx_stream_t *st, const char *topic,
                           uint64_t from, uint64_t to)
{
    if (!peer)
        return; //  nobody to ask now: asked when it is back (repair_peer_resume)
    rx_request_t *r = NULL;
    wire_replay_req_t *req = repair_request_new (self, topic, WIRE_FROM_SEQ, (int64_t)from, &r);
    if (!req)
        return;
    req->to_seq = to;
    r->to = to;
    if (repair_request_send (self, peer, req, r))
        st->repair = r->id;
    free (req);
}
//  True when ST holds a message of SEQ.
static bool is_held (rx_stream_t *st, uint64_t seq)
{
    for (held_msg_t *h = st->held ? zlistx_first (st->held) : NULL; h; h = zlistx_next (st->held))
        if (h->ev.seq >= seq)
            return h->ev.seq == seq; //  held in order of seq
    return false;
}

//  Holds a live message of ST until the replay in progress ends.
static void hold (node_t *self, rx_stream_t *st, const node_event_t *ev, zmq_msg_t *topic,
                  zmq_msg_t *body, zmq_msg_t *headers)
{
    if (!st->held) {
        st->held = zlistx_new ();
        zlistx_set_destructor (st->held, held_free);
        zlistx_set_comparator (st->held, held_compare);
    }
    held_msg_t *held = calloc (1, sizeof *held);
    if (!held || zlistx_size (st->held) >= HELD_MAX) {
        free (held);
        self->counters.held_drops++; //  a later gap check asks for it again
        return;
    }
    held->ev = *ev;
    zmq_msg_init (&held->topic);
    zmq_msg_init (&held->body);
    zmq_msg_init (&held->headers);
    zmq_msg_move (&held->topic, topic);
    zmq_msg_move (&held->body, body);
    if ((held->has_headers = headers != NULL))
        zmq_msg_move (&held->headers, headers);
    zlistx_insert (st->held, held, true);
}

//  Delivers held messages that now follow in order; asks for the next gap if any.
static void flush_held (node_t *self, durable_t *ds, peer_t *peer, rx_stream_t *st,
                        const char *topic)
{
    held_msg_t *held;
    while (st->held && (held = zlistx_first (st->held))) {
        if (st->fresh) {
            //  a subscription from earliest or a seq wants what came before
            //  the first held message too (the stream may have been born
            //  after the replay was answered, its first messages still
            //  unseen); any other starts at the first held message
            uint64_t start = rsub_start_seq (ds, topic);
            st->last = (start && start < held->ev.seq ? start : held->ev.seq) - 1;
            st->fresh = false;
        }
        if (held->ev.seq > st->last + 1) {
            request_range (self, peer, st, topic, st->last + 1, held->ev.seq - 1);
            return;
        }
        if (held->ev.seq == st->last + 1)
            deliver (self, ds, st, &held->ev, &held->topic, &held->body,
                     held->has_headers ? &held->headers : NULL);
        zlistx_delete (st->held, zlistx_cursor (st->held));
    }
    if (!st->fresh && st->head > st->last)
        request_range (self, peer, st, topic, st->last + 1, st->head); //  lost at the tail
}

//  The stream TOPIC of a publisher that is not in the peer table (we
//  expired it; it has not said HELLO again yet), parked since it left, made
//  if it has none yet (at most PARKED_TOPICS per publisher); NULL if the
//  publisher is not parked (we never knew it) or out of room.
static rx_stream_t *parked_stream (durable_t *ds, const char *sender, const char *topic)
{
    zhashx_t *rx = ds->parked ? zhashx_lookup (ds->parked, sender) : NULL;
    rx_stream_t *st = rx ? zhashx_lookup (rx, topic) : NULL;
    if (!rx || st || zhashx_size (rx) >= PARKED_TOPICS || !(st = calloc (1, sizeof *st)))
        return st;
    st->fresh = true;
    zhashx_insert (rx, topic, st);
    return st;
}

void repair_on_live (node_t *self, durable_t *ds, peer_t *peer, const char *sender,
                     const char *name, node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                     zmq_msg_t *headers, uint32_t flags)
{
    //  a publisher out of our table goes on with its parked stream: what
    //  follows is delivered, what comes past a gap is held (nothing can be
    //  asked of it now), repeats are dropped; one we know nothing of, as is
    rx_stream_t *st = peer ? repair_stream (peer, name) : parked_stream (ds, sender, name);
    if (st && peer && st->fresh && !st->repair) {
        rx_request_t *r = repair_request_covering (peer, name);
        if (r)
            st->repair = r->id; //  a replay of the past is on its way: wait for it
    }
    uint64_t start = st && st->fresh && !st->repair ? rsub_start_seq (ds, name) : 0;
    if (start && start < ev->seq) {
        //  a stream born after our replay request was answered, or begun by a
        //  publisher we expired meanwhile: its past is wanted too (from
        //  earliest or a sequence) - asked now, or when it is back
        st->fresh = false;
        st->last = start - 1;
        st->head = ev->seq > st->head ? ev->seq : st->head;
        if (!(flags & WIRE_FLAG_HEAD))
            hold (self, st, ev, topic, body, headers);
        request_range (self, peer, st, name, start,
                       (flags & WIRE_FLAG_HEAD) ? ev->seq : ev->seq - 1);
        return;
    }
    if (!st || (!peer && st->fresh)) {
        if (!(flags & WIRE_FLAG_HEAD))
            node_emit (self, ev, topic, body, headers);
        return;
    }
    if (ev->seq > st->head)
        st->head = ev->seq;
    if (flags & WIRE_FLAG_HEAD) {
        if (st->fresh && !st->repair)
            st->last = ev->seq, st->fresh = false; //  nothing to catch up on
        else if (!st->repair && ev->seq > st->last)
            request_range (self, peer, st, name, st->last + 1, ev->seq);
        return;
    }
    if (st->repair) {
        hold (self, st, ev, topic, body, headers);
        return;
    }
    if (st->fresh || ev->seq == st->last + 1 || (self->buggify & NODE_BUGGIFY_DURABLE_NO_HOLD)) {
        deliver (self, ds, st, ev, topic, body, headers);
        if (st->held)
            flush_held (self, ds, peer, st, name); //  what now follows in order
    } else if (ev->seq > st->last + 1) {
        uint64_t from = st->last + 1;
        hold (self, st, ev, topic, body, headers);
        request_range (self, peer, st, name, from, ev->seq - 1);
    }
    //  else: a duplicate of what was delivered already
}

void repair_on_replay_msg (node_t *self, durable_t *ds, peer_t *peer, zmq_msg_t *header,
                           zmq_msg_t *body)
{
    uint64_t id = 0;
    char name[TOPIC_MAX + 1];
    wire_msg_t msg;
    int type = 0;
    if (!body || wire_get_replay_msg (self->decoder, &id, name, sizeof name) ||
        topic_validate (name, strlen (name)) ||
        wire_decode (self->decoder, zmq_msg_data (header), zmq_msg_size (header), &type) ||
        type != WIRE_MSG || wire_get_msg (self->decoder, &msg)) {
        self->counters.bad_frames++;
        return;
    }
    rx_request_t *asked = NULL;
    for (rx_request_t *r = zlistx_first (durable_peer (peer)->requests); r && !asked;
         r = zlistx_next (durable_peer (peer)->requests))
        if (r->id == id)
            asked = r;
    if (!asked) {
        self->counters.unknown_type++; //  not asked for, or given up on: a repair asks again
        return;
    }
    asked->deadline = node_now (self) + REPAIR_REQUEST_TIMEOUT; //  it is coming: be patient
    rx_stream_t *st = repair_stream (peer, name);
    if (!st)
        return;
    if (st->fresh) {
        //  the replay starts the stream - or what was held meanwhile does, if
        //  it begins earlier (the copies of held messages are dropped below)
        held_msg_t *first = st->held ? zlistx_first (st->held) : NULL;
        st->last = (first && first->ev.seq < msg.seq ? first->ev.seq : msg.seq) - 1;
        st->fresh = false;
    }
    if (msg.seq <= st->last || is_held (st, msg.seq))
        return; //  we have it (a copy is not counted: the END's count is of distinct ones)
    asked->received++;
    node_event_t ev = {.kind = WEFT_MSG_MESSAGE, .seq = msg.seq, .time_us = msg.time_us};
    memcpy (ev.sender, peer->uuid_hex, sizeof ev.sender);
    memcpy (ev.sender_name, peer->name, sizeof ev.sender_name);
    zmq_msg_t topic, frame, headers;
    text_frame (&topic, name);
    zmq_msg_init_size (&frame, zmq_msg_size (body));
    memcpy (zmq_msg_data (&frame), zmq_msg_data (body), zmq_msg_size (body));
    if (msg.nheaders)
        wire_pack_headers (&msg, &headers);
    self->counters.repaired++;
    if (msg.seq > st->last + 1) {
        //  past a hole: lost on the way (asked again at the END) or not kept
        //  by the publisher (then the END says the replay was complete)
        hold (self, st, &ev, &topic, &frame, msg.nheaders ? &headers : NULL);
        zmq_msg_close (&topic);
        zmq_msg_close (&frame);
        if (msg.nheaders)
            zmq_msg_close (&headers);
        return;
    }
    deliver (self, ds, st, &ev, &topic, &frame, msg.nheaders ? &headers : NULL);
}

void repair_on_truncated (node_t *self, peer_t *peer)
{
    uint64_t id = 0, requested = 0, first = 0;
    char name[TOPIC_MAX + 1];
    if (wire_get_replay_trunc (self->decoder, &id, name, sizeof name, &requested, &first) ||
        topic_validate (name, strlen (name))) {
        self->counters.bad_frames++;
        return;
    }
    rx_stream_t *st = repair_stream (peer, name);
    if (st && !st->fresh && requested > st->last + 1)
        return; //  it overtook messages before the range: the replay is asked again
    if (st && (st->fresh || st->last + 1 < first)) {
        st->last = first - 1; //  nothing before FIRST that we miss is there
        st->fresh = false;
    }
    node_event_t ev = {.kind = WEFT_MSG_TRUNCATED, .seq = first};
    memcpy (ev.sender, peer->uuid_hex, sizeof ev.sender);
    memcpy (ev.sender_name, peer->name, sizeof ev.sender_name);
    zmq_msg_t topic;
    text_frame (&topic, name);
    node_emit (self, &ev, &topic, NULL, NULL);
}

//  After a complete replay R (everything PEER sent for it arrived), what is
//  still missing of stream ST before its first held message - or up to its
//  head - and within what R asked for is not kept by the publisher: a GAP,
//  and the stream goes on.
static void skip_absent (node_t *self, peer_t *peer, const rx_request_t *r, rx_stream_t *st,
                         const char *topic)
{
    held_msg_t *held = st->held ? zlistx_first (st->held) : NULL;
    uint64_t upto = held ? held->ev.seq - 1 : st->head;
    if (r && r->to && r->to < upto)
        upto = r->to;
    if (st->fresh || upto <= st->last)
        return;
    node_event_t ev = {.kind = WEFT_MSG_GAP, .seq = upto - st->last};
    memcpy (ev.sender, peer->uuid_hex, sizeof ev.sender);
    memcpy (ev.sender_name, peer->name, sizeof ev.sender_name);
    self->counters.gaps += ev.seq;
    zmq_msg_t frame;
    text_frame (&frame, topic);
    node_emit (self, &ev, &frame, NULL, NULL);
    st->last = upto;
}

//  Ends replay ID for every stream of PEER that waited on it; COMPLETE:
//  everything the publisher sent for it arrived.
static void end_request (node_t *self, durable_t *ds, peer_t *peer, uint64_t id, bool complete)
{
    rx_request_t *r = NULL;
    for (rx_request_t *q = zlistx_first (durable_peer (peer)->requests); q && !r;
         q = zlistx_next (durable_peer (peer)->requests))
        if (q->id == id)
            r = q;
    for (rx_stream_t *st = zhashx_first (durable_peer (peer)->rx); st;
         st = zhashx_next (durable_peer (peer)->rx))
        if (st->repair == id) {
            st->repair = 0;
            //  zhashx_cursor is only valid until the hash changes: copy the key
            char topic[TOPIC_MAX + 1];
            snprintf (topic, sizeof topic, "%s",
                      (const char *)zhashx_cursor (durable_peer (peer)->rx));
            if (complete)
                skip_absent (self, peer, r, st, topic);
            flush_held (self, ds, peer, st, topic);
        }
    for (rx_request_t *q = zlistx_first (durable_peer (peer)->requests); q;
         q = zlistx_next (durable_peer (peer)->requests))
        if (q->id == id) {
            zlistx_delete (durable_peer (peer)->requests,
                           zlistx_cursor (durable_peer (peer)->requests));
            break;
        }
}

void repair_on_replay_end (node_t *self, durable_t *ds, peer_t *peer)
{
    uint64_t id = 0, sent = 0;
    int status = 0;
    if (wire_get_replay_end (self->decoder, &id, &status, &sent)) {
        self->counters.bad_frames++;
        return;
    }
    if (status)
        wlog_warn (&self->log, "replay %" PRIu64 " from %s failed: %s", id, peer->name,
                   weft_strerror (status));
    //  complete when all it sent arrived (an older publisher does not say:
    //  then what it did not send is taken as not kept, as before)
    uint64_t received = 0;
    for (rx_request_t *r = zlistx_first (durable_peer (peer)->requests); r;
         r = zlistx_next (durable_peer (peer)->requests))
        if (r->id == id)
            received = r->received;
    end_request (self, ds, peer, id,
                 status == 0 && (sent == WIRE_SENT_UNKNOWN || received >= sent));
}

void repair_on_timer (node_t *self, durable_t *ds, int64_t now)
{
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers)) {
        uint64_t expired[16];
        size_t count = 0;
        for (rx_request_t *r = zlistx_first (durable_peer (p)->requests); r && count < 16;
             r = zlistx_next (durable_peer (p)->requests))
            if (now >= r->deadline)
                expired[count++] = r->id;
        //  no answer: give up on them; held messages flush, and a gap that is
        //  still there is asked for again
        for (size_t i = 0; i < count; i++) {
            wlog_warn (&self->log, "replay %" PRIu64 " from %s timed out", expired[i], p->name);
            end_request (self, ds, p, expired[i], false);
        }
    }
}
