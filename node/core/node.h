/*  node/core/node.h - the core's state (node_t, peer_t) and the services it
    gives its subsystems: sends, publishes, links, events, the peer table,
    the commit, clocks. core.h is the subsystem interface; docs/ARCHITECTURE.md
    the map.

    One thread (the actor, or the simulator's) owns every socket and table
    below, so none of it is locked. The API thread (node/api/) hands the node
    to that thread and then talks to it only over the pipe (commands) and the
    events PAIR, plus the board (board.h: send window, blocking results,
    journal health). Commands and their replies:

      command frames                      reply                     handled by
      "START"                             rc, error text, uuid       core
      "PUB" topic body [headers]          none (the pipe HWM brakes)  core, then durable or pubsub
      "SUB" / "UNSUB" pattern             rc                         core
      "STATUS"                            rc, json                   core
      "JFAIL" err                         rc (tests: failing commits) core
      "$TERM"                             none; goodbyes, then exit  core
      "PEERS"                             count, node_peer_info_t[]  membership
      "PSTATUS" uuid-hex timeout-ms       rc, json                   membership
      "SILENCE" 0|1                       rc (tests: falls silent)    core
      "DURABLE" / "RSUB" / "ACK"          rc                         durable
      "QSEND" / "CONSUME" / "CANCEL" / "SETTLE"  (queue_cmd.h)        queues

    Messages and events for the application go out on the PAIR (node->events)
    as [node_event_t][topic][body][headers]; node/api/ turns them into
    weft_msg_t. A final event of kind NODE_EVENT_CLOSED says the node stopped.
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
#include "node/core/board.h"
#include "node/core/core.h"
#include "node/core/world.h"
#include "node/wire/topic.h"
#include "node/wire/wire.h"
#include "weft.h"

#define NODE_EVENT_CLOSED 100 //  internal: the actor has exited

//  node_event_t.flags
#define NODE_EVENT_AUTO_ACK 0x1u //  durable: when the application takes it, say TAKEN

//  Planted bugs (node_t.buggify), after FoundationDB's BUGGIFY: only the
//  simulator sets them, to prove its invariants catch a real-code bug; a
//  node outside tests/sim always has 0.
#define NODE_BUGGIFY_DURABLE_NO_HOLD 0x1u //  durable: deliver past a gap instead of repairing it

//  The fixed part of an event sent to the API thread. Never leaves the process.
typedef struct node_event {
    int kind;                            //  WEFT_MSG_* or NODE_EVENT_CLOSED
    uint32_t flags;                      //  NODE_EVENT_* flags
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

//  A peer in the table; owned by node->peers.
typedef struct peer {
    uint8_t uuid[WIRE_UUID_SIZE];          //  raw UUID
    char uuid_hex[WIRE_UUID_SIZE * 2 + 1]; //  table key
    uint64_t incarnation;                  //  as last heard
    char name[WIRE_NAME_MAX + 1];          //  from HELLO
    uint8_t role;                          //  WIRE_ROLE_*
    char router_ep[WIRE_EP_MAX + 1];       //  its ROUTER
    char pub_ep[WIRE_EP_MAX + 1];          //  its PUB
    world_link_t *link;                    //  our link (DEALER) to its ROUTER
    peer_source_t source;                  //  how we learned of it
    bool joined;                           //  its HELLO arrived; JOIN reported
    bool ready;                            //  its readiness marker reached our XPUB
    bool evasive;                          //  EVASIVE reported, not heard since
    uint32_t capacity;                     //  ring weight from HELLO; 0 = owns no queues
    uint32_t caps;                         //  WIRE_CAP_* from HELLO (0 until it arrives)
    int64_t last_seen;                     //  monotonic ms of the last beacon or message
    int64_t leaving_at;                    //  its leaving beacon came: gone at this time
    void *state[SUBSYS_MAX];               //  each subsystem's per-peer state (core-allocated)
} peer_t;

typedef struct {
    uint64_t published;       //  topic messages sent
    uint64_t received;        //  topic messages received from the SUB
    uint64_t delivered;       //  topic messages handed to the application
    uint64_t gaps;            //  topic messages detected lost (sequence jumps)
    uint64_t app_drops;       //  events dropped because the application did not read
    uint64_t bad_frames;      //  malformed ZeroMQ messages dropped
    uint64_t bad_beacons;     //  malformed beacons dropped
    uint64_t foreign_beacons; //  beacons of another cluster or version ignored
    uint64_t foreign_hellos;  //  HELLOs of nodes of another cluster refused
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

typedef struct node {
    //  Identity and settings
    weft_config_t *cfg;                    //  our copy of the config
    wlog_t log;                            //  logger, prefix = node name
    char name[WIRE_NAME_MAX + 1];          //  node name
    uint8_t uuid[WIRE_UUID_SIZE];          //  node UUID
    char uuid_hex[WIRE_UUID_SIZE * 2 + 1]; //  same, hex
    uint64_t incarnation;                  //  this run, from the wall clock
    uint8_t role;                          //  WIRE_ROLE_*
    int64_t interval;                      //  discovery.interval_ms
    int64_t evasive_after;                 //  discovery.evasive_ms
    int64_t expire_after;                  //  discovery.expired_ms
    size_t max_message;                    //  limits.max_message
    int64_t started_at;                    //  monotonic ms

    //  Sockets, all owned by the actor thread
    zsock_t *pipe;                   //  actor pipe (commands in, replies out)
    zsock_t *events;                 //  PAIR: events to the API thread
    world_t *world;                  //  clock, randomness, sockets, journal storage (borrowed)
    bool beacons;                    //  the beacon socket is open (discovery on)
    char addr[INET_ADDRSTRLEN];      //  our interface address
    char bcast[INET_ADDRSTRLEN];     //  where beacons go
    char router_ep[WIRE_EP_MAX + 1]; //  advertised ROUTER endpoint
    char pub_ep[WIRE_EP_MAX + 1];    //  advertised PUB endpoint
    uint16_t router_port;            //  bound ROUTER port
    uint16_t pub_port;               //  bound PUB port

    //  State
    zhashx_t *peers;   //  uuid hex -> peer_t
    topic_set_t *subs; //  our subscription patterns
    peer_t *rx_peer;   //  loop.c: the sender of the last topic message received

    //  Journal
    journal_t *journal;       //  NULL without journal.dir
    bool journal_sync;        //  journal.sync == sync
    int journal_failed;       //  sticky WEFT_E* of the last failed commit (0: it works)
    int journal_fault;        //  tests: every commit fails with this code (0: none)
    uint64_t next_request;    //  request ids on the wire (status, replay): never repeat
    msgpack_sbuffer sbuf;     //  reused encode buffer
    wire_decoder_t *decoder;  //  reused decoder
    node_counters_t counters; //  see node_counters_t
    bool silenced;    //  tests (SILENCE): sends nothing on its own (beacons, pings, resends)
    bool replaying;   //  replays to serve: poll without waiting
    bool running;     //  START succeeded
    bool terminated;  //  $TERM received
    bool crashed;     //  node_crash: no commit, no goodbye on the way down
    uint32_t buggify; //  NODE_BUGGIFY_* planted bugs (tests/sim only; 0 otherwise)

    //  Shared with the API thread: the send window, blocking sends' results and
    node_probe_fn *probe; //  observer of facts (tests/sim only; NULL otherwise)
    void *probe_arg;      //  its argument
    //  the journal's health (board.h; the only state both threads touch)
    board_t *board; //  owned; the API thread borrows it for the node's life

    //  Timers (monotonic ms)
    int64_t beacon_at; //  next beacon + pings + seed HELLOs
    int64_t tick_at;   //  next liveness check

    //  The core's own
    void *state[SUBSYS_MAX];  //  each subsystem's per-node state (core-allocated)
    bool started[SUBSYS_MAX]; //  its start succeeded: stop it
    uint32_t capacity; //  our ring weight, said in HELLO (node.capacity; 0 without a journal)
    uint64_t commits;  //  journal commits made (one per turn with writes)
    uint64_t commit_failures; //  of which failed
    uint64_t commit_ops;      //  journal operations committed in them
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

//  Creates a node_t for CFG (copied) living in WORLD (borrowed: it must
//  outlive the node), with its identity. NULL when out of memory (or no WORLD).
node_t *node_new (const weft_config_t *cfg, world_t *world);

//  Frees what node_new made (after the actor has exited). NULL-safe.
void node_destroy (node_t **self_p);

//  Stops a started node: the last commit, the subsystems in reverse order,
//  the peers, the journal, the world's sockets. Idempotent.
void node_stop (node_t *self);

//  Crashes the node, as kill -9 would: unplugs it from its world (nothing it
//  says on the way down leaves; its links are forgotten, not closed: their
//  world frees them), discards what the journal staged and did not commit,
//  and frees everything. The world stays the caller's. For the simulator.
void node_crash (node_t *self);

//  Runs command NAME if it is one of the core's own (START, $TERM, PUB, SUB,
//  UNSUB, STATUS, JFAIL); false when it is not (or not valid yet).
bool node_core_command (node_t *self, const char *name);

//  Adds / removes a pattern of the application's subscriptions (and the
//  SUB's prefix filter). 0 or WEFT_EINVAL / WEFT_ENOTFOUND.
int node_subscribe (node_t *self, const char *pattern);
int node_unsubscribe (node_t *self, const char *pattern);

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

//  Publishes the HEAD of our stream TOPIC: SEQ, the last seq sent on it,
//  with FLAGS (WIRE_FLAG_HEAD, plus WIRE_FLAG_DURABLE for a durable stream)
//  and an empty body (PROTOCOL.md §7, §11.2). 0 or -1.
int node_publish_head (node_t *self, const char *topic, uint64_t seq, uint32_t flags);

//  Opens a link to ENDPOINT (WORLD_SELF: our own ROUTER) whose routing id is
//  our UUID, plus the 17th byte TAG when TAG is not 0. NULL on failure (logged).
world_link_t *node_link_open (node_t *self, const char *endpoint, char tag);

//  Closes *LINK_P, letting what is queued leave for LINGER_MS. NULL-safe.
void node_link_close (node_t *self, world_link_t **link_p, int linger_ms);

//  Writes the node's status as JSON into a new string (caller frees).
char *node_status_json (node_t *self);

//  --- The peer table (node/core/peers.c) ----------------------------------------

//  Looks up a peer by raw UUID / by hex UUID; NULL if unknown.
peer_t *node_peer_find (node_t *self, const uint8_t *uuid);
peer_t *node_peer_find_hex (node_t *self, const char *uuid_hex);

//  A new peer (zeroed, with its UUID and hex form, each subsystem's per-peer
//  state allocated), not yet in the table. NULL when out of memory.
peer_t *node_peer_new (node_t *self, const uint8_t *uuid);

//  Frees a peer made by node_peer_new that never entered the table (no event).
void node_peer_discard (node_t *self, peer_t *peer);

//  Puts PEER in the table and fires PEER_ADDED. Returns 0, or -1 (PEER freed).
int node_peer_insert (node_t *self, peer_t *peer);

//  Fires PEER_REMOVED, takes PEER out of the table and frees it (its link,
//  its subsystem state). PEER is invalid after.
void node_peer_remove (node_t *self, peer_t *peer);

//  PEER was heard from now (any message or beacon): not evasive any more.
void node_peer_heard (node_t *self, peer_t *peer);

//  The number of peers in the table.
size_t node_peer_count (node_t *self);

//  Frees every peer (no events: the subsystems have stopped) and the table.
void node_peers_free (node_t *self);

//  --- The commit (node/core/node.c) -------------------------------------------

//  Commits what the turn staged in the journal (one batch, synced per
//  journal.sync). True when it succeeded or there was nothing to commit.
//  On failure: logs once, remembers the error in journal_failed (readable by
//  any thread) until a later commit succeeds.
bool node_commit (node_t *self);

//  Phases 6 and 7 of a turn: the commit, then every subsystem's after-commit
//  with its outcome (node_turn ends with it; so does a stop, for what the
//  last turn staged).
void node_commit_and_release (node_t *self);

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

#endif
