/*  node/node.c - the node actor: lifecycle, poll loop, commands, status.

    See node.h for the command protocol between the API thread and the actor.
*/
#include "node/node.h"

#include "common/hex.h"
#include "discovery/beacon.h"
#include "node/config.h"
#include "node/core/world_real.h"

#define BATCH 512 //  messages handled from one socket before polling again

int64_t node_now (node_t *self)
{
    return world_now (self->world);
}

int64_t node_wall_us (node_t *self)
{
    return world_wall_us (self->world);
}

zmq_msg_t *node_frame_dup (zmq_msg_t *frame)
{
    zmq_msg_t *copy = malloc (sizeof *copy);
    if (copy && world_frame_copy (copy, zmq_msg_data (frame), zmq_msg_size (frame)) != 0) {
        zmq_msg_close (copy);
        free (copy);
        copy = NULL;
    }
    return copy;
}

void node_frame_free (zmq_msg_t **frame_p)
{
    if (!frame_p || !*frame_p)
        return;
    zmq_msg_close (*frame_p);
    free (*frame_p);
    *frame_p = NULL;
}

char *node_frame_strdup (zmq_msg_t *frame)
{
    size_t len = zmq_msg_size (frame);
    char *text = malloc (len + 1);
    if (text) {
        memcpy (text, zmq_msg_data (frame), len);
        text[len] = 0;
    }
    return text;
}

void node_list_remove (zlistx_t *list, void *item)
{
    for (void *it = zlistx_first (list); it; it = zlistx_next (list))
        if (it == item) {
            zlistx_delete (list, zlistx_cursor (list));
            return;
        }
}

zlistx_t *node_list_snapshot (zlistx_t *list)
{
    zlistx_t *copy = zlistx_new ();
    for (void *it = copy ? zlistx_first (list) : NULL; it; it = zlistx_next (list))
        zlistx_add_end (copy, it);
    return copy;
}

//  Default node name: HOST-PID.
static void default_name (char *out, size_t cap)
{
    char host[64] = "node";
    gethostname (host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf (out, cap, "%.40s-%d", host, (int)getpid ());
}

node_t *node_new (const weft_config_t *cfg, world_t *world)
{
    node_t *self = world ? calloc (1, sizeof *self) : NULL;
    if (!self) {
        if (world)
            world->ops->destroy (&world);
        return NULL;
    }
    self->world = world;
    self->cfg = config_dup (cfg);
    if (!self->cfg) {
        world->ops->destroy (&self->world);
        free (self);
        return NULL;
    }
    const char *name = config_value (cfg, CFG_NODE_NAME);
    if (*name)
        snprintf (self->name, sizeof self->name, "%s", name);
    else
        default_name (self->name, sizeof self->name);
    world->ops->random (world, self->uuid, WIRE_UUID_SIZE);
    hex_encode (self->uuid, WIRE_UUID_SIZE, self->uuid_hex);
    self->incarnation = (uint64_t)world_wall_us (world);
    wlog_level_t level = WLOG_WARN;
    wlog_parse_level (config_value (cfg, CFG_LOG_LEVEL), &level);
    wlog_init (&self->log, level, self->name);
    pthread_mutex_init (&self->confirm_lock, NULL);
    pthread_cond_init (&self->confirm_cond, NULL);
    self->confirm_results = zhashx_new ();
    if (!self->confirm_results) {
        node_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->confirm_results, (zhashx_destructor_fn *)zstr_free);
    return self;
}

void node_destroy (node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_t *self = *self_p;
    weft_config_destroy (&self->cfg);
    if (self->world)
        self->world->ops->destroy (&self->world);
    zhashx_destroy (&self->confirm_results);
    pthread_mutex_destroy (&self->confirm_lock);
    pthread_cond_destroy (&self->confirm_cond);
    free (self);
    *self_p = NULL;
}

//  Reads the settings the loop uses on every turn.
static void load_settings (node_t *self)
{
    const char *role = config_value (self->cfg, CFG_NODE_ROLE);
    self->role = strcmp (role, "client") == 0 ? WIRE_ROLE_CLIENT : WIRE_ROLE_MEMBER;
    self->cluster_id = beacon_cluster_id (config_value (self->cfg, CFG_CLUSTER_NAME));
    self->interval = config_int (self->cfg, CFG_DISCOVERY_INTERVAL);
    self->evasive_after = config_int (self->cfg, CFG_DISCOVERY_EVASIVE);
    self->expire_after = config_int (self->cfg, CFG_DISCOVERY_EXPIRED);
    if (self->expire_after <= self->evasive_after)
        self->expire_after = self->evasive_after + self->interval;
    self->max_message = (size_t)config_int (self->cfg, CFG_LIMITS_MAX_MESSAGE);
}

//  Binds the ROUTER. Returns 0 or a WEFT_E* code with the reason in ERR.
static int router_start (node_t *self, const char *bind, char *err, size_t errlen)
{
    world_opts_t opts = {
        .rcvhwm = 100000,
        .maxmsgsize = (int64_t)self->max_message + config_int (self->cfg, CFG_LIMITS_MAX_HEADER) + 64,
    };
    uint16_t port = (uint16_t)config_int (self->cfg, CFG_TRANSPORT_PORT);
    int rc = self->world->ops->listen (self->world, WORLD_ROUTER, bind, port, &opts,
                                       &self->router_port, err, errlen);
    if (rc)
        return rc;
    snprintf (self->router_ep, sizeof self->router_ep, "tcp://%s:%u", self->addr,
              self->router_port);
    return 0;
}

//  Resolves the interface, then starts every part. Returns 0 or WEFT_E*.
static int node_start (node_t *self, char *err, size_t errlen)
{
    load_settings (self);
    int rc = self->world->ops->resolve (self->world, config_value (self->cfg, CFG_DISCOVERY_INTERFACE),
                                        self->addr, self->bcast, err, errlen);
    if (rc)
        return rc;
    const char *bcast = config_value (self->cfg, CFG_DISCOVERY_BROADCAST);
    if (*bcast)
        snprintf (self->bcast, sizeof self->bcast, "%s", bcast);
    const char *bind = config_value (self->cfg, CFG_TRANSPORT_BIND);
    if (*bind && strcmp (bind, "0.0.0.0") != 0)
        snprintf (self->addr, sizeof self->addr, "%s", bind);
    if (!*bind)
        bind = self->addr;
    self->peers = zhashx_new ();
    self->seeds = zlistx_new ();
    self->early_ready = zhashx_new ();
    self->subs = topic_set_new ();
    self->pub_seqs = zhashx_new ();
    self->pending = zlistx_new ();
    self->decoder = wire_decoder_new ((size_t)config_int (self->cfg, CFG_LIMITS_MAX_HEADER));
    msgpack_sbuffer_init (&self->sbuf);
    if (!self->peers || !self->seeds || !self->early_ready || !self->subs || !self->pub_seqs ||
        !self->pending || !self->decoder)
        return WEFT_ENOMEM;
    zhashx_set_destructor (self->pub_seqs, (zhashx_destructor_fn *)zstr_free);
    zlistx_set_destructor (self->pending, (zlistx_destructor_fn *)zstr_free);
    //  the journal first: it holds our identity, which every socket carries
    if ((rc = durable_start (self, err, errlen)) || (rc = repair_start (self)) ||
        (rc = router_start (self, bind, err, errlen)) || (rc = pubsub_start (self, err, errlen)) ||
        (rc = queues_start (self, err, errlen)) || (rc = membership_start (self, err, errlen)))
        return rc;
    self->started_at = node_now (self);
    self->beacon_at = self->started_at;
    self->tick_at = self->started_at;
    wlog_info (&self->log, "started uuid=%s router=%s pub=%s beacons=%s:%s", self->uuid_hex,
               self->router_ep, self->pub_ep, self->beacons ? self->bcast : "off",
               config_value (self->cfg, CFG_DISCOVERY_PORT));
    return 0;
}

//  Closes whatever node_start opened.
static void node_teardown (node_t *self)
{
    if (self->peers)
        membership_stop (self);
    queues_stop (self);
    durable_stop (self);
    repair_stop (self);
    zhashx_destroy (&self->peers);
    zlistx_destroy (&self->seeds);
    zhashx_destroy (&self->early_ready);
    zhashx_destroy (&self->stale_subs);
    topic_set_destroy (&self->subs);
    zhashx_destroy (&self->pub_seqs);
    zlistx_destroy (&self->pending);
    wire_decoder_destroy (&self->decoder);
    msgpack_sbuffer_destroy (&self->sbuf);
    self->world->ops->close (self->world);
}

void node_emit (node_t *self, const node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                zmq_msg_t *headers)
{
    void *sock = zsock_resolve (self->events);
    zmq_msg_t *parts[3] = {topic, body, headers};
    int last = 0;
    for (int i = 0; i < 3; i++)
        if (parts[i])
            last = i + 1;
    int rc = zmq_send (sock, ev, sizeof *ev, ZMQ_DONTWAIT | (last ? ZMQ_SNDMORE : 0));
    if (rc < 0)
        self->counters.app_drops++;
    //  frames keep their position (topic, body, headers): a missing one before
    //  the last present one goes as an empty frame
    for (int i = 0; i < last; i++) {
        if (rc < 0) {
            if (parts[i])
                zmq_msg_close (parts[i]);
            continue;
        }
        //  a PAIR accepts the rest of a message once it took the first frame
        int more = i + 1 < last ? ZMQ_SNDMORE : 0;
        if (parts[i])
            zmq_msg_send (parts[i], sock, more);
        else
            zmq_send (sock, "", 0, more);
    }
}

void node_emit_peer (node_t *self, int kind, const peer_t *peer)
{
    node_event_t ev = {.kind = kind};
    snprintf (ev.sender, sizeof ev.sender, "%s", peer->uuid_hex);
    snprintf (ev.sender_name, sizeof ev.sender_name, "%s", peer->name);
    node_emit (self, &ev, NULL, NULL, NULL);
}

int node_send (node_t *self, world_link_t *link, const void *body, size_t len)
{
    zmq_msg_t frames[2];
    size_t count = body ? 2 : 1;
    if (!link)
        return -1;
    world_frame_copy (&frames[0], self->sbuf.data, self->sbuf.size);
    if (body)
        world_frame_copy (&frames[1], body, len);
    return self->world->ops->link_send (self->world, link, frames, count);
}

int node_send_frames (node_t *self, world_link_t *link, zmq_msg_t *frames, size_t count)
{
    if (!link) {
        world_frames_close (frames, count);
        return -1;
    }
    return self->world->ops->link_send (self->world, link, frames, count);
}

int node_publish (node_t *self, zmq_msg_t *frames, size_t count)
{
    return self->world->ops->publish (self->world, frames, count);
}

world_link_t *node_link_open (node_t *self, const char *endpoint, char tag)
{
    uint8_t id[WIRE_UUID_SIZE + 1];
    memcpy (id, self->uuid, WIRE_UUID_SIZE);
    id[WIRE_UUID_SIZE] = (uint8_t)tag;
    world_opts_t opts = {.sndhwm = 10000,
                         .reconnect_ivl_ms = 100,
                         .reconnect_max_ms = (int)self->interval};
    world_link_t *link = self->world->ops->link_open (self->world, endpoint, id,
                                                      tag ? sizeof id : WIRE_UUID_SIZE, &opts);
    if (!link)
        wlog_warn (&self->log, "cannot connect to %s", endpoint);
    return link;
}

void node_link_close (node_t *self, world_link_t **link_p, int linger_ms)
{
    self->world->ops->link_close (self->world, link_p, linger_ms);
}

char *node_status_json (node_t *self)
{
    const node_counters_t *c = &self->counters;
    char *journal = durable_journal_json (self);
    char *queues = self->queues ? queues_status_json (self) : NULL;
    char *json = zsys_sprintf (
        "{\"name\":\"%s\",\"uuid\":\"%s\",\"role\":\"%s\",\"cluster\":\"%s\","
        "\"version\":\"%d.%d.%d\",\"incarnation\":%" PRIu64 ",\"router\":\"%s\",\"pub\":\"%s\","
        "\"beacons\":%s,\"uptime_ms\":%" PRId64 ",\"peers\":%zu,\"subscriptions\":%zu,"
        "\"counters\":{\"published\":%" PRIu64 ",\"received\":%" PRIu64 ",\"delivered\":%" PRIu64
        ",\"gaps\":%" PRIu64 ",\"app_drops\":%" PRIu64 ",\"bad_frames\":%" PRIu64
        ",\"bad_beacons\":%" PRIu64 ",\"foreign_beacons\":%" PRIu64 ",\"oversized\":%" PRIu64
        ",\"unknown_type\":%" PRIu64 ",\"joins\":%" PRIu64 ",\"leaves\":%" PRIu64
        ",\"expiries\":%" PRIu64 ",\"journaled\":%" PRIu64 ",\"journal_errors\":%" PRIu64
        ",\"replayed\":%" PRIu64 ",\"repaired\":%" PRIu64 ",\"held_drops\":%" PRIu64
        "},\"journal\":%s,%s}",
        self->name, self->uuid_hex, self->role == WIRE_ROLE_CLIENT ? "client" : "member",
        config_value (self->cfg, CFG_CLUSTER_NAME), WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
        WEFT_VERSION_PATCH, self->incarnation, self->router_ep, self->pub_ep,
        self->beacons ? "true" : "false", node_now (self) - self->started_at, zhashx_size (self->peers),
        topic_set_size (self->subs), c->published, c->received, c->delivered, c->gaps, c->app_drops,
        c->bad_frames, c->bad_beacons, c->foreign_beacons, c->oversized, c->unknown_type, c->joins,
        c->leaves, c->expiries, c->journaled, c->journal_errors, c->replayed, c->repaired,
        c->held_drops, journal ? journal : "null", queues ? queues : "\"queues\":[]");
    free (journal);
    free (queues);
    return json;
}

//  --- Commands -------------------------------------------------------------

typedef void (command_fn) (node_t *self);

static void cmd_start (node_t *self)
{
    char err[256] = "";
    int rc = node_start (self, err, sizeof err);
    if (rc) {
        wlog_error (&self->log, "start failed: %s", err);
        node_teardown (self);
    }
    self->running = rc == 0;
    zsock_send (self->pipe, "is", rc, err);
}

static void cmd_publish (node_t *self)
{
    pubsub_on_publish (self);
}

//  Reads the pattern frame of SUB / UNSUB and answers with the result.
static void cmd_pattern (node_t *self, int (*fn) (node_t *, const char *))
{
    char *pattern = zstr_recv (self->pipe);
    int rc = pattern ? fn (self, pattern) : WEFT_EINVAL;
    zstr_free (&pattern);
    zsock_send (self->pipe, "i", rc);
}

static void cmd_subscribe (node_t *self)
{
    cmd_pattern (self, pubsub_subscribe);
}

static void cmd_unsubscribe (node_t *self)
{
    cmd_pattern (self, pubsub_unsubscribe);
}

static void cmd_peers (node_t *self)
{
    size_t count = zhashx_size (self->peers);
    node_peer_info_t *rows = calloc (count ? count : 1, sizeof *rows);
    if (rows)
        count = membership_snapshot (self, rows, count);
    else
        count = 0;
    zsock_send (self->pipe, "ib", (int)count, rows, count * sizeof *rows);
    free (rows);
}

static void cmd_status (node_t *self)
{
    char *json = node_status_json (self);
    zsock_send (self->pipe, "is", json ? 0 : WEFT_ENOMEM, json ? json : "");
    zstr_free (&json);
}

static void cmd_peer_status (node_t *self)
{
    char *uuid = NULL;
    int timeout = 0;
    zsock_recv (self->pipe, "si", &uuid, &timeout);
    uint64_t id = uuid ? membership_request_status (self, uuid) : 0;
    zstr_free (&uuid);
    if (!id) {
        zsock_send (self->pipe, "is", WEFT_ENOTFOUND, "");
        return;
    }
    pending_status_t *p = calloc (1, sizeof *p);
    if (!p) {
        zsock_send (self->pipe, "is", WEFT_ENOMEM, "");
        return;
    }
    p->id = id;
    p->deadline = node_now (self) + timeout;
    zlistx_add_end (self->pending, p);
}

static void cmd_silence (node_t *self)
{
    char *on = zstr_recv (self->pipe);
    self->silenced = on && strcmp (on, "1") == 0;
    zstr_free (&on);
    zsock_send (self->pipe, "i", 0);
}

static void cmd_durable (node_t *self)
{
    char *pattern = NULL, *retention = NULL;
    journal_limits_t limits = {0};
    int rc = zsock_recv (self->pipe, "ss", &pattern, &retention) < 0 ? WEFT_EINVAL : 0;
    if (rc == 0)
        rc = durable_parse_limits (retention, &limits);
    if (rc == 0)
        rc = durable_declare (self, pattern, &limits);
    zstr_free (&pattern);
    zstr_free (&retention);
    zsock_send (self->pipe, "i", rc);
}

static void cmd_replaying_subscribe (node_t *self)
{
    char *pattern = NULL, *name = NULL;
    int kind = 0, auto_ack = 0;
    uint64_t value = 0;
    rsub_t spec = {0};
    int rc = zsock_recv (self->pipe, "ssi8i", &pattern, &name, &kind, &value, &auto_ack) < 0
                 ? WEFT_EINVAL
                 : 0;
    if (rc == 0) {
        snprintf (spec.pattern, sizeof spec.pattern, "%s", pattern);
        snprintf (spec.name, sizeof spec.name, "%s", name);
        spec.from_kind = kind;
        spec.from_value = (int64_t)value;
        spec.auto_ack = auto_ack != 0;
        rc = repair_subscribe (self, &spec);
    }
    zstr_free (&pattern);
    zstr_free (&name);
    zsock_send (self->pipe, "i", rc);
}

static void cmd_ack (node_t *self)
{
    char *publisher = NULL, *topic = NULL;
    uint64_t seq = 0;
    int rc = zsock_recv (self->pipe, "ss8", &publisher, &topic, &seq) < 0
                 ? WEFT_EINVAL
                 : repair_ack (self, publisher, topic, seq);
    zstr_free (&publisher);
    zstr_free (&topic);
    zsock_send (self->pipe, "i", rc);
}

static void cmd_fail_journal (node_t *self)
{
    int err = 0;
    zsock_recv (self->pipe, "i", &err);
    self->journal_fault = err;
    zsock_send (self->pipe, "i", self->journal ? 0 : WEFT_ESTATE);
}

static void cmd_term (node_t *self)
{
    self->terminated = true;
}

static const struct {
    const char *name;
    command_fn *fn;
} s_commands[] = {
    {"PUB", cmd_publish},
    {"SUB", cmd_subscribe},
    {"UNSUB", cmd_unsubscribe},
    {"PEERS", cmd_peers},
    {"STATUS", cmd_status},
    {"PSTATUS", cmd_peer_status},
    {"SILENCE", cmd_silence},
    {"START", cmd_start},
    {"$TERM", cmd_term},
    {"DURABLE", cmd_durable},
    {"RSUB", cmd_replaying_subscribe},
    {"ACK", cmd_ack},
    {"JFAIL", cmd_fail_journal},
    {"QSEND", queues_cmd_send},
    {"CONSUME", queues_cmd_consume},
    {"CANCEL", queues_cmd_cancel},
    {"SETTLE", queues_cmd_settle},
};

//  Handles one command from the pipe. Unknown commands are a bug in api.c:
//  logged and skipped, never fatal.
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
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp (name, s_commands[i].name) == 0) {
            if (!self->running && s_commands[i].fn != cmd_start && s_commands[i].fn != cmd_term)
                break;
            s_commands[i].fn (self);
            return true;
        }
    wlog_error (&self->log, "unexpected command '%s' (a bug: please report it)", name);
    zsock_flush (self->pipe);
    return true;
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
            membership_on_router (self, &f[0], &f[1], count > 2 ? &f[2] : NULL,
                                  count > 3 ? &f[3] : NULL);
        world_frames_close (f, count);
    }
}

int64_t node_next_deadline (node_t *self)
{
    if (!self->running)
        return INT64_MAX;
    if (self->replaying)
        return node_now (self);
    return self->beacon_at < self->tick_at ? self->beacon_at : self->tick_at;
}

//  Phase: network in.
static void turn_network (node_t *self, const bool ready[WORLD_INPUTS])
{
    if (ready[WORLD_ROUTER])
        on_router (self);
    if (ready[WORLD_SUB])
        pubsub_on_sub (self);
    if (ready[WORLD_XPUB])
        pubsub_on_xpub (self);
    if (ready[WORLD_BEACON] && self->beacons)
        membership_on_beacon (self);
}

//  Phase: timers that are due.
static void turn_timers (node_t *self, int64_t now)
{
    if (now < self->beacon_at && now < self->tick_at)
        return;
    bool interval = now >= self->beacon_at;
    bool tick = now >= self->tick_at;
    membership_on_timer (self, now);
    durable_on_timer (self, now, interval);
    queues_on_timer (self, now, interval);
    if (tick) {
        repair_on_timer (self, now);
        pubsub_on_timer (self, now);
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
    //  pump: bounded work that did not fit in earlier turns
    self->replaying = durable_pump (self) | queues_busy (self);
    queues_before_commit (self, now);
    //  group commit: one batch per turn, then what waited for it goes out
    queues_after_commit (self, durable_flush (self));
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
    if (self->running)
        node_teardown (self);
    node_event_t closed = {.kind = NODE_EVENT_CLOSED};
    //  the closing event must get through: wait for room, but not forever
    zsock_set_sndtimeo (self->events, 1000);
    zmq_send (zsock_resolve (self->events), &closed, sizeof closed, 0);
    wlog_info (&self->log, "stopped");
}
