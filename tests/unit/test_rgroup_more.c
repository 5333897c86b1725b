/*  tests/unit/test_rgroup_more.c - the Raft room's hostile input, snapshots,
    membership and leadership transfer, over the harness of
    tests/support/rg_sim.h (one order of applied values and one leader per
    term are checked at every step there).

    Malformed input: every truncation of real messages of every type, a
    trailing byte, patched counts and lengths (huge, over the caps, zero),
    bad configurations inside change entries and snapshots, and random or
    mutated bytes over many seeds: each is refused by rgroup_receive ()
    with RG_EPROTO and counted in rx_bad, and the group goes on. Random
    bytes that happen to decode (well-formed by chance) are not delivered:
    a member that lies in well-formed messages is beyond Raft's model, and
    libraft asserts on some such lies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/raft/rg_int.h"
#include "rg_sim.h"
#include "weft.h"

static const rg_env_t s_knobs = {.election_ms = 100, .heartbeat_ms = 20};
//  Snapshots every 64 entries, 16 kept after each.
static const rg_env_t s_snap_knobs = {
    .election_ms = 100, .heartbeat_ms = 20, .snapshot_threshold = 64, .snapshot_trailing = 16};

static bool s_has_leader (rgsim_t *sim, void *arg)
{
    return rgsim_leader (sim) != 0;
}

//  Proposes TOTAL more values, a burst every 5 ms, at whoever leads.
static void s_load (rgsim_t *sim, size_t total, int burst)
{
    size_t goal = sim->proposed + total;
    for (int i = 0; i < 20000 && sim->proposed < goal; i++) {
        int leader = rgsim_leader (sim);
        size_t k = goal - sim->proposed < (size_t)burst ? goal - sim->proposed : (size_t)burst;
        if (leader)
            rgsim_propose (sim, leader, (int)k);
        rgsim_run (sim, 5);
    }
    cr_assert_eq (sim->proposed, goal);
}

/* ---------------------------------------------------------------------------
   4. Malformed input
*/

//  A running 3-member group whose traffic (with snapshots installed, so
//  every message type shows up) was captured.
static rgsim_t *s_captured (uint64_t seed)
{
    rgsim_t *sim = rgsim_new (3, seed, &s_snap_knobs, 0);
    sim->capture = true;
    cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
    int leader = rgsim_leader (sim), other = leader % 3 + 1;
    rgsim_crash (sim, other, UINT64_MAX, true);
    s_load (sim, 200, 10);
    rgsim_restart (sim, other); //  empty disk: it gets a snapshot
    rgsim_settle (sim, 20000);
    cr_assert (rgroup_transfer (sim->m[leader].g, 0, NULL, NULL) == 0);
    rgsim_run (sim, 500); //  TimeoutNow, votes
    sim->capture = false;
    return sim;
}

//  Delivers BUF to member TO; asserts it is refused and counted.
static void s_refused (rgsim_t *sim, int to, const void *buf, size_t len, const char *what)
{
    rgroup_t *g = sim->m[to].g;
    uint64_t bad = rgroup_stats (g)->rx_bad;
    int rc = rgroup_receive (g, 1, buf, len);
    cr_assert_eq (rc, RG_EPROTO, "%s (%zu bytes) accepted", what, len);
    cr_assert_eq (rgroup_stats (g)->rx_bad, bad + 1);
}

Test (rgroup_input, truncated_and_trailing, .timeout = 60)
{
    rgsim_t *sim = s_captured (1);
    bool seen[8] = {false};
    int per_type[8] = {0};
    for (size_t i = 0; i < sim->ncap; i++) {
        rgsim_msg_t *c = &sim->cap_msgs[i];
        int type = c->buf[1];
        cr_assert (type >= 1 && type <= 6);
        seen[type] = true;
        if (per_type[type]++ >= 20)
            continue;
        int to = c->to >= 1 && c->to <= 3 && sim->m[c->to].up ? c->to : 1;
        for (size_t len = 0; len < c->len; len++)
            s_refused (sim, to, c->buf, len, "a truncation");
        uint8_t *longer = malloc (c->len + 1);
        memcpy (longer, c->buf, c->len);
        longer[c->len] = 0;
        s_refused (sim, to, longer, c->len + 1, "a trailing byte");
        free (longer);
    }
    for (int t = 1; t <= 6; t++)
        cr_assert (seen[t], "no message of type %d captured", t);
    //  The group is unharmed.
    s_load (sim, 50, 10);
    rgsim_settle (sim, 10000);
    rgsim_check_acked (sim);
    rgsim_destroy (&sim);
}

//  Builds an AppendEntries with one entry of TYPE and DATA into BUF.
static size_t s_ae (uint8_t *buf, uint32_t n, uint64_t term, uint8_t type, uint32_t len,
                    const void *data, size_t dlen)
{
    memset (buf, 0, 2 + 36);
    buf[0] = 1, buf[1] = RAFT_IO_APPEND_ENTRIES;
    rg_put64 (buf + 2, 5);
    rg_put32 (buf + 34, n);
    size_t at = 38;
    rg_put64 (buf + at, term), buf[at + 8] = type, rg_put32 (buf + at + 9, len);
    memcpy (buf + at + 13, data, dlen);
    return at + 13 + dlen;
}

Test (rgroup_input, patched_counts_and_fields)
{
    rgsim_t *sim = rgsim_new (3, 1, &s_knobs, 0);
    cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
    uint8_t buf[256], d8[8] = {0};
    s_refused (sim, 2, buf, s_ae (buf, 0xFFFFFFFFu, 1, RAFT_COMMAND, 8, d8, 8), "n = 2^32-1");
    s_refused (sim, 2, buf, s_ae (buf, RG_MAX_ENTRIES + 1, 1, RAFT_COMMAND, 8, d8, 8), "n > cap");
    s_refused (sim, 2, buf, s_ae (buf, 2, 1, RAFT_COMMAND, 8, d8, 8), "n = 2, one entry");
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_COMMAND, 0xFFFFFFFFu, d8, 8), "len = 2^32-1");
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_COMMAND, 9, d8, 8), "len past the end");
    s_refused (sim, 2, buf, s_ae (buf, 1, 0, RAFT_COMMAND, 8, d8, 8), "entry term 0");
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, 0, 8, d8, 8), "entry type 0");
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, 4, 8, d8, 8), "entry type 4");
    //  Change entries: libraft's configuration encoding, validated by us.
    uint8_t conf[64] = {1};
    rg_put64 (conf + 1, 1);
    rg_put64 (conf + 9, 3), memcpy (conf + 17, "3", 2), conf[19] = RAFT_VOTER; //  20 bytes
    struct raft_configuration c;
    cr_assert_eq (rgc_conf_decode (conf, 24, &c), 0, "the good one");
    raft_configuration_close (&c);
    uint8_t bad[64];
    memcpy (bad, conf, 24), rg_put64 (bad + 1, 1ull << 62);
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 24, bad, 24), "conf n huge");
    memcpy (bad, conf, 24), rg_put64 (bad + 1, 0);
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 24, bad, 24), "conf n = 0");
    memcpy (bad, conf, 24), rg_put64 (bad + 9, 0);
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 24, bad, 24), "conf id 0");
    memcpy (bad, conf, 24), bad[19] = 7;
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 24, bad, 24), "conf role 7");
    memcpy (bad, conf, 24), memset (bad + 17, 'x', 7);
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 24, bad, 24), "conf address no NUL");
    memcpy (bad, conf, 24), bad[0] = 2;
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 24, bad, 24), "conf format 2");
    memcpy (bad, conf, 20), rg_put64 (bad + 1, 2), memcpy (bad + 20, conf + 9, 11);
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 31, bad, 31), "conf duplicate id");
    memcpy (bad, conf, 24);
    s_refused (sim, 2, buf, s_ae (buf, 1, 1, RAFT_CHANGE, 40, bad, 40), "conf long padding");
    //  Headers and fixed bodies.
    uint8_t h[64] = {2, RAFT_IO_TIMEOUT_NOW};
    s_refused (sim, 2, h, 26, "version 2");
    h[0] = 1, h[1] = 0;
    s_refused (sim, 2, h, 26, "type 0");
    h[1] = 7;
    s_refused (sim, 2, h, 26, "type 7");
    memset (h, 0, sizeof h), h[0] = 1, h[1] = RAFT_IO_REQUEST_VOTE_RESULT, h[10] = 2;
    s_refused (sim, 2, h, 12, "granted = 2");
    h[10] = 0, h[11] = 3;
    s_refused (sim, 2, h, 12, "pre_vote = 3");
    memset (h, 0, sizeof h), h[0] = 1, h[1] = RAFT_IO_REQUEST_VOTE, h[34] = 4;
    s_refused (sim, 2, h, 35, "vote flags = 4");
    //  InstallSnapshot: conf and data lengths.
    memset (buf, 0, sizeof buf), buf[0] = 1, buf[1] = RAFT_IO_INSTALL_SNAPSHOT;
    rg_put64 (buf + 2, 5), rg_put64 (buf + 10, 10), rg_put64 (buf + 18, 2);
    rg_put32 (buf + 34, 24), memcpy (buf + 38, conf, 24), rg_put32 (buf + 62, 4);
    struct raft_message m;
    cr_assert_eq (rgc_decode (buf, 70, &m), 0, "the good snapshot");
    rgc_message_free (&m);
    rg_put32 (buf + 62, 0xFFFFFFFFu);
    s_refused (sim, 2, buf, 70, "data_len huge");
    rg_put32 (buf + 62, 4), rg_put32 (buf + 34, 0xFFFFFFF0u);
    s_refused (sim, 2, buf, 70, "conf_len huge");
    rg_put32 (buf + 34, 24), rg_put64 (buf + 10, 0);
    s_refused (sim, 2, buf, 70, "last_index 0");
    rg_put64 (buf + 10, 10), rg_put64 (buf + 26, 11);
    s_refused (sim, 2, buf, 70, "conf_index past last_index");
    //  A sender id 0 and a NULL buffer.
    cr_assert_eq (rgroup_receive (sim->m[2].g, 0, h, 26), RG_EPROTO);
    cr_assert_eq (rgroup_receive (sim->m[2].g, 1, NULL, 0), RG_EPROTO);
    s_load (sim, 20, 5);
    rgsim_settle (sim, 5000);
    rgsim_destroy (&sim);
}

//  Mutates a copy of SRC (LEN) into *OUT: flips, truncations, insertions,
//  or a length field set to something large.
static size_t s_mutate (rgsim_t *sim, const uint8_t *src, size_t len, uint8_t **out)
{
    size_t n = len + 8;
    uint8_t *p = malloc (n);
    memcpy (p, src, len);
    size_t at = len ? rgsim_rand (sim) % len : 0;
    switch (rgsim_rand (sim) % 4) {
    case 0: //  flip 1..4 bytes
        for (int k = (int)(rgsim_rand (sim) % 4); k >= 0 && len; k--)
            p[rgsim_rand (sim) % len] ^= (uint8_t)(1 + rgsim_rand (sim) % 255);
        n = len;
        break;
    case 1: //  cut
        n = at;
        break;
    case 2: //  insert 1..8 bytes
        memmove (p + at + 8, p + at, len - at);
        for (int k = 0; k < 8; k++)
            p[at + k] = (uint8_t)rgsim_rand (sim);
        n = len - rgsim_rand (sim) % 8 + 8;
        break;
    default: //  a 32-bit field set large
        if (len >= 4 && at + 4 <= len)
            rg_put32 (p + at, (uint32_t)(rgsim_rand (sim) | 0x80000000u));
        n = len;
        break;
    }
    *out = p;
    return n > len + 8 ? len + 8 : n;
}

Test (rgroup_input, random_and_mutated_bytes, .timeout = 120)
{
    rgsim_t *sim = s_captured (2);
    uint64_t refused = 0, decoded = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        sim->rng = seed * 7919;
        for (int i = 0; i < 500; i++) {
            //  Random bytes, half with a plausible header.
            size_t len = rgsim_rand (sim) % 200;
            uint8_t *p = malloc (len + 1);
            for (size_t k = 0; k < len; k++)
                p[k] = (uint8_t)rgsim_rand (sim);
            if (len >= 2 && i % 2)
                p[0] = 1, p[1] = (uint8_t)(1 + rgsim_rand (sim) % 6);
            struct raft_message m;
            if (rgc_decode (p, len, &m) == 0) {
                rgc_message_free (&m); //  well-formed by chance: not delivered
                decoded++;
            } else {
                s_refused (sim, 1 + (int)(i % 3), p, len, "random bytes");
                refused++;
            }
            free (p);
            //  A mutation of a real message.
            rgsim_msg_t *c = &sim->cap_msgs[rgsim_rand (sim) % sim->ncap];
            uint8_t *q;
            size_t qlen = s_mutate (sim, c->buf, c->len, &q);
            if (rgc_decode (q, qlen, &m) == 0) {
                rgc_message_free (&m);
                decoded++;
            } else {
                s_refused (sim, 1 + (int)(i % 3), q, qlen, "a mutation");
                refused++;
            }
            free (q);
        }
    }
    cr_log_info ("fuzz: %llu refused, %llu well-formed by chance", (unsigned long long)refused,
                 (unsigned long long)decoded);
    cr_assert_gt (refused, 30000);
    s_load (sim, 20, 5);
    rgsim_settle (sim, 10000);
    rgsim_check_acked (sim);
    rgsim_destroy (&sim);
}

/* ---------------------------------------------------------------------------
   5. Snapshots
*/

Test (rgroup_snapshot, truncates_and_rejoins_from_snapshot, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        rgsim_t *sim = rgsim_new (3, seed, &s_snap_knobs, 0);
        cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
        s_load (sim, 500, 10);
        rgsim_settle (sim, 20000);
        for (int i = 1; i <= 3; i++) {
            cr_assert_geq (rgroup_stats (sim->m[i].g)->snapshots, 3, "member %d: %llu snapshots", i,
                           (unsigned long long)rgroup_stats (sim->m[i].g)->snapshots);
            //  The log was cut: 503 keys without snapshots; with them the
            //  trailing 16 and what was applied since the last one (libraft
            //  snapshots once per applied batch, so about every 100).
            cr_assert_lt (jdisk_keys (sim->m[i].disk), 200, "member %d keeps %llu keys", i,
                          (unsigned long long)jdisk_keys (sim->m[i].disk));
        }
        //  A restart loads its own snapshot and the trailing log.
        int leader = rgsim_leader (sim), f1 = leader % 3 + 1, f2 = f1 % 3 + 1;
        uint64_t restores = sim->m[f1].restores;
        rgsim_crash (sim, f1, UINT64_MAX, false);
        rgsim_restart (sim, f1);
        cr_assert_eq (sim->m[f1].restores, restores + 1, "no snapshot loaded at restart");
        cr_assert_gt (sim->m[f1].napplied, 0);
        //  A member that lost its disk rejoins, far behind: a snapshot.
        rgsim_crash (sim, f2, UINT64_MAX, true);
        s_load (sim, 200, 10);
        rgsim_restart (sim, f2);
        cr_assert_eq (sim->m[f2].napplied, 0);
        rgsim_settle (sim, 20000);
        cr_assert_geq (sim->m[f2].restores, 1, "no snapshot installed");
        cr_assert_eq (sim->m[f2].napplied, 700);
        rgsim_check_acked (sim);
        rgsim_destroy (&sim);
    }
}

/* ---------------------------------------------------------------------------
   6. Membership and transfer
*/

Test (rgroup_members, add_promote_remove, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        rgsim_t *sim = rgsim_new (3, seed, &s_knobs, 0);
        cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
        s_load (sim, 100, 10);
        rgsim_add_member (sim, 4); //  empty, not bootstrapped
        rgsim_change (sim, RGSIM_ADD, 4, 0);
        int leader = rgsim_leader (sim);
        cr_assert_eq (rgroup_role (sim->m[leader].g, 4), RG_ROLE_SPARE);
        rgsim_change (sim, RGSIM_ASSIGN, 4, RG_ROLE_STANDBY);
        s_load (sim, 50, 10);
        rgsim_settle (sim, 10000); //  the standby replicates
        cr_assert_eq (sim->m[4].napplied, 150);
        rgsim_change (sim, RGSIM_ASSIGN, 4, RG_ROLE_VOTER);
        //  Remove a founder (the leader in odd seeds: it hands over).
        leader = rgsim_leader (sim);
        int gone = seed % 2 ? leader : leader % 3 + 1;
        rgsim_change (sim, RGSIM_REMOVE, (uint64_t)gone, 0);
        rgsim_run (sim, 300);
        rgsim_crash (sim, gone, UINT64_MAX, false);
        s_load (sim, 50, 10);
        rgsim_settle (sim, 20000);
        leader = rgsim_leader (sim);
        cr_assert (leader && leader != gone);
        cr_assert_eq (rgroup_role (sim->m[leader].g, (uint64_t)gone), -1);
        cr_assert_eq (rgroup_role (sim->m[leader].g, 4), RG_ROLE_VOTER);
        cr_assert_eq (sim->m[4].napplied, 200);
        rgsim_check_acked (sim);
        rgsim_destroy (&sim);
    }
}

Test (rgroup_members, transfer_and_its_bound, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        rgsim_t *sim = rgsim_new (3, seed, &s_knobs, 0);
        cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
        s_load (sim, 20, 5);
        rgsim_settle (sim, 5000);
        int leader = rgsim_leader (sim), target = leader % 3 + 1;
        rgsim_wait_t w = {false, 0};
        cr_assert_eq (rgroup_transfer (sim->m[leader].g, (uint64_t)target, rgsim_done, &w), 0);
        cr_assert (rgsim_run_until (sim, 5000, rgsim_is_done, &w));
        cr_assert_eq (w.status, 0, "transfer: %s", rgroup_strerror (w.status));
        cr_assert_eq (rgsim_leader (sim), target);
        //  The hand-off (TimeoutNow) lost: the transfer ends in time and the
        //  leader serves again.
        leader = target, target = leader % 3 + 1;
        sim->drop_type = RAFT_IO_TIMEOUT_NOW;
        w = (rgsim_wait_t){false, 0};
        int64_t t0 = sim->now;
        cr_assert_eq (rgroup_transfer (sim->m[leader].g, (uint64_t)target, rgsim_done, &w), 0);
        uint64_t v = 1;
        cr_assert_eq (rgroup_apply (sim->m[leader].g, &v, 8, NULL, NULL), RG_ENOTLEADER);
        cr_assert (rgsim_run_until (sim, 5000, rgsim_is_done, &w), "transfer never ended");
        cr_assert_eq (w.status, RG_ETIMEDOUT);
        cr_assert_leq (sim->now - t0, 3 * 100, "took %lld ms", (long long)(sim->now - t0));
        sim->drop_type = 0;
        cr_assert_eq (rgsim_leader (sim), leader);
        s_load (sim, 20, 5);
        rgsim_settle (sim, 5000);
        rgsim_check_acked (sim);
        rgsim_destroy (&sim);
    }
}

/* ---------------------------------------------------------------------------
   Store failures, caps, several groups on one store
*/

//  A member's disk fails (writes and opens): its group fails, nothing it
//  had not stored is acked, and it comes back from its disk once the disk
//  works again. The others go on meanwhile.
Test (rgroup_store, disk_failure_fails_the_group, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        rgsim_t *sim = rgsim_new (3, seed, &s_knobs, 0);
        sim->tolerate_failures = true;
        cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
        s_load (sim, 50, 5);
        int victim = seed % 2 ? rgsim_leader (sim) : rgsim_leader (sim) % 3 + 1;
        jdisk_fail_writes (sim->m[victim].disk, seed % 2 ? WEFT_ENOSPC : WEFT_EIO);
        for (int i = 0; i < 100 && sim->m[victim].up; i++) {
            int leader = rgsim_leader (sim);
            if (leader)
                rgsim_propose (sim, leader, 2);
            rgsim_run (sim, 5);
        }
        cr_assert (!sim->m[victim].up, "the group of a failing disk did not fail");
        cr_assert_eq (sim->m[victim].failures, 1);
        s_load (sim, 50, 5); //  a majority is left
        jdisk_fail_writes (sim->m[victim].disk, 0);
        rgsim_restart (sim, victim);
        rgsim_settle (sim, 20000);
        rgsim_check_acked (sim);
        rgsim_destroy (&sim);
    }
}

//  A follower far behind gets more entries than one AppendEntries may carry
//  (RG_MAX_ENTRIES): the encoder cuts, the rest follows.
Test (rgroup_store, append_entries_cut_to_the_cap, .timeout = 60)
{
    rg_env_t knobs = s_knobs;
    knobs.pre_vote = true; //  the cut-off member does not disrupt on its return
    rgsim_t *sim = rgsim_new (3, 3, &knobs, 0);
    cr_assert (rgsim_run_until (sim, 5000, s_has_leader, NULL));
    int leader = rgsim_leader (sim), lagging = leader % 3 + 1;
    rgsim_partition (sim, 1u << lagging);
    cr_assert_eq (rgsim_propose (sim, leader, RG_MAX_ENTRIES + 1000), RG_MAX_ENTRIES + 1000);
    rgsim_run (sim, 2000);
    cr_assert_eq (sim->nacked, RG_MAX_ENTRIES + 1000, "the majority committed");
    uint64_t term = rgroup_term (sim->m[leader].g);
    rgsim_partition (sim, 0);
    rgsim_settle (sim, 20000);
    cr_assert_eq (sim->m[lagging].napplied, RG_MAX_ENTRIES + 1000);
    uint64_t clipped = 0;
    for (int i = 1; i <= 3; i++)
        clipped += rgroup_stats (sim->m[i].g)->tx_clipped;
    cr_assert_gt (clipped, 0, "nothing was cut");
    cr_assert_eq (rgsim_leader (sim), leader, "pre-vote: the returning member disrupted");
    cr_assert_eq (rgroup_term (sim->m[leader].g), term);
    rgsim_destroy (&sim);
}

//  Two single-member groups share one store under one prefix: each keeps
//  its own log, term and state across a restart.
typedef struct {
    uint64_t sum, count;
} s_acc_t;

static int s_acc_apply (void *arg, uint64_t index, const void *buf, size_t len, void **result)
{
    s_acc_t *a = arg;
    uint64_t v;
    memcpy (&v, buf, 8);
    a->sum += v, a->count++;
    return 0;
}
static int s_acc_snapshot (void *arg, void **buf, size_t *len)
{
    *buf = malloc (sizeof (s_acc_t));
    memcpy (*buf, arg, sizeof (s_acc_t));
    *len = sizeof (s_acc_t);
    return 0;
}
static int s_acc_restore (void *arg, const void *buf, size_t len)
{
    cr_assert_eq (len, sizeof (s_acc_t));
    memcpy (arg, buf, len);
    return 0;
}
static int64_t s_fixed_now (void *arg)
{
    return 5000;
}
static uint64_t s_zero_random (void *arg)
{
    return 0;
}
static int s_no_send (void *arg, uint64_t group, uint64_t to, const void *buf, size_t len)
{
    cr_assert_fail ("a single member sends nothing");
    return 0;
}

//  Flushes until nothing waits (a completion may let more proposals go).
static void s_flush_all (rgroup_t *g)
{
    for (int i = 0; i < 100 && rgroup_pending (g); i++)
        cr_assert_eq (rgroup_flush (g), 0);
    cr_assert (!rgroup_pending (g));
}

//  rgroup_stored () callback: LIST[0] counts, LIST[1..3] get the ids.
static void s_list (void *arg, uint64_t id)
{
    uint64_t *list = arg;
    if (list[0] < 3)
        list[1 + list[0]] = id;
    list[0]++;
}

Test (rgroup_store, two_groups_one_store)
{
    jdisk_t *disk = jdisk_new ();
    store_t *store;
    store_err_t err;
    store_conf_t conf = {.dir = "mem", .disk = disk};
    const rg_fsm_ops_t ops = {s_acc_apply, s_acc_snapshot, s_acc_restore};
    s_acc_t acc[2] = {{0}};
    for (int round = 0; round < 2; round++) {
        cr_assert_eq (store_mem_ops.open (&conf, &store, &err), 0);
        rg_env_t env = {.now_ms = s_fixed_now,
                        .random = s_zero_random,
                        .send = s_no_send,
                        .store_ops = &store_mem_ops,
                        .store = store,
                        .key_prefix = "raft/"};
        rgroup_t *g[2];
        char msg[200];
        for (int k = 0; k < 2; k++) {
            memset (&acc[k], 0, sizeof acc[k]);
            g[k] = rgroup_new (&env, 100 + (uint64_t)k, 1, &ops, &acc[k], msg, sizeof msg);
            cr_assert_not_null (g[k], "%s", msg);
            uint64_t me = 1;
            if (round == 0)
                cr_assert_eq (rgroup_bootstrap (g[k], &me, 1), 0);
            else
                cr_assert_eq (rgroup_bootstrap (g[k], &me, 1), RG_ESTATE, "bootstrapped twice");
            cr_assert_eq (rgroup_start (g[k]), 0);
            cr_assert (rgroup_is_leader (g[k]), "a single voter leads at once");
        }
        if (round == 0)
            for (uint64_t v = 1; v <= 10; v++)
                for (int k = 0; k < 2; k++) {
                    uint64_t x = v * (k ? 1000 : 1);
                    cr_assert_eq (rgroup_apply (g[k], &x, 8, NULL, NULL), 0);
                    s_flush_all (g[k]);
                }
        uint64_t zero = 0;
        for (int k = 0; k < 2; k++) {
            cr_assert_eq (rgroup_apply (g[k], &zero, 8, NULL, NULL), 0);
            s_flush_all (g[k]);
        }
        cr_assert_eq (acc[0].sum, 55, "group 100: %llu", (unsigned long long)acc[0].sum);
        cr_assert_eq (acc[1].sum, 55000, "group 101: %llu", (unsigned long long)acc[1].sum);
        cr_assert_eq (acc[0].count, 11 + (uint64_t)round);
        for (int k = 0; k < 2; k++)
            rgroup_destroy (&g[k]);
        store_mem_ops.close (&store);
    }
    //  Erasing one group's log leaves the other's whole.
    cr_assert_eq (store_mem_ops.open (&conf, &store, &err), 0);
    uint64_t listed[4] = {0}, nlisted;
    cr_assert_eq (rgroup_erase (&store_mem_ops, store, "raft/", 101, NULL), 0);
    cr_assert_eq (rgroup_stored (&store_mem_ops, store, "raft/", s_list, listed), 0);
    nlisted = listed[0];
    cr_assert (nlisted == 1 && listed[1] == 100, "%llu groups listed",
               (unsigned long long)nlisted);
    rg_env_t env = {.now_ms = s_fixed_now,
                    .random = s_zero_random,
                    .send = s_no_send,
                    .store_ops = &store_mem_ops,
                    .store = store,
                    .key_prefix = "raft/"};
    char msg[200];
    memset (&acc[0], 0, sizeof acc[0]);
    rgroup_t *g = rgroup_new (&env, 100, 1, &ops, &acc[0], msg, sizeof msg);
    cr_assert_not_null (g, "%s", msg);
    cr_assert_eq (rgroup_start (g), 0);
    s_flush_all (g);
    cr_assert_eq (acc[0].sum, 55, "group 100 after the erase of 101: %llu",
                  (unsigned long long)acc[0].sum);
    rgroup_destroy (&g);
    store_mem_ops.close (&store);
    jdisk_destroy (&disk);
}
