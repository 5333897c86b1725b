/*  node/qgroup/qhost.c - one queue's Raft group on one member (qhost.h): the
    group and its state machine, leadership, the turn's entry and the routing
    of each command's result back to its caller. Dispatch and leases are in
    qhost_dispatch.c. */
#include "node/qgroup/qhost_int.h"

#include <stdlib.h>
#include <string.h>

#include "weft.h"

int64_t qh_now (qhost_t *self)
{
    return self->conf.rg.now_ms (self->conf.rg.arg);
}

/* ---------------------------------------------------------------------------
   The state machine: qfsm behind rg_fsm_ops_t
*/

static int s_apply (void *arg, uint64_t index, const void *buf, size_t len, void **result)
{
    qhost_t *self = arg;
    *result = NULL;
    if (len == 0)
        return 0; //  not ours (an empty entry changes nothing)
    qfsm_out_reset (self->out);
    int rc = qfsm_apply (self->fsm, buf, len, self->out);
    if (rc)
        return rc; //  the group stops: the state is no longer its peers'
    self->out_index = index;
    *result = self->out;
    self->dirty = true;
    //  with a letter callback, each letter went first and is stored (its DEAD
    //  is logged only then, qhost_lettered): here they are only counted
    self->stats.letters += qfsm_out_letters (self->out);
    return 0;
}

static int s_snapshot (void *arg, void **buf, size_t *len)
{
    qhost_t *self = arg;
    return qfsm_snapshot (self->fsm, buf, len) ? -1 : 0;
}

static int s_restore (void *arg, const void *buf, size_t len)
{
    qhost_t *self = arg;
    qfsm_t *fsm = NULL;
    if (qfsm_restore (buf, len, &fsm))
        return -1;
    qfsm_destroy (&self->fsm);
    self->fsm = fsm;
    self->dirty = true;
    return 0;
}

static const rg_fsm_ops_t s_fsm_ops = {s_apply, s_snapshot, s_restore};

/* ---------------------------------------------------------------------------
   Entries
*/

//  A room's code as a command's status.
static int s_status (int rg)
{
    switch (rg) {
    case RG_ENOTLEADER:
        return QHOST_ENOTLEADER;
    case RG_ECLOSED:
        return WEFT_ECLOSED;
    case RG_EBUSY:
        return WEFT_EAGAIN;
    case RG_ENOMEM:
        return WEFT_ENOMEM;
    case RG_EINVAL:
        return WEFT_EMSGSIZE;
    default:
        return QHOST_EUNKNOWN; //  RG_ELOST and anything after the entry went in
    }
}

//  Fails (or settles) every op of P, then frees it.
static void s_finish (qhost_t *self, qh_prop_t *p, int status, const qfsm_out_t *out)
{
    for (size_t i = 0; i < p->n; i++)
        qh_settle (self, p, &p->ops[i], status, out ? qfsm_out_result (out, i) : NULL);
    self->npending -= p->user;
    free (p->ops);
    free (p);
}

//  The apply callback of an entry of ours.
static void s_done (void *arg, int status, uint64_t index, void *result)
{
    qh_prop_t *p = arg;
    qhost_t *self = p->host;
    const qfsm_out_t *out = NULL;
    if (status == 0) {
        //  The room calls back right after applying the entry: its results
        //  are the last apply's. Anything else: we cannot tell, say unknown.
        if (result == self->out && self->out_index == index && qfsm_out_results (self->out) == p->n)
            out = self->out;
        else
            status = RG_ELOST;
    }
    s_finish (self, p, out ? 0 : s_status (status), out);
}

//  Proposes the turn's entry, if any.
static void s_propose (qhost_t *self)
{
    qh_prop_t *p = self->open;
    qfsm_batch_t *batch = self->batch;
    self->open = NULL;
    self->batch = NULL;
    if (!p)
        return;
    size_t size;
    const void *data = qfsm_batch_data (batch, &size);
    int rc = p->n ? rgroup_apply (self->g, data, size, s_done, p) : RG_EINVAL;
    qfsm_batch_destroy (&batch);
    if (rc)
        s_finish (self, p, s_status (rc), NULL);
}

int qh_add (qhost_t *self, const qfsm_cmd_t *cmd, qh_kind_t kind, qhost_done_fn *cb, void *arg)
{
    bool user = kind != QH_DELIVER && kind != QH_EXPIRE && kind != QH_LETTERED;
    if (user && self->npending >= self->conf.max_pending)
        return WEFT_EAGAIN;
    if (!self->open) {
        self->open = calloc (1, sizeof *self->open);
        self->batch = qfsm_batch_new (qh_now (self));
        if (!self->open || !self->batch) {
            free (self->open);
            self->open = NULL;
            qfsm_batch_destroy (&self->batch);
            return WEFT_ENOMEM;
        }
        self->open->host = self;
        self->open->epoch = self->epoch;
        self->open->at = qh_now (self);
    }
    qh_prop_t *p = self->open;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        qh_op_t *ops = realloc (p->ops, cap * sizeof *ops);
        if (!ops)
            return WEFT_ENOMEM;
        p->ops = ops;
        p->cap = cap;
    }
    int rc = qfsm_batch_add (self->batch, cmd);
    if (rc)
        return rc;
    p->ops[p->n++] = (qh_op_t){kind, cb, arg, cmd->seq};
    if (user) {
        p->user++;
        self->npending++;
    }
    size_t size;
    qfsm_batch_data (self->batch, &size);
    if (size >= QHOST_BATCH_BYTES)
        s_propose (self);
    return 0;
}

/* ---------------------------------------------------------------------------
   Leadership
*/

//  Leadership lost (or a new term): stop serving, fail the turn's commands.
static void s_depose (qhost_t *self)
{
    self->leading = self->serving = false;
    self->epoch++;
    qh_prop_t *p = self->open;
    self->open = NULL;
    qfsm_batch_destroy (&self->batch);
    if (p)
        s_finish (self, p, QHOST_ENOTLEADER, NULL);
    qh_forget (self, QHOST_ENOTLEADER);
}

//  Follows what the room says about leadership.
static void s_role (qhost_t *self)
{
    bool lead = rgroup_is_leader (self->g) && !rgroup_failed (self->g);
    uint64_t term = rgroup_term (self->g);
    if (self->leading && (!lead || term != self->lead_term))
        s_depose (self);
    if (lead && !self->leading) {
        self->leading = true;
        self->lead_term = term;
        self->ready_index = rgroup_last_index (self->g);
        self->epoch++;
    }
    if (self->leading && !self->serving && rgroup_applied_index (self->g) >= self->ready_index) {
        self->serving = true;
        self->dirty = true;
        self->stats.terms_led++;
    }
}

/* ---------------------------------------------------------------------------
   The door
*/

qhost_t *qhost_new (const qhost_conf_t *conf, uint64_t group, uint64_t my_id, char *err,
                    size_t errlen)
{
    if (!conf || !conf->deliver) {
        snprintf (err, errlen, "qhost: a deliver callback is required");
        return NULL;
    }
    qhost_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "qhost: out of memory");
        return NULL;
    }
    self->conf = *conf;
    if (self->conf.ack_timeout_ms <= 0)
        self->conf.ack_timeout_ms = QHOST_DEFAULT_ACK_TIMEOUT_MS;
    if (!self->conf.max_pending)
        self->conf.max_pending = QHOST_DEFAULT_MAX_PENDING;
    if (!self->conf.max_inflight)
        self->conf.max_inflight = QHOST_DEFAULT_MAX_INFLIGHT;
    if (!self->conf.max_consumers)
        self->conf.max_consumers = QHOST_DEFAULT_MAX_CONSUMERS;
    self->fsm = qfsm_new (&conf->config);
    self->out = qfsm_out_new ();
    self->leases = qh_leases_new ();
    self->consumers = calloc (self->conf.max_consumers, sizeof *self->consumers);
    self->next_lease_at = self->next_due = INT64_MAX;
    if (!self->fsm || !self->out || !self->leases || !self->consumers) {
        snprintf (err, errlen, "qhost: out of memory or invalid queue configuration");
        qhost_destroy (&self);
        return NULL;
    }
    self->g = rgroup_new (&conf->rg, group, my_id, &s_fsm_ops, self, err, errlen);
    if (!self->g) {
        qhost_destroy (&self);
        return NULL;
    }
    return self;
}

void qhost_destroy (qhost_t **self_p)
{
    qhost_t *self = *self_p;
    if (!self)
        return;
    if (self->leading)
        s_depose (self);
    else if (self->open) {
        qh_prop_t *p = self->open;
        self->open = NULL;
        s_finish (self, p, WEFT_ECLOSED, NULL);
    }
    qfsm_batch_destroy (&self->batch);
    rgroup_destroy (&self->g); //  fires the entries in flight: RG_ECLOSED
    qh_forget (self, WEFT_ECLOSED);
    zhashx_destroy (&self->leases);
    free (self->consumers);
    qfsm_out_destroy (&self->out);
    qfsm_destroy (&self->fsm);
    free (self);
    *self_p = NULL;
}

int qhost_bootstrap (qhost_t *self, const uint64_t *ids, size_t n)
{
    return rgroup_bootstrap (self->g, ids, n);
}

int qhost_start (qhost_t *self)
{
    return rgroup_start (self->g);
}

rgroup_t *qhost_group (qhost_t *self)
{
    return self->g;
}

const qfsm_t *qhost_fsm (const qhost_t *self)
{
    return self->fsm;
}

int qhost_receive (qhost_t *self, uint64_t from, const void *buf, size_t len)
{
    int rc = rgroup_receive (self->g, from, buf, len);
    s_role (self);
    return rc;
}

void qhost_tick (qhost_t *self)
{
    rgroup_tick (self->g);
    s_role (self);
    if (self->serving)
        qh_expire (self);
}

int64_t qhost_deadline (const qhost_t *self)
{
    int64_t at = rgroup_deadline (self->g);
    if (self->serving && zhashx_size (self->leases) && self->next_lease_at < at)
        at = self->next_lease_at;
    if (qh_due (self) < at)
        at = qh_due (self);
    if (qh_wants_walk (self)) //  applied entries freed or added messages: now
        at = self->conf.rg.now_ms (self->conf.rg.arg);
    return at;
}

void qhost_before_commit (qhost_t *self)
{
    s_role (self);
    if (self->serving) {
        qh_expire (self);
        qh_dispatch (self);
    }
    if (self->leading)
        s_propose (self);
    s_role (self);
}

bool qhost_serving (const qhost_t *self, uint64_t *term)
{
    if (term)
        *term = self->lead_term;
    return self->serving;
}

uint64_t qhost_epoch (const qhost_t *self)
{
    return self->epoch;
}

bool qhost_leader (const qhost_t *self, uint64_t *id)
{
    return rgroup_leader (self->g, id);
}

int qhost_enqueue (qhost_t *self, const qhost_msg_t *msg, uint64_t token, qhost_done_fn *cb,
                   void *arg)
{
    if (!msg || !cb)
        return WEFT_EINVAL;
    //  (No s_role here: a callback may call us from inside s_depose.)
    if (!self->leading || !rgroup_is_leader (self->g))
        return QHOST_ENOTLEADER;
    size_t id_len = msg->id ? strlen (msg->id) : 0;
    if (id_len > QFSM_ID_MAX || msg->headers_len > QFSM_HEADERS_MAX ||
        msg->body_len > QFSM_BODY_MAX)
        return WEFT_EINVAL;
    qfsm_cmd_t cmd = {.op = QFSM_ENQUEUE,
                      .priority = msg->priority,
                      .id_len = (uint8_t)id_len,
                      .headers_len = (uint32_t)msg->headers_len,
                      .body_len = (uint32_t)msg->body_len,
                      .not_before_ms = msg->not_before_ms,
                      .token = token,
                      .id = msg->id,
                      .headers = msg->headers,
                      .body = msg->body};
    return qh_add (self, &cmd, QH_ENQ, cb, arg);
}

size_t qhost_inflight (const qhost_t *self)
{
    return zhashx_size (self->leases);
}

const qhost_stats_t *qhost_stats (const qhost_t *self)
{
    return &self->stats;
}

const char *qhost_strerror (int status)
{
    switch (status) {
    case QHOST_ENOTLEADER:
        return "not the queue group's leader";
    case QHOST_EUNKNOWN:
        return "leadership lost in flight: outcome unknown, resend";
    case QFSM_DUPLICATE:
        return "duplicate";
    case QFSM_PARKED:
        return "parked";
    case QFSM_DEADLETTERED:
        return "dead-lettered";
    default:
        return weft_strerror (status);
    }
}
