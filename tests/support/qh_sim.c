/*  tests/support/qh_sim.c - the queue groups' test harness (qh_sim.h). */
#include "qh_sim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#define GROUP_ID 9

uint64_t qhsim_rand (qhsim_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void *qhsim_grow (void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    p = realloc (p, ncap * size);
    cr_assert_not_null (p);
    memset ((char *)p + *cap * size, 0, (ncap - *cap) * size);
    *cap = ncap;
    return p;
}

//  Makes the per-seq tables hold SEQ.
void qhsim_seq_room (qhsim_t *self, uint64_t seq)
{
    size_t cap = self->seq_cap;
    self->acked = qhsim_grow (self->acked, &cap, seq + 1, 1);
    cap = self->seq_cap;
    self->ack_unknown = qhsim_grow (self->ack_unknown, &cap, seq + 1, 1);
    cap = self->seq_cap;
    self->lettered = qhsim_grow (self->lettered, &cap, seq + 1, 1);
    cap = self->seq_cap;
    self->count = qhsim_grow (self->count, &cap, seq + 1, sizeof *self->count);
    self->seq_cap = cap;
}

void qhsim_term_room (qhsim_t *self, uint64_t term)
{
    size_t cap = self->terms_cap;
    self->dispatcher = qhsim_grow (self->dispatcher, &cap, term + 1, sizeof (int));
    cap = self->terms_cap;
    self->leader_of = qhsim_grow (self->leader_of, &cap, term + 1, sizeof (int));
    self->terms_cap = cap;
}

/* ---------------------------------------------------------------------------
   The environment and the network
*/

static int64_t s_now (void *arg)
{
    return ((qhsim_member_t *)arg)->sim->now;
}

static uint64_t s_random (void *arg)
{
    return qhsim_rand (((qhsim_member_t *)arg)->sim);
}

static void s_enqueue (qhsim_t *self, int from, int to, const void *buf, size_t len)
{
    unsigned span = self->delay_max > self->delay_min ? self->delay_max - self->delay_min : 0;
    self->q = qhsim_grow (self->q, &self->qcap, self->nq + 1, sizeof *self->q);
    qhsim_msg_t *msg = &self->q[self->nq++];
    msg->deliver_at = self->now + self->delay_min + (span ? qhsim_rand (self) % (span + 1) : 0);
    msg->seq = self->msg_seq++;
    msg->from = from;
    msg->to = to;
    msg->buf = malloc (len ? len : 1);
    cr_assert_not_null (msg->buf);
    memcpy (msg->buf, buf, len);
    msg->len = len;
}

static int s_send (void *arg, uint64_t group, uint64_t to, const void *buf, size_t len)
{
    qhsim_member_t *m = arg;
    qhsim_t *self = m->sim;
    cr_assert_eq (group, GROUP_ID);
    if (to < 1 || to > (uint64_t)self->n || self->cut[m->id][to])
        return 0;
    if (self->loss_pct && qhsim_rand (self) % 100 < self->loss_pct)
        return 0;
    s_enqueue (self, m->id, (int)to, buf, len);
    if (self->dup_pct && qhsim_rand (self) % 100 < self->dup_pct)
        s_enqueue (self, m->id, (int)to, buf, len);
    return 0;
}

/* ---------------------------------------------------------------------------
   What the queue tells: deliveries, letters
*/

static void s_deliver (void *arg, uint64_t consumer, const qfsm_info_t *msg, uint64_t term)
{
    qhsim_member_t *m = arg;
    qhsim_t *self = m->sim;
    qhsim_term_room (self, term);
    qhsim_seq_room (self, msg->seq);
    if (!self->dispatcher[term])
        self->dispatcher[term] = m->id;
    cr_assert_eq (self->dispatcher[term], m->id, "two members dispatch in term %llu: %d and %d",
                  (unsigned long long)term, self->dispatcher[term], m->id);
    cr_assert (!self->acked[msg->seq], "seq %llu delivered again after its ack committed",
               (unsigned long long)msg->seq);
    cr_assert_gt (msg->deliveries, self->count[msg->seq], "seq %llu: count %u after %u",
                  (unsigned long long)msg->seq, msg->deliveries, self->count[msg->seq]);
    self->log = qhsim_grow (self->log, &self->log_cap, self->nlog + 1, sizeof *self->log);
    self->log[self->nlog++] = (qhsim_delivery_t){consumer, msg->seq, msg->deliveries, m->id};
    bool first = self->count[msg->seq] == 0;
    self->count[msg->seq] = msg->deliveries;
    self->delivered++;
    self->redelivered += !first;
    //  FIFO holds but for a delivery whose commit came after its leader lease (qhost
    //  stats.stale): that message comes later, after its successors
    bool stale = false;
    for (int i = 1; i <= self->n; i++)
        stale |= self->m[i].h && qhost_stats (self->m[i].h)->stale > 0;
    if (first && self->o.check_fifo && !stale) {
        cr_assert_gt (
            msg->seq, self->last_first[msg->priority % QHSIM_PRIOS],
            "FIFO: seq %llu first delivered after %llu (priority %u)", (unsigned long long)msg->seq,
            (unsigned long long)self->last_first[msg->priority % QHSIM_PRIOS], msg->priority);
        self->last_first[msg->priority % QHSIM_PRIOS] = msg->seq;
    }
    if (qhsim_rand (self) % 100 < self->o.ack_pct) {
        self->intents = qhsim_grow (self->intents, &self->intents_cap, self->nintents + 1,
                                    sizeof *self->intents);
        self->intents[self->nintents++] =
            (qhsim_intent_t){self->now + self->o.ack_delay_ms, m->id, term, consumer, msg->seq};
    }
}

//  A dead letter goes to the dlq: stored after the ack delay, unless its
//  sender crashed meanwhile (then the next leader must send it again).
static void s_letter (void *arg, const qfsm_info_t *msg)
{
    qhsim_member_t *m = arg;
    qhsim_t *self = m->sim;
    qhsim_seq_room (self, msg->seq);
    self->intents =
        qhsim_grow (self->intents, &self->intents_cap, self->nintents + 1, sizeof *self->intents);
    self->intents[self->nintents++] =
        (qhsim_intent_t){self->now + self->o.ack_delay_ms, m->id, m->life, 0, msg->seq};
}

/* ---------------------------------------------------------------------------
   Members
*/

static void s_open (qhsim_t *self, qhsim_member_t *m)
{
    store_conf_t conf = {.dir = "mem", .disk = m->disk};
    store_err_t err;
    cr_assert_eq (store_mem_ops.open (&conf, &m->store, &err), 0, "%s", err.msg);
    qhost_conf_t qc = {.rg = {.arg = m,
                              .now_ms = s_now,
                              .random = s_random,
                              .send = s_send,
                              .store_ops = &store_mem_ops,
                              .store = m->store,
                              .key_prefix = "q/",
                              .election_ms = self->o.election_ms,
                              .heartbeat_ms = self->o.heartbeat_ms,
                              .snapshot_threshold = self->o.snapshot_threshold,
                              .snapshot_trailing = self->o.snapshot_threshold / 4,
                              .pre_vote = self->o.pre_vote},
                       .ack_timeout_ms = self->o.ack_timeout_ms,
                       .deliver = s_deliver,
                       .letter = s_letter,
                       .arg = m};
    qfsm_config_init (&qc.config);
    if (self->o.max_deliver)
        qc.config.max_deliver = self->o.max_deliver;
    char msg[200];
    m->h = qhost_new (&qc, GROUP_ID, (uint64_t)m->id, msg, sizeof msg);
    cr_assert_not_null (m->h, "%s", msg);
}

static void s_start (qhsim_member_t *m)
{
    int rc = qhost_start (m->h);
    cr_assert_eq (rc, 0, "start member %d: %s", m->id, rgroup_strerror (rc));
    m->up = true;
    m->life++;
    m->lazy_due = false;
    m->reg_term = 0;
}

qhsim_t *qhsim_new (int n, uint64_t seed, const qhsim_opts_t *opts)
{
    cr_assert (n >= 1 && n <= QHSIM_MAX);
    qhsim_t *self = calloc (1, sizeof *self);
    cr_assert_not_null (self);
    self->rng = seed * 0x2545f4914f6cdd1dull + 1;
    self->n = n;
    self->now = 1000;
    self->delay_min = 1;
    self->delay_max = 5;
    if (opts)
        self->o = *opts;
    if (!self->o.election_ms)
        self->o.election_ms = 100;
    if (!self->o.heartbeat_ms)
        self->o.heartbeat_ms = 20;
    if (!self->o.ack_timeout_ms)
        self->o.ack_timeout_ms = 400;
    if (!self->o.credits)
        self->o.credits = 16;
    if (!self->o.window)
        self->o.window = 256;
    if (!self->o.ack_delay_ms)
        self->o.ack_delay_ms = 5;
    uint64_t ids[QHSIM_MAX];
    for (int i = 0; i < n; i++)
        ids[i] = (uint64_t)i + 1;
    for (int i = 1; i <= n; i++) {
        qhsim_member_t *m = &self->m[i];
        m->sim = self;
        m->id = i;
        m->disk = jdisk_new ();
        cr_assert_not_null (m->disk);
        s_open (self, m);
        cr_assert_eq (qhost_bootstrap (m->h, ids, (size_t)n), 0);
        s_start (m);
    }
    return self;
}

static void s_close_member (qhsim_member_t *m)
{
    m->up = false; //  first: callbacks fired by destroy see it down
    qhost_destroy (&m->h);
    store_mem_ops.close (&m->store);
}

void qhsim_destroy (qhsim_t **self_p)
{
    qhsim_t *self = *self_p;
    if (!self)
        return;
    for (int i = 1; i <= QHSIM_MAX; i++) {
        if (self->m[i].h)
            s_close_member (&self->m[i]);
        jdisk_destroy (&self->m[i].disk);
    }
    for (size_t i = 0; i < self->nq; i++)
        free (self->q[i].buf);
    free (self->q);
    free (self->prod);
    free (self->intents);
    free (self->log);
    free (self->acked);
    free (self->ack_unknown);
    free (self->count);
    free (self->lettered);
    free (self->dispatcher);
    free (self->leader_of);
    free (self);
    *self_p = NULL;
}

void qhsim_crash (qhsim_t *self, int id, bool wipe)
{
    qhsim_member_t *m = &self->m[id];
    cr_assert (m->up);
    s_close_member (m);
    cr_assert_eq (jdisk_crash (m->disk, 0), 0);
    if (wipe)
        cr_assert_eq (jdisk_wipe (m->disk), 0);
}

void qhsim_restart (qhsim_t *self, int id)
{
    qhsim_member_t *m = &self->m[id];
    cr_assert (!m->up);
    s_open (self, m);
    s_start (m);
}

void qhsim_partition (qhsim_t *self, unsigned set)
{
    for (int a = 1; a <= QHSIM_MAX; a++)
        for (int b = 1; b <= QHSIM_MAX; b++)
            self->cut[a][b] = set && (((set >> a) & 1) != ((set >> b) & 1));
}
