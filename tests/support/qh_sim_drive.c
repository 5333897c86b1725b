/*  tests/support/qh_sim_drive.c - the steps of the queue groups' harness,
    its producer and consumers, and its checks (qh_sim.h). */
#include "qh_sim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define SENDS_PER_STEP 64

/* ---------------------------------------------------------------------------
   Writes: lazy, as rg_sim.h
*/

static void s_turn_end (qhsim_t *self, qhsim_member_t *m)
{
    if (!m->up)
        return;
    qhost_before_commit (m->h);
    rgroup_t *g = qhost_group (m->h);
    if (m->lazy_due && m->lazy_step < self->steps) {
        jdisk_sync_all (m->disk); //  the OS flushed the batch since the last step
        m->lazy_due = false;
        rgroup_committed (g, 0);
    }
    if (!m->lazy_due && rgroup_pending (g)) {
        store_batch_t *b = store_mem_ops.batch_new ();
        cr_assert_eq (rgroup_stage (g, b), 0);
        store_err_t err;
        cr_assert_eq (store_mem_ops.write (m->store, b, false, &err), 0);
        store_mem_ops.batch_destroy (&b);
        m->lazy_due = true;
        m->lazy_step = self->steps;
    }
    cr_assert (!rgroup_failed (g), "member %d failed", m->id);
}

static void s_check_leaders (qhsim_t *self)
{
    for (int i = 1; i <= self->n; i++) {
        qhsim_member_t *m = &self->m[i];
        if (!m->up || !rgroup_is_leader (qhost_group (m->h)))
            continue;
        uint64_t term = rgroup_term (qhost_group (m->h));
        qhsim_term_room (self, term);
        if (!self->leader_of[term])
            self->leader_of[term] = i;
        cr_assert_eq (self->leader_of[term], i, "two leaders in term %llu",
                      (unsigned long long)term);
    }
}

//  The member Raft says leads in the highest term (serving or not), or 0.
static int s_raft_leader (qhsim_t *self)
{
    int best = 0;
    uint64_t term = 0;
    for (int i = 1; i <= self->n; i++) {
        qhsim_member_t *m = &self->m[i];
        if (m->up && rgroup_is_leader (qhost_group (m->h)) &&
            rgroup_term (qhost_group (m->h)) >= term) {
            term = rgroup_term (qhost_group (m->h));
            best = i;
        }
    }
    return best;
}

int qhsim_leader (qhsim_t *self)
{
    int best = s_raft_leader (self);
    return best && qhost_serving (self->m[best].h, NULL) ? best : 0;
}

/* ---------------------------------------------------------------------------
   The producer
*/

void qhsim_produce (qhsim_t *self, size_t total)
{
    cr_assert_null (self->prod);
    self->prod = calloc (total, sizeof *self->prod);
    cr_assert_not_null (self->prod);
    self->nprod = total;
    for (size_t i = 0; i < total; i++)
        self->prod[i] = (qhsim_prod_t){self, (uint32_t)i, 0, 0, 0};
}

static void s_confirmed (void *arg, int status, uint64_t seq)
{
    qhsim_prod_t *p = arg;
    qhsim_t *self = p->sim;
    cr_assert_eq (p->state, 1);
    self->inflight--;
    if (status == 0 || status == QFSM_DUPLICATE) {
        cr_assert_gt (seq, 0);
        cr_assert (p->seq == 0 || p->seq == seq, "m%u confirmed as %llu and %llu", p->index,
                   (unsigned long long)p->seq, (unsigned long long)seq);
        p->seq = seq;
        p->state = 2;
        self->confirmed++;
        self->dup_answers += status == QFSM_DUPLICATE;
        return;
    }
    cr_assert (status == QHOST_ENOTLEADER || status == QHOST_EUNKNOWN || status == WEFT_ECLOSED ||
                   status == WEFT_EAGAIN,
               "m%u: %s", p->index, qhost_strerror (status));
    self->failures++;
    p->state = 0; //  resent with the same id
}

static int s_send_one (qhsim_t *self, qhost_t *h, qhsim_prod_t *p, qhost_done_fn *cb)
{
    char id[16], body[32];
    snprintf (id, sizeof id, "m%06u", p->index);
    memset (body, 'a' + (int)(p->index % 26), sizeof body);
    qhost_msg_t msg = {.id = id,
                       .priority = (uint8_t)(p->index % QHSIM_PRIOS),
                       .body = body,
                       .body_len = sizeof body};
    return qhost_enqueue (h, &msg, p->index, cb, p);
}

static void s_drive_producer (qhsim_t *self)
{
    int lead = s_raft_leader (self);
    if (!lead || !self->nprod)
        return;
    qhost_t *h = self->m[lead].h;
    int budget = SENDS_PER_STEP;
    //  Resends first (in index order), then new ones.
    for (size_t i = 0; i < self->sent_upto && budget > 0 && self->inflight < self->o.window; i++) {
        qhsim_prod_t *p = &self->prod[i];
        if (p->state != 0)
            continue;
        if (s_send_one (self, h, p, s_confirmed))
            return;
        p->state = 1;
        p->sends++;
        self->resends++;
        self->inflight++;
        budget--;
    }
    while (self->sent_upto < self->nprod && budget > 0 && self->inflight < self->o.window) {
        qhsim_prod_t *p = &self->prod[self->sent_upto];
        if (s_send_one (self, h, p, s_confirmed))
            return;
        p->state = 1;
        p->sends++;
        self->inflight++;
        self->sent_upto++;
        budget--;
    }
}

/* ---------------------------------------------------------------------------
   Consumers
*/

void qhsim_consume (qhsim_t *self, int k)
{
    cr_assert (k >= 0 && k <= QHSIM_CONS);
    self->consumers = k;
    for (int i = 1; i <= self->n; i++)
        self->m[i].reg_term = 0;
}

typedef struct {
    qhsim_t *sim;
    uint64_t seq;
} s_ack_t;

static void s_acked (void *arg, int status, uint64_t seq)
{
    s_ack_t *a = arg;
    qhsim_t *self = a->sim;
    cr_assert_eq (seq, a->seq);
    if (status == 0) {
        qhsim_seq_room (self, seq);
        self->acked[seq] = 1;
        self->acks++;
    } else if (status == QHOST_EUNKNOWN) {
        qhsim_seq_room (self, seq);
        self->ack_unknown[seq] = 1; //  it may have committed
    } else
        cr_assert (status == QHOST_ENOTLEADER || status == QHOST_EUNKNOWN || status == WEFT_ECLOSED,
                   "ack of %llu: %s", (unsigned long long)seq, qhost_strerror (status));
    free (a);
}

static void s_drive_consumers (qhsim_t *self)
{
    int lead = qhsim_leader (self);
    if (lead && self->consumers) {
        qhsim_member_t *m = &self->m[lead];
        uint64_t term;
        qhost_serving (m->h, &term);
        if (m->reg_term != term) {
            for (int c = 1; c <= self->consumers; c++)
                cr_assert_eq (qhost_consume (m->h, (uint64_t)c, self->o.credits), 0);
            m->reg_term = term;
        }
    }
    for (size_t i = 0; i < self->nintents;) {
        qhsim_intent_t in = self->intents[i];
        if (in.due > self->now) {
            i++;
            continue;
        }
        self->intents[i] = self->intents[--self->nintents];
        qhsim_member_t *m = &self->m[in.member];
        if (in.consumer == 0) { //  a dead letter reaches the dlq, if its sender lived on
            if (!m->up || m->life != in.term)
                continue;
            self->letters += !self->lettered[in.seq];
            self->lettered[in.seq] = 1;
            qhost_lettered (m->h, in.seq); //  not leading any more: the next leader resends
            continue;
        }
        uint64_t term;
        if (!m->up || !qhost_serving (m->h, &term) || term != in.term)
            continue; //  the consumer's leader is gone: it will get the message again
        s_ack_t *a = malloc (sizeof *a);
        cr_assert_not_null (a);
        *a = (s_ack_t){self, in.seq};
        if (qhost_ack (m->h, in.consumer, in.seq, s_acked, a))
            free (a); //  its lease lapsed meanwhile
    }
}

/* ---------------------------------------------------------------------------
   Steps
*/

static long s_next_msg (qhsim_t *self)
{
    long best = -1;
    for (size_t i = 0; i < self->nq; i++)
        if (best < 0 || self->q[i].deliver_at < self->q[best].deliver_at ||
            (self->q[i].deliver_at == self->q[best].deliver_at &&
             self->q[i].seq < self->q[best].seq))
            best = (long)i;
    return best;
}

void qhsim_step (qhsim_t *self)
{
    self->steps++;
    int64_t next = self->now + 5; //  the clients act every 5 ms at least
    long mi = s_next_msg (self);
    if (mi >= 0 && self->q[mi].deliver_at < next)
        next = self->q[mi].deliver_at;
    for (int i = 1; i <= self->n; i++)
        if (self->m[i].up && qhost_deadline (self->m[i].h) < next)
            next = qhost_deadline (self->m[i].h);
    if (next > self->now) {
        self->now = next;
        self->frozen = 0;
    } else
        cr_assert_lt (++self->frozen, 100000, "busy loop: a deadline stays at %lld ms",
                      (long long)self->now);
    while ((mi = s_next_msg (self)) >= 0 && self->q[mi].deliver_at <= self->now) {
        qhsim_msg_t msg = self->q[mi];
        self->q[mi] = self->q[--self->nq];
        qhsim_member_t *to = &self->m[msg.to];
        if (to->up && !self->cut[msg.from][msg.to]) {
            int rc = qhost_receive (to->h, (uint64_t)msg.from, msg.buf, msg.len);
            cr_assert_eq (rc, 0, "a message of ours was refused: %s", rgroup_strerror (rc));
            s_turn_end (self, to);
            s_check_leaders (self);
        }
        free (msg.buf);
    }
    for (int i = 1; i <= self->n; i++)
        if (self->m[i].up && qhost_deadline (self->m[i].h) <= self->now)
            qhost_tick (self->m[i].h);
    s_drive_producer (self);
    s_drive_consumers (self);
    for (int i = 1; i <= self->n; i++)
        s_turn_end (self, &self->m[i]);
    s_check_leaders (self);
}

void qhsim_run (qhsim_t *self, int64_t ms)
{
    int64_t end = self->now + ms;
    for (int i = 0; i < 10000000 && self->now < end; i++)
        qhsim_step (self);
}

bool qhsim_run_until (qhsim_t *self, int64_t ms, bool (*pred) (qhsim_t *, void *), void *arg)
{
    int64_t end = self->now + ms;
    for (int i = 0; i < 10000000 && self->now < end; i++) {
        if (pred (self, arg))
            return true;
        qhsim_step (self);
    }
    return pred (self, arg);
}

/* ---------------------------------------------------------------------------
   Checks
*/

bool qhsim_all_confirmed (qhsim_t *self, void *unused)
{
    return self->nprod && self->confirmed == self->nprod;
}

bool qhsim_all_settled (qhsim_t *self, void *unused)
{
    int lead = qhsim_leader (self);
    if (!lead || !qhsim_all_confirmed (self, NULL))
        return false;
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (self->m[lead].h), &st);
    return st.pending == 0 && st.parked == 0;
}

bool qhsim_agree (qhsim_t *self, void *unused)
{
    int first = 0;
    for (int i = 1; i <= self->n; i++) {
        qhsim_member_t *m = &self->m[i];
        if (!m->up)
            continue;
        rgroup_t *g = qhost_group (m->h);
        if (rgroup_applied_index (g) != rgroup_last_index (g))
            return false;
        if (!first) {
            first = i;
            continue;
        }
        qhsim_member_t *f = &self->m[first];
        if (rgroup_applied_index (g) != rgroup_applied_index (qhost_group (f->h)) ||
            qfsm_digest (qhost_fsm (m->h)) != qfsm_digest (qhost_fsm (f->h)))
            return false;
    }
    return first != 0;
}

size_t qhsim_lost (qhsim_t *self)
{
    int lead = qhsim_leader (self);
    cr_assert (lead, "no serving leader to count losses on");
    const qfsm_t *fsm = qhost_fsm (self->m[lead].h);
    size_t lost = 0;
    for (size_t i = 0; i < self->nprod; i++) {
        qhsim_prod_t *p = &self->prod[i];
        if (p->state != 2)
            continue;
        if (p->seq < self->seq_cap &&
            (self->acked[p->seq] || self->ack_unknown[p->seq] || self->lettered[p->seq]))
            continue;
        char id[16];
        snprintf (id, sizeof id, "m%06u", p->index);
        qfsm_info_t info;
        if (qfsm_find (fsm, p->seq, &info) == 0 && strcmp (info.id, id) == 0)
            continue;
        lost++;
    }
    return lost;
}

typedef struct {
    size_t answered;
} s_dup_t;

static s_dup_t s_dups;

static void s_dup_answer (void *arg, int status, uint64_t seq)
{
    qhsim_prod_t *p = arg;
    cr_assert_eq (status, QFSM_DUPLICATE, "resent m%u: %s", p->index, qhost_strerror (status));
    cr_assert_eq (seq, p->seq, "resent m%u: seq %llu, first %llu", p->index,
                  (unsigned long long)seq, (unsigned long long)p->seq);
    s_dups.answered++;
}

static bool s_dups_done (qhsim_t *self, void *arg)
{
    return s_dups.answered == *(size_t *)arg;
}

void qhsim_resend_confirmed (qhsim_t *self, size_t k)
{
    int lead = qhsim_leader (self);
    cr_assert (lead);
    qhost_t *h = self->m[lead].h;
    qfsm_stats_t before, after;
    qfsm_stats (qhost_fsm (h), &before);
    s_dups.answered = 0;
    size_t sent = 0;
    for (size_t i = 0; i < self->nprod && sent < k; i++)
        if (self->prod[i].state == 2) {
            cr_assert_eq (s_send_one (self, h, &self->prod[i], s_dup_answer), 0);
            sent++;
        }
    cr_assert (qhsim_run_until (self, 5000, s_dups_done, &sent), "%zu of %zu resends answered",
               s_dups.answered, sent);
    qfsm_stats (qhost_fsm (h), &after);
    cr_assert_eq (after.enqueued, before.enqueued, "a resend was enqueued again");
    cr_assert_eq (after.duplicates, before.duplicates + sent);
    self->dup_answers += sent;
}

void qhsim_print (qhsim_t *self, const char *label)
{
    size_t lost = qhsim_leader (self) ? qhsim_lost (self) : 0;
    printf ("%-28s confirmed %llu/%zu delivered %llu (again %llu) acked %llu letters %llu "
            "lost %zu duplicates %llu resends %llu at %lld ms\n",
            label, (unsigned long long)self->confirmed, self->nprod,
            (unsigned long long)self->delivered, (unsigned long long)self->redelivered,
            (unsigned long long)self->acks, (unsigned long long)self->letters, lost,
            (unsigned long long)self->dup_answers, (unsigned long long)self->resends,
            (long long)self->now);
}
