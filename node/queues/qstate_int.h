/*  node/queues/qstate_int.h - what the files of the queue state machine
    share (qstate.c: states and transitions, lifecycle, enqueue; qstate_consumer.c:
    consumers, dispatch, settlement, timers; qstate_check.c: introspection and
    the invariant check). Nothing outside them includes it; see qstate.h.
*/
#ifndef WEFT_NODE_QUEUES_QSTATE_INT_H
#define WEFT_NODE_QUEUES_QSTATE_INT_H

#include <czmq.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "node/queues/qheap.h"
#include "node/queues/qstate.h"
#include "weft.h"

typedef struct consumer consumer_t;

//  One held message; allocated with room for its msg_id.
typedef struct msg {
    uint64_t seq;         //  journal sequence: hash key and FIFO order
    int64_t deadline;     //  ack deadline, delay expiry or time it died; 0 when READY
    void *payload;        //  cached body, owned by the queue
    consumer_t *consumer; //  holder while IN_FLIGHT, else NULL
    qlink_t link;         //  place in the consumer's in-flight list or the dying list
    size_t slot;          //  index in the timer heap while in it (kept by the heap)
    uint32_t deliveries;  //  deliveries so far
    uint8_t priority;     //  0 .. priorities - 1
    uint8_t state;        //  a qstate_state_t
    char msg_id[];        //  producer id, NUL-terminated ("" when none)
} msg_t;

//  A registered consumer.
struct consumer {
    char name[QSTATE_CONSUMER_MAX + 1]; //  "<node-uuid>/<n>", hash key
    uint32_t prefetch;                  //  most unacked deliveries it may hold
    uint32_t credits;                   //  deliveries it still asked for
    qlist_t flight;                     //  messages in flight to it
    bool in_rr;                         //  on the round-robin list (has room)
    qlink_t rr;                         //  place on the round-robin list
    qlink_t all;                        //  place in the list of all consumers
};

//  The queue.
struct qstate {
    char *name;                        //  queue name
    qstate_options_t opts;             //  options, validated
    qheap_t ready[QSTATE_PRIORITIES];  //  READY messages per priority, unindexed
    size_t held_at[QSTATE_PRIORITIES]; //  held messages per priority (heap reserve)
    qheap_t timer;                     //  DELAYED and IN_FLIGHT messages, indexed
    qlist_t dying;                     //  DYING messages, oldest first
    int64_t dying_since;               //  earliest death in the list, INT64_MAX if none
    size_t held;                       //  messages held, every state
    size_t delayed;                    //  DELAYED messages (the rest of timer is in flight)
    zhashx_t *by_seq;                  //  seq -> msg_t
    zhashx_t *by_id;                   //  msg_id -> msg_t, non-empty ids only
    zhashx_t *by_name;                 //  consumer name -> consumer_t
    qlist_t all;                       //  every consumer, the newest first
    qlist_t rr;                        //  consumers with room, the next to serve first
    qstate_stats_t stats;              //  totals (sizes are computed)
};

/* ------------------------------------------------------------------------ */
/*  Small helpers                                                            */

//  --- Transitions and small helpers (qstate.c) ----------------------------------

//  Hands PAYLOAD to payload_free, if both exist.
void qs_payload_free (qstate_t *self, void *payload);

//  True when CONSUMER may take one more delivery.
bool qs_has_room (const consumer_t *consumer);

//  Keeps CONSUMER on the round-robin list exactly when it has room; one that
//  regains room joins at the tail.
void qs_consumer_refresh (qstate_t *self, consumer_t *consumer);

//  True when MSG has used every delivery max_deliver allows.
bool qs_exhausted (const qstate_t *self, const msg_t *msg);

//  Makes detached MSG READY, at its seq position in its priority.
void qs_make_ready (qstate_t *self, msg_t *msg);

//  Makes detached MSG DYING since NOW: the next tick dead-letters it.
void qs_make_dying (qstate_t *self, msg_t *msg, int64_t now);

//  Makes detached MSG IN_FLIGHT to CONSUMER with deadline NOW + ack timeout.
void qs_make_in_flight (qstate_t *self, msg_t *msg, consumer_t *consumer, int64_t now);

//  Takes MSG (not READY) out of the structure its state keeps it in; an
//  in-flight message leaves its consumer, which may regain room.
void qs_detach (qstate_t *self, msg_t *msg);

//  Puts detached MSG, back unacked, where it belongs: DYING when out of
//  deliveries, else DELAYED until NOW + DELAY_MS (DELAY_MS > 0) or READY.
void qs_requeue (qstate_t *self, msg_t *msg, int64_t delay_ms, int64_t now);

//  Forgets detached MSG (indexes, counts) and frees it. Returns its payload,
//  which the caller owns from now on.
void *qs_forget (qstate_t *self, msg_t *msg);

//  Describes detached MSG as a dead letter for REASON (static) in DEAD.
void qs_dead_fill (const msg_t *msg, const char *reason, qstate_dead_t *dead);

//  Describes MSG in INFO.
void qs_info_fill (const msg_t *msg, qstate_info_t *info);

//  The message SEQ when it is in flight to CONSUMER, else NULL.
msg_t *qs_held_by (qstate_t *self, uint64_t seq, const char *consumer);

//  Takes CONSUMER off the round-robin list, if it is on it.
void qs_rr_unlink (qstate_t *self, consumer_t *consumer);

#endif
