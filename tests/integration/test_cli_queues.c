/*  tests/integration/test_cli_queues.c - the queue commands of weft (send,
    recv, queues, ring, redrive) against weftd members in other processes.

    Each test starts its own weftd members on loopback (--interface lo, a
    beacon port from tu_beacon_port (), a cluster of its own), each with a
    journal (--data) in a temporary directory, waits for their "ready" lines
    and until each saw the others join (--events); weft runs to completion
    with its stdin fed from the test and its stdout and stderr captured.
    Waits have deadlines; nothing sleeps. Only the children a test started
    are signalled, by pid.
*/
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons.h"
#include "testutil.h"

#define WEFTD   WEFT_BIN_DIR "/weftd"
#define WEFT    WEFT_BIN_DIR "/weft"
#define MEMBERS 3
#define OUT_MAX (512 * 1024)

//  The fabric of one test (a global so that .fini can stop it on failure).
static struct {
    uint16_t port;                //  beacon port
    char cluster[48];             //  cluster name
    char dir[64];                 //  parent of the members' journals ("" if none)
    dm_daemon_t members[MEMBERS]; //  started members
    size_t count;                 //  used members
} s_fab;

//  The stdout of the last run (static: a failed assertion leaks nothing).
static char s_out[OUT_MAX];

//  Appends the discovery flags of this test's fabric to ARGS.
static void args_fabric (dm_args_t *args)
{
    dm_args_fabric (args, s_fab.port, s_fab.cluster);
}

//  Picks this test's beacon port and cluster.
static void fabric_init (void)
{
    memset (&s_fab, 0, sizeof s_fab);
    s_fab.port = tu_beacon_port ();
    dm_cluster_name (s_fab.cluster, sizeof s_fab.cluster, "cliq", s_fab.port);
}

//  Starts member NAME with a journal under the fabric's directory and
//  waits for its ready line.
static void member_start (const char *name)
{
    dm_daemon_t *m = &s_fab.members[s_fab.count++];
    char data[128];
    snprintf (data, sizeof data, "%s/%s", s_fab.dir, name);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weftd", "--name", name, "--events", "--data", data, "--set",
                 "journal.sync=async", NULL);
    args_fabric (&args);
    dm_daemon_start (m, WEFTD, name, args.argv, 10000, false);
}

//  Reads lines of member M until it has printed "join name=X " for every
//  other member X, for up to TIMEOUT_MS; fails the test otherwise.
static void wait_joins (dm_daemon_t *m, int timeout_ms)
{
    size_t missing = dm_wait_joins (s_fab.members, s_fab.count, m, timeout_ms);
    cr_assert_eq (missing, 0, "%s saw only %zu of %zu members join", m->name,
                  s_fab.count - 1 - missing, s_fab.count - 1);
}

//  Starts MEMBERS members m0.. with journals and waits until each saw the
//  others join.
static void fabric_start (void)
{
    fabric_init ();
    snprintf (s_fab.dir, sizeof s_fab.dir, "/tmp/weft-cliq-XXXXXX");
    cr_assert_not_null (mkdtemp (s_fab.dir));
    for (size_t i = 0; i < MEMBERS; i++) {
        char name[16];
        snprintf (name, sizeof name, "m%zu", i);
        member_start (name);
    }
    for (size_t i = 0; i < MEMBERS; i++)
        wait_joins (&s_fab.members[i], 10000);
}

//  .fini of every test: stops what the test started, by pid, and removes
//  the journals.
static void fabric_stop (void)
{
    dm_daemons_stop (s_fab.members, s_fab.count, 5000);
    s_fab.count = 0;
    if (*s_fab.dir)
        dm_remove_tree (s_fab.dir);
    *s_fab.dir = 0;
}

//  Runs PROGRAM with ARGV to completion (killed after TIMEOUT_MS), INPUT
//  (may be NULL: none) on its stdin; stores its exit code and output in RUN
//  (stdout in s_out, which the next run overwrites).
static void run_tool (dm_run_t *run, const char *program, char *const argv[], const char *input,
                      int timeout_ms)
{
    run->out = s_out;
    run->out_cap = sizeof s_out;
    dm_run_tool (run, program, argv, input, timeout_ms);
}

//  Runs weft with the fabric flags, INPUT on stdin (may be NULL) and the
//  NULL-terminated arguments.
static void run_weft (dm_run_t *run, const char *input, ...)
{
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", NULL);
    args_fabric (&args);
    va_list list;
    va_start (list, input);
    dm_args_addv (&args, list);
    va_end (list);
    run_tool (run, WEFT, args.argv, input, 30000);
}

//  Stores in OBJ (CAP bytes) the JSON object of the `weft queues --json`
//  output OUT whose queue is QUEUE; fails the test when there is none.
static void queue_object (const char *out, const char *queue, char *obj, size_t cap)
{
    char needle[128];
    snprintf (needle, sizeof needle, "{\"queue\": \"%s\",", queue);
    const char *start = strstr (out, needle);
    cr_assert_not_null (start, "no queue %s in %s", queue, out);
    const char *end = strchr (start, '}');
    cr_assert_not_null (end);
    snprintf (obj, cap, "%.*s", (int)(end - start + 1), start);
}

//  Checks the output of `weft recv --json` for "hello" and the bodies
//  1..COUNT, each at least once; returns how many lines it had.
static int check_bodies (const char *out, int count)
{
    char seen[1024] = {0};
    cr_assert_lt (count, (int)sizeof seen);
    int lines = 0, hello = 0;
    for (const char *p = strstr (out, "\"body\": \""); p; p = strstr (p + 1, "\"body\": \"")) {
        const char *body = p + 9;
        lines++;
        if (strncmp (body, "hello\"", 6) == 0)
            hello++;
        else {
            int value = atoi (body);
            cr_assert (value >= 1 && value <= count, "unexpected body at %.40s", body);
            seen[value] = 1;
        }
    }
    cr_assert_eq (hello, 1, "hello came %d times", hello);
    for (int i = 1; i <= count; i++)
        cr_assert (seen[i], "message %d missing", i);
    return lines;
}

TestSuite (cli_queues, .fini = fabric_stop);

Test (cli_queues, send_recv_queues_ring, .timeout = 120)
{
    fabric_start ();
    dm_run_t run;
    run_weft (&run, NULL, "send", "q", "hello", NULL);
    cr_assert_eq (run.code, 0, "send: exit %d: %s", run.code, run.err);
    cr_assert_str_empty (run.out);

    //  500 lines on stdin, written by this test as weft reads them
    char input[4096];
    size_t n = 0;
    for (int i = 1; i <= 500; i++)
        n += (size_t)snprintf (input + n, sizeof input - n, "%d\n", i);
    run_weft (&run, input, "send", "q", "--json", NULL);
    cr_assert_eq (run.code, 0, "send stdin: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "{\"sent\": 500, \"confirmed\": 500, \"duplicates\": 0}"), "%s",
               run.out);

    run_weft (&run, NULL, "recv", "q", "--count", "501", "--json", "--timeout", "20", NULL);
    cr_assert_eq (run.code, 0, "recv: exit %d: %s", run.code, run.err);
    cr_assert_eq (check_bodies (run.out, 500), 501, "%s", run.out);
    cr_assert_eq (dm_count_of (run.out, "\"queue\": \"q\""), 501);
    cr_assert_eq (dm_count_of (run.out, "\"priority\": 0"), 501);

    run_weft (&run, NULL, "queues", "--json", NULL);
    cr_assert_eq (run.code, 0, "queues: exit %d: %s", run.code, run.err);
    char obj[1024];
    queue_object (run.out, "q", obj, sizeof obj);
    cr_assert (strstr (obj, "\"depth\": 0,") && strstr (obj, "\"in_flight\": 0,"), "%s", obj);
    cr_assert (strstr (obj, "\"acked\": 501,") && strstr (obj, "\"enqueued\": 501,"), "%s", obj);
    run_weft (&run, NULL, "queues", NULL);
    cr_assert_eq (run.code, 0, "queues: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "queue") && strstr (run.out, "in_flight"), "%s", run.out);
    cr_assert_null (strstr (run.out, "voters"), "no group columns without Raft: %s", run.out);

    run_weft (&run, NULL, "ring", "--json", NULL);
    cr_assert_eq (run.code, 0, "ring: exit %d: %s", run.code, run.err);
    cr_assert_eq (dm_count_of (run.out, "\"uuid\""), MEMBERS, "%s", run.out);
    for (size_t i = 0; i < MEMBERS; i++)
        cr_assert (strstr (run.out, s_fab.members[i].uuid), "%s missing: %s", s_fab.members[i].name,
                   run.out);
    cr_assert_eq (dm_count_of (run.out, "\"owns\": [\"q\"]"), 1, "%s", run.out);
    cr_assert_null (strstr (run.out, "\"groups\""), "no groups without Raft: %s", run.out);
}

Test (cli_queues, duplicate_id_and_redrive_of_nothing, .timeout = 120)
{
    fabric_start ();
    dm_run_t run;
    for (int i = 0; i < 2; i++) {
        run_weft (&run, NULL, "send", "orders", "{\"id\": 7}", "--id", "order-7", "--priority", "3",
                  "--json", NULL);
        cr_assert_eq (run.code, 0, "send: exit %d: %s", run.code, run.err);
        cr_assert (strstr (run.out, i ? "\"duplicates\": 1}" : "\"duplicates\": 0}"), "%s",
                   run.out);
    }
    run_weft (&run, NULL, "recv", "orders", "--count", "1", "--json", NULL);
    cr_assert_eq (run.code, 0, "recv: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "\"msg_id\": \"order-7\"") && strstr (run.out, "\"priority\": 3") &&
                   strstr (run.out, "\"body\": \"{\\\"id\\\": 7}\""),
               "%s", run.out);
    //  enqueued once: nothing more comes
    run_weft (&run, NULL, "recv", "orders", "--count", "1", "--timeout", "1", NULL);
    cr_assert_eq (run.code, 1, "recv: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weft: timed out after 1 s with 0 of 1 messages"), "%s", run.err);

    //  --timeout: a loaded CI machine may take seconds to settle the ring
    run_weft (&run, NULL, "redrive", "orders", "--timeout", "20", NULL);
    cr_assert_eq (run.code, 0, "redrive: exit %d: %s", run.code, run.err);
    cr_assert_str_eq (run.out, "redriven 0\n");
    run_weft (&run, NULL, "redrive", "orders", "--json", "--timeout", "20", NULL);
    cr_assert_eq (run.code, 0, "redrive: exit %d: %s", run.code, run.err);
    cr_assert_str_eq (run.out, "{\"redriven\": 0}\n");
}

//  recv --no-ack prints without acknowledging: once it exits, the owner
//  delivers the message again at once (its consumer's node left).
Test (cli_queues, no_ack_leaves_the_message_queued, .timeout = 120)
{
    fabric_start ();
    dm_run_t run;
    run_weft (&run, NULL, "send", "jobs", "job-1", NULL);
    cr_assert_eq (run.code, 0, "send: exit %d: %s", run.code, run.err);
    run_weft (&run, NULL, "recv", "jobs", "--count", "1", "--no-ack", "--json", NULL);
    cr_assert_eq (run.code, 0, "recv: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "\"deliveries\": 1,") && strstr (run.out, "\"body\": \"job-1\""),
               "%s", run.out);
    run_weft (&run, NULL, "recv", "jobs", "--count", "1", "--json", NULL);
    cr_assert_eq (run.code, 0, "recv: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "\"deliveries\": 2,") && strstr (run.out, "\"body\": \"job-1\""),
               "%s", run.out);
}

Test (cli_queues, send_without_members_fails, .timeout = 60)
{
    fabric_init ();
    dm_run_t run;
    run_weft (&run, NULL, "send", "q", "x", "--timeout", "1", NULL);
    cr_assert_eq (run.code, 1, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weft: send: no member with a journal (--data) joined within 1 s"),
               "%s", run.err);
    cr_assert_eq (dm_count_of (run.err, "\n"), 1, "not one line: '%s'", run.err);
    run_weft (&run, NULL, "recv", "q", "--timeout", "0.5", NULL);
    cr_assert_eq (run.code, 1, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weft: recv: "), "%s", run.err);
}

//  Runs weft with ARGV (no fabric flags) and asserts exit 2 with a one-line
//  stderr containing NEEDLE.
static void expect_usage (char *const argv[], const char *input, const char *needle)
{
    dm_run_t run;
    run_tool (&run, WEFT, argv, input, 10000);
    cr_assert_eq (run.code, 2, "%s %s: exit %d: %s", argv[1], argv[2], run.code, run.err);
    cr_assert (strstr (run.err, needle), "'%s' not in '%s'", needle, run.err);
    cr_assert_eq (dm_count_of (run.err, "\n"), 1, "not one line: '%s'", run.err);
}

Test (cli_queues, usage_errors, .timeout = 60)
{
    expect_usage ((char *[]){"weft", "send", NULL}, NULL, "send: expected arguments QUEUE");
    expect_usage ((char *[]){"weft", "recv", "q", "--count", "x", NULL}, NULL, "--count");
    expect_usage ((char *[]){"weft", "send", "q", "--id", "a1", NULL}, "line\n",
                  "send: --id needs MESSAGE");
    expect_usage ((char *[]){"weft", "send", "q", "m", "--id", "not valid", NULL}, NULL, "--id");
    expect_usage ((char *[]){"weft", "send", "q", "m", "--priority", "10", NULL}, NULL,
                  "--priority");
    expect_usage ((char *[]){"weft", "recv", "q", "--prefetch", "0", NULL}, NULL, "--prefetch");
    expect_usage ((char *[]){"weft", "send", "bad..queue", "m", NULL}, NULL, "bad..queue");
    expect_usage ((char *[]){"weft", "recv", "q", "--id", "a1", NULL}, NULL, "--id: only for send");
    expect_usage ((char *[]){"weft", "send", "q", "m", "--no-ack", NULL}, NULL,
                  "--no-ack: only for recv");
    expect_usage ((char *[]){"weft", "ring", "x", NULL}, NULL, "ring: expected no arguments");
    expect_usage ((char *[]){"weft", "queues", "--count", "2", NULL}, NULL, "--count");
    expect_usage ((char *[]){"weft", "redrive", NULL}, NULL, "redrive: expected arguments QUEUE");
}

Test (cli_queues, help_lists_the_queue_commands, .timeout = 30)
{
    dm_run_t run;
    run_tool (&run, WEFT, (char *[]){"weft", "--help", NULL}, NULL, 10000);
    cr_assert_eq (run.code, 0);
    const char *commands[] = {"send QUEUE", "recv QUEUE", "ring", "queues", "redrive QUEUE"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        cr_assert (strstr (run.out, commands[i]), "%s not in %s", commands[i], run.out);
    run_tool (&run, WEFT, (char *[]){"weft", "send", "--help", NULL}, NULL, 10000);
    cr_assert_eq (run.code, 0);
    cr_assert (strstr (run.out, "--id ID") && strstr (run.out, "--priority N"), "%s", run.out);
    run_tool (&run, WEFT, (char *[]){"weft", "recv", "--help", NULL}, NULL, 10000);
    cr_assert_eq (run.code, 0);
    cr_assert (strstr (run.out, "--no-ack") && strstr (run.out, "--prefetch N"), "%s", run.out);
}
