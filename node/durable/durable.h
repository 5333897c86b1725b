/*  node/durable/durable.h - durable topics, inside the subsystem (its files
    share it; nothing outside node/durable/ includes it).

    Publisher side (durable.c): a topic declared durable is journaled before
    it is sent; HEAD announcements; retention. reserve.c: sequence numbers
    reserved durably in blocks, so none repeats after a power cut. replay.c:
    replays served to peers.
    Subscriber side (repair.c): gaps of a publisher's stream are repaired by
    asking it to replay them. rsub.c: late joiners replay from a start, named
    durable subscriptions keep their cursors in our journal.
    The subsystem's table is in durable_sub.c; docs/ARCHITECTURE.md has the picture.
*/
#ifndef WEFT_NODE_DURABLE_DURABLE_H
#define WEFT_NODE_DURABLE_DURABLE_H

#include "node/core/node.h"

//  A durable topic pattern declared on this node (the publisher side).
typedef struct {
    char pattern[TOPIC_MAX + 1]; //  topics it covers
    journal_limits_t limits;     //  retention of each of its streams
} durable_decl_t;

//  A subscription that replays history: from a start, and/or by name with
//  cursors kept in our journal (durable subscription).
typedef struct {
    char pattern[TOPIC_MAX + 1];  //  what it covers
    char name[WIRE_NAME_MAX + 1]; //  durable name, "" for an unnamed late join
    int from_kind;                //  WIRE_FROM_*
    int64_t from_value;           //  sequence or time (us), per from_kind
    bool auto_ack;                //  advance the cursor on delivery
} rsub_t;

//  What a subscriber knows of one (publisher, topic) stream.
typedef struct {
    uint64_t last;   //  last seq delivered (or seen, for volatile topics)
    uint64_t head;   //  highest seq the publisher said it has (HEAD or live message)
    bool fresh;      //  nothing seen yet: the first message sets the start
    uint64_t repair; //  request id of the replay in progress, 0 if none
    zlistx_t *held;  //  held_msg_t (repair.c): live messages waiting for the replay, by seq
} rx_stream_t;

//  A replay this node asked a peer for (a pattern, from a start).
typedef struct {
    uint64_t id;                 //  request id
    char pattern[TOPIC_MAX + 1]; //  what it covers
    int64_t deadline;            //  asked again if no END by then
    uint64_t received;           //  its REPLAY_MSGs that arrived
    uint64_t to;                 //  the last seq it asked for (0: all there is)
} rx_request_t;

//  The subsystem's per-node state (allocated by the core: state_size). The
//  table callbacks receive it as STATE and hand it to the functions below.
typedef struct {
    //  Publisher side (durable.c, replay.c)
    zlistx_t *durables;    //  durable_decl_t, owned
    zlistx_t *outbox;      //  outbound durable messages waiting for the commit, owned
    zhashx_t *heads;       //  topic -> head_t, for HEAD announcements
    zlistx_t *replays;     //  replay jobs we serve to peers, owned
    size_t retention_next; //  round-robin index over streams for retention
    bool retention_due;    //  durable streams grew this turn: trim them before the commit
    zhashx_t *reserved;    //  stream name -> seq_res_t (reserve.c): reserved sequence ceilings
    uint64_t seq_block;    //  sequence numbers reserved at a time (durable.seq_block)
    bool reserve_due;      //  a reservation is staged in this turn's batch
    //  Subscriber side (rsub.c)
    zlistx_t *rsubs;   //  rsub_t, owned: subscriptions that replay history
    zhashx_t *cursors; //  "name/publisher/topic" -> uint64_t last acked seq
    zhashx_t *parked;  //  publisher uuid hex -> its rx table (topic -> rx_stream_t), kept
                       //  while it is out of the peer table (expired, paused, cut off)
} durable_t;

//  What the durable subsystem keeps per peer (node_peer_state).
typedef struct {
    zhashx_t *rx;       //  topic -> rx_stream_t, what we received from it
    zlistx_t *requests; //  rx_request_t: replays asked of it, not yet ended
} durable_peer_t;

#define DURABLE_STREAM_PREFIX  "t/"  //  journal streams of durable topics: "t/<topic>"
#define REPAIR_REQUEST_TIMEOUT 10000 //  ms without replay traffic before a replay is asked again

//  The journal stream name of TOPIC, in OUT (CAP bytes).
static inline void durable_stream_name (const char *topic, char *out, size_t cap)
{
    snprintf (out, cap, DURABLE_STREAM_PREFIX "%s", topic);
}

//  PEER's durable state.
static inline durable_peer_t *durable_peer (peer_t *peer)
{
    return node_peer_state (peer, SUBSYS_DURABLE);
}

//  --- durable.c: the publisher side ---------------------------------------------

//  Declares PATTERN durable with retention LIMITS (again: new limits).
//  WEFT_EINVAL for a bad pattern, WEFT_ESTATE without a journal.
int durable_declare (node_t *self, durable_t *ds, const char *pattern,
                     const journal_limits_t *limits);

//  Creates / frees the publisher side's tables in DS; declares durable.topics.
//  durable_stop also frees what a failed durable_start made.
int durable_start (node_t *self, durable_t *ds, char *err, size_t errlen);
void durable_stop (node_t *self, durable_t *ds);

//  If topic NAME is durable: stages MSG (seq assigned here) in the journal and
//  queues the frames to go out after the commit; returns true (the frames are
//  taken). Returns false for a volatile topic (nothing done).
bool durable_publish (node_t *self, durable_t *ds, const char *name, zmq_msg_t *topic,
                      zmq_msg_t *body, wire_msg_t *msg);

//  Before the commit: retention of the streams that grew this turn.
void durable_before_commit (node_t *self, durable_t *ds);

//  After the commit: sends the durable messages it held (OK), or drops and
//  counts them (the commit failed).
void durable_after_commit (node_t *self, durable_t *ds, bool ok);

//  Timers: HEAD announcements (each INTERVAL), retention, failure probe.
void durable_on_timer (node_t *self, durable_t *ds, int64_t now, bool interval);

//  The journal's streams, the status' "journal": a new JSON array of
//  {stream, count, bytes, first_seq, last_seq, first_time_us, last_time_us},
//  JSON null without a journal; NULL when out of memory.
json_t *durable_journal_json (node_t *self);

//  Announces SEQ as the head of TOPIC for the next HEAD_LINGER intervals
//  (after a commit sent it, and at start for the streams of the journal).
void durable_head_set (node_t *self, durable_t *ds, const char *topic, uint64_t seq);

//  --- reserve.c: sequence reservation (the publisher side) -----------------------

#define RESERVE_PREFIX "r/" //  meta key of a stream's reserved ceiling: "r/<stream name>"

//  Creates DS's reservation table and loads the ceilings the journal holds;
//  each stream's HEAD is announced again (its last seq, or its ceiling if
//  a crash skipped numbers). 0 or WEFT_ENOMEM (or the journal's code).
int reserve_start (node_t *self, durable_t *ds);

//  Gives the unused part of each block back (a clean stop: no gap at the
//  next start; staged, committed by the stop), then frees the table.
//  SELF may be NULL (nothing staged). NULL-safe on a half-made DS.
void reserve_stop (node_t *self, durable_t *ds);

//  The seq for the next append to STREAM: above the journal's last one and
//  above every number reserved before this run started. When it is above
//  the stream's reserved ceiling and journal.sync is async, the next block
//  is reserved first (staged, and the batch is marked to be synced). 0 when
//  that cannot be staged (nothing may be published then).
uint64_t reserve_next (node_t *self, durable_t *ds, const char *stream);

//  After the commit: what was staged is reserved (OK), or forgotten.
void reserve_after_commit (durable_t *ds, bool ok);

//  The ceiling STREAM had reserved when this run started (0: none): the
//  numbers from the journal's last seq then up to it were skipped by a
//  crash (or given out and lost with unsynced writes): nothing is there.
uint64_t reserve_skipped_to (durable_t *ds, const char *stream);

//  --- replay.c: replays served to peers (the publisher side) ---------------------

//  Creates / frees DS's replay jobs (durable_start and durable_stop call them).
int replay_start (durable_t *ds);
void replay_stop (durable_t *ds);

//  A peer asked for a replay (REPLAY_REQ is in the decoder): a job is queued.
void replay_on_request (node_t *self, durable_t *ds, peer_t *peer);

//  Sends a bounded amount of replay traffic; true while replays remain.
bool replay_pump (node_t *self, durable_t *ds);

//  --- repair.c: the subscriber side ---------------------------------------------

//  Creates / frees PEER's durable state (at PEER_ADDED, and when it is freed).
//  A publisher we knew before gets its streams back (they were parked when
//  it left the table), so its sequences go on where they were.
int repair_peer_init (durable_t *ds, peer_t *peer);
void repair_peer_fini (durable_peer_t *dp);

//  PEER leaves the table: its streams are parked (what was delivered of each
//  survives; replays asked of it are over), until it comes back.
void repair_peer_park (durable_t *ds, peer_t *peer);

//  Frees the parked streams (at stop).
void repair_parked_free (durable_t *ds);

//  PEER (re)joined: streams with held messages or a known gap ask for it.
void repair_peer_resume (node_t *self, durable_t *ds, peer_t *peer);

//  A live durable message (or HEAD) of topic NAME from PEER (may be NULL):
//  delivers, holds or asks for the gap. Takes the frames.
//  SENDER is the publisher's UUID (hex), also when PEER is NULL.
void repair_on_live (node_t *self, durable_t *ds, peer_t *peer, const char *sender,
                     const char *name, node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                     zmq_msg_t *headers, uint32_t flags);

//  Replay answers from PEER (the REPLAY_* header is in the decoder).
void repair_on_replay_msg (node_t *self, durable_t *ds, peer_t *peer, zmq_msg_t *header,
                           zmq_msg_t *body);
void repair_on_replay_end (node_t *self, durable_t *ds, peer_t *peer);
void repair_on_truncated (node_t *self, peer_t *peer);

//  Replays that got no answer in time are given up (and asked again if needed).
void repair_on_timer (node_t *self, durable_t *ds, int64_t now);

//  PEER's stream state for TOPIC, created (fresh) if needed; NULL when out of memory.
rx_stream_t *repair_stream (peer_t *peer, const char *topic);

//  The outstanding pattern request of PEER that covers TOPIC, or NULL.
rx_request_t *repair_request_covering (peer_t *peer, const char *topic);

//  A replay request for PATTERN from FROM_KIND / FROM_VALUE, and in *R_P its
//  record for the peer's request list (both allocated; NULL when out of memory).
wire_replay_req_t *repair_request_new (node_t *self, const char *pattern, int from_kind,
                                       int64_t from_value, rx_request_t **r_p);

//  Sends REQ to PEER and files R in its requests (or frees R). True if sent.
bool repair_request_send (node_t *self, peer_t *peer, const wire_replay_req_t *req,
                          rx_request_t *r);

//  --- rsub.c: replaying subscriptions and their cursors (the subscriber side) ----

//  Creates / frees DS's subscriptions and cursors; loads the cursors from the
//  journal. rsub_stop also frees what a failed rsub_start made.
int rsub_start (node_t *self, durable_t *ds);
void rsub_stop (durable_t *ds);

//  Adds a replaying subscription (copied) and asks the joined peers for it.
//  WEFT_ESTATE for a named one without journal.
int rsub_subscribe (node_t *self, durable_t *ds, const rsub_t *spec);

//  PEER joined: ask it for what replaying subscriptions need.
void rsub_peer_joined (node_t *self, durable_t *ds, peer_t *peer);

//  The application acknowledged SEQ of PUBLISHER (hex) on TOPIC (ONLY_AUTO:
//  it took the message, which acknowledges it for auto-ack subscriptions only).
int rsub_ack (node_t *self, durable_t *ds, const char *publisher, const char *topic, uint64_t seq,
              bool only_auto);

//  True when a named subscription that acknowledges on delivery covers TOPIC.
bool rsub_auto_covers (durable_t *ds, const char *topic);

//  The first sequence a replaying subscription covering TOPIC wants of a
//  stream it has not seen yet: 1 from earliest, N from seq:N; 0 for none
//  (latest, or by time: the publisher's clock decides that one).
uint64_t rsub_start_seq (durable_t *ds, const char *topic);

//  Advances the cursors of every durable subscription covering TOPIC to SEQ
//  (ONLY_AUTO: only those that acknowledge on delivery), staged in the journal.
void rsub_advance_cursors (node_t *self, durable_t *ds, const char *publisher, const char *topic,
                           uint64_t seq, bool only_auto);

#endif
