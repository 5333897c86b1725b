/*  node/queues/queue.h - what the files of the queues subsystem share
    (nothing outside node/queues/ includes it; the table is in queue_sub.c).

    queue_ring.c    the ring over live members, ownership changes, routing, status
    queue_owner.c   the owner: enqueue, dedup, confirm, dispatch, settle, dead letters
    queue_store.c   the journal side: entries, replicas, sync between holders, jobs
    queue_client.c  this node as a producer (sends, resends, confirms) and consumer

    Every node keeps one journal stream per queue it holds, "q/<queue>", whose
    sequence numbers are its own (local seq). An owner's qstate uses those
    local seqs; a replica remembers, per queue, which local seq holds each of
    the owner's seqs (oseq), so that the owner's deletions find their copy.
    An entry is: u32 big-endian header length | msgpack header | body (framed
    by node/wire/entry.h), the header being
    [msg_id, priority, deliveries, time_us, oseq, reason].

    Queue traffic between two nodes goes over the same DEALER/ROUTER path as
    everything else; traffic of a node with itself (it owns a queue it also
    produces to or consumes from) goes through a DEALER connected to its own
    ROUTER over inproc, so there is one code path.
*/
#ifndef WEFT_NODE_QUEUE_H
#define WEFT_NODE_QUEUE_H

#include "node/core/node.h"
#include "node/qgroup/qhost.h"
#include "node/queues/qstate.h"
#include "node/queues/queue_cmd.h"
#include "node/ring/ring.h"

#define QUEUE_SUFFIX_DLQ ".dlq"
#define QUEUE_SYNC_WAIT  3000       //  ms a new owner waits for a former holder to answer
#define QUEUE_JOB_BUDGET 2048       //  messages sent by jobs per loop turn
#define QUEUE_DISPATCH   4096       //  deliveries per loop turn
#define QUEUE_CREDIT     (1u << 30) //  credits: the prefetch is the real limit

//  A body kept in memory as a qstate payload.
typedef struct {
    int64_t time_us;                  //  when it was first sent (producer's clock)
    char reason[WIRE_REASON_MAX + 1]; //  why it was dead-lettered, "" if not
    char msg_id[WIRE_MSG_ID_MAX + 1]; //  the producer\'s id (the qstate may hold it without)
    size_t len;                       //  body bytes
    char data[];                      //  the body
} qbody_t;

//  A QSEND held while its queue syncs.
typedef struct {
    wire_queue_t msg;                  //  as received
    char from[WIRE_UUID_SIZE * 2 + 1]; //  sender
    zmq_msg_t *body;                   //  its body
} held_send_t;

//  One queue as this node holds it.
typedef struct {
    char name[WIRE_TOPIC_MAX + 1];   //  queue name
    char stream[WIRE_TOPIC_MAX + 3]; //  "q/<name>"
    bool owner;                      //  we own it (per our ring)
    bool active;                     //  owner: loaded and serving
    qstate_t *q;                     //  owner: the state machine, NULL otherwise
    zhashx_t *sync_wait;             //  owner while syncing: holder uuid -> deadline
    bool resync;                     //  owner: merging the holders' copies after a ring change
    zlistx_t *held;                  //  owner while syncing: QSENDs to handle after
    zhashx_t *oseqs;                 //  holder: owner seq (decimal) -> local seq
    char replicas[9][WIRE_UUID_SIZE * 2 + 1]; //  owner: the members we replicate to
    size_t nreplicas;                         //  how many
    uint8_t replication;                      //  owner: largest replication asked for
    zlistx_t *deletes;                        //  owner: seqs deleted this turn, for QREPL_DEL
    uint64_t dead;                            //  messages moved to the dead-letter queue
    uint64_t redriving; //  dead letters the redrive consumer has still to move
} queue_t;

//  A message id in the order it was first seen, for pruning the dedup window.
typedef struct {
    int64_t seen; //  wall ms
    char key[];   //  "<queue>/<msg_id>"
} dedup_entry_t;

//  A message staged in the journal this turn, handled after the commit.
typedef struct {
    queue_t *queue;                        //  where
    uint64_t seq;                          //  local seq, 0 for a duplicate (confirm only)
    char msg_id[WIRE_MSG_ID_MAX + 1];      //  producer's id
    uint8_t priority;                      //  0..9
    uint32_t deliveries;                   //  so far
    qbody_t *body;                         //  owned until enqueued
    char producer[WIRE_UUID_SIZE * 2 + 1]; //  who to confirm to ("" for none)
    uint64_t token;                        //  producer's token
    uint8_t replication, acks;             //  write policy
    bool duplicate;                        //  confirm as a duplicate
} staged_t;

//  An answer that waits for the turn's commit: QREPL_ACK (a copy is on disk)
//  or QSYNC_DONE (a sync's messages are on disk).
typedef struct {
    int type;                        //  WIRE_QREPL_ACK or WIRE_QSYNC_DONE
    char to[WIRE_UUID_SIZE * 2 + 1]; //  whom
    char queue[WIRE_TOPIC_MAX + 1];  //  queue
    uint64_t seq;                    //  the owner's seq (QREPL_ACK)
} qanswer_t;

//  A confirm waiting for replicas' QREPL_ACKs.
typedef struct {
    char queue[WIRE_TOPIC_MAX + 1];        //  queue
    uint64_t seq;                          //  local seq
    char producer[WIRE_UUID_SIZE * 2 + 1]; //  who to confirm to
    uint64_t token;                        //  its token
    zhashx_t *waiting;                     //  replica uuids still to ack
} confirm_t;

//  A message this node sends as a producer, until confirmed. Compact: only
//  what QSEND (TQIPDRNAV) and QREDRIVE (TQ) carry, its strings in one tail
//  allocated to their real lengths; the wire_queue_t is built at each send
//  (outgoing_wire () in queue_client.c), in the reused scratch (queues->out).
typedef struct {
    uint64_t token;                         //  the API's token (or an internal one)
    int type;                               //  WIRE_QSEND or WIRE_QREDRIVE
    bool blocking;                          //  a weft_send waits for it
    bool internal;                          //  a transfer by this node (dead letter, redrive)
    uint8_t priority;                       //  P: 0..9
    uint8_t replication;                    //  N: copies wanted
    uint8_t acks;                           //  A: WIRE_ACKS_*
    uint8_t refusals;                       //  "not the owner" answers or silences (route ())
    uint32_t deliveries;                    //  D: deliveries so far (a transfer's)
    int64_t time_us;                        //  V: when it was first sent (producer's clock)
    zmq_msg_t body;                         //  kept for resends
    char target[WIRE_UUID_SIZE * 2 + 1];    //  owner sent to ("" if none yet)
    int64_t sent_at;                        //  when (monotonic ms), 0 if not sent
    int64_t deadline;                       //  fail after
    uint64_t src_seq;                       //  internal: its local seq in src_queue
    uint64_t src_group;                     //  internal, Raft: the group it leaves (0: none)
    char src_owner[WIRE_UUID_SIZE * 2 + 1]; //  redrive: the dead-letter queue's owner
    const char *queue;                      //  Q: queue name (in strings)
    const char *msg_id;                     //  I: producer's id (in strings)
    const char *reason;                     //  R: dead-letter reason, "" if none (in strings)
    const char *consumer;                   //  redrive: the dead letter's consumer (in strings)
    const char *src_queue;                  //  internal: queue it leaves, "" (in strings)
    char strings[];                         //  the five strings above, NUL-terminated
} outgoing_t;

//  8.8 KB each when it embedded a wire_queue_t: a window of unconfirmed sends
//  must stay cheap (the strings add at most ~580 bytes, sized to their content).
_Static_assert(sizeof (outgoing_t) <= 320, "outgoing_t must stay compact");

//  A local consumer (weft_consume).
typedef struct {
    char queue[WIRE_TOPIC_MAX + 1];     //  queue
    char id[WIRE_CONSUMER_MAX + 1];     //  "<our uuid>/<n>"
    uint32_t prefetch;                  //  most unacked deliveries
    char owner[WIRE_UUID_SIZE * 2 + 1]; //  where it is registered ("" if nowhere)
} consumer_t;

//  A job streaming a queue's entries to a peer (sync to a new owner, or a
//  full copy to a replica), a bounded amount per turn.
typedef struct {
    int type;                          //  WIRE_QSYNC_MSG or WIRE_QREPL
    char peer[WIRE_UUID_SIZE * 2 + 1]; //  to whom
    char queue[WIRE_TOPIC_MAX + 1];    //  which queue
    uint64_t next;                     //  next local seq to send
    uint64_t sent;                     //  sent so far
} qjob_t;

//  --- The Raft engine (queues.engine = raft: queue_raft*.c) ---------------------

//  A consumer registered at a group this member leads.
typedef struct {
    uint64_t id;                       //  qhost's consumer id
    char name[WIRE_CONSUMER_MAX + 1];  //  the client's consumer id, "<uuid>/<n>"
    char peer[WIRE_UUID_SIZE * 2 + 1]; //  its node
} rcons_t;

//  A queue group this member hosts.
typedef struct {
    node_t *node;                        //  back
    char name[WIRE_TOPIC_MAX + 1];       //  the queue
    char founder[WIRE_UUID_SIZE * 2 + 1]; //  who founded it (its id is hash (name, founder))
    uint64_t id;                         //  group id
    qhost_t *host;                       //  the group on this member
    zhashx_t *consumers;                 //  leader: consumer name -> rcons_t
    uint64_t next_consumer;              //  rcons_t ids
    uint64_t served_term;                //  the qhost_epoch () whose consumers these are
    bool staged;                         //  its writes are in this turn's batch
    bool changing;                       //  a membership change of ours is in flight
    bool draining;                       //  leader: moving messages out (see move_to)
    char move_to[WIRE_TOPIC_MAX + 1];    //  where: its own queue's serving group (superseded),
                                         //  or, for a dead-letter queue, its queue (redrive)
    uint64_t move_left;                  //  messages still to move (redrive: those there then)
    int64_t gone_at;                     //  left its configuration at (0: in it)
} rgq_t;

//  A founding in progress: the other members are asked whether they host a
//  group of the queue; it is founded once all said no.
typedef struct {
    char name[WIRE_TOPIC_MAX + 1];
    zhashx_t *waiting; //  uuid hex -> (unused) members that did not answer
    int64_t deadline;  //  give up then (the next request starts again)
} rfound_t;

//  A group this member knows of (hosting it or not), kept as a meta record.
typedef struct {
    uint64_t id;                          //  group id
    char founder[WIRE_UUID_SIZE * 2 + 1]; //  its founder ("" when only its id is known)
    uint64_t voters[9];                   //  its first voters
    size_t nvoters;                       //  how many
} rknown_t;

//  The subsystem's per-node state, allocated (zeroed) and freed by the core;
//  queues_start () fills it in place, queues_stop () empties it.
struct queues {
    bool started;           //  queues_start succeeded, queues_stop not yet run
    bool ring_dirty;        //  membership changed: recompute the ring at the end of the turn
    ring_t *ring;           //  live members that own queues
    uint64_t epoch;         //  ring_epoch () of the last computation
    zhashx_t *queues;       //  name -> queue_t
    world_link_t *loop;     //  link to our own ROUTER (WORLD_SELF)
    peer_t self_peer;       //  this node seen as a peer (its dealer is loop)
    zlistx_t *staged;       //  staged_t, this turn
    zlistx_t *confirms;     //  confirm_t, waiting for replicas
    zlistx_t *repl_acks;    //  QREPL_ACKs to send after the commit (wire_queue_t *)
    zlistx_t *outgoing;     //  outgoing_t, unconfirmed sends
    zhashx_t *by_token;     //  token (hex) -> outgoing_t, the same messages
    zhashx_t *consumers;    //  consumer id -> consumer_t
    zhashx_t *deliveries;   //  "<owner>/<seq>/<queue>" -> consumer id, unsettled
    zlistx_t *jobs;         //  qjob_t
    zhashx_t *dedup;        //  "<queue>/<msg_id>" -> int64_t first seen (ms, wall)
    zlistx_t *dedup_fifo;   //  dedup_entry_t, oldest first
    uint64_t next_consumer; //  consumer ids
    uint64_t next_internal; //  internal tokens (high bit set)
    uint32_t max_deliver;   //  queues.max_deliver
    int64_t ack_timeout;    //  queues.ack_timeout_ms
    int64_t dedup_window;   //  queues.dedup_window_ms
    int64_t send_timeout;   //  queues.send_timeout_ms
    uint8_t replication;    //  queues.replication
    uint8_t acks;           //  queues.acks
    uint32_t capacity;      //  node.capacity (0 without a journal)
    wire_queue_t *msg;      //  scratch: the message being handled
    wire_queue_t *out;      //  scratch: messages being sent
    uint64_t fenced;        //  messages refused from a node we do not see as owner
    uint64_t duplicates;    //  sends deduplicated
    //  The Raft engine
    bool raft;              //  queues.engine = raft
    uint8_t replicas;       //  queues.replicas (odd)
    zhashx_t *groups;       //  queue name -> rgq_t, the groups this member hosts
    zhashx_t *group_ids;    //  group id (16 hex) -> rgq_t, the same groups (not owning)
    zhashx_t *founding;     //  queue name -> rfound_t
    zhashx_t *hints;        //  client: queue name -> leader uuid hex, as members told
    zhashx_t *known;        //  queue name -> rknown_t, the group of it this member knows of
    int64_t raft_since;     //  when the engine started (founding waits an expiry period)
    uint64_t raft_bad;      //  Raft traffic refused (unknown group, over the cap)
};

//  The queues state of node NODE (core-allocated: see core.h).
static inline struct queues *queues_of (node_t *node)
{
    return node_state (node, SUBSYS_QUEUES);
}

//  --- queue_ring.c
queue_t *queue_get (node_t *self, const char *name, bool create);
peer_t *queue_peer (node_t *self, const char *uuid_hex);
const char *queue_owner_of (node_t *self, const char *name);
bool queue_is_replica (node_t *self, const char *name);
int queue_send (node_t *self, const char *uuid_hex, int type, const wire_queue_t *msg,
                const void *body, size_t len);
void queue_ring_update (node_t *self);
void queue_free (void **item);

//  --- queue_owner.c
void queue_on_send (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body);
void queue_on_consume (node_t *self, const wire_queue_t *msg);
void queue_on_cancel (node_t *self, const wire_queue_t *msg);
void queue_on_settle (node_t *self, const wire_queue_t *msg);
void queue_on_redrive (node_t *self, peer_t *from, const wire_queue_t *msg);
void queue_on_repl_ack (node_t *self, peer_t *from, const wire_queue_t *msg);
void queue_activate (node_t *self, queue_t *queue);
size_t queue_ask_holders (node_t *self, queue_t *queue);
void queue_sync_check (node_t *self, queue_t *queue);
void queue_deactivate (node_t *self, queue_t *queue);
void queue_owner_after_commit (node_t *self, bool ok);
void queue_dispatch (node_t *self, int64_t now);
void queue_owner_tick (node_t *self, int64_t now);
void queue_dead_done (node_t *self, const char *queue, uint64_t seq);
void queue_send_confirm (node_t *self, const char *producer, uint64_t token, int status,
                         uint64_t seq, bool duplicate);
void queue_flush_deletes (node_t *self);
void queue_replicate_all (node_t *self, queue_t *queue);

//  Frees a qbody_t (the qstate payload destructor; ARG unused).
void queue_body_free (void *payload, void *arg);

//  --- queue_store.c
int queue_store_append (node_t *self, queue_t *queue, const wire_queue_t *meta, uint64_t oseq,
                        const void *body, size_t len, uint64_t *seq);
int queue_store_decode (const void *data, size_t len, wire_queue_t *meta, uint64_t *oseq,
                        const void **body, size_t *blen);
void queue_store_drop (node_t *self, queue_t *queue);
void queue_on_repl (node_t *self, peer_t *from, int type, const wire_queue_t *msg, zmq_msg_t *body);
void queue_on_sync (node_t *self, peer_t *from, int type, const wire_queue_t *msg, zmq_msg_t *body);
void queue_job_start (node_t *self, int type, const char *peer, const char *queue);
bool queue_jobs_pump (node_t *self);
bool queue_dedup_seen (node_t *self, const char *queue, const char *msg_id);
void queue_dedup_add (node_t *self, const char *queue, const char *msg_id);
void queue_answer_later (node_t *self, int type, const char *to, const char *queue, uint64_t seq);
void queue_dedup_forget (node_t *self, const char *queue, const char *msg_id);
void queue_dedup_prune (node_t *self);
int queue_dedup_load (node_t *self);
int queue_store_load (node_t *self);
qbody_t *queue_body_new (const void *data, size_t len, const wire_queue_t *meta);
int queue_enqueue (queue_t *queue, uint64_t seq, const wire_queue_t *meta, qbody_t *body);

//  --- queue_client.c
void queue_client_on_confirm (node_t *self, const wire_queue_t *msg);
void queue_client_on_deliver (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body);
void queue_client_ring_changed (node_t *self);
void queue_client_tick (node_t *self, int64_t now, bool interval);
//  An internal send into TO_QUEUE that never gives up; once confirmed, the
//  message SEQ it carries leaves SRC_QUEUE (Raft: group SRC_GROUP, else 0).
uint64_t queue_transfer (node_t *self, const char *to_queue, const char *src_queue,
                         uint64_t src_group, uint64_t src_seq, const wire_queue_t *meta,
                         const void *body, size_t len);

//  --- queue_raft.c: the groups of this member
#define QRAFT_GROUPS_MAX 4096 //  groups one member hosts at most
#define QRAFT_FOUND_WAIT 2000 //  ms a founder waits for the members' answers
#define QRAFT_PREFIX     "r/" //  the groups' keys in the journal's store
#define QRAFT_META       "rq/" //  meta records: "rq/<group id hex>" -> founder NUL queue
#define QRAFT_KNOWN      "rk/" //  meta records: "rk/<queue>" -> rknown_t
#define QRAFT_DRAIN      UINT64_MAX //  qhost consumer id of a superseded group's mover
#define QRAFT_DRAIN_CREDITS 256     //  messages it moves at a time

int qraft_start (node_t *self, char *err, size_t errlen);
void qraft_stop (node_t *self);
uint64_t qraft_id_of (const char *uuid_hex);
const char *qraft_uuid_of (node_t *self, uint64_t id); //  a live member's uuid, or NULL
rgq_t *qraft_group (node_t *self, const char *queue);
rgq_t *qraft_group_by_id (node_t *self, uint64_t id);
rgq_t *qraft_group_new (node_t *self, const char *queue, const char *founder, uint64_t id,
                        const uint64_t *voters, size_t nvoters);
void qraft_on_raft (node_t *self, peer_t *peer, const wire_queue_t *msg, zmq_msg_t *body);
int qraft_group_bootstrap (node_t *self, rgq_t *g, const uint64_t *voters, size_t n);
bool qraft_superseded (node_t *self, const rgq_t *g);
void qraft_moved (node_t *self, uint64_t group, uint64_t seq);
void qraft_on_timer (node_t *self, int64_t now, bool interval);
void qraft_before_commit (node_t *self);
void qraft_after_commit (node_t *self, bool ok);
bool qraft_busy (node_t *self);
size_t qraft_wanted (node_t *self, const char *queue, const char **out, size_t max);

//  --- queue_raft_place.c: placement and moves
void qraft_plan (node_t *self, rgq_t *g);  //  leader: the next membership change, if any
void qraft_drain (node_t *self, rgq_t *g); //  leader of a superseded group: start moving out
//  --- queue_raft_status.c: status (built with jansson)
//  Adds "queue_engine", "queue_groups" and "raft_bad" to the status INTO; 0 or -1.
int qraft_status_add (node_t *self, json_t *into);
//  Appends the groups to QUEUES, the status' "queues" array, as items with the
//  owner engine's fields (and leader, term, commit); 0 or -1.
int qraft_queues_add (node_t *self, json_t *queues);

//  --- queue_raft_found.c: leader hints, the known groups, founding
const char *qraft_leader_of (node_t *self, rgq_t *g); //  its leader's uuid, or ""
void qraft_known_put (node_t *self, const char *queue, uint64_t id, const char *founder,
                      const uint64_t *voters, size_t n);
int qraft_known_load (node_t *self);
void qraft_found_start (node_t *self, const char *queue);
void qraft_found_tick (node_t *self, int64_t now);
void qraft_found_stop (node_t *self);
void qraft_found_again (node_t *self, rgq_t *g);
void qraft_tell_leader (node_t *self, const char *to, const char *queue);
void qraft_on_leader (node_t *self, peer_t *from, const wire_queue_t *msg);

//  --- queue_raft_serve.c: producers and consumers at a group
void qraft_on_send (node_t *self, peer_t *from, const wire_queue_t *msg, zmq_msg_t *body);
void qraft_on_consume (node_t *self, peer_t *from, const wire_queue_t *msg, bool cancel);
void qraft_on_settle (node_t *self, peer_t *from, const wire_queue_t *msg);
void qraft_peer_gone (node_t *self, peer_t *peer);
void qraft_on_redrive (node_t *self, peer_t *from, const wire_queue_t *msg);
void qraft_served (rgq_t *g); //  the group's leadership changed: forget consumers of another term
void qraft_deliver (void *arg, uint64_t consumer, const qfsm_info_t *msg, uint64_t term);
void qraft_letter (void *arg, const qfsm_info_t *msg);

//  --- The subsystem's operations (queue_ring.c, queue_client.c) -----------------

//  Fills the queue context in place (ring, tables, the loop DEALER, what the
//  journal holds). 0 or WEFT_E* (then nothing is left allocated).
int queues_start (node_t *self, char *err, size_t errlen);
//  Frees what queues_start made (not the state itself); safe on a partial start.
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

//  Status: adds "ring", "queues", "queue_counters" and the Raft groups'
//  members to the status INTO; 0 or -1 (out of memory).
int queues_status (node_t *self, json_t *into);

//  Commands from the API thread (the frames follow on the pipe).
void queues_cmd_send (node_t *self);
void queues_cmd_consume (node_t *self);
void queues_cmd_cancel (node_t *self);
void queues_cmd_settle (node_t *self);

#endif
