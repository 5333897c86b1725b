/*  node/durable/durable_sub.c - the durable-topics subsystem's door: its
    table of operations, its commands, its peer events. The work is done in
    durable.c and replay.c (publisher side), repair.c and rsub.c (subscriber
    side).
*/
#include "common/hex.h"
#include "node/core/config.h"
#include "node/durable/durable.h"

//  --- Commands -------------------------------------------------------------------

static void cmd_durable (node_t *self, durable_t *ds)
{
    char *pattern = NULL, *retention = NULL;
    journal_limits_t limits = {0};
    int rc = zsock_recv (self->pipe, "ss", &pattern, &retention) < 0 ? WEFT_EINVAL : 0;
    if (rc == 0)
        rc = config_parse_limits (retention, &limits);
    if (rc == 0)
        rc = durable_declare (self, ds, pattern, &limits);
    zstr_free (&pattern);
    zstr_free (&retention);
    zsock_send (self->pipe, "i", rc);
}

static void cmd_replaying_subscribe (node_t *self, durable_t *ds)
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
        rc = rsub_subscribe (self, ds, &spec);
    }
    zstr_free (&pattern);
    zstr_free (&name);
    zsock_send (self->pipe, "i", rc);
}

//  ACK (the application's weft_ack, answered) or TAKEN (weft_recv returned a
//  message of an auto-ack subscription: no answer, the receiver does not wait).
static void cmd_ack (node_t *self, durable_t *ds, bool taken)
{
    char *publisher = NULL, *topic = NULL;
    uint64_t seq = 0;
    int rc = zsock_recv (self->pipe, "ss8", &publisher, &topic, &seq) < 0
                 ? WEFT_EINVAL
                 : rsub_ack (self, ds, publisher, topic, seq, taken);
    zstr_free (&publisher);
    zstr_free (&topic);
    if (!taken)
        zsock_send (self->pipe, "i", rc);
}

static void on_command (node_t *self, void *state, const char *name)
{
    if (strcmp (name, "DURABLE") == 0)
        cmd_durable (self, state);
    else if (strcmp (name, "RSUB") == 0)
        cmd_replaying_subscribe (self, state);
    else
        cmd_ack (self, state, strcmp (name, "TAKEN") == 0);
}

//  --- Operations --------------------------------------------------------------------

//  Frees both sides' tables (NULL-safe: also after a failed start).
static void on_stop (node_t *self, void *state)
{
    rsub_stop (state);
    durable_stop (self, state);
}

//  The publisher side, then the subscriber side (its cursors from the journal).
static int on_start (node_t *self, void *state, char *err, size_t errlen)
{
    int rc = durable_start (self, state, err, errlen);
    if (rc == 0)
        rc = rsub_start (self, state);
    if (rc)
        on_stop (self, state); //  the core only stops what started: free what this made
    return rc;
}

//  REPLAY_REQ is served by the publisher side; the answers go to the subscriber side.
static void on_message (node_t *self, void *state, peer_t *peer, int type, zmq_msg_t *from,
                        zmq_msg_t *body, zmq_msg_t *extra)
{
    switch (type) {
    case WIRE_REPLAY_REQ:
        replay_on_request (self, state, peer);
        break;
    case WIRE_REPLAY_MSG:
        repair_on_replay_msg (self, state, peer, body, extra);
        break;
    case WIRE_REPLAY_END:
        repair_on_replay_end (self, state, peer);
        break;
    default:
        repair_on_truncated (self, peer);
    }
}

//  A live durable message (or HEAD) from the SUB.
static void on_topic (node_t *self, void *state, peer_t *peer, const char *name,
                      const wire_msg_t *msg, node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                      zmq_msg_t *headers)
{
    char sender[WIRE_UUID_SIZE * 2 + 1];
    hex_encode (msg->sender, WIRE_UUID_SIZE, sender);
    repair_on_live (self, state, peer, sender, name, ev, topic, body, headers, msg->flags);
}

static bool on_publish (node_t *self, void *state, const char *name, zmq_msg_t *topic,
                        zmq_msg_t *body, wire_msg_t *msg)
{
    return durable_publish (self, state, name, topic, body, msg);
}

static void on_peer_event (node_t *self, void *state, peer_t *peer, peer_event_t event)
{
    if (event == PEER_ADDED && repair_peer_init (state, peer))
        wlog_warn (&self->log, "out of memory: no durable state for peer %s", peer->uuid_hex);
    else if (event == PEER_JOINED) {
        rsub_peer_joined (self, state, peer);
        repair_peer_resume (self, state, peer);
    } else if (event == PEER_REMOVED)
        repair_peer_park (state, peer);
}

static void on_peer_fini (peer_t *peer, void *peer_state)
{
    repair_peer_fini (peer_state);
}

static void on_timer (node_t *self, void *state, int64_t now, bool interval)
{
    durable_on_timer (self, state, now, interval);
    repair_on_timer (self, state, now);
}

static bool on_pump (node_t *self, void *state)
{
    return replay_pump (self, state);
}

static void on_before_commit (node_t *self, void *state, int64_t now)
{
    durable_before_commit (self, state);
}

static void on_after_commit (node_t *self, void *state, bool ok)
{
    durable_after_commit (self, state, ok);
}

//  The status part: "journal":[...] (null without a journal).
static int on_status (node_t *self, void *state, json_t *into)
{
    return json_object_set_new (into, "journal", durable_journal_json (self));
}

static const char *const s_commands[] = {"DURABLE", "RSUB", "ACK", "TAKEN", NULL};

const subsystem_t durable_subsystem = {
    .name = "durable",
    .id = SUBSYS_DURABLE,
    .state_size = sizeof (durable_t),
    .peer_state_size = sizeof (durable_peer_t),
    .type_min = WIRE_REPLAY_REQ,
    .type_max = WIRE_REPLAY_TRUNC,
    .topic_flags = WIRE_FLAG_DURABLE,
    .commands = s_commands,
    .start = on_start,
    .stop = on_stop,
    .on_command = on_command,
    .on_message = on_message,
    .on_topic = on_topic,
    .on_publish = on_publish,
    .peer_event = on_peer_event,
    .peer_fini = on_peer_fini,
    .on_timer = on_timer,
    .pump = on_pump,
    .before_commit = on_before_commit,
    .after_commit = on_after_commit,
    .status = on_status,
};
