/*  tests/unit/test_rgroup_erase.c - what a member keeps of a group it left
    (rgroup_erase (), rgroup_stored ()): the log and the snapshot go, the
    term and vote stay; and a
    member whose group was erased can be added again and catches up (the
    other groups of one store: rgroup_store.two_groups_one_store). Over
    the harness of tests/support/rg_sim.h (one order of applied values and
    one leader per term are checked at every step there). */
#include <criterion/criterion.h>
#include <string.h>

#include "node/raft/rg_int.h"
#include "rg_sim.h"

//  Snapshots every 64 entries, 16 kept after each.
static const rg_env_t s_snap_knobs = {
    .election_ms = 100, .heartbeat_ms = 20, .snapshot_threshold = 64, .snapshot_trailing = 16};

#define HARNESS_GROUP 7 //  the group id of every rg_sim harness

static bool s_has_leader (rgsim_t *sim, void *arg)
{
    (void)arg;
    return rgsim_leader (sim) != 0;
}

//  Proposes TOTAL more values, a burst of 10 every 5 ms, at whoever leads.
static void s_load (rgsim_t *sim, size_t total)
{
    size_t goal = sim->proposed + total;
    for (int i = 0; i < 20000 && sim->proposed < goal; i++) {
        int leader = rgsim_leader (sim);
        size_t k = goal - sim->proposed < 10 ? goal - sim->proposed : 10;
        if (leader)
            rgsim_propose (sim, leader, (int)k);
        rgsim_run (sim, 5);
    }
    cr_assert_eq (sim->proposed, goal);
}

typedef struct {
    uint64_t ids[8];
    size_t n;
} s_ids_t;

static void s_collect (void *arg, uint64_t id)
{
    s_ids_t *ids = arg;
    if (ids->n < 8)
        ids->ids[ids->n++] = id;
}

//  The group ids with a log or snapshot on STORE.
static s_ids_t s_stored (store_t *store)
{
    s_ids_t ids = {{0}, 0};
    cr_assert_eq (rgroup_stored (&store_mem_ops, store, "r/", s_collect, &ids), 0);
    return ids;
}

//  True when STORE holds the 'm' key (term and vote) of group ID under "r/".
static bool s_has_meta (store_t *store, uint64_t id)
{
    uint8_t key[16] = "r/";
    for (int i = 0; i < 8; i++)
        key[2 + i] = (uint8_t)(id >> (8 * (7 - i)));
    key[10] = 'm';
    void *value = NULL;
    size_t len = 0;
    store_err_t err;
    int rc = store_mem_ops.get (store, key, 11, &value, &len, &err);
    bool found = rc == 0 && value && len == 16;
    store_mem_ops.free_value (value);
    return found;
}

Test (rgroup_erase, a_removed_member_erases_and_can_come_back, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        rgsim_t *sim = rgsim_new (3, seed, &s_snap_knobs, 0);
        cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
        s_load (sim, 300);
        rgsim_settle (sim, 20000);
        int leader = rgsim_leader (sim), gone = leader % 3 + 1;
        rgsim_change (sim, RGSIM_REMOVE, (uint64_t)gone, 0);
        rgsim_run (sim, 300);
        rgsim_crash (sim, gone, UINT64_MAX, false);

        //  What it left on its disk: a snapshot and a trailing log, then only
        //  its term and vote.
        rgsim_member_t *m = &sim->m[gone];
        store_conf_t conf = {.dir = "mem", .disk = m->disk};
        store_t *store = NULL;
        store_err_t err;
        cr_assert_eq (store_mem_ops.open (&conf, &store, &err), 0);
        s_ids_t before = s_stored (store);
        cr_assert_eq (before.n, 1);
        cr_assert_eq (before.ids[0], HARNESS_GROUP);
        uint64_t keys = jdisk_keys (m->disk);
        cr_assert_gt (keys, 10, "only %llu keys before", (unsigned long long)keys);
        size_t erased = 0;
        cr_assert_eq (rgroup_erase (&store_mem_ops, store, "r/", HARNESS_GROUP, &erased), 0);
        cr_assert_eq (erased, keys - 1, "erased %zu of %llu", erased, (unsigned long long)keys);
        cr_assert_eq (s_stored (store).n, 0, "the group still has a log or snapshot");
        cr_assert (s_has_meta (store, HARNESS_GROUP), "term and vote were erased");
        cr_assert_eq (rgroup_erase (&store_mem_ops, store, "r/", HARNESS_GROUP, &erased), 0);
        cr_assert_eq (erased, 0, "a second erase found %zu keys", erased);
        store_mem_ops.close (&store);

        //  Added again: it starts with no log and catches up from a snapshot.
        s_load (sim, 100);
        rgsim_restart (sim, gone);
        cr_assert_eq (m->napplied, 0);
        rgsim_change (sim, RGSIM_ADD, (uint64_t)gone, 0);
        rgsim_change (sim, RGSIM_ASSIGN, (uint64_t)gone, RG_ROLE_VOTER);
        s_load (sim, 50);
        rgsim_settle (sim, 20000);
        cr_assert_eq (m->napplied, 450, "member %d applied %zu", gone, m->napplied);
        rgsim_check_acked (sim);
        rgsim_destroy (&sim);
    }
}
