/*  tests/unit/test_qplan.c - the placement plan of queue groups
    (node/qgroup/qplan.h): grow before shrink, one change at a time, a dead
    voter kept until its replacement caught up, leadership handed over
    before the leader leaves, and a random walk over member changes that
    checks the plan never leaves a group with fewer voters than it had or
    than it should, and always ends placed.
*/
#include <criterion/criterion.h>
#include <string.h>

#include "node/qgroup/qplan.h"

//  A group under test: its configuration, applied steps change it.
typedef struct {
    qplan_server_t servers[QPLAN_MEMBERS_MAX];
    size_t count;
    uint64_t leader;
    uint64_t last_index;
} group_t;

static qplan_step_t plan (const group_t *g, const uint64_t *wanted, size_t n, size_t r)
{
    qplan_input_t in = {.servers = g->servers,
                        .count = g->count,
                        .leader = g->leader,
                        .last_index = g->last_index,
                        .catch_up = 10,
                        .wanted = wanted,
                        .wanted_count = n,
                        .replicas = r};
    return qplan_next (&in);
}

static qplan_server_t *server (group_t *g, uint64_t id)
{
    for (size_t i = 0; i < g->count; i++)
        if (g->servers[i].id == id)
            return &g->servers[i];
    return NULL;
}

static size_t voters (const group_t *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->count; i++)
        n += g->servers[i].role == QPLAN_VOTER;
    return n;
}

//  Applies STEP to G (a new standby starts behind; CAUGHT: it is caught up at once).
static void apply (group_t *g, qplan_step_t step, bool caught)
{
    qplan_server_t *s = server (g, step.id);
    switch (step.action) {
    case QPLAN_ADD:
        cr_assert_null (s, "added twice");
        cr_assert_lt (g->count, QPLAN_MEMBERS_MAX);
        g->servers[g->count++] =
            (qplan_server_t){step.id, QPLAN_STANDBY, caught ? g->last_index : 0};
        break;
    case QPLAN_PROMOTE:
        cr_assert (s && s->role != QPLAN_VOTER);
        s->role = QPLAN_VOTER;
        break;
    case QPLAN_REMOVE:
        cr_assert (s && step.id != g->leader, "a leader never removes itself");
        *s = g->servers[--g->count];
        break;
    case QPLAN_TRANSFER:
        cr_assert (s && s->role == QPLAN_VOTER);
        g->leader = step.id;
        break;
    default:
        break;
    }
}

static group_t three (void)
{
    group_t g = {.count = 3, .leader = 1, .last_index = 100};
    for (int i = 0; i < 3; i++)
        g.servers[i] = (qplan_server_t){(uint64_t)i + 1, QPLAN_VOTER, 100};
    return g;
}

Test (qplan, placed_is_nothing_to_do)
{
    group_t g = three ();
    uint64_t wanted[] = {2, 1, 3};
    cr_assert_eq (plan (&g, wanted, 3, 3).action, QPLAN_NONE);
}

Test (qplan, a_replacement_joins_catches_up_then_the_old_voter_leaves)
{
    group_t g = three ();
    uint64_t wanted[] = {1, 2, 4}; //  3 died; 4 is the next by rendezvous
    qplan_step_t s = plan (&g, wanted, 3, 3);
    cr_assert (s.action == QPLAN_ADD && s.id == 4);
    apply (&g, s, false);
    cr_assert_eq (plan (&g, wanted, 3, 3).action, QPLAN_NONE, "4 has not caught up");
    cr_assert_eq (voters (&g), 3, "3 keeps its vote meanwhile");
    server (&g, 4)->match = 95; //  within catch_up
    s = plan (&g, wanted, 3, 3);
    cr_assert (s.action == QPLAN_PROMOTE && s.id == 4);
    apply (&g, s, false);
    s = plan (&g, wanted, 3, 3);
    cr_assert (s.action == QPLAN_REMOVE && s.id == 3, "shrink only after the grow");
    apply (&g, s, false);
    cr_assert_eq (plan (&g, wanted, 3, 3).action, QPLAN_NONE);
    cr_assert_eq (voters (&g), 3);
}

Test (qplan, fewer_live_members_than_r_keep_the_dead_voter)
{
    group_t g = three ();
    uint64_t wanted[] = {1, 2}; //  3 died and nobody can replace it
    cr_assert_eq (plan (&g, wanted, 2, 3).action, QPLAN_NONE);
}

Test (qplan, the_leader_hands_over_before_it_leaves)
{
    group_t g = three ();
    uint64_t wanted[] = {2, 3, 4};
    apply (&g, plan (&g, wanted, 3, 3), true); //  add 4
    apply (&g, plan (&g, wanted, 3, 3), true); //  promote 4
    server (&g, 2)->match = 20;                //  2 is far behind: not a successor
    qplan_step_t s = plan (&g, wanted, 3, 3);
    cr_assert (s.action == QPLAN_TRANSFER && s.id == 3, "%s %lu", qplan_action_name (s.action),
               (unsigned long)s.id);
    apply (&g, s, true);
    s = plan (&g, wanted, 3, 3);
    cr_assert (s.action == QPLAN_REMOVE && s.id == 1, "the new leader removes the old one");
}

Test (qplan, a_single_member_grows_to_three_one_at_a_time)
{
    group_t g = {.count = 1, .leader = 7, .last_index = 5};
    g.servers[0] = (qplan_server_t){7, QPLAN_VOTER, 5};
    uint64_t wanted[] = {7, 8, 9};
    int steps = 0;
    for (qplan_step_t s; (s = plan (&g, wanted, 3, 3)).action != QPLAN_NONE && steps < 20; steps++)
        apply (&g, s, true);
    cr_assert_eq (steps, 4, "add, promote, add, promote");
    cr_assert_eq (voters (&g), 3);
}

Test (qplan, an_unwanted_standby_leaves_and_bad_input_plans_nothing)
{
    group_t g = three ();
    g.servers[g.count++] = (qplan_server_t){5, QPLAN_STANDBY, 0};
    uint64_t wanted[] = {1, 2, 3};
    qplan_step_t s = plan (&g, wanted, 3, 3);
    cr_assert (s.action == QPLAN_REMOVE && s.id == 5);
    uint64_t zero[] = {1, 0, 3};
    cr_assert_eq (plan (&g, zero, 3, 3).action, QPLAN_NONE, "id 0 is no server");
    g.leader = 42;
    cr_assert_eq (plan (&g, wanted, 3, 3).action, QPLAN_NONE, "a leader not in the group");
    cr_assert_eq (qplan_next (NULL).action, QPLAN_NONE);
    cr_assert_str_eq (qplan_action_name (QPLAN_TRANSFER), "transfer");
}

//  xorshift, for the walk
static uint64_t next_rand (uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test (qplan, random_membership_walks_stay_safe_and_end_placed)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull;
        group_t g = three ();
        for (int round = 0; round < 30; round++) {
            //  the wanted set: R = 3 of ids 1..8, drawn at random, sometimes fewer
            uint64_t wanted[3];
            size_t n = 1 + next_rand (&rng) % 3;
            for (size_t i = 0; i < n; i++) {
                uint64_t id;
                bool dup;
                do {
                    id = 1 + next_rand (&rng) % 8;
                    dup = false;
                    for (size_t k = 0; k < i; k++)
                        dup |= wanted[k] == id;
                } while (dup);
                wanted[i] = id;
            }
            size_t before = voters (&g);
            int steps = 0;
            for (qplan_step_t s; (s = plan (&g, wanted, n, 3)).action != QPLAN_NONE; steps++) {
                cr_assert_lt (steps, 40, "seed %lu: the plan does not converge",
                              (unsigned long)seed);
                apply (&g, s, next_rand (&rng) % 2);
                for (size_t i = 0; i < g.count; i++)
                    g.servers[i].match = g.last_index; //  catch-up happens between steps
                size_t now = voters (&g);
                cr_assert_geq (now, before < 3 ? before : 3, "seed %lu: voters fell to %zu",
                               (unsigned long)seed, now);
            }
            for (size_t i = 0; i < n; i++) {
                qplan_server_t *s = server (&g, wanted[i]);
                cr_assert (s && s->role == QPLAN_VOTER, "seed %lu: %lu wanted, not a voter",
                           (unsigned long)seed, (unsigned long)wanted[i]);
            }
            cr_assert_geq (voters (&g), n);
            cr_assert (voters (&g) >= 3 || voters (&g) >= before, "seed %lu", (unsigned long)seed);
            g.last_index += 50;
        }
    }
}
