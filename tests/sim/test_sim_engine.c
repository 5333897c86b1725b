/*  tests/sim/test_sim_engine.c - the simulator: determinism, the network
    model (FIFO, partitions, pauses, crashes, pub/sub, beacons) and the toy
    scenario's checks. Hosts here are probes that record what they receive;
    the test drives their worlds directly between steps. Virtual time only:
    nothing sleeps, every run is bounded. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim_scenario.h"
#include "sim_toy.h"
#include "sim_probe.h"
#include "sim_world.h"

//  --- Generator --------------------------------------------------------------

Test (sim_rng, same_seed_same_stream_and_bounds)
{
    sim_rng_t a, b, c;
    sim_rng_seed (&a, 7, 1);
    sim_rng_seed (&b, 7, 1);
    sim_rng_seed (&c, 7, 2);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_rng_next (&a);
        cr_assert_eq (x, sim_rng_next (&b));
        differ += x != sim_rng_next (&c);
        int64_t r = sim_rng_range (&a, -3, 5);
        cr_assert (r >= -3 && r <= 5);
        (void)sim_rng_range (&b, -3, 5);
    }
    cr_assert_gt (differ, 990);
    cr_assert_not (sim_rng_chance (&a, 0));
    cr_assert (sim_rng_chance (&a, 1));
}

//  --- Determinism ------------------------------------------------------------

static sim_result_t toy (uint64_t seed, unsigned faults, unsigned plant, int64_t ms)
{
    const sim_scenario_t *sc = sim_scenario_find ("toy");
    cr_assert_not_null (sc);
    sim_run_opts_t opts = {
        .seed = seed, .hosts = 4, .faults = faults, .time_ms = ms, .plant = plant};
    sim_result_t res;
    cr_assert_eq (sim_run_one (sc, &opts, &res), 0);
    return res;
}

Test (sim, same_seed_same_hash)
{
    sim_result_t a = toy (42, SIM_F_ALL, 0, 20000), b = toy (42, SIM_F_ALL, 0, 20000);
    cr_assert (a.pass, "%s", a.why);
    cr_assert_eq (a.hash, b.hash);
    cr_assert_eq (a.stats.events, b.stats.events);
    cr_assert_gt (a.stats.faults, 0);
    cr_assert_gt (a.stats.delivered, 1000);
}

Test (sim, different_seeds_different_hashes)
{
    sim_result_t a = toy (1, SIM_F_DELAY | SIM_F_LOSS, 0, 5000);
    sim_result_t b = toy (2, SIM_F_DELAY | SIM_F_LOSS, 0, 5000);
    cr_assert_neq (a.hash, b.hash);
    cr_assert_neq (a.stats.delivered, b.stats.delivered);
}

Test (sim, toy_passes_every_fault_class)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        sim_result_t r = toy (seed, SIM_F_ALL, 0, 30000);
        cr_assert (r.pass, "seed %llu: %s", (unsigned long long)seed, r.why);
    }
}

Test (sim, planted_dup_is_caught_and_replays)
{
    sim_result_t a = toy (9, 0, TOY_PLANT_DUP, 20000), b = toy (9, 0, TOY_PLANT_DUP, 20000);
    cr_assert_not (a.pass);
    cr_assert_not_null (strstr (a.why, "twice"), "%s", a.why);
    cr_assert_eq (a.hash, b.hash);
    cr_assert_str_eq (a.why, b.why);
    cr_assert (toy (9, 0, 0, 20000).pass); //  the same seed without the bug passes
}

//  --- Links --------------------------------------------------------------------

//  Sends COUNT numbered messages from 0 to 1, some each millisecond.
static void send_numbered (sim_t *sim, world_link_t *link, int count)
{
    char text[16];
    for (int i = 0; i < count; i++) {
        snprintf (text, sizeof text, "%d", i);
        cr_assert_eq (say (sim, 0, link, text), 0);
        if (i % 3 == 2)
            sim_run_until (sim, sim_now (sim) + 1);
    }
    sim_run_until (sim, sim_now (sim) + 1000);
}

//  How many of probe 1's ROUTER messages are not in send order.
static int out_of_order (sim_t *sim)
{
    int last = -1, bad = 0;
    for (int k = 0; k < probe (sim, 1)->nrec; k++) {
        rec_t *r = &probe (sim, 1)->rec[k];
        cr_assert_eq (r->input, WORLD_ROUTER);
        cr_assert_str_eq (r->f[0], "h0");
        int v = atoi (r->f[1]);
        bad += v < last;
        last = v;
    }
    return bad;
}

Test (sim_net, link_is_fifo_without_reorder)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 3);
    sim_set_delay (sim, 0, 1, 1, 60);
    world_link_t *link = link_to (sim, 0, 1);
    send_numbered (sim, link, 300);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 300);
    cr_assert_eq (out_of_order (sim), 0);
    sim_host_world (sim, 0)->ops->link_close (sim_host_world (sim, 0), &link, 0);
    cr_assert_null (link);
    finish (&sim);
}

Test (sim_net, reorder_breaks_fifo)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 3);
    sim_set_delay (sim, 0, 1, 1, 60);
    sim_set_chaos (sim, 0, 0, true);
    world_link_t *link = link_to (sim, 0, 1);
    send_numbered (sim, link, 300);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 300);
    cr_assert_gt (out_of_order (sim), 0);
    finish (&sim);
}

Test (sim_net, sndhwm_bounds_a_link)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 3);
    world_t *w = sim_host_world (sim, 0);
    world_opts_t opts = {.sndhwm = 4};
    world_link_t *link = w->ops->link_open (w, "tcp://198.18.0.2:40000", "x", 1, &opts);
    for (int i = 0; i < 4; i++)
        cr_assert_eq (say (sim, 0, link, "m"), 0);
    cr_assert_eq (say (sim, 0, link, "m"), -1);
    sim_run_until (sim, 10);
    cr_assert_eq (say (sim, 0, link, "m"), 0); //  delivered: room again
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 4);
    finish (&sim);
}

Test (sim_net, partition_drops_and_heal_resumes)
{
    env_t env = {0};
    sim_t *sim = probes (3, &env, 5);
    world_link_t *l01 = link_to (sim, 0, 1), *l10 = link_to (sim, 1, 0), *l02 = link_to (sim, 0, 2);
    sim_block (sim, 0, 1, true);
    for (int i = 0; i < 10; i++) {
        say (sim, 0, l01, "x");
        say (sim, 1, l10, "y");
        say (sim, 0, l02, "z");
    }
    sim_run_until (sim, 100);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 0);
    cr_assert_eq (count (sim, 0, WORLD_ROUTER), 0);
    cr_assert_eq (count (sim, 2, WORLD_ROUTER), 10); //  the rest of the net is fine
    cr_assert_eq (sim_stats (sim)->dropped_partition, 20);
    sim_heal (sim);
    say (sim, 0, l01, "x");
    say (sim, 1, l10, "y");
    sim_run_until (sim, 200);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 1);
    cr_assert_eq (count (sim, 0, WORLD_ROUTER), 1);
    finish (&sim);
}

Test (sim_net, oneway_partition)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 5);
    world_link_t *l01 = link_to (sim, 0, 1), *l10 = link_to (sim, 1, 0);
    sim_block (sim, 0, 1, false);
    for (int i = 0; i < 5; i++) {
        say (sim, 0, l01, "x");
        say (sim, 1, l10, "y");
    }
    sim_run_until (sim, 100);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 0);
    cr_assert_eq (count (sim, 0, WORLD_ROUTER), 5);
    finish (&sim);
}

Test (sim_net, pause_queues_to_rcvhwm_then_delivers)
{
    env_t env = {.rcvhwm = 5};
    sim_t *sim = probes (2, &env, 5);
    world_link_t *link = link_to (sim, 0, 1);
    sim_run_until (sim, 10);
    int turns = probe (sim, 1)->turns;
    sim_pause (sim, 1);
    for (int i = 0; i < 8; i++)
        say (sim, 0, link, "x");
    sim_run_until (sim, 500);
    cr_assert_eq (probe (sim, 1)->turns, turns); //  no turn while paused
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 0);
    cr_assert_eq (sim_stats (sim)->dropped_hwm, 3);
    sim_resume (sim, 1);
    sim_run_until (sim, 501);
    cr_assert_eq (probe (sim, 1)->turns, turns + 1);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 5);
    finish (&sim);
}

Test (sim_net, crash_kills_then_reboots)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 5);
    world_link_t *link = link_to (sim, 0, 1);
    sim_crash (sim, 1, true, false);
    cr_assert_eq (env.kills[1], 1);
    cr_assert_eq (env.crashes[1], 1);
    cr_assert (env.lost[1]);
    cr_assert_not (sim_host_up (sim, 1));
    say (sim, 0, link, "lost");
    sim_run_until (sim, 50);
    cr_assert_eq (sim_reboot (sim, 1), 0);
    cr_assert_eq (sim_host_boots (sim, 1), 2);
    cr_assert_eq (sim_world_boot (sim_host_world (sim, 1)), 2);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 0);
    say (sim, 0, link, "after"); //  the link reconnects, as ZeroMQ's do
    sim_run_until (sim, 100);
    cr_assert_eq (count (sim, 1, WORLD_ROUTER), 1);
    sim_crash (sim, 1, false, true);
    cr_assert_eq (env.wipes[1], 1);
    cr_assert_eq (env.crashes[1], 1);
    cr_assert_eq (env.kills[1], 2);
    finish (&sim);
}

Test (sim_net, unbound_endpoint_drops_and_bad_endpoint_fails)
{
    env_t env = {0};
    sim_t *sim = probes (1, &env, 5);
    world_t *w = sim_host_world (sim, 0);
    cr_assert_null (w->ops->link_open (w, "ipc:///tmp/x", "a", 1, NULL));
    world_link_t *link = w->ops->link_open (w, "tcp://198.18.0.1:41234", "a", 1, NULL);
    cr_assert_eq (say (sim, 0, link, "x"), 0);
    sim_run_until (sim, 10);
    cr_assert_eq (count (sim, 0, WORLD_ROUTER), 0);
    cr_assert_eq (sim_stats (sim)->dropped, 1);
    uint16_t port;
    cr_assert_eq (w->ops->listen (w, WORLD_XPUB, "198.18.0.1", 40000, NULL, &port, NULL, 0),
                  WEFT_EADDRINUSE);
    finish (&sim);
}

//  --- Pub/sub ------------------------------------------------------------------

//  Host A publishes TOPIC.
static void publish (sim_t *sim, int a, const char *topic)
{
    world_t *w = sim_host_world (sim, a);
    zmq_msg_t f[2];
    world_frame_copy (&f[0], topic, strlen (topic));
    world_frame_copy (&f[1], "body", 4);
    cr_assert_eq (w->ops->publish (w, f, 2), 0);
}

//  The I-th record of INPUT at probe H.
static rec_t *nth (sim_t *sim, int h, int input, int i)
{
    for (int k = 0; k < probe (sim, h)->nrec; k++)
        if (probe (sim, h)->rec[k].input == input && i-- == 0)
            return &probe (sim, h)->rec[k];
    cr_assert_fail ("no record %d of input %d at h%d", i, input, h);
    return NULL;
}

Test (sim_pubsub, prefix_filters_and_xpub_notices)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 5);
    world_t *sub = sim_host_world (sim, 1);
    sub->ops->sub_filter (sub, "ab", 2, true);
    sub->ops->sub_filter (sub, "q", 1, true);
    cr_assert_eq (sub->ops->sub_connect (sub, "tcp://198.18.0.1:40001", true), 0);
    sim_run_until (sim, 10);
    //  One notice per filter on connect.
    cr_assert_eq (count (sim, 0, WORLD_XPUB), 2);
    cr_assert_eq (memcmp (nth (sim, 0, WORLD_XPUB, 0)->f[0], "\001ab", 3), 0);
    cr_assert_eq (memcmp (nth (sim, 0, WORLD_XPUB, 1)->f[0], "\001q", 2), 0);
    publish (sim, 0, "abc");
    publish (sim, 0, "xyz");
    publish (sim, 0, "a");
    publish (sim, 0, "q1");
    sim_run_until (sim, 20);
    cr_assert_eq (count (sim, 1, WORLD_SUB), 2);
    cr_assert_str_eq (nth (sim, 1, WORLD_SUB, 0)->f[0], "abc");
    cr_assert_str_eq (nth (sim, 1, WORLD_SUB, 0)->f[1], "body");
    cr_assert_str_eq (nth (sim, 1, WORLD_SUB, 1)->f[0], "q1");
    sub->ops->sub_filter (sub, "ab", 2, false);
    sim_run_until (sim, 30);
    cr_assert_eq (count (sim, 0, WORLD_XPUB), 3);
    cr_assert_eq (memcmp (nth (sim, 0, WORLD_XPUB, 2)->f[0], "\000ab", 3), 0);
    publish (sim, 0, "abc");
    sim_run_until (sim, 40);
    cr_assert_eq (count (sim, 1, WORLD_SUB), 2);
    //  A disconnect unsubscribes what is left.
    cr_assert_eq (sub->ops->sub_connect (sub, "tcp://198.18.0.1:40001", false), 0);
    publish (sim, 0, "q2");
    sim_run_until (sim, 50);
    cr_assert_eq (count (sim, 1, WORLD_SUB), 2);
    cr_assert_eq (count (sim, 0, WORLD_XPUB), 4);
    cr_assert_eq (memcmp (nth (sim, 0, WORLD_XPUB, 3)->f[0], "\000q", 2), 0);
    finish (&sim);
}

Test (sim_pubsub, resubscribes_after_publisher_reboot_and_heal)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 5);
    world_t *sub = sim_host_world (sim, 1);
    sub->ops->sub_filter (sub, "t", 1, true);
    sub->ops->sub_connect (sub, "tcp://198.18.0.1:40001", true);
    sim_run_until (sim, 10);
    sim_crash (sim, 0, false, false);
    sim_reboot (sim, 0);
    sim_run_until (sim, 20);
    cr_assert_eq (count (sim, 0, WORLD_XPUB), 1); //  the new incarnation got the filter again
    publish (sim, 0, "t1");
    sim_run_until (sim, 25);
    sim_block (sim, 0, 1, true);
    sim_step (sim, 30);
    publish (sim, 0, "t2"); //  lost: the connection is broken
    sim_run_until (sim, 40);
    //  The broken connection unsubscribed, the healed one subscribes again.
    cr_assert_eq (count (sim, 0, WORLD_XPUB), 2);
    cr_assert_eq (memcmp (nth (sim, 0, WORLD_XPUB, 1)->f[0], "\000t", 2), 0);
    sim_heal (sim);
    sim_run_until (sim, 50);
    cr_assert_eq (count (sim, 0, WORLD_XPUB), 3);
    cr_assert_eq (memcmp (nth (sim, 0, WORLD_XPUB, 2)->f[0], "\001t", 2), 0);
    publish (sim, 0, "t3");
    sim_run_until (sim, 60);
    cr_assert_eq (count (sim, 1, WORLD_SUB), 2);
    cr_assert_str_eq (nth (sim, 1, WORLD_SUB, 1)->f[0], "t3");
    finish (&sim);
}

//  --- Beacons, receive, clocks -------------------------------------------------

Test (sim_world, beacons_reach_the_segment_and_self)
{
    env_t env = {0};
    sim_t *sim = probes (3, &env, 5);
    world_t *w = sim_host_world (sim, 1);
    cr_assert_eq (w->ops->beacon_send (w, "hi", 2), 0);
    sim_run_until (sim, 10);
    for (int h = 0; h < 3; h++) {
        cr_assert_eq (count (sim, h, WORLD_BEACON), 1, "host %d", h);
        cr_assert_str_eq (nth (sim, h, WORLD_BEACON, 0)->from, "198.18.0.2");
        cr_assert_str_eq (nth (sim, h, WORLD_BEACON, 0)->f[0], "hi");
    }
    //  Another port is another socket: not reached.
    world_t *w2 = sim_host_world (sim, 2);
    w2->ops->beacon_open (w2, "198.18.0.3", SIM_BCAST, 9999, NULL, 0);
    w->ops->beacon_send (w, "again", 5);
    sim_run_until (sim, 20);
    cr_assert_eq (count (sim, 2, WORLD_BEACON), 1);
    cr_assert_eq (count (sim, 0, WORLD_BEACON), 2);
    finish (&sim);
}

Test (sim_world, recv_respects_cap_and_empty)
{
    env_t env = {0};
    sim_t *sim = probes (2, &env, 5);
    world_t *w0 = sim_host_world (sim, 0), *w1 = sim_host_world (sim, 1);
    world_link_t *link = link_to (sim, 0, 1);
    sim_pause (sim, 1); //  so that the probe does not read it first
    zmq_msg_t f[3];
    for (int i = 0; i < 3; i++)
        world_frame_copy (&f[i], "abc", 3);
    cr_assert_eq (w0->ops->link_send (w0, link, f, 3), 0);
    sim_run_until (sim, 10);
    size_t n = 9;
    cr_assert_eq (w1->ops->recv (w1, WORLD_ROUTER, f, 2, &n, NULL), 1); //  4 frames > 2
    cr_assert_eq (n, 0);
    cr_assert_eq (w1->ops->recv (w1, WORLD_ROUTER, f, 2, &n, NULL), -1);
    finish (&sim);
}

Test (sim_world, clocks_and_random_are_per_host_and_seeded)
{
    env_t env = {0};
    sim_t *a = probes (2, &env, 11), *b = probes (2, &env, 11);
    sim_run_until (a, 1234);
    sim_run_until (b, 1234);
    world_t *a0 = sim_host_world (a, 0), *a1 = sim_host_world (a, 1), *b0 = sim_host_world (b, 0);
    cr_assert_eq (world_now (a0), 1234);
    cr_assert_eq (world_wall_us (a0), world_wall_us (b0));
    int64_t skew = world_wall_us (a0) - world_wall_us (a1);
    cr_assert (skew > -10001 && skew < 10001);
    uint64_t r = world_random (a0);
    cr_assert_eq (r, world_random (b0));
    cr_assert_neq (r, world_random (a1));
    sim_crash (a, 0, false, false);
    sim_reboot (a, 0);
    cr_assert_neq (world_random (sim_host_world (a, 0)), r); //  a new incarnation, new draws
    char addr[16], bcast[16];
    a1->ops->resolve (a1, "eth0", addr, bcast, NULL, 0);
    cr_assert_str_eq (addr, "198.18.0.2");
    cr_assert_str_eq (bcast, "198.18.0.255");
    journal_t *j = NULL;
    cr_assert_eq (a1->ops->journal_open (a1, "/nowhere", NULL, &j, NULL, 0), SIM_ENOTSUP);
    finish (&a);
    finish (&b);
}

Test (sim, faults_plan_is_seeded)
{
    char buf1[4096] = "", buf2[4096] = "";
    for (int k = 0; k < 2; k++) {
        FILE *out = fmemopen (k ? buf2 : buf1, sizeof buf1, "w");
        sim_config_t config = {.seed = 77, .hosts = 3, .faults = SIM_F_ALL, .duration = 30000};
        sim_t *sim = sim_new (&config);
        env_t env = {0};
        for (int i = 0; i < 3; i++)
            sim_add_host (sim, &probe_ops, &env);
        sim_plan_faults (sim, out);
        fclose (out);
        cr_assert_eq (sim_run_until (sim, 30000), 0);
        cr_assert_gt (sim_stats (sim)->faults, 2);
        finish (&sim);
    }
    cr_assert_str_eq (buf1, buf2);
    cr_assert_not_null (strstr (buf1, "plan"));
    unsigned mask;
    cr_assert_eq (sim_faults_parse ("loss,crash", &mask), 0);
    cr_assert_eq (mask, SIM_F_LOSS | SIM_F_CRASH);
    cr_assert_eq (sim_faults_parse ("loss,bogus", &mask), -1);
}
