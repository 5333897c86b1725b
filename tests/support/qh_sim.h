/*  tests/support/qh_sim.h - a deterministic harness for queue groups
    (node/qgroup/qhost.h): N members of one queue's Raft group in one
    process, each on its own memory disk (journal/store_mem.h + jdisk), over
    a simulated network with virtual time and a seeded generator (loss,
    duplication, delay and so reordering, partitions), with crashes that lose
    unsynced writes, restarts from disk and disk loss.

    Writes are LAZY as in rg_sim.h: a member's batch is written unsynced and
    its completions fire only at its first turn in a later step, after the
    disk was flushed; a crash in between loses the batch (nothing was
    acknowledged on it).

    It drives one producer and K consumers, as the queue subsystem will:
      - the producer sends messages "m<index>" (priority index % PRIOS) to the
        member the group names as leader, at most WINDOW in flight; a send
        that fails not-leader / unknown / closed is resent with the same id;
      - consumers 1..K register at the serving leader (again after every
        change) with CREDITS each; a delivery is acked after ACK_DELAY ms with
        probability ACK_PCT %, else ignored (its lease lapses).
    And checks, at every event:
      - at most one member leads, and at most one dispatches, per term;
      - a message whose ack committed is never delivered again;
      - delivery counts of a message only grow (kept across leader changes);
      - FIFO within a priority: first deliveries come in seq order (when
        CHECK_FIFO);
      - a confirmed id keeps its seq (a duplicate answer names the same one).
    qhsim_lost () counts confirmed messages that are neither held by the
    serving leader's state, nor acked, nor dead-lettered.

    Thread: one; a harness is a test's whole world. Failures are Criterion
    assertions. */
#ifndef WEFT_TESTS_QH_SIM_H
#define WEFT_TESTS_QH_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/store_mem.h"
#include "node/qgroup/qhost.h"

#define QHSIM_MAX   5 //  members, ids 1..QHSIM_MAX
#define QHSIM_CONS  8 //  consumers, ids 1..QHSIM_CONS
#define QHSIM_PRIOS 3 //  the producer's priorities 0..2

typedef struct qhsim qhsim_t;

typedef struct {
    qhsim_t *sim;   //  back
    uint32_t index; //  "m<index>"
    int state;      //  0 to send, 1 in flight, 2 confirmed
    uint64_t seq;   //  once confirmed
    uint32_t sends; //  attempts
} qhsim_prod_t;

typedef struct {
    int64_t due;       //  when the consumer acks (or a dead letter is stored)
    int member;        //  at whom (the delivering leader, or the letter's sender)
    uint64_t term;     //  in which term (a letter: the sender's life)
    uint64_t consumer; //  who (0: a dead letter on its way to the dlq)
    uint64_t seq;      //  what
} qhsim_intent_t;

typedef struct {
    uint64_t consumer; //  to whom
    uint64_t seq;      //  what
    uint32_t count;    //  its delivery count
    int member;        //  by whom
} qhsim_delivery_t;

typedef struct {
    int64_t deliver_at;
    uint64_t seq;
    int from, to;
    uint8_t *buf;
    size_t len;
} qhsim_msg_t;

typedef struct {
    qhsim_t *sim;
    int id;
    jdisk_t *disk;  //  outlives crashes
    store_t *store; //  open while up
    qhost_t *h;     //  while up
    bool up;
    bool lazy_due;      //  a batch written unsynced, completions due
    uint64_t lazy_step; //  the step that wrote it
    uint64_t reg_term;  //  the term consumers registered in (0: none)
    uint64_t life;      //  starts so far: a letter sent before a crash is lost
} qhsim_member_t;

typedef struct {
    unsigned election_ms, heartbeat_ms; //  Raft timing (default 100 / 20)
    unsigned snapshot_threshold;        //  0: libraft's default
    int64_t ack_timeout_ms;             //  lease (default 400)
    uint32_t max_deliver;               //  0: qfsm's default
    uint32_t credits;                   //  per consumer (default 16)
    unsigned window;                    //  producer in flight (default 256)
    unsigned ack_pct;                   //  percent of deliveries acked
    int64_t ack_delay_ms;               //  default 5
    bool check_fifo;                    //  assert FIFO of first deliveries
    bool pre_vote;                      //  Raft's pre-vote (see test_qhost.c: off)
} qhsim_opts_t;

struct qhsim {
    int64_t now;
    uint64_t rng;
    int n;
    qhsim_member_t m[QHSIM_MAX + 1];
    qhsim_opts_t o;
    //  network
    unsigned loss_pct, dup_pct, delay_min, delay_max;
    bool cut[QHSIM_MAX + 1][QHSIM_MAX + 1];
    qhsim_msg_t *q;
    size_t nq, qcap;
    uint64_t msg_seq, steps;
    uint64_t frozen; //  steps in a row at the same virtual ms
    //  producer
    qhsim_prod_t *prod;
    size_t nprod, sent_upto, inflight;
    //  consumers
    int consumers;
    qhsim_intent_t *intents;
    size_t nintents, intents_cap;
    uint8_t *acked;       //  by seq: ack committed
    uint8_t *ack_unknown; //  by seq: an ack's outcome unknown (it may have committed)
    uint32_t *count;      //  by seq: highest delivery count seen
    uint8_t *lettered;    //  by seq: its dead letter stored (in the dlq)
    size_t seq_cap;
    uint64_t last_first[QHSIM_PRIOS]; //  FIFO: last first delivery per priority
    int *dispatcher;                  //  by term: who delivered (0: none)
    int *leader_of;                   //  by term
    size_t terms_cap;
    qhsim_delivery_t *log; //  every delivery, in order
    size_t nlog, log_cap;
    //  figures
    uint64_t confirmed, dup_answers, resends, delivered, redelivered, acks, letters, failures;
};

qhsim_t *qhsim_new (int n, uint64_t seed, const qhsim_opts_t *opts);
void qhsim_destroy (qhsim_t **self_p);

void qhsim_step (qhsim_t *self);
void qhsim_run (qhsim_t *self, int64_t ms);
bool qhsim_run_until (qhsim_t *self, int64_t ms, bool (*pred) (qhsim_t *, void *), void *arg);

//  The member that serves (leads in the highest term, caught up), or 0.
int qhsim_leader (qhsim_t *self);
//  The producer will send TOTAL messages (once).
void qhsim_produce (qhsim_t *self, size_t total);
//  K consumers (0 stops consuming).
void qhsim_consume (qhsim_t *self, int k);

void qhsim_crash (qhsim_t *self, int id, bool wipe);
void qhsim_restart (qhsim_t *self, int id);
//  Isolates the members in SET (bit i: member i) from the others; 0 heals.
void qhsim_partition (qhsim_t *self, unsigned set);

//  Predicates for qhsim_run_until.
bool qhsim_all_confirmed (qhsim_t *self, void *unused);
bool qhsim_all_settled (qhsim_t *self, void *unused); //  every confirmed one acked or lettered
bool qhsim_agree (qhsim_t *self, void *unused);       //  live members: same applied index, digest

//  Confirmed messages neither held by the serving leader, nor acked, nor lettered.
size_t qhsim_lost (qhsim_t *self);
//  Resends K confirmed ids at the leader and runs until answered: asserts each is
//  a duplicate of its seq and that the leader's state did not grow.
void qhsim_resend_confirmed (qhsim_t *self, size_t k);
//  Prints the figures with LABEL.
void qhsim_print (qhsim_t *self, const char *label);
uint64_t qhsim_rand (qhsim_t *self);

//  Shared by qh_sim.c and qh_sim_drive.c.
void *qhsim_grow (void *p, size_t *cap, size_t need, size_t size);
void qhsim_seq_room (qhsim_t *self, uint64_t seq);
void qhsim_term_room (qhsim_t *self, uint64_t term);

#endif
