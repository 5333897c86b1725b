/*  node/queues/queue_raft_place.c - queues on Raft: where a queue's group
    should live and how it gets there (node/qgroup/qplan.h, one change at a
    time, at every tick of its leader), and the moves of messages out of a
    group (a superseded group draining into the lower one; a redrive).
*/
#include "node/queues/queue.h"

#include <inttypes.h>

#include "node/qgroup/qplan.h"

bool qraft_superseded (node_t *self, const rgq_t *g)
{
    struct queues *qs = queues_of (self);
    const rknown_t *k = zhashx_lookup (qs->known, g->name);
    const rgq_t *first = zhashx_lookup (qs->groups, g->name);
    return (k && k->id && k->id < g->id) || (first && first->id < g->id);
}

//  A transfer out of group GROUP (message SEQ) is confirmed: a dead letter
//  is stored (the group logs its DEAD), or a drained message arrived (the
//  mover acks it).
void qraft_moved (node_t *self, uint64_t group, uint64_t seq)
{
    rgq_t *g = qraft_group_by_id (self, group);
    if (!g || !qhost_serving (g->host, NULL))
        return; //  gone, or no longer led here: its next leader sends it again
    if (qhost_lettered (g->host, seq) != 0)
        qhost_ack (g->host, QRAFT_DRAIN, seq, NULL, NULL);
}

//  Leader of G, a superseded group (two foundings of one queue): its
//  messages move to the group that serves, as a producer's would (their ids
//  kept, so a move repeated by a later leader is a duplicate there), each
//  acked here once the other group confirmed it.
void qraft_drain (node_t *self, rgq_t *g)
{
    if (g->draining || !qhost_serving (g->host, NULL) || !qraft_superseded (self, g))
        return;
    if (qhost_consume (g->host, QRAFT_DRAIN, QRAFT_DRAIN_CREDITS) == 0) {
        g->draining = true;
        snprintf (g->move_to, sizeof g->move_to, "%s", g->name);
        g->move_left = UINT64_MAX;
        wlog_warn (&self->log,
                   "queue %s: group %016" PRIx64 " is superseded by a lower one: "
                   "moving its messages there",
                   g->name, g->id);
    }
}

//  The R the group of QUEUE should have now: queues.replicas once that many
//  members live, else 1 - but never fewer than the voters it has (up to
//  queues.replicas): a member that went keeps its vote until replaced.
static size_t replicas_for (node_t *self, rgq_t *g)
{
    struct queues *qs = queues_of (self);
    size_t live = ring_size (qs->ring), r = live >= qs->replicas ? qs->replicas : 1;
    if (g) {
        rg_server_t servers[QPLAN_MEMBERS_MAX];
        size_t n = rgroup_servers (qhost_group (g->host), servers, QPLAN_MEMBERS_MAX), voters = 0;
        for (size_t i = 0; i < n && i < QPLAN_MEMBERS_MAX; i++)
            voters += servers[i].role == RG_ROLE_VOTER;
        if (voters > qs->replicas)
            voters = qs->replicas;
        if (voters > r)
            r = voters % 2 ? voters : voters - 1;
    }
    return r;
}

size_t qraft_wanted (node_t *self, const char *queue, const char **out, size_t max)
{
    size_t r = replicas_for (self, qraft_group (self, queue));
    return ring_replicas (queues_of (self)->ring, queue, r < max ? r : max, out);
}

static void change_done (void *arg, int status)
{
    rgq_t *g = arg;
    g->changing = false;
    if (status)
        wlog_debug (&g->node->log, "queue %s: membership change: %s", g->name,
                    rgroup_strerror (status));
}

//  Leader of G: the next step of G's placement, if any.
void qraft_plan (node_t *self, rgq_t *g)
{
    rgroup_t *rg = qhost_group (g->host);
    uint64_t term = 0;
    if (g->changing || !qhost_serving (g->host, &term) || rgroup_changing (rg))
        return;
    rg_server_t servers[QPLAN_MEMBERS_MAX];
    size_t n = rgroup_servers (rg, servers, QPLAN_MEMBERS_MAX);
    if (n > QPLAN_MEMBERS_MAX)
        return;
    //  a spare holds nothing: to the plan it is not there yet (QPLAN_ADD makes it a standby)
    qplan_server_t in[QPLAN_MEMBERS_MAX];
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (servers[i].role != RG_ROLE_SPARE)
            in[count++] = (qplan_server_t){
                servers[i].id, servers[i].role == RG_ROLE_VOTER ? QPLAN_VOTER : QPLAN_STANDBY,
                servers[i].match};
    const char *members[9];
    size_t nw = qraft_wanted (self, g->name, members, 9);
    uint64_t wanted[9];
    size_t live = 0; //  a member we have not heard from lately is not wanted (it may be gone)
    for (size_t i = 0; i < nw; i++) {
        peer_t *p =
            strcmp (members[i], self->uuid_hex) ? node_peer_find_hex (self, members[i]) : NULL;
        if (!p || !p->evasive)
            wanted[live++] = qraft_id_of (members[i]);
    }
    nw = live;
    qplan_input_t pin = {.servers = in,
                         .count = count,
                         .leader = qraft_id_of (self->uuid_hex),
                         .last_index = rgroup_last_index (rg),
                         .catch_up = 64,
                         .wanted = wanted,
                         .wanted_count = nw,
                         .replicas = replicas_for (self, g)};
    qplan_step_t step = qplan_next (&pin);
    //  never drop a voter that answers while one that does not keeps its vote (the ring
    //  may still list a member that died): that would leave fewer live voters than before
    bool silent = false, target_live = false;
    for (size_t i = 0; i < n; i++) {
        silent |= servers[i].role == RG_ROLE_VOTER && !servers[i].recent;
        target_live |=
            servers[i].id == step.id && servers[i].role == RG_ROLE_VOTER && servers[i].recent;
    }
    if (step.action == QPLAN_REMOVE && silent && target_live)
        return;
    int rc = 0;
    switch (step.action) {
    case QPLAN_NONE:
        return;
    case QPLAN_ADD: //  a spare first, then a standby (libraft's two steps)
        rc = rgroup_role (rg, step.id) < 0
                 ? rgroup_add (rg, step.id, change_done, g)
                 : rgroup_assign (rg, step.id, RG_ROLE_STANDBY, change_done, g);
        break;
    case QPLAN_PROMOTE:
        rc = rgroup_assign (rg, step.id, RG_ROLE_VOTER, change_done, g);
        break;
    case QPLAN_REMOVE:
        rc = rgroup_remove (rg, step.id, change_done, g);
        break;
    case QPLAN_TRANSFER:
        rc = rgroup_transfer (rg, step.id, change_done, g);
        break;
    }
    if (rc == 0)
        g->changing = true;
    wlog_info (&self->log, "queue %s: %s %016" PRIx64 "%s%s", g->name,
               qplan_action_name (step.action), step.id, rc ? ": " : "",
               rc ? rgroup_strerror (rc) : "");
}
