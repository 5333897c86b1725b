/*  tests/integration/test_queues.c - queues across member nodes in one
    process: confirmed sends, competing consumers, acks, redelivery, dead
    letters, redrive, priorities, dedup, failover and a joining member. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/api/testing.h"
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

//  Consumes on each of NODES (COUNT of them, one consumer each per queue)
//  until TOTAL deliveries were acked; fails on a duplicate or the deadline.
//  SEEN (TOTAL flags) marks bodies; returns the number of redeliveries.
static int drain (weft_node_t **nodes, int count, int total, bool *seen, int timeout_ms)
{
    int got = 0, redelivered = 0;
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (got < total && tu_now_ms () < deadline) {
        for (int n = 0; n < count; n++) {
            weft_msg_t *msg = NULL;
            if (weft_recv (nodes[n], &msg, 5) != 0)
                continue;
            if (weft_msg_kind (msg) == WEFT_MSG_DELIVERY) {
                int value = body_int (msg);
                cr_assert (value >= 0 && value < total, "body %d", value);
                if (seen[value])
                    redelivered++;
                else
                    got++;
                seen[value] = true;
                cr_assert_eq (weft_ack (nodes[n], msg), 0);
            }
            weft_msg_destroy (&msg);
        }
    }
    cr_assert_eq (got, total, "got %d of %d", got, total);
    return redelivered;
}

Test (queues, five_queues_two_consumers_each_ten_thousand_messages, .timeout = 120)
{
    start_members (3, NULL);
    for (int i = 0; i < 3; i++)
        wait_ring (s_nodes[i], 3);
    const char *queues[] = {"q.a", "q.b", "q.c", "q.d", "q.e"};
    //  consumers on m1 and m2 for every queue, producer on m0
    for (int q = 0; q < 5; q++) {
        cr_assert_eq (weft_consume (s_nodes[1], queues[q], 50), 0);
        cr_assert_eq (weft_consume (s_nodes[2], queues[q], 50), 0);
    }
    const int total = 10000;
    uint64_t token = 0;
    for (int i = 0; i < total; i++) {
        char body[32];
        int n = snprintf (body, sizeof body, "%d", i);
        int rc;
        int64_t deadline = tu_now_ms () + WAIT_MS;
        while ((rc = weft_send_async (s_nodes[0], queues[i % 5], body, (size_t)n, NULL, &token)) ==
                   WEFT_EAGAIN &&
               tu_now_ms () < deadline) {
            weft_msg_t *msg = NULL; //  the window is full: wait for confirmations
            if (weft_recv (s_nodes[0], &msg, 10) == 0)
                weft_msg_destroy (&msg);
        }
        cr_assert_eq (rc, 0, "send %d: %s", i, weft_strerror (rc));
    }
    bool *seen = calloc ((size_t)total, sizeof *seen);
    weft_node_t *consumers[] = {s_nodes[1], s_nodes[2]};
    int redelivered = drain (consumers, 2, total, seen, 60000);
    cr_assert_eq (redelivered, 0, "nothing failed, yet %d messages came twice", redelivered);
    free (seen);
}

Test (queues, unacked_message_is_redelivered_after_the_ack_timeout, .timeout = 60)
{
    const char *extra[] = {"queues.ack_timeout_ms", "500", NULL};
    start_members (2, extra);
    wait_ring (s_nodes[0], 2);
    send_range (s_nodes[0], "slow", 7, 1, NULL);
    cr_assert_eq (weft_consume (s_nodes[1], "slow", 1), 0);
    weft_msg_t *first = next_delivery (s_nodes[1], WAIT_MS);
    cr_assert_not_null (first);
    int64_t at = tu_now_ms ();
    weft_msg_t *again = next_delivery (s_nodes[1], WAIT_MS); //  not acked: comes back
    cr_assert_not_null (again, "no redelivery after the ack timeout");
    cr_assert_geq (tu_now_ms () - at, 300, "redelivered before the ack timeout");
    cr_assert_eq (body_int (again), 7);
    cr_assert_str_eq (weft_msg_header (again, "deliveries"), "2");
    cr_assert_eq (weft_ack (s_nodes[1], again), 0);
    weft_msg_destroy (&first);
    weft_msg_destroy (&again);
}

Test (queues, consumer_node_gone_means_redelivery_at_once, .timeout = 60)
{
    const char *extra[] = {"queues.ack_timeout_ms", "60000", NULL};
    start_members (3, extra);
    for (int i = 0; i < 3; i++)
        wait_ring (s_nodes[i], 3);
    send_range (s_nodes[0], "work", 1, 1, NULL);
    //  a client-role node consumes, takes the message and dies without acking
    weft_config_t *cfg = tu_config ("flaky", s_port);
    cr_assert_eq (weft_config_set (cfg, "node.role", "client"), 0);
    s_nodes[3] = tu_node (cfg);
    wait_ring (s_nodes[3], 3);
    cr_assert_eq (weft_consume (s_nodes[3], "work", 1), 0);
    weft_msg_t *msg = next_delivery (s_nodes[3], WAIT_MS);
    cr_assert_not_null (msg);
    weft_msg_destroy (&msg);
    cr_assert_eq (weft_node_silence (s_nodes[3], true), 0); //  as if it hung or died
    int64_t at = tu_now_ms ();
    cr_assert_eq (weft_consume (s_nodes[1], "work", 1), 0);
    msg = next_delivery (s_nodes[1], WAIT_MS);
    cr_assert_not_null (msg, "not redelivered when its consumer's node expired");
    cr_assert_lt (tu_now_ms () - at, 5000, "redelivery waited for the ack timeout");
    cr_assert_str_eq (weft_msg_header (msg, "deliveries"), "2");
    cr_assert_eq (weft_ack (s_nodes[1], msg), 0);
    weft_msg_destroy (&msg);
}

//  Sends BODY to QUEUE and lets its consumer on NODE nack it until it dies.
static void fail_until_dead (weft_node_t *producer, weft_node_t *node, const char *queue,
                             const char *body, int max_deliver)
{
    cr_assert_eq (weft_send (producer, queue, body, strlen (body), NULL, WAIT_MS), 0);
    for (int attempt = 1; attempt <= max_deliver; attempt++) {
        weft_msg_t *msg = next_delivery (node, WAIT_MS);
        cr_assert_not_null (msg, "attempt %d", attempt);
        char expect[16];
        snprintf (expect, sizeof expect, "%d", attempt);
        cr_assert_str_eq (weft_msg_header (msg, "deliveries"), expect);
        cr_assert_eq (weft_nack (node, msg, attempt == 2 ? 200 : 0), 0);
        cr_assert_eq (weft_nack (node, msg, 0), WEFT_ENOTFOUND, "settled twice");
        weft_msg_destroy (&msg);
    }
}

//  The depth of QUEUE on whichever of the first COUNT nodes owns it.
static int depth_of (const char *queue, int count)
{
    for (int i = 0; i < count; i++) {
        char *json = NULL;
        cr_assert_eq (weft_status (s_nodes[i], &json), 0);
        char needle[300];
        snprintf (needle, sizeof needle, "{\"name\":\"%s\",\"role\":\"owner\"", queue);
        const char *row = strstr (json, needle);
        const char *depth = row ? strstr (row, "\"depth\":") : NULL;
        int value = depth ? atoi (depth + 8) : -1;
        weft_free (json);
        if (row)
            return value;
    }
    return -1;
}

Test (queues, nack_max_deliver_dead_letters_and_redrive, .timeout = 90)
{
    const char *extra[] = {"queues.max_deliver", "3", NULL};
    start_members (2, extra);
    wait_ring (s_nodes[0], 2);
    cr_assert_eq (weft_consume (s_nodes[1], "fragile", 1), 0);
    fail_until_dead (s_nodes[0], s_nodes[1], "fragile", "5", 3);
    cr_assert_null (next_delivery (s_nodes[1], 800), "a 4th delivery past max_deliver");
    //  it is in the dead-letter queue, with its reason and count
    cr_assert_eq (weft_consume (s_nodes[0], "fragile.dlq", 1), 0);
    weft_msg_t *dead = next_delivery (s_nodes[0], WAIT_MS);
    cr_assert_not_null (dead, "nothing in fragile.dlq");
    cr_assert_eq (body_int (dead), 5);
    cr_assert_str_eq (weft_msg_header (dead, "reason"), "max_deliver");
    cr_assert_str_eq (weft_msg_header (dead, "dead_deliveries"), "3");
    cr_assert_eq (weft_ack (s_nodes[0], dead), 0);
    weft_msg_destroy (&dead);
    cr_assert_eq (weft_cancel (s_nodes[0], "fragile.dlq"), 0);
    cr_assert_eq (weft_cancel (s_nodes[0], "fragile.dlq"), WEFT_ENOTFOUND);
    //  another one dies; redrive sends it back, where the consumer gets it afresh
    fail_until_dead (s_nodes[0], s_nodes[1], "fragile", "6", 3);
    int64_t deadline = tu_now_ms () + WAIT_MS;
    while (depth_of ("fragile.dlq", 2) != 1 && tu_now_ms () < deadline)
        next_delivery (s_nodes[0], 20); //  nothing comes: just a bounded wait on the node
    cr_assert_eq (depth_of ("fragile.dlq", 2), 1);
    int moved = weft_redrive (s_nodes[1], "fragile", WAIT_MS);
    cr_assert_eq (moved, 1, "redrive: %d", moved);
    weft_msg_t *back = next_delivery (s_nodes[1], WAIT_MS);
    cr_assert_not_null (back, "not back from the dead-letter queue");
    cr_assert_eq (body_int (back), 6);
    cr_assert_str_eq (weft_msg_header (back, "deliveries"), "1");
    //  a reject goes straight to the dead-letter queue
    cr_assert_eq (weft_reject (s_nodes[1], back), 0);
    weft_msg_destroy (&back);
    cr_assert_eq (weft_consume (s_nodes[0], "fragile.dlq", 1), 0);
    dead = next_delivery (s_nodes[0], WAIT_MS);
    cr_assert_not_null (dead);
    cr_assert_eq (body_int (dead), 6);
    cr_assert_str_eq (weft_msg_header (dead, "reason"), "rejected");
    cr_assert_eq (weft_ack (s_nodes[0], dead), 0);
    weft_msg_destroy (&dead);
}

Test (queues, priorities_then_fifo, .timeout = 60)
{
    start_members (2, NULL);
    wait_ring (s_nodes[0], 2);
    //  3 messages at each of 10 priorities, sent lowest first
    for (int p = 0; p < 10; p++)
        for (int k = 0; k < 3; k++) {
            char body[16], options[32];
            int n = snprintf (body, sizeof body, "%d", p * 10 + k);
            snprintf (options, sizeof options, "priority=%d", p);
            cr_assert_eq (weft_send (s_nodes[0], "ranked", body, (size_t)n, options, WAIT_MS), 0);
        }
    cr_assert_eq (weft_consume (s_nodes[1], "ranked", 1), 0);
    for (int p = 9; p >= 0; p--)
        for (int k = 0; k < 3; k++) {
            weft_msg_t *msg = next_delivery (s_nodes[1], WAIT_MS);
            cr_assert_not_null (msg);
            cr_assert_eq (body_int (msg), p * 10 + k, "got %d, expected %d", body_int (msg),
                          p * 10 + k);
            cr_assert_eq (weft_ack (s_nodes[1], msg), 0);
            weft_msg_destroy (&msg);
        }
}

Test (queues, bad_input_gets_clear_errors, .timeout = 60)
{
    start_members (1, NULL);
    cr_assert_eq (weft_send (s_nodes[0], "bad name", "x", 1, NULL, 100), WEFT_EINVAL);
    cr_assert_eq (weft_send (s_nodes[0], "ok", "x", 1, "priority=12", 100), WEFT_EINVAL);
    cr_assert_eq (weft_send (s_nodes[0], "ok", "x", 1, "id=has space", 100), WEFT_EINVAL);
    cr_assert_eq (weft_send (s_nodes[0], "ok", "x", 1, "colour=red", 100), WEFT_EINVAL);
    cr_assert_eq (weft_consume (s_nodes[0], "ok", 0), WEFT_EINVAL);
    //  one member cannot hold two copies: the policy is refused, not ignored
    wait_ring (s_nodes[0], 1);
    cr_assert_eq (weft_send (s_nodes[0], "ok", "x", 1, "replication=2,acks=all", WAIT_MS),
                  WEFT_ESTATE);
    cr_assert_eq (weft_send (s_nodes[0], "ok", "x", 1, "replication=1", WAIT_MS), 0);
    //  a client alone has nobody to own queues
    weft_config_t *cfg = tu_config ("lonely", tu_beacon_port ());
    cr_assert_eq (weft_config_set (cfg, "node.role", "client"), 0);
    s_nodes[1] = tu_node (cfg);
    cr_assert_eq (weft_consume (s_nodes[1], "ok", 1), WEFT_ENOTFOUND);
    cr_assert_not_null (strstr (weft_node_error (s_nodes[1]), "no live member"));
    cr_assert_eq (weft_send (s_nodes[1], "ok", "x", 1, NULL, 300), WEFT_ETIMEDOUT);
}

Test (queues, same_id_is_enqueued_once_even_across_an_owner_restart, .timeout = 90)
{
    start_members (2, NULL);
    wait_ring (s_nodes[0], 2);
    for (int i = 0; i < 3; i++)
        cr_assert_eq (weft_send (s_nodes[0], "once", "A", 1, "id=order-1", WAIT_MS), 0);
    //  restart both members (the owner among them) on their journals
    weft_node_destroy (&s_nodes[0]);
    weft_node_destroy (&s_nodes[1]);
    s_nodes[0] = member ("m0", NULL);
    s_nodes[1] = member ("m1", NULL);
    wait_ring (s_nodes[0], 2);
    wait_ring (s_nodes[1], 2);
    cr_assert_eq (weft_send (s_nodes[1], "once", "A", 1, "id=order-1", WAIT_MS), 0);
    cr_assert_eq (weft_send (s_nodes[1], "once", "B", 1, "id=order-2", WAIT_MS), 0);
    cr_assert_eq (weft_consume (s_nodes[0], "once", 10), 0);
    weft_msg_t *msg = next_delivery (s_nodes[0], WAIT_MS);
    cr_assert_not_null (msg);
    cr_assert_str_eq (weft_msg_header (msg, "msg_id"), "order-1");
    cr_assert_eq (weft_ack (s_nodes[0], msg), 0);
    weft_msg_destroy (&msg);
    msg = next_delivery (s_nodes[0], WAIT_MS);
    cr_assert_not_null (msg);
    cr_assert_str_eq (weft_msg_header (msg, "msg_id"), "order-2");
    cr_assert_eq (weft_ack (s_nodes[0], msg), 0);
    weft_msg_destroy (&msg);
    cr_assert_null (next_delivery (s_nodes[0], 800), "a duplicate was enqueued");
}

//  Index of the node (of COUNT) that owns QUEUE per NODE's status, or -1.
static int owner_index (const char *queue, int count)
{
    for (int i = 0; i < count; i++) {
        if (!s_nodes[i])
            continue;
        char *json = NULL;
        cr_assert_eq (weft_status (s_nodes[i], &json), 0);
        char needle[300];
        snprintf (needle, sizeof needle, "{\"name\":\"%s\",\"role\":\"owner\"", queue);
        bool mine = strstr (json, needle) != NULL;
        weft_free (json);
        if (mine)
            return i;
    }
    return -1;
}

Test (queues, owner_leaves_mid_stream_replica_takes_over, .timeout = 120)
{
    start_members (3, NULL);
    for (int i = 0; i < 3; i++)
        wait_ring (s_nodes[i], 3);
    //  the producer is a client, so that killing any member leaves it running
    weft_config_t *cfg = tu_config ("producer", s_port);
    cr_assert_eq (weft_config_set (cfg, "node.role", "client"), 0);
    s_nodes[3] = tu_node (cfg);
    wait_ring (s_nodes[3], 3);
    send_range (s_nodes[3], "orders", 0, 1000, NULL);
    int owner = owner_index ("orders", 3);
    cr_assert_geq (owner, 0, "nobody owns orders");
    weft_node_destroy (&s_nodes[owner]); //  the owner goes away mid-stream
    send_range (s_nodes[3], "orders", 1000, 1000, NULL);
    int survivor = (owner + 1) % 3;
    cr_assert_eq (weft_consume (s_nodes[survivor], "orders", 100), 0);
    bool *seen = calloc (2000, sizeof *seen);
    weft_node_t *consumers[] = {s_nodes[survivor]};
    int redelivered = drain (consumers, 1, 2000, seen, 60000);
    cr_log_info ("failover: %d duplicates", redelivered);
    free (seen);
}

Test (queues, a_joining_member_takes_over_its_queues_without_loss, .timeout = 120)
{
    start_members (3, NULL);
    for (int i = 0; i < 3; i++)
        wait_ring (s_nodes[i], 3);
    const int queues = 8, per_queue = 200;
    char names[8][16];
    for (int q = 0; q < queues; q++) {
        snprintf (names[q], sizeof names[q], "shard.%d", q);
        send_range (s_nodes[0], names[q], q * per_queue, per_queue / 2, NULL);
    }
    s_nodes[3] = member ("m3", NULL); //  a fourth member joins: some queues move to it
    for (int i = 0; i < 4; i++)
        wait_ring (s_nodes[i], 4);
    for (int q = 0; q < queues; q++)
        send_range (s_nodes[1], names[q], q * per_queue + per_queue / 2, per_queue / 2, NULL);
    int moved = 0;
    for (int q = 0; q < queues; q++)
        moved += owner_index (names[q], 4) == 3;
    cr_log_info ("%d of %d queues moved to the new member", moved, queues);
    for (int q = 0; q < queues; q++)
        cr_assert_eq (weft_consume (s_nodes[2], names[q], 100), 0);
    bool *seen = calloc ((size_t)(queues * per_queue), sizeof *seen);
    weft_node_t *consumers[] = {s_nodes[2]};
    drain (consumers, 1, queues * per_queue, seen, 60000);
    free (seen);
}
