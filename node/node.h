/*  node/node.h - the node actor's state, shared by the files that make it up.

    One thread, the actor, owns every socket and every table below, so none
    of it is locked. The API thread (api.c) talks to it over the actor pipe:

      command frames                      reply
      "START"                             rc (int), error text
      "PUB" topic body [headers]          none (fire and forget, pipe HWM is the brake)
      "SUB" pattern / "UNSUB" pattern     rc
      "PEERS"                             count, then a frame of node_peer_info_t[count]
      "STATUS"                            rc, json
      "PSTATUS" uuid-hex timeout-ms       rc, json (answered by the actor, also on timeout)
      "SILENCE" 0|1                       rc (tests: stop or resume beacons and pings)
      "$TERM"                             none; the actor says goodbye and exits

    Messages and events for the application go out on a PAIR socket
    (node->events) as [node_event_t][topic][body][headers]; api.c turns them
    into weft_msg_t. A final event of kind NODE_EVENT_CLOSED says the actor
    has stopped.

    The actor is split by responsibility:
      node.c        lifecycle, the poll loop, command dispatch, timers, status
      membership.c  beacons, the peer table, HELLO/PEERS/PING/BYE, expiry
      pubsub.c      publish, subscriptions, topic delivery, readiness markers
*/
#ifndef WEFT_NODE_NODE_H
#define WEFT_NODE_NODE_H

#include <czmq.h>
#include <netinet/in.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "journal/journal.h"
#include "node/core/world.h"
#include "node/topic.h"
#include "node/wire.h"
#include "weft.h"

#define NODE_EVENT_CLOSED 100 //  internal: the actor has exited

//  The fixed part of an event sent to the API thread. Never leaves the process.
typedef struct {
    int kind;                            //  WEFT_MSG_* or NODE_EVENT_CLOSED
    uint64_t seq;                        //  message sequence, or lost count for GAP
    int64_t time_us;                     //  publisher's clock
    char sender[WIRE_UUID_SIZE * 2 + 1]; //  peer UUID, hex
    char sender_name[WIRE_NAME_MAX + 1]; //  peer name
} node_event_t;

//  One row of a peer snapshot (copied to the API thread).
typedef struct {
    char uuid[WIRE_UUID_SIZE * 2 + 1];  //  hex
    char name[WIRE_NAME_MAX + 1];       //  "" until its HELLO arrives
    char role[8];                       //  member | client
    char endpoint[WIRE_EP_MAX + 1];     //  ROUTER
    char pub_endpoint[WIRE_EP_MAX + 1]; //  PUB
    char state[12];                     //  connecting | alive | evasive
    char source[8];                     //  beacon | seed | gossip | hello
    char ready[4];                      //  yes | no
    char last_seen_ms[24];              //  ms since last heard
} node_peer_info_t;

typedef enum { SOURCE_BEACON, SOURCE_SEED, SOURCE_GOSSIP, SOURCE_HELLO } peer_source_t;

//  What a subscriber knows of one (publisher, topic) stream.
typedef struct {
    uint64_t last;   //  last seq delivered (or seen, for volatile topics)
    uint64_t head;   //  highest seq the publisher said it has (HEAD or live message)
    bool fresh;      //  nothing seen yet: the first message sets the start
    uint64_t repair; //  request id of the replay in progress, 0 if none
    zlistx_t *held;  //  held_msg_t: live messages waiting for the replay, by seq
} rx_stream_t;

//  A replay this node asked a peer for (a pattern, from a start).
typedef struct {
    uint64_t id;                 //  request id
    char pattern[TOPIC_MAX + 1]; //  what it covers
    int64_t deadline;            //  asked again if no END by then
} rx_request_t;

//  A peer in the table; owned by node->peers.
typedef struct {
    uint8_t uuid[WIRE_UUID_SIZE];          //  raw UUID
    char uuid_hex[WIRE_UUID_SIZE * 2 + 1]; //  table key
    uint64_t incarnation;                  //  as last heard
    char name[WIRE_NAME_MAX + 1];          //  from HELLO
    uint8_t role;                          //  WIRE_ROLE_*
    char router_ep[WIRE_EP_MAX + 1];       //  its ROUTER
    char pub_ep[WIRE_EP_MAX + 1];          //  its PUB
    world_link_t *link;                    //  our link (DEALER) to its ROUTER
    world_t *world;                        //  the world LINK belongs to (borrowed)
    peer_source_t source;                  //  how we learned of it
    bool joined;                           //  its HELLO arrived; JOIN reported
    bool ready;                            //  its readiness marker reached our XPUB
    bool evasive;                          //  EVASIVE reported, not heard since
    uint32_t capacity;                     //  ring weight from HELLO; 0 = owns no queues
    int64_t last_seen;                     //  monotonic ms of the last beacon or message
    int64_t leaving_at;                    //  its leaving beacon came: gone at this time
    zhashx_t *rx;                          //  topic -> rx_stream_t, what we received from it
    zlistx_t *requests;                    //  rx_request_t: replays asked of it, not yet ended
} peer_t;

//  A seed endpoint: HELLO is sent there every interval.
typedef struct {
    char endpoint[WIRE_EP_MAX + 1]; //  tcp://host:port
    world_link_t *link;             //  connected to it
} seed_t;

//  A peer status request waiting for its answer.
typedef struct {
    uint64_t id;      //  request id on the wire
    int64_t deadline; //  monotonic ms; answered ETIMEDOUT after
} pending_status_t;

typedef struct {
    uint64_t published;       //  topic messages sent
    uint64_t received;        //  topic messages received from the SUB
    uint64_t delivered;       //  topic messages handed to the application
    uint64_t gaps;            //  topic messages detected lost (sequence jumps)
    uint64_t app_drops;       //  events dropped because the application did not read
    uint64_t bad_frames;      //  malformed ZeroMQ messages dropped
    uint64_t bad_beacons;     //  malformed beacons dropped
    uint64_t foreign_beacons; //  beacons of another cluster or version ignored
    uint64_t oversized;       //  messages over a size limit dropped
    uint64_t unknown_type;    //  messages of an unknown type dropped
    uint64_t joins;           //  peers joined
    uint64_t leaves;          //  peers left cleanly
    uint64_t expiries;        //  peers expired
    uint64_t journaled;       //  durable messages committed to the journal
    uint64_t journal_errors;  //  failed commits (nothing in them was acknowledged or sent)
    uint64_t replayed;        //  durable messages sent to peers in replays
    uint64_t repaired;        //  durable messages received through replays
    uint64_t held_drops;      //  live messages dropped while a replay was too far behind
} node_counters_t;

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

typedef struct node {
    //  Identity and settings
    weft_config_t *cfg;                    //  our copy of the config
    wlog_t log;                            //  logger, prefix = node name
    char name[WIRE_NAME_MAX + 1];          //  node name
    uint8_t uuid[WIRE_UUID_SIZE];          //  node UUID
    char uuid_hex[WIRE_UUID_SIZE * 2 + 1]; //  same, hex
    uint64_t incarnation;                  //  this run, from the wall clock
    uint8_t role;                          //  WIRE_ROLE_*
    uint64_t cluster_id;                   //  beacon_cluster_id (cluster.name)
    int64_t interval;                      //  discovery.interval_ms
    int64_t evasive_after;                 //  discovery.evasive_ms
    int64_t expire_after;                  //  discovery.expired_ms
    size_t max_message;                    //  limits.max_message
    int64_t started_at;                    //  monotonic ms

    //  Sockets, all owned by the actor thread
    zsock_t *pipe;                   //  actor pipe (commands in, replies out)
    zsock_t *events;                 //  PAIR: events to the API thread
    world_t *world;                  //  clock, randomness, sockets, journal storage (owned)
    bool beacons;                    //  the beacon socket is open (discovery on)
    char addr[INET_ADDRSTRLEN];      //  our interface address
    char bcast[INET_ADDRSTRLEN];     //  where beacons go
    char router_ep[WIRE_EP_MAX + 1]; //  advertised ROUTER endpoint
    char pub_ep[WIRE_EP_MAX + 1];    //  advertised PUB endpoint
    uint16_t router_port;            //  bound ROUTER port
    uint16_t pub_port;               //  bound PUB port

    //  State
    zhashx_t *peers;              //  uuid hex -> peer_t
    zlistx_t *seeds;              //  seed_t, owned
    zhashx_t *early_ready;        //  uuid hex of markers seen before the peer was known
    zhashx_t *stale_subs;         //  PUB endpoint of a gone peer -> when to disconnect it
    topic_set_t *subs;            //  our subscription patterns
    peer_t *rx_peer;              //  pubsub.c: the sender of the last message received
    rx_stream_t *rx_stream;       //  pubsub.c: its stream of the last topic received
    char rx_topic[TOPIC_MAX + 1]; //  that topic
    zlistx_t *rsubs;              //  rsub_t: subscriptions that replay history
    zhashx_t *cursors;            //  "name/publisher/topic" -> uint64_t last acked seq

    //  Journal and durable topics (durable.c)
    journal_t *journal;       //  NULL without journal.dir
    bool journal_sync;        //  journal.sync == sync
    zlistx_t *durables;       //  durable_decl_t
    zlistx_t *outbox;         //  outbound durable messages waiting for the commit
    zhashx_t *heads;          //  topic -> head_t, for HEAD announcements
    zlistx_t *replays;        //  replay jobs we serve to peers
    int journal_failed;       //  sticky WEFT_E* of the last failed commit (atomic)
    size_t retention_next;    //  round-robin index over streams for retention
    int journal_fault;        //  tests: every commit fails with this code (0: none)
    bool retention_due;       //  durable streams grew this turn: trim them before the commit
    zhashx_t *pub_seqs;       //  topic -> last seq published (uint64_t *)
    zlistx_t *pending;        //  pending_status_t, owned
    uint64_t next_request;    //  next status request id
    msgpack_sbuffer sbuf;     //  reused encode buffer
    wire_decoder_t *decoder;  //  reused decoder
    node_counters_t counters; //  see node_counters_t
    bool silenced;            //  tests: beacons and pings off
    bool replaying;           //  replays to serve: poll without waiting
    bool running;             //  START succeeded
    bool terminated;          //  $TERM received

    //  Queues (queue_*.c): opaque here
    struct queues *queues; //  ring, queue states, producers, consumers
    bool ring_dirty;       //  membership changed: recompute the ring at the end of the turn

    //  Shared with the API thread, under confirm_lock: results of blocking sends
    pthread_mutex_t confirm_lock; //  guards confirm_results
    pthread_cond_t confirm_cond;  //  broadcast when a result arrives or the window frees
    zhashx_t *confirm_results;    //  token (decimal) -> int result, for blocking sends
    int sends_in_flight;          //  unconfirmed sends (atomic)

    //  Timers (monotonic ms)
    int64_t beacon_at; //  next beacon + pings + seed HELLOs
    int64_t tick_at;   //  next liveness check
} node_t;

//  The actor function (zactor_fn): ARGS is the node_t, created by api.c and
//  owned by it; the actor fills in and tears down the sockets.
void node_actor (zsock_t *pipe, void *args);

//  One turn of the node's loop, in phases: API commands (when COMMANDS),
//  network in (the inputs flagged in READY), timers, pump, before-commit,
//  the one journal commit, after-commit. The real actor calls it after each
//  wait; the simulator calls it whenever the node is given time.
void node_turn (node_t *self, const bool ready[WORLD_INPUTS], bool commands);

//  When the node next wants a turn even if no input arrives (world time, ms);
//  INT64_MAX when it does not (not started).
int64_t node_next_deadline (node_t *self);

//  Creates a node_t for CFG (copied) living in WORLD (taken, also on failure),
//  with its identity. NULL when out of memory.
node_t *node_new (const weft_config_t *cfg, world_t *world);

//  Frees what node_new made (after the actor has exited). NULL-safe.
void node_destroy (node_t **self_p);

//  --- node.c helpers used by the other parts -------------------------------

//  Sends event EV with optional frames (NULL to omit) to the application,
//  without blocking: counts and drops it if the application is not reading.
//  Takes ownership of the non-NULL zmq_msg_t frames' contents.
void node_emit (node_t *self, const node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                zmq_msg_t *headers);

//  Emits a membership event of KIND about PEER.
void node_emit_peer (node_t *self, int kind, const peer_t *peer);

//  Sends the header in self->sbuf, plus BODY (LEN bytes) if BODY is not NULL,
//  through LINK without blocking. Returns 0 or -1 (dropped: peer too slow).
int node_send (node_t *self, world_link_t *link, const void *body, size_t len);

//  Sends COUNT frames through LINK without blocking (takes them). 0 or -1.
int node_send_frames (node_t *self, world_link_t *link, zmq_msg_t *frames, size_t count);

//  Publishes COUNT frames (topic first) on our PUB (takes them). 0 or -1.
int node_publish (node_t *self, zmq_msg_t *frames, size_t count);

//  Opens a link to ENDPOINT (WORLD_SELF: our own ROUTER) whose routing id is
//  our UUID, plus the 17th byte TAG when TAG is not 0. NULL on failure (logged).
world_link_t *node_link_open (node_t *self, const char *endpoint, char tag);

//  Closes *LINK_P, letting what is queued leave for LINGER_MS. NULL-safe.
void node_link_close (node_t *self, world_link_t **link_p, int linger_ms);

//  Writes the node's status as JSON into a new string (caller frees).
char *node_status_json (node_t *self);

//  A heap copy of FRAME (NULL when out of memory); node_frame_free () frees it.
zmq_msg_t *node_frame_dup (zmq_msg_t *frame);
void node_frame_free (zmq_msg_t **frame_p);

//  FRAME's bytes as a new NUL-terminated string (caller frees); NULL if out of memory.
char *node_frame_strdup (zmq_msg_t *frame);

//  Monotonic milliseconds (the world's clock).
int64_t node_now (node_t *self);

//  Wall-clock microseconds (the world's clock).
int64_t node_wall_us (node_t *self);

//  Deletes ITEM (compared by address) from LIST, running LIST's destructor.
//  (zlistx_find compares items with the list's comparator, which is not the
//  address by default: never use it for structs.) Moves LIST's cursor.
void node_list_remove (zlistx_t *list, void *item);

//  A new list (owning nothing) of LIST's items, to walk while the walk
//  removes items from LIST (which moves LIST's cursor). NULL when out of memory.
zlistx_t *node_list_snapshot (zlistx_t *list);

//  --- membership.c ------------------------------------------------------------

//  Opens beacons (if enabled) and the seed DEALERs. Returns 0 or a WEFT_E*
//  code with the reason in ERR.
int membership_start (node_t *self, char *err, size_t errlen);

//  Says goodbye (leaving beacon, BYE to every peer) and closes every peer.
void membership_stop (node_t *self);

//  Handles every beacon waiting on the UDP socket.
void membership_on_beacon (node_t *self);

//  Handles one message from the ROUTER: FROM is the sender's routing id,
//  HEADER, BODY and EXTRA its frames (BODY and EXTRA may be NULL). Returns
//  after counting and dropping anything malformed.
void membership_on_router (node_t *self, zmq_msg_t *from, zmq_msg_t *header, zmq_msg_t *body,
                           zmq_msg_t *extra);

//  Periodic work: beacon, pings, seed HELLOs, evasive and expired peers,
//  status request timeouts. Called when a timer is due.
void membership_on_timer (node_t *self, int64_t now);

//  Looks up a peer by raw UUID (NULL if unknown).
peer_t *membership_find (node_t *self, const uint8_t *uuid);

//  Looks up a peer by hex UUID (NULL if unknown).
peer_t *membership_find_hex (node_t *self, const char *uuid_hex);

//  Fills INFO (COUNT rows max) with the peer table; returns the number of rows.
size_t membership_snapshot (node_t *self, node_peer_info_t *info, size_t count);

//  Sends a STATUS_REQ to the peer with hex UUID; returns the request id, 0 if unknown.
uint64_t membership_request_status (node_t *self, const char *uuid_hex);

//  --- pubsub.c -----------------------------------------------------------------

//  Binds the XPUB, creates the SUB and subscribes our readiness marker.
int pubsub_start (node_t *self, char *err, size_t errlen);

//  Handles a "PUB" command whose frames follow on the pipe.
void pubsub_on_publish (node_t *self);

//  Subscribes / unsubscribes a pattern. Return 0 or a WEFT_E* code.
int pubsub_subscribe (node_t *self, const char *pattern);
int pubsub_unsubscribe (node_t *self, const char *pattern);

//  Handles every topic message waiting on the SUB (bounded batch).
void pubsub_on_sub (node_t *self);

//  Handles subscription notices on the XPUB (readiness markers).
void pubsub_on_xpub (node_t *self);

//  Connects / disconnects our SUB to a peer's PUB; marks it ready if its
//  marker arrived earlier.
void pubsub_peer_added (node_t *self, peer_t *peer);
void pubsub_peer_removed (node_t *self, peer_t *peer);

//  Disconnects the SUB from endpoints of peers gone for a while.
void pubsub_on_timer (node_t *self, int64_t now);

//  Builds the headers frame ("k\0v\0...") of MSG into FRAME (initialized here).
void pubsub_pack_headers (const wire_msg_t *msg, zmq_msg_t *frame);

//  --- durable.c: durable topics, publisher side ---------------------------------

//  Opens the journal (journal.dir), loads or stores our UUID, declares
//  durable.topics. Returns 0 or WEFT_E* with the reason in ERR.
int durable_start (node_t *self, char *err, size_t errlen);

//  Commits what is pending and closes the journal.
void durable_stop (node_t *self);

//  Declares PATTERN durable with retention LIMITS (again: new limits).
//  WEFT_EINVAL for a bad pattern, WEFT_ESTATE without a journal.
int durable_declare (node_t *self, const char *pattern, const journal_limits_t *limits);

//  Parses "max_age_ms=N,max_bytes=N,max_count=N" (any subset) into LIMITS.
int durable_parse_limits (const char *text, journal_limits_t *limits);

//  If topic NAME is durable: stages MSG (seq assigned here) in the journal and
//  queues the frames to go out after the commit; returns true (the frames are
//  taken). Returns false for a volatile topic (nothing done).
bool durable_publish (node_t *self, const char *name, zmq_msg_t *topic, zmq_msg_t *body,
                      wire_msg_t *msg);

//  Commits the turn's batch; on success sends the durable messages waiting for
//  it, on failure drops them, counts and remembers the error (journal_failed).
//  Returns false when the commit failed.
bool durable_flush (node_t *self);

//  Timers: HEAD announcements (each INTERVAL), retention, failure probe.
void durable_on_timer (node_t *self, int64_t now, bool interval);

//  A peer asked for a replay (REPLAY_REQ is in the decoder).
void durable_on_replay_req (node_t *self, peer_t *peer);

//  Sends a bounded amount of replay traffic; true while replays remain.
bool durable_pump (node_t *self);

//  The journal's streams as a JSON array ("null" without a journal); caller frees.
char *durable_journal_json (node_t *self);

//  --- queue_*.c: queues --------------------------------------------------------

//  Creates the queue context (ring, tables, the loop DEALER). 0 or WEFT_E*.
int queues_start (node_t *self, char *err, size_t errlen);
void queues_stop (node_t *self);

//  Membership changed (a member joined or went): the ring is recomputed at
//  the end of the turn and queues move with it.
void queues_membership_changed (node_t *self);

//  A queue message (type WIRE_Q*, in the decoder) from PEER, or from this
//  node itself when FROM_SELF; BODY is its body frame or NULL.
void queues_on_message (node_t *self, peer_t *peer, bool from_self, int type, zmq_msg_t *body);

//  PEER is gone: its consumers' messages are redelivered, waits on it end.
void queues_peer_gone (node_t *self, peer_t *peer);

//  End of a loop turn, before the commit: ring changes, resends, jobs.
void queues_before_commit (node_t *self, int64_t now);

//  After the turn's commit (OK: it succeeded): confirm, replicate, dispatch.
void queues_after_commit (node_t *self, bool ok);

//  Timers: ack timeouts, dead letters, resends, sync timeouts, consumer refresh.
void queues_on_timer (node_t *self, int64_t now, bool interval);

//  True while queue jobs (sync, replication) have more to send.
bool queues_busy (node_t *self);

//  Status: ring and queues as JSON members ("ring":...,"queues":...); caller frees.
char *queues_status_json (node_t *self);

//  The arguments of a "QSEND" command: one frame, then the body frame
//  (api_queue.c builds it, queue_client.c reads it). TYPE WIRE_QREDRIVE asks
//  for a redrive of QUEUE (the body is then empty).
typedef struct {
    uint64_t token;                      //  the API's token
    int type;                            //  WIRE_QSEND or WIRE_QREDRIVE
    uint8_t priority, replication, acks; //  send options (0 replication: the default)
    bool blocking;                       //  a caller waits on confirm_cond for the result
    int64_t timeout_ms;                  //  give up after (0: queues.send_timeout_ms)
    char queue[WIRE_TOPIC_MAX + 1];      //  queue
    char msg_id[WIRE_MSG_ID_MAX + 1];    //  producer's id ("": generate one)
} queue_args_t;

//  The arguments of a "SETTLE" command: one frame (api_queue.c -> queue_client.c).
typedef struct {
    char owner[WIRE_UUID_SIZE * 2 + 1]; //  the delivery's owner
    char queue[WIRE_TOPIC_MAX + 1];     //  its queue
    uint64_t seq;                       //  delivery id
    uint32_t deliveries;                //  its delivery count (a redelivery is another one)
    int kind;                           //  WIRE_SETTLE_*
    int delay_ms;                       //  nack delay
} queue_settle_args_t;

//  Commands from the API thread (the frames follow on the pipe).
void queues_cmd_send (node_t *self);
void queues_cmd_consume (node_t *self);
void queues_cmd_cancel (node_t *self);
void queues_cmd_settle (node_t *self);

//  Records the result of blocking send TOKEN for the API thread (and wakes it).
void node_confirm_result (node_t *self, uint64_t token, int result);

//  --- repair.c: durable topics, subscriber side --------------------------------

int repair_start (node_t *self);
void repair_stop (node_t *self);

//  zhashx destructor of rx_stream_t; and the state of PEER's stream TOPIC.
void repair_stream_free (void **item);
rx_stream_t *repair_stream (peer_t *peer, const char *topic);

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
