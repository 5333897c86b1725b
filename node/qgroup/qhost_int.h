/*  node/qgroup/qhost_int.h - what qhost.c (the group, the producer side, the
    entries) and qhost_dispatch.c (consumers, leases, settling) share. Not a
    door: nothing outside node/qgroup includes it. */
#ifndef WEFT_NODE_QGROUP_QHOST_INT_H
#define WEFT_NODE_QGROUP_QHOST_INT_H

#include <czmq.h>

#include "node/qgroup/qhost.h"

#define QHOST_POLL_MS 20 //  re-walk interval while qfsm's state clock lags ours

//  What one command of an entry is for, so its result finds its way back.
typedef enum {
    QH_ENQ,     //  a producer's ENQUEUE: its confirm
    QH_ACK,     //  a consumer's ACK
    QH_NACK,    //  a consumer's NACK
    QH_DEAD,    //  a consumer's reject (DEAD)
    QH_DELIVER, //  the leader's DELIVERED: hand the message out once committed
    QH_EXPIRE,  //  the leader's NACK of an exhausted message (no letter callback)
    QH_LETTERED //  the leader's DEAD of a message whose letter is stored in `.dlq`
} qh_kind_t;

typedef struct {
    qh_kind_t kind;    //  see above
    qhost_done_fn *cb; //  the caller's (user commands), may be NULL
    void *arg;         //  its argument
    uint64_t seq;      //  the message (not ENQ)
} qh_op_t;

//  One entry: its commands in order; the argument of its apply callback.
typedef struct {
    struct qhost *host; //  back
    uint64_t epoch;     //  the leadership it was made in
    int64_t at;         //  when it was made (env ms): the lease of its deliveries starts then
    qh_op_t *ops;       //  one per command, in the entry's order
    size_t n, cap;      //  used, allocated
    size_t user;        //  of which user commands (counted in npending)
} qh_prop_t;

//  A lease: a message reserved for, or handed out to, a consumer, or held
//  while its dead letter travels (QL_LETTERING: sent, not yet stored; then
//  QL_KILLING: stored, its DEAD in Raft).
enum { QL_RESERVED, QL_OUT, QL_SETTLING, QL_EXPIRING, QL_LETTERING, QL_KILLING };
typedef struct {
    uint64_t seq;      //  the message
    uint64_t consumer; //  to whom (0: none, QL_EXPIRING, QL_LETTERING, QL_KILLING)
    uint64_t epoch;    //  the leadership that made it
    int64_t deadline;  //  QL_OUT: lapses then (env ms)
    int state;         //  QL_*
    qhost_done_fn *cb; //  QL_LETTERING: a reject's or nack's callback, may be NULL
    void *arg;         //  its argument
    char reason[QFSM_REASON_MAX + 1]; //  QL_LETTERING, QL_KILLING: the letter's reason
} qh_lease_t;

typedef struct {
    uint64_t id;       //  the consumer
    uint32_t credits;  //  its window
    uint32_t inflight; //  leases it holds
} qh_consumer_t;

struct qhost {
    qhost_conf_t conf;        //  copied, defaults filled
    rgroup_t *g;              //  the Raft group
    qfsm_t *fsm;              //  the queue's state
    qfsm_out_t *out;          //  results of the last apply
    uint64_t out_index;       //  the index they belong to
    qfsm_batch_t *batch;      //  the turn's entry, or NULL
    qh_prop_t *open;          //  its commands
    size_t npending;          //  user commands waiting for their entry
    bool leading;             //  rgroup says we lead (in lead_term)
    bool serving;             //  and our state caught up: we dispatch
    uint64_t lead_term;       //  the term we lead
    uint64_t ready_index;     //  serving once applied this far
    uint64_t epoch;           //  bumped at every change of leadership
    zhashx_t *leases;         //  seq -> qh_lease_t (owned)
    int64_t next_lease_at;    //  earliest QL_OUT deadline (or later)
    int64_t next_due;         //  when a delayed message gets ready
    qh_consumer_t *consumers; //  registered (leader only)
    size_t nconsumers;        //  how many
    size_t rr;                //  round-robin cursor
    size_t lettering;         //  leases in QL_LETTERING
    bool dirty;               //  something changed: walk again
    qhost_stats_t stats;      //  counters
};

int64_t qh_now (qhost_t *self);
//  Adds CMD to the turn's entry with its op. 0 or a code (nothing added).
int qh_add (qhost_t *self, const qfsm_cmd_t *cmd, qh_kind_t kind, qhost_done_fn *cb, void *arg);
//  The result of op OP (R: the committed result, or NULL and STATUS a failure).
void qh_settle (qhost_t *self, const qh_prop_t *p, const qh_op_t *op, int status,
                const qfsm_result_t *r);
//  Dispatch: the walk over ready messages (qhost_dispatch.c).
void qh_dispatch (qhost_t *self);
//  True when serving, something changed and a consumer has room.
bool qh_wants_walk (const qhost_t *self);
//  When a delayed message is due, if a consumer has room (else INT64_MAX).
int64_t qh_due (const qhost_t *self);
//  Leases that lapsed by now.
void qh_expire (qhost_t *self);
//  Forgets every lease and consumer (leadership lost); the callbacks of
//  letters on their way get STATUS.
void qh_forget (qhost_t *self, int status);
qh_lease_t *qh_lease (qhost_t *self, uint64_t seq);
//  A new lease of SEQ for C (NULL: nobody's) in STATE; NULL when out of memory.
qh_lease_t *qh_lease_new (qhost_t *self, uint64_t seq, qh_consumer_t *c, int state);
qh_consumer_t *qh_consumer (qhost_t *self, uint64_t id);
//  Dead letters (qhost_letter.c). first: true when SEQ's letter goes before
//  its DEAD (a letter callback, not a dead-letter queue); INFO gets the
//  message. send: the letter of INFO goes out with REASON, its message held
//  by lease L turned QL_LETTERING (a consumer's, whose credit is free again;
//  NULL: a new lease); CB fires once its DEAD commits. 0 or WEFT_ENOMEM.
bool qh_letters_first (qhost_t *self, uint64_t seq, qfsm_info_t *info);
int qh_letter_send (qhost_t *self, qh_lease_t *l, const qfsm_info_t *info, const char *reason,
                    qhost_done_fn *cb, void *arg);
void qh_lease_drop (qhost_t *self, qh_lease_t *lease);
zhashx_t *qh_leases_new (void);

#endif
