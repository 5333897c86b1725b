/*  node/raft/rgroup.h - the Raft room: one replicated log ("group") per
    call to rgroup_new (), many per node, all on the caller's one thread.

    The protocol is libraft's (Debian libraft 0.15, behind this door only:
    nothing else includes raft.h). This room is libraft's io: it takes time,
    randomness, the network and the disk from an environment the host gives
    (rg_env_t), so the same code runs in a node's loop (node/core) and in the
    deterministic simulator (virtual time, a seeded generator, the memory
    disk of journal/store_mem.h). There is no thread, no libuv, no clock and
    no global state in here. See docs/RAFT.md.

    The host drives a group with four calls, all cheap when idle:
      rgroup_receive ()  a datagram from the network for this group;
      rgroup_tick ()     when rgroup_deadline () has come (the heartbeat);
      rgroup_stage ()    before the host's commit: the writes libraft asked
                         for (entries, truncations, snapshots) go into the
                         host's store batch;
      rgroup_committed ()  after that batch is durable: libraft is told
                         (append and snapshot completions, send releases).
    rgroup_flush () does the last two with the group's own synced write,
    for hosts (and tests) that do not batch. Term and vote are written (and
    synced) at once, before libraft goes on, as Raft requires.

    Durability contract. libraft learns that an entry is stored only from
    rgroup_committed (g, 0), so the host must call it only once the batch
    rgroup_stage () filled is durable (synced). A crash before that may lose
    the batch: nothing was acknowledged on it. A failed commit
    (rgroup_committed (g, error)), a failed stage or a failed term/vote write
    leaves the group failed (rgroup_failed): it takes no more input; destroy
    it and make it again from its disk (that is a restart). The apply callback of
    rgroup_apply () fires with 0 only for an entry committed by a majority
    and applied to the local state machine.

    Network contract. env.send is fire-and-forget: messages may be lost,
    duplicated, reordered or delayed; libraft retries. rgroup_receive ()
    trusts nothing: a malformed message is counted (rg_stats_t.rx_bad) and
    dropped; allocation is bounded by the message's length and the caps
    below. The host must say truthfully who sent a message (its transport
    knows); a member that lies in valid messages is beyond Raft's model.

    Storage: keys "<prefix><group id, 8 bytes big-endian><kind>..." in the
    host's store (journal/store.h): 'm' term and vote, 'e'+index entries,
    's' the last snapshot (rg_store.c).

    State machine: bytes in, bytes out (rg_fsm_ops_t). It is rebuilt at
    every start from the last snapshot, then the log as it commits again.

    Callbacks (apply, membership, transfer) run inside rgroup_receive,
    rgroup_tick, rgroup_committed, rgroup_flush and rgroup_destroy. They may
    propose (rgroup_apply queues; the proposal goes to libraft when control
    is back in the door) but must not destroy the group. A completion may
    let waiting proposals go: a host flushes while rgroup_pending ().

    Thread: a group and its environment belong to one thread.
*/
#ifndef WEFT_NODE_RAFT_RGROUP_H
#define WEFT_NODE_RAFT_RGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/store.h"

typedef struct rgroup rgroup_t;

//  Error codes (negative); rgroup_strerror () names them.
enum {
    RG_ENOTLEADER = -1, //  this member is not the leader (or is handing over)
    RG_ELOST = -2,      //  leadership was lost before the entry committed: its fate is unknown
    RG_ECLOSED = -3,    //  the group was destroyed (or failed) first
    RG_ENOMEM = -4,     //  out of memory
    RG_EIO = -5,        //  the store failed
    RG_EBUSY = -6,      //  one membership change (or transfer) at a time
    RG_EINVAL = -7,     //  bad argument: unknown member, wrong role, too big
    RG_EPROTO = -8,     //  malformed message
    RG_ESTATE = -9,     //  not now: not started, already started, not pristine
    RG_ETIMEDOUT = -10, //  a leadership transfer did not complete in time
    RG_ECORRUPT = -11,  //  the group's keys in the store are inconsistent
    RG_EINTERNAL = -12  //  a libraft error with no better name
};

//  Caps, checked on every message received and on every apply.
#define RG_MAX_ENTRY_BYTES (16u << 20) //  one entry's payload
#define RG_MAX_ENTRIES     4096        //  entries in one AppendEntries
#define RG_MAX_MESSAGE     (64u << 20) //  one encoded message (snapshots included)
#define RG_MAX_SERVERS     64          //  members in a configuration

//  Roles of a member (libraft's: a spare holds nothing, a standby
//  replicates without voting, a voter replicates and votes).
enum { RG_ROLE_STANDBY = 0, RG_ROLE_VOTER = 1, RG_ROLE_SPARE = 2 };

//  What the host gives. Copied by rgroup_new (); the pointers must outlive
//  the group.
typedef struct {
    void *arg;                   //  passed to the three functions below
    int64_t (*now_ms) (void *);  //  monotonic milliseconds
    uint64_t (*random) (void *); //  uniform 64-bit values
    //  Sends BUF (LEN bytes, borrowed for the call) to member TO of GROUP.
    //  Returns 0 or nonzero (dropped). May lose, duplicate or reorder.
    int (*send) (void *arg, uint64_t group, uint64_t to, const void *buf, size_t len);
    const store_ops_t *store_ops; //  the store's backend
    store_t *store;               //  the store (shared by the node's groups)
    const char *key_prefix;       //  e.g. "r/": the room's keys in the store
    //  Tuning; 0 means libraft's default (1000 / 100 ms, 1024 / 2048 entries).
    unsigned election_ms;        //  election timeout (randomized to 1x..2x)
    unsigned heartbeat_ms;       //  heartbeat, and the tick interval
    unsigned snapshot_threshold; //  entries applied between snapshots
    unsigned snapshot_trailing;  //  entries kept in the log after a snapshot
    bool pre_vote;               //  Raft's pre-vote (no disruption on rejoin)
} rg_env_t;

//  The state machine. Every pointer is required.
typedef struct {
    //  Applies the committed entry INDEX (BUF, LEN borrowed). Returns 0 and
    //  may set *RESULT (handed to the leader's apply callback, owned by the
    //  state machine); nonzero stops the group (it becomes unavailable).
    int (*apply) (void *arg, uint64_t index, const void *buf, size_t len, void **result);
    //  Serializes the whole state into *BUF (malloc'ed, the room frees it)
    //  of *LEN bytes. 0 or nonzero (no snapshot this time).
    int (*snapshot) (void *arg, void **buf, size_t *len);
    //  Replaces the whole state with BUF (LEN bytes, borrowed). 0 or nonzero.
    int (*restore) (void *arg, const void *buf, size_t len);
} rg_fsm_ops_t;

//  Counters of one group.
typedef struct {
    uint64_t rx;            //  messages handed to libraft
    uint64_t rx_bad;        //  messages rejected as malformed
    uint64_t rx_dropped;    //  well-formed messages dropped (not running, or held)
    uint64_t tx;            //  messages sent
    uint64_t tx_failed;     //  sends refused by the host or not encodable
    uint64_t tx_clipped;    //  AppendEntries cut to the caps (the rest follows)
    uint64_t tx_suppressed; //  stale follower answers not sent (rg_io.c)
    uint64_t tx_capped;     //  follower answers cut to what matches (rg_io.c)
    uint64_t writes;        //  store batches written (ours and staged)
    uint64_t snapshots;     //  snapshots stored (taken or installed)
} rg_stats_t;

typedef void (rg_apply_cb) (void *arg, int status, uint64_t index, void *result);
typedef void (rg_done_cb) (void *arg, int status);

//  Makes the group GROUP_ID for member MY_ID (> 0) over ENV, with the state
//  machine FSM (FSM_ARG passed to it). Reads nothing yet. NULL on error with
//  a message in ERR.
rgroup_t *rgroup_new (const rg_env_t *env, uint64_t group_id, uint64_t my_id,
                      const rg_fsm_ops_t *fsm, void *fsm_arg, char *err, size_t errlen);

//  Destroys *SELF_P (NULL-safe) and nulls it. Writes nothing: what was not
//  committed is lost as in a crash (call rgroup_flush () first for a clean
//  stop). Pending callbacks fire with RG_ECLOSED.
void rgroup_destroy (rgroup_t **self_p);

//  Leftovers of groups this host no longer has (none of them open).
//  rgroup_erase: deletes the log entries and the snapshot of group ID under
//  KEY_PREFIX in STORE (unsynced: a crash may bring them back, to be erased
//  again). Its term and vote stay (16 bytes), so that if the member is
//  added to the group again it can never vote twice in one term. 0 or
//  RG_EIO / RG_ENOMEM / RG_EINVAL; *ERASED (may be NULL) gets the keys deleted.
//  rgroup_stored: calls FN once for each group id with log entries or a
//  snapshot under KEY_PREFIX, in order. 0 or RG_EIO / RG_ENOMEM.
int rgroup_erase (const store_ops_t *ops, store_t *store, const char *key_prefix, uint64_t id,
                  size_t *erased);
int rgroup_stored (const store_ops_t *ops, store_t *store, const char *key_prefix,
                   void (*fn) (void *arg, uint64_t id), void *arg);

//  Writes the first configuration: the N voters IDS. Only on a pristine
//  store (no key of the group) and before rgroup_start (): every founding
//  member bootstraps with the same list. A member that joins later does not.
int rgroup_bootstrap (rgroup_t *self, const uint64_t *ids, size_t n);

//  Loads the group from the store and starts it (a follower). 0 or a code.
int rgroup_start (rgroup_t *self);

//  A message from member FROM. 0, or RG_EPROTO (counted, dropped).
int rgroup_receive (rgroup_t *self, uint64_t from, const void *buf, size_t len);

//  Runs libraft's tick if the deadline has come (now_ms of the env).
void rgroup_tick (rgroup_t *self);
//  When rgroup_tick () next has work (env milliseconds).
int64_t rgroup_deadline (const rgroup_t *self);

//  True when writes or completions are waiting for stage / committed.
bool rgroup_pending (const rgroup_t *self);
//  Adds the waiting writes to B (a batch of env.store_ops). 0 or a code.
int rgroup_stage (rgroup_t *self, store_batch_t *b);
//  After the batch of rgroup_stage () was written: STATUS 0 (durable: fires
//  the completions) or nonzero (the group fails, nothing fires).
void rgroup_committed (rgroup_t *self, int status);
//  Stage, write synced, committed: 0 or a code.
int rgroup_flush (rgroup_t *self);

//  Proposes one entry (BUF, LEN bytes, copied), leader only. CB (may be
//  NULL) fires later with 0, the index, and the state machine's result once
//  committed and applied here, or with a code (RG_ELOST: leadership lost,
//  the entry may or may not commit; RG_ENOTLEADER, RG_ECLOSED). Proposals
//  wait while an earlier round is in flight, then go together (see
//  rg_propose.c: libraft 0.15 would never commit under a steady stream).
//  Returns 0 (CB will fire) or a code (it will not): RG_ENOTLEADER,
//  RG_EINVAL (too big), RG_EBUSY (too many waiting), RG_ENOMEM.
int rgroup_apply (rgroup_t *self, const void *buf, size_t len, rg_apply_cb *cb, void *arg);

//  Membership, leader only, one change at a time; CB (may be NULL) fires
//  with 0 once the change is committed, or a code. Returns 0 or a code.
//  add: a new member as a spare; assign: a new role (a standby or voter
//  catches up first); remove: out of the group.
int rgroup_add (rgroup_t *self, uint64_t id, rg_done_cb *cb, void *arg);
int rgroup_assign (rgroup_t *self, uint64_t id, int role, rg_done_cb *cb, void *arg);
int rgroup_remove (rgroup_t *self, uint64_t id, rg_done_cb *cb, void *arg);

//  Hands leadership to voter ID (0: any up-to-date voter). CB fires with 0
//  when ID (or someone) leads, RG_ETIMEDOUT after the election timeout.
int rgroup_transfer (rgroup_t *self, uint64_t id, rg_done_cb *cb, void *arg);

//  State. The leader this member knows of (false if none).
bool rgroup_is_leader (const rgroup_t *self);
bool rgroup_leader (const rgroup_t *self, uint64_t *id);
uint64_t rgroup_term (const rgroup_t *self);
uint64_t rgroup_commit_index (const rgroup_t *self);
uint64_t rgroup_applied_index (const rgroup_t *self);
uint64_t rgroup_last_index (const rgroup_t *self);
//  True once the group stopped working (a store failure, a state machine
//  error): destroy and restart it.
bool rgroup_failed (const rgroup_t *self);
//  The role of member ID in the configuration this member knows, or -1.
int rgroup_role (const rgroup_t *self, uint64_t id);
//  One server of the configuration this member knows: its id, role and, on
//  the leader, the last log index known to be on it (0 elsewhere).
typedef struct {
    uint64_t id;
    int role;       //  RG_ROLE_*
    uint64_t match; //  leader only
    bool recent;    //  leader only: heard from within the election timeout (itself: true)
} rg_server_t;
//  Fills at most MAX servers of the configuration into OUT; returns how many it has.
size_t rgroup_servers (const rgroup_t *self, rg_server_t *out, size_t max);
//  True while a membership change (or a promotion's catch-up) is in flight.
bool rgroup_changing (const rgroup_t *self);
const rg_stats_t *rgroup_stats (const rgroup_t *self);
//  libraft's words for its last error (for logs; empty if none).
const char *rgroup_errmsg (const rgroup_t *self);
const char *rgroup_strerror (int code);

#endif
