/*  tests/integration/test_fabric.c - several nodes in one process on loopback:
    discovery, handshake, pub/sub, membership events, seeds, bad input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "node/api/testing.h"
#include "testutil.h"

#define WAIT_MS 5000

//  Starts COUNT nodes named PREFIX-i on one beacon port; waits until each
//  sees the others ready.
static void start_nodes (weft_node_t **nodes, int count, const char *prefix)
{
    uint16_t port = tu_beacon_port ();
    for (int i = 0; i < count; i++) {
        char name[32];
        snprintf (name, sizeof name, "%s-%d", prefix, i);
        nodes[i] = tu_node (tu_config (name, port));
    }
    for (int i = 0; i < count; i++)
        tu_wait_peers (nodes[i], (size_t)count - 1, WAIT_MS);
}

static void stop_nodes (weft_node_t **nodes, int count)
{
    for (int i = 0; i < count; i++)
        weft_node_destroy (&nodes[i]);
}

Test (fabric, three_nodes_discover_each_other, .timeout = 30)
{
    weft_node_t *nodes[3];
    start_nodes (nodes, 3, "disc");
    for (int i = 0; i < 3; i++) {
        int joins = 0;
        weft_msg_t *msg;
        while (joins < 2 && (msg = tu_wait_kind (nodes[i], WEFT_MSG_JOIN, WAIT_MS))) {
            cr_assert_str_neq (weft_msg_sender (msg), weft_node_uuid (nodes[i]));
            cr_assert (strncmp (weft_msg_sender_name (msg), "disc-", 5) == 0);
            joins++;
            weft_msg_destroy (&msg);
        }
        cr_assert_eq (joins, 2, "node %d saw %d joins", i, joins);
        weft_peers_t *peers = NULL;
        cr_assert_eq (weft_peers (nodes[i], &peers), 0);
        cr_assert_eq (weft_peers_count (peers), 2);
        for (size_t p = 0; p < 2; p++) {
            cr_assert_str_eq (weft_peers_get (peers, p, "role"), "member");
            const char *source = weft_peers_get (peers, p, "source");
            //  whichever came first: its beacon, its HELLO after it heard ours,
            //  or the third node's gossip
            cr_assert (strcmp (source, "beacon") == 0 || strcmp (source, "hello") == 0 ||
                           strcmp (source, "gossip") == 0,
                       "%s", source);
            cr_assert (strncmp (weft_peers_get (peers, p, "endpoint"), "tcp://127.0.0.1:", 16) ==
                       0);
        }
        cr_assert_null (weft_peers_get (peers, 0, "no-such-field"));
        weft_peers_destroy (&peers);
    }
    stop_nodes (nodes, 3);
}

//  Receives COUNT messages from PUBLISHER on NODE and checks order and bodies.
static void expect_stream (weft_node_t *node, const char *publisher, int count)
{
    int next = 0;
    int64_t deadline = tu_now_ms () + 20000;
    while (next < count && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        int rc = weft_recv (node, &msg, 1000);
        if (rc == WEFT_ETIMEDOUT)
            continue;
        cr_assert_eq (rc, 0, "recv: %s", weft_strerror (rc));
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            cr_assert_str_eq (weft_msg_sender (msg), publisher);
            cr_assert_str_eq (weft_msg_topic (msg), "data.stream");
            cr_assert_eq (weft_msg_seq (msg), (uint64_t)next + 1, "seq %llu, expected %d",
                          (unsigned long long)weft_msg_seq (msg), next + 1);
            size_t len = 0;
            const char *body = weft_msg_body (msg, &len);
            char expect[32];
            int n = snprintf (expect, sizeof expect, "message %d", next);
            cr_assert_eq (len, (size_t)n);
            cr_assert (memcmp (body, expect, len) == 0);
            next++;
        }
        cr_assert_neq (weft_msg_kind (msg), WEFT_MSG_GAP, "a gap on loopback with room to spare");
        weft_msg_destroy (&msg);
    }
    cr_assert_eq (next, count, "%s got %d of %d messages", weft_node_name (node), next, count);
}

Test (fabric, ten_thousand_messages_reach_two_subscribers_in_order, .timeout = 60)
{
    weft_node_t *nodes[3];
    uint16_t port = tu_beacon_port ();
    nodes[0] = tu_node (tu_config ("pub", port));
    nodes[1] = tu_node (tu_config ("sub-1", port));
    nodes[2] = tu_node (tu_config ("sub-2", port));
    cr_assert_eq (weft_subscribe (nodes[1], "data.stream"), 0);
    cr_assert_eq (weft_subscribe (nodes[2], "data.#"), 0);
    tu_wait_peers (nodes[0], 2, WAIT_MS); //  both subscribers' subscriptions reached us
    for (int i = 0; i < 10000; i++) {
        char body[32];
        int n = snprintf (body, sizeof body, "message %d", i);
        cr_assert_eq (weft_publish (nodes[0], "data.stream", body, (size_t)n), 0);
    }
    expect_stream (nodes[1], weft_node_uuid (nodes[0]), 10000);
    expect_stream (nodes[2], weft_node_uuid (nodes[0]), 10000);
    stop_nodes (nodes, 3);
}

Test (fabric, wildcards_and_headers, .timeout = 30)
{
    weft_node_t *nodes[2];
    uint16_t port = tu_beacon_port ();
    nodes[0] = tu_node (tu_config ("pub", port));
    nodes[1] = tu_node (tu_config ("sub", port));
    cr_assert_eq (weft_subscribe (nodes[1], "a.*.c"), 0);
    tu_wait_peers (nodes[0], 1, WAIT_MS);
    const char *headers[] = {"content-type", "text/plain", "trace", "42"};
    cr_assert_eq (weft_publish (nodes[0], "a.b.d", "no", 2), 0);
    cr_assert_eq (weft_publish (nodes[0], "a.b.b.c", "no", 2), 0);
    cr_assert_eq (weft_publishv (nodes[0], "a.b.c", headers, 2, "yes", 3), 0);
    weft_msg_t *msg = tu_wait_kind (nodes[1], WEFT_MSG_MESSAGE, WAIT_MS);
    cr_assert_not_null (msg);
    cr_assert_str_eq (weft_msg_topic (msg), "a.b.c");
    cr_assert_str_eq (weft_msg_sender_name (msg), "pub");
    cr_assert_eq (weft_msg_header_count (msg), 2);
    cr_assert_str_eq (weft_msg_header (msg, "content-type"), "text/plain");
    cr_assert_str_eq (weft_msg_header (msg, "trace"), "42");
    cr_assert_null (weft_msg_header (msg, "missing"));
    const char *key, *value;
    cr_assert_eq (weft_msg_header_at (msg, 1, &key, &value), 0);
    cr_assert_str_eq (key, "trace");
    cr_assert_eq (weft_msg_header_at (msg, 2, &key, &value), WEFT_ENOTFOUND);
    cr_assert (weft_msg_time_us (msg) > 0);
    weft_msg_destroy (&msg);
    stop_nodes (nodes, 2);
}

Test (fabric, stopped_node_is_reported_left_at_once, .timeout = 30)
{
    uint16_t port = tu_beacon_port ();
    weft_node_t *nodes[2];
    for (int i = 0; i < 2; i++) {
        weft_config_t *cfg = tu_config (i ? "leaver" : "stayer", port);
        weft_config_set (cfg, "discovery.evasive_ms", "10000");
        weft_config_set (cfg, "discovery.expired_ms", "20000"); //  so only a leave can explain it
        nodes[i] = tu_node (cfg);
    }
    tu_wait_peers (nodes[0], 1, WAIT_MS);
    int64_t stopped_at = tu_now_ms ();
    weft_node_destroy (&nodes[1]);
    weft_msg_t *msg = tu_wait_kind (nodes[0], WEFT_MSG_LEAVE, 2000);
    cr_assert_not_null (msg, "no LEAVE within 2 s of a clean stop");
    cr_assert_str_eq (weft_msg_sender_name (msg), "leaver");
    cr_assert_lt (tu_now_ms () - stopped_at, 2000);
    weft_msg_destroy (&msg);
    weft_node_destroy (&nodes[0]);
}

Test (fabric, silent_node_turns_evasive_then_expires, .timeout = 30)
{
    weft_node_t *nodes[2];
    start_nodes (nodes, 2, "quiet");
    cr_assert_eq (weft_node_silence (nodes[1], true), 0);
    int64_t silenced_at = tu_now_ms ();
    weft_msg_t *msg = tu_wait_kind (nodes[0], WEFT_MSG_EVASIVE, 3000);
    cr_assert_not_null (msg, "no EVASIVE");
    weft_msg_destroy (&msg);
    msg = tu_wait_kind (nodes[0], WEFT_MSG_EXPIRED, 3000);
    cr_assert_not_null (msg, "no EXPIRED");
    int64_t took = tu_now_ms () - silenced_at;
    //  expiry is 800 ms of silence; the last ping may be up to 100 ms old
    cr_assert_geq (took, 600, "expired after %lld ms: too early", (long long)took);
    cr_assert_leq (took, 3000, "expired after %lld ms: too late", (long long)took);
    cr_assert_str_eq (weft_msg_sender (msg), weft_node_uuid (nodes[1]));
    weft_msg_destroy (&msg);
    stop_nodes (nodes, 2);
}

//  A node its peers expired (it fell silent past the expiry, as a paused
//  process does) is taken back by them once it speaks again: they hear its
//  beacon, add it, say HELLO asking for an answer, and it answers (issue 10;
//  before the HELLO answer it stayed out until one of them restarted).
Test (fabric, expired_node_that_speaks_again_is_readmitted, .timeout = 30)
{
    weft_node_t *nodes[3];
    start_nodes (nodes, 3, "heal");
    cr_assert_eq (weft_node_silence (nodes[2], true), 0);
    for (int i = 0; i < 2; i++) {
        weft_msg_t *msg = tu_wait_kind (nodes[i], WEFT_MSG_EXPIRED, 3000);
        cr_assert_not_null (msg, "node %d: no EXPIRED", i);
        cr_assert_str_eq (weft_msg_sender (msg), weft_node_uuid (nodes[2]));
        weft_msg_destroy (&msg);
    }
    cr_assert_eq (weft_node_silence (nodes[2], false), 0);
    int64_t spoke_at = tu_now_ms ();
    for (int i = 0; i < 2; i++) {
        weft_msg_t *msg = tu_wait_kind (nodes[i], WEFT_MSG_JOIN, 3000);
        cr_assert_not_null (msg, "node %d never took the silent node back", i);
        cr_assert_str_eq (weft_msg_sender (msg), weft_node_uuid (nodes[2]));
        weft_msg_destroy (&msg);
    }
    //  within 2 x the expiry (800 ms) of its return, plus one beacon interval
    int64_t took = tu_now_ms () - spoke_at;
    cr_assert_leq (took, 2 * 800 + 300, "re-admitted after %lld ms", (long long)took);
    for (int i = 0; i < 3; i++)
        tu_wait_peers (nodes[i], 2, WAIT_MS); //  every view whole again, everyone ready
    stop_nodes (nodes, 3);
}

Test (fabric, seeds_without_broadcast, .timeout = 30)
{
    //  beacons off: B and C only know A's ROUTER; gossip introduces B and C
    uint16_t port = tu_beacon_port ();
    weft_node_t *nodes[3];
    weft_config_t *cfg = tu_config ("seed", port);
    weft_config_set (cfg, "discovery.enabled", "false");
    nodes[0] = tu_node (cfg);
    char *status = NULL;
    cr_assert_eq (weft_status (nodes[0], &status), 0);
    const char *router = strstr (status, "\"router\":\"");
    cr_assert_not_null (router);
    char endpoint[128];
    sscanf (router + 10, "%127[^\"]", endpoint);
    weft_free (status);
    for (int i = 1; i < 3; i++) {
        cfg = tu_config (i == 1 ? "b" : "c", port);
        cr_assert_eq (weft_config_set (cfg, "discovery.enabled", "false"), 0);
        cr_assert_eq (weft_config_set (cfg, "discovery.seeds", endpoint), 0);
        nodes[i] = tu_node (cfg);
    }
    for (int i = 0; i < 3; i++)
        tu_wait_peers (nodes[i], 2, WAIT_MS);
    //  and the status of a peer can be asked over the network
    weft_peers_t *peers = NULL;
    cr_assert_eq (weft_peers (nodes[1], &peers), 0);
    char *json = NULL;
    cr_assert_eq (weft_peer_status (nodes[1], weft_peers_get (peers, 0, "uuid"), 2000, &json), 0);
    cr_assert_not_null (strstr (json, "\"uuid\":\""));
    weft_free (json);
    weft_peers_destroy (&peers);
    cr_assert_eq (weft_peer_status (nodes[1], "00000000000000000000000000000000", 100, &json),
                  WEFT_ENOTFOUND);
    stop_nodes (nodes, 3);
}

//  A publisher "fast" and a subscriber "slow" of topic "burst", both with a
//  high-water mark of 10 (so that a burst drops), that know each other.
static void burst_pair (weft_node_t **pub, weft_node_t **sub)
{
    uint16_t port = tu_beacon_port ();
    weft_config_t *cfg = tu_config ("fast", port);
    weft_config_set (cfg, "pubsub.hwm", "10");
    *pub = tu_node (cfg);
    cfg = tu_config ("slow", port);
    weft_config_set (cfg, "pubsub.hwm", "10");
    *sub = tu_node (cfg);
    cr_assert_eq (weft_subscribe (*sub, "burst"), 0);
    tu_wait_peers (*pub, 1, WAIT_MS);
    tu_wait_peers (*sub, 1, WAIT_MS);
}

Test (fabric, dropped_messages_are_reported_as_gaps, .timeout = 60)
{
    weft_node_t *pub, *sub;
    burst_pair (&pub, &sub);
    const int total = 50000;
    for (int i = 0; i < total; i++)
        cr_assert_eq (weft_publish (pub, "burst", "x", 1), 0);
    //  drain the burst; then the tail message, resent until it gets through
    //  (the burst may have filled every queue, and volatile drops are allowed)
    uint64_t received = 0, lost = 0, first_seq = 0, last_seq = 0;
    bool tail = false;
    int64_t deadline = tu_now_ms () + 30000;
    while (!tail && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (sub, &msg, 200)) {
            cr_assert_eq (weft_publish (pub, "burst", "tail", 4), 0);
            continue;
        }
        if (weft_msg_kind (msg) == WEFT_MSG_GAP)
            lost += weft_msg_seq (msg);
        else if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            received++;
            last_seq = weft_msg_seq (msg);
            first_seq = first_seq ? first_seq : last_seq;
            size_t len = 0;
            weft_msg_body (msg, &len);
            tail = len == 4;
        }
        weft_msg_destroy (&msg);
    }
    cr_assert (tail, "the tail message never came");
    cr_assert_gt (lost, 0, "a 10-message HWM under a 50,000-message burst dropped nothing?");
    //  every sequence from the first seen to the last is either received or counted lost
    cr_assert_eq (received + lost, last_seq - first_seq + 1, "received %llu + lost %llu != %llu",
                  (unsigned long long)received, (unsigned long long)lost,
                  (unsigned long long)(last_seq - first_seq + 1));
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}

Test (fabric, bad_input_is_refused_with_clear_codes, .timeout = 30)
{
    uint16_t port = tu_beacon_port ();
    weft_config_t *cfg = tu_config ("strict", port);
    cr_assert_eq (weft_config_set (cfg, "limits.max_message", "1024"), 0);
    cr_assert_eq (weft_config_set (cfg, "no.such.key", "1"), WEFT_ENOTFOUND);
    cr_assert_eq (weft_config_set (cfg, "discovery.port", "0"), WEFT_EINVAL);
    cr_assert_not_null (strstr (weft_config_error (cfg), "discovery.port"));
    cr_assert_eq (weft_config_set (cfg, "discovery.seeds", "udp://x:1"), WEFT_EINVAL);
    weft_node_t *node = tu_node (cfg);
    char big[2048] = {0};
    cr_assert_eq (weft_publish (node, "ok", big, sizeof big), WEFT_EMSGSIZE);
    cr_assert_eq (weft_publish (node, "ok", big, 1024), 0);
    cr_assert_eq (weft_publish (node, "bad topic", "x", 1), WEFT_EINVAL);
    cr_assert_eq (weft_publish (node, "a..b", "x", 1), WEFT_EINVAL);
    cr_assert_eq (weft_publish (node, "", "x", 1), WEFT_EINVAL);
    cr_assert_eq (weft_publish (node, NULL, "x", 1), WEFT_EINVAL);
    cr_assert_eq (weft_subscribe (node, "a.#.b"), WEFT_EINVAL);
    cr_assert_eq (weft_unsubscribe (node, "never.subscribed"), WEFT_ENOTFOUND);
    const char *too_many[2 * 40];
    for (int i = 0; i < 80; i++)
        too_many[i] = "k";
    cr_assert_eq (weft_publishv (node, "ok", too_many, 40, "x", 1), WEFT_EMSGSIZE);
    weft_msg_t *msg = NULL;
    cr_assert_eq (weft_recv (node, &msg, 0), WEFT_EAGAIN);
    cr_assert_eq (weft_recv (node, &msg, 10), WEFT_ETIMEDOUT);
    cr_assert_eq (weft_node_start (node), WEFT_ESTATE);
    cr_assert_eq (weft_node_stop (node), 0);
    cr_assert_eq (weft_node_stop (node), 0, "stop is idempotent");
    cr_assert_eq (weft_recv (node, &msg, 100), WEFT_ECLOSED);
    cr_assert_eq (weft_publish (node, "ok", "x", 1), WEFT_ECLOSED);
    cr_assert_eq (weft_subscribe (node, "ok"), WEFT_ECLOSED);
    cr_assert_eq (weft_node_start (node), WEFT_ECLOSED);
    weft_node_destroy (&node);
    weft_node_destroy (&node); //  NULL-safe
}

Test (fabric, port_in_use_and_bad_interface_fail_start, .timeout = 30)
{
    uint16_t port = tu_beacon_port ();
    weft_node_t *first = tu_node (tu_config ("first", port));
    char *status = NULL;
    cr_assert_eq (weft_status (first, &status), 0);
    unsigned router_port = 0;
    sscanf (strstr (status, "\"router\":\"tcp://127.0.0.1:") + 26, "%u", &router_port);
    weft_free (status);
    weft_config_t *cfg = tu_config ("second", port);
    char text[16];
    snprintf (text, sizeof text, "%u", router_port);
    cr_assert_eq (weft_config_set (cfg, "transport.port", text), 0);
    weft_node_t *second = weft_node_new (cfg, NULL);
    cr_assert_eq (weft_node_start (second), WEFT_EADDRINUSE);
    cr_assert_not_null (strstr (weft_node_error (second), text), "%s", weft_node_error (second));
    weft_node_destroy (&second);
    cr_assert_eq (weft_config_set (cfg, "transport.port", "0"), 0);
    cr_assert_eq (weft_config_set (cfg, "discovery.interface", "nope0"), 0);
    second = weft_node_new (cfg, NULL);
    cr_assert_eq (weft_node_start (second), WEFT_ENODEV);
    cr_assert_not_null (strstr (weft_node_error (second), "nope0"));
    weft_node_destroy (&second);
    weft_config_destroy (&cfg);
    weft_node_destroy (&first);
}

//  The JSON of NODE's status (weft_free it).
static char *status_of (weft_node_t *node)
{
    char *json = NULL;
    cr_assert_eq (weft_status (node, &json), 0);
    return json;
}

//  Losses at the very end of a burst are reported too (the publisher's
//  HEADs reveal them), and the publisher's count of what this subscriber
//  missed agrees with the subscriber's gaps (MISSED).
Test (fabric, tail_losses_are_gaps_and_the_publisher_counts_them, .timeout = 60)
{
    weft_node_t *pub, *sub;
    burst_pair (&pub, &sub);
    const uint64_t total = 50000;
    for (uint64_t i = 0; i < total; i++)
        cr_assert_eq (weft_publish (pub, "burst", "x", 1), 0);
    //  no tail message: what the burst's end lost only a HEAD can tell
    uint64_t received = 0, lost = 0, first_seq = 0;
    int64_t deadline = tu_now_ms () + 30000;
    while ((!first_seq || received + lost < total - first_seq + 1) && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (sub, &msg, 200))
            continue;
        if (weft_msg_kind (msg) == WEFT_MSG_GAP)
            lost += weft_msg_seq (msg);
        else if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            received++;
            first_seq = first_seq ? first_seq : weft_msg_seq (msg);
        }
        weft_msg_destroy (&msg);
    }
    cr_assert_gt (lost, 0, "a 10-message HWM under a 50,000-message burst dropped nothing?");
    cr_assert_eq (received + lost, total - first_seq + 1, "received %llu + lost %llu != %llu",
                  (unsigned long long)received, (unsigned long long)lost,
                  (unsigned long long)(total - first_seq + 1));
    //  the publisher hears it within an interval or two
    char expect[160];
    snprintf (expect, sizeof expect, "{\"uuid\":\"%s\",\"missed\":0,\"dropped\":%llu}",
              weft_node_uuid (sub), (unsigned long long)lost);
    char *json = status_of (pub);
    deadline = tu_now_ms () + 10000;
    while (!strstr (json, expect) && tu_now_ms () < deadline) {
        weft_free (json);
        weft_msg_t *msg = NULL;
        if (weft_recv (pub, &msg, 100) == 0)
            weft_msg_destroy (&msg);
        json = status_of (pub);
    }
    cr_assert (strstr (json, expect), "%s not in %s", expect, json);
    weft_free (json);
    weft_node_destroy (&sub);
    weft_node_destroy (&pub);
}
