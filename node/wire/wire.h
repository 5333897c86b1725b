/*  node/wire/wire.h - the codec for every message nodes exchange over ZeroMQ.

    The wire format is specified in docs/PROTOCOL.md; this module is its one
    implementation. A header frame is a msgpack array [version, type, ...];
    bodies travel in their own frame and are never copied here.

    Encoders write into a caller-owned msgpack_sbuffer (cleared first), so a
    node reuses one buffer for every message it sends. The decoder is a
    reusable context: wire_decode () parses a frame once, then wire_get_*
    extracts the typed fields. Decoding never trusts its input: every field's
    type and size is checked, and a bad frame yields WEFT_EPROTO and a reason
    in wire_decoder_error () - never a crash.
    Thread: an encoder call or a decoder context belongs to one thread.
*/
#ifndef WEFT_NODE_WIRE_H
#define WEFT_NODE_WIRE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define WIRE_VERSION     1    //  bump on any incompatible change
#define WIRE_UUID_SIZE   16   //  node UUIDs are 16 raw bytes on the wire
#define WIRE_NAME_MAX    63   //  node names, bytes
#define WIRE_EP_MAX      127  //  ZeroMQ endpoints, bytes
#define WIRE_PEERS_MAX   256  //  entries in one PEERS message
#define WIRE_HEADERS_MAX 32   //  user headers on one topic message
#define WIRE_HEADER_MAX  8192 //  default cap on a header frame, bytes

typedef enum {
    WIRE_HELLO = 1,         //  handshake: who I am, where I listen, what I can do
    WIRE_PEERS = 2,         //  gossip: the live peers I know
    WIRE_PING = 3,          //  liveness when beacons do not reach
    WIRE_BYE = 4,           //  I am leaving (clean stop)
    WIRE_MSG = 5,           //  a topic message (on PUB/SUB; frames: topic, header, body)
    WIRE_STATUS_REQ = 6,    //  ask a node for its status: [v, 6, request id]
    WIRE_STATUS_REP = 7,    //  its answer: [v, 7, request id]; body frame = JSON text
    WIRE_REPLAY_REQ = 8,    //  replay a durable pattern from a start (wire_replay_req_t)
    WIRE_REPLAY_MSG = 9,    //  one replayed message: [v, 9, request id, topic]; then the
                            //  stored MSG header frame and the body frame
    WIRE_REPLAY_END = 10,   //  the replay is complete: [v, 10, request id, status]
    WIRE_REPLAY_TRUNC = 11, //  a stream starts later than asked:
                            //  [v, 11, request id, topic, requested seq, first seq]
    //  Queues (wire_queue.c): every queue message is a wire_queue_t, with the
    //  fields of its type in the order of wire_queue_layout () (PROTOCOL.md)
    WIRE_QSEND = 12,       //  producer -> owner: enqueue (+ body)
    WIRE_QCONFIRM = 13,    //  owner -> producer: journaled (or why not)
    WIRE_QREPL = 14,       //  owner -> replica: store a copy (+ body)
    WIRE_QREPL_ACK = 15,   //  replica -> owner: copy journaled
    WIRE_QREPL_DEL = 16,   //  owner -> replica: these are gone (acked, dead-lettered)
    WIRE_QREPL_RESET = 17, //  owner -> replica: drop your copy, a full one follows
    WIRE_QCONSUME = 18,    //  consumer -> owner: register (or refresh) with a prefetch
    WIRE_QCANCEL = 19,     //  consumer -> owner: unregister
    WIRE_QDELIVER = 20,    //  owner -> consumer: a delivery (+ body)
    WIRE_QSETTLE = 21,     //  consumer -> owner: ack, nack or reject a delivery
    WIRE_QSYNC_REQ = 22,   //  new owner -> former holders: send me what you hold
    WIRE_QSYNC_MSG = 23,   //  former holder -> new owner: one message (+ body)
    WIRE_QSYNC_END = 24,   //  former holder -> new owner: that was all
    WIRE_QSYNC_DONE = 25,  //  new owner -> former holder: merged; drop your copy
    WIRE_QOFFER = 26,      //  former owner -> new owner: I hold messages of this queue
    WIRE_QREDRIVE = 27,    //  any -> owner of QUEUE.dlq: move dead letters back
    WIRE_MISSED = 28,      //  subscriber -> publisher: [v, 28, messages of yours I missed]
    //  Queues on Raft (queues.engine = raft, PROTOCOL.md §12), queue layouts too:
    WIRE_QRAFT = 29,  //  member -> member: one Raft message of a queue's group (+ body: its bytes)
    WIRE_QLEADER = 30 //  member -> client: the leader of a queue as this member knows it
} wire_type_t;

//  Capability bits carried in HELLO.
#define WIRE_CAP_PUBSUB  0x01u
#define WIRE_CAP_JOURNAL 0x02u
#define WIRE_CAP_QUEUES  0x04u
#define WIRE_CAP_VHEAD   0x08u //  takes volatile HEADs (flags HEAD without DURABLE)

//  MSG flags.
#define WIRE_FLAG_DURABLE 0x01u //  journaled by its publisher: gaps can be repaired
#define WIRE_FLAG_HEAD    0x02u //  a stream head: seq = last seq sent; no body for the app

//  Where a replay starts (REPLAY_REQ from_kind).
#define WIRE_FROM_LATEST   0 //  nothing from the past
#define WIRE_FROM_EARLIEST 1 //  the oldest entry kept
#define WIRE_FROM_SEQ      2 //  from_value = first sequence wanted
#define WIRE_FROM_TIME     3 //  from_value = publisher time, microseconds

#define WIRE_TOPIC_MAX    255  //  topics, patterns and queue names, bytes (TOPIC_MAX in topic.h)
#define WIRE_MSG_ID_MAX   128  //  producer message ids, bytes
#define WIRE_CONSUMER_MAX 64   //  consumer ids ("<node uuid>/<n>"), bytes
#define WIRE_REASON_MAX   63   //  dead-letter reasons, bytes
#define WIRE_SEQS_MAX     1024 //  sequence numbers in one QREPL_DEL
#define WIRE_CURSORS_MAX  1024 //  cursors in one REPLAY_REQ

//  Roles, as in beacons.
#define WIRE_ROLE_MEMBER 0
#define WIRE_ROLE_CLIENT 1

typedef struct {
    uint8_t uuid[WIRE_UUID_SIZE];    //  sender's node UUID
    uint64_t incarnation;            //  changes every time the node starts
    char name[WIRE_NAME_MAX + 1];    //  human-readable node name
    uint8_t role;                    //  WIRE_ROLE_*
    char router_ep[WIRE_EP_MAX + 1]; //  where its ROUTER listens, "tcp://ip:port"
    char pub_ep[WIRE_EP_MAX + 1];    //  where its PUB listens
    uint32_t caps;                   //  WIRE_CAP_* bits
    uint32_t capacity;               //  ring weight; 0 = owns no queues (optional field 9)
    uint32_t flags;                  //  WIRE_HELLO_* (optional field 10; 0 when absent)
    uint64_t cluster;                //  the sender's cluster id (optional field 11; 0: not said)
} wire_hello_t;

//  HELLO flags.
#define WIRE_HELLO_ANSWER                                                                          \
    0x1u //  "I have just added you": a receiver that knew us answers with its HELLO
#define WIRE_HELLO_AGAIN                                                                           \
    0x2u //  with ANSWER: "I was declared dead, here I am again" (not: "I had dropped you")

typedef struct {
    uint8_t uuid[WIRE_UUID_SIZE];    //  a peer's node UUID
    uint64_t incarnation;            //  its incarnation as the sender knows it
    uint8_t role;                    //  WIRE_ROLE_*
    char router_ep[WIRE_EP_MAX + 1]; //  its ROUTER endpoint
    char pub_ep[WIRE_EP_MAX + 1];    //  its PUB endpoint
} wire_peer_t;

typedef struct {
    size_t count;                      //  entries used
    wire_peer_t peers[WIRE_PEERS_MAX]; //  large: allocate, do not put on a small stack
} wire_peers_t;

//  PING's optional fields 2..6 (PROTOCOL.md §4.3, SWIM): the sender's alive
//  number, an indirect probe, and membership records it gossips.
#define WIRE_PROBE_NONE  0 //  a heartbeat
#define WIRE_PROBE_REQ   1 //  origin -> helper: probe TARGET for me
#define WIRE_PROBE       2 //  helper -> target: answer me (TARGET: the origin)
#define WIRE_PROBE_ACK   3 //  target -> helper: I am alive (TARGET: the origin, echoed)
#define WIRE_PROBE_RELAY 4 //  helper -> origin: TARGET answered your probe
#define WIRE_RECORDS_MAX 8 //  membership records in one PING

//  A membership record's state.
#define WIRE_MEMBER_ALIVE   0 //  alive at (incarnation, alive number)
#define WIRE_MEMBER_SUSPECT 1 //  the sender suspects it: refute with a higher alive number
#define WIRE_MEMBER_DEAD    2 //  the sender expired (or saw leave) it

typedef struct {
    uint8_t uuid[WIRE_UUID_SIZE]; //  the member
    uint64_t incarnation;         //  its incarnation (run)
    uint64_t alive;               //  its alive number within that run
    uint8_t state;                //  WIRE_MEMBER_*
} wire_record_t;

typedef struct {
    uint64_t alive;                          //  field 2: the sender's alive number (absent: 0)
    uint8_t probe;                           //  field 3: WIRE_PROBE_* (absent: NONE)
    uint64_t probe_id;                       //  field 4: chosen by the origin, echoed
    uint8_t target[WIRE_UUID_SIZE];          //  field 5: per probe (zeros for NONE)
    size_t nrecords;                         //  field 6: records used
    wire_record_t records[WIRE_RECORDS_MAX]; //  field 6: [[uuid, inc, alive, state], ...]
} wire_ping_t;

//  A user header; both strings borrow from the decoded frame (not NUL-terminated).
typedef struct {
    const char *key;   //  key bytes
    size_t key_len;    //  key length
    const char *value; //  value bytes
    size_t value_len;  //  value length
} wire_kv_t;

typedef struct wire_msg {
    uint8_t sender[WIRE_UUID_SIZE];      //  publisher's node UUID
    uint64_t seq;                        //  per (publisher, topic) sequence, from 1
    int64_t time_us;                     //  publisher's wall clock, microseconds
    uint32_t flags;                      //  reserved, 0
    size_t nheaders;                     //  user headers used
    wire_kv_t headers[WIRE_HEADERS_MAX]; //  user headers
} wire_msg_t;

//  A cursor of a durable subscription: resume TOPIC at NEXT.
typedef struct {
    const char *topic; //  borrowed, not NUL-terminated
    size_t topic_len;  //  its length
    uint64_t next;     //  first sequence wanted
} wire_cursor_t;

//  REPLAY_REQ: [v, 8, id, pattern, from_kind, from_value, to_seq, {topic: next}].
//  Large: allocate it.
typedef struct {
    uint64_t id;                             //  echoed in the answers
    char pattern[WIRE_TOPIC_MAX + 1];        //  streams to replay
    uint8_t from_kind;                       //  WIRE_FROM_*
    int64_t from_value;                      //  per from_kind
    uint64_t to_seq;                         //  last seq wanted; 0 = up to the newest
    size_t ncursors;                         //  cursors used
    wire_cursor_t cursors[WIRE_CURSORS_MAX]; //  per-topic starts, overriding from_kind
} wire_replay_req_t;

//  Settle kinds (QSETTLE) and acks policies (QSEND).
#define WIRE_SETTLE_ACK    0
#define WIRE_SETTLE_NACK   1
#define WIRE_SETTLE_REJECT 2
#define WIRE_ACKS_ALL      0 //  confirm when the owner and every replica journaled it
#define WIRE_ACKS_OWNER    1 //  confirm when the owner journaled it

//  Every queue message, one struct: each type carries the subset of fields
//  that wire_queue_layout () names, in that order. Large: allocate it.
typedef struct {
    uint64_t token;                       //  T: producer's token / redrive request
    char queue[WIRE_TOPIC_MAX + 1];       //  Q: queue name
    char msg_id[WIRE_MSG_ID_MAX + 1];     //  I: producer's message id
    char consumer[WIRE_CONSUMER_MAX + 1]; //  C: consumer id
    char reason[WIRE_REASON_MAX + 1];     //  R: why it was dead-lettered ("" if it was not)
    uint64_t seq;                         //  S: owner's sequence (delivery id)
    uint32_t deliveries;                  //  D: times delivered so far
    uint8_t priority;                     //  P: 0 (lowest) .. 9
    uint8_t kind;                         //  K: settle kind, or 1 = duplicate (QCONFIRM)
    int32_t status;                       //  E: 0 or a WEFT_E* code
    int64_t value;                        //  V: time_us, prefetch, delay_ms or a count
    uint8_t replication;                  //  N: copies wanted (owner included), 1..9
    uint8_t acks;                         //  A: WIRE_ACKS_*
    size_t nseqs;                         //  L: sequence numbers used
    uint64_t seqs[WIRE_SEQS_MAX];         //  L: sequence numbers
} wire_queue_t;

//  Encoders: clear OUT and write one header frame into it. Return 0,
//  WEFT_EINVAL when a field is out of range (a string not NUL-terminated
//  within its array, longer than its max or holding a NUL byte, a role other
//  than WIRE_ROLE_*, too many peers or headers, a header key or value that is
//  NULL with a non-zero length), or WEFT_ENOMEM when OUT cannot grow.
//  Integers are written in their shortest msgpack form.
int wire_encode_hello (msgpack_sbuffer *out, const wire_hello_t *msg);
int wire_encode_peers (msgpack_sbuffer *out, const wire_peer_t *peers, size_t count);
int wire_encode_ping (msgpack_sbuffer *out);
//  PING with its optional fields: [1, 3, alive, probe, probe_id, target,
//  records] (WEFT_EINVAL: probe over 4, a record state over 2, too many records).
int wire_encode_ping_full (msgpack_sbuffer *out, const wire_ping_t *ping);
int wire_encode_bye (msgpack_sbuffer *out);
int wire_encode_msg (msgpack_sbuffer *out, const wire_msg_t *msg);

//  MISSED: how many messages of the receiver (a publisher) the sender (a
//  subscriber) has missed in all, since it knew the publisher.
int wire_encode_missed (msgpack_sbuffer *out, uint64_t missed);
//  STATUS_REQ and STATUS_REP carry only a request id (the reply echoes it).
//  TYPE must be WIRE_STATUS_REQ or WIRE_STATUS_REP (else WEFT_EINVAL).
int wire_encode_status (msgpack_sbuffer *out, int type, uint64_t request_id);

//  Returns how many of the COUNT first PEERS fit in one PEERS frame of at most
//  MAX_HEADER bytes (0: WIRE_HEADER_MAX), never more than WIRE_PEERS_MAX. A
//  node with a long peer list sends it as several PEERS frames (receivers
//  merge them): about 100 typical entries fit in the default 8192 bytes, and
//  256 entries with long endpoints need about 73 KB.
size_t wire_peers_fit (const wire_peer_t *peers, size_t count, size_t max_header);

typedef struct wire_decoder wire_decoder_t;

//  Why the last decoder call failed, so that the caller counts it in the
//  right counter (see "Bad input" in docs/PROTOCOL.md).
typedef enum {
    WIRE_FAULT_NONE = 0,      //  the last call succeeded
    WIRE_FAULT_MALFORMED = 1, //  not msgpack, or a field missing, mistyped or too long
    WIRE_FAULT_OVERSIZED = 2, //  the frame is larger than max_header
    WIRE_FAULT_VERSION = 3,   //  a well-formed header of another protocol version
    WIRE_FAULT_NOMEM = 4      //  out of memory (WEFT_ENOMEM): not the peer's fault
} wire_fault_t;

//  Creates a decoder that rejects header frames over MAX_HEADER bytes
//  (0: WIRE_HEADER_MAX). Returns NULL when out of memory.
wire_decoder_t *wire_decoder_new (size_t max_header);
//  Destroys a decoder and nulls *SELF_P. NULL-safe.
void wire_decoder_destroy (wire_decoder_t **self_p);

//  Parses header frame DATA (LEN bytes) and stores its type in *TYPE (0 on
//  failure). Returns 0, or WEFT_EPROTO when the frame is malformed, too large
//  or of another protocol version (WEFT_ENOMEM only when out of memory).
//  The frame must be exactly one msgpack array (no trailing bytes) holding at
//  least the fields of its type; fields past those are ignored. An unknown
//  type of this version decodes (0) so the caller can count and drop it.
//  DATA must stay valid until the wire_get_* calls for it are done: strings
//  in the results point into it. Does not allocate per call once the
//  decoder's zone has grown to the largest frame seen.
int wire_decode (wire_decoder_t *self, const void *data, size_t len, int *type);

//  Extract the fields of the frame last decoded; each returns WEFT_EPROTO when
//  the frame is not of that type or a field is missing, mistyped or too long.
//  Borrowed pointers stay valid until the next wire_decode () and while the
//  frame's data does. On failure *OUT is partly written and must be ignored.
//  Strings copied into the fixed arrays of *OUT are NUL-terminated; a string
//  holding a NUL byte is rejected. Integers must be msgpack integers of the
//  right sign and range: role 0..1, caps and flags 32 bits, time_us int64.
int wire_get_hello (wire_decoder_t *self, wire_hello_t *out);
int wire_get_peers (wire_decoder_t *self, wire_peers_t *out);
int wire_get_msg (wire_decoder_t *self, wire_msg_t *out);
int wire_get_missed (wire_decoder_t *self, uint64_t *missed);
int wire_get_status (wire_decoder_t *self, uint64_t *request_id);
//  Extracts PING's optional fields; those absent take their defaults (a bare
//  [1, 3] is a heartbeat with alive number 0 and no records).
int wire_get_ping (wire_decoder_t *self, wire_ping_t *out);

//  Durable topics (wire_durable.c). Topic buffers are WIRE_TOPIC_MAX + 1 bytes.
int wire_encode_replay_req (msgpack_sbuffer *out, const wire_replay_req_t *req);
int wire_encode_replay_msg (msgpack_sbuffer *out, uint64_t id, const char *topic);
//  REPLAY_END's SENT: how many REPLAY_MSG the replay sent (appended field 4);
//  WIRE_SENT_UNKNOWN when an older publisher did not say.
#define WIRE_SENT_UNKNOWN UINT64_MAX
int wire_encode_replay_end (msgpack_sbuffer *out, uint64_t id, int status, uint64_t sent);
int wire_encode_replay_trunc (msgpack_sbuffer *out, uint64_t id, const char *topic,
                              uint64_t requested, uint64_t first);
int wire_get_replay_req (wire_decoder_t *self, wire_replay_req_t *out);
int wire_get_replay_msg (wire_decoder_t *self, uint64_t *id, char *topic, size_t cap);
int wire_get_replay_end (wire_decoder_t *self, uint64_t *id, int *status, uint64_t *sent);
int wire_get_replay_trunc (wire_decoder_t *self, uint64_t *id, char *topic, size_t cap,
                           uint64_t *requested, uint64_t *first);

//  Queues (wire_queue.c): the field letters of TYPE's layout ("TQIPDRNAV"
//  for QSEND), or NULL for a type that is not a queue message.
const char *wire_queue_layout (int type);
int wire_encode_queue (msgpack_sbuffer *out, int type, const wire_queue_t *msg);
//  Extracts the queue message last decoded (any queue type) into OUT.
int wire_get_queue (wire_decoder_t *self, wire_queue_t *out);

//  Why the last call on SELF failed ("" if it did not), e.g. "HELLO: name
//  is 70 bytes, at most 63 allowed". Owned by SELF, valid until its next call.
const char *wire_decoder_error (const wire_decoder_t *self);

//  The kind of the last failure on SELF (WIRE_FAULT_NONE if it did not fail).
wire_fault_t wire_decoder_fault (const wire_decoder_t *self);

//  Packs MSG's user headers into FRAME (initialized here) as "k\0v\0k\0v\0..."
//  (the form the application receives them in).
void wire_pack_headers (const wire_msg_t *msg, zmq_msg_t *frame);

#endif
