/*  tests/integration/test_gaps.c - a volatile subscriber that is stopped
    (SIGSTOP) while a burst goes by is told of every message it lost, those
    at the very end of the burst included, and the publisher's count of what
    that subscriber missed agrees (issue 10: "slow subscribers are visible,
    never silent").

    Two weftd processes on loopback (a private beacon port and cluster):
    the publisher publishes its stdin on topic "burst" with a high-water mark
    of 10; the subscriber prints every message and gap. The expiry is
    raised to 5 s so that the stop does not make them forget each other
    (the counts are kept per peer while it is in the table). Waits have
    deadlines; the stop lasts as long as the burst takes to publish.
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons.h"
#include "testutil.h"

#define WEFTD    WEFT_BIN_DIR "/weftd"
#define WEFT     WEFT_BIN_DIR "/weft"
#define BURST    20000
#define LINE_CAP 512

static struct {
    uint16_t port;
    char cluster[48];
    pid_t pids[2];
} s_fab;

static void fabric_init (void)
{
    memset (&s_fab, 0, sizeof s_fab);
    s_fab.port = tu_beacon_port ();
    dm_cluster_name (s_fab.cluster, sizeof s_fab.cluster, "gaps", s_fab.port);
}

static void fabric_fini (void)
{
    for (int i = 0; i < 2; i++)
        if (s_fab.pids[i] > 0) {
            kill (s_fab.pids[i], SIGCONT);
            tu_stop_child (s_fab.pids[i], SIGKILL, 3000);
        }
}

//  Starts weftd NAME with the fabric flags and EXTRA (NULL-terminated);
//  stores its pid in *PID, its stdout in OUT, its stdin in *IN (if not
//  NULL); reads its ready line into UUID and ROUTER.
static void start (const char *name, pid_t *pid, dm_reader_t *out, int *in, char *uuid,
                   char *router, ...)
{
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weftd", "--name", name, "--events", NULL);
    dm_args_fabric (&args, s_fab.port, s_fab.cluster);
    dm_args_add (&args, "--set", "discovery.expired_ms=5000", "--set", "pubsub.hwm=10", NULL);
    va_list list;
    va_start (list, router);
    dm_args_addv (&args, list);
    va_end (list);
    memset (out, 0, sizeof *out);
    *pid = dm_spawn_io (WEFTD, args.argv, in, &out->fd, NULL);
    char line[LINE_CAP];
    cr_assert (dm_reader_until (out, "ready ", line, sizeof line, 10000), "%s: no ready line",
               name);
    dm_parse_ready (line, uuid, router);
}

//  Writes LINE and a newline to FD.
static void put_line (int fd, const char *line)
{
    char buf[64];
    int n = snprintf (buf, sizeof buf, "%s\n", line);
    cr_assert_eq (write (fd, buf, (size_t)n), n);
}

TestSuite (gaps, .init = fabric_init, .fini = fabric_fini);

Test (gaps, a_stopped_subscriber_is_told_every_loss_and_so_is_its_publisher, .timeout = 90)
{
    dm_reader_t sub_out, pub_out;
    char sub_uuid[40], sub_router[64], pub_uuid[40], pub_router[64];
    int pub_in = -1;
    start ("slow", &s_fab.pids[0], &sub_out, NULL, sub_uuid, sub_router, "--sub", "burst", NULL);
    start ("fast", &s_fab.pids[1], &pub_out, &pub_in, pub_uuid, pub_router, "--pub", "burst", NULL);
    char line[LINE_CAP];
    cr_assert (dm_reader_until (&sub_out, "join name=fast ", line, sizeof line, 10000));
    //  warm up until the subscription is in effect at the publisher: the
    //  stream's first message seen starts the subscriber's count
    unsigned long long first = 0, sent = 0;
    for (int round = 0; round < 50 && !first; round++) {
        put_line (pub_in, "warm");
        sent++;
        if (dm_reader_until (&sub_out, "msg topic=burst ", line, sizeof line, 200))
            sscanf (strstr (line, "seq="), "seq=%llu", &first);
    }
    cr_assert_gt (first, 0, "the subscription never reached the publisher");

    //  stopped while the whole burst is published
    cr_assert_eq (kill (s_fab.pids[0], SIGSTOP), 0);
    for (int i = 0; i < BURST; i++)
        put_line (pub_in, "x");
    sent += BURST;
    close (pub_in); //  the publisher prints its count at the end of its input
    cr_assert (dm_reader_until (&pub_out, "published topic=burst ", line, sizeof line, 30000),
               "the publisher did not finish the burst");
    cr_assert_eq (kill (s_fab.pids[0], SIGCONT), 0);

    //  everything after FIRST is either received or reported lost, the
    //  burst's tail too (only a HEAD can reveal that), within the deadline
    unsigned long long received = 1, lost = 0, expect = sent - first + 1;
    int64_t deadline = tu_now_ms () + 30000;
    while (received + lost < expect &&
           dm_reader_line (&sub_out, line, sizeof line, deadline) == 1) {
        if (strncmp (line, "msg topic=burst ", 16) == 0)
            received++;
        else if (strncmp (line, "gap ", 4) == 0) {
            const char *count = strstr (line, "count=");
            lost += count ? strtoull (count + 6, NULL, 10) : 0;
        }
    }
    fprintf (stderr, "test_gaps: %llu sent after the first seen, %llu received, %llu lost\n",
             expect, received, lost);
    cr_assert_gt (lost, 0, "a stopped subscriber with a 10-message HWM lost nothing?");
    cr_assert_eq (received + lost, expect, "received %llu + lost %llu != %llu", received, lost,
                  expect);

    //  the publisher's status says the same of this subscriber
    char expect_json[160];
    snprintf (expect_json, sizeof expect_json, "{\"uuid\":\"%s\",\"missed\":0,\"dropped\":%llu}",
              sub_uuid, lost);
    static char out[256 * 1024];
    bool agrees = false;
    for (int round = 0; round < 50 && !agrees; round++) {
        dm_args_t args = {.argc = 0};
        dm_args_add (&args, "weft", "--interface", "lo", "--node", pub_router, "--json", "status",
                     NULL);
        dm_run_t run = {.out = out, .out_cap = sizeof out};
        dm_run_tool (&run, WEFT, args.argv, NULL, 10000);
        agrees = run.code == 0 && strstr (out, expect_json);
    }
    cr_assert (agrees, "the publisher's status lacks %s: %s", expect_json, out);
}
