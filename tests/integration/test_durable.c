/*  tests/integration/test_durable.c - durable topics across nodes in one
    process: gap repair, late joiners, durable subscriptions, restarts,
    retention, a failing journal. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "node/api/testing.h"
#include "testutil.h"

#define WAIT_MS 5000

static char s_dir[256]; //  this test's scratch directory

static int remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

static void scratch_init (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/weft-durable-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
}

static void scratch_fini (void)
{
    nftw (s_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

//  A config with a journal in the scratch dir under SUBDIR.
static weft_config_t *durable_config (const char *name, uint16_t port, const char *subdir)
{
    weft_config_t *cfg = tu_config (name, port);
    char path[512];
    snprintf (path, sizeof path, "%s/%s", s_dir, subdir);
    cr_assert_eq (weft_config_set (cfg, "journal.dir", path), 0);
    cr_assert_eq (weft_config_set (cfg, "journal.sync", "async"), 0);
    return cfg;
}

//  Receives messages on NODE until COUNT of TOPIC arrived in order from
//  sequence FIRST; fails on a gap, a duplicate or the deadline. Returns the
//  last message's seq.
static uint64_t expect_in_order (weft_node_t *node, const char *topic, uint64_t first,
                                 uint64_t count, int timeout_ms)
{
    uint64_t next = first, end = first + count;
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (next < end && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 200))
            continue;
        int kind = weft_msg_kind (msg);
        cr_assert_neq (kind, WEFT_MSG_GAP, "lost %llu messages before seq %llu",
                       (unsigned long long)weft_msg_seq (msg), (unsigned long long)next);
        if (kind == WEFT_MSG_MESSAGE && strcmp (weft_msg_topic (msg), topic) == 0) {
            cr_assert_eq (weft_msg_seq (msg), next, "got seq %llu, expected %llu",
                          (unsigned long long)weft_msg_seq (msg), (unsigned long long)next);
            char body[32];
            snprintf (body, sizeof body, "m%llu", (unsigned long long)next);
            size_t len = 0;
            const char *data = weft_msg_body (msg, &len);
            cr_assert (len == strlen (body) && memcmp (data, body, len) == 0);
            next++;
        }
        weft_msg_destroy (&msg);
    }
    if (next != end) {
        char *json = NULL;
        weft_status (node, &json);
        cr_log_error ("%s", json ? json : "");
        weft_free (json);
    }
    cr_assert_eq (next, end, "%s: got up to %llu of %llu..%llu", weft_node_name (node),
                  (unsigned long long)next, (unsigned long long)first, (unsigned long long)end - 1);
    return end - 1;
}

//  Publishes COUNT messages "m<seq>" on TOPIC, their seqs following FIRST.
static void publish_range (weft_node_t *node, const char *topic, uint64_t first, uint64_t count)
{
    for (uint64_t i = first; i < first + count; i++) {
        char body[32];
        int n = snprintf (body, sizeof body, "m%llu", (unsigned long long)i);
        cr_assert_eq (weft_publish (node, topic, body, (size_t)n), 0);
    }
}

//  Waits until the counter KEY (e.g. "\"journaled\":") of NODE's status
//  reaches AT_LEAST; DRAIN: throws away what NODE receives meanwhile.
static void wait_counter (weft_node_t *node, const char *key, uint64_t at_least, bool drain)
{
    int64_t deadline = tu_now_ms () + WAIT_MS;
    unsigned long long seen = 0;
    while (tu_now_ms () < deadline) {
        char *json = NULL;
        cr_assert_eq (weft_status (node, &json), 0);
        const char *p = strstr (json, key);
        seen = p ? strtoull (p + strlen (key), NULL, 10) : 0;
        weft_free (json);
        if (seen >= at_least)
            return;
        weft_msg_t *msg = NULL;
        if (drain && weft_recv (node, &msg, 20) == 0)
            weft_msg_destroy (&msg);
        else if (!drain)
            zmq_poll (NULL, 0, 20); //  the pause between two looks at the status
    }
    cr_assert_fail ("%s only %llu of %llu", key, seen, (unsigned long long)at_least);
}

//  Waits until NODE's status shows JOURNALED durable messages committed.
static void wait_journaled (weft_node_t *node, uint64_t journaled)
{
    wait_counter (node, "\"journaled\":", journaled, true);
}

TestSuite (durable, .init = scratch_init, .fini = scratch_fini);

Test (durable, declaring_needs_a_journal, .timeout = 30)
{
    weft_node_t *node = tu_node (tu_config ("plain", tu_beacon_port ()));
    cr_assert_eq (weft_declare_durable (node, "orders.#", NULL), WEFT_ESTATE);
    cr_assert_eq (weft_subscribe_durable (node, "orders.#", "billing", "earliest", 0), WEFT_ESTATE);
    weft_node_destroy (&node);
    node = tu_node (durable_config ("journaled", tu_beacon_port (), "j"));
    cr_assert_eq (weft_declare_durable (node, "orders.#", "max_count=10"), 0);
    cr_assert_eq (weft_declare_durable (node, "bad..pattern", NULL), WEFT_EINVAL);
    cr_assert_eq (weft_declare_durable (node, "ok", "max_apples=3"), WEFT_EINVAL);
    cr_assert_eq (weft_subscribe_from (node, "x", "yesterday"), WEFT_EINVAL);
    cr_assert_eq (weft_subscribe_from (node, "x", "seq:0"), WEFT_EINVAL);
    cr_assert_eq (weft_subscribe_durable (node, "x", "bad/name", NULL, 0), WEFT_EINVAL);
    weft_node_destroy (&node);
}

Test (durable, gaps_from_hwm_drops_are_repaired, .timeout = 90)
{
    uint16_t port = tu_beacon_port ();
    weft_config_t *cfg = durable_config ("pub", port, "pub");
    cr_assert_eq (weft_config_set (cfg, "pubsub.hwm", "20"), 0);
    weft_node_t *pub = tu_node (cfg);
    cfg = tu_config ("sub", port);
    cr_assert_eq (weft_config_set (cfg, "pubsub.hwm", "20"), 0);
    weft_node_t *sub = tu_node (cfg);
    cr_assert_eq (weft_declare_durable (pub, "ledger", NULL), 0);
    cr_assert_eq (weft_subscribe (sub, "ledger"), 0);
    tu_wait_peers (pub, 1, WAIT_MS);
    publish_range (pub, "ledger", 1, 20000);
    //  a 20-message HWM drops most of the burst; repair fills every hole
    expect_in_order (sub, "ledger", 1, 20000, 60000);
    char *json = NULL;
    cr_assert_eq (weft_status (sub, &json), 0);
    cr_assert_null (strstr (json, "\"repaired\":0,"), "nothing was dropped, so nothing tested");
    weft_free (json);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}

Test (durable, late_joiner_replays_from_earliest_seq_and_time, .timeout = 60)
{
    uint16_t port = tu_beacon_port ();
    weft_node_t *pub = tu_node (durable_config ("pub", port, "pub"));
    cr_assert_eq (weft_declare_durable (pub, "history.*", NULL), 0);
    publish_range (pub, "history.a", 1, 500);
    wait_journaled (pub, 500);
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    char from_time[64];
    snprintf (from_time, sizeof from_time, "time:%lld.%06ld", (long long)now.tv_sec,
              now.tv_nsec / 1000);
    publish_range (pub, "history.a", 501, 100);
    wait_journaled (pub, 600);

    weft_node_t *early = tu_node (tu_config ("early", port));
    cr_assert_eq (weft_subscribe_from (early, "history.*", "earliest"), 0);
    weft_node_t *recent = tu_node (tu_config ("recent", port));
    cr_assert_eq (weft_subscribe_from (recent, "history.a", from_time), 0);
    weft_node_t *middle = tu_node (tu_config ("middle", port));
    cr_assert_eq (weft_subscribe_from (middle, "history.#", "seq:250"), 0);
    expect_in_order (early, "history.a", 1, 600, WAIT_MS * 2);
    expect_in_order (recent, "history.a", 501, 100, WAIT_MS * 2);
    expect_in_order (middle, "history.a", 250, 351, WAIT_MS * 2);
    //  and live traffic follows the replay with no seam
    tu_wait_peers (pub, 3, WAIT_MS);
    publish_range (pub, "history.a", 601, 50);
    expect_in_order (early, "history.a", 601, 50, WAIT_MS);
    expect_in_order (middle, "history.a", 601, 50, WAIT_MS);
    weft_node_destroy (&early);
    weft_node_destroy (&recent);
    weft_node_destroy (&middle);
    weft_node_destroy (&pub);
}

Test (durable, replay_beyond_retention_says_truncated, .timeout = 60)
{
    uint16_t port = tu_beacon_port ();
    weft_node_t *pub = tu_node (durable_config ("pub", port, "pub"));
    cr_assert_eq (weft_declare_durable (pub, "short", "max_count=100"), 0);
    publish_range (pub, "short", 1, 1000);
    wait_journaled (pub, 1000);
    //  retention runs a bounded step per tick: wait until the stream is trimmed
    int64_t deadline = tu_now_ms () + WAIT_MS;
    bool trimmed = false;
    while (!trimmed && tu_now_ms () < deadline) {
        char *json = NULL;
        cr_assert_eq (weft_status (pub, &json), 0);
        trimmed = strstr (json, "\"stream\":\"t/short\",\"count\":100,") != NULL;
        weft_free (json);
        weft_msg_t *msg = NULL;
        if (!trimmed && weft_recv (pub, &msg, 50) == 0)
            weft_msg_destroy (&msg);
    }
    cr_assert (trimmed, "retention did not keep the stream at 100 entries");
    weft_node_t *sub = tu_node (tu_config ("late", port));
    cr_assert_eq (weft_subscribe_from (sub, "short", "seq:5"), 0);
    weft_msg_t *msg = tu_wait_kind (sub, WEFT_MSG_TRUNCATED, WAIT_MS);
    cr_assert_not_null (msg, "no TRUNCATED event for a replay beyond retention");
    cr_assert_eq (weft_msg_seq (msg), 901);
    cr_assert_str_eq (weft_msg_topic (msg), "short");
    weft_msg_destroy (&msg);
    expect_in_order (sub, "short", 901, 100, WAIT_MS);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}

Test (durable, durable_subscription_resumes_after_restart, .timeout = 90)
{
    uint16_t port = tu_beacon_port ();
    weft_node_t *pub = tu_node (durable_config ("pub", port, "pub"));
    cr_assert_eq (weft_declare_durable (pub, "jobs", NULL), 0);
    weft_node_t *sub = tu_node (durable_config ("worker", port, "worker"));
    char uuid[64];
    snprintf (uuid, sizeof uuid, "%s", weft_node_uuid (sub));
    cr_assert_eq (weft_subscribe_durable (sub, "jobs", "w1", "earliest", 0), 0);
    tu_wait_peers (pub, 1, WAIT_MS);
    publish_range (pub, "jobs", 1, 300);
    //  acknowledge the first 200 only, then go away
    uint64_t next = 1;
    while (next <= 200) {
        weft_msg_t *msg = NULL;
        cr_assert_eq (weft_recv (sub, &msg, WAIT_MS), 0);
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            cr_assert_eq (weft_msg_seq (msg), next++);
            cr_assert_eq (weft_ack (sub, msg), 0);
        }
        weft_msg_destroy (&msg);
    }
    weft_node_destroy (&sub);
    publish_range (pub, "jobs", 301, 100); //  published while the worker is away
    sub = tu_node (durable_config ("worker", port, "worker"));
    cr_assert_str_eq (weft_node_uuid (sub), uuid, "identity is kept in the journal");
    cr_assert_eq (weft_subscribe_durable (sub, "jobs", "w1", "earliest", 1), 0);
    expect_in_order (sub, "jobs", 201, 200, WAIT_MS * 2);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}

Test (durable, restarted_publisher_reuses_no_sequence, .timeout = 60)
{
    uint16_t port = tu_beacon_port ();
    weft_config_t *cfg = durable_config ("pub", port, "pub");
    cr_assert_eq (weft_config_set (cfg, "durable.topics", "audit"), 0);
    weft_node_t *pub = tu_node (cfg);
    publish_range (pub, "audit", 1, 50);
    wait_journaled (pub, 50);
    weft_node_destroy (&pub);
    cfg = durable_config ("pub", port, "pub");
    cr_assert_eq (weft_config_set (cfg, "durable.topics", "audit"), 0);
    pub = tu_node (cfg);
    weft_node_t *sub = tu_node (tu_config ("reader", port));
    cr_assert_eq (weft_subscribe_from (sub, "audit", "earliest"), 0);
    expect_in_order (sub, "audit", 1, 50, WAIT_MS);
    tu_wait_peers (pub, 1, WAIT_MS);
    publish_range (pub, "audit", 51, 10);
    expect_in_order (sub, "audit", 51, 10, WAIT_MS);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}

Test (durable, failing_journal_refuses_durable_publishes, .timeout = 60)
{
    weft_node_t *pub = tu_node (durable_config ("pub", tu_beacon_port (), "pub"));
    cr_assert_eq (weft_declare_durable (pub, "safe", NULL), 0);
    publish_range (pub, "safe", 1, 10);
    wait_journaled (pub, 10);
    cr_assert_eq (weft_node_fail_journal (pub, WEFT_ENOSPC), 0); //  the disk is full from now
    cr_assert_eq (weft_publish (pub, "safe", "lost", 4), 0);     //  accepted, then its commit fails
    int rc = 0;
    int64_t deadline = tu_now_ms () + WAIT_MS;
    while ((rc = weft_publish (pub, "safe", "x", 1)) == 0 && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (pub, &msg, 20) == 0)
            weft_msg_destroy (&msg);
    }
    cr_assert_eq (rc, WEFT_ENOSPC, "durable publishes are refused while the disk is full");
    cr_assert_eq (weft_publish (pub, "volatile.topic", "x", 1), 0, "volatile ones go on");
    cr_assert_eq (weft_node_fail_journal (pub, 0), 0); //  space again
    deadline = tu_now_ms () + WAIT_MS;
    while ((rc = weft_publish (pub, "safe", "back", 4)) != 0 && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (pub, &msg, 50) == 0)
            weft_msg_destroy (&msg);
    }
    cr_assert_eq (rc, 0, "durable publishing resumes once commits work");
    //  what was committed before is intact; what failed was never acknowledged
    wait_journaled (pub, 11);
    char *json = NULL;
    cr_assert_eq (weft_status (pub, &json), 0);
    cr_assert_not_null (strstr (json, "\"stream\":\"t/safe\",\"count\":11,"), "%s", json);
    weft_free (json);
    weft_node_destroy (&pub);
}

Test (durable, stream_born_after_an_earliest_subscription_is_complete, .timeout = 60)
{
    //  the subscriber asks for history before the stream exists, and the
    //  publisher starts before the subscription has reached it: the first
    //  messages it sees live are not the first ones, and it must fetch those
    uint16_t port = tu_beacon_port ();
    weft_node_t *sub = tu_node (tu_config ("early-bird", port));
    cr_assert_eq (weft_subscribe_from (sub, "born.#", "earliest"), 0);
    weft_node_t *pub = tu_node (durable_config ("pub", port, "pub"));
    cr_assert_eq (weft_declare_durable (pub, "born.#", NULL), 0);
    weft_msg_t *msg = tu_wait_kind (pub, WEFT_MSG_JOIN, WAIT_MS); //  alive, maybe not ready
    cr_assert_not_null (msg);
    weft_msg_destroy (&msg);
    publish_range (pub, "born.x", 1, 2000);
    expect_in_order (sub, "born.x", 1, 2000, WAIT_MS * 2);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}

Test (durable, retention_keeps_up_with_a_fast_publisher, .timeout = 60)
{
    weft_node_t *pub = tu_node (durable_config ("pub", tu_beacon_port (), "pub"));
    cr_assert_eq (weft_declare_durable (pub, "fast", "max_count=1000"), 0);
    publish_range (pub, "fast", 1, 20000);
    wait_journaled (pub, 20000);
    char *json = NULL;
    cr_assert_eq (weft_status (pub, &json), 0);
    const char *count = strstr (json, "\"stream\":\"t/fast\",\"count\":");
    cr_assert_not_null (count, "%s", json);
    long kept = strtol (count + strlen ("\"stream\":\"t/fast\",\"count\":"), NULL, 10);
    weft_free (json);
    //  trimmed in the same commits as the appends: never far above the limit
    cr_assert_leq (kept, 1000 + 1024, "the stream holds %ld entries", kept);
    weft_node_destroy (&pub);
}

//  Auto-ack moves the cursor when the application takes a message, not when
//  the node queues it: what was queued for the application and never read
//  before it went away comes again after the restart (issue 10: the cursor
//  used to be past it already, so those messages were lost to the name).
Test (durable, auto_ack_counts_only_what_the_application_took, .timeout = 90)
{
    uint16_t port = tu_beacon_port ();
    weft_node_t *pub = tu_node (durable_config ("pub", port, "pub"));
    cr_assert_eq (weft_declare_durable (pub, "jobs", NULL), 0);
    weft_node_t *sub = tu_node (durable_config ("worker", port, "worker"));
    cr_assert_eq (weft_subscribe_durable (sub, "jobs", "w1", "earliest", 1), 0);
    tu_wait_peers (pub, 1, WAIT_MS);
    publish_range (pub, "jobs", 1, 300);
    expect_in_order (sub, "jobs", 1, 100, WAIT_MS); //  took 100, acknowledged by taking
    //  the other 200 reach the worker's node and wait for the application
    wait_counter (sub, "\"delivered\":", 300, false);
    weft_node_destroy (&sub);
    sub = tu_node (durable_config ("worker", port, "worker"));
    cr_assert_eq (weft_subscribe_durable (sub, "jobs", "w1", "earliest", 1), 0);
    expect_in_order (sub, "jobs", 101, 200, WAIT_MS * 2);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}
