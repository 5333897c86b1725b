/*  tests/support/rg_sim_chaos.c - workloads of the Raft room's harness that
    several tests share (see rg_sim.h): settling, the chaos sweep's
    crash phase, membership changes. */
#include <criterion/criterion.h>

#include "rg_sim.h"

//  True once every proposal has had its callback and the members agree.
static bool s_settled (rgsim_t *sim, void *arg)
{
    return sim->nacked + sim->apply_errors == sim->proposed && rgsim_converged (sim, &sim->nacked);
}

void rgsim_settle (rgsim_t *self, int64_t ms)
{
    cr_assert (rgsim_run_until (self, ms, s_settled, NULL),
               "not settled by %lld ms: %zu acked, %llu failed of %llu", (long long)self->now,
               self->nacked, (unsigned long long)self->apply_errors,
               (unsigned long long)self->proposed);
}

uint64_t rgsim_failures (rgsim_t *self)
{
    uint64_t n = 0;
    for (int i = 1; i <= self->n; i++)
        n += self->m[i].failures;
    return n;
}

rgsim_t *rgsim_chaos (uint64_t seed, bool pre_vote, unsigned threshold, bool keep_none,
                      uint64_t *crashes)
{
    const rg_env_t knobs = {.election_ms = 100,
                            .heartbeat_ms = 20,
                            .snapshot_threshold = threshold,
                            .snapshot_trailing = 8,
                            .pre_vote = pre_vote};
    rgsim_t *sim = rgsim_new (5, seed, &knobs, 0);
    sim->lazy = true;
    sim->tolerate_failures = true; //  counted: the sweeps assert there are none
    sim->loss_pct = 5, sim->dup_pct = 5, sim->delay_min = 1, sim->delay_max = 20;
    int64_t back_at[6] = {0};
    for (int round = 0; round < 4000 && sim->proposed < 600; round++) {
        int leader = rgsim_leader (sim);
        if (leader)
            rgsim_propose (sim, leader, 2);
        rgsim_run (sim, 5);
        int down = 0;
        for (int i = 1; i <= 5; i++) {
            if (back_at[i] && sim->now >= back_at[i]) {
                rgsim_restart (sim, i);
                back_at[i] = 0;
            }
            down += !sim->m[i].up;
        }
        if (down >= 2 || rgsim_rand (sim) % 30)
            continue;
        int victim = (int)(rgsim_rand (sim) % 5) + 1;
        if (!sim->m[victim].up)
            continue;
        uint64_t unsynced = jdisk_unsynced (sim->m[victim].disk);
        uint64_t keep = keep_none || !unsynced ? 0 : rgsim_rand (sim) % (unsynced + 1);
        rgsim_crash (sim, victim, keep, false);
        back_at[victim] = sim->now + 20 + (int64_t)(rgsim_rand (sim) % 300);
        (*crashes)++;
    }
    for (int i = 1; i <= 5; i++)
        if (!sim->m[i].up)
            rgsim_restart (sim, i);
    sim->loss_pct = 0;
    return sim;
}

/* ---------------------------------------------------------------------------
   Membership changes
*/

static bool s_has_leader (rgsim_t *sim, void *arg)
{
    (void)arg;
    return rgsim_leader (sim) != 0;
}

void rgsim_done (void *arg, int status)
{
    rgsim_wait_t *w = arg;
    w->done = true;
    w->status = status;
}

bool rgsim_is_done (rgsim_t *self, void *arg)
{
    (void)self;
    return ((rgsim_wait_t *)arg)->done;
}

//  Starts change KIND at G; 0 or a code.
static int s_start_change (rgroup_t *g, int kind, uint64_t id, int role, rgsim_wait_t *w)
{
    return kind == RGSIM_ADD      ? rgroup_add (g, id, rgsim_done, w)
           : kind == RGSIM_ASSIGN ? rgroup_assign (g, id, role, rgsim_done, w)
                                  : rgroup_remove (g, id, rgsim_done, w);
}

//  True when the leader's configuration shows change KIND of ID done.
static bool s_change_seen (rgsim_t *self, int kind, uint64_t id, int role)
{
    int leader = rgsim_leader (self);
    int now = leader ? rgroup_role (self->m[leader].g, id) : -2;
    return leader && (kind == RGSIM_ADD      ? now >= 0
                      : kind == RGSIM_ASSIGN ? now == role
                                             : now == -1);
}

void rgsim_change (rgsim_t *self, int kind, uint64_t id, int role)
{
    //  a leadership change may cut a change short (RG_ELOST: it may or may
    //  not have committed): once the new leader is there, look, and again
    int status = RG_ELOST;
    for (int attempt = 0; attempt < 5 && status == RG_ELOST; attempt++) {
        rgsim_wait_t w = {false, 0};
        int rc = RG_ENOTLEADER;
        for (int i = 0; i < 200 && rc; i++) {
            int leader = rgsim_leader (self);
            if (attempt && leader && s_change_seen (self, kind, id, role))
                return;
            rc = leader ? s_start_change (self->m[leader].g, kind, id, role, &w) : RG_ENOTLEADER;
            if (rc)
                rgsim_run (self, 10);
        }
        cr_assert_eq (rc, 0, "change refused: %s", rgroup_strerror (rc));
        cr_assert (rgsim_run_until (self, 20000, rgsim_is_done, &w), "change never done");
        status = w.status;
        if (status == RG_ELOST)
            rgsim_run_until (self, 5000, s_has_leader, NULL);
    }
    cr_assert_eq (status, 0, "change failed: %s", rgroup_strerror (status));
}
