/*  tests/support/fakecore_node.c - the fake core harness around a real
    node_t (see fakecore.h); the fake world is in fakecore.c. */
#include "fakecore.h"

#include <criterion/criterion.h>
#include <stdarg.h>

#include "common/hex.h"

struct fc {
    fc_world_t *world;       //  owned
    jdisk_t *disk;           //  borrowed
    weft_config_t *cfg;      //  owned: a restart uses it again
    node_t *node;            //  owned
    zsock_t *pipe;           //  our end of the pipe
    zsock_t *node_pipe;      //  the node's end
    zsock_t *events;         //  our end of the events PAIR
    wire_decoder_t *decoder; //  for what went out
    msgpack_sbuffer sbuf;    //  for what we inject
    zlistx_t *queue;         //  fc_event_t, drained and not taken yet
    unsigned generation;     //  restarts, for unique socket names
};

//  Creates the node and its sockets as api.c does (the node's end of the
//  events PAIR connected, ours bound; our end of the pipe connected).
static void node_up (fc_t *self)
{
    self->node = node_new (self->cfg, fc_world_base (self->world));
    cr_assert_not_null (self->node);
    char ep[128];
    self->node_pipe = zsock_new (ZMQ_PAIR);
    self->pipe = zsock_new (ZMQ_PAIR);
    self->events = zsock_new (ZMQ_PAIR);
    self->node->events = zsock_new (ZMQ_PAIR);
    cr_assert (self->node_pipe && self->pipe && self->events && self->node->events);
    zsock_t *all[] = {self->node_pipe, self->pipe, self->events, self->node->events};
    for (int i = 0; i < 4; i++) {
        zsock_set_linger (all[i], 0);
        zsock_set_sndhwm (all[i], 0);
        zsock_set_rcvhwm (all[i], 0);
    }
    zsock_set_rcvtimeo (self->pipe, FC_RECV_MS);
    snprintf (ep, sizeof ep, "inproc://fc-pipe-%p-%u", (void *)self, self->generation);
    cr_assert_eq (zsock_bind (self->node_pipe, "%s", ep), 0);
    cr_assert_eq (zsock_connect (self->pipe, "%s", ep), 0);
    snprintf (ep, sizeof ep, "inproc://fc-events-%p-%u", (void *)self, self->generation++);
    cr_assert_eq (zsock_bind (self->events, "%s", ep), 0);
    cr_assert_eq (zsock_connect (self->node->events, "%s", ep), 0);
    self->node->pipe = self->node_pipe;
}

//  Frees the node (stopped or crashed) and its sockets, and forgets its events.
static void node_free (fc_t *self)
{
    zsock_destroy (&self->node->events);
    node_destroy (&self->node);
    zsock_destroy (&self->node_pipe);
    zsock_destroy (&self->pipe);
    zsock_destroy (&self->events);
    zlistx_purge (self->queue);
}

//  $TERM, then what the actor does when it exits; frees the node and its sockets.
static void node_down (fc_t *self)
{
    if (!self->node)
        return;
    zsock_send (self->pipe, "s", "$TERM");
    fc_turn (self);
    node_stop (self->node);
    node_free (self);
}

fc_t *fc_new (const char *name, uint64_t seed, jdisk_t *disk, const char *const *kv)
{
    zsys_handler_set (NULL);
    fc_t *self = calloc (1, sizeof *self);
    cr_assert_not_null (self);
    self->world = fc_world_new (seed);
    self->disk = disk;
    fc_world_set_disk (self->world, disk);
    self->cfg = weft_config_new ();
    cr_assert_not_null (self->cfg);
    const char *engine = getenv ("WEFT_QUEUES_ENGINE"); //  the owner engine's tests pin it
    const char *defaults[] = {"node.name",     name,    "discovery.enabled", "false",
                              "log.level",     "error", engine ? "queues.engine" : NULL, engine,
                              NULL};
    for (int pass = 0; pass < 2; pass++)
        for (const char *const *p = pass ? kv : defaults; p && *p; p += 2)
            cr_assert_eq (weft_config_set (self->cfg, p[0], p[1]), 0, "config %s=%s: %s", p[0],
                          p[1], weft_config_error (self->cfg));
    self->decoder = wire_decoder_new (0);
    msgpack_sbuffer_init (&self->sbuf);
    self->queue = zlistx_new ();
    zlistx_set_destructor (self->queue, (zlistx_destructor_fn *)zstr_free);
    node_up (self);
    return self;
}

fc_t *fc_start_new (const char *name, uint64_t seed, jdisk_t *disk, const char *const *kv)
{
    fc_t *self = fc_new (name, seed, disk, kv);
    char err[256] = "";
    int rc = fc_start (self, err, sizeof err);
    cr_assert_eq (rc, 0, "START: %d %s", rc, err);
    return self;
}

void fc_destroy (fc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_t *self = *self_p;
    node_down (self);
    fc_world_destroy (&self->world);
    weft_config_destroy (&self->cfg);
    wire_decoder_destroy (&self->decoder);
    msgpack_sbuffer_destroy (&self->sbuf);
    zlistx_destroy (&self->queue);
    free (self);
    *self_p = NULL;
}

void fc_restart (fc_t *self)
{
    node_down (self);
    fc_world_advance (self->world, 100); //  a new run: a new incarnation
    fc_world_clear (self->world);
    node_up (self);
    char err[256] = "";
    int rc = fc_start (self, err, sizeof err);
    cr_assert_eq (rc, 0, "START after restart: %d %s", rc, err);
}

void fc_crash (fc_t *self, uint64_t keep)
{
    node_crash (self->node);
    node_free (self);
    fc_world_crash (self->world);
    cr_assert_eq (jdisk_crash (self->disk, keep), 0, "the journal is closed by the crash");
    fc_world_advance (self->world, 100);
    fc_world_clear (self->world);
    node_up (self);
    char err[256] = "";
    int rc = fc_start (self, err, sizeof err);
    cr_assert_eq (rc, 0, "START after the crash: %d %s", rc, err);
}

node_t *fc_node (fc_t *self)
{
    return self->node;
}

fc_world_t *fc_world (fc_t *self)
{
    return self->world;
}

zsock_t *fc_pipe (fc_t *self)
{
    return self->pipe;
}

int fc_start (fc_t *self, char *err, size_t errlen)
{
    int rc = INT32_MIN;
    char *text = NULL;
    zsock_send (self->pipe, "s", "START");
    fc_turn (self);
    cr_assert_eq (zsock_recv (self->pipe, "is", &rc, &text), 0, "no answer to START");
    if (err)
        snprintf (err, errlen, "%s", text ? text : "");
    zstr_free (&text);
    return rc;
}

void fc_turn (fc_t *self)
{
    const bool ready[WORLD_INPUTS] = {true, true, true, true};
    node_turn (self->node, ready, true);
}

//  True when some input has a message waiting.
static bool input_waiting (fc_t *self)
{
    for (int i = 0; i < WORLD_INPUTS; i++)
        if (fc_world_pending (self->world, (world_input_t)i))
            return true;
    return false;
}

int fc_run (fc_t *self)
{
    int turns = 1;
    fc_turn (self);
    for (; input_waiting (self) && turns < FC_RUN_MAX; turns++)
        fc_turn (self);
    cr_assert_not (input_waiting (self), "input still waiting after %d turns", turns);
    return turns;
}

void fc_advance (fc_t *self, int64_t ms)
{
    int64_t target = fc_world_now (self->world) + ms;
    fc_turn (self);
    while (fc_world_now (self->world) < target) {
        int64_t now = fc_world_now (self->world);
        int64_t due = node_next_deadline (self->node);
        due = due > target ? target : due <= now ? now + 1 : due;
        fc_world_advance (self->world, due - now);
        fc_turn (self);
    }
}

//  --- Commands ----------------------------------------------------------------------

int fc_command_int (fc_t *self, const char *picture, ...)
{
    va_list args;
    va_start (args, picture);
    zsock_vsend (self->pipe, picture, args);
    va_end (args);
    fc_turn (self);
    int rc = INT32_MIN;
    if (zsock_recv (self->pipe, "i", &rc) < 0)
        return INT32_MIN;
    return rc;
}

int fc_subscribe (fc_t *self, const char *pattern)
{
    return fc_command_int (self, "ss", "SUB", pattern);
}

void fc_publish (fc_t *self, const char *topic, const char *body)
{
    zsock_send (self->pipe, "sss", "PUB", topic, body);
    fc_turn (self);
}

char *fc_status (fc_t *self)
{
    int rc = INT32_MIN;
    char *json = NULL;
    zsock_send (self->pipe, "s", "STATUS");
    fc_turn (self);
    cr_assert_eq (zsock_recv (self->pipe, "is", &rc, &json), 0, "no answer to STATUS");
    cr_assert_eq (rc, 0);
    cr_assert_not_null (json);
    return json;
}

int64_t fc_status_int (fc_t *self, const char *key)
{
    char *json = fc_status (self);
    char needle[128];
    snprintf (needle, sizeof needle, "\"%s\":", key);
    const char *at = strstr (json, needle);
    int64_t value = at ? strtoll (at + strlen (needle), NULL, 10) : -1;
    zstr_free (&json);
    return value;
}

size_t fc_peers (fc_t *self, node_peer_info_t **rows_p)
{
    int count = 0;
    byte *rows = NULL;
    size_t size = 0;
    zsock_send (self->pipe, "s", "PEERS");
    fc_turn (self);
    cr_assert_eq (zsock_recv (self->pipe, "ib", &count, &rows, &size), 0, "no answer to PEERS");
    cr_assert_eq (size, (size_t)count * sizeof (node_peer_info_t));
    *rows_p = (node_peer_info_t *)rows;
    return (size_t)count;
}

bool fc_peer_row (fc_t *self, const fc_peer_t *peer, node_peer_info_t *row)
{
    node_peer_info_t *rows = NULL;
    size_t count = fc_peers (self, &rows);
    bool found = false;
    for (size_t i = 0; i < count && !found; i++)
        if (strcmp (rows[i].uuid, peer->hex) == 0) {
            *row = rows[i];
            found = true;
        }
    free (rows);
    return found;
}

//  --- Fake peers and injecting ---------------------------------------------------------

fc_peer_t fc_peer (int n)
{
    fc_peer_t p = {.incarnation = 1, .role = WIRE_ROLE_MEMBER};
    for (int i = 0; i < WIRE_UUID_SIZE; i++)
        p.uuid[i] = (uint8_t)(0xA0 + n * 7 + i * 13);
    hex_encode (p.uuid, WIRE_UUID_SIZE, p.hex);
    snprintf (p.name, sizeof p.name, "fake-%d", n);
    snprintf (p.router_ep, sizeof p.router_ep, "tcp://198.18.0.%d:4000", 8 + n);
    snprintf (p.pub_ep, sizeof p.pub_ep, "tcp://198.18.0.%d:4001", 8 + n);
    return p;
}

void fc_inject_router (fc_t *self, const uint8_t *from, const msgpack_sbuffer *sbuf,
                       const void *body, size_t len)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, from, WIRE_UUID_SIZE);
    zmsg_addmem (msg, sbuf->data, sbuf->size);
    if (body)
        zmsg_addmem (msg, body, len);
    fc_world_inject (self->world, WORLD_ROUTER, &msg, NULL);
}

void fc_inject_hello (fc_t *self, const fc_peer_t *peer)
{
    wire_hello_t hello = {.incarnation = peer->incarnation,
                          .role = peer->role,
                          .caps = peer->caps ? peer->caps
                                             : WIRE_CAP_PUBSUB | WIRE_CAP_QUEUES |
                                                   WIRE_CAP_JOURNAL | WIRE_CAP_VHEAD,
                          .capacity = peer->capacity,
                          .flags = peer->hello_flags,
                          .cluster = peer->cluster};
    memcpy (hello.uuid, peer->uuid, WIRE_UUID_SIZE);
    snprintf (hello.name, sizeof hello.name, "%s", peer->name);
    snprintf (hello.router_ep, sizeof hello.router_ep, "%s", peer->router_ep);
    snprintf (hello.pub_ep, sizeof hello.pub_ep, "%s", peer->pub_ep);
    cr_assert_eq (wire_encode_hello (&self->sbuf, &hello), 0);
    fc_inject_router (self, peer->uuid, &self->sbuf, NULL, 0);
}

void fc_inject_simple (fc_t *self, const fc_peer_t *peer, int type)
{
    cr_assert (type == WIRE_PING || type == WIRE_BYE);
    cr_assert_eq (
        type == WIRE_PING ? wire_encode_ping (&self->sbuf) : wire_encode_bye (&self->sbuf), 0);
    fc_inject_router (self, peer->uuid, &self->sbuf, NULL, 0);
}

void fc_inject_peers (fc_t *self, const fc_peer_t *from, const fc_peer_t *list, size_t count)
{
    wire_peer_t *peers = calloc (count ? count : 1, sizeof *peers);
    cr_assert_not_null (peers);
    for (size_t i = 0; i < count; i++) {
        memcpy (peers[i].uuid, list[i].uuid, WIRE_UUID_SIZE);
        peers[i].incarnation = list[i].incarnation;
        peers[i].role = list[i].role;
        snprintf (peers[i].router_ep, sizeof peers[i].router_ep, "%s", list[i].router_ep);
        snprintf (peers[i].pub_ep, sizeof peers[i].pub_ep, "%s", list[i].pub_ep);
    }
    cr_assert_eq (wire_encode_peers (&self->sbuf, peers, count), 0);
    free (peers);
    fc_inject_router (self, from->uuid, &self->sbuf, NULL, 0);
}

void fc_inject_topic (fc_t *self, const fc_peer_t *peer, const char *topic, uint64_t seq,
                      uint32_t flags, const char *body)
{
    wire_msg_t msg = {.seq = seq, .time_us = node_wall_us (self->node), .flags = flags};
    memcpy (msg.sender, peer->uuid, WIRE_UUID_SIZE);
    cr_assert_eq (wire_encode_msg (&self->sbuf, &msg), 0);
    zmsg_t *m = zmsg_new ();
    zmsg_addstr (m, topic);
    zmsg_addmem (m, self->sbuf.data, self->sbuf.size);
    zmsg_addmem (m, body, strlen (body));
    fc_world_inject (self->world, WORLD_SUB, &m, NULL);
}

void fc_inject_xpub (fc_t *self, bool on, const void *prefix, size_t len)
{
    uint8_t notice[1 + TOPIC_MAX + 1] = {on ? 1 : 0};
    cr_assert (len <= TOPIC_MAX + 1);
    memcpy (notice + 1, prefix, len);
    zmsg_t *m = zmsg_new ();
    zmsg_addmem (m, notice, 1 + len);
    fc_world_inject (self->world, WORLD_XPUB, &m, NULL);
}

void fc_inject_ready (fc_t *self, const fc_peer_t *peer)
{
    uint8_t marker[1 + WIRE_UUID_SIZE] = {0xFF};
    memcpy (marker + 1, peer->uuid, WIRE_UUID_SIZE);
    fc_inject_xpub (self, true, marker, sizeof marker);
}

void fc_inject_beacon (fc_t *self, const void *data, size_t len, const char *from)
{
    zmsg_t *m = zmsg_new ();
    zmsg_addmem (m, data, len);
    fc_world_inject (self->world, WORLD_BEACON, &m, from);
}

//  --- What went out --------------------------------------------------------------------

int fc_decode (fc_t *self, zframe_t *frame)
{
    int type = -1;
    if (!frame || wire_decode (self->decoder, zframe_data (frame), zframe_size (frame), &type))
        return -1;
    return type;
}

wire_decoder_t *fc_decoder (fc_t *self)
{
    return self->decoder;
}

//  What fc_take and fc_count look for.
typedef struct {
    fc_t *fc; //  whose decoder
    int type; //  header type, -1: any
} want_t;

//  fc_match_fn: true when MSG's header decodes to the type wanted.
static bool type_match (zmsg_t *msg, void *arg)
{
    want_t *want = arg;
    int type = fc_decode (want->fc, zmsg_first (msg));
    return want->type < 0 || type == want->type;
}

zmsg_t *fc_take (fc_t *self, const char *endpoint, int type)
{
    zmsg_t *msg = NULL;
    want_t want = {self, type};
    fc_world_sent_walk (self->world, endpoint, type_match, &want, &msg);
    if (msg)
        fc_decode (self, zmsg_first (msg)); //  leave it decoded
    return msg;
}

size_t fc_count (fc_t *self, const char *endpoint, int type)
{
    want_t want = {self, type};
    return fc_world_sent_walk (self->world, endpoint, type_match, &want, NULL);
}

zmsg_t *fc_take_published (fc_t *self, wire_msg_t *msg)
{
    zmsg_t *m = fc_world_take_published (self->world);
    if (m && msg) {
        zmsg_first (m);
        zframe_t *header = zmsg_next (m); //  after the topic
        cr_assert_eq (fc_decode (self, header), WIRE_MSG);
        cr_assert_eq (wire_get_msg (self->decoder, msg), 0);
    }
    return m;
}

//  --- Events -------------------------------------------------------------------------------

//  Reads every event waiting on the events PAIR into the queue.
static void drain (fc_t *self)
{
    void *sock = zsock_resolve (self->events);
    node_event_t ev;
    while (zmq_recv (sock, &ev, sizeof ev, ZMQ_DONTWAIT) == (int)sizeof ev) {
        fc_event_t *e = calloc (1, sizeof *e);
        cr_assert_not_null (e);
        e->ev = ev;
        for (int part = 0; zsock_rcvmore (self->events) && part < 3; part++) {
            zmq_msg_t frame;
            zmq_msg_init (&frame);
            cr_assert_geq (zmq_msg_recv (&frame, sock, 0), 0);
            size_t len = zmq_msg_size (&frame);
            char *dst = part == 0 ? e->topic : part == 1 ? e->body : e->headers;
            size_t cap = part == 0   ? sizeof e->topic
                         : part == 1 ? sizeof e->body
                                     : sizeof e->headers;
            memcpy (dst, zmq_msg_data (&frame), len < cap - 1 ? len : cap - 1);
            if (part == 1)
                e->body_len = len;
            if (part == 2)
                e->headers_len = len < cap - 1 ? len : cap - 1;
            zmq_msg_close (&frame);
        }
        zlistx_add_end (self->queue, e);
    }
}

bool fc_event (fc_t *self, int kind, fc_event_t *out)
{
    drain (self);
    for (fc_event_t *e = zlistx_first (self->queue); e; e = zlistx_next (self->queue))
        if (kind == 0 || e->ev.kind == kind) {
            if (out)
                *out = *e;
            zlistx_delete (self->queue, zlistx_cursor (self->queue));
            return true;
        }
    return false;
}

size_t fc_event_count (fc_t *self, int kind)
{
    drain (self);
    size_t n = 0;
    for (fc_event_t *e = zlistx_first (self->queue); e; e = zlistx_next (self->queue))
        n += kind == 0 || e->ev.kind == kind;
    return n;
}

void fc_events_clear (fc_t *self)
{
    drain (self);
    zlistx_purge (self->queue);
}

const char *fc_event_header (const fc_event_t *ev, const char *key)
{
    const char *p = ev->headers, *end = ev->headers + ev->headers_len;
    while (p < end) {
        const char *value = p + strlen (p) + 1;
        if (value >= end)
            return NULL;
        if (strcmp (p, key) == 0)
            return value;
        p = value + strlen (value) + 1;
    }
    return NULL;
}
