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

//  The bounds of what peers can make us keep (docs/MEMBERSHIP.md).
#define MEMBERSHIP_DEAD_MAX     128   //  dead members remembered (the oldest is forgotten)
#define MEMBERSHIP_DEAD_KEEP    60000 //  ms a dead member is remembered at most
#define MEMBERSHIP_GOSSIP_MAX   32    //  records waiting to be gossiped (the most sent is dropped)
#define MEMBERSHIP_GOSSIP_SENDS 3     //  times a record goes out: at once, then 2 heartbeats
#define MEMBERSHIP_SERVE_MAX    64    //  probe messages served per interval (REQ, PROBE, ACK)

//  A member that expired or left: gossip of this run of it is not believed
//  (its endpoint may belong to someone else now); hearing it again re-admits it.
typedef struct {
    bool used;                       //  this slot holds one
    bool left;                       //  it said BYE (or a leaving beacon): never re-added
    uint8_t uuid[WIRE_UUID_SIZE];    //  who
    uint64_t incarnation;            //  which run of it
    uint64_t alive;                  //  its alive number then
    uint8_t role;                    //  WIRE_ROLE_*
    char router_ep[WIRE_EP_MAX + 1]; //  where it was
    char pub_ep[WIRE_EP_MAX + 1];    //  likewise
    int64_t at;                      //  when it died (monotonic ms)
    int64_t readd_at;                //  when we last tried to take it back
} dead_t;

//  A membership record waiting to be gossiped.
typedef struct {
    wire_record_t rec; //  what is said
    int sends;         //  times it is still to go out (0: the slot is free)
    bool fresh;        //  not sent yet: pushed at once
} gossip_t;

//  What membership keeps per peer (the core allocates it).
typedef struct {
    uint64_t alive;           //  its alive number as last heard
    int64_t probe_at;         //  indirect probes asked then (0: none in flight)
    uint64_t probe_id;        //  their id
    int64_t suspect_at;       //  suspected since then (0: not suspected)
    uint64_t relayed_suspect; //  1 + the alive number of the last suspicion of it we relayed
    uint64_t relayed_dead;    //  same for death records
} mpeer_t;

//  Counters of the SWIM layer (status: "membership").
typedef struct {
    uint64_t probes;          //  indirect probe rounds started (a peer went silent)
    uint64_t probes_saved;    //  rounds answered through a helper
    uint64_t served;          //  probe messages handled for others
    uint64_t served_dropped;  //  refused: over MEMBERSHIP_SERVE_MAX in an interval
    uint64_t suspicions;      //  peers we suspected
    uint64_t refuted;         //  suspicions of others cleared by a higher alive number
    uint64_t refutations;     //  times we refuted a suspicion or a death of ourselves
    uint64_t expired_learned; //  times we learned a peer had expired us
    uint64_t readmits;        //  dead members taken back because they spoke
    uint64_t gossip_ignored;  //  PEERS entries of dead members not believed
    uint64_t hello_retries;   //  HELLOs repeated to peers that had not joined
} swim_counters_t;

//  The subsystem's state (allocated by the core).
typedef struct {
    uint64_t cluster_id;     //  beacon_cluster_id (cluster.name): beacons of others are ignored
    uint64_t joined_cluster; //  a client: the cluster of the first member it took (0: none yet)
    zlistx_t *seeds;         //  seed_t, owned
    zlistx_t *pending;       //  pending_status_t: peer status requests waiting for an answer
    uint64_t alive;          //  our alive number: raised to refute a suspicion
    int probe_k;             //  discovery.probe_k: helpers asked per probe round
    int served;              //  probe messages served this interval
    size_t dead_next;        //  next slot of DEAD to use
    dead_t dead[MEMBERSHIP_DEAD_MAX];
    gossip_t gossip[MEMBERSHIP_GOSSIP_MAX];
    swim_counters_t swim;
} membership_t;

//  The membership state of node SELF.
static inline membership_t *membership_of (node_t *self)
{
    return node_state (self, SUBSYS_MEMBERSHIP);
}

//  The membership state of PEER.
static inline mpeer_t *mpeer_of (peer_t *peer)
{
    return node_peer_state (peer, SUBSYS_MEMBERSHIP);
}

//  membership.c: adds a peer, connects to it and greets it (HELLO asking an
//  answer, PEERS). Returns it, or NULL. Takes DEAD (if any) back: a dead
//  member re-added from what we remembered of it.
peer_t *membership_add (node_t *self, const uint8_t *uuid, uint64_t incarnation, uint8_t role,
                        const char *router_ep, const char *pub_ep, peer_source_t source);
peer_t *membership_readd (node_t *self, dead_t *dead);
//  Sends our HELLO with FLAGS (WIRE_HELLO_*) to PEER.
void membership_send_hello (node_t *self, peer_t *peer, uint32_t flags);

//  swim.c: suspicion, refutation, indirect probes, the dead list (SWIM).
//  A PING from PEER (decoded): its alive number, probe, records.
void swim_on_ping (node_t *self, peer_t *peer);
//  Every tick: probes for peers gone silent, suspicion after them.
//  True when joined PEER may be expired now (its suspicion was not refuted).
void swim_check (node_t *self, int64_t now);
bool swim_may_expire (node_t *self, peer_t *peer, int64_t now);
//  PEER is being removed (LEFT: BYE or leaving beacon; else expired).
void swim_dead (node_t *self, peer_t *peer, bool left);
//  The dead entry of UUID (NULL if none, or forgotten); forgetting it.
dead_t *swim_dead_find (node_t *self, const uint8_t *uuid);
void swim_dead_forget (node_t *self, const uint8_t *uuid);
//  The heartbeat PING to every peer (every interval), records included.
void swim_heartbeat (node_t *self);
//  Sends the records not sent yet to every joined peer, at once.
void swim_flush (node_t *self);
//  Our alive number goes above ALIVE, and everyone is told.
void swim_refute (node_t *self, uint64_t alive);
//  The status part: adds "membership":{...} to INTO; 0 or -1.
int swim_status (node_t *self, void *state, json_t *into);

//  membership_cmd.c: STATUS_REQ (answered with our status) and STATUS_REP
//  (completes a pending PSTATUS) from PEER; PSTATUS requests past their deadline.
void membership_on_status (node_t *self, int type, peer_t *peer, zmq_msg_t *body);
void membership_check_pending (node_t *self, int64_t now);

//  Runs membership command NAME (PEERS, PSTATUS); its frames
//  follow on the pipe (membership_cmd.c).
void membership_on_command (node_t *self, void *state, const char *name);

#endif
