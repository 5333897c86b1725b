/*  node/membership/membership.h - what the files of the membership
    subsystem share (nothing outside node/membership/ includes it; the
    table is at the end of membership.c).
*/
#ifndef WEFT_NODE_MEMBERSHIP_MEMBERSHIP_H
#define WEFT_NODE_MEMBERSHIP_MEMBERSHIP_H

#include "node/core/node.h"

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

//  The subsystem's state (allocated by the core).
typedef struct {
    uint64_t cluster_id; //  beacon_cluster_id (cluster.name): beacons of others are ignored
    zlistx_t *seeds;     //  seed_t, owned
    zlistx_t *pending;   //  pending_status_t: peer status requests waiting for an answer
} membership_t;

//  The membership state of node SELF.
static inline membership_t *membership_of (node_t *self)
{
    return node_state (self, SUBSYS_MEMBERSHIP);
}

//  Runs membership command NAME (PEERS, PSTATUS); its frames
//  follow on the pipe (membership_cmd.c).
void membership_on_command (node_t *self, void *state, const char *name);

#endif
