/*  tests/sim/sim_weft_int.h - what sim_weft.c (hosts, workload) and
    sim_weft_ledger.c (events, invariants, the scenario) share. */
#ifndef WEFT_SIM_SIM_WEFT_INT_H
#define WEFT_SIM_SIM_WEFT_INT_H

#include <czmq.h>

#include "journal/store_mem.h"
#include "node/core/node.h"
#include "sim_weft.h"

//  One queue message the producer sent, as the applications saw it.
typedef struct {
    char id[48];         //  its msg id
    bool confirmed;      //  a CONFIRM with status 0 arrived
    uint32_t deliveries; //  DELIVERY events seen for it (duplicates included)
} qrec_t;

//  The scenario's context: the hosts' disks and the applications' ledger,
//  which outlives every crash.
typedef struct {
    int hosts;                        //  how many
    unsigned faults;                  //  the run's fault classes
    unsigned plant;                   //  WEFT_PLANT_* bits
    unsigned checks;                  //  WEFT_CHECK_* the run asserts
    bool async_pub;                   //  host 0 journals with journal.sync = async
    bool raft_queues;                 //  queues.engine = raft
    int64_t quiet_at;                 //  the workload stops sending then
    jdisk_t *disks[SIM_HOSTS_MAX];    //  each host's journal disk
    zhashx_t *streams[SIM_HOSTS_MAX]; //  per subscriber run: "publisher/topic" -> last seq
    zhashx_t *by_id;                  //  msg id -> qrec_t (borrowed from sent)
    zlistx_t *sent;                   //  qrec_t, owned, in send order
    zhashx_t *acked;                  //  msg ids whose ack an owner committed
    zhashx_t *owners;                 //  "queue/host" -> ring epoch it serves the queue under
    zhashx_t *bodies;                 //  "publisher/topic/seq" -> the body first delivered
    uint64_t durable_seen;            //  durable messages received by subscribers
    uint64_t truncated;               //  TRUNCATED events on durable streams
    uint64_t confirmed;               //  queue sends confirmed
    uint64_t delivered;               //  queue deliveries (with duplicates)
    uint64_t duplicates;              //  deliveries of an id already delivered
    uint64_t firsts;                  //  first deliveries of an id (progress)
    uint64_t planted;                 //  events a planted bug tampered with
    unsigned broken;                  //  WEFT_CHECK_* broken so far
    bool strict;                      //  --strict: record, fail only at the end
    char failure[400];                //  the first invariant broken, "" while none
} wctx_t;

//  One host: a real node and the application's ends of its sockets.
typedef struct {
    wctx_t *ctx;          //  the scenario
    sim_t *sim;           //  the engine
    int index;            //  host index
    int boot;             //  its incarnation (1 on the first boot)
    world_t *world;       //  its world (the engine's)
    weft_config_t *cfg;   //  its configuration
    node_t *node;         //  the node, real code
    zsock_t *pipe_app;    //  commands in (our end)
    zsock_t *pipe_node;   //  the node's end
    zsock_t *events_app;  //  events out (our end)
    zsock_t *events_node; //  the node's end
    int64_t next_pub;     //  next durable publish (host 0)
    int64_t next_send;    //  next queue send (the producer)
    uint64_t sent;        //  queue sends of this run
    bool consuming;       //  CONSUME succeeded (the consumer)
} whost_t;

extern const sim_host_ops_t sim_weft_host_ops;

//  Host I of SIM (NULL when down).
whost_t *sim_weft_host (sim_t *sim, int index);

//  How long before the end of the plan the workload stops sending (ms).
#define SIM_WEFT_QUIET_BEFORE 15000

//  Acknowledges a delivery (as weft_ack does).
void sim_weft_ack (whost_t *h, const char *owner, const char *queue, uint64_t seq,
                   uint32_t deliveries);

//  Reads every event H's node has for its application and books it.
void sim_weft_drain (whost_t *h);

//  A fact a node reported (node_probe_fn; ARG is its whost_t).
void ledger_fact (void *arg, node_t *node, node_fact_t fact, const char *a, const char *b,
                  uint64_t n);

//  Ledger entries.
void ledger_sent (wctx_t *ctx, const char *msg_id);
void ledger_run_ended (wctx_t *ctx, int index);
int ledger_check (wctx_t *ctx, char *msg, size_t len);

#endif
