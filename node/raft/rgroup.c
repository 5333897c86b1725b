/*  node/raft/rgroup.c - the door of the Raft room (rgroup.h): a group's
    life (new, bootstrap, start, destroy), what the host feeds it (receive,
    tick), proposals, membership, transfer, state, and the state machine
    adapter between libraft's struct raft_fsm and rg_fsm_ops_t. */
#include "node/raft/rg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rg_code (int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case RAFT_NOTLEADER:
        return RG_ENOTLEADER;
    case RAFT_LEADERSHIPLOST:
        return RG_ELOST;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED:
        return RG_ECLOSED;
    case RAFT_NOMEM:
        return RG_ENOMEM;
    case RAFT_IOERR:
    case RAFT_NOSPACE:
        return RG_EIO;
    case RAFT_CORRUPT:
        return RG_ECORRUPT;
    case RAFT_BUSY:
    case RAFT_CANTCHANGE:
        return RG_EBUSY;
    case RAFT_BADID:
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
    case RAFT_BADROLE:
    case RAFT_NOTFOUND:
    case RAFT_INVALID:
    case RAFT_TOOBIG:
        return RG_EINVAL;
    case RAFT_MALFORMED:
        return RG_EPROTO;
    case RAFT_CANTBOOTSTRAP:
        return RG_ESTATE;
    default:
        return RG_EINTERNAL;
    }
}

const char *rgroup_strerror (int code)
{
    static const char *names[] = {
        "ok",
        "not the leader",
        "leadership lost before the entry committed",
        "the group is closed",
        "out of memory",
        "store failure",
        "busy: one change at a time",
        "invalid argument",
        "malformed message",
        "wrong state for this call",
        "timed out",
        "the group's keys in the store are inconsistent",
        "internal libraft error",
    };
    if (code > 0 || -code >= (int)(sizeof names / sizeof names[0]))
        return "unknown error";
    return names[-code];
}

/* ---------------------------------------------------------------------------
   The state machine adapter (libraft's raft_fsm, version 2)
*/

static int s_fsm_apply (struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    rgroup_t *self = fsm->data;
    uint64_t index = raft_last_applied (&self->raft) + 1;
    *result = NULL;
    int rc = self->fsm_ops.apply (self->fsm_arg, index, buf->base, buf->len, result);
    return rc ? RAFT_INVALID : 0;
}

static int s_fsm_snapshot (struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    rgroup_t *self = fsm->data;
    void *data = NULL;
    size_t len = 0;
    if (self->fsm_ops.snapshot (self->fsm_arg, &data, &len))
        return RAFT_INVALID;
    *bufs = malloc (sizeof **bufs);
    if (!*bufs) {
        free (data);
        return RAFT_NOMEM;
    }
    (*bufs)[0].base = data;
    (*bufs)[0].len = len;
    *n = 1;
    return 0;
}

//  Frees what s_fsm_snapshot made, once libraft is done with it.
static int s_fsm_finalize (struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    if (*bufs) {
        for (unsigned i = 0; i < *n; i++)
            free ((*bufs)[i].base);
        free (*bufs);
    }
    *bufs = NULL;
    *n = 0;
    return 0;
}

//  On success the buffer is ours (raft.h's snapshotRestore): free it.
static int s_fsm_restore (struct raft_fsm *fsm, struct raft_buffer *buf)
{
    rgroup_t *self = fsm->data;
    if (self->fsm_ops.restore (self->fsm_arg, buf->base, buf->len))
        return RAFT_INVALID;
    raft_free (buf->base);
    return 0;
}

static void s_emit (struct raft_tracer *t, const char *file, int line, const char *msg)
{
}

/* ---------------------------------------------------------------------------
   Life
*/

static bool s_env_ok (const rg_env_t *env, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!env || !env->now_ms || !env->random || !env->send)
        why = "env: now_ms, random and send are required";
    else if (!env->store_ops || !env->store)
        why = "env: a store is required";
    else if (env->key_prefix && strlen (env->key_prefix) > RG_KEY_MAX - 20)
        why = "env: key prefix too long";
    else if (env->heartbeat_ms && env->election_ms && env->heartbeat_ms >= env->election_ms)
        why = "env: the heartbeat must be shorter than the election timeout";
    if (why && err && errlen)
        snprintf (err, errlen, "%s", why);
    return !why;
}

rgroup_t *rgroup_new (const rg_env_t *env, uint64_t group_id, uint64_t my_id,
                      const rg_fsm_ops_t *fsm, void *fsm_arg, char *err, size_t errlen)
{
    if (!s_env_ok (env, err, errlen))
        return NULL;
    if (my_id == 0 || !fsm || !fsm->apply || !fsm->snapshot || !fsm->restore) {
        snprintf (err, errlen, "a member id > 0 and every state machine operation are required");
        return NULL;
    }
    rgroup_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->env = *env;
    self->id = group_id;
    self->me = my_id;
    self->fsm_ops = *fsm;
    self->fsm_arg = fsm_arg;
    size_t plen = env->key_prefix ? strlen (env->key_prefix) : 0;
    memcpy (self->prefix, env->key_prefix, plen);
    for (int i = 7; i >= 0; i--)
        self->prefix[plen++] = (uint8_t)(group_id >> (8 * i));
    self->prefix_len = plen;
    snprintf (self->address, sizeof self->address, "%llu", (unsigned long long)my_id);
    self->fsm = (struct raft_fsm){.version = 2,
                                  .data = self,
                                  .apply = s_fsm_apply,
                                  .snapshot = s_fsm_snapshot,
                                  .restore = s_fsm_restore,
                                  .snapshot_finalize = s_fsm_finalize};
    self->next_tick = INT64_MAX;
    rg_io_init (self);
    int rc = raft_init (&self->raft, &self->io, &self->fsm, my_id, self->address);
    if (rc) {
        snprintf (err, errlen, "raft_init: %s", raft_errmsg (&self->raft));
        free (self);
        return NULL;
    }
    self->inited = true;
    self->raft.data = self;
    self->quiet = (struct raft_tracer){.impl = NULL, .enabled = false, .emit = s_emit};
    self->raft.tracer = &self->quiet;
    unsigned election = env->election_ms ? env->election_ms : 1000;
    if (env->election_ms)
        raft_set_election_timeout (&self->raft, env->election_ms);
    if (env->heartbeat_ms)
        raft_set_heartbeat_timeout (&self->raft, env->heartbeat_ms);
    raft_set_install_snapshot_timeout (&self->raft, 5 * election);
    if (env->snapshot_threshold)
        raft_set_snapshot_threshold (&self->raft, env->snapshot_threshold);
    if (env->snapshot_trailing)
        raft_set_snapshot_trailing (&self->raft, env->snapshot_trailing);
    raft_set_pre_vote (&self->raft, env->pre_vote);
    return self;
}

void rgroup_destroy (rgroup_t **self_p)
{
    rgroup_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->inited)
        raft_close (&self->raft, NULL); //  our io closes at once (rg_io.c)
    rg_propose_fail_all (self, RG_ECLOSED);
    if (self->change_busy && self->change_cb)
        self->change_cb (self->change_arg, RG_ECLOSED);
    if (self->transfer_busy && self->transfer_cb)
        self->transfer_cb (self->transfer_arg, RG_ECLOSED);
    free (self);
    *self_p = NULL;
}

int rgroup_bootstrap (rgroup_t *self, const uint64_t *ids, size_t n)
{
    if (self->started)
        return RG_ESTATE;
    if (n == 0 || n > RG_MAX_SERVERS)
        return RG_EINVAL;
    struct raft_configuration conf;
    raft_configuration_init (&conf);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char address[24];
        snprintf (address, sizeof address, "%llu", (unsigned long long)ids[i]);
        rc = raft_configuration_add (&conf, ids[i], address, RAFT_VOTER);
    }
    if (!rc)
        rc = raft_bootstrap (&self->raft, &conf);
    raft_configuration_close (&conf);
    return rg_code (rc);
}

int rgroup_start (rgroup_t *self)
{
    if (self->started || self->failed)
        return RG_ESTATE;
    int rc = raft_start (&self->raft);
    if (rc)
        return rg_code (rc);
    self->started = true;
    rg_propose_pump (self); //  a single voter leads at once: its barrier
    return 0;
}

/* ---------------------------------------------------------------------------
   Input
*/

//  The term of entry INDEX in libraft's log (raft.h's struct raft_log, a
//  circular buffer after `offset`), or 0 when not there.
static uint64_t s_term_at (const struct raft_log *l, uint64_t index)
{
    if (index == 0)
        return 0;
    if (index == l->snapshot.last_index)
        return l->snapshot.last_term;
    size_t n = l->front <= l->back ? l->back - l->front : l->size - l->front + l->back;
    if (index <= l->offset || index > l->offset + n || l->size == 0)
        return 0;
    return l->entries[(l->front + (index - l->offset - 1)) % l->size].term;
}

//  True when an AppendEntriesResult must wait: we lead, but our last stored
//  entry is of an older term. libraft 0.15 would then commit that entry by
//  counting replicas (replicationQuorum lacks the current-term check,
//  Raft's figure 8; fixed upstream in 0.17.1, 524f735). Dropping the result
//  is what a lossy network does: it comes again with the next heartbeat,
//  once our own barrier (rg_propose.c) is stored.
static bool s_hold_result (rgroup_t *self, const struct raft_message *m)
{
    if (m->type != RAFT_IO_APPEND_ENTRIES_RESULT || raft_state (&self->raft) != RAFT_LEADER)
        return false;
    uint64_t term = s_term_at (&self->raft.log, self->raft.last_stored);
    return term != 0 && term < self->raft.current_term;
}

int rgroup_receive (rgroup_t *self, uint64_t from, const void *buf, size_t len)
{
    struct raft_message m;
    if (from == 0 || rgc_decode (buf, len, &m)) {
        self->stats.rx_bad++;
        return RG_EPROTO;
    }
    if (!self->started || self->failed || s_hold_result (self, &m)) {
        rgc_message_free (&m);
        self->stats.rx_dropped++;
        return 0;
    }
    snprintf (self->peer_address, sizeof self->peer_address, "%llu", (unsigned long long)from);
    m.server_id = from;
    m.server_address = self->peer_address;
    self->stats.rx++;
    //  While libraft answers an AppendEntries at once (entries it already
    //  had), its answer may claim no more than that message proves (rg_io.c).
    if (m.type == RAFT_IO_APPEND_ENTRIES)
        self->answer_cap = m.append_entries.prev_log_index + m.append_entries.n_entries;
    self->depth++;
    self->recv_cb (&self->io, &m); //  libraft owns the message's memory now
    self->depth--;
    self->answer_cap = 0;
    rg_propose_pump (self);
    return 0;
}

void rgroup_tick (rgroup_t *self)
{
    if (!self->started || self->failed)
        return;
    int64_t now = self->env.now_ms (self->env.arg);
    if (now < self->next_tick)
        return;
    self->next_tick = now + self->tick_ms;
    self->depth++;
    self->tick_cb (&self->io);
    self->depth--;
    rg_propose_pump (self);
}

int64_t rgroup_deadline (const rgroup_t *self)
{
    return self->started && !self->failed ? self->next_tick : INT64_MAX;
}

/* ---------------------------------------------------------------------------
   Membership, transfer (proposals: rg_propose.c)
*/

static void s_change_done (struct raft_change *req, int status)
{
    rgroup_t *self = req->data;
    self->change_busy = false;
    if (self->change_cb)
        self->change_cb (self->change_arg, rg_code (status));
}

//  Starts membership change KIND ('a' add, 'r' role, 'd' remove).
static int s_change (rgroup_t *self, char kind, uint64_t id, int role, rg_done_cb *cb, void *arg)
{
    if (!self->started || self->failed)
        return RG_ECLOSED;
    if (self->change_busy)
        return RG_EBUSY;
    self->change.data = self;
    char address[24];
    snprintf (address, sizeof address, "%llu", (unsigned long long)id);
    int rc = kind == 'a'   ? raft_add (&self->raft, &self->change, id, address, s_change_done)
             : kind == 'r' ? raft_assign (&self->raft, &self->change, id, role, s_change_done)
                           : raft_remove (&self->raft, &self->change, id, s_change_done);
    if (rc)
        return rg_code (rc);
    self->change_busy = true;
    self->change_cb = cb;
    self->change_arg = arg;
    return 0;
}

int rgroup_add (rgroup_t *self, uint64_t id, rg_done_cb *cb, void *arg)
{
    return s_change (self, 'a', id, 0, cb, arg);
}

int rgroup_assign (rgroup_t *self, uint64_t id, int role, rg_done_cb *cb, void *arg)
{
    if (role != RG_ROLE_STANDBY && role != RG_ROLE_VOTER && role != RG_ROLE_SPARE)
        return RG_EINVAL;
    return s_change (self, 'r', id, role, cb, arg);
}

int rgroup_remove (rgroup_t *self, uint64_t id, rg_done_cb *cb, void *arg)
{
    return s_change (self, 'd', id, 0, cb, arg);
}

static void s_transfer_done (struct raft_transfer *req)
{
    rgroup_t *self = req->data;
    self->transfer_busy = false;
    uint64_t leader = 0;
    bool known = rgroup_leader (self, &leader);
    bool ok = known && (self->transfer_to ? leader == self->transfer_to : leader != self->me);
    if (self->transfer_cb)
        self->transfer_cb (self->transfer_arg, ok ? 0 : RG_ETIMEDOUT);
}

int rgroup_transfer (rgroup_t *self, uint64_t id, rg_done_cb *cb, void *arg)
{
    if (!self->started || self->failed)
        return RG_ECLOSED;
    if (self->transfer_busy)
        return RG_EBUSY;
    self->transfer.data = self;
    int rc = raft_transfer (&self->raft, &self->transfer, id, s_transfer_done);
    if (rc)
        return rg_code (rc);
    self->transfer_busy = true;
    self->transfer_cb = cb;
    self->transfer_arg = arg;
    self->transfer_to = id;
    return 0;
}

/* ---------------------------------------------------------------------------
   State
*/

bool rgroup_is_leader (const rgroup_t *self)
{
    return self->started && raft_state ((struct raft *)&self->raft) == RAFT_LEADER;
}

bool rgroup_leader (const rgroup_t *self, uint64_t *id)
{
    raft_id leader = 0;
    const char *address = NULL;
    if (self->started)
        raft_leader ((struct raft *)&self->raft, &leader, &address);
    *id = leader;
    return leader != 0;
}

uint64_t rgroup_term (const rgroup_t *self)
{
    return self->raft.current_term;
}

uint64_t rgroup_commit_index (const rgroup_t *self)
{
    return self->raft.commit_index;
}

uint64_t rgroup_applied_index (const rgroup_t *self)
{
    return self->raft.last_applied;
}

uint64_t rgroup_last_index (const rgroup_t *self)
{
    return raft_last_index ((struct raft *)&self->raft);
}

bool rgroup_failed (const rgroup_t *self)
{
    return self->failed ||
           (self->started && raft_state ((struct raft *)&self->raft) == RAFT_UNAVAILABLE);
}

int rgroup_role (const rgroup_t *self, uint64_t id)
{
    const struct raft_configuration *c = &self->raft.configuration;
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return c->servers[i].role;
    return -1;
}

size_t rgroup_servers (const rgroup_t *self, rg_server_t *out, size_t max)
{
    const struct raft *r = &self->raft;
    const struct raft_configuration *c = &r->configuration;
    bool leader = r->state == RAFT_LEADER && r->leader_state.progress;
    for (unsigned i = 0; i < c->n && i < max; i++)
        out[i] = (rg_server_t){.id = c->servers[i].id,
                               .role = c->servers[i].role,
                               .match = leader ? r->leader_state.progress[i].match_index : 0,
                               .recent = leader && (c->servers[i].id == r->id ||
                                                    r->leader_state.progress[i].recent_recv)};
    return c->n;
}

bool rgroup_changing (const rgroup_t *self)
{
    const struct raft *r = &self->raft;
    if (r->configuration_uncommitted_index != 0)
        return true;
    return r->state == RAFT_LEADER && (r->leader_state.change || r->leader_state.promotee_id);
}

const rg_stats_t *rgroup_stats (const rgroup_t *self)
{
    return &self->stats;
}

const char *rgroup_errmsg (const rgroup_t *self)
{
    return raft_errmsg ((struct raft *)&self->raft);
}
