/*  tests/support/rg_sim.c - the Raft room's test harness (rg_sim.h). */
#include "rg_sim.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_ID 7

uint64_t rgsim_rand (rgsim_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void *s_grow (void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    p = realloc (p, ncap * size);
    cr_assert_not_null (p);
    *cap = ncap;
    return p;
}

/* ---------------------------------------------------------------------------
   The environment
*/

static int64_t s_now (void *arg)
{
    rgsim_member_t *m = arg;
    return m->sim->now;
}

static uint64_t s_random (void *arg)
{
    rgsim_member_t *m = arg;
    return rgsim_rand (m->sim);
}

static void s_enqueue (rgsim_t *self, int from, int to, const void *buf, size_t len)
{
    unsigned span = self->delay_max > self->delay_min ? self->delay_max - self->delay_min : 0;
    self->q = s_grow (self->q, &self->qcap, self->nq + 1, sizeof *self->q);
    rgsim_msg_t *msg = &self->q[self->nq++];
    msg->deliver_at = self->now + self->delay_min + (span ? rgsim_rand (self) % (span + 1) : 0);
    msg->seq = self->seq++;
    msg->from = from;
    msg->to = to;
    msg->buf = malloc (len ? len : 1);
    cr_assert_not_null (msg->buf);
    memcpy (msg->buf, buf, len);
    msg->len = len;
}

static int s_send (void *arg, uint64_t group, uint64_t to, const void *buf, size_t len)
{
    rgsim_member_t *m = arg;
    rgsim_t *self = m->sim;
    cr_assert_eq (group, GROUP_ID);
    if (self->capture && self->ncap < 4096) {
        self->cap_msgs = realloc (self->cap_msgs, (self->ncap + 1) * sizeof *self->cap_msgs);
        rgsim_msg_t *c = &self->cap_msgs[self->ncap++];
        c->buf = malloc (len);
        memcpy (c->buf, buf, len);
        c->len = len;
        c->from = m->id;
        c->to = (int)to;
    }
    if (to < 1 || to > RGSIM_MAX || self->cut[m->id][to])
        return 0;
    if (self->drop_type && len > 1 && ((const uint8_t *)buf)[1] == self->drop_type)
        return 0;
    if (self->loss_pct && rgsim_rand (self) % 100 < self->loss_pct)
        return 0;
    s_enqueue (self, m->id, (int)to, buf, len);
    if (self->dup_pct && rgsim_rand (self) % 100 < self->dup_pct)
        s_enqueue (self, m->id, (int)to, buf, len);
    return 0;
}

/* ---------------------------------------------------------------------------
   The state machine: the list of values applied
*/

//  Checks and records that member M holds VALUE at position POS.
static void s_order (rgsim_t *self, rgsim_member_t *m, size_t pos, uint64_t value, uint64_t index)
{
    if (pos < self->norder) {
        cr_assert_eq (self->order[pos], value,
                      "member %d applied %llu at position %zu, another applied %llu", m->id,
                      (unsigned long long)value, pos, (unsigned long long)self->order[pos]);
        if (index)
            cr_assert_eq (self->order_index[pos], index, "member %d: value at another index",
                          m->id);
        return;
    }
    cr_assert_eq (pos, self->norder);
    size_t cap = self->order_cap;
    self->order = s_grow (self->order, &cap, pos + 1, sizeof *self->order);
    cap = self->order_cap;
    self->order_index = s_grow (self->order_index, &cap, pos + 1, sizeof *self->order_index);
    self->order_cap = cap;
    self->order[pos] = value;
    self->order_index[pos] = index;
    self->norder++;
}

static int s_apply (void *arg, uint64_t index, const void *buf, size_t len, void **result)
{
    rgsim_member_t *m = arg;
    cr_assert_eq (len, 8, "entry of %zu bytes", len);
    cr_assert_gt (index, m->last_index, "member %d applied index %llu after %llu", m->id,
                  (unsigned long long)index, (unsigned long long)m->last_index);
    uint64_t value;
    memcpy (&value, buf, 8);
    m->applied = s_grow (m->applied, &m->cap, m->napplied + 1, sizeof *m->applied);
    s_order (m->sim, m, m->napplied, value, index);
    m->applied[m->napplied++] = value;
    m->last_index = index;
    *result = (void *)(uintptr_t)index;
    return 0;
}

static int s_snapshot (void *arg, void **buf, size_t *len)
{
    rgsim_member_t *m = arg;
    *len = 8 + m->napplied * 8;
    uint8_t *p = malloc (*len);
    cr_assert_not_null (p);
    memcpy (p, &m->last_index, 8);
    if (m->napplied)
        memcpy (p + 8, m->applied, m->napplied * 8);
    *buf = p;
    return 0;
}

static int s_restore (void *arg, const void *buf, size_t len)
{
    rgsim_member_t *m = arg;
    cr_assert (len >= 8 && len % 8 == 0, "snapshot of %zu bytes", len);
    size_t n = len / 8 - 1;
    m->applied = s_grow (m->applied, &m->cap, n + 1, sizeof *m->applied);
    memcpy (&m->last_index, buf, 8);
    if (n)
        memcpy (m->applied, (const uint8_t *)buf + 8, n * 8);
    m->napplied = n;
    for (size_t i = 0; i < n; i++)
        s_order (m->sim, m, i, m->applied[i], 0);
    m->restores++;
    return 0;
}

static const rg_fsm_ops_t s_fsm = {s_apply, s_snapshot, s_restore};

/* ---------------------------------------------------------------------------
   Members
*/

static void s_open (rgsim_t *self, rgsim_member_t *m)
{
    store_conf_t conf = {.dir = "mem", .disk = m->disk};
    store_err_t err;
    cr_assert_eq (store_mem_ops.open (&conf, &m->store, &err), 0, "%s", err.msg);
    rg_env_t env = self->env_tmpl;
    env.arg = m;
    env.now_ms = s_now;
    env.random = s_random;
    env.send = s_send;
    env.store_ops = &store_mem_ops;
    env.store = m->store;
    env.key_prefix = "r/";
    char msg[200];
    m->g = rgroup_new (&env, GROUP_ID, (uint64_t)m->id, &s_fsm, m, msg, sizeof msg);
    cr_assert_not_null (m->g, "%s", msg);
    //  A restart rebuilds the state machine from the snapshot and the log.
    m->napplied = 0;
    m->last_index = 0;
}

static void s_start (rgsim_member_t *m)
{
    int rc = rgroup_start (m->g);
    cr_assert_eq (rc, 0, "start member %d: %s", m->id, rgroup_strerror (rc));
    m->up = true;
    m->lazy_due = false;
    m->starts++;
}

rgsim_t *rgsim_new (int n, uint64_t seed, const rg_env_t *knobs, int noboot)
{
    cr_assert (n >= 1 && n <= RGSIM_MAX);
    rgsim_t *self = calloc (1, sizeof *self);
    cr_assert_not_null (self);
    self->rng = seed * 0x2545f4914f6cdd1dull + 1;
    self->n = n;
    self->now = 1000;
    self->delay_min = 1;
    self->delay_max = 5;
    self->next_value = 1;
    if (knobs)
        self->env_tmpl = *knobs;
    int founders = noboot > 0 ? noboot - 1 : n;
    uint64_t ids[RGSIM_MAX];
    for (int i = 0; i < founders; i++)
        ids[i] = (uint64_t)i + 1;
    for (int i = 1; i <= n; i++) {
        rgsim_member_t *m = &self->m[i];
        m->sim = self;
        m->id = i;
        m->disk = jdisk_new ();
        cr_assert_not_null (m->disk);
        s_open (self, m);
        if (i <= founders)
            cr_assert_eq (rgroup_bootstrap (m->g, ids, (size_t)founders), 0);
        s_start (m);
    }
    return self;
}

static void s_close_member (rgsim_member_t *m)
{
    rgroup_destroy (&m->g);
    store_mem_ops.close (&m->store);
    m->up = false;
}

void rgsim_destroy (rgsim_t **self_p)
{
    rgsim_t *self = *self_p;
    if (!self)
        return;
    for (int i = 1; i <= RGSIM_MAX; i++) {
        rgsim_member_t *m = &self->m[i];
        if (m->g)
            s_close_member (m);
        jdisk_destroy (&m->disk);
        free (m->applied);
    }
    for (size_t i = 0; i < self->nq; i++)
        free (self->q[i].buf);
    for (size_t i = 0; i < self->ncap; i++)
        free (self->cap_msgs[i].buf);
    free (self->cap_msgs);
    free (self->q);
    free (self->order);
    free (self->order_index);
    free (self->leader_of);
    free (self->acked);
    free (self);
    *self_p = NULL;
}

void rgsim_crash (rgsim_t *self, int id, uint64_t keep, bool wipe)
{
    rgsim_member_t *m = &self->m[id];
    cr_assert (m->up);
    s_close_member (m);
    cr_assert_eq (jdisk_crash (m->disk, keep), 0);
    if (wipe)
        cr_assert_eq (jdisk_wipe (m->disk), 0);
}

void rgsim_restart (rgsim_t *self, int id)
{
    rgsim_member_t *m = &self->m[id];
    cr_assert (!m->up);
    s_open (self, m);
    s_start (m);
}

void rgsim_add_member (rgsim_t *self, int id)
{
    cr_assert (id > self->n && id <= RGSIM_MAX);
    rgsim_member_t *m = &self->m[id];
    m->sim = self;
    m->id = id;
    m->disk = jdisk_new ();
    self->n = id;
    s_open (self, m);
    s_start (m);
}

void rgsim_partition (rgsim_t *self, unsigned set)
{
    for (int a = 1; a <= RGSIM_MAX; a++)
        for (int b = 1; b <= RGSIM_MAX; b++)
            self->cut[a][b] = set && (((set >> a) & 1) != ((set >> b) & 1));
}

/* ---------------------------------------------------------------------------
   Steps
*/

static void s_fail_member (rgsim_member_t *m);

//  The end of a member's turn: its writes and completions.
static void s_turn_end (rgsim_t *self, rgsim_member_t *m)
{
    if (!m->up)
        return;
    if (!self->lazy) {
        int rc = rgroup_flush (m->g);
        if (rc && self->tolerate_failures) {
            s_fail_member (m);
            return;
        }
        cr_assert_eq (rc, 0, "flush: %s", rgroup_strerror (rc));
        return;
    }
    if (m->lazy_due && m->lazy_step < self->steps) {
        jdisk_sync_all (m->disk); //  the OS flushed the batch since the last step
        m->lazy_due = false;
        rgroup_committed (m->g, 0);
    }
    if (!m->lazy_due && rgroup_pending (m->g)) {
        store_batch_t *b = store_mem_ops.batch_new ();
        cr_assert_eq (rgroup_stage (m->g, b), 0);
        store_err_t err;
        cr_assert_eq (store_mem_ops.write (m->store, b, false, &err), 0);
        store_mem_ops.batch_destroy (&b);
        m->lazy_due = true;
        m->lazy_step = self->steps;
    }
}

//  A member whose group failed (its store did): it goes down as in a crash;
//  the test restarts it.
static void s_fail_member (rgsim_member_t *m)
{
    s_close_member (m);
    m->failures++;
}

static void s_check_leaders (rgsim_t *self)
{
    for (int i = 1; i <= self->n; i++) {
        rgsim_member_t *m = &self->m[i];
        if (!m->up || !rgroup_is_leader (m->g))
            continue;
        uint64_t term = rgroup_term (m->g);
        size_t cap = self->nterms;
        if (term >= cap) {
            self->leader_of = s_grow (self->leader_of, &cap, term + 1, sizeof *self->leader_of);
            memset (self->leader_of + self->nterms, 0, (cap - self->nterms) * sizeof (uint64_t));
            self->nterms = cap;
        }
        if (!self->leader_of[term])
            self->leader_of[term] = (uint64_t)i;
        cr_assert_eq (self->leader_of[term], (uint64_t)i, "two leaders in term %llu: %llu and %d",
                      (unsigned long long)term, (unsigned long long)self->leader_of[term], i);
    }
}

//  Index of the first message due, or -1.
static long s_next_msg (rgsim_t *self)
{
    long best = -1;
    for (size_t i = 0; i < self->nq; i++)
        if (best < 0 || self->q[i].deliver_at < self->q[best].deliver_at ||
            (self->q[i].deliver_at == self->q[best].deliver_at &&
             self->q[i].seq < self->q[best].seq))
            best = (long)i;
    return best;
}

void rgsim_step (rgsim_t *self)
{
    self->steps++;
    int64_t next = self->now + 50;
    long mi = s_next_msg (self);
    if (mi >= 0 && self->q[mi].deliver_at < next)
        next = self->q[mi].deliver_at;
    for (int i = 1; i <= self->n; i++)
        if (self->m[i].up && rgroup_deadline (self->m[i].g) < next)
            next = rgroup_deadline (self->m[i].g);
    if (next > self->now)
        self->now = next;
    //  Deliveries due now, in order.
    while ((mi = s_next_msg (self)) >= 0 && self->q[mi].deliver_at <= self->now) {
        rgsim_msg_t msg = self->q[mi];
        self->q[mi] = self->q[--self->nq];
        rgsim_member_t *to = &self->m[msg.to];
        if (to->up && !self->cut[msg.from][msg.to]) {
            int rc = rgroup_receive (to->g, (uint64_t)msg.from, msg.buf, msg.len);
            cr_assert_eq (rc, 0, "a message of ours was refused: %s", rgroup_strerror (rc));
            s_turn_end (self, to);
            s_check_leaders (self);
        }
        free (msg.buf);
    }
    for (int i = 1; i <= self->n; i++) {
        rgsim_member_t *m = &self->m[i];
        if (m->up && rgroup_deadline (m->g) <= self->now)
            rgroup_tick (m->g);
        s_turn_end (self, m);
        if (m->up && rgroup_failed (m->g) && self->tolerate_failures)
            s_fail_member (m);
        if (m->up)
            cr_assert (!rgroup_failed (m->g), "member %d failed", i);
    }
    s_check_leaders (self);
}

void rgsim_run (rgsim_t *self, int64_t ms)
{
    int64_t end = self->now + ms;
    for (int i = 0; i < 10000000 && self->now < end; i++)
        rgsim_step (self);
}

bool rgsim_run_until (rgsim_t *self, int64_t ms, bool (*pred) (rgsim_t *, void *), void *arg)
{
    int64_t end = self->now + ms;
    for (int i = 0; i < 10000000 && self->now < end; i++) {
        if (pred (self, arg))
            return true;
        rgsim_step (self);
    }
    return pred (self, arg);
}

int rgsim_leader (rgsim_t *self)
{
    int leader = 0;
    uint64_t best = 0;
    for (int i = 1; i <= self->n; i++) {
        rgsim_member_t *m = &self->m[i];
        if (m->up && rgroup_is_leader (m->g) && rgroup_term (m->g) >= best) {
            best = rgroup_term (m->g);
            leader = i;
        }
    }
    return leader;
}

typedef struct {
    rgsim_t *sim;
    uint64_t value;
} s_prop_t;

static void s_acked (void *arg, int status, uint64_t index, void *result)
{
    s_prop_t *p = arg;
    rgsim_t *self = p->sim;
    if (status == 0) {
        cr_assert_eq ((uint64_t)(uintptr_t)result, index);
        self->acked = s_grow (self->acked, &self->acked_cap, self->nacked + 1, sizeof *self->acked);
        self->acked[self->nacked++] = p->value;
        if (index > self->max_acked_index)
            self->max_acked_index = index;
    } else
        self->apply_errors++;
    free (p);
}

int rgsim_propose (rgsim_t *self, int id, int k)
{
    int done = 0;
    for (int i = 0; i < k; i++) {
        s_prop_t *p = malloc (sizeof *p);
        cr_assert_not_null (p);
        p->sim = self;
        p->value = self->next_value;
        if (rgroup_apply (self->m[id].g, &p->value, 8, s_acked, p)) {
            free (p);
            break;
        }
        self->next_value++;
        self->proposed++;
        done++;
    }
    s_turn_end (self, &self->m[id]);
    return done;
}

bool rgsim_converged (rgsim_t *self, void *count)
{
    size_t want = count ? *(size_t *)count : 0;
    uint64_t index = 0;
    bool first = true;
    for (int i = 1; i <= self->n; i++) {
        rgsim_member_t *m = &self->m[i];
        if (!m->up)
            continue;
        if (m->napplied < want || rgroup_applied_index (m->g) < self->max_acked_index)
            return false;
        if (!first && rgroup_applied_index (m->g) != index)
            return false;
        index = rgroup_applied_index (m->g);
        first = false;
    }
    return true;
}

void rgsim_check_acked (rgsim_t *self)
{
    //  Values are proposed in increasing order but may commit in another
    //  order (a lost leader's proposals); look each one up.
    for (int i = 1; i <= self->n; i++) {
        rgsim_member_t *m = &self->m[i];
        if (!m->up)
            continue;
        uint64_t max = self->next_value;
        uint8_t *seen = calloc (max + 1, 1);
        cr_assert_not_null (seen);
        for (size_t k = 0; k < m->napplied; k++) {
            cr_assert (m->applied[k] < max + 1);
            cr_assert_eq (seen[m->applied[k]], 0, "member %d applied %llu twice", i,
                          (unsigned long long)m->applied[k]);
            seen[m->applied[k]] = 1;
        }
        for (size_t k = 0; k < self->nacked; k++)
            cr_assert (seen[self->acked[k]], "member %d lost acked value %llu", i,
                       (unsigned long long)self->acked[k]);
        free (seen);
    }
}
