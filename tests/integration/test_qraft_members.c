/*  tests/integration/test_qraft_members.c - the Raft queue engine while its
    membership changes, with real processes on loopback (issue 9):
      - a fourth member joins in the middle of 20,000 sends: they keep being
        confirmed, nothing is lost, and the group still has 3 voters, all
        running (it may or may not move onto the new member);
      - a follower killed, its journal deleted, restarted (a new uuid): the
        group gets back to 3 voters, all running (the plan adds the new
        member and removes the dead one), nothing lost; then the leader
        killed with SIGKILL mid-stream, and still nothing lost.
    Three weftd members (journals, queues.engine = raft) and a client node in
    this process; what was sent is received with `weft recv`. Each test
    prints its counts and fails on any confirmed message lost. See
    tests/support/qraft_procs.h.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "qraft_procs.h"
#include "testutil.h"

#define TOTAL 20000
#define QUEUE "jobs"

static qp_fabric_t s_fab;

static void fabric_init (void)
{
    qp_init (&s_fab, "qraft-members");
}

static void fabric_fini (void)
{
    qp_fini (&s_fab);
}

//  Waits up to TIMEOUT_MS until QUEUE's leader says the group has COUNT
//  voters, all running; stores the leader's last view in G.
static bool wait_voters (const char *queue, size_t count, qp_group_t *g, int timeout_ms)
{
    int64_t deadline = tu_now_ms () + timeout_ms;
    for (int round = 0; round < 1000 && tu_now_ms () < deadline; round++, qp_pace ()) {
        int leader = qp_wait_leader (&s_fab, queue, (int)(deadline - tu_now_ms ()));
        if (leader >= 0 && qp_group (&s_fab, leader, queue, g, 1000) &&
            qp_voters_live (&s_fab, g, count))
            return true;
    }
    return false;
}

//  Sends messages until S has UNTIL of them.
static void send_until (qp_sends_t *s, int until)
{
    while (s->sent < until)
        qp_send_next (&s_fab, s, QUEUE, NULL, NULL);
}

TestSuite (qraft_members, .init = fabric_init, .fini = fabric_fini);

Test (qraft_members, fourth_member_joins_during_traffic, .timeout = 120)
{
    qp_start (&s_fab, 3);
    qp_warmup (&s_fab, QUEUE);
    cr_assert_geq (qp_wait_leader (&s_fab, QUEUE, 10000), 0, "no leader for %s", QUEUE);
    qp_sends_t s;
    qp_sends_init (&s, TOTAL);
    send_until (&s, TOTAL / 4);
    int added = qp_member_start (&s_fab, "m3"); //  a quarter in: a new member
    int at_join = s.sent;
    send_until (&s, TOTAL);
    qp_settle (&s_fab, &s, 60000);
    qp_group_t g;
    bool three = wait_voters (QUEUE, 3, &g, 20000);
    bool moved = false;
    for (size_t v = 0; v < g.voters && v < QP_VOTERS; v++)
        moved |= strcmp (g.voter[v], s_fab.members[added].uuid) == 0;
    fprintf (stderr, "qraft join: m3 started at send %d; voters %zu%s, m3 %s a voter\n", at_join,
             g.voters, three ? " (all running)" : "", moved ? "is" : "is not");
    qp_counts_t c = qp_drain (&s_fab, &s, QUEUE, "join");
    if (!three || c.lost || s.confirmed != TOTAL)
        qp_dump (&s_fab, QUEUE, 40);
    cr_expect (three, "the group does not have 3 running voters (%zu)", g.voters);
    cr_expect_eq (s.confirmed, TOTAL, "%d sends failed, %d unsettled", s.failed,
                  TOTAL - s.confirmed - s.failed);
    cr_assert_eq (c.lost, 0, "%d confirmed messages were lost", c.lost);
    qp_sends_fini (&s);
}

Test (qraft_members, member_restarted_without_its_journal, .timeout = 150)
{
    int leader = qp_ready (&s_fab, 3, QUEUE);
    qp_sends_t s;
    qp_sends_init (&s, TOTAL);
    send_until (&s, TOTAL / 4);
    //  a follower dies, loses its journal and comes back as a new member
    int victim = (leader + 1) % 3;
    char old_uuid[40];
    snprintf (old_uuid, sizeof old_uuid, "%s", s_fab.members[victim].uuid);
    qp_kill (&s_fab, victim);
    dm_remove_tree (s_fab.data[victim]);
    int back = qp_member_start (&s_fab, s_fab.members[victim].name);
    cr_assert_str_neq (s_fab.members[back].uuid, old_uuid, "the restarted member kept its uuid");
    send_until (&s, TOTAL / 2);
    qp_settle (&s_fab, &s, 60000);
    qp_group_t g;
    int64_t started = tu_now_ms ();
    bool healed = wait_voters (QUEUE, 3, &g, 30000);
    fprintf (stderr,
             "qraft wipe: %s restarted without its journal: 3 running voters %s "
             "after %lld ms\n",
             s_fab.members[back].name, healed ? "reached" : "NOT reached",
             (long long)(tu_now_ms () - started));
    if (!healed)
        qp_dump (&s_fab, QUEUE, 40);
    //  (was a failure at 4440a05: the new member binds the dead one's port and
    //  the leader's two links there shared one routing id; a peer found at the
    //  endpoint of another identity now replaces it)
    cr_assert (healed, "the group did not get back to 3 running voters");
    //  then the leader dies in the middle of the second half
    leader = qp_wait_leader (&s_fab, QUEUE, 10000);
    cr_assert_geq (leader, 0, "no leader for %s", QUEUE);
    send_until (&s, TOTAL * 3 / 4);
    qp_kill (&s_fab, leader);
    send_until (&s, TOTAL);
    qp_settle (&s_fab, &s, 60000);
    fprintf (stderr, "qraft wipe: leader %s killed at send %d\n", s_fab.members[leader].name,
             TOTAL * 3 / 4);
    qp_counts_t c = qp_drain (&s_fab, &s, QUEUE, "wipe");
    if (c.lost || s.confirmed != TOTAL)
        qp_dump (&s_fab, QUEUE, 40);
    cr_expect_eq (s.confirmed, TOTAL, "%d sends failed, %d unsettled", s.failed,
                  TOTAL - s.confirmed - s.failed);
    cr_assert_eq (c.lost, 0, "%d confirmed messages were lost", c.lost);
    qp_sends_fini (&s);
}
