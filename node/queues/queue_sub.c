/*  node/queues/queue_sub.c - the queues subsystem's door: its table of
    operations. The work is done in queue_ring.c (ownership, routing,
    status), queue_owner.c, queue_store.c and queue_client.c.
*/
#include "node/queues/queue.h"

static int on_start (node_t *self, void *state, char *err, size_t errlen)
{
    return queues_start (self, err, errlen);
}

static void on_stop (node_t *self, void *state)
{
    queues_stop (self);
}

static void on_command (node_t *self, void *state, const char *name)
{
    if (strcmp (name, "QSEND") == 0)
        queues_cmd_send (self);
    else if (strcmp (name, "CONSUME") == 0)
        queues_cmd_consume (self);
    else if (strcmp (name, "CANCEL") == 0)
        queues_cmd_cancel (self);
    else
        queues_cmd_settle (self);
}

//  Queue traffic: from a member that joined, or from ourselves (WORLD_SELF),
//  whose payload is the last frame.
static void on_message (node_t *self, void *state, peer_t *peer, int type, zmq_msg_t *from,
                        zmq_msg_t *body, zmq_msg_t *extra)
{
    if (!peer)
        queues_on_message (self, NULL, true, type, extra ? extra : body);
    else if (peer->joined)
        queues_on_message (self, peer, false, type, body);
}

static void on_peer_event (node_t *self, void *state, peer_t *peer, peer_event_t event)
{
    if (event == PEER_JOINED || event == PEER_CHANGED)
        queues_membership_changed (self);
    else if (event == PEER_REMOVED)
        queues_peer_gone (self, peer);
}

static void on_timer (node_t *self, void *state, int64_t now, bool interval)
{
    queues_on_timer (self, now, interval);
}

static bool on_pump (node_t *self, void *state)
{
    return queues_busy (self);
}

static void on_before_commit (node_t *self, void *state, int64_t now)
{
    queues_before_commit (self, now);
}

static void on_after_commit (node_t *self, void *state, bool ok)
{
    queues_after_commit (self, ok);
}

//  The status part: ring, queues, counters and Raft groups (queue_ring.c);
//  "queues":[] before the subsystem started.
static int on_status (node_t *self, void *state, json_t *into)
{
    if (!queues_of (self)->started)
        return json_object_set_new (into, "queues", json_array ());
    return queues_status (self, into);
}

static const char *const s_commands[] = {"QSEND", "CONSUME", "CANCEL", "SETTLE", NULL};

const subsystem_t queues_subsystem = {
    .name = "queues",
    .id = SUBSYS_QUEUES,
    .state_size = sizeof (struct queues),
    .type_min = WIRE_QSEND,
    .type_max = WIRE_QLEADER, //  WIRE_MISSED (28) is pubsub's: its earlier slot takes it
    .max_payload =
        RG_MAX_MESSAGE, //  Raft catch-ups and snapshots; QSEND bodies are checked
                        //  against limits.max_message (queue_owner.c, queue_raft_serve.c)
    .from_self = true,
    .commands = s_commands,
    .start = on_start,
    .stop = on_stop,
    .on_command = on_command,
    .on_message = on_message,
    .peer_event = on_peer_event,
    .on_timer = on_timer,
    .pump = on_pump,
    .before_commit = on_before_commit,
    .after_commit = on_after_commit,
    .status = on_status,
};
