/*  node/qgroup/qplan.h - where a queue group should live, and the next
    membership change that moves it there.

    A queue group is a Raft group (node/raft/) that replicates the queues of
    one shard (node/qfsm/). Rendezvous hashing over the live members
    (node/ring/) says which R members the group *should* have; its Raft
    configuration says which it *has*. qplan_next () compares the two and
    returns one change at a time, grow before shrink:
      1. a wanted member that is not in the group joins as a non-voter
         (QPLAN_ADD: a standby that receives the log but does not vote);
      2. a wanted non-voter that has caught up becomes a voter (QPLAN_PROMOTE);
      3. a non-voter nobody wants leaves (QPLAN_REMOVE);
      4. only when every wanted member votes, and the group has more than R
         voters, one that is not wanted leaves (QPLAN_REMOVE) - if it is the
         leader itself, leadership goes first to a wanted voter that has
         caught up (QPLAN_TRANSFER), since a leader does not remove itself.
    A dead member therefore keeps its vote until its replacement has caught
    up: the group never has fewer voters than it should while it moves, and
    nothing is reset or discarded to make room. With fewer live members than
    R the group keeps the voters it has (it cannot grow) and the caller
    reports the shortfall.

    Pure: no clock, no I/O; the caller passes what Raft says (the
    configuration, the leader, how far each member's log is) and applies the
    change it gets (raft_add, raft_assign, raft_remove, raft_transfer), one
    at a time: it calls again only when the last change committed.

    Thread: none of its own; any.
*/
#ifndef WEFT_NODE_QGROUP_QPLAN_H
#define WEFT_NODE_QGROUP_QPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QPLAN_MEMBERS_MAX 16 //  servers in one group's configuration, at most

//  A server's role in the group's configuration.
typedef enum {
    QPLAN_VOTER = 0,   //  votes and replicates
    QPLAN_STANDBY = 1, //  replicates, does not vote
    QPLAN_SPARE = 2    //  neither (not used by the plan, but may be found)
} qplan_role_t;

//  One server of the configuration, as Raft reports it.
typedef struct {
    uint64_t id;       //  Raft server id
    qplan_role_t role; //  its role
    uint64_t match;    //  the last log index known to be on it (the leader's view)
} qplan_server_t;

//  What the plan is computed from.
typedef struct {
    const qplan_server_t *servers; //  the configuration
    size_t count;                  //  its size (at most QPLAN_MEMBERS_MAX)
    uint64_t leader;               //  the leader's id (the caller: only a leader plans)
    uint64_t last_index;           //  the leader's last log index
    uint64_t catch_up;             //  a non-voter within this many entries has caught up
    const uint64_t *wanted;        //  the members that should vote, best first (rendezvous)
    size_t wanted_count;           //  how many (R, or fewer when fewer members live)
    size_t replicas;               //  R: the voters the group should have
} qplan_input_t;

//  The next change.
typedef enum {
    QPLAN_NONE = 0,    //  nothing to do (placed, or waiting for a catch-up)
    QPLAN_ADD = 1,     //  add ID as a standby
    QPLAN_PROMOTE = 2, //  make ID a voter
    QPLAN_REMOVE = 3,  //  remove ID from the configuration
    QPLAN_TRANSFER = 4 //  hand leadership to ID (then the new leader plans)
} qplan_action_t;

typedef struct {
    qplan_action_t action;
    uint64_t id; //  the server it is about (0 for QPLAN_NONE)
} qplan_step_t;

//  The next membership change for IN. An input that is not usable (too
//  many servers, a wanted id 0, a leader not in the configuration) gives
//  QPLAN_NONE.
qplan_step_t qplan_next (const qplan_input_t *in);

//  The name of ACTION ("none", "add", ...), for logs and status.
const char *qplan_action_name (qplan_action_t action);

#endif
