/*  node/core/world.h - everything outside a node, behind one table.

    A node's code never calls a clock, a random source, a socket or LevelDB
    directly: it asks its world. Two worlds implement this table:
      - the real one (node/core/world_real.c): the monotonic and wall clocks,
        zuuid's entropy, ZeroMQ ROUTER / DEALER / XPUB / SUB sockets, the UDP
        beacon socket of discovery/udp.h, and the LevelDB journal;
      - the simulated one (tests/sim/): virtual time, a seeded generator, a
        network model with delay, loss, duplication, reordering, partitions
        and pauses, and the in-memory journal store that models what a crash
        keeps. So a whole fabric of real nodes runs in one process, and a
        seed replays it exactly.

    The shapes are ZeroMQ's, because the node is written against them:
      ROUTER  one per node; receives point-to-point messages, the first frame
              being the sender's routing id (what its link was opened with);
      link    an outbound point-to-point pipe to one endpoint (a DEALER),
              with a routing id; sends never block (-1 when the pipe is full);
      XPUB    one per node; publishes topic messages to every connected SUB
              whose prefix filters match the first frame, and receives the
              subscription notices of its subscribers ([1|0][prefix]);
      SUB     one per node; connects to peers' XPUB endpoints, filters by
              prefix, receives topic messages;
      beacon  datagrams broadcast to the node's segment, received with the
              sender's address.
    Frames are zmq_msg_t in both worlds (they are plain memory; no socket is
    needed to build one). Every send takes the contents of the frames it is
    given, whether it succeeds or not: the caller never closes them after.
    Every receive is non-blocking and hands over a whole multipart message.

    Thread: a world belongs to the thread that runs its node (the actor, or
    the simulator's single thread).
*/
#ifndef WEFT_NODE_CORE_WORLD_H
#define WEFT_NODE_CORE_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "journal/journal.h"

typedef struct world world_t;           //  an implementation embeds this first
typedef struct world_link world_link_t; //  an outbound point-to-point link

#define WORLD_SELF "self://" //  link_open: the node's own ROUTER

//  The inputs a node reads.
typedef enum {
    WORLD_ROUTER = 0, //  point-to-point messages in: [sender id][frames...]
    WORLD_SUB = 1,    //  topic messages in
    WORLD_XPUB = 2,   //  subscription notices in: [1 or 0][prefix]
    WORLD_BEACON = 3, //  beacon datagrams in
    WORLD_INPUTS = 4  //  how many
} world_input_t;

//  Socket options of a listener or link; 0 means the world's default.
typedef struct {
    int sndhwm;           //  messages queued for sending before a send fails / drops
    int rcvhwm;           //  messages queued for receiving
    int64_t maxmsgsize;   //  larger inbound messages are dropped by the transport
    int linger_ms;        //  what is queued still leaves for this long after a close
    int reconnect_ivl_ms; //  links: first reconnect delay
    int reconnect_max_ms; //  links: reconnect delay ceiling
} world_opts_t;

typedef struct {
    //  Time and chance
    int64_t (*now_ms) (world_t *w);                     //  monotonic milliseconds
    int64_t (*wall_us) (world_t *w);                    //  wall clock, microseconds since the epoch
    void (*random) (world_t *w, void *buf, size_t len); //  LEN random bytes

    //  The host: resolves interface NAME to our address and its broadcast
    //  address (INET_ADDRSTRLEN each). 0 or WEFT_ENODEV with ERR.
    int (*resolve) (world_t *w, const char *name, char *addr, char *bcast, char *err,
                    size_t errlen);

    //  Listeners: binds the ROUTER (WORLD_ROUTER) or the XPUB (WORLD_XPUB) on
    //  BIND (an address) and PORT (0: any), writes the bound port. Opens the
    //  SUB (WORLD_SUB; BIND and PORT unused). 0, or WEFT_EADDRINUSE / WEFT_EIO
    //  / WEFT_ENOMEM with ERR.
    int (*listen) (world_t *w, world_input_t which, const char *bind, uint16_t port,
                   const world_opts_t *opts, uint16_t *bound, char *err, size_t errlen);

    //  A link to ENDPOINT whose messages arrive at that ROUTER with routing id
    //  ID (IDLEN bytes). WORLD_SELF is this node's own ROUTER (in-process in
    //  the real world). NULL when the endpoint is malformed or out of memory.
    world_link_t *(*link_open) (world_t *w, const char *endpoint, const void *id, size_t idlen,
                                const world_opts_t *opts);
    //  Sends COUNT frames as one message; 0, or -1 when the link is full or
    //  broken (the message is dropped). Takes the frames.
    int (*link_send) (world_t *w, world_link_t *link, zmq_msg_t *frames, size_t count);
    //  Closes *LINK_P (what is queued leaves within LINGER_MS) and nulls it. NULL-safe.
    void (*link_close) (world_t *w, world_link_t **link_p, int linger_ms);

    //  Publishes COUNT frames on the XPUB (frame 0 is the topic). 0, or -1
    //  when it could not be queued. Subscribers whose queue is full drop it
    //  silently, as PUB/SUB does. Takes the frames.
    int (*publish) (world_t *w, zmq_msg_t *frames, size_t count);
    //  SUB: connects to (ON) or disconnects from a peer's XPUB ENDPOINT.
    int (*sub_connect) (world_t *w, const char *endpoint, bool on);
    //  SUB: adds (ON) or removes one prefix filter (LEN bytes).
    void (*sub_filter) (world_t *w, const void *prefix, size_t len, bool on);

    //  Beacons: opens the datagram socket for ADDR, broadcasting to BCAST:PORT.
    //  0 or WEFT_E* with ERR (see discovery/udp.h).
    int (*beacon_open) (world_t *w, const char *addr, const char *bcast, uint16_t port, char *err,
                        size_t errlen);
    //  Broadcasts LEN bytes. 0 or WEFT_EIO (a lost beacon is not fatal).
    int (*beacon_send) (world_t *w, const void *buf, size_t len);

    //  Receives one whole message from INPUT without blocking, into FRAMES
    //  (CAP of them; the caller closes the COUNT it gets). Returns 0, -1 when
    //  nothing is waiting, or 1 when the message had more than CAP frames
    //  (it was dropped whole: count it as malformed). WORLD_BEACON gives one
    //  frame (the datagram) and writes the sender's address into FROM
    //  (INET_ADDRSTRLEN bytes; NULL for the other inputs).
    int (*recv) (world_t *w, world_input_t input, zmq_msg_t *frames, size_t cap, size_t *count,
                 char *from);

    //  The journal in DIR (see journal/journal.h for the codes): LevelDB in
    //  the real world, the crash-modelling memory store in the simulator.
    int (*journal_open) (world_t *w, const char *dir, const journal_options_t *opts,
                         journal_t **out, char *err, size_t errlen);

    //  Closes every listener, the SUB and the beacon socket (links are
    //  closed by their owners first).
    void (*close) (world_t *w);

    //  Frees the world. NULL-safe.
    void (*destroy) (world_t **w_p);
} world_ops_t;

struct world {
    const world_ops_t *ops; //  the implementation
};

//  --- Short forms --------------------------------------------------------------

static inline int64_t world_now (world_t *w)
{
    return w->ops->now_ms (w);
}

static inline int64_t world_wall_us (world_t *w)
{
    return w->ops->wall_us (w);
}

//  64 random bits.
static inline uint64_t world_random (world_t *w)
{
    uint64_t r = 0;
    w->ops->random (w, &r, sizeof r);
    return r;
}

//  The unplugged world (world_null.c): sends go nowhere, nothing arrives,
//  the clock stands at 0, links are only forgotten (their own world frees
//  them). Shared and stateless: never destroyed.
world_t *world_null (void);

//  A frame holding a copy of LEN bytes at DATA. 0 or -1 (out of memory:
//  the frame is then empty).
int world_frame_copy (zmq_msg_t *frame, const void *data, size_t len);

//  Closes COUNT frames.
void world_frames_close (zmq_msg_t *frames, size_t count);

#endif
