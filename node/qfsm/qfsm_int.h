/*  node/qfsm/qfsm_int.h - what the files of the replicated queue state machine share
    (qfsm.c: state and apply; qfsm_query.c: queries, output, check; qfsm_tab.c:
    messages, table, heap, hash; qfsm_codec.c: entries, configuration; qfsm_snap.c:
    snapshots). Nothing else includes it.

    Layout: every pending message sits on the list of its priority, in seq order
    (seqs only grow, so an append keeps it sorted); parked letters on one list in seq
    order, every one of them after every pending seq (a letter parks whenever one is
    parked, and the oldest leaves first), so unparking is an append too. A message
    whose not_before is past the state clock is also in the delay heap (indexed, by
    (not_before, seq)), so the ready/delayed counts and the next due time cost
    O(log n) to keep. A table by seq finds any message; a table by id and a FIFO list
    (oldest first) hold the dedup entries. Tables are open addressing with linear
    probing and backward-shift deletion: one pointer per slot, load <= 1/2.
*/
#ifndef WEFT_NODE_QFSM_INT_H
#define WEFT_NODE_QFSM_INT_H

#include "node/qfsm/qfsm.h"
#include "weft.h"

#include <stdlib.h>
#include <string.h>

#define QFSM_NO_SLOT   UINT32_MAX //  a message not in the delay heap
#define QFSM_MAGIC     0x4651     //  entry magic ("QF" little-endian)
#define QFSM_VERSION   1          //  entry format
#define QFSM_ENTRY_HDR 16         //  bytes of an entry header
#define QFSM_CONFIG_SZ 33         //  bytes of an encoded configuration

//  One message; allocated with room for id + NUL, headers, body.
typedef struct qmsg qmsg_t;
struct qmsg {
    qmsg_t *prev;         //  neighbour towards the head of its list
    qmsg_t *next;         //  neighbour towards the tail
    uint64_t seq;         //  assigned at apply
    int64_t not_before;   //  not dispatched before (state clock)
    uint64_t token;       //  the producer's
    uint32_t deliveries;  //  logged deliveries
    uint32_t slot;        //  index in the delay heap, or QFSM_NO_SLOT
    uint32_t headers_len; //  bytes of headers after the id
    uint32_t body_len;    //  bytes of body after the headers
    uint8_t priority;     //  0 .. 9
    uint8_t id_len;       //  bytes of id (a NUL follows)
    uint8_t parked;       //  on the parked list
    char data[];          //  id, NUL, headers, body
};

//  A list of messages in seq order. All zeroes is empty.
typedef struct {
    qmsg_t *head; //  lowest seq
    qmsg_t *tail; //  highest seq
    size_t size;  //  messages on it
} qlist_m_t;

//  A dedup entry: one id, allocated with room for it and a NUL.
typedef struct qdd qdd_t;
struct qdd {
    qdd_t *next;   //  next younger entry
    uint64_t seq;  //  the message the id was first enqueued as
    int64_t at;    //  state clock when it was
    uint64_t hash; //  hash of the id
    uint8_t len;   //  bytes of id
    char id[];     //  the id, NUL-terminated
};

//  An open-addressing table of pointers; HASH_OF gives an item's hash.
typedef struct {
    void **slots;                           //  2^k slots, NULL = free
    size_t mask;                            //  slots - 1 (0 with no slots)
    size_t count;                           //  items
    uint64_t (*hash_of) (const void *item); //  the hash of an item
} qtab_t;

//  A streaming 64-bit hash (snapshot checksum, digest).
typedef struct {
    uint64_t h;     //  state
    uint64_t word;  //  bytes not yet absorbed, little-endian
    unsigned fill;  //  bytes in word
    uint64_t total; //  bytes absorbed
} qhash_t;

//  The state.
struct qfsm {
    qfsm_config_t config;             //  replicated configuration
    qlist_m_t lists[QFSM_PRIORITIES]; //  pending messages per priority, seq order
    qlist_m_t parked;                 //  parked letters, seq order
    qtab_t by_seq;                    //  seq -> qmsg_t
    qmsg_t **heap;                    //  delay heap by (not_before, seq)
    size_t heap_size;                 //  messages in it
    size_t heap_cap;                  //  room in it
    qtab_t by_id;                     //  id -> qdd_t
    qdd_t *dd_head;                   //  oldest dedup entry
    qdd_t *dd_tail;                   //  youngest dedup entry
    uint64_t next_seq;                //  next seq to assign (from 1)
    int64_t clock;                    //  largest now_ms applied
    uint64_t bytes;                   //  headers + body of pending messages
    uint64_t parked_bytes;            //  headers + body of parked letters
    qfsm_stats_t totals;              //  the totals part of the stats
    bool broken;                      //  an apply failed half-way
};

//  A dead letter held by an output.
typedef struct {
    qmsg_t *msg;                      //  the detached message, owned
    char reason[QFSM_REASON_MAX + 1]; //  NUL-terminated
} qletter_t;

//  Results and letters of applies.
struct qfsm_out {
    qfsm_result_t *results; //  results, in command order
    size_t nresults;        //  how many
    size_t rcap;            //  room
    qletter_t *letters;     //  dead letters, in order
    size_t nletters;        //  how many
    size_t lcap;            //  room
};

//  --- qfsm_tab.c: tables, heap, hashing -------------------------------

int qtab_init (qtab_t *tab, uint64_t (*hash_of) (const void *), size_t want);
void qtab_fini (qtab_t *tab);
int qtab_reserve (qtab_t *tab, size_t want);
void *qtab_find (const qtab_t *tab, uint64_t hash, bool (*eq) (const void *, const void *),
                 const void *key);
void qtab_insert (qtab_t *tab, void *item); //  room reserved, item absent
void qtab_remove (qtab_t *tab, const void *item);

uint64_t qfsm_seq_hash (uint64_t seq);
uint64_t qfsm_id_hash (const char *id, size_t len);
uint64_t qmsg_hash_of (const void *item);
uint64_t qdd_hash_of (const void *item);

int qheap_m_reserve (qfsm_t *self, size_t want);
void qheap_m_push (qfsm_t *self, qmsg_t *msg); //  room reserved
void qheap_m_remove (qfsm_t *self, qmsg_t *msg);
qmsg_t *qheap_m_top (const qfsm_t *self);

void qhash_init (qhash_t *hash);
void qhash_add (qhash_t *hash, const void *data, size_t len);
uint64_t qhash_end (const qhash_t *hash);

//  Little-endian byte order (inline: the hash reads every word through qget_u64).
static inline void qput_u16 (uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void qput_u32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void qput_u64 (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t qget_u16 (const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t qget_u32 (const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t qget_u64 (const uint8_t *p)
{
    return (uint64_t)qget_u32 (p) | ((uint64_t)qget_u32 (p + 4) << 32);
}

//  --- qfsm_tab.c: messages; qfsm_codec.c: configuration and ids
//  --------------------------------------------

//  Allocates a detached message with room for its parts, copied in; NULL when out of memory.
qmsg_t *qmsg_new (uint64_t seq, const char *id, size_t id_len, const void *headers,
                  size_t headers_len, const void *body, size_t body_len);

//  Appends detached MSG to LIST (its seq must be the largest).
void qlist_m_append (qlist_m_t *list, qmsg_t *msg);

//  Unlinks MSG from LIST.
void qlist_m_unlink (qlist_m_t *list, qmsg_t *msg);

//  Takes MSG out of every structure of SELF (list, heap, table, byte counts); the
//  caller owns it.
void qmsg_detach (qfsm_t *self, qmsg_t *msg);

//  Checks CONFIG: true when a state can run with it.
bool qfsm_config_ok (const qfsm_config_t *config);

//  Encodes CONFIG into QFSM_CONFIG_SZ bytes at P; decodes it back (false if invalid).
void qfsm_config_put (uint8_t *p, const qfsm_config_t *config);
bool qfsm_config_get (const uint8_t *p, qfsm_config_t *config);

//  True when bytes [P, P + LEN) hold no NUL.
bool qfsm_id_ok (const char *p, size_t len);

//  The message SEQ (pending or parked), or NULL.
qmsg_t *qmsg_lookup (const qfsm_t *self, uint64_t seq);

//  Headers + body bytes of MSG.
uint64_t qmsg_size (const qmsg_t *msg);

//  True when MSG has used max_deliver deliveries (never in a dead-letter queue).
bool qmsg_exhausted (const qfsm_t *self, const qmsg_t *msg);

//  --- qfsm_query.c --------------------------------------------------------------

//  Fills INFO for MSG (SELF NULL: exhausted is false).
void qmsg_info (const qfsm_t *self, const qmsg_t *msg, qfsm_info_t *info);

#endif
