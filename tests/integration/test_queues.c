/*  tests/integration/test_queues.c - queues across member nodes in one
    process: confirmed sends, competing consumers, acks, redelivery, dead
    letters, redrive, priorities, dedup, failover and a joining member. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/testing.h"
#include "testutil.h"

#define WAIT_MS   10000
#define MAX_NODES 6

static char s_dir[256]; //  this test's scratch directory
static uint16_t s_port; //  its beacon port
static weft_node_t *s_nodes[MAX_NODES];

static int remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

static void setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/weft-queues-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
    s_port = tu_beacon_port ();
    memset (s_nodes, 0, sizeof s_nodes);
}

static void teardown (void)
{
    for (int i = 0; i < MAX_NODES; i++)
        weft_node_destroy (&s_nodes[i]);
    nftw (s_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

//  A member node NAME with its journal; EXTRA is "key=value" pairs or NULL.
static weft_node_t *member (const char *name, const char *const *extra)
{
    weft_config_t *cfg = tu_config (name, s_port);
    char path[512];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    cr_assert_eq (weft_config_set (cfg, "journal.dir", path), 0);
    cr_assert_eq (weft_config_set (cfg, "journal.sync", "async"), 0);
    for (int i = 0; extra && extra[i]; i += 2)
        cr_assert_eq (weft_config_set (cfg, extra[i], extra[i + 1]), 0, "%s",
                      weft_config_error (cfg));
    return tu_node (cfg);
}

//  Starts COUNT members named m0.. and waits until each sees the others.
static void start_members (int count, const char *const *extra)
{
    for (int i = 0; i < count; i++) {
        char name[16];
        snprintf (name, sizeof name, "m%d", i);
        s_nodes[i] = member (name, extra);
    }
    for (int i = 0; i < count; i++)
        tu_wait_peers (s_nodes[i], (size_t)count - 1, WAIT_MS);
}

//  Waits until NODE's ring has MEMBERS members (its status says so).
static void wait_ring (weft_node_t *node, int members)
{
    int64_t deadline = tu_now_ms () + WAIT_MS;
    int seen = 0;
    while (tu_now_ms () < deadline) {
        char *json = NULL;
        cr_assert_eq (weft_status (node, &json), 0);
        const char *ring = strstr (json, "\"ring\":");
        seen = 0;
        for (const char *p = ring; p && (p = strstr (p, "\"weight\":")); p++)
            seen++;
        weft_free (json);
        if (seen == members)
            return;
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 20) == 0)
            weft_msg_destroy (&msg);
    }
    cr_assert_fail ("%s sees %d ring members, not %d", weft_node_name (node), seen, members);
}

//  Receives one delivery on NODE within TIMEOUT_MS (other events dropped).
static weft_msg_t *next_delivery (weft_node_t *node, int timeout_ms)
{
    return tu_wait_kind (node, WEFT_MSG_DELIVERY, timeout_ms);
}

//  The body of MSG as an int ("%d").
static int body_int (const weft_msg_t *msg)
{
    size_t len = 0;
    const char *data = weft_msg_body (msg, &len);
    char text[32] = "";
    memcpy (text, data, len < sizeof text - 1 ? len : sizeof text - 1);
    return atoi (text);
}

//  Sends "%d" bodies FIRST..FIRST+COUNT-1 to QUEUE from NODE, each confirmed.
static void send_range (weft_node_t *node, const char *queue, int first, int count,
                        const char *options)
{
    for (int i = first; i < first + count; i++) {
        char body[32];
        int n = snprintf (body, sizeof body, "%d", i);
        int rc = weft_send (node, queue, body, (size_t)n, options, WAIT_MS);
        cr_assert_eq (rc, 0, "send %d to %s: %s", i, queue, weft_strerror (rc));
    }
}

TestSuite (queues, .init = setup, .fini = teardown);

Test (queues, send_consume_ack_once_in_order, .timeout = 60)
{
    start_members (3, NULL);
    wait_ring (s_nodes[0], 3);
    send_range (s_nodes[0], "jobs", 0, 200, NULL);
    cr_assert_eq (weft_consume (s_nodes[1], "jobs", 10), 0);
    for (int i = 0; i < 200; i++) {
        weft_msg_t *msg = next_delivery (s_nodes[1], WAIT_MS);
        cr_assert_not_null (msg, "delivery %d missing", i);
        cr_assert_str_eq (weft_msg_topic (msg), "jobs");
        cr_assert_eq (body_int (msg), i, "FIFO: got %d, expected %d", body_int (msg), i);
        cr_assert_str_eq (weft_msg_header (msg, "deliveries"), "1");
        cr_assert_not_null (weft_msg_header (msg, "msg_id"));
        cr_assert_eq (weft_ack (s_nodes[1], msg), 0);
        cr_assert_eq (weft_ack (s_nodes[1], msg), WEFT_ENOTFOUND, "a second ack is refused");
        weft_msg_destroy (&msg);
    }
    weft_msg_t *extra = next_delivery (s_nodes[1], 500);
    cr_assert_null (extra, "nothing more after every message was acked");
}
