/*  tests/support/fakecore.h - a scripted fake world and a fake core harness
    around a real node_t, for unit tests of the subsystems.

    The world (fc_world_*) implements world_ops_t (node/core/world.h) with
    nothing real behind it: a manual clock the test advances, randomness from
    a seeded counter, an interface that resolves to 198.18.0.1 (a virtual
    address: nothing is opened), listeners that hand out ports 5000, 5001...,
    links that record every message sent (frames copied, per endpoint) - a
    link to WORLD_SELF also loops its messages back into the ROUTER input, as
    the real world's inproc loopback does - a XPUB whose publishes are
    recorded, a SUB whose connects and filters are recorded, a beacon socket
    whose datagrams are recorded, and inputs (ROUTER, SUB, XPUB, BEACON) that
    return what the test injected. A journal opens over the jdisk_t the test
    gave (journal/store_mem.h), or fails when none was given.

    The harness (fc_*) creates a node in such a world from config keys,
    creates the pipe and events PAIR sockets as api.c does (inproc, unique
    names; the node never runs on a thread of its own), STARTs it through the
    pipe, runs turns (node_turn) with every input flagged ready, injects
    messages from fake peers (encoded with the wire codecs), takes the
    recorded outgoing messages, and reads the application events by draining
    the events PAIR without blocking. No threads, no network, no sleeps: a
    reply on the pipe is already there when the turn that wrote it returns,
    so every receive here is bounded by FC_RECV_MS and fails the test if
    nothing came.

    Everything goes through the core's public pieces (commands, events,
    world messages, node_peer_find, the status JSON), never a subsystem's
    fields, so that the subsystems may be refactored under the tests.
*/
#ifndef WEFT_TESTS_FAKECORE_H
#define WEFT_TESTS_FAKECORE_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "journal/store_mem.h"
#include "node/core/node.h"

#define FC_RECV_MS 1000         //  bound on reading a reply the node must have written already
#define FC_ADDR    "198.18.0.1" //  our (virtual) interface address

//  --- The fake world ----------------------------------------------------------

typedef struct fc_world fc_world_t;

//  A new world whose randomness is drawn from SEED; the clock starts at 1000 ms.
fc_world_t *fc_world_new (uint64_t seed);
//  Frees the world and everything it recorded. NULL-safe.
void fc_world_destroy (fc_world_t **self_p);
//  The world_t to give node_new.
world_t *fc_world_base (fc_world_t *self);

//  The process that lived in the world died (node_crash unplugged it, so
//  it closed nothing): its links are freed, its SUB and inputs forgotten.
void fc_world_crash (fc_world_t *self);

//  The journal opens over DISK (borrowed; NULL: journal_open fails).
void fc_world_set_disk (fc_world_t *self, jdisk_t *disk);

//  The clock: now, and moving it forward by MS (never back).
int64_t fc_world_now (fc_world_t *self);
void fc_world_advance (fc_world_t *self, int64_t ms);

//  Queues MSG (taken) on INPUT, read by the node's next turn. FROM is the
//  sender's address for WORLD_BEACON (ignored otherwise).
void fc_world_inject (fc_world_t *self, world_input_t input, zmsg_t **msg_p, const char *from);

//  The first message recorded as sent on a link to ENDPOINT ("self://" for
//  the loopback; NULL: any link), removed from the record; NULL if none.
//  Its frames are as sent (header first, no routing id).
zmsg_t *fc_world_take_sent (fc_world_t *self, const char *endpoint);
//  Messages recorded as sent to ENDPOINT (NULL: any) and not taken yet.
size_t fc_world_sent_count (fc_world_t *self, const char *endpoint);
//  The first message recorded on the XPUB ([topic][header][body]), removed; NULL if none.
zmsg_t *fc_world_take_published (fc_world_t *self);
//  Walks the sends to ENDPOINT (NULL: any) for which MATCH (NULL: any)
//  says true: takes the first into *TAKE (removed from the record) and
//  returns 1, or, with TAKE NULL, counts them.
typedef bool (fc_match_fn) (zmsg_t *msg, void *arg);
size_t fc_world_sent_walk (fc_world_t *self, const char *endpoint, fc_match_fn *match, void *arg,
                           zmsg_t **take);
//  Messages waiting on INPUT (injected, or looped back to our own ROUTER).
size_t fc_world_pending (fc_world_t *self, world_input_t input);
//  Datagrams broadcast as beacons so far.
size_t fc_world_beacons_sent (fc_world_t *self);
//  Forgets every recorded send, publish and beacon.
void fc_world_clear (fc_world_t *self);

//  How many links to ENDPOINT are open now.
int fc_world_links_open (fc_world_t *self, const char *endpoint);
//  Whether the SUB is connected to ENDPOINT now.
bool fc_world_sub_connected (fc_world_t *self, const char *endpoint);
//  How many times the prefix filter PREFIX (LEN bytes) is set on the SUB now
//  (subscribes minus unsubscribes, as libzmq counts them).
int fc_world_sub_filter (fc_world_t *self, const void *prefix, size_t len);

//  --- Fake peers ---------------------------------------------------------------

//  A node that exists only in the test: what it says in its HELLO.
typedef struct {
    uint8_t uuid[WIRE_UUID_SIZE];     //  derived from its number
    char hex[WIRE_UUID_SIZE * 2 + 1]; //  same, hex
    uint64_t incarnation;             //  as said in HELLO
    char name[WIRE_NAME_MAX + 1];     //  "fake-N"
    uint8_t role;                     //  WIRE_ROLE_MEMBER
    char router_ep[WIRE_EP_MAX + 1];  //  "tcp://198.18.0.<8+N>:4000"
    char pub_ep[WIRE_EP_MAX + 1];     //  "tcp://198.18.0.<8+N>:4001"
    uint32_t capacity;                //  ring weight in HELLO (0: owns no queues)
    uint32_t hello_flags;             //  WIRE_HELLO_* its HELLOs carry (0)
    uint64_t cluster;                 //  the cluster id its HELLOs say (0: none said)
    uint32_t caps;                    //  WIRE_CAP_* its HELLOs say (0: all of today's)
} fc_peer_t;

//  Fake peer number N (1..200): UUID, name and endpoints as above, incarnation 1.
fc_peer_t fc_peer (int n);

//  --- The harness -----------------------------------------------------------------

typedef struct fc fc_t;

//  One application event, as read from the events PAIR.
typedef struct {
    node_event_t ev;           //  kind, seq, time, sender
    char topic[TOPIC_MAX + 1]; //  topic or queue ("" if none)
    char body[1024];           //  body, NUL-terminated (truncated)
    size_t body_len;           //  its real length
    char headers[1024];        //  "k\0v\0..." as sent
    size_t headers_len;        //  bytes used
} fc_event_t;

//  A node named NAME in a new fake world of SEED, from config key/value
//  pairs KV (NULL-terminated; discovery.enabled is false unless KV says
//  otherwise; log.level error). DISK, if not NULL, is where its journal opens
//  (set journal.dir in KV too). Not started. Fails the test on error.
fc_t *fc_new (const char *name, uint64_t seed, jdisk_t *disk, const char *const *kv);
//  Same, and STARTs it (the test fails unless START answers 0).
fc_t *fc_start_new (const char *name, uint64_t seed, jdisk_t *disk, const char *const *kv);
//  Stops the node ($TERM, then node_stop), frees it, its sockets and its world. NULL-safe.
void fc_destroy (fc_t **self_p);
//  Stops and frees the node but keeps the world's clock running on into a
//  new node from the same config and disk: a restart. Fails unless START answers 0.
void fc_restart (fc_t *self);

//  A crash, then a restart: the node dies without a goodbye or a last
//  commit (node_crash), its disk keeps only the first KEEP batches not
//  synced yet (jdisk_crash: 0 is a power cut that loses them all), and a
//  new node starts from the same config and disk. Fails unless START answers 0.
void fc_crash (fc_t *self, uint64_t keep);

node_t *fc_node (fc_t *self);
fc_world_t *fc_world (fc_t *self);
//  Our side of the node's pipe (commands out, replies in).
zsock_t *fc_pipe (fc_t *self);

//  START through the pipe: returns its rc (ERR gets the error text, if not NULL).
int fc_start (fc_t *self, char *err, size_t errlen);

//  One turn: the commands waiting on the pipe, every input, timers, commit.
void fc_turn (fc_t *self);
//  Turns until nothing waits on any input (the node's messages to itself,
//  through WORLD_SELF, take a turn each way), at most FC_RUN_MAX; returns
//  how many turns it ran. Fails the test if input still waits after that.
#define FC_RUN_MAX 64
int fc_run (fc_t *self);
//  Moves the clock MS forward, giving the node a turn at each of its
//  deadlines on the way and at the end.
void fc_advance (fc_t *self, int64_t ms);

//  Commands (each runs a turn and reads the reply, if the command has one).
int fc_subscribe (fc_t *self, const char *pattern);
void fc_publish (fc_t *self, const char *topic, const char *body);
//  The STATUS JSON (caller frees); fails the test if there is none.
char *fc_status (fc_t *self);
//  The first number after "KEY": in the STATUS JSON (counters come first);
//  -1 if absent.
int64_t fc_status_int (fc_t *self, const char *key);
//  PEERS: the rows (caller frees) and their count.
size_t fc_peers (fc_t *self, node_peer_info_t **rows_p);
//  The row of PEER in PEERS, in ROW; false if it is not in the table.
bool fc_peer_row (fc_t *self, const fc_peer_t *peer, node_peer_info_t *row);
//  Sends PICTURE (zsock_send) with its arguments, runs a turn, and reads an
//  int reply; returns it (INT32_MIN when none came).
int fc_command_int (fc_t *self, const char *picture, ...);

//  --- Injecting -------------------------------------------------------------------

//  A ROUTER message from routing id FROM (16 bytes) with the header in SBUF
//  and BODY (LEN bytes; NULL: no body frame).
void fc_inject_router (fc_t *self, const uint8_t *from, const msgpack_sbuffer *sbuf,
                       const void *body, size_t len);
//  PEER's HELLO (from its own routing id).
void fc_inject_hello (fc_t *self, const fc_peer_t *peer);
//  A bare message of TYPE from PEER: PING, BYE.
void fc_inject_simple (fc_t *self, const fc_peer_t *peer, int type);
//  PEERS from FROM listing COUNT peers.
void fc_inject_peers (fc_t *self, const fc_peer_t *from, const fc_peer_t *list, size_t count);
//  A topic message on the SUB from PEER: TOPIC, SEQ, FLAGS (WIRE_FLAG_*), BODY.
void fc_inject_topic (fc_t *self, const fc_peer_t *peer, const char *topic, uint64_t seq,
                      uint32_t flags, const char *body);
//  A subscription notice on the XPUB: ON (1 or 0) then PREFIX (LEN bytes).
void fc_inject_xpub (fc_t *self, bool on, const void *prefix, size_t len);
//  The readiness-marker notice of PEER (0xFF + its UUID) on the XPUB.
void fc_inject_ready (fc_t *self, const fc_peer_t *peer);
//  A beacon datagram (LEN bytes) from address FROM.
void fc_inject_beacon (fc_t *self, const void *data, size_t len, const char *from);

//  --- Taking what went out ------------------------------------------------------------

//  The first message sent to ENDPOINT (NULL: any) whose header decodes to
//  TYPE (-1: any type), removed from the record (earlier messages of other
//  types stay); NULL if none. The header stays decoded in fc_decoder ()
//  until the next fc_take / fc_decode.
zmsg_t *fc_take (fc_t *self, const char *endpoint, int type);
//  Messages sent to ENDPOINT (NULL: any) whose header decodes to TYPE (-1: any), not taken yet.
size_t fc_count (fc_t *self, const char *endpoint, int type);
//  The first publish on the XPUB, removed; its header (frame 2) decoded into
//  *MSG (if not NULL). NULL if none.
zmsg_t *fc_take_published (fc_t *self, wire_msg_t *msg);
//  Decodes FRAME as a header: returns its type, or -1 (malformed).
int fc_decode (fc_t *self, zframe_t *frame);
//  The harness's decoder (for wire_get_* on what fc_take or fc_decode decoded).
wire_decoder_t *fc_decoder (fc_t *self);

//  --- Events ----------------------------------------------------------------------------

//  Takes the first event of KIND (0: any) into OUT (if not NULL), after
//  draining the events PAIR; events of other kinds stay. False if none.
bool fc_event (fc_t *self, int kind, fc_event_t *out);
//  Events of KIND (0: any) waiting, after draining the events PAIR.
size_t fc_event_count (fc_t *self, int kind);
//  Forgets every event waiting.
void fc_events_clear (fc_t *self);
//  The value of header KEY of EV, or NULL.
const char *fc_event_header (const fc_event_t *ev, const char *key);

#endif
