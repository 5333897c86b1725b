/*  node/core/loop.c - one turn of the node's loop, and the routing of what
    comes in to the subsystem that owns it.

    A turn reads like its table of contents (node_turn): commands, network,
    timers, pump, before-commit, the commit, after-commit. See core.h.
*/
#include "common/hex.h"
#include "node/core/config.h"
#include "node/core/node.h"
#include "node/core/world_real.h"

#define BATCH 512 //  messages handled from one input before the next phase

//  Subsystem I if it is running, else NULL.
static const subsystem_t *running (node_t *self, int i)
{
    return self->started[i] ? node_subsystems[i] : NULL;
}

//  --- Commands -------------------------------------------------------------------

typedef void (command_fn) (node_t *self);

//  The subsystem that handles command NAME, or -1.
static int command_owner (const char *name)
{
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = node_subsystems[i];
        for (const char *const *c = sub ? sub->commands : NULL; c && *c; c++)
            if (strcmp (*c, name) == 0)
                return i;
    }
    return -1;
}

//  Handles one command from the pipe: the core's own, or a subsystem's.
//  Unknown commands are a bug in api.c: logged and skipped, never fatal.
//  Returns false when no command was waiting.
static bool on_command (node_t *self)
{
    char name[16];
    //  non-blocking: asking the socket whether more is waiting would cost a
    //  system call per command, a failed read costs none
    int size = zmq_recv (zsock_resolve (self->pipe), name, sizeof name - 1, ZMQ_DONTWAIT);
    if (size < 0)
        return false;
    name[size < (int)sizeof name ? size : (int)sizeof name - 1] = 0;
    if (node_core_command (self, name))
        return true;
    int owner = self->running ? command_owner (name) : -1;
    if (owner >= 0 && self->started[owner]) {
        const subsystem_t *sub = node_subsystems[owner];
        sub->on_command (self, self->state[owner], name);
        return true;
    }
    wlog_error (&self->log, "unexpected command '%s' (a bug: please report it)", name);
    zsock_flush (self->pipe);
    return true;
}

//  --- Network in ---------------------------------------------------------------

//  Counts a frame the decoder refused: oversized or malformed.
static void count_refused (node_t *self)
{
    if (wire_decoder_fault (self->decoder) == WIRE_FAULT_OVERSIZED)
        self->counters.oversized++;
    else
        self->counters.bad_frames++;
    wlog_debug (&self->log, "frame dropped: %s", wire_decoder_error (self->decoder));
}

//  The subsystem that owns ROUTER message TYPE, or -1.
static int type_owner (node_t *self, int type)
{
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = running (self, i);
        if (sub && sub->on_message && sub->type_max && type >= sub->type_min &&
            type <= sub->type_max)
            return i;
    }
    return -1;
}

//  Routes one ROUTER message: FROM is the sender's routing id, HEADER,
//  BODY and EXTRA its frames (BODY and EXTRA may be NULL).
static void route_message (node_t *self, zmq_msg_t *from, zmq_msg_t *header, zmq_msg_t *body,
                           zmq_msg_t *extra)
{
    size_t id_size = zmq_msg_size (from);
    int type = 0;
    if (id_size != WIRE_UUID_SIZE && id_size != WIRE_UUID_SIZE + 1) {
        self->counters.bad_frames++;
        return;
    }
    if (wire_decode (self->decoder, zmq_msg_data (header), zmq_msg_size (header), &type)) {
        count_refused (self);
        return;
    }
    int owner = type_owner (self, type);
    if (owner < 0) {
        self->counters.unknown_type++;
        return;
    }
    const subsystem_t *sub = node_subsystems[owner];
    zmq_msg_t *payload = extra ? extra : body;
    size_t cap = sub->max_payload > self->max_message ? sub->max_payload : self->max_message;
    if (payload && zmq_msg_size (payload) > cap) {
        self->counters.oversized++;
        return;
    }
    const uint8_t *uuid = zmq_msg_data (from);
    bool from_self = id_size == WIRE_UUID_SIZE && memcmp (uuid, self->uuid, WIRE_UUID_SIZE) == 0;
    peer_t *peer = from_self ? NULL : node_peer_find (self, uuid);
    if (peer)
        node_peer_heard (self, peer); //  any message says it is alive
    else if (!(from_self ? sub->from_self : sub->from_unknown))
        return; //  not (or no longer) a peer: it will say HELLO again if it is alive
    sub->on_message (self, self->state[owner], peer, type, from, body, extra);
}

//  Handles every ROUTER message waiting, up to BATCH.
static void on_router (node_t *self)
{
    for (int i = 0; i < BATCH; i++) {
        zmq_msg_t f[4]; //  sender, header, body, extra
        size_t count = 0;
        int rc = self->world->ops->recv (self->world, WORLD_ROUTER, f, 4, &count, NULL);
        if (rc < 0)
            return;
        if (rc > 0 || count < 2)
            self->counters.bad_frames++;
        else
            route_message (self, &f[0], &f[1], count > 2 ? &f[2] : NULL, count > 3 ? &f[3] : NULL);
        world_frames_close (f, count);
    }
}

//  The peer with UUID, remembering the last one asked for (messages come in
//  runs from one publisher: this saves a hex conversion and a lookup each).
static peer_t *find_sender (node_t *self, const uint8_t *uuid)
{
    if (self->rx_peer && memcmp (self->rx_peer->uuid, uuid, WIRE_UUID_SIZE) == 0)
        return self->rx_peer;
    peer_t *peer = node_peer_find (self, uuid);
    self->rx_peer = peer;
    return peer;
}

//  The subsystem that takes topic messages with FLAGS, or -1.
static int topic_owner (node_t *self, uint32_t flags)
{
    int rest = -1;
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = running (self, i);
        if (!sub || !sub->on_topic)
            continue;
        if (sub->topic_flags & flags)
            return i;
        if (!sub->topic_flags)
            rest = i;
    }
    return rest;
}

//  Validates one topic message and hands it to the subsystem that takes it.
static void route_topic (node_t *self, zmq_msg_t *topic, zmq_msg_t *header, zmq_msg_t *body)
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
    int owner = topic_owner (self, msg.flags);
    if (owner < 0)
        return;
    peer_t *peer = find_sender (self, msg.sender);
    node_event_t ev = {.kind = WEFT_MSG_MESSAGE, .seq = msg.seq, .time_us = msg.time_us};
    if (peer) {
        memcpy (ev.sender, peer->uuid_hex, sizeof ev.sender);
        memcpy (ev.sender_name, peer->name, sizeof ev.sender_name);
    } else //  a publisher not (or no longer) in our table: still say who it is
        hex_encode (msg.sender, WIRE_UUID_SIZE, ev.sender);
    zmq_msg_t headers;
    if (msg.nheaders)
        wire_pack_headers (&msg, &headers);
    node_subsystems[owner]->on_topic (self, self->state[owner], peer, name, &msg, &ev, topic, body,
                                      msg.nheaders ? &headers : NULL);
    if (msg.nheaders)
        zmq_msg_close (&headers); //  empty if it was moved out
}

//  Handles every topic message waiting on the SUB, up to BATCH.
static void on_sub (node_t *self)
{
    for (int i = 0; i < BATCH; i++) {
        zmq_msg_t frames[3]; //  topic, header, body
        size_t count = 0;
        int rc = self->world->ops->recv (self->world, WORLD_SUB, frames, 3, &count, NULL);
        if (rc < 0)
            return; //  nothing more waiting
        if (rc == 0 && count == 3)
            route_topic (self, &frames[0], &frames[1], &frames[2]);
        else
            self->counters.bad_frames++;
        world_frames_close (frames, count);
    }
}

//  --- The turn ---------------------------------------------------------------------

int64_t node_next_deadline (node_t *self)
{
    if (!self->running)
        return INT64_MAX;
    if (self->replaying)
        return node_now (self);
    return self->beacon_at < self->tick_at ? self->beacon_at : self->tick_at;
}

//  Phase 2: network in.
static void turn_network (node_t *self, const bool ready[WORLD_INPUTS])
{
    if (ready[WORLD_ROUTER])
        on_router (self);
    if (ready[WORLD_SUB])
        on_sub (self);
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = running (self, i);
        if (!sub)
            continue;
        if (ready[WORLD_XPUB] && sub->on_xpub)
            sub->on_xpub (self, self->state[i]);
        if (ready[WORLD_BEACON] && sub->on_beacon)
            sub->on_beacon (self, self->state[i]);
    }
}

//  Phase 3: timers that are due. The interval timer runs once per discovery
//  interval, the tick 5 times per evasive period (10 to 100 ms).
static void turn_timers (node_t *self, int64_t now)
{
    if (now < self->beacon_at && now < self->tick_at)
        return;
    bool interval = now >= self->beacon_at;
    if (interval)
        self->beacon_at = now + self->interval;
    if (now >= self->tick_at) {
        int64_t tick = self->evasive_after / 5; //  expiry is checked 5 times per evasive period
        self->tick_at = now + (tick < 10 ? 10 : tick > 100 ? 100 : tick);
    }
    //  in reverse slot order: membership first, so that who is alive (and
    //  who expired, with its PEER_REMOVED) is settled before the others act
    for (int i = SUBSYS_MAX - 1; i >= 0; i--) {
        const subsystem_t *sub = running (self, i);
        if (sub && sub->on_timer)
            sub->on_timer (self, self->state[i], now, interval);
    }
}

void node_turn (node_t *self, const bool ready[WORLD_INPUTS], bool commands)
{
    if (commands)
        for (int i = 0; i < BATCH && !self->terminated && on_command (self); i++)
            ;
    if (!self->running || self->terminated)
        return;
    turn_network (self, ready);
    int64_t now = node_now (self);
    turn_timers (self, now);
    bool busy = false;
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = running (self, i);
        if (sub && sub->pump)
            busy |= sub->pump (self, self->state[i]);
    }
    self->replaying = busy;
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = running (self, i);
        if (sub && sub->before_commit)
            sub->before_commit (self, self->state[i], now);
    }
    node_commit_and_release (self);
}

void node_commit_and_release (node_t *self)
{
    bool ok = node_commit (self);
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = running (self, i);
        if (sub && sub->after_commit)
            sub->after_commit (self, self->state[i], ok);
    }
}

//  Waits for input or the next timer, then runs one turn.
static void loop_once (node_t *self)
{
    bool ready[WORLD_INPUTS] = {false};
    bool commands = false;
    int64_t deadline = node_next_deadline (self);
    long timeout = -1;
    if (deadline != INT64_MAX) {
        int64_t wait = deadline - node_now (self);
        timeout = wait > 0 ? (long)wait : 0;
    }
    if (world_real_wait (self->world, zsock_resolve (self->pipe), timeout, ready, &commands) < 0)
        return; //  EINTR: go round again
    node_turn (self, ready, commands);
}

void node_actor (zsock_t *pipe, void *args)
{
    node_t *self = args;
    self->pipe = pipe;
    zsock_signal (pipe, 0);
    while (!self->terminated)
        loop_once (self);
    node_stop (self);
    node_event_t closed = {.kind = NODE_EVENT_CLOSED};
    //  the closing event must get through: wait for room, but not forever
    zsock_set_sndtimeo (self->events, 1000);
    zmq_send (zsock_resolve (self->events), &closed, sizeof closed, 0);
    wlog_info (&self->log, "stopped");
}
