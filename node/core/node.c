/*  node/core/node.c - the node's lifecycle (new, start, stop, crash), the
    one journal commit per turn, and the core's own commands.

    See node.h for the command protocol between the API thread and the node,
    loop.c for the turn, peers.c for the peer table, io.c for sends and events,
    status.c for the status document.
*/
#include "node/core/node.h"

#include "common/hex.h"
#include "node/core/config.h"

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
    if (!self)
        return NULL;
    self->world = world;
    self->cfg = config_dup (cfg);
    if (!self->cfg) {
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
    if (!(self->board = board_new ((int)config_int (cfg, CFG_QUEUES_WINDOW)))) {
        node_destroy (&self);
        return NULL;
    }
    return self;
}

void node_destroy (node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_t *self = *self_p;
    weft_config_destroy (&self->cfg);
    board_destroy (&self->board);
    free (self);
    *self_p = NULL;
}

//  Reads the settings the loop uses on every turn.
static void load_settings (node_t *self)
{
    const char *role = config_value (self->cfg, CFG_NODE_ROLE);
    self->role = strcmp (role, "client") == 0 ? WIRE_ROLE_CLIENT : WIRE_ROLE_MEMBER;
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
    size_t payload = self->max_message; //  the largest any subsystem takes
    for (int i = 0; i < SUBSYS_MAX; i++)
        if (node_subsystems[i] && node_subsystems[i]->max_payload > payload)
            payload = node_subsystems[i]->max_payload;
    world_opts_t opts = {
        .rcvhwm = 100000,
        .maxmsgsize = (int64_t)payload + config_int (self->cfg, CFG_LIMITS_MAX_HEADER) + 64,
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

//  Loads our UUID from the journal, or stores the new one: a node keeps its
//  identity across restarts, so its streams and subscribers' cursors stay valid.
static int load_identity (node_t *self)
{
    uint8_t uuid[WIRE_UUID_SIZE];
    size_t len = 0;
    int rc = journal_meta_get (self->journal, "node/uuid", uuid, sizeof uuid, &len);
    if (rc == 0 && len == WIRE_UUID_SIZE) {
        memcpy (self->uuid, uuid, WIRE_UUID_SIZE);
        hex_encode (uuid, WIRE_UUID_SIZE, self->uuid_hex);
        return 0;
    }
    if ((rc = journal_meta_put (self->journal, "node/uuid", self->uuid, WIRE_UUID_SIZE)) == 0)
        rc = journal_commit (self->journal, true);
    return rc;
}

//  Opens the journal (journal.dir), which holds our identity: every socket
//  carries it, so this comes before anything else. 0 or WEFT_E* with ERR.
static int journal_start (node_t *self, char *err, size_t errlen)
{
    self->journal_sync = strcmp (config_value (self->cfg, CFG_JOURNAL_SYNC), "sync") == 0;
    const char *dir = config_value (self->cfg, CFG_JOURNAL_DIR);
    if (!*dir)
        return 0;
    journal_options_t opts = {.log = &self->log};
    int rc = self->world->ops->journal_open (self->world, dir, &opts, &self->journal, err, errlen);
    if (rc == 0 && (rc = load_identity (self)))
        snprintf (err, errlen, "journal %s: %s", dir, journal_error (self->journal));
    return rc;
}

//  Allocates each subsystem's state and starts them in slot order.
static int subsystems_start (node_t *self, char *err, size_t errlen)
{
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = node_subsystems[i];
        if (!sub)
            continue;
        if (sub->state_size && !(self->state[i] = calloc (1, sub->state_size)))
            return WEFT_ENOMEM;
        int rc = sub->start ? sub->start (self, self->state[i], err, errlen) : 0;
        if (rc) {
            //  what it made before failing is freed by its own stop
            if (sub->stop)
                sub->stop (self, self->state[i]);
            return rc;
        }
        self->started[i] = true;
    }
    return 0;
}

//  Resolves the interface, then starts every part. Returns 0 or WEFT_E*.
static int node_start (node_t *self, char *err, size_t errlen)
{
    load_settings (self);
    int rc =
        self->world->ops->resolve (self->world, config_value (self->cfg, CFG_DISCOVERY_INTERFACE),
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
    self->subs = topic_set_new ();
    self->decoder = wire_decoder_new ((size_t)config_int (self->cfg, CFG_LIMITS_MAX_HEADER));
    msgpack_sbuffer_init (&self->sbuf);
    if (!self->peers || !self->subs || !self->decoder)
        return WEFT_ENOMEM;
    if ((rc = journal_start (self, err, errlen)))
        return rc;
    //  what we offer the ring: a member with a journal can hold queues
    self->capacity = self->journal && self->role == WIRE_ROLE_MEMBER
                         ? (uint32_t)config_int (self->cfg, CFG_NODE_CAPACITY)
                         : 0;
    if ((rc = router_start (self, bind, err, errlen)) ||
        (rc = subsystems_start (self, err, errlen)))
        return rc;
    self->started_at = node_now (self);
    self->beacon_at = self->started_at;
    self->tick_at = self->started_at;
    wlog_info (&self->log, "started uuid=%s router=%s pub=%s beacons=%s:%s", self->uuid_hex,
               self->router_ep, self->pub_ep, self->beacons ? self->bcast : "off",
               config_value (self->cfg, CFG_DISCOVERY_PORT));
    return 0;
}

//  Closes whatever node_start opened: what the last turn staged is committed
//  and released first, then subsystems stop in reverse order, then the core.
static void node_teardown (node_t *self)
{
    if (self->journal && journal_pending (self->journal) && !self->crashed)
        node_commit_and_release (self);
    for (int i = SUBSYS_MAX - 1; i >= 0; i--)
        if (self->started[i] && node_subsystems[i]->stop)
            node_subsystems[i]->stop (self, self->state[i]);
    for (int i = 0; i < SUBSYS_MAX; i++)
        self->started[i] = false;
    node_peers_free (self); //  no events now: nobody listens
    for (int i = 0; i < SUBSYS_MAX; i++) {
        free (self->state[i]);
        self->state[i] = NULL;
    }
    if (self->journal && journal_pending (self->journal) && !self->crashed)
        node_commit (self); //  what the stops staged (cursors, for instance)
    journal_close (&self->journal);
    topic_set_destroy (&self->subs);
    wire_decoder_destroy (&self->decoder);
    msgpack_sbuffer_destroy (&self->sbuf);
    self->world->ops->close (self->world);
}

void node_crash (node_t *self)
{
    self->crashed = true;
    self->world = world_null ();
    node_stop (self); //  closing the journal discards its staged batch
}

void node_stop (node_t *self)
{
    if (self->running)
        node_teardown (self);
    self->running = false;
}

bool node_commit (node_t *self)
{
    if (!self->journal || journal_pending (self->journal) == 0)
        return true;
    if (self->journal_fault)
        journal_fail_next_commit (self->journal, self->journal_fault);
    size_t ops = journal_pending (self->journal);
    int rc = journal_commit (self->journal, self->journal_sync);
    self->commits++;
    if (rc) {
        self->commit_failures++;
        if (!self->journal_failed)
            wlog_error (&self->log,
                        "journal commit failed: %s; durable writes are refused "
                        "until it works again",
                        journal_error (self->journal));
        self->journal_failed = rc;
        board_set_journal (self->board, rc);
        return false;
    }
    self->commit_ops += ops;
    if (self->journal_failed) {
        wlog_warn (&self->log, "journal writes work again");
        self->journal_failed = 0;
        board_set_journal (self->board, 0);
    }
    return true;
}

//  --- The core's commands ------------------------------------------------------

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
    zsock_send (self->pipe, "iss", rc, err, self->uuid_hex); //  the journal may have changed it
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

//  PUB topic body [headers]: the first subsystem that takes the topic
//  (durable topics, then pubsub) publishes it. No reply.
static void cmd_publish (node_t *self)
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
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = node_subsystems[i];
        if (self->started[i] && sub->on_publish &&
            sub->on_publish (self, self->state[i], name, &topic, &body, &msg))
            break;
    }
    zmq_msg_close (&topic);
    zmq_msg_close (&body);
    zmq_msg_close (&headers);
}

int node_subscribe (node_t *self, const char *pattern)
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

int node_unsubscribe (node_t *self, const char *pattern)
{
    int rc = topic_set_remove (self->subs, pattern);
    if (rc < 0)
        return rc;
    char prefix[TOPIC_MAX + 1];
    size_t len = pattern_prefix (pattern, prefix, sizeof prefix);
    self->world->ops->sub_filter (self->world, prefix, len, false);
    return 0;
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
    cmd_pattern (self, node_subscribe);
}

static void cmd_unsubscribe (node_t *self)
{
    cmd_pattern (self, node_unsubscribe);
}

static void cmd_status (node_t *self)
{
    char *json = node_status_json (self);
    zsock_send (self->pipe, "is", json ? 0 : WEFT_ENOMEM, json ? json : "");
    zstr_free (&json);
}

static void cmd_fail_journal (node_t *self)
{
    int err = 0;
    zsock_recv (self->pipe, "i", &err);
    self->journal_fault = err;
    zsock_send (self->pipe, "i", self->journal ? 0 : WEFT_ESTATE);
}

//  SILENCE 0|1 (tests): the node stops (or resumes) everything it sends on its
//  own - beacons, pings, resends - as if it hung; it still answers.
static void cmd_silence (node_t *self)
{
    char *on = zstr_recv (self->pipe);
    self->silenced = on && strcmp (on, "1") == 0;
    zstr_free (&on);
    zsock_send (self->pipe, "i", 0);
}

static void cmd_term (node_t *self)
{
    self->terminated = true;
}

static const struct {
    const char *name;
    command_fn *fn;
    bool before_start; //  valid before START succeeded
} s_commands[] = {
    {"PUB", cmd_publish, false},        {"SUB", cmd_subscribe, false},
    {"UNSUB", cmd_unsubscribe, false},  {"STATUS", cmd_status, false},
    {"START", cmd_start, true},         {"$TERM", cmd_term, true},
    {"JFAIL", cmd_fail_journal, false}, {"SILENCE", cmd_silence, false},
};

bool node_core_command (node_t *self, const char *name)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp (name, s_commands[i].name) == 0) {
            if (!self->running && !s_commands[i].before_start)
                return false;
            s_commands[i].fn (self);
            return true;
        }
    return false;
}
