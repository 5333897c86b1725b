/*  weft.h - the public C ABI of Weft, a brokerless messaging fabric.

    This is the only header an application includes. Every type is opaque;
    functions take scalars, NUL-terminated strings and (pointer, length)
    pairs, and return 0 or a negative WEFT_E* code. Memory that the library
    hands to the caller is released with weft_free () or the matching
    destroy function. Nothing here calls back into the application: messages
    and events are pulled with weft_recv (), and weft_node_fd () gives a file
    descriptor that an event loop can wait on.

    Thread safety is stated per function. In short: a config object belongs to
    one thread at a time; a node handle may be used from any thread.
*/
#ifndef WEFT_H_INCLUDED
#define WEFT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WEFT_BUILDING)
#define WEFT_EXPORT __attribute__ ((visibility ("default")))
#else
#define WEFT_EXPORT
#endif

#define WEFT_VERSION_MAJOR                     0
#define WEFT_VERSION_MINOR                     1
#define WEFT_VERSION_PATCH                     0
#define WEFT_MAKE_VERSION(major, minor, patch) ((major)*10000 + (minor)*100 + (patch))
#define WEFT_VERSION                           WEFT_MAKE_VERSION (WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR, WEFT_VERSION_PATCH)

/*  Error codes. Every function that can fail returns one of these (negative)
    or 0. New codes may be added; treat unknown negative values as errors. */
enum {
    WEFT_OK = 0,
    WEFT_EINVAL = -1,     /* an argument or a config value is invalid */
    WEFT_ENOMEM = -2,     /* out of memory */
    WEFT_ECLOSED = -3,    /* the node is stopped or destroyed */
    WEFT_ETIMEDOUT = -4,  /* nothing happened before the timeout */
    WEFT_EAGAIN = -5,     /* try again: nothing ready now, or a window is full */
    WEFT_EMSGSIZE = -6,   /* message or field larger than the configured limit */
    WEFT_EPROTO = -7,     /* malformed or incompatible input from the network */
    WEFT_EADDRINUSE = -8, /* a port or address is already in use */
    WEFT_ENOTFOUND = -9,  /* no such key, peer, stream or queue */
    WEFT_EIO = -10,       /* an I/O error (socket or disk) */
    WEFT_ESTATE = -11,    /* the call does not fit the object's state */
    WEFT_ENOSPC = -12,    /* the disk is full; nothing new is acknowledged */
    WEFT_ECORRUPT = -13,  /* the journal is corrupt (see weftd --repair) */
    WEFT_ELOCKED = -14,   /* the journal is in use by another process */
    WEFT_ENODEV = -15,    /* no usable network interface */
    WEFT_EINTERNAL = -16, /* a bug in Weft: please report it */
    WEFT_EFULL = -17      /* the queue is at its limit (messages or bytes): refused, not dropped */
};

/*  Returns a static, human-readable description of an error code.
    Thread: any. */
WEFT_EXPORT const char *weft_strerror (int err);

/*  Returns the short symbolic name of an error code, e.g. "WEFT_EINVAL".
    Thread: any. */
WEFT_EXPORT const char *weft_errname (int err);

/*  Returns the library version as WEFT_MAKE_VERSION (major, minor, patch),
    and stores the parts through any non-NULL pointer. Compare with
    WEFT_VERSION to detect a header/library mismatch. Thread: any. */
WEFT_EXPORT int weft_version (int *major, int *minor, int *patch);

/*  Releases memory that a weft_ function returned to the caller. NULL-safe.
    Thread: any. */
WEFT_EXPORT void weft_free (void *ptr);

/* ------------------------------------------------------------------------ */
/*  Configuration: a set of string keys and values, so that new knobs do not
    change the ABI. Keys and defaults are listed in docs/CONFIG.md and by
    `weftd --help`. Values are validated when set.                          */

typedef struct weft_config weft_config_t;

/*  Creates a config holding every default. Returns NULL only when out of
    memory. Thread: the config belongs to the calling thread. */
WEFT_EXPORT weft_config_t *weft_config_new (void);

/*  Destroys a config and nulls the caller's pointer. NULL-safe. */
WEFT_EXPORT void weft_config_destroy (weft_config_t **self_p);

/*  Sets KEY to VALUE. Returns WEFT_ENOTFOUND for an unknown key and
    WEFT_EINVAL for a value the key does not accept; weft_config_error ()
    then says why. A key that takes a list (discovery.seeds) takes commas. */
WEFT_EXPORT int weft_config_set (weft_config_t *self, const char *key, const char *value);

/*  Returns the value of KEY, or NULL for an unknown key. The string is owned
    by the config and valid until the next set or destroy. */
WEFT_EXPORT const char *weft_config_get (const weft_config_t *self, const char *key);

/*  Loads a ZPL config file (see docs/CONFIG.md): every leaf "section/key" is
    set as "section.key". Returns WEFT_EIO when the file cannot be read,
    WEFT_EINVAL or WEFT_ENOTFOUND for a bad entry; weft_config_error () names
    the file, the key and the reason. */
WEFT_EXPORT int weft_config_load (weft_config_t *self, const char *path);

/*  Returns the message of the last failed set or load ("" if none). Owned by
    the config; valid until the next call on it. */
WEFT_EXPORT const char *weft_config_error (const weft_config_t *self);

/*  Enumerates the known keys, for --help and docs: returns the number of
    keys, and when INDEX < that number stores key INDEX, its current value and
    a one-line description through the non-NULL pointers (borrowed, valid
    until the next set or destroy). */
WEFT_EXPORT int weft_config_key (const weft_config_t *self, int index, const char **key,
                                 const char **value, const char **help);

/* ------------------------------------------------------------------------ */
/*  Node: one agent of the fabric, running its own I/O thread.             */

typedef struct weft_node weft_node_t;
typedef struct weft_msg weft_msg_t;

/*  Creates a node from CFG (copied; the caller keeps CFG). Nothing is bound
    or sent until weft_node_start (). On failure returns NULL and stores the
    error code through ERR if non-NULL. Thread: any. */
WEFT_EXPORT weft_node_t *weft_node_new (const weft_config_t *cfg, int *err);

/*  Starts the node: binds its sockets, opens its journal, starts discovery.
    Returns WEFT_EADDRINUSE, WEFT_ENODEV, WEFT_ELOCKED, ... on failure, with
    the detail in weft_node_error (). Thread: any. */
WEFT_EXPORT int weft_node_start (weft_node_t *self);

/*  Stops the node: sends a leaving beacon so peers drop it at once, closes
    its sockets and journal. weft_recv () then drains what was already
    received and answers WEFT_ECLOSED. Idempotent. Thread: any. */
WEFT_EXPORT int weft_node_stop (weft_node_t *self);

/*  Stops the node if needed, frees it and nulls the caller's pointer.
    NULL-safe. No other thread may use the handle during or after this. */
WEFT_EXPORT void weft_node_destroy (weft_node_t **self_p);

/*  Returns the node's UUID (32 hex digits) and name; owned by the node, valid
    until destroy. Thread: any. */
WEFT_EXPORT const char *weft_node_uuid (const weft_node_t *self);
WEFT_EXPORT const char *weft_node_name (const weft_node_t *self);

/*  Returns the detail of the node's last failed call (thread-local to the
    node, not to the caller; "" if none). Valid until the next call. */
WEFT_EXPORT const char *weft_node_error (const weft_node_t *self);

/*  Returns a file descriptor that becomes readable when weft_recv () may
    have something. Edge-triggered in spirit: when it is readable, call
    weft_recv () with timeout 0 until it answers WEFT_EAGAIN. Do not read from
    or close it. Returns a negative code if the node is closed. Thread: any. */
WEFT_EXPORT int weft_node_fd (weft_node_t *self);

/* ------------------------------------------------------------------------ */
/*  Topics. A topic is 1..255 bytes of segments separated by '.', each made
    of [A-Za-z0-9_-:]. A pattern is a topic whose segments may also be '*'
    (exactly one segment) or, last, '#' (zero or more segments).            */

/*  Publishes BODY (LEN bytes, may be 0) on TOPIC. Volatile topics are
    at-most-once with per-publisher order. Returns WEFT_EINVAL for a bad
    topic, WEFT_EMSGSIZE over limits.max_message. The body is copied.
    Thread: any. */
WEFT_EXPORT int weft_publish (weft_node_t *self, const char *topic, const void *body, size_t len);

/*  Like weft_publish () with NHEADERS (key, value) string pairs in HEADERS,
    laid out as { key0, value0, key1, value1, ... }. */
WEFT_EXPORT int weft_publishv (weft_node_t *self, const char *topic, const char *const *headers,
                               size_t nheaders, const void *body, size_t len);

/*  Subscribes to / unsubscribes from PATTERN. Subscribing twice to the same
    pattern is counted; each subscribe needs one unsubscribe. Returns
    WEFT_EINVAL for a bad pattern, WEFT_ENOTFOUND when unsubscribing a pattern
    not subscribed. Thread: any. */
WEFT_EXPORT int weft_subscribe (weft_node_t *self, const char *pattern);
WEFT_EXPORT int weft_unsubscribe (weft_node_t *self, const char *pattern);

/* ------------------------------------------------------------------------ */
/*  Durable topics (need journal.dir). A publisher journals every message of
    a durable topic before sending it, with a sequence per (publisher, topic)
    that never repeats, also across restarts. Subscribers repair gaps from
    the publisher's journal; late joiners replay history; durable named
    subscriptions resume where they were acknowledged. Delivery to durable
    subscriptions is at-least-once, in order per publisher and topic.      */

/*  Declares PATTERN durable on this (publishing) node. RETENTION is NULL or
    "" (keep everything) or "max_age_ms=N,max_bytes=N,max_count=N" (any
    subset; applied per topic stream). Declaring again changes the retention.
    WEFT_ESTATE without journal.dir, WEFT_EINVAL for a bad pattern or
    retention. Thread: any. */
WEFT_EXPORT int weft_declare_durable (weft_node_t *self, const char *pattern,
                                      const char *retention);

/*  Subscribes to PATTERN starting FROM: "latest" (like weft_subscribe),
    "earliest" (all history kept by each publisher), "seq:N" (from sequence
    N of each stream) or "time:T" (T = Unix time in seconds, fractions
    allowed). History is merged into live delivery with no gap and no
    duplicate. A stream whose history starts later than asked yields a
    WEFT_MSG_TRUNCATED event first. Thread: any. */
WEFT_EXPORT int weft_subscribe_from (weft_node_t *self, const char *pattern, const char *from);

/*  A durable named subscription: like weft_subscribe_from (), and the node
    keeps, per publisher and topic, the last sequence acknowledged under NAME
    (1..63 bytes) in its journal. After a restart, subscribing again with the
    same NAME resumes right after it (FROM applies to streams it has no cursor
    for). With AUTO_ACK non-zero a message counts as acknowledged when
    weft_recv () returns it to the application (what the node queued and the
    application never read comes again after a restart); the cursor is
    written with the node's next journal commit, so a crash can deliver again
    at most what was taken since that commit (one loop turn's worth). To
    acknowledge only once a message is handled, pass 0 and call weft_ack ().
    WEFT_ESTATE without journal.dir. Thread: any. */
WEFT_EXPORT int weft_subscribe_durable (weft_node_t *self, const char *pattern, const char *name,
                                        const char *from, int auto_ack);

/*  Acknowledges MSG. For a topic message: it (and every earlier message of
    its publisher and topic) for the durable subscriptions that cover its
    topic; the cursor is written with the node's next journal commit. For a
    queue delivery (WEFT_MSG_DELIVERY): the owner removes the message.
    Thread: any. */
WEFT_EXPORT int weft_ack (weft_node_t *self, const weft_msg_t *msg);

/*  Salvages the journal in DIR (which no process may have open) with
    LevelDB's repair. On failure stores a message in *ERROR_P if not NULL
    (freed with weft_free ()). Thread: any. */
WEFT_EXPORT int weft_journal_repair (const char *dir, char **error_p);

/* ------------------------------------------------------------------------ */
/*  Queues (point-to-point). Each queue has one owner, chosen by rendezvous
    hashing over the live members that have a journal; the owner journals
    every message and copies it to the next members (replication R, default
    2) before confirming. Consumers compete; each message goes to one of
    them, highest priority first, FIFO within a priority; an unacknowledged
    message is delivered again after queues.ack_timeout_ms, at once when its
    consumer's node goes, and moves to "<queue>.dlq" after
    queues.max_deliver deliveries or a reject. Queue names follow topic
    syntax, at most 251 bytes. Delivery is at-least-once; enqueue is
    exactly-once per message id within queues.dedup_window_ms.

    OPTIONS of a send is NULL or "key=value,...": id=ID (a message id of
    [A-Za-z0-9_.:-], at most 128 bytes; default: a unique generated one),
    priority=0..9 (default 0), replication=1..9 (copies, owner included;
    default queues.replication), acks=all|owner (default queues.acks).     */

/*  Sends BODY to QUEUE and waits up to TIMEOUT_MS (-1: queues.send_timeout_ms)
    until the owner confirms (and its replicas, with acks=all). Returns 0
    when confirmed (also for a duplicate id), WEFT_ETIMEDOUT (the message
    may still be enqueued later: send it again with the same id to be sure),
    WEFT_EAGAIN when queues.window sends are unconfirmed and none finished
    in time, WEFT_ESTATE when the write policy cannot be met (fewer live
    members than the replication with acks=all), WEFT_ENOSPC when the
    owner's disk is full, WEFT_EINVAL, WEFT_EMSGSIZE. Thread: any. */
WEFT_EXPORT int weft_send (weft_node_t *self, const char *queue, const void *body, size_t len,
                           const char *options, int timeout_ms);

/*  Like weft_send () without waiting: stores a token in *TOKEN_P (if not
    NULL) and returns 0, or WEFT_EAGAIN at once when queues.window sends are
    unconfirmed. The outcome arrives as a WEFT_MSG_CONFIRM event whose seq ()
    is the token. Thread: any. */
WEFT_EXPORT int weft_send_async (weft_node_t *self, const char *queue, const void *body, size_t len,
                                 const char *options, uint64_t *token_p);

/*  Starts consuming QUEUE with at most PREFETCH (1..100000) unsettled
    deliveries. Deliveries arrive as WEFT_MSG_DELIVERY. WEFT_ENOTFOUND when
    no live member can own queues (see weft_node_error ()). Several consume
    calls make several competing consumers. Thread: any. */
WEFT_EXPORT int weft_consume (weft_node_t *self, const char *queue, int prefetch);

/*  Stops every consumer of QUEUE on this node. WEFT_ENOTFOUND if none.
    Thread: any. */
WEFT_EXPORT int weft_cancel (weft_node_t *self, const char *queue);

/*  Settles a WEFT_MSG_DELIVERY: weft_ack () (defined above) removes it,
    weft_nack () delivers it again (after DELAY_MS if > 0), weft_reject ()
    moves it to the dead-letter queue. WEFT_ENOTFOUND for a delivery that is
    unknown or already settled. Thread: any. */
WEFT_EXPORT int weft_nack (weft_node_t *self, const weft_msg_t *msg, int delay_ms);
WEFT_EXPORT int weft_reject (weft_node_t *self, const weft_msg_t *msg);

/*  Moves every message of "<QUEUE>.dlq" back to QUEUE. Returns how many were
    there (>= 0), or WEFT_ETIMEDOUT / WEFT_ENOTFOUND. Thread: any. */
WEFT_EXPORT int weft_redrive (weft_node_t *self, const char *queue, int timeout_ms);

/* ------------------------------------------------------------------------ */
/*  Receiving: messages and membership events arrive in one ordered stream. */

enum {
    WEFT_MSG_MESSAGE = 1,   /* a topic message */
    WEFT_MSG_JOIN = 2,      /* a peer joined (handshake done) */
    WEFT_MSG_LEAVE = 3,     /* a peer left cleanly */
    WEFT_MSG_EVASIVE = 4,   /* a peer has been silent for discovery.evasive_ms */
    WEFT_MSG_EXPIRED = 5,   /* a peer was silent for discovery.expired_ms: gone */
    WEFT_MSG_GAP = 6,       /* messages from a publisher were lost (seq() = count) */
    WEFT_MSG_TRUNCATED = 7, /* a replay starts later than asked: seq() = first kept */
    WEFT_MSG_DELIVERY = 8,  /* a queue message: topic() = queue, seq() = delivery id,
                               sender() = owner; headers msg_id, deliveries, priority
                               (and reason, for dead letters). Settle it with weft_ack,
                               weft_nack or weft_reject. */
    WEFT_MSG_CONFIRM = 9    /* weft_send_async () finished: seq() = its token, topic() =
                               queue; headers status (0 or a WEFT_E* code), duplicate
                               (yes | no), msg_id */
};

/*  Waits up to TIMEOUT_MS (0: do not wait, -1: forever) for the next message
    or event and stores it through MSG_P; the caller owns it and frees it with
    weft_msg_destroy (). Returns WEFT_EAGAIN when TIMEOUT_MS is 0 and nothing
    is ready, WEFT_ETIMEDOUT after a positive timeout, WEFT_ECLOSED when the
    node is stopped and drained. Thread: any; one receiver at a time is
    served (concurrent callers are serialized). */
WEFT_EXPORT int weft_recv (weft_node_t *self, weft_msg_t **msg_p, int timeout_ms);

/*  Frees a message and nulls the caller's pointer. NULL-safe. */
WEFT_EXPORT void weft_msg_destroy (weft_msg_t **self_p);

/*  Accessors. Strings are owned by the message and valid until it is
    destroyed; a field a kind does not have reads as "" or 0. */
WEFT_EXPORT int weft_msg_kind (const weft_msg_t *self);
WEFT_EXPORT const char *weft_msg_kind_name (const weft_msg_t *self);
WEFT_EXPORT const char *weft_msg_topic (const weft_msg_t *self);
WEFT_EXPORT const char *weft_msg_sender (const weft_msg_t *self);      /* UUID, 32 hex */
WEFT_EXPORT const char *weft_msg_sender_name (const weft_msg_t *self); /* peer's name */
WEFT_EXPORT uint64_t weft_msg_seq (const weft_msg_t *self);
WEFT_EXPORT int64_t weft_msg_time_us (const weft_msg_t *self); /* publisher's clock */
WEFT_EXPORT const void *weft_msg_body (const weft_msg_t *self, size_t *len);
WEFT_EXPORT size_t weft_msg_header_count (const weft_msg_t *self);
/*  Stores header INDEX's key and value; returns WEFT_ENOTFOUND past the end. */
WEFT_EXPORT int weft_msg_header_at (const weft_msg_t *self, size_t index, const char **key,
                                    const char **value);
/*  Returns the value of header KEY or NULL. */
WEFT_EXPORT const char *weft_msg_header (const weft_msg_t *self, const char *key);

/* ------------------------------------------------------------------------ */
/*  Introspection.                                                          */

typedef struct weft_peers weft_peers_t;

/*  Takes a snapshot of the peer table; the caller frees it with
    weft_peers_destroy (). Thread: any. */
WEFT_EXPORT int weft_peers (weft_node_t *self, weft_peers_t **peers_p);
WEFT_EXPORT void weft_peers_destroy (weft_peers_t **self_p);
WEFT_EXPORT size_t weft_peers_count (const weft_peers_t *self);
/*  Returns field FIELD of peer INDEX, or NULL for an unknown field or index.
    Fields: "uuid", "name", "role" (member | client), "endpoint" (ROUTER),
    "pub_endpoint", "state" (connecting | alive | evasive), "source"
    (beacon | seed | gossip), "ready" (yes | no: its subscriptions reached
    this node's publisher), "last_seen_ms". Owned by the snapshot. */
WEFT_EXPORT const char *weft_peers_get (const weft_peers_t *self, size_t index, const char *field);

/*  Returns the node's status, counters and journal streams ("journal": an
    array of {stream, count, bytes, first_seq, last_seq, first_time_us,
    last_time_us}, or null without a journal) as a JSON object in *JSON_P
    (freed with weft_free ()). Thread: any. */
WEFT_EXPORT int weft_status (weft_node_t *self, char **json_p);

/*  Asks peer PEER_UUID (32 hex digits) for its status over the network and
    waits up to TIMEOUT_MS for the JSON answer, stored in *JSON_P (freed with
    weft_free ()). WEFT_ENOTFOUND for an unknown peer, WEFT_ETIMEDOUT when it
    does not answer in time. Thread: any. */
WEFT_EXPORT int weft_peer_status (weft_node_t *self, const char *peer_uuid, int timeout_ms,
                                  char **json_p);

#ifdef __cplusplus
}
#endif

#endif
