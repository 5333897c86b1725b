/*  node/raft/rg_io.c - libraft's struct raft_io over the host's environment.

    Synchronous: load, bootstrap, set_term and set_vote (written and synced
    before they return, as raft.h requires), time (env.now_ms), random
    (env.random). Sends are encoded (rg_codec.c) and handed to env.send at
    once; their callbacks only release libraft's references and fire at
    the next completion. Append, truncate, snapshot_put and snapshot_get
    queue a request, in submission order: rgroup_stage () turns the queued
    writes into puts and deletes of the host's batch (rg_store.c), and
    rgroup_committed () fires the callbacks of what was staged, in order,
    once the host says the batch is durable. So libraft never hears that an
    entry is stored before it is. Indexes: libraft's append does not say
    where its entries go, so the io keeps the next index (from the load,
    moved back by truncate, set past an installed snapshot).

    A failed write freezes the group (rgroup_failed): nothing more goes
    in or out until the host destroys it and starts it again from its disk.
    Two guards make up for safety fixes libraft got after 0.15: a
    follower's answer to entries it stored across a term change is not sent
    (s_send), and a new leader holds AppendEntries results until its own
    first entry is stored (rgroup.c, s_hold_result).
    Close fires every queued callback with RAFT_CANCELED and writes
    nothing (a crash keeps what was committed, no more): libraft requires
    every reference to its entries released before its close callback.
*/
#include "node/raft/rg_int.h"

#include <stdio.h>
#include <stdlib.h>

static rgroup_t *s_group (struct raft_io *io)
{
    return io->impl;
}

//  A code of ours as libraft's.
static int s_raft_code (int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case RG_ENOMEM:
        return RAFT_NOMEM;
    case RG_ECORRUPT:
        return RAFT_CORRUPT;
    default:
        return RAFT_IOERR;
    }
}

//  Queues a request; NULL when out of memory.
static rg_op_t *s_push (rgroup_t *self, rg_op_kind_t kind)
{
    rg_op_t *op = calloc (1, sizeof *op);
    if (!op)
        return NULL;
    op->kind = kind;
    if (self->tail)
        self->tail->next = op;
    else
        self->head = op;
    self->tail = op;
    return op;
}

static int s_init (struct raft_io *io, raft_id id, const char *address)
{
    return 0;
}

static void s_close (struct raft_io *io, raft_io_close_cb cb)
{
    rg_io_cancel_all (s_group (io));
    if (cb)
        cb (io);
}

static int s_load (struct raft_io *io, raft_term *term, raft_id *vote,
                   struct raft_snapshot **snapshot, raft_index *start, struct raft_entry *entries[],
                   size_t *n)
{
    rgroup_t *self = s_group (io);
    int rc = rgs_load (self, term, vote, snapshot, start, entries, n);
    if (rc)
        snprintf (io->errmsg, sizeof io->errmsg, "load: %s", rgroup_strerror (rc));
    self->meta_term = *term;
    return s_raft_code (rc);
}

static int s_start (struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv)
{
    rgroup_t *self = s_group (io);
    self->tick_cb = tick;
    self->recv_cb = recv;
    self->tick_ms = msecs ? msecs : 1;
    self->next_tick = self->env.now_ms (self->env.arg) + self->tick_ms;
    return 0;
}

static int s_bootstrap (struct raft_io *io, const struct raft_configuration *conf)
{
    rgroup_t *self = s_group (io);
    if (!rgs_pristine (self))
        return RAFT_CANTBOOTSTRAP;
    return s_raft_code (rgs_bootstrap (self, conf));
}

static int s_recover (struct raft_io *io, const struct raft_configuration *conf)
{
    snprintf (io->errmsg, sizeof io->errmsg, "recover is not supported");
    return RAFT_IOERR;
}

static int s_set_term (struct raft_io *io, raft_term term)
{
    rgroup_t *self = s_group (io);
    int rc = rgs_write_meta (self, term, 0);
    if (!rc)
        self->meta_term = term;
    return s_raft_code (rc);
}

static int s_set_vote (struct raft_io *io, raft_id id)
{
    rgroup_t *self = s_group (io);
    return s_raft_code (rgs_write_meta (self, self->meta_term, id));
}

static int s_send (struct raft_io *io, struct raft_io_send *req, const struct raft_message *m,
                   raft_io_send_cb cb)
{
    rgroup_t *self = s_group (io);
    rg_op_t *op = s_push (self, RG_OP_SEND);
    if (!op)
        return RAFT_NOMEM;
    req->cb = cb;
    op->staged = true;
    op->send.req = req;
    //  A follower's answer to entries received in an older term: libraft
    //  0.15 sends it to whoever leads now, who would count entries of
    //  another leader as its own (fixed upstream in 0.17.1, 35479fc).
    if (m->type == RAFT_IO_APPEND_ENTRIES_RESULT && self->appending_term &&
        m->append_entries_result.term != self->appending_term) {
        self->stats.tx_suppressed++;
        return 0;
    }
    uint8_t *buf;
    size_t len;
    bool clipped;
    int rc = rgc_encode (m, &buf, &len, &clipped);
    if (!rc) {
        rc = self->env.send (self->env.arg, self->id, m->server_id, buf, len) ? RG_EIO : 0;
        free (buf);
    }
    self->stats.tx_clipped += clipped;
    if (rc)
        self->stats.tx_failed++;
    else
        self->stats.tx++;
    op->send.status = rc ? RAFT_NOCONNECTION : 0;
    return 0;
}

static int s_append (struct raft_io *io, struct raft_io_append *req,
                     const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    rgroup_t *self = s_group (io);
    rg_op_t *op = s_push (self, RG_OP_APPEND);
    if (!op)
        return RAFT_NOMEM;
    req->cb = cb;
    op->append.req = req;
    op->append.entries = entries;
    op->append.n = n;
    op->append.first = self->next_index;
    op->append.term = self->raft.current_term;
    self->next_index += n;
    return 0;
}

static int s_truncate (struct raft_io *io, raft_index index)
{
    rgroup_t *self = s_group (io);
    rg_op_t *op = s_push (self, RG_OP_TRUNCATE);
    if (!op)
        return RAFT_NOMEM;
    op->truncate = index;
    self->next_index = index;
    return 0;
}

static int s_snapshot_put (struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                           const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    rgroup_t *self = s_group (io);
    rg_op_t *op = s_push (self, RG_OP_PUT);
    if (!op)
        return RAFT_NOMEM;
    req->cb = cb;
    op->put.req = req;
    op->put.snap = snapshot;
    op->put.trailing = trailing;
    if (trailing == 0)
        self->next_index = snapshot->index + 1;
    return 0;
}

static int s_snapshot_get (struct raft_io *io, struct raft_io_snapshot_get *req,
                           raft_io_snapshot_get_cb cb)
{
    rgroup_t *self = s_group (io);
    rg_op_t *op = s_push (self, RG_OP_GET);
    if (!op)
        return RAFT_NOMEM;
    req->cb = cb;
    op->get = req;
    return 0;
}

static raft_time s_time (struct raft_io *io)
{
    rgroup_t *self = s_group (io);
    int64_t now = self->env.now_ms (self->env.arg);
    return now > 0 ? (raft_time)now : 0;
}

static int s_random (struct raft_io *io, int min, int max)
{
    rgroup_t *self = s_group (io);
    if (max <= min)
        return min;
    uint64_t span = (uint64_t)max - (uint64_t)min;
    return min + (int)(self->env.random (self->env.arg) % span);
}

void rg_io_init (rgroup_t *self)
{
    struct raft_io *io = &self->io;
    io->version = 1;
    io->impl = self;
    io->init = s_init;
    io->close = s_close;
    io->load = s_load;
    io->start = s_start;
    io->bootstrap = s_bootstrap;
    io->recover = s_recover;
    io->set_term = s_set_term;
    io->set_vote = s_set_vote;
    io->send = s_send;
    io->append = s_append;
    io->truncate = s_truncate;
    io->snapshot_put = s_snapshot_put;
    io->snapshot_get = s_snapshot_get;
    io->time = s_time;
    io->random = s_random;
}

/* ---------------------------------------------------------------------------
   Stage and complete
*/

//  Fires the callback of OP with STATUS (a libraft code) and frees it.
static void s_complete (rgroup_t *self, rg_op_t *op, int status)
{
    switch (op->kind) {
    case RG_OP_APPEND:
        self->appending_term = op->append.term;
        if (op->append.req->cb)
            op->append.req->cb (op->append.req, status);
        self->appending_term = 0;
        break;
    case RG_OP_PUT:
        if (!status)
            self->stats.snapshots++;
        if (op->put.req->cb)
            op->put.req->cb (op->put.req, status);
        break;
    case RG_OP_GET: {
        struct raft_snapshot *snap = NULL;
        int rc = status ? status : s_raft_code (rgs_read_snapshot (self, &snap));
        if (!rc && !snap)
            rc = RAFT_NOTFOUND;
        op->get->cb (op->get, rc ? NULL : snap, rc);
        break;
    }
    case RG_OP_SEND:
        if (op->send.req->cb)
            op->send.req->cb (op->send.req, status ? status : op->send.status);
        break;
    case RG_OP_TRUNCATE:
        break;
    }
    free (op);
}

//  Pops the head when staged (or when ALL); NULL if none.
static rg_op_t *s_pop (rgroup_t *self, bool all)
{
    rg_op_t *op = self->head;
    if (!op || (!all && !op->staged))
        return NULL;
    self->head = op->next;
    if (!self->head)
        self->tail = NULL;
    return op;
}

//  Takes the sends out of the queue, in order; NULL if none.
static rg_op_t *s_take_sends (rgroup_t *self)
{
    rg_op_t *sends = NULL, **tail = &sends, **at = &self->head, *op;
    self->tail = NULL;
    while ((op = *at)) {
        if (op->kind == RG_OP_SEND) {
            *at = op->next;
            op->next = NULL;
            *tail = op;
            tail = &op->next;
        } else {
            self->tail = op;
            at = &op->next;
        }
    }
    return sends;
}

//  Reverses the queue.
static void s_reverse (rgroup_t *self)
{
    rg_op_t *prev = NULL, *op = self->head;
    self->tail = op;
    while (op) {
        rg_op_t *next = op->next;
        op->next = prev;
        prev = op;
        op = next;
    }
    self->head = prev;
}

void rg_io_cancel_all (rgroup_t *self)
{
    //  Sends first, then the rest newest first. A cancelled append of the
    //  leader takes its entries, and all after them, out of libraft's log;
    //  libraft 0.15 crashes when a reference to an entry is released after
    //  that (a send's, or an older append's). Callbacks may queue more.
    rg_op_t *sends = s_take_sends (self);
    while (sends) {
        rg_op_t *next = sends->next;
        s_complete (self, sends, RAFT_CANCELED);
        sends = next;
    }
    s_reverse (self);
    for (int i = 0; i < 1000000; i++) {
        rg_op_t *op = s_take_sends (self);
        if (op) {
            while (op) {
                rg_op_t *next = op->next;
                s_complete (self, op, RAFT_CANCELED);
                op = next;
            }
            continue;
        }
        if (!(op = s_pop (self, true)))
            break;
        s_complete (self, op, RAFT_CANCELED);
    }
}

bool rgroup_pending (const rgroup_t *self)
{
    return self->head != NULL;
}

int rgroup_stage (rgroup_t *self, store_batch_t *b)
{
    if (self->failed)
        return RG_ECLOSED;
    int rc = 0;
    for (rg_op_t *op = self->head; op && !rc; op = op->next) {
        if (op->staged)
            continue;
        if (op->kind == RG_OP_APPEND)
            rgs_stage_append (self, b, op);
        else if (op->kind == RG_OP_TRUNCATE)
            rgs_stage_truncate (self, b, op->truncate);
        else if (op->kind == RG_OP_PUT)
            rc = rgs_stage_put (self, b, op);
        op->staged = true;
    }
    if (!rc && self->failed)
        rc = RG_ENOMEM;
    if (rc)
        self->failed = true;
    return rc;
}

void rgroup_committed (rgroup_t *self, int status)
{
    //  A failed write is never reported to libraft while it runs (0.15
    //  crashes on a leader's failed append): the group freezes, and its
    //  destruction cancels what was waiting, as a crash would.
    if (status)
        self->failed = true;
    if (self->failed)
        return;
    //  Bounded: callbacks may queue more (sends), at most a few per op.
    self->depth++;
    for (int i = 0; i < 1000000; i++) {
        rg_op_t *op = s_pop (self, false);
        if (!op)
            break;
        s_complete (self, op, 0);
    }
    self->depth--;
    rg_propose_pump (self);
}

int rgroup_flush (rgroup_t *self)
{
    bool writes = false;
    for (rg_op_t *op = self->head; op; op = op->next)
        writes |= !op->staged;
    if (!writes) {
        rgroup_committed (self, 0); //  only sends to release
        return self->failed ? RG_ECLOSED : 0;
    }
    store_batch_t *b = self->env.store_ops->batch_new ();
    if (!b)
        return RG_ENOMEM;
    int rc = rgroup_stage (self, b);
    if (!rc) {
        store_err_t err;
        rc = self->env.store_ops->write (self->env.store, b, true, &err) ? RG_EIO : 0;
        self->stats.writes++;
    }
    self->env.store_ops->batch_destroy (&b);
    rgroup_committed (self, rc);
    return rc;
}
