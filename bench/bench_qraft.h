/*  bench/bench_qraft.h - the Raft queue engine's status, for bench_queue.
    With queues.engine = raft each queue is one Raft group; a member's status
    JSON (weft_status) lists its groups under "queue_groups". These helpers
    read that list through jansson: which member serves a queue as leader,
    and an integer field of the leader's entry. Not thread-safe beyond what
    weft_status is.
*/
#ifndef BENCH_QRAFT_H
#define BENCH_QRAFT_H
#include <stdint.h>
#include "weft.h"

//  Integer FIELD of QUEUE's group entry in NODE's status when NODE is that
//  group's serving leader; -1 otherwise (not leader, not serving, no such
//  group, or the status cannot be read).
long long qraft_leader_field (weft_node_t *node, const char *queue, const char *field);

//  Waits until one of the N MEMBERS is QUEUE's serving leader and returns
//  its index, or -1 once DEADLINE_MS (bench_now_ms) has passed. Handles and
//  drops the members' events while it waits (up to 5 ms each round).
int qraft_wait_leader (weft_node_t **members, int n, const char *queue, int64_t deadline_ms);
#endif
