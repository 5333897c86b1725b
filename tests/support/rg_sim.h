/*  tests/support/rg_sim.h - a deterministic harness for the Raft room
    (node/raft/rgroup.h): N members of one group in one process, each on
    its own memory disk (journal/store_mem.h), over a simulated network with
    virtual time and a seeded generator (loss, duplication, delay and so
    reordering, partitions), with crashes and disk loss.

    The state machine of every member is the list of 8-byte values it
    applied, in order; its snapshot is that list. The harness checks, at
    every step, that
      - every member applies the same values in the same order (each
        position of the list, across members and restarts, holds the same
        value: a member's list is always a prefix of one global order);
      - at most one member is leader in any term;
    and keeps the values whose apply callback said committed ("acked"), for
    rgsim_check_acked () after a run: every acked value is applied by every
    live member.

    Writes: in SYNC mode a member's turn ends with rgroup_flush () (synced
    write, then completions). In LAZY mode its writes are staged and written
    unsynced, and the completions fire only at its first turn in a later
    step, after the disk was flushed (jdisk_sync_all): a crash in between
    (crashes come between steps) loses that batch, and nothing was
    acknowledged on it.

    Thread: one; a harness is a test's whole world. Failures are Criterion
    assertions. */
#ifndef WEFT_TESTS_RG_SIM_H
#define WEFT_TESTS_RG_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/store_mem.h"
#include "node/raft/rgroup.h"

#define RGSIM_MAX 8 //  members, ids 1..RGSIM_MAX

typedef struct rgsim rgsim_t;

typedef struct {
    int64_t deliver_at; //  virtual ms
    uint64_t seq;       //  tie-break: send order
    int from, to;       //  member ids
    uint8_t *buf;       //  the bytes (owned)
    size_t len;
} rgsim_msg_t;

typedef struct {
    rgsim_t *sim;       //  back
    int id;             //  1..
    jdisk_t *disk;      //  outlives crashes
    store_t *store;     //  open on disk while up
    rgroup_t *g;        //  the group, while up
    bool up;            //  running
    bool lazy_due;      //  LAZY: a batch written unsynced, completions due
    uint64_t lazy_step; //  the step that wrote it (synced at a later step)
    uint64_t *applied;  //  the state machine: values applied, in order
    size_t napplied, cap;
    uint64_t last_index; //  index of the last entry applied
    uint64_t restores;   //  snapshots restored
    uint64_t starts;     //  times started
    uint64_t failures;   //  times its group failed (tolerate_failures)
} rgsim_member_t;

struct rgsim {
    int64_t now;  //  virtual ms
    uint64_t rng; //  splitmix64 state
    int n;        //  members (ids 1..n)
    rgsim_member_t m[RGSIM_MAX + 1];
    rg_env_t env_tmpl;      //  timing knobs copied into each member's env
    bool lazy;              //  LAZY writes (see above)
    bool tolerate_failures; //  a failed group goes down (else: an assertion)
    //  network faults
    unsigned loss_pct, dup_pct;             //  per message, percent
    unsigned delay_min, delay_max;          //  ms, uniform
    bool cut[RGSIM_MAX + 1][RGSIM_MAX + 1]; //  cut[a][b]: a's messages to b are lost
    unsigned drop_type;                     //  messages of this type (byte 1) are lost
    rgsim_msg_t *q;                         //  in flight
    size_t nq, qcap;
    uint64_t seq;
    //  capture: every message sent is also copied here (for fuzzing)
    bool capture;
    rgsim_msg_t *cap_msgs;
    size_t ncap;
    //  the global order of applied values, and its indexes
    uint64_t *order, *order_index;
    size_t norder, order_cap;
    //  leader per term
    uint64_t *leader_of; //  indexed by term
    size_t nterms;
    //  acked values
    uint64_t *acked;
    size_t nacked, acked_cap;
    uint64_t max_acked_index; //  the highest index an apply callback acked
    uint64_t next_value;      //  next value to propose
    uint64_t proposed, apply_errors;
    uint64_t steps;
};

//  A harness of N members (bootstrapped as voters 1..N unless NOBOOT > 0,
//  then members NOBOOT..N start empty), started. ENV supplies the timing
//  knobs (election_ms, heartbeat_ms, snapshot_*, pre_vote).
rgsim_t *rgsim_new (int n, uint64_t seed, const rg_env_t *knobs, int noboot);
void rgsim_destroy (rgsim_t **self_p);

//  One step: the next event (a delivery or a deadline), all due at it.
void rgsim_step (rgsim_t *self);
//  Runs steps for MS virtual ms.
void rgsim_run (rgsim_t *self, int64_t ms);
//  Runs until PRED (self, arg) or MS virtual ms pass; returns PRED's last.
bool rgsim_run_until (rgsim_t *self, int64_t ms, bool (*pred) (rgsim_t *, void *), void *arg);

//  The leader id if exactly one live member leads the highest term, else 0.
int rgsim_leader (rgsim_t *self);
//  Proposes K new values at member ID (returns how many were accepted).
int rgsim_propose (rgsim_t *self, int id, int k);

//  Crash member ID: destroy its group, close its store, lose all but KEEP
//  unsynced batches (UINT64_MAX: keep all); WIPE: the disk is lost too.
void rgsim_crash (rgsim_t *self, int id, uint64_t keep, bool wipe);
//  Restart a crashed member from its disk.
void rgsim_restart (rgsim_t *self, int id);
//  Starts member ID (fresh, not bootstrapped) in a harness that has room.
void rgsim_add_member (rgsim_t *self, int id);

//  Isolates the members in SET (bit i: member i) from the others, both ways;
//  0 heals.
void rgsim_partition (rgsim_t *self, unsigned set);

//  True when every live member applied at least COUNT values and every
//  acked index, and all the live ones have the same applied index.
bool rgsim_converged (rgsim_t *self, void *count);
//  Asserts every acked value is applied by every live member.
void rgsim_check_acked (rgsim_t *self);

uint64_t rgsim_rand (rgsim_t *self);

//  --- Workloads (rg_sim_chaos.c) -------------------------------------------------

//  Waits up to MS virtual ms until every proposal had its callback and the
//  members agree; fails the test otherwise.
void rgsim_settle (rgsim_t *self, int64_t ms);
//  How many times groups failed (with tolerate_failures).
uint64_t rgsim_failures (rgsim_t *self);
//  The chaos workload on 5 members of seed SEED: 5 % loss and duplication,
//  1-20 ms delays, unsynced writes (LAZY), snapshots every THRESHOLD
//  entries, 600 values proposed while members crash (at most two down at
//  once) and restart; a crash keeps a random part of the unsynced batches,
//  none with KEEP_NONE. Group failures are counted (rgsim_failures), not
//  asserted. Everyone is up, and the network lossless, when it returns;
//  *CRASHES counts the crashes.
rgsim_t *rgsim_chaos (uint64_t seed, bool pre_vote, unsigned threshold, bool keep_none,
                      uint64_t *crashes);

//  --- Membership changes ----------------------------------------------------------

//  A callback's outcome: rgsim_done () is an rg_done_cb that fills it,
//  rgsim_is_done () a predicate for rgsim_run_until ().
typedef struct {
    bool done;
    int status;
} rgsim_wait_t;
void rgsim_done (void *arg, int status);
bool rgsim_is_done (rgsim_t *self, void *arg);

//  Runs a change at whoever leads (retried while nobody does, 2 s) and
//  waits up to 20 s for it to commit; fails the test otherwise. ADD: member
//  ID as a spare; ASSIGN: ROLE; REMOVE: out of the group.
enum { RGSIM_ADD, RGSIM_ASSIGN, RGSIM_REMOVE };
void rgsim_change (rgsim_t *self, int kind, uint64_t id, int role);

#endif
