/*  node/raft/rg_propose.c - proposals (rgroup_apply), one round at a time.

    Why a window. libraft 0.15 advances a leader's commit index only when a
    majority has stored the leader's *last* stored entry (replicationQuorum
    is asked about r->last_stored, never an older index). Under a steady
    stream of proposals the leader's last entry is always ahead of its
    followers and nothing ever commits (the simulator found it: 20 ms
    delays and a proposal every 5 ms, commit index 1 forever). So the door
    holds proposals back while earlier ones are in flight: when none is,
    everything waiting goes to libraft at once (one raft_apply per
    proposal, so each keeps its own callback), the leader's log stops
    growing until that round commits, and the next round takes all that
    came meanwhile. A round costs one replication round trip and one
    synced write, whatever its size (group commit); the wait is bounded by
    RG_MAX_QUEUED proposals and RG_MAX_MESSAGE bytes (RG_EBUSY beyond).

    A new leader also proposes a barrier (an empty entry) at once, so that
    what its predecessors left uncommitted commits without waiting for the
    next proposal: Raft commits older terms' entries only through one of
    the current term (libraft 0.15 does not append one itself).

    Proposals go to libraft only when control is back in the door (after a
    receive, a tick, a completion, or from rgroup_apply at the top level),
    never from inside a libraft callback, so libraft is never re-entered.
*/
#include "node/raft/rg_int.h"

#include <stdlib.h>
#include <string.h>

#define RG_MAX_QUEUED 65536 //  proposals waiting for the window

//  A proposal: waiting in the queue, then libraft's request.
typedef struct rg_prop {
    struct raft_apply req;  //  libraft's request (first: we get it back)
    rg_apply_cb *cb;        //  the caller's callback
    void *arg;              //  its argument
    rgroup_t *group;        //  back
    struct raft_buffer buf; //  the entry (raft_malloc'ed; libraft's once applied)
    struct rg_prop *next;   //  in the queue
} rg_prop_t;

static void s_done (struct raft_apply *req, int status, void *result)
{
    rg_prop_t *p = (rg_prop_t *)req;
    p->group->inflight--;
    if (p->cb)
        p->cb (p->arg, rg_code (status), req->index, status ? NULL : result);
    free (p);
}

//  Fails P with CODE (its entry never reached libraft).
static void s_fail (rg_prop_t *p, int code)
{
    raft_free (p->buf.base);
    if (p->cb)
        p->cb (p->arg, code, 0, NULL);
    free (p);
}

void rg_propose_fail_all (rgroup_t *self, int code)
{
    rg_prop_t *p = self->queue_head;
    self->queue_head = self->queue_tail = NULL;
    self->queued = self->queued_bytes = 0;
    while (p) {
        rg_prop_t *next = p->next;
        s_fail (p, code);
        p = next;
    }
}

static void s_barrier_done (struct raft_barrier *req, int status)
{
    rgroup_t *self = req->data;
    self->barrier_busy = false;
    self->inflight--;
}

//  The first entry of a new leader's term.
static void s_barrier (rgroup_t *self)
{
    if (self->barrier_busy || self->barrier_term == self->raft.current_term || self->raft.transfer)
        return;
    self->barrier.data = self;
    if (raft_barrier (&self->raft, &self->barrier, s_barrier_done) == 0) {
        self->barrier_busy = true;
        self->barrier_term = self->raft.current_term;
        self->inflight++;
    }
}

void rg_propose_pump (rgroup_t *self)
{
    if (self->depth > 0)
        return;
    if (self->failed) {
        rg_propose_fail_all (self, RG_ECLOSED);
        return;
    }
    if (raft_state (&self->raft) == RAFT_LEADER) {
        self->depth++;
        s_barrier (self);
        self->depth--;
    }
    if (!self->queue_head || self->inflight > 0)
        return;
    if (raft_state (&self->raft) != RAFT_LEADER) {
        rg_propose_fail_all (self, RG_ENOTLEADER);
        return;
    }
    //  Take the whole queue first: a callback may propose again.
    rg_prop_t *p = self->queue_head;
    self->queue_head = self->queue_tail = NULL;
    self->queued = self->queued_bytes = 0;
    self->depth++;
    while (p) {
        rg_prop_t *next = p->next;
        int rc = raft_apply (&self->raft, &p->req, &p->buf, 1, s_done);
        if (rc)
            s_fail (p, rg_code (rc));
        else
            self->inflight++;
        p = next;
    }
    self->depth--;
}

int rgroup_apply (rgroup_t *self, const void *buf, size_t len, rg_apply_cb *cb, void *arg)
{
    if (len > RG_MAX_ENTRY_BYTES)
        return RG_EINVAL;
    if (!self->started || self->failed)
        return RG_ECLOSED;
    if (raft_state (&self->raft) != RAFT_LEADER || self->raft.transfer)
        return RG_ENOTLEADER; //  (libraft refuses during a transfer too)
    if (self->queued >= RG_MAX_QUEUED || self->queued_bytes + len > RG_MAX_MESSAGE)
        return RG_EBUSY;
    rg_prop_t *p = calloc (1, sizeof *p);
    void *base = raft_malloc (len ? len : 1);
    if (!p || !base) {
        free (p);
        raft_free (base);
        return RG_ENOMEM;
    }
    if (len)
        memcpy (base, buf, len);
    p->buf = (struct raft_buffer){base, len};
    p->cb = cb;
    p->arg = arg;
    p->group = self;
    if (self->queue_tail)
        self->queue_tail->next = p;
    else
        self->queue_head = p;
    self->queue_tail = p;
    self->queued++;
    self->queued_bytes += len;
    rg_propose_pump (self);
    return 0;
}
