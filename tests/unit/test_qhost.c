/*  tests/unit/test_qhost.c - queue groups on Raft (node/qgroup/qhost.h) over
    the deterministic harness tests/support/qh_sim.h: confirms across a
    leader crash that loses unsynced writes, deliveries and acks across one,
    max_deliver to a dead letter, a 1+2 partition with the leader on the
    minority side (2+3 on 5 members), a faulty network, a wiped disk, snapshots, and a sweep
    over seeds. Every event checks one leader and one dispatcher per term,
    no delivery after a committed ack, growing delivery counts and FIFO
    within a priority; every scenario prints its figures and asserts
    lost == 0. QHOST_SEEDS=n sets the sweep's size,
    QHOST_SEED0=k its first seed (1000 + k). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh_sim.h"
#include "weft.h"

#ifdef __SANITIZE_ADDRESS__
#define SWEEP_SEEDS 10
#else
#define SWEEP_SEEDS 100
#endif

static int s_seeds (int dflt)
{
    const char *env = getenv ("QHOST_SEEDS");
    return env && atoi (env) > 0 ? atoi (env) : dflt;
}

static bool s_has_leader (qhsim_t *sim, void *arg)
{
    return qhsim_leader (sim) != 0;
}

static bool s_confirmed_at_least (qhsim_t *sim, void *arg)
{
    return sim->confirmed >= *(size_t *)arg;
}

static bool s_settled_and_agree (qhsim_t *sim, void *arg)
{
    return qhsim_all_settled (sim, NULL) && qhsim_agree (sim, NULL) && qhsim_leader (sim);
}

static bool s_confirmed_and_agree (qhsim_t *sim, void *arg)
{
    return qhsim_all_confirmed (sim, NULL) && qhsim_agree (sim, NULL) && qhsim_leader (sim);
}

//  Runs to a serving leader, then until AT confirmed, and crashes the leader.
static int s_kill_leader_at (qhsim_t *sim, size_t at, bool wipe)
{
    cr_assert (qhsim_run_until (sim, 5000, s_has_leader, NULL), "no leader");
    cr_assert (qhsim_run_until (sim, 60000, s_confirmed_at_least, &at), "only %llu confirmed",
               (unsigned long long)sim->confirmed);
    int lead = qhsim_leader (sim);
    cr_assert (lead);
    qhsim_crash (sim, lead, wipe);
    return lead;
}

static void s_finish (qhsim_t *sim, const char *label, bool settle)
{
    bool ok =
        qhsim_run_until (sim, 120000, settle ? s_settled_and_agree : s_confirmed_and_agree, NULL);
    qhsim_print (sim, label);
    cr_assert (ok, "%s: not done by %lld ms", label, (long long)sim->now);
    cr_assert_eq (qhsim_lost (sim), 0, "%s: confirmed messages lost", label);
}

/* ---------------------------------------------------------------------------
   Producers
*/

static void s_producer_run (int n, uint64_t seed, const qhsim_opts_t *o, bool wipe)
{
    qhsim_t *sim = qhsim_new (n, seed, o);
    qhsim_produce (sim, 2000);
    int dead = s_kill_leader_at (sim, 700 + qhsim_rand (sim) % 600, wipe);
    cr_assert (qhsim_run_until (sim, 60000, qhsim_all_confirmed, NULL), "%llu of 2000 confirmed",
               (unsigned long long)sim->confirmed);
    qhsim_restart (sim, dead);
    s_finish (sim, "send, leader killed", false);
    cr_assert_eq (sim->confirmed, 2000);
    qhsim_resend_confirmed (sim, 100);
    //  Every confirmed message is delivered (and acked).
    qhsim_consume (sim, 2);
    s_finish (sim, "  then consumed", true);
    cr_assert_eq (sim->acks, 2000);
    if (o->snapshot_threshold) {
        uint64_t snaps = 0;
        for (int i = 1; i <= n; i++)
            snaps += rgroup_stats (qhost_group (sim->m[i].h))->snapshots;
        printf ("  snapshots stored: %llu\n", (unsigned long long)snaps);
        cr_assert_gt (snaps, 0, "no snapshot was taken");
    }
    qhsim_destroy (&sim);
}

Test (qhost, confirms_survive_leader_crash)
{
    qhsim_opts_t o = {.ack_pct = 100, .check_fifo = true};
    for (int s = 1; s <= 2; s++)
        s_producer_run (3, (uint64_t)s, &o, false);
    s_producer_run (5, 3, &o, false);
}

Test (qhost, confirms_survive_with_snapshots_and_a_wiped_disk)
{
    qhsim_opts_t o = {.ack_pct = 100, .check_fifo = true, .snapshot_threshold = 64};
    s_producer_run (3, 11, &o, false);
    s_producer_run (3, 12, &o, true);
}

/* ---------------------------------------------------------------------------
   Consumers
*/

static void s_consumer_run (uint64_t seed)
{
    qhsim_opts_t o = {
        .ack_pct = 70, .max_deliver = 3, .ack_timeout_ms = 150, .credits = 8, .check_fifo = true};
    qhsim_t *sim = qhsim_new (3, seed, &o);
    qhsim_produce (sim, 600);
    qhsim_consume (sim, 3);
    cr_assert (qhsim_run_until (sim, 5000, s_has_leader, NULL));
    qhsim_run (sim, 150 + qhsim_rand (sim) % 300);
    uint64_t acks = sim->acks;
    cr_assert_gt (sim->delivered, 0);
    int lead = qhsim_leader (sim);
    cr_assert (lead);
    qhsim_crash (sim, lead, false);
    qhsim_run (sim, 500);
    qhsim_restart (sim, lead);
    s_finish (sim, "consume, leader killed", true);
    cr_assert_gt (sim->acks, acks);
    cr_assert_gt (sim->redelivered, 0, "nothing was delivered twice");
    cr_assert_gt (sim->letters, 0, "max_deliver gave no dead letter");
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (sim->m[qhsim_leader (sim)].h), &st);
    cr_assert_eq (st.pending, 0);
    cr_assert_eq (st.acked + st.dead, 600);
    cr_assert_geq (st.acked, sim->acks);
    qhsim_destroy (&sim);
}

Test (qhost, acks_and_redeliveries_across_leader_crash)
{
    for (int s = 1; s <= 3; s++)
        s_consumer_run ((uint64_t)s + 100);
}

/* ---------------------------------------------------------------------------
   Partition: the leader alone on the minority side
*/

static size_t s_minority_ok, s_minority_failed;

static void s_minority_cb (void *arg, int status, uint64_t seq)
{
    if (status == 0 || status == QFSM_DUPLICATE)
        s_minority_ok++;
    else
        s_minority_failed++;
}

//  N = 3: the leader alone; N = 5: the leader and one follower.
static void s_partition_run (int n, uint64_t seed)
{
    qhsim_opts_t o = {.ack_pct = 100, .check_fifo = true};
    qhsim_t *sim = qhsim_new (n, seed, &o);
    qhsim_produce (sim, 1500);
    qhsim_consume (sim, 2);
    size_t at = 300;
    cr_assert (qhsim_run_until (sim, 5000, s_has_leader, NULL));
    cr_assert (qhsim_run_until (sim, 60000, s_confirmed_at_least, &at));
    int old = qhsim_leader (sim);
    unsigned minority = 1u << old;
    if (n == 5)
        minority |= 1u << (old % 5 + 1);
    qhsim_partition (sim, minority);
    uint64_t at_cut = sim->confirmed;
    qhost_t *h = sim->m[old].h;
    qhost_stats_t before = *qhost_stats (h);
    s_minority_ok = s_minority_failed = 0;
    char id[16];
    for (int i = 0; i < 50; i++) {
        snprintf (id, sizeof id, "minority%d", i);
        qhost_msg_t msg = {.id = id, .body = "x", .body_len = 1};
        qhost_enqueue (h, &msg, 0, s_minority_cb, NULL);
    }
    qhsim_run (sim, 2000);
    int lead = qhsim_leader (sim);
    cr_assert (lead && !((minority >> lead) & 1), "the majority did not elect");
    cr_assert_eq (s_minority_ok, 0, "the minority confirmed");
    const qhost_stats_t *after = qhost_stats (sim->m[old].h);
    cr_assert_eq (after->confirmed, before.confirmed, "the minority confirmed sends");
    cr_assert_eq (after->delivered, before.delivered, "the minority delivered");
    cr_assert_gt (sim->confirmed, at_cut, "the majority does not serve");
    qhsim_partition (sim, 0);
    s_finish (sim, n == 3 ? "partition 1+2, healed" : "partition 2+3, healed", true);
    cr_assert_eq (s_minority_ok, 0);
    //  The minority's sends were not in the log of the majority.
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (sim->m[lead].h), &st);
    cr_assert_eq (st.enqueued, 1500);
    qhsim_destroy (&sim);
}

Test (qhost, partition_minority_leader_confirms_nothing)
{
    for (int s = 1; s <= 3; s++)
        s_partition_run (3, (uint64_t)s + 200);
    for (int s = 1; s <= 2; s++)
        s_partition_run (5, (uint64_t)s + 210);
}

/* ---------------------------------------------------------------------------
   A faulty network and a sweep
*/

//  Random faults: loss, duplication, reordering, leader and follower crashes.
static void s_faulty_run (int n, uint64_t seed, size_t total)
{
    qhsim_opts_t o = {.ack_pct = 90,
                      .max_deliver = 4,
                      .ack_timeout_ms = 300,
                      .check_fifo = true,
                      .snapshot_threshold = (seed & 1) ? 128 : 0};
    //  Pre-vote on every other seed (QHOST_PREVOTE=1: on all). Seed 275 with
    //  it once met "entries conflict with committed ones" from libraft; the
    //  Raft room's cap on a follower's answer fixed that (test_rgroup_keep0).
    o.pre_vote = getenv ("QHOST_PREVOTE") != NULL || (seed & 2);
    qhsim_t *sim = qhsim_new (n, seed, &o);
    sim->loss_pct = (unsigned)(qhsim_rand (sim) % 6);
    sim->dup_pct = (unsigned)(qhsim_rand (sim) % 6);
    sim->delay_max = 5 + (unsigned)(qhsim_rand (sim) % 20);
    qhsim_produce (sim, total);
    qhsim_consume (sim, 1 + (int)(qhsim_rand (sim) % 3));
    for (int round = 0; round < 3; round++) {
        qhsim_run (sim, 100 + (int64_t)(qhsim_rand (sim) % 400));
        int victim = qhsim_leader (sim);
        if (!victim || qhsim_rand (sim) % 3 == 0)
            victim = 1 + (int)(qhsim_rand (sim) % (uint64_t)n);
        if (!sim->m[victim].up)
            continue;
        qhsim_crash (sim, victim, false);
        qhsim_run (sim, 50 + (int64_t)(qhsim_rand (sim) % 400));
        qhsim_restart (sim, victim);
    }
    char label[64];
    snprintf (label, sizeof label, "faulty n=%d seed %llu", n, (unsigned long long)seed);
    s_finish (sim, label, true);
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (sim->m[qhsim_leader (sim)].h), &st);
    cr_assert_eq (st.acked + st.dead, total);
    qhsim_destroy (&sim);
}

Test (qhost, faulty_network_five_members)
{
    s_faulty_run (5, 301, 800);
}

Test (qhost, sweep)
{
    int seeds = s_seeds (SWEEP_SEEDS);
    const char *from = getenv ("QHOST_SEED0"); //  to replay one: QHOST_SEED0=k QHOST_SEEDS=1
    int s0 = from ? atoi (from) : 0;
    for (int s = s0; s < s0 + seeds; s++)
        s_faulty_run (s % 4 == 3 ? 5 : 3, (uint64_t)s + 1000, 300);
}

//  Dead letters go out before their DEAD is logged: a leader that dies with
//  letters on their way (here each takes 400 ms to be stored) leaves their
//  messages in the queue, and the next leader sends them again. Every one of
//  the 200 ends in the dlq; none is lost.
Test (qhost, letters_outlive_their_leader)
{
    qhsim_opts_t o = {
        .ack_pct = 0, .max_deliver = 1, .ack_timeout_ms = 100, .ack_delay_ms = 400, .credits = 8};
    qhsim_t *sim = qhsim_new (3, 21, &o);
    qhsim_produce (sim, 200);
    qhsim_consume (sim, 2);
    cr_assert (qhsim_run_until (sim, 10000, qhsim_all_confirmed, NULL));
    int lead = qhsim_leader (sim);
    cr_assert (lead);
    //  run until letters travel, none stored yet
    bool sent = false;
    for (int i = 0; i < 2000 && !sent; i++) {
        qhsim_run (sim, 10);
        sent = qhost_stats (sim->m[lead].h)->letters_sent > 0;
    }
    cr_assert (sent, "no dead letter was sent");
    cr_assert_eq (sim->letters, 0, "a letter was stored already");
    uint64_t travelling = qhost_stats (sim->m[lead].h)->letters_sent;
    qhsim_crash (sim, lead, false);
    qhsim_run (sim, 500);
    qhsim_restart (sim, lead);
    s_finish (sim, "letters, leader killed", true);
    cr_assert_eq (sim->letters, 200, "%llu of 200 letters stored (%llu travelled at the crash)",
                  (unsigned long long)sim->letters, (unsigned long long)travelling);
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (sim->m[qhsim_leader (sim)].h), &st);
    cr_assert_eq (st.pending, 0);
    cr_assert_eq (st.dead, 200);
    qhsim_destroy (&sim);
}

/* ---------------------------------------------------------------------------
   The door, directly: cancel, nack, reject, statuses, caps
*/

static int s_answers, s_last_status;

static void s_answer (void *arg, int status, uint64_t seq)
{
    s_answers++;
    s_last_status = status;
}

static bool s_answered (qhsim_t *sim, void *arg)
{
    return s_answers >= *(int *)arg;
}

static bool s_delivered_at_least (qhsim_t *sim, void *arg)
{
    return sim->delivered >= *(uint64_t *)arg;
}

//  The seq of a delivery to CONSUMER with count COUNT (the first one found), or 0.
static uint64_t s_held (qhsim_t *sim, uint64_t consumer, uint32_t count)
{
    for (size_t i = 0; i < sim->nlog; i++)
        if (sim->log[i].consumer == consumer && sim->log[i].count == count)
            return sim->log[i].seq;
    return 0;
}

Test (qhost, cancel_nack_reject)
{
    qhsim_opts_t o = {.ack_pct = 0, .ack_timeout_ms = 100000, .credits = 4, .max_deliver = 5};
    qhsim_t *sim = qhsim_new (3, 7, &o);
    qhsim_produce (sim, 50);
    qhsim_consume (sim, 2);
    uint64_t want = 8;
    cr_assert (qhsim_run_until (sim, 5000, s_delivered_at_least, &want));
    qhsim_run (sim, 50);
    cr_assert_eq (sim->delivered, 8, "credits are a window: %llu delivered",
                  (unsigned long long)sim->delivered);
    int lead = qhsim_leader (sim);
    qhost_t *h = sim->m[lead].h;
    int follower = lead % 3 + 1;
    cr_assert_eq (qhost_cancel (sim->m[follower].h, 1), QHOST_ENOTLEADER);
    cr_assert_eq (qhost_cancel (h, 42), WEFT_ENOTFOUND);
    qhost_msg_t msg = {.id = "x", .body = "x", .body_len = 1};
    cr_assert_eq (qhost_enqueue (sim->m[follower].h, &msg, 0, s_answer, NULL), QHOST_ENOTLEADER);
    uint64_t hint = 0;
    cr_assert (qhost_leader (sim->m[follower].h, &hint));
    cr_assert_eq (hint, (uint64_t)lead);

    //  Cancel consumer 1: its 4 messages go to a new consumer 3, counted twice.
    cr_assert_eq (qhost_inflight (h), 8);
    cr_assert_eq (qhost_cancel (h, 1), 0);
    cr_assert_eq (qhost_inflight (h), 4);
    cr_assert_eq (qhost_consume (h, 3, 4), 0);
    want = 12;
    cr_assert (qhsim_run_until (sim, 1000, s_delivered_at_least, &want));
    cr_assert_eq (sim->redelivered, 4);
    for (size_t i = 8; i < 12; i++)
        cr_assert (sim->log[i].consumer == 3 && sim->log[i].count == 2);

    //  Consumer 2 nacks one (back after 200 ms) and rejects another.
    uint64_t a = s_held (sim, 2, 1), b = 0;
    for (size_t i = 0; i < sim->nlog && !b; i++)
        if (sim->log[i].consumer == 2 && sim->log[i].seq != a)
            b = sim->log[i].seq;
    cr_assert (a && b);
    cr_assert_eq (qhost_nack (h, 3, a, 0, s_answer, NULL), WEFT_ENOTFOUND, "not its message");
    s_answers = 0;
    uint64_t base = sim->delivered;
    size_t before = sim->nlog;
    cr_assert_eq (qhost_nack (h, 2, a, 200, s_answer, NULL), 0);
    int one = 1, two = 2;
    cr_assert (qhsim_run_until (sim, 1000, s_answered, &one));
    cr_assert_eq (s_last_status, 0);
    int64_t nacked_at = sim->now;
    cr_assert_eq (qhost_reject (h, 2, b, "bad", s_answer, NULL), 0);
    cr_assert (qhsim_run_until (sim, 1000, s_answered, &two));
    cr_assert_eq (s_last_status, QFSM_DEADLETTERED);
    cr_assert_eq (sim->letters, 1);
    cr_assert (sim->lettered[b]);
    //  Consumer 2 had room for two more: others, the nacked one waits its delay.
    want = base + 2;
    cr_assert (qhsim_run_until (sim, 1000, s_delivered_at_least, &want));
    //  A consumer with room gets the nacked one, once its delay passed.
    cr_assert_eq (qhost_consume (h, 4, 100), 0);
    qhsim_run (sim, 400);
    bool again = false;
    for (size_t i = before; i < sim->nlog; i++)
        if (sim->log[i].seq == a) {
            again = true;
            cr_assert_eq (sim->log[i].count, 2);
            cr_assert_eq (sim->log[i].consumer, 4);
        }
    cr_assert (again, "the nacked message was not delivered again");
    cr_assert_geq (sim->now, nacked_at + 200);
    for (size_t i = before; i < sim->nlog; i++)
        cr_assert_neq (sim->log[i].seq, b, "a rejected message was delivered");
    qhsim_destroy (&sim);
}

Test (qhost, pending_confirms_are_bounded)
{
    qhsim_t *sim = qhsim_new (3, 8, NULL);
    cr_assert (qhsim_run_until (sim, 5000, s_has_leader, NULL));
    qhost_t *h = sim->m[qhsim_leader (sim)].h;
    s_answers = 0;
    int accepted = 0, rc = 0;
    char id[16];
    for (int i = 0; i < QHOST_DEFAULT_MAX_PENDING + 10 && rc == 0; i++) {
        snprintf (id, sizeof id, "c%d", i);
        qhost_msg_t msg = {.id = id, .body = "x", .body_len = 1};
        rc = qhost_enqueue (h, &msg, 0, s_answer, NULL);
        accepted += rc == 0;
    }
    cr_assert_eq (rc, WEFT_EAGAIN);
    cr_assert_eq (accepted, QHOST_DEFAULT_MAX_PENDING);
    cr_assert (qhsim_run_until (sim, 10000, s_answered, &accepted), "%d of %d answered", s_answers,
               accepted);
    cr_assert_eq (s_last_status, 0);
    qfsm_stats_t st;
    qfsm_stats (qhost_fsm (h), &st);
    cr_assert_eq (st.pending, (uint64_t)accepted);
    qhsim_destroy (&sim);
}
