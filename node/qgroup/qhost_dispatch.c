/*  node/qgroup/qhost_dispatch.c - the leader's side of consumers (qhost.h):
    the walk over ready messages, leases, and what a committed command does
    to them. All of it is leader-local and forgotten with the leadership. */
#include "node/qgroup/qhost_int.h"

#include <stdlib.h>
#include <string.h>

#include "weft.h"

/* ---------------------------------------------------------------------------
   Leases: seq -> qh_lease_t
*/

static size_t s_hash (const void *key)
{
    return (size_t)((uintptr_t)key * 0x9e3779b97f4a7c15ull);
}

static int s_cmp (const void *a, const void *b)
{
    return a == b ? 0 : ((uintptr_t)a < (uintptr_t)b ? -1 : 1);
}

zhashx_t *qh_leases_new (void)
{
    zhashx_t *table = zhashx_new ();
    if (!table)
        return NULL;
    zhashx_set_key_duplicator (table, NULL);
    zhashx_set_key_destructor (table, NULL);
    zhashx_set_key_hasher (table, s_hash);
    zhashx_set_key_comparator (table, s_cmp);
    return table;
}

qh_lease_t *qh_lease (qhost_t *self, uint64_t seq)
{
    return zhashx_lookup (self->leases, (void *)(uintptr_t)seq);
}

qh_consumer_t *qh_consumer (qhost_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->nconsumers; i++)
        if (self->consumers[i].id == id)
            return &self->consumers[i];
    return NULL;
}

void qh_lease_drop (qhost_t *self, qh_lease_t *lease)
{
    qh_consumer_t *c = lease->consumer ? qh_consumer (self, lease->consumer) : NULL;
    if (c && c->inflight)
        c->inflight--;
    if (lease->state == QL_LETTERING)
        self->lettering--;
    zhashx_delete (self->leases, (void *)(uintptr_t)lease->seq);
    free (lease);
    self->dirty = true;
}

//  A new lease of SEQ for CONSUMER in STATE; NULL when out of memory.
qh_lease_t *qh_lease_new (qhost_t *self, uint64_t seq, qh_consumer_t *c, int state)
{
    qh_lease_t *lease = calloc (1, sizeof *lease);
    if (!lease)
        return NULL;
    *lease =
        (qh_lease_t){.seq = seq, .consumer = c ? c->id : 0, .epoch = self->epoch, .state = state};
    if (zhashx_insert (self->leases, (void *)(uintptr_t)seq, lease)) {
        free (lease);
        return NULL;
    }
    if (c)
        c->inflight++;
    return lease;
}

//  Drops the leases PRED (lease, arg) selects. Collected first: no delete
//  while the table is walked.
static void s_drop_where (qhost_t *self, bool (*pred) (qhost_t *, qh_lease_t *, void *), void *arg)
{
    size_t n = zhashx_size (self->leases), k = 0;
    if (!n)
        return;
    qh_lease_t **doomed = malloc (n * sizeof *doomed);
    if (!doomed)
        return; //  tried again at the next call
    for (qh_lease_t *l = zhashx_first (self->leases); l; l = zhashx_next (self->leases))
        if (pred (self, l, arg))
            doomed[k++] = l;
    for (size_t i = 0; i < k; i++)
        qh_lease_drop (self, doomed[i]);
    free (doomed);
}

static bool s_any (qhost_t *self, qh_lease_t *l, void *arg)
{
    return true;
}

void qh_forget (qhost_t *self, int status)
{
    //  the callbacks of letters on their way, collected first: they may call in
    size_t n = self->lettering, k = 0;
    qh_lease_t *told = n ? calloc (n, sizeof *told) : NULL;
    for (qh_lease_t *l = zhashx_first (self->leases); l && told && k < n;
         l = zhashx_next (self->leases))
        if (l->state == QL_LETTERING && l->cb)
            told[k++] = *l;
    s_drop_where (self, s_any, NULL);
    self->nconsumers = 0;
    self->rr = 0;
    self->next_lease_at = self->next_due = INT64_MAX;
    for (size_t i = 0; i < k; i++)
        told[i].cb (told[i].arg, status, told[i].seq);
    free (told);
}

static bool s_lapsed (qhost_t *self, qh_lease_t *l, void *arg)
{
    int64_t now = *(int64_t *)arg;
    if (l->state != QL_OUT)
        return false;
    if (l->deadline <= now) {
        self->stats.lapsed++;
        return true;
    }
    if (l->deadline < self->next_lease_at)
        self->next_lease_at = l->deadline;
    return false;
}

void qh_expire (qhost_t *self)
{
    int64_t now = qh_now (self);
    if (now < self->next_lease_at)
        return;
    self->next_lease_at = INT64_MAX;
    s_drop_where (self, s_lapsed, &now);
}

/* ---------------------------------------------------------------------------
   Consumers
*/

int qhost_consume (qhost_t *self, uint64_t consumer, uint32_t credits)
{
    if (consumer == 0)
        return WEFT_EINVAL;
    if (!self->leading || !rgroup_is_leader (self->g))
        return QHOST_ENOTLEADER;
    qh_consumer_t *c = qh_consumer (self, consumer);
    if (!c) {
        if (self->nconsumers == self->conf.max_consumers)
            return WEFT_EAGAIN;
        c = &self->consumers[self->nconsumers++];
        *c = (qh_consumer_t){consumer, 0, 0};
    }
    c->credits = credits;
    self->dirty = true;
    return 0;
}

static bool s_held_by (qhost_t *self, qh_lease_t *l, void *arg)
{
    return l->consumer == *(uint64_t *)arg && l->state == QL_OUT;
}

int qhost_cancel (qhost_t *self, uint64_t consumer)
{
    qh_consumer_t *c = qh_consumer (self, consumer);
    if (!c)
        return self->leading ? WEFT_ENOTFOUND : QHOST_ENOTLEADER;
    s_drop_where (self, s_held_by, &consumer);
    //  Leases of its still in Raft (a DELIVERED, an ack) become nobody's, so
    //  that a consumer registering again under the same id starts clean.
    for (qh_lease_t *l = zhashx_first (self->leases); l; l = zhashx_next (self->leases))
        if (l->consumer == consumer)
            l->consumer = 0;
    *c = self->consumers[--self->nconsumers];
    self->dirty = true;
    return 0;
}

//  A consumer with room, round robin; NULL when none has.
static qh_consumer_t *s_pick (qhost_t *self)
{
    for (size_t k = 0; k < self->nconsumers; k++) {
        size_t i = (self->rr + k) % self->nconsumers;
        qh_consumer_t *c = &self->consumers[i];
        if (c->inflight < c->credits) {
            self->rr = i + 1;
            return c;
        }
    }
    return NULL;
}

static bool s_room (const qhost_t *self)
{
    for (size_t i = 0; i < self->nconsumers; i++)
        if (self->consumers[i].inflight < self->consumers[i].credits)
            return true;
    return false;
}

/* ---------------------------------------------------------------------------
   Dispatch
*/

bool qh_wants_walk (const qhost_t *self)
{
    return self->serving && self->dirty && s_room (self);
}

int64_t qh_due (const qhost_t *self)
{
    return self->serving && s_room (self) ? self->next_due : INT64_MAX;
}

//  One ready message INFO not leased: reserve it (DELIVERED logged first) or,
//  when it used its deliveries, dead-letter it. False to stop the walk.
static bool s_offer (qhost_t *self, const qfsm_info_t *info)
{
    if (info->exhausted && self->conf.letter) {
        if (self->lettering >= QHOST_LETTERS_MAX)
            return true; //  walk on: the next letters go once these are stored
        return qh_letter_send (self, NULL, info, "max_deliver", NULL, NULL) == 0;
    }
    if (info->exhausted) {
        qfsm_cmd_t cmd = {.op = QFSM_NACK, .seq = info->seq, .delay_ms = 0};
        if (!qh_lease_new (self, info->seq, NULL, QL_EXPIRING))
            return false;
        if (qh_add (self, &cmd, QH_EXPIRE, NULL, NULL)) {
            qh_lease_drop (self, qh_lease (self, info->seq));
            return false;
        }
        return true;
    }
    qh_consumer_t *c = s_pick (self);
    if (!c)
        return false;
    qfsm_cmd_t cmd = {.op = QFSM_DELIVERED, .seq = info->seq, .count = info->deliveries + 1};
    if (!qh_lease_new (self, info->seq, c, QL_RESERVED))
        return false;
    if (qh_add (self, &cmd, QH_DELIVER, NULL, NULL)) {
        qh_lease_drop (self, qh_lease (self, info->seq));
        return false;
    }
    return true;
}

void qh_dispatch (qhost_t *self)
{
    int64_t now = qh_now (self);
    if (!self->dirty && now < self->next_due)
        return;
    if (!s_room (self))
        return; //  dirty stays: walk when room comes
    self->dirty = false;
    //  qfsm's next due is relative to its state clock, which only the next
    //  entry moves: one already due by our clock is in this walk; look
    //  again after a poll interval (or when an entry applies).
    self->next_due = qfsm_next_due (self->fsm);
    if (self->next_due <= now)
        self->next_due = now + QHOST_POLL_MS;
    qfsm_iter_t it;
    qfsm_info_t info;
    for (int more = qfsm_iter_first (self->fsm, now, &it, &info); more;
         more = qfsm_iter_next (self->fsm, &it, &info)) {
        if (zhashx_size (self->leases) >= self->conf.max_inflight)
            break;
        if (qh_lease (self, info.seq))
            continue;
        if (!s_offer (self, &info))
            break;
    }
}

/* ---------------------------------------------------------------------------
   Results
*/

//  The delivery of SEQ, proposed at AT, committed (R) or failed: hand it out,
//  or free it. Leader lease: a hand-out happens only within 3/4 of the election
//  timeout of the proposal. A majority took the entry after AT and none of them
//  votes for another leader within an election timeout of hearing from this
//  one, so no other leader can have served (and seen an ack of) this message
//  meanwhile. A leader that learns of the commit later (it was paused, or the
//  answers were slow) does not hand it out: the message is ready again at the
//  next leader, or here once the lease lapses.
static void s_delivered (qhost_t *self, qh_lease_t *l, const qfsm_result_t *r, int64_t at)
{
    qh_consumer_t *c = qh_consumer (self, l->consumer);
    qfsm_info_t info;
    int64_t et = self->conf.rg.election_ms ? self->conf.rg.election_ms : 1000;
    if (r && r->status == 0 && qh_now (self) - at >= et * 3 / 4) {
        self->stats.stale++;
        l->state = QL_OUT; //  as if handed out: it lapses after an election timeout (by then
        l->deadline = qh_now (self) + et; //  any other leader is known), then it is ready again
        if (l->deadline < self->next_lease_at)
            self->next_lease_at = l->deadline;
        return;
    }
    if (!r || r->status != 0 || !c || !self->serving || qfsm_find (self->fsm, l->seq, &info)) {
        qh_lease_drop (self, l);
        return;
    }
    l->state = QL_OUT;
    l->deadline = qh_now (self) + self->conf.ack_timeout_ms;
    if (l->deadline < self->next_lease_at)
        self->next_lease_at = l->deadline;
    self->stats.delivered++;
    self->conf.deliver (self->conf.arg, c->id, &info, self->lead_term);
}

void qh_settle (qhost_t *self, const qh_prop_t *p, const qh_op_t *op, int status,
                const qfsm_result_t *r)
{
    int st = r ? r->status : status;
    if (op->kind == QH_ENQ) {
        if (r && (st == 0 || st == QFSM_DUPLICATE || st == QFSM_PARKED)) {
            self->stats.confirmed++;
            self->stats.duplicates += st == QFSM_DUPLICATE;
        } else if (st == WEFT_EFULL)
            self->stats.refused++;
        else if (!r)
            self->stats.failed++;
        op->cb (op->arg, st, r ? r->seq : 0);
        return;
    }
    qh_lease_t *l = p->epoch == self->epoch ? qh_lease (self, op->seq) : NULL;
    if (l && l->epoch != p->epoch)
        l = NULL;
    if (op->kind == QH_DELIVER) {
        if (l && l->state == QL_RESERVED)
            s_delivered (self, l, r, p->at);
        return;
    }
    if (op->kind == QH_EXPIRE) {
        if (l && l->state == QL_EXPIRING)
            qh_lease_drop (self, l);
        return;
    }
    if (op->kind == QH_LETTERED) {       //  committed or not, the lease ends (not committed,
        if (l && l->state == QL_KILLING) //  the message is ready: its letter goes again)
            qh_lease_drop (self, l);
        if (!r)
            self->stats.failed++;
        if (op->cb)
            op->cb (op->arg, st, op->seq);
        return;
    }
    //  ACK, NACK, DEAD: committed, the lease ends; failed, it stays as it was
    //  (forgotten anyway when leadership went).
    if (l && l->state == QL_SETTLING) {
        if (r)
            qh_lease_drop (self, l);
        else
            l->state = QL_OUT;
    }
    if (!r)
        self->stats.failed++;
    if (op->cb)
        op->cb (op->arg, st, op->seq);
}

//  The lease of SEQ when CONSUMER may settle it (NULL: none, delivered by an
//  earlier leader); 0, or a code (another's, not handed out yet, settling).
static int s_settleable (qhost_t *self, uint64_t consumer, uint64_t seq, qh_lease_t **l)
{
    if (!self->leading || !rgroup_is_leader (self->g))
        return QHOST_ENOTLEADER;
    *l = qh_lease (self, seq);
    if (*l && ((*l)->consumer != consumer || (*l)->state != QL_OUT))
        return WEFT_ENOTFOUND;
    return 0;
}

//  Logs a consumer's settlement CMD of its message.
static int s_settle_cmd (qhost_t *self, uint64_t consumer, qfsm_cmd_t *cmd, qh_kind_t kind,
                         qhost_done_fn *cb, void *arg)
{
    qh_lease_t *l;
    int rc = s_settleable (self, consumer, cmd->seq, &l);
    if (rc)
        return rc;
    rc = qh_add (self, cmd, kind, cb, arg);
    if (rc == 0 && l)
        l->state = QL_SETTLING;
    return rc;
}

int qhost_ack (qhost_t *self, uint64_t consumer, uint64_t seq, qhost_done_fn *cb, void *arg)
{
    qfsm_cmd_t cmd = {.op = QFSM_ACK, .seq = seq};
    return s_settle_cmd (self, consumer, &cmd, QH_ACK, cb, arg);
}

int qhost_nack (qhost_t *self, uint64_t consumer, uint64_t seq, int64_t delay_ms, qhost_done_fn *cb,
                void *arg)
{
    if (delay_ms < 0)
        return WEFT_EINVAL;
    qh_lease_t *l;
    qfsm_info_t info;
    int rc = s_settleable (self, consumer, seq, &l);
    if (rc)
        return rc;
    if (qh_letters_first (self, seq, &info) && info.exhausted)
        return qh_letter_send (self, l, &info, "max_deliver", cb, arg);
    qfsm_cmd_t cmd = {.op = QFSM_NACK, .seq = seq, .delay_ms = delay_ms};
    return s_settle_cmd (self, consumer, &cmd, QH_NACK, cb, arg);
}

int qhost_reject (qhost_t *self, uint64_t consumer, uint64_t seq, const char *reason,
                  qhost_done_fn *cb, void *arg)
{
    size_t len = reason ? strlen (reason) : 0;
    if (len > QFSM_REASON_MAX)
        return WEFT_EINVAL;
    qh_lease_t *l;
    qfsm_info_t info;
    int rc = s_settleable (self, consumer, seq, &l);
    if (rc)
        return rc;
    if (qh_letters_first (self, seq, &info))
        return qh_letter_send (self, l, &info, reason ? reason : "", cb, arg);
    qfsm_cmd_t cmd = {.op = QFSM_DEAD, .seq = seq, .reason_len = (uint8_t)len, .reason = reason};
    return s_settle_cmd (self, consumer, &cmd, QH_DEAD, cb, arg);
}
