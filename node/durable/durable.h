/*  node/durable/durable.h - durable topics, inside the subsystem (durable.c
    and repair.c share it; nothing outside node/durable/ includes it).

    Publisher side (durable.c): a topic declared durable is journaled before
    it is sent; HEAD announcements; retention; replays served to peers.
    Subscriber side (repair.c): gaps of a publisher's stream are repaired by
    asking it to replay them, late joiners replay from a start, named durable
    subscriptions keep their cursors in our journal.
    The subsystem's table is in durable.c; docs/ARCHITECTURE.md has the picture.
*/
#ifndef WEFT_NODE_DURABLE_DURABLE_H
#define WEFT_NODE_DURABLE_DURABLE_H

#include "node/core/node.h"

//  What the durable subsystem keeps per peer (node_peer_state).
typedef struct {
    zhashx_t *rx;       //  topic -> rx_stream_t, what we received from it
    zlistx_t *requests; //  rx_request_t: replays asked of it, not yet ended
} durable_peer_t;

//  PEER's durable state.
static inline durable_peer_t *durable_peer (peer_t *peer)
{
    return node_peer_state (peer, SUBSYS_DURABLE);
}

//  --- durable.c: the publisher side ---------------------------------------------

//  Declares PATTERN durable with retention LIMITS (again: new limits).
//  WEFT_EINVAL for a bad pattern, WEFT_ESTATE without a journal.
int durable_declare (node_t *self, const char *pattern, const journal_limits_t *limits);

//  Creates / frees the publisher side's tables; declares durable.topics.
int durable_start (node_t *self, char *err, size_t errlen);
void durable_stop (node_t *self);

//  If topic NAME is durable: stages MSG (seq assigned here) in the journal and
//  queues the frames to go out after the commit; returns true (the frames are
//  taken). Returns false for a volatile topic (nothing done).
bool durable_publish (node_t *self, const char *name, zmq_msg_t *topic, zmq_msg_t *body,
                      wire_msg_t *msg);

//  Before the commit: retention of the streams that grew this turn.
void durable_before_commit (node_t *self);

//  After the commit: sends the durable messages it held (OK), or drops and
//  counts them (the commit failed).
void durable_after_commit (node_t *self, bool ok);

//  Timers: HEAD announcements (each INTERVAL), retention, failure probe.
void durable_on_timer (node_t *self, int64_t now, bool interval);

//  A peer asked for a replay (REPLAY_REQ is in the decoder).
void durable_on_replay_req (node_t *self, peer_t *peer);

//  Sends a bounded amount of replay traffic; true while replays remain.
bool durable_pump (node_t *self);

//  The journal's streams as a JSON array ("null" without a journal); caller frees.
char *durable_journal_json (node_t *self);

//  --- repair.c: the subscriber side ---------------------------------------------

int repair_start (node_t *self);
void repair_stop (node_t *self);

//  Creates / frees PEER's durable state (at PEER_ADDED, and when it is freed).
int repair_peer_init (durable_peer_t *dp);
void repair_peer_fini (durable_peer_t *dp);

//  A live durable message (or HEAD) of topic NAME from PEER (may be NULL):
//  delivers, holds or asks for the gap. Takes the frames.
void repair_on_live (node_t *self, peer_t *peer, const char *name, node_event_t *ev,
                     zmq_msg_t *topic, zmq_msg_t *body, zmq_msg_t *headers, uint32_t flags);

//  Replay answers from PEER (the REPLAY_* header is in the decoder).
void repair_on_replay_msg (node_t *self, peer_t *peer, zmq_msg_t *header, zmq_msg_t *body);
void repair_on_replay_end (node_t *self, peer_t *peer);
void repair_on_truncated (node_t *self, peer_t *peer);

//  PEER joined: ask it for what replaying subscriptions need.
void repair_peer_joined (node_t *self, peer_t *peer);

//  Adds a replaying subscription (copied). WEFT_ESTATE for a named one without journal.
int repair_subscribe (node_t *self, const rsub_t *spec);

//  The application acknowledged SEQ of PUBLISHER (hex) on TOPIC.
int repair_ack (node_t *self, const char *publisher, const char *topic, uint64_t seq);

//  Replays that got no answer in time are given up (and asked again if needed).
void repair_on_timer (node_t *self, int64_t now);

#endif
