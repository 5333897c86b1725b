/*  node/qgroup/qhost.h - one queue's Raft group on one member: the Raft room
    (node/raft/rgroup.h) running the queue's replicated state (node/qfsm/qfsm.h),
    and, on the group's leader, the queue's service: producers' confirms and
    dispatch to consumers. See docs/QUEUES.md, "Queue groups on Raft (qhost)".

    Pure of sockets and clocks: the environment is the Raft room's (rg_env_t:
    time, randomness, send to a member, the store); the host drives it with the
    loop phases of the room, through this door:
      qhost_receive ()        a datagram of the group from a member;
      qhost_tick ()           when qhost_deadline () has come (Raft's tick,
                              delivery leases, delayed messages);
      qhost_before_commit ()  once per loop turn, before the host's commit: the
                              turn's commands (enqueues, acks, nacks, rejects,
                              deliveries) go to Raft as ONE entry;
      then rgroup_stage / rgroup_committed (or rgroup_flush) on qhost_group (),
      while rgroup_pending () says so.
    Callbacks (confirms, deliveries, dead letters) run inside those calls; they
    may call qhost_enqueue / qhost_ack / ... (queued for the next turn), never
    qhost_destroy.

    Rules (the contract):
      - A confirm (qhost_done_fn) says 0 or QFSM_DUPLICATE (with the first
        copy's seq) or QFSM_PARKED only once the ENQUEUE's entry is committed
        by a majority and applied here; a duplicate is answered from the
        replicated dedup table, so only for an original that committed.
        WEFT_EFULL (the queue's limit) is also a committed answer: nothing was
        added. QHOST_ENOTLEADER: this member does not lead (ask qhost_leader ()
        and redirect); QHOST_EUNKNOWN: leadership was lost after the command
        went to Raft, so it may or may not commit: resend with the same msg_id.
      - Deliveries: the leader logs DELIVERED {seq, count} and hands the message
        out (qhost_deliver_fn) only once that entry committed. So a deposed or
        partitioned leader hands nothing out, every hand-out is backed by its
        term's log, and a delivery count is durable before the consumer sees
        the message (max_deliver holds across leader changes; a count may run
        one ahead of real hand-outs when a consumer left meanwhile).
      - A delivery holds a lease (ack_timeout_ms, leader-local). Ack / nack /
        reject are logged and acknowledged (qhost_done_fn) once committed. A
        lease that lapses, or a consumer cancelled, makes its messages ready
        again. A message that used max_deliver deliveries is dead-lettered by
        the leader (reason "max_deliver") instead of being handed out.
      - Dead letters are never lost (with a letter callback): the leader hands
        the letter to qhost_letter_fn first and keeps the message (held, not
        dispatched); only once the host says the letter is stored in
        `<queue>.dlq` (qhost_lettered) does it log the DEAD that removes it.
        A leader that fails meanwhile leaves the message in the queue, and
        the next one sends its letter again: a letter may reach `.dlq` twice
        (at least once; its msg_id is the message's, so the dlq's dedup table
        catches a repeat within its window). At most QHOST_LETTERS_MAX letters
        travel at once. In a dead-letter queue (qfsm config dlq) a reject is
        refused (WEFT_EINVAL from qfsm) and max_deliver does not apply.
      - A new leader serves (dispatches) only once it applied everything its
        log held when it was elected (the log of earlier terms commits with
        the room's barrier): every un-acked message is then ready again
        (at-least-once), in dispatch order (priority, then seq: FIFO within a
        priority also across leader changes). Losing leadership stops
        dispatch at once, forgets leases and consumers (they re-register at
        the new leader), fails the turn's commands with QHOST_ENOTLEADER and
        the ones in Raft with QHOST_EUNKNOWN (the room's RG_ELOST).
      - Bounds: at most max_pending commands waiting for their entry (confirms
        and acks; beyond, WEFT_EAGAIN at once), max_inflight deliveries leased
        or being logged, max_consumers consumers.

    Thread: a qhost and its environment belong to one thread.
*/
#ifndef WEFT_NODE_QGROUP_QHOST_H
#define WEFT_NODE_QGROUP_QHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/qfsm/qfsm.h"
#include "node/raft/rgroup.h"

//  qhost's own statuses, below the WEFT_E* range.
#define QHOST_ENOTLEADER (-101) //  not the leader: redirect to qhost_leader ()
#define QHOST_EUNKNOWN   (-102) //  leadership lost in flight: the fate is unknown, resend

#define QHOST_DEFAULT_ACK_TIMEOUT_MS 30000
#define QHOST_DEFAULT_MAX_PENDING    65536
#define QHOST_DEFAULT_MAX_INFLIGHT   4096
#define QHOST_DEFAULT_MAX_CONSUMERS  1024
#define QHOST_LETTERS_MAX            256        //  dead letters on their way to `.dlq` at once
#define QHOST_BATCH_BYTES            (4u << 20) //  an entry is proposed when it grows past this

typedef struct qhost qhost_t;

//  A command's outcome: STATUS (0, QFSM_DUPLICATE, QFSM_PARKED, QFSM_DEADLETTERED,
//  WEFT_EFULL, WEFT_EINVAL, QHOST_ENOTLEADER, QHOST_EUNKNOWN, WEFT_ECLOSED) and
//  the message's SEQ (enqueue: the new one, or the first copy's).
typedef void (qhost_done_fn) (void *arg, int status, uint64_t seq);
//  A delivery to CONSUMER (leader only), logged in TERM; MSG is borrowed for the
//  call (msg->deliveries is this delivery's count).
typedef void (qhost_deliver_fn) (void *arg, uint64_t consumer, const qfsm_info_t *msg,
                                 uint64_t term);
//  A dead letter to store in `<queue>.dlq` (leader only; MSG borrowed,
//  msg->reason set); the host calls qhost_lettered (msg->seq) once it is
//  stored. May call qhost_lettered at once (a letter with nowhere to go).
typedef void (qhost_letter_fn) (void *arg, const qfsm_info_t *msg);

typedef struct {
    rg_env_t rg;               //  the Raft room's environment (copied)
    qfsm_config_t config;      //  the queue's first configuration (alike on all members)
    int64_t ack_timeout_ms;    //  lease of a delivery; 0: the default
    size_t max_pending;        //  0: the default
    size_t max_inflight;       //  0: the default
    size_t max_consumers;      //  0: the default
    qhost_deliver_fn *deliver; //  required
    qhost_letter_fn *letter;   //  may be NULL: letters are then only counted
                               //  (dropped at once, as qfsm reports them)
    void *arg;                 //  for deliver and letter
} qhost_conf_t;

//  A message to enqueue (pointers borrowed for the call).
typedef struct {
    const char *id;      //  msg_id, NUL-terminated, "" or NULL: none (no dedup)
    uint8_t priority;    //  0 .. 9
    const void *headers; //  headers blob
    size_t headers_len;
    const void *body;
    size_t body_len;
    int64_t not_before_ms; //  not dispatched before (state clock); 0 = now
} qhost_msg_t;

//  Counters of one member's qhost.
typedef struct {
    uint64_t confirmed;  //  enqueues answered 0 / duplicate / parked
    uint64_t duplicates; //  of which duplicates
    uint64_t refused;    //  WEFT_EFULL
    uint64_t failed;     //  commands failed not-leader / unknown / closed
    uint64_t delivered;  //  hand-outs
    uint64_t lapsed;     //  leases that lapsed
    uint64_t letters;    //  dead letters applied here (their DEAD committed)
    uint64_t letters_sent; //  letters handed to qhost_letter_fn (repeats too)
    uint64_t terms_led;  //  times this member became the serving leader
    uint64_t stale;      //  deliveries not handed out: their commit came after the lease
} qhost_stats_t;

//  Makes the queue group GROUP for member MY_ID. NULL on error (message in ERR).
qhost_t *qhost_new (const qhost_conf_t *conf, uint64_t group, uint64_t my_id, char *err,
                    size_t errlen);
//  Destroys *SELF_P (NULL-safe), nulls it; pending commands fail WEFT_ECLOSED.
void qhost_destroy (qhost_t **self_p);
//  rgroup_bootstrap / rgroup_start of the group (see rgroup.h).
int qhost_bootstrap (qhost_t *self, const uint64_t *ids, size_t n);
int qhost_start (qhost_t *self);
//  The room's group, for membership, staging and status. Owned by SELF.
rgroup_t *qhost_group (qhost_t *self);
//  The queue's state on this member (read only; valid until the next call).
const qfsm_t *qhost_fsm (const qhost_t *self);

//  The loop phases (see above).
int qhost_receive (qhost_t *self, uint64_t from, const void *buf, size_t len);
void qhost_tick (qhost_t *self);
int64_t qhost_deadline (const qhost_t *self);
void qhost_before_commit (qhost_t *self);

//  True when this member leads and serves (its state caught up), and the term.
bool qhost_serving (const qhost_t *self, uint64_t *term);
//  A number that changes at every change of this member's leadership (won or
//  lost): consumers and leases belong to one value of it.
uint64_t qhost_epoch (const qhost_t *self);
//  The leader this member knows of: false if none.
bool qhost_leader (const qhost_t *self, uint64_t *id);

//  Producer: enqueues MSG; CB (required) fires once with the outcome. TOKEN is
//  the producer's, kept with the message. Returns 0 (CB will fire) or, with CB
//  never fired: QHOST_ENOTLEADER, WEFT_EAGAIN (max_pending), WEFT_EINVAL,
//  WEFT_ENOMEM.
int qhost_enqueue (qhost_t *self, const qhost_msg_t *msg, uint64_t token, qhost_done_fn *cb,
                   void *arg);

//  Consumers (leader only). consume: registers CONSUMER (> 0) or changes its
//  window: at most CREDITS deliveries un-acked at a time. cancel: forgets it;
//  its leased messages are ready again. 0, QHOST_ENOTLEADER, WEFT_EAGAIN
//  (max_consumers), WEFT_ENOTFOUND (cancel of an unknown one).
int qhost_consume (qhost_t *self, uint64_t consumer, uint32_t credits);
int qhost_cancel (qhost_t *self, uint64_t consumer);

//  Settles message SEQ delivered to CONSUMER: ack (gone), nack (back, not
//  before DELAY_MS; dead-lettered once it used max_deliver), reject (dead
//  letter with REASON). CB (may be NULL) fires once committed (status as qfsm
//  answers: 0, QFSM_DEADLETTERED, WEFT_EINVAL for a seq not pending) or failed.
//  A seq with no lease here (delivered by an earlier leader) is accepted; one
//  leased to another consumer is WEFT_ENOTFOUND. Returns 0 or, CB never fired:
//  QHOST_ENOTLEADER, WEFT_ENOTFOUND, WEFT_EAGAIN, WEFT_EINVAL, WEFT_ENOMEM.
int qhost_ack (qhost_t *self, uint64_t consumer, uint64_t seq, qhost_done_fn *cb, void *arg);
int qhost_nack (qhost_t *self, uint64_t consumer, uint64_t seq, int64_t delay_ms, qhost_done_fn *cb,
                void *arg);
int qhost_reject (qhost_t *self, uint64_t consumer, uint64_t seq, const char *reason,
                  qhost_done_fn *cb, void *arg);

//  The letter of SEQ (handed to qhost_letter_fn) is stored in `<queue>.dlq`:
//  the leader logs its DEAD (the reject's or nack's callback fires once that
//  commits). 0, QHOST_ENOTLEADER, WEFT_ENOTFOUND (no letter of SEQ travels
//  from this leader now: a repeat, or an earlier leadership's), WEFT_ENOMEM.
int qhost_lettered (qhost_t *self, uint64_t seq);

//  Leases held now (reserved or handed out), and counters.
size_t qhost_inflight (const qhost_t *self);
const qhost_stats_t *qhost_stats (const qhost_t *self);
//  A name for a status (qhost's, qfsm's positive ones, WEFT_E*).
const char *qhost_strerror (int status);

#endif
