/*  tests/sim/sim_weft.h - real Weft nodes as simulator hosts, and the
    ledger that checks the fabric's contract on what their applications saw.

    Each host is a node_t of the real code (node/core/node.h), started on
    its simulated world with its journal on an in-memory disk (jdisk_t,
    journal/store_mem.h) that outlives crashes. The host talks to its node
    over the same pipe protocol as the API thread (START, SUB, DURABLE,
    PUB, QSEND, CONSUME, SETTLE) and reads the node's application events.

    The workload (sim_weft.c), on hosts 0..N-1 of one cluster:
      - host 0 declares "d.#" durable and publishes d.x every 50 ms (its
        journal async with --async-publisher, synced like the others else);
      - every other host subscribes to "d.#" (live messages, gaps repaired);
      - host 1 % N sends a numbered message to queue "jobs" every 20 ms
        (async, msg id "h<boot>-<k>", R = 2, acks = all);
      - host 2 % N consumes "jobs" (prefetch 16) and acks what it gets.
    The ledger survives crashes (it is the applications' memory, not the
    nodes') and checks, after every step and at the end:
      - durable order: within one subscriber run, each (publisher, topic)
        stream arrives strictly increasing and without a gap (a TRUNCATED
        event moves it on: nothing the publisher has is before its seq);
        and no (publisher, topic, seq) is ever delivered with two bodies,
        on any host in any run (a sequence number reused);
      - no confirmed queue message lost: at the end (after a quiet settle
        period, longer while a backlog still drains) every confirmed id was
        delivered at least once;
      - views converge: at the end every live host lists every other live
        host as joined and not evasive, with its current incarnation;
      - acked stays acked: no owner dispatches a message again once an
        owner reported its ack in a commit (NODE_FACT_ACKED, DISPATCHED);
      - one owner per epoch: no two hosts serve a queue as its owner under
        the same ring epoch at once (NODE_FACT_OWNER, UNOWNED).
    Which of these a run asserts depends on the fault classes it has (see
    sim_weft_contract ()): a check is only as strong as what the subsystem
    claims to survive today (docs/ARCHITECTURE.md, "Simulator").

    Thread: the sim's.
*/
#ifndef WEFT_SIM_SIM_WEFT_H
#define WEFT_SIM_SIM_WEFT_H

#include "sim.h"
#include "sim_scenario.h"

//  Planted bugs (--plant), each of which an invariant must catch.
#define WEFT_PLANT_DURABLE_SKIP 0x1u //  subscriber hosts drop one durable message in 97
#define WEFT_PLANT_LOSE_CONFIRM 0x2u //  the consumer acks without recording some deliveries
#define WEFT_PLANT_NO_HOLD      0x4u //  real code: NODE_BUGGIFY_DURABLE_NO_HOLD in every node

//  Invariants, as bits (sim_weft_contract).
#define WEFT_CHECK_DURABLE 0x1u  //  durable order
#define WEFT_CHECK_QUEUES  0x2u  //  no confirmed message lost
#define WEFT_CHECK_VIEWS   0x4u  //  views converge
#define WEFT_CHECK_ACKED   0x8u  //  a message acked and committed is not delivered again
#define WEFT_CHECK_OWNER   0x10u //  at most one owner per queue per ring epoch
#define WEFT_CHECK_ALL     0x1fu

//  The invariants a run with fault classes FAULTS asserts.
unsigned sim_weft_contract (unsigned faults);

//  The scenario's operations (its row in sim_scenario.c's table).
unsigned sim_weft_plant (const char *name);
void *sim_weft_setup (sim_t *sim, const sim_run_opts_t *opts);
int sim_weft_final (void *ctx, sim_t *sim, char *msg, size_t len);
void sim_weft_teardown (void *ctx);

#endif
