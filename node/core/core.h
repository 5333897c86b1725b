/*  node/core/core.h - the core's door for subsystems.

    The core owns the loop, the peer table, the router, the timers, the
    world (node/core/world.h) and the one journal commit per loop turn. It
    knows no subsystem: each subsystem (membership, pubsub, durable topics,
    queues) fills one subsystem_t and the core calls it, nng-style.

    A loop turn, in phases (node_turn):
      1. API commands: each command name belongs to one subsystem (or the core);
      2. network in: ROUTER messages go to the subsystem whose type range holds
         their type; topic messages (SUB) go to the subsystem that takes their
         flags; subscription notices (XPUB) and beacons to whoever asked for them;
      3. timers: on_timer of each subsystem, membership first (reverse slot
         order); INTERVAL is true once per discovery interval, and between
         intervals a tick comes 5 times per evasive period (10 to 100 ms);
      4. pump: bounded work left over from earlier turns;
      5. before_commit: subsystems stage what must be journaled this turn;
      6. the commit: the turn's batch is committed once (synced or not, per
         journal.sync) - see node_commit ();
      7. after_commit: confirms, acks and sends that waited for the commit are
         released (OK tells whether it succeeded: if not, nothing that
         depended on it may be acknowledged).
    Subsystems never call each other. What one needs from another is a core
    event (peer added / joined / changed / removed, publish, topic message)
    or a field of the core's own state (node.h).

    Thread: everything here runs on the node's thread (the actor, or the
    simulator's single thread).
*/
#ifndef WEFT_NODE_CORE_CORE_H
#define WEFT_NODE_CORE_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct node node_t;
typedef struct peer peer_t;
typedef struct wire_msg wire_msg_t;
typedef struct node_event node_event_t;

//  What happened to a peer (peer_event).
typedef enum {
    PEER_ADDED = 0,   //  entered the table: a link is open, our SUB is connected to it
    PEER_JOINED = 1,  //  its HELLO arrived: it is a member of the fabric (JOIN reported)
    PEER_CHANGED = 2, //  its HELLO changed what it offers (capacity)
    PEER_REMOVED = 3  //  left or expired; its state is freed after this event
} peer_event_t;

//  The subsystems the core knows of, by slot. A slot only reserves room in
//  the tables; the core never includes a subsystem's header.
//  Slot order is start order (stop is the reverse) and the order in which
//  on_publish is asked: durable topics claim theirs before pubsub takes the
//  rest; membership starts last, when everything its peers reach is up.
typedef enum {
    SUBSYS_DURABLE = 0,
    SUBSYS_PUBSUB = 1,
    SUBSYS_QUEUES = 2,
    SUBSYS_MEMBERSHIP = 3,
    SUBSYS_MAX = 4
} subsys_id_t;

//  One subsystem: a table of operations, every one optional (NULL: nothing
//  to do). STATE is the subsystem's per-node state, STATE_SIZE bytes zeroed
//  by the core before start and freed after stop; PEER_STATE (from
//  node_peer_state ()) its per-peer state, zeroed at PEER_ADDED and freed
//  after PEER_REMOVED.
typedef struct {
    const char *name;            //  "membership", "pubsub", ...
    subsys_id_t id;              //  its slot
    size_t state_size;           //  per-node state, bytes
    size_t peer_state_size;      //  per-peer state, bytes
    uint8_t type_min;            //  ROUTER message types it owns: [type_min, type_max]
    uint8_t type_max;            //  (0, 0: none)
    size_t max_payload;          //  its messages' payloads may reach this (0: limits.max_message);
                                 //  the subsystem checks its own types' sizes then
    bool from_unknown;           //  takes messages of peers not in the table (HELLO)
    bool from_self;              //  takes messages this node sends to itself (WORLD_SELF)
    uint32_t topic_flags;        //  topic messages with any of these flags are its own;
                                 //  the subsystem with 0 here takes the rest
    const char *const *commands; //  API command names it handles, NULL-terminated

    //  Starts (sockets, tables, what the journal holds). 0 or WEFT_E* with ERR.
    //  Subsystems start in slot order and stop in reverse. A start that fails
    //  is followed by its stop, which must cope with a half-made state.
    int (*start) (node_t *node, void *state, char *err, size_t errlen);
    //  Stops: goodbyes, then frees what start made (not STATE itself).
    void (*stop) (node_t *node, void *state);

    //  A command NAME from the API thread; its frames follow on node->pipe.
    void (*on_command) (node_t *node, void *state, const char *name);

    //  A ROUTER message of TYPE (decoded into node->decoder) from PEER (NULL
    //  for an unknown sender or ourselves, see FROM). FROM is the sender's
    //  routing id; BODY and EXTRA the frames after the header (may be NULL).
    void (*on_message) (node_t *node, void *state, peer_t *peer, int type, zmq_msg_t *from,
                        zmq_msg_t *body, zmq_msg_t *extra);

    //  A topic message from the SUB: NAME its topic (validated), MSG its
    //  decoded header, PEER its sender (NULL if unknown), EV the event the
    //  application would get (kind, seq, time, sender). TOPIC, BODY and
    //  HEADERS (the application's headers frame, NULL when none) are handed
    //  over: move them out (node_emit does) to keep them; closed by the core after.
    void (*on_topic) (node_t *node, void *state, peer_t *peer, const char *name,
                      const wire_msg_t *msg, node_event_t *ev, zmq_msg_t *topic, zmq_msg_t *body,
                      zmq_msg_t *headers);

    //  The application publishes on topic NAME. Returns true when this
    //  subsystem took the message (TOPIC and BODY then belong to it); the
    //  core asks each subsystem in slot order until one takes it.
    bool (*on_publish) (node_t *node, void *state, const char *name, zmq_msg_t *topic,
                        zmq_msg_t *body, wire_msg_t *msg);

    //  Inputs the subsystem reads itself (XPUB notices, beacons).
    void (*on_xpub) (node_t *node, void *state);
    void (*on_beacon) (node_t *node, void *state);

    //  Something happened to PEER (see peer_event_t).
    void (*peer_event) (node_t *node, void *state, peer_t *peer, peer_event_t event);
    //  Frees what the subsystem keeps in PEER_STATE (not PEER_STATE itself).
    //  Called for every peer freed, also at shutdown when no event is fired.
    void (*peer_fini) (peer_t *peer, void *peer_state);

    //  Timers (phase 3): called at every interval and every tick.
    void (*on_timer) (node_t *node, void *state, int64_t now, bool interval);
    //  Bounded work (phase 4); true while more is left (the loop then does not wait).
    bool (*pump) (node_t *node, void *state);
    //  Phases 5 and 7.
    void (*before_commit) (node_t *node, void *state, int64_t now);
    void (*after_commit) (node_t *node, void *state, bool ok);

    //  Its part of the node's status: adds its members to the status
    //  object INTO (node_status_json () writes it). Returns 0, or -1 when out
    //  of memory (the node then has no status to give).
    int (*status) (node_t *node, void *state, json_t *into);
} subsystem_t;

//  Facts a subsystem reports to an observer (node_probe): the simulator's
//  ledger checks its cross-node invariants on them. Nothing listens outside
//  tests/sim, and then reporting costs one branch.
typedef enum {
    NODE_FACT_ACKED = 1,     //  queue A: the ack of message id B is in this turn's commit
    NODE_FACT_OWNER = 2,     //  queue A: we serve it as its owner, under ring epoch N
    NODE_FACT_UNOWNED = 3,   //  queue A: we no longer own it
    NODE_FACT_DISPATCHED = 4 //  queue A: message id B sent to a consumer, its N-th delivery
} node_fact_t;

//  The observer: ARG as given to it, the node that reports, the fact.
typedef void (node_probe_fn) (void *arg, node_t *node, node_fact_t fact, const char *a,
                              const char *b, uint64_t n);

//  Reports FACT to the node's observer, if it has one.
void node_probe (node_t *node, node_fact_t fact, const char *a, const char *b, uint64_t n);

//  The subsystems this build has, in slot order (node/subsystems.c, the one
//  file that names them all). The core reads the table; it never names one.
extern const subsystem_t *const node_subsystems[SUBSYS_MAX];

//  The per-node state of subsystem ID (as allocated by the core).
void *node_state (node_t *node, subsys_id_t id);

//  PEER's per-peer state for subsystem ID (NULL if the subsystem has none).
void *node_peer_state (peer_t *peer, subsys_id_t id);

//  Fires EVENT about PEER to every subsystem (slot order; PEER_REMOVED in
//  reverse order). Membership calls it; the core frees PEER's subsystem
//  state after PEER_REMOVED.
void node_peer_event (node_t *node, peer_t *peer, peer_event_t event);

#endif
