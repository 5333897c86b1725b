/*  tests/integration/test_cli.c - weftd and weft as separate processes.

    Each test starts its own weftd children on loopback (--interface lo, a
    beacon port from tu_beacon_port (), a cluster name of its own), waits for
    their "ready" lines and watches their --events output; weft runs to
    completion with its stdout and stderr captured. Waits have deadlines;
    nothing sleeps. Only the children a test started are signalled, by pid.
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemons.h"
#include "testutil.h"

#define WEFTD       WEFT_BIN_DIR "/weftd"
#define WEFT        WEFT_BIN_DIR "/weft"
#define MAX_DAEMONS 3

//  The fabric of one test (a global so that .fini can stop it on failure).
static struct {
    uint16_t port;                    //  beacon port
    char cluster[48];                 //  cluster name
    dm_daemon_t daemons[MAX_DAEMONS]; //  started weftd children
    size_t count;                     //  used daemons
    pid_t extra[4];                   //  other long-lived children (weft sub, pub)
} s_fab;

//  The stdout of the last run (static: a failed assertion leaks nothing).
static char s_out[16384];

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
    dm_cluster_name (s_fab.cluster, sizeof s_fab.cluster, "cli", s_fab.port);
}

//  Starts weftd NAME with the fabric flags, --events and EXTRA (may be NULL),
//  and waits for its ready line.
static dm_daemon_t *daemon_start (const char *name, const char *extra)
{
    cr_assert_lt (s_fab.count, MAX_DAEMONS);
    dm_daemon_t *d = &s_fab.daemons[s_fab.count++];
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weftd", "--name", name, "--events", NULL);
    args_fabric (&args);
    if (extra)
        dm_args_add (&args, "--sub", extra, NULL);
    dm_daemon_start (d, WEFTD, name, args.argv, 5000, true);
    return d;
}

//  Reads lines of daemon D until it has printed "join name=X " for every other
//  daemon X (in any order), for up to TIMEOUT_MS; fails the test otherwise.
static void wait_joins (dm_daemon_t *d, int timeout_ms)
{
    size_t missing = dm_wait_joins (s_fab.daemons, s_fab.count, d, timeout_ms);
    cr_assert_eq (missing, 0, "%s saw only %zu of %zu peers join", d->name,
                  s_fab.count - 1 - missing, s_fab.count - 1);
}

//  Starts N daemons d0..d(N-1), D0 subscribed to SUB0 (may be NULL), and
//  waits until each has seen the others join.
static void fabric_start (size_t n, const char *sub0)
{
    fabric_init ();
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf (name, sizeof name, "d%zu", i);
        daemon_start (name, i == 0 ? sub0 : NULL);
    }
    for (size_t i = 0; i < n; i++)
        wait_joins (&s_fab.daemons[i], 5000);
}

//  .fini of every test: stops what the test started, by pid.
static void fabric_stop (void)
{
    dm_daemons_stop (s_fab.daemons, s_fab.count, 3000);
    for (size_t i = 0; i < sizeof s_fab.extra / sizeof s_fab.extra[0]; i++)
        if (s_fab.extra[i] > 0)
            tu_stop_child (s_fab.extra[i], SIGTERM, 3000);
    s_fab.count = 0;
}

//  Runs PROGRAM with ARGV to completion (killed after TIMEOUT_MS), stdin
//  empty; stores its exit code and output in RUN (stdout in s_out, which the
//  next run overwrites).
static void run_tool (dm_run_t *run, const char *program, char *const argv[], int timeout_ms)
{
    run->out = s_out;
    run->out_cap = sizeof s_out;
    dm_run_tool (run, program, argv, NULL, timeout_ms);
}

//  Runs weft with the fabric flags and the NULL-terminated arguments.
static void run_weft (dm_run_t *run, int timeout_ms, ...)
{
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", NULL);
    args_fabric (&args);
    va_list list;
    va_start (list, timeout_ms);
    dm_args_addv (&args, list);
    va_end (list);
    run_tool (run, WEFT, args.argv, timeout_ms);
}

TestSuite (cli, .fini = fabric_stop);

Test (cli, peers_json_lists_the_members, .timeout = 60)
{
    fabric_start (3, NULL);
    dm_run_t run;
    run_weft (&run, 10000, "peers", "--json", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert_eq (dm_count_of (run.out, "\"uuid\""), 3, "%s", run.out);
    cr_assert_eq (dm_count_of (run.out, "\"role\": \"member\""), 3, "%s", run.out);
    for (size_t i = 0; i < s_fab.count; i++)
        cr_assert (strstr (run.out, s_fab.daemons[i].uuid), "%s missing: %s", s_fab.daemons[i].name,
                   run.out);
    cr_assert_eq (run.out[0], '[', "%s", run.out);

    run_weft (&run, 10000, "peers", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "name") && strstr (run.out, "state"), "%s", run.out);
    cr_assert_eq (dm_count_of (run.out, "alive"), 3, "%s", run.out);
}

Test (cli, pub_and_sub_move_a_message, .timeout = 60)
{
    fabric_start (3, "cli.#");
    //  a weft sub, known to be up once the daemons see it join
    char sub_name[64];
    snprintf (sub_name, sizeof sub_name, "sub-%s", s_fab.cluster);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--name", sub_name, NULL);
    args_fabric (&args);
    dm_args_add (&args, "sub", "cli.#", "--count", "1", "--json", "--timeout", "20", NULL);
    int sub_out = -1;
    s_fab.extra[0] = dm_spawn_io (WEFT, args.argv, NULL, &sub_out, NULL);
    char needle[96];
    snprintf (needle, sizeof needle, "join name=%s ", sub_name);
    cr_assert (tu_read_until (s_fab.daemons[1].out, needle, NULL, 0, 5000), "sub never joined");

    //  weft pub reading stdin: it publishes each line as it arrives, and
    //  stays up until stdin closes
    dm_args_t pub = {.argc = 0};
    dm_args_add (&pub, "weft", NULL);
    args_fabric (&pub);
    dm_args_add (&pub, "pub", "cli.test", NULL);
    int pub_in = -1;
    s_fab.extra[1] = dm_spawn_io (WEFT, pub.argv, &pub_in, NULL, NULL);
    cr_assert_eq (write (pub_in, "hello fabric\n", 13), 13);

    char line[1024];
    cr_assert (tu_read_until (sub_out, "\"body\": \"hello fabric\"", line, sizeof line, 10000),
               "weft sub got nothing");
    cr_assert (strstr (line, "\"topic\": \"cli.test\""), "%s", line);
    cr_assert (strstr (line, "\"seq\": 1"), "%s", line);
    cr_assert (tu_read_until (s_fab.daemons[0].out, "msg topic=cli.test ", line, sizeof line, 5000),
               "weftd --sub got nothing");
    cr_assert (strstr (line, "len=12"), "%s", line);

    close (pub_in);
    int status = tu_stop_child (s_fab.extra[1], 0, 5000);
    s_fab.extra[1] = 0;
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "pub status %d", status);
    status = tu_stop_child (s_fab.extra[0], 0, 5000);
    s_fab.extra[0] = 0;
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "sub status %d", status);
    close (sub_out);
}

//  weft pub TOPIC MESSAGE exits right after publishing: what it published
//  must still arrive (the node disconnects from a gone publisher only later,
//  see pubsub_peer_removed () in node/pubsub.c).
Test (cli, one_shot_pub_reaches_a_daemon, .timeout = 60)
{
    fabric_start (2, "cli.#");
    dm_run_t run;
    run_weft (&run, 10000, "pub", "--json", "cli.once", "payload", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "{\"published\": 1}"), "%s", run.out);
    cr_assert (tu_read_until (s_fab.daemons[0].out, "msg topic=cli.once ", NULL, 0, 5000));
}

Test (cli, kill_9_is_seen_as_expired, .timeout = 60)
{
    fabric_start (3, NULL);
    dm_daemon_t *victim = &s_fab.daemons[2];
    char needle[128];
    snprintf (needle, sizeof needle, "expired name=%s uuid=%s", victim->name, victim->uuid);
    tu_stop_child (victim->pid, SIGKILL, 1000);
    victim->pid = 0;
    int64_t start = tu_now_ms ();
    cr_assert (tu_read_until (s_fab.daemons[0].out, needle, NULL, 0, 3000),
               "no expired event within 3 s");
    cr_assert_lt (tu_now_ms () - start, 3000);
}

Test (cli, sigterm_is_seen_as_leave_and_exits_0, .timeout = 60)
{
    fabric_start (3, NULL);
    dm_daemon_t *leaver = &s_fab.daemons[1];
    char needle[128];
    snprintf (needle, sizeof needle, "leave name=%s uuid=%s", leaver->name, leaver->uuid);
    int status = tu_stop_child (leaver->pid, SIGTERM, 3000);
    leaver->pid = 0;
    cr_assert (WIFEXITED (status), "weftd did not exit by itself (status %d)", status);
    cr_assert_eq (WEXITSTATUS (status), 0);
    //  well before expiry (1.2 s): the leaving beacon made it
    cr_assert (tu_read_until (s_fab.daemons[0].out, needle, NULL, 0, 1000), "no leave in 1 s");
}

Test (cli, status_of_one_node, .timeout = 60)
{
    fabric_start (2, NULL);
    dm_run_t run;
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--interface", "lo", "--node", s_fab.daemons[0].router, "--json",
                 "status", NULL);
    run_tool (&run, WEFT, args.argv, 10000);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert_eq (dm_count_of (run.out, "\"uuid\""), 1, "%s", run.out);
    cr_assert (strstr (run.out, s_fab.daemons[0].uuid), "%s", run.out);

    run_weft (&run, 10000, "status", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "d0 ") && strstr (run.out, "d1 "), "%s", run.out);
}

Test (cli, sub_times_out_with_count, .timeout = 30)
{
    fabric_init ();
    dm_run_t run;
    run_weft (&run, 10000, "sub", "nobody.#", "--count", "2", "--timeout", "0.3", NULL);
    cr_assert_eq (run.code, 1, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weft: timed out after 0.3 s with 0 of 2 messages"), "%s", run.err);
    run_weft (&run, 10000, "sub", "nobody.#", "--timeout", "0.2", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
}

//  Runs PROGRAM with ARGV and asserts exit code CODE (or, if ALT >= 0, ALT)
//  and a one-line stderr containing NEEDLE.
static void expect_failure (const char *program, char *const argv[], int code, int alt,
                            const char *needle)
{
    dm_run_t run;
    run_tool (&run, program, argv, 10000);
    cr_assert (run.code == code || run.code == alt, "%s: exit %d: %s", argv[1], run.code, run.err);
    cr_assert (strstr (run.err, needle), "'%s' not in '%s'", needle, run.err);
    cr_assert_eq (dm_count_of (run.err, "\n"), 1, "not one line: '%s'", run.err);
}

Test (cli, usage_errors, .timeout = 30)
{
    expect_failure (WEFTD, (char *[]){"weftd", "--bogus", NULL}, 2, -1, "--bogus");
    expect_failure (WEFTD, (char *[]){"weftd", "--beacon-port", "70000", NULL}, 2, -1,
                    "discovery.port");
    expect_failure (WEFTD, (char *[]){"weftd", "--port", NULL}, 2, -1, "--port: needs a value");
    expect_failure (WEFT, (char *[]){"weft", "--bogus", "peers", NULL}, 2, -1, "--bogus");
    expect_failure (WEFT, (char *[]){"weft", "launch", NULL}, 2, -1, "launch");
    expect_failure (WEFT, (char *[]){"weft", "pub", NULL}, 2, -1, "pub");
    expect_failure (WEFT, (char *[]){"weft", "--interface", "lo", "pub", "bad..topic", "x", NULL},
                    2, -1, "bad..topic");
    expect_failure (WEFT, (char *[]){"weft", "--count", "2", "peers", NULL}, 2, -1, "--count");
}

Test (cli, missing_config_file, .timeout = 30)
{
    const char *path = "/nonexistent/weft-cli-test.cfg";
    expect_failure (WEFTD, (char *[]){"weftd", "--config", (char *)path, NULL}, 1, 2, path);
    expect_failure (WEFT, (char *[]){"weft", "--config", (char *)path, "peers", NULL}, 1, 2, path);
}

Test (cli, start_failure_exits_1, .timeout = 30)
{
    expect_failure (WEFTD,
                    (char *[]){"weftd", "--log-level", "none", "--interface", "no-such-if0", NULL},
                    1, -1, "weftd: ");
}

Test (cli, help_and_version, .timeout = 30)
{
    dm_run_t run;
    run_tool (&run, WEFTD, (char *[]){"weftd", "--help", NULL}, 10000);
    cr_assert_eq (run.code, 0);
    cr_assert (strstr (run.out, "WEFT_DISCOVERY_INTERVAL_MS") && strstr (run.out, "--seed"), "%s",
               run.out);
    run_tool (&run, WEFT, (char *[]){"weft", "sub", "--help", NULL}, 10000);
    cr_assert_eq (run.code, 0);
    cr_assert (strstr (run.out, "--count"), "%s", run.out);
    run_tool (&run, WEFT, (char *[]){"weft", "--version", NULL}, 10000);
    cr_assert_eq (run.code, 0);
    cr_assert (strstr (run.out, "weft 0."), "%s", run.out);
}

Test (cli, repair_journal, .timeout = 60)
{
    fabric_init ();
    char dir[] = "/tmp/weft-cli-repair-XXXXXX";
    cr_assert_not_null (mkdtemp (dir));
    dm_daemon_t *d = NULL;
    {
        dm_args_t args = {.argc = 0};
        //  weftd with a journal: --repair must refuse while it runs
        dm_args_add (&args, "weftd", "--data", dir, NULL);
        args_fabric (&args);
        d = &s_fab.daemons[s_fab.count++];
        d->pid = tu_spawn (WEFTD, args.argv, &d->out);
        cr_assert (tu_read_until (d->out, "ready ", NULL, 0, 5000));
    }
    dm_run_t run;
    run_tool (&run, WEFTD, (char *[]){"weftd", "--repair", "--data", dir, NULL}, 10000);
    cr_assert_eq (run.code, 1, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weftd: --repair: "), "%s", run.err);
    int status = tu_stop_child (d->pid, SIGTERM, 3000);
    d->pid = 0;
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    run_tool (&run, WEFTD, (char *[]){"weftd", "--repair", "--data", dir, NULL}, 10000);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "repaired "), "%s", run.out);
    expect_failure (WEFTD, (char *[]){"weftd", "--repair", NULL}, 2, -1, "--data");
    dm_remove_tree (dir);
}
