/*  tests/integration/test_queue_failover.c - queues across processes: three
    weftd members (each with its journal) and, in this process, a producer
    and a consumer (client-role nodes). The owner of the queue is killed with
    SIGKILL in the middle of 20,000 sends (replication 2, acks=all): every
    confirmed message must still be delivered; duplicates are counted and
    reported. Everything lives on loopback. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemons.h"
#include "testutil.h"

#define MEMBERS 3
#define TOTAL   20000

static char s_dir[256];
static uint16_t s_port;
static char s_cluster[64];
static pid_t s_pids[MEMBERS];
static int s_out[MEMBERS];
static char s_uuids[MEMBERS][40];

//  Starts member I as a weftd child and reads its uuid from its ready line.
static void start_member (int i)
{
    char name[16], data[300], port[16];
    snprintf (name, sizeof name, "w%d", i);
    snprintf (data, sizeof data, "%s/%s", s_dir, name);
    snprintf (port, sizeof port, "%u", s_port);
    char *argv[] = {WEFT_BIN_DIR "/weftd",
                    "--name",
                    name,
                    "--interface",
                    "lo",
                    "--beacon-port",
                    port,
                    "--cluster",
                    s_cluster,
                    "--data",
                    data,
                    "--log-level",
                    "warn",
                    "--set",
                    "discovery.interval_ms=200",
                    "--set",
                    "discovery.evasive_ms=600",
                    "--set",
                    "discovery.expired_ms=1200",
                    "--set",
                    "journal.sync=async",
                    NULL};
    s_pids[i] = tu_spawn (argv[0], argv, &s_out[i]);
    char line[512];
    cr_assert (tu_read_until (s_out[i], "ready ", line, sizeof line, 10000), "%s not ready", name);
    const char *uuid = strstr (line, "uuid=");
    cr_assert_not_null (uuid);
    sscanf (uuid + 5, "%39s", s_uuids[i]);
}

static void setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/weft-failover-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
    s_port = tu_beacon_port ();
    snprintf (s_cluster, sizeof s_cluster, "test-%d-%u", (int)getpid (), s_port);
    for (int i = 0; i < MEMBERS; i++)
        start_member (i);
}

static void teardown (void)
{
    for (int i = 0; i < MEMBERS; i++)
        if (s_pids[i] > 0) {
            tu_stop_child (s_pids[i], SIGTERM, 5000);
            close (s_out[i]);
        }
    dm_remove_tree (s_dir);
}

//  A client node of the test cluster.
static weft_node_t *client (const char *name)
{
    weft_config_t *cfg = tu_config (name, s_port);
    cr_assert_eq (weft_config_set (cfg, "node.role", "client"), 0);
    cr_assert_eq (weft_config_set (cfg, "queues.window", "2000"), 0);
    return tu_node (cfg);
}

//  The index of the member that owns QUEUE, asked over the network.
static int find_owner (weft_node_t *node, const char *queue)
{
    char needle[300];
    snprintf (needle, sizeof needle, "{\"name\":\"%s\",\"role\":\"owner\"", queue);
    int64_t deadline = tu_now_ms () + 10000;
    while (tu_now_ms () < deadline)
        for (int i = 0; i < MEMBERS; i++) {
            char *json = NULL;
            if (weft_peer_status (node, s_uuids[i], 2000, &json) != 0)
                continue;
            bool mine = strstr (json, needle) != NULL;
            weft_free (json);
            if (mine)
                return i;
        }
    return -1;
}

//  Drains CONFIRM events from NODE into CONFIRMED (indexed by token, TOTAL + 2
//  of them); returns how many new successful ones.
static int collect_confirms (weft_node_t *node, bool *confirmed, int timeout_ms)
{
    int count = 0;
    weft_msg_t *msg = NULL;
    while (weft_recv (node, &msg, timeout_ms) == 0) {
        if (weft_msg_kind (msg) == WEFT_MSG_CONFIRM &&
            strcmp (weft_msg_header (msg, "status"), "0") == 0) {
            uint64_t token = weft_msg_seq (msg);
            if (token >= 2 && token < TOTAL + 2 && !confirmed[token]) {
                confirmed[token] = true;
                count++;
            }
        }
        weft_msg_destroy (&msg);
        timeout_ms = 0;
    }
    return count;
}

TestSuite (failover, .init = setup, .fini = teardown);

Test (failover, owner_killed_mid_stream_loses_no_confirmed_message, .timeout = 180)
{
    weft_node_t *producer = client ("producer");
    tu_wait_peers (producer, MEMBERS, 10000);
    cr_assert_eq (weft_send (producer, "orders", "warmup", 6, "id=warmup", 10000), 0);
    int owner = find_owner (producer, "orders");
    cr_assert_geq (owner, 0, "no member owns orders");
    bool *confirmed = calloc (TOTAL + 2, sizeof *confirmed);
    int confirms = 0;
    //  tokens are 2.. (the warmup used 1): body i is sent as token i + 2
    for (int i = 0; i < TOTAL; i++) {
        char body[32], options[48];
        int n = snprintf (body, sizeof body, "%d", i);
        snprintf (options, sizeof options, "id=m-%d", i);
        int rc;
        uint64_t token = 0;
        int64_t deadline = tu_now_ms () + 30000;
        while ((rc = weft_send_async (producer, "orders", body, (size_t)n, options, &token)) ==
                   WEFT_EAGAIN &&
               tu_now_ms () < deadline)
            confirms += collect_confirms (producer, confirmed, 10);
        cr_assert_eq (rc, 0, "send %d: %s", i, weft_strerror (rc));
        cr_assert_eq (token, (uint64_t)i + 2);
        if (i == TOTAL / 2) { //  halfway: the owner dies without a word
            kill (s_pids[owner], SIGKILL);
            waitpid (s_pids[owner], NULL, 0);
            close (s_out[owner]);
            s_pids[owner] = 0;
        }
    }
    //  the rest are confirmed by the new owner (resent after the ring changed)
    int64_t deadline = tu_now_ms () + 60000;
    while (confirms < TOTAL && tu_now_ms () < deadline)
        confirms += collect_confirms (producer, confirmed, 200);
    cr_log_info ("failover: %d of %d sends confirmed", confirms, TOTAL);
    cr_assert_eq (confirms, TOTAL, "sends were not all confirmed after the failover");

    //  every confirmed message is delivered (at least once)
    weft_node_t *consumer = client ("consumer");
    tu_wait_peers (consumer, MEMBERS - 1, 10000);
    cr_assert_eq (weft_consume (consumer, "orders", 500), 0);
    int *seen = calloc (TOTAL, sizeof *seen);
    int distinct = 0, duplicates = 0;
    deadline = tu_now_ms () + 60000;
    while (distinct < TOTAL && tu_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (consumer, &msg, 500) != 0)
            continue;
        if (weft_msg_kind (msg) == WEFT_MSG_DELIVERY) {
            size_t len = 0;
            const char *data = weft_msg_body (msg, &len);
            char text[32] = "";
            memcpy (text, data, len < 31 ? len : 31);
            if (strcmp (text, "warmup") != 0) {
                int value = atoi (text);
                cr_assert (value >= 0 && value < TOTAL);
                if (seen[value]++)
                    duplicates++;
                else
                    distinct++;
            }
            cr_assert_eq (weft_ack (consumer, msg), 0);
        }
        weft_msg_destroy (&msg);
    }
    int missing = 0;
    for (int i = 0; i < TOTAL; i++)
        if (confirmed[i + 2] && !seen[i])
            missing++;
    cr_log_info ("failover: %d delivered, %d duplicates, %d confirmed but missing", distinct,
                 duplicates, missing);
    cr_assert_eq (missing, 0, "%d confirmed messages were lost", missing);
    free (seen);
    free (confirmed);
    weft_node_destroy (&consumer);
    weft_node_destroy (&producer);
}
