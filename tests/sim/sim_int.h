/*  tests/sim/sim_int.h - the simulator's insides, shared by sim.c (engine),
    sim_net.c (network model), sim_world.c (world_ops_t) and sim_fault.c
    (fault plan). Not for hosts: they see sim.h and sim_world.h only.

    Messages in flight and queued are sim_msg_t: one allocation holding the
    frame lengths and bytes. A link message counts against its link until it
    is delivered or dropped; a closed link is freed when its last message is
    gone (so an event never points at freed memory).
*/
#ifndef WEFT_SIM_SIM_INT_H
#define WEFT_SIM_SIM_INT_H

#include "sim.h"
#include "sim_world.h"

#define SIM_CONNS_MAX   (2 * SIM_HOSTS_MAX) //  SUB connections per host
#define SIM_HWM_DEFAULT 1000                //  sndhwm / rcvhwm when the opts say 0
#define SIM_PORT_FIRST  40000               //  first port a world hands out

typedef struct sim_link sim_link_t;

//  A message, in flight or queued at an input.
typedef struct sim_msg {
    struct sim_msg *next; //  next in its input queue
    uint64_t id;          //  trace number (m<id>)
    int src;              //  sending host
    int dst;              //  receiving host
    int dst_boot;         //  incarnation of DST it was sent to
    world_input_t input;  //  where it lands
    uint16_t port;        //  ROUTER / XPUB: listener port at DST; SUB: publisher's XPUB port
    bool local;           //  generated at DST itself (no network: no partition)
    sim_link_t *link;     //  the link it counts against, or NULL
    char from[16];        //  beacons: the sender's address
    size_t count;         //  frames
    size_t bytes;         //  total frame bytes
    size_t *lens;         //  COUNT lengths (inside this allocation)
    unsigned char *body;  //  the frames' bytes, one after another (inside too)
} sim_msg_t;

//  A FIFO of messages.
typedef struct {
    sim_msg_t *head; //  oldest
    sim_msg_t *tail; //  newest
    size_t len;      //  how many
} sim_queue_t;

//  A set of prefix filters (a list; duplicates count, as ZeroMQ's do).
typedef struct {
    unsigned char **items; //  each prefix
    size_t *lens;          //  their lengths
    size_t len;            //  how many
    size_t cap;            //  allocated
} sim_filters_t;

//  An outbound link (a DEALER connected to one ROUTER endpoint).
struct sim_link {
    sim_link_t *next;      //  in its world's list
    sim_world_t *world;    //  owner; NULL once the world is gone
    uint64_t uid;          //  trace number (l<uid>)
    int dst;               //  host of the endpoint, -1 when not ours
    uint16_t port;         //  port of the endpoint
    unsigned char id[256]; //  routing id
    size_t idlen;          //  its length
    size_t sndhwm;         //  messages in flight at most
    size_t inflight;       //  messages in flight now
    int64_t last_arrival;  //  FIFO: no message arrives before this
    bool closed;           //  closed by its owner
};

//  A SUB connection to an XPUB endpoint.
typedef struct {
    int host;      //  publisher host, -1 when not ours
    uint16_t port; //  its XPUB port
    bool attached; //  the XPUB has been sent our filters (the TCP connection is up)
} sim_subconn_t;

struct sim_world {
    world_t base;                       //  must be first
    sim_t *sim;                         //  the engine
    int index;                          //  host index
    int boot;                           //  incarnation (1 on first boot)
    sim_rng_t rng;                      //  this incarnation's random stream
    int64_t wall_offset_us;             //  wall clock = virtual time + this
    bool router_open;                   //  ROUTER bound
    uint16_t router_port;               //  ... on this port
    size_t router_rcvhwm;               //  ... queueing this many
    int64_t router_maxmsg;              //  ... dropping larger messages (0: no limit)
    bool xpub_open;                     //  XPUB bound
    uint16_t xpub_port;                 //  ... on this port
    size_t xpub_rcvhwm;                 //  notices queued at most
    bool sub_open;                      //  SUB open
    size_t sub_rcvhwm;                  //  topic messages queued at most
    sim_subconn_t conns[SIM_CONNS_MAX]; //  SUB connections
    int nconns;                         //  how many
    sim_filters_t filters;              //  SUB filters
    bool beacon_open;                   //  beacon socket open
    uint16_t beacon_port;               //  its port
    sim_filters_t view[SIM_HOSTS_MAX];  //  XPUB: filters each subscriber host sent us
    int64_t pub_last[SIM_HOSTS_MAX];    //  FIFO of publications to each host
    int64_t notice_last[SIM_HOSTS_MAX]; //  FIFO of our notices to each host's XPUB
    sim_queue_t in[WORLD_INPUTS];       //  inputs waiting for recv
    sim_link_t *links;                  //  links opened (closed ones stay until empty)
    uint16_t next_port;                 //  next port to hand out
    sim_journal_opener_t opener;        //  journal_open hook, or NULL
    void *opener_arg;                   //  its argument
};

//  One host slot of the engine.
typedef struct {
    const sim_host_ops_t *ops; //  host kind
    void *arg;                 //  caller's (the disk)
    void *host;                //  what boot returned; NULL when down
    sim_world_t *world;        //  its world; NULL when down
    int boots;                 //  boots so far
    bool paused;               //  no turns
    bool woken;                //  input arrived since its last turn
    int64_t last_turn;         //  time of its last turn
    int64_t wall_offset_us;    //  fixed for the host's life
} sim_slot_t;

//  Fault kinds of plan events.
typedef enum {
    SIM_FAULT_PARTITION, //  two-way between GROUP and the rest
    SIM_FAULT_ONEWAY,    //  GROUP's messages to the rest are dropped
    SIM_FAULT_HEAL,      //  every partition healed
    SIM_FAULT_PAUSE,     //  HOST paused
    SIM_FAULT_RESUME,    //  HOST resumed
    SIM_FAULT_CRASH,     //  HOST crashed (LOSE: power loss)
    SIM_FAULT_WIPE,      //  HOST crashed, disk lost
    SIM_FAULT_REBOOT     //  HOST booted again
} sim_fault_kind_t;

typedef struct {
    sim_fault_kind_t kind; //  what
    int host;              //  which host, for host faults
    uint32_t group;        //  bit per host, for partitions
    bool lose;             //  crash: unsynced writes lost
} sim_fault_t;

//  A queued event.
typedef struct {
    int64_t time;      //  when
    uint64_t seq;      //  insertion order, breaks ties
    sim_msg_t *msg;    //  a delivery, or NULL for a fault
    sim_fault_t fault; //  the fault when MSG is NULL
} sim_event_t;

struct sim {
    sim_config_t config;                            //  as given
    int64_t now;                                    //  virtual ms
    uint64_t seq;                                   //  next event sequence
    uint64_t msg_ids;                               //  next message number
    uint64_t link_uids;                             //  next link number
    sim_rng_t net_rng;                              //  loss, dup, delays
    sim_event_t *heap;                              //  min-heap on (time, seq)
    size_t heap_len;                                //  events queued
    size_t heap_cap;                                //  allocated
    size_t inflight;                                //  messages in the heap
    sim_slot_t slot[SIM_HOSTS_MAX];                 //  hosts
    int hosts;                                      //  how many
    bool blocked[SIM_HOSTS_MAX][SIM_HOSTS_MAX];     //  [a][b]: a's messages to b are dropped
    int64_t delay_lo[SIM_HOSTS_MAX][SIM_HOSTS_MAX]; //  per ordered pair, ms
    int64_t delay_hi[SIM_HOSTS_MAX][SIM_HOSTS_MAX]; //  ...
    double loss;                                    //  per-message loss probability
    double dup;                                     //  per-message duplication probability
    bool reorder;                                   //  no per-channel FIFO
    uint64_t hash;                                  //  FNV-1a of the trace
    sim_stats_t stats;                              //  counters
    bool failed;                                    //  a check failed
    char failure[512];                              //  why
};

//  --- sim.c -----------------------------------------------------------------
//  Queues MSG (owned) for delivery at TIME; false when the network is full
//  (the caller drops it).
bool sim_push_msg (sim_t *self, int64_t time, sim_msg_t *msg);
//  Queues FAULT at TIME.
void sim_push_fault (sim_t *self, int64_t time, sim_fault_t fault);
//  Applies FAULT now (sim_fault.c).
void sim_fault_apply (sim_t *self, const sim_fault_t *fault);
//  Marks host I as having input (a turn this step).
void sim_wake (sim_t *self, int i);

//  --- sim_net.c -------------------------------------------------------------
//  A message of COUNT frames (taken and closed), preceded by PRE (PRELEN
//  bytes) as frame 0 when PRE is not NULL. NULL when out of memory.
sim_msg_t *sim_msg_new (const void *pre, size_t prelen, zmq_msg_t *frames, size_t count);
//  A message of one frame of LEN bytes.
sim_msg_t *sim_msg_bytes (const void *data, size_t len);
//  A copy of MSG (not queued, no link).
sim_msg_t *sim_msg_dup (sim_t *self, const sim_msg_t *msg);
void sim_msg_free (sim_msg_t **msg_p);
//  Sends MSG (owned; src, dst, input, port set) through the network model.
//  FIFO_LAST is the channel's last arrival time (NULL: datagram, no FIFO).
//  Returns 0, or -1 when it was dropped at once.
int sim_net_send (sim_t *self, sim_msg_t *msg, int64_t *fifo_last);
//  Delivers MSG (owned) now: to its input, or dropped with a reason.
void sim_net_deliver (sim_t *self, sim_msg_t *msg);
//  Drops MSG (owned) with REASON in the trace.
void sim_net_drop (sim_t *self, sim_msg_t *msg, const char *reason);
//  Attaches every SUB connection that can be, detaches every one that cannot.
void sim_net_reconcile (sim_t *self);
//  Host I went down: detaches the SUB connections to and from it.
void sim_net_host_down (sim_t *self, int i);
//  Sends notice [ON][prefix] to the XPUB of every attached connection of W.
void sim_net_notice_all (sim_t *self, sim_world_t *w, bool on, const void *prefix, size_t len);
//  Detaches connection K of W (if attached).
void sim_net_detach (sim_t *self, sim_world_t *w, int k);
//  An FNV-1a of MSG's frames (for the trace).
uint32_t sim_msg_digest (const sim_msg_t *msg);

//  --- sim_world.c ----------------------------------------------------------
//  Host INDEX's world for incarnation BOOT. NULL when out of memory.
sim_world_t *sim_world_new (sim_t *sim, int index, int boot, int64_t wall_offset_us);
//  Frees the world: its queues, its links (those with messages in flight
//  are orphaned and freed by their last message). NULL-safe.
void sim_world_free (sim_world_t **self_p);
//  Appends MSG (owned) to INPUT's queue; false when it is full (MSG kept by caller).
bool sim_world_enqueue (sim_world_t *self, sim_msg_t *msg);
//  A link lost one message in flight (delivered or dropped); frees it when
//  it was the last of a closed or orphaned link.
void sim_link_release (sim_link_t *link);
//  Parses "tcp://198.18.0.<n>:<port>" into host n-1 and port; -1 when not one of ours.
int sim_endpoint_parse (const char *endpoint, int *host, uint16_t *port);
//  Prefix filter sets.
int sim_filters_add (sim_filters_t *set, const void *prefix, size_t len);
bool sim_filters_remove (sim_filters_t *set, const void *prefix, size_t len);
bool sim_filters_match (const sim_filters_t *set, const void *data, size_t len);
void sim_filters_clear (sim_filters_t *set);

#endif
