/*  tests/integration/test_durable_chaos.c - a named durable subscriber
    through publisher pauses, restarts and its own kill -9 (issue 10).

    Two weftd publishers (journals, durable stream.#) publish 50,000 lines
    each ("a<i>" on stream.a, "b<i>" on stream.b) in chunks, while a
    `weft sub 'stream.#' --durable chaos` is killed with SIGKILL five times
    and restarted on its journal, one publisher is paused past the expiry
    and resumed, the other is restarted cleanly, and the first is then
    killed with SIGKILL (once what it was fed is journaled) and restarted.
    The contract checked: every line published reaches the subscriber
    (lost = 0); within each run of the subscriber, each publisher's
    sequence only goes up; what a run prints again of an earlier run
    (duplicates) stays within the bound of one run's unacknowledged tail
    (DUP_BOUND per kill). The figures are printed.

    Every process lives on loopback with a private beacon port and cluster;
    waits have deadlines; only the children the test started are
    signalled, by pid.
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "daemons.h"
#include "testutil.h"

#define WEFTD     WEFT_BIN_DIR "/weftd"
#define WEFT      WEFT_BIN_DIR "/weft"
#define PER_PUB   50000     //  lines per publisher
#define CHUNKS    10        //  fed in this many chunks
#define KILLS     5         //  SIGKILLs of the subscriber
#define DUP_BOUND (512 + 1) //  per kill: see test_durable_cli.c
#define LINE_CAP  1024

typedef struct {
    const char *name;  //  "pa" or "pb"
    const char *topic; //  its topic
    char letter;       //  body prefix
    pid_t pid;         //  0 when not running
    int in;            //  its stdin
    dm_reader_t out;   //  its stdout
    char uuid[40];
    char router[64];
    uint64_t fed; //  lines written to it so far
} pub_t;

static struct {
    uint16_t port;
    char cluster[48];
    char dir[64];
    pub_t pubs[2];
    pid_t sub; //  the subscriber (0: not running)
    dm_reader_t sub_out;
} s_fab;

//  What the subscriber printed, over all its runs.
static struct {
    uint8_t seen[2][PER_PUB + 1];   //  times each line was printed
    unsigned long long last_seq[2]; //  in this run
    unsigned long long lines, duplicates, backwards, runs;
} s_got;

static void args_fabric (dm_args_t *args)
{
    dm_args_fabric (args, s_fab.port, s_fab.cluster);
}

static void fabric_init (void)
{
    memset (&s_fab, 0, sizeof s_fab);
    memset (&s_got, 0, sizeof s_got);
    s_fab.port = tu_beacon_port ();
    dm_cluster_name (s_fab.cluster, sizeof s_fab.cluster, "chaos", s_fab.port);
    snprintf (s_fab.dir, sizeof s_fab.dir, "/tmp/weft-chaos-XXXXXX");
    cr_assert_not_null (mkdtemp (s_fab.dir));
    s_fab.pubs[0] = (pub_t){.name = "pa", .topic = "stream.a", .letter = 'a', .in = -1};
    s_fab.pubs[1] = (pub_t){.name = "pb", .topic = "stream.b", .letter = 'b', .in = -1};
    s_fab.sub_out.fd = -1;
}

static void fabric_fini (void)
{
    for (int i = 0; i < 2; i++)
        if (s_fab.pubs[i].pid > 0) {
            kill (s_fab.pubs[i].pid, SIGCONT);
            tu_stop_child (s_fab.pubs[i].pid, SIGKILL, 3000);
        }
    if (s_fab.sub > 0)
        tu_stop_child (s_fab.sub, SIGKILL, 3000);
    dm_remove_tree (s_fab.dir);
}

//  Starts publisher P on its journal (again, after a stop) and reads its ready line.
static void pub_start (pub_t *p)
{
    char dir[128];
    snprintf (dir, sizeof dir, "%s/%s", s_fab.dir, p->name);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weftd", "--name", p->name, "--events", "--data", dir, "--durable",
                 "stream.#", "--sync", "async", "--pub", p->topic, NULL);
    args_fabric (&args);
    memset (&p->out, 0, sizeof p->out);
    p->pid = dm_spawn_io (WEFTD, args.argv, &p->in, &p->out.fd, NULL);
    char line[LINE_CAP];
    cr_assert (dm_reader_until (&p->out, "ready ", line, sizeof line, 10000), "%s: no ready line",
               p->name);
    char uuid[40];
    dm_parse_ready (line, uuid, p->router);
    cr_assert (!*p->uuid || strcmp (uuid, p->uuid) == 0, "%s changed identity", p->name);
    snprintf (p->uuid, sizeof p->uuid, "%s", uuid);
}

//  Stops publisher P with SIG and closes its pipes.
static void pub_stop (pub_t *p, int sig)
{
    tu_stop_child (p->pid, sig, 5000);
    p->pid = 0;
    close (p->in);
    p->in = -1;
    if (p->out.fd >= 0)
        close (p->out.fd);
    p->out.fd = -1;
}

//  Writes the next COUNT lines of P to its stdin.
static void pub_feed (pub_t *p, uint64_t count)
{
    char buf[8192];
    size_t used = 0;
    for (uint64_t i = 0; i <= count; i++) {
        if (i == count || used > sizeof buf - 32) {
            for (size_t done = 0; done < used;) {
                ssize_t n = write (p->in, buf + done, used - done);
                cr_assert (n > 0, "write to %s failed", p->name);
                done += (size_t)n;
            }
            used = 0;
        }
        if (i < count)
            used += (size_t)snprintf (buf + used, sizeof buf - used, "%c%llu\n", p->letter,
                                      (unsigned long long)++p->fed);
    }
}

//  The number of entries publisher P has journaled (weft journal --node).
static unsigned long long journaled (const pub_t *p)
{
    static char out[64 * 1024];
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--interface", "lo", "--node", p->router, "--json", "journal",
                 NULL);
    dm_run_t run = {.out = out, .out_cap = sizeof out};
    dm_run_tool (&run, WEFT, args.argv, NULL, 10000);
    char needle[64];
    snprintf (needle, sizeof needle, "{\"stream\":\"t/%s\",\"count\":", p->topic);
    const char *at = run.code == 0 ? strstr (out, needle) : NULL;
    return at ? strtoull (at + strlen (needle), NULL, 10) : 0;
}

//  Waits until P has journaled every line it was fed.
static void wait_journaled (const pub_t *p)
{
    int64_t deadline = tu_now_ms () + 30000;
    unsigned long long n = 0;
    for (int round = 0; round < 1000 && tu_now_ms () < deadline; round++)
        if ((n = journaled (p)) >= p->fed)
            return;
    cr_assert_fail ("%s journaled %llu of %llu", p->name, n, (unsigned long long)p->fed);
}

static void sub_start (void)
{
    char dir[128];
    snprintf (dir, sizeof dir, "%s/sub", s_fab.dir);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--name", "csub", NULL);
    args_fabric (&args);
    dm_args_add (&args, "sub", "stream.#", "--durable", "chaos", "--from", "earliest", "--data",
                 dir, "--sync", "async", "--json", "--timeout", "0", NULL);
    memset (&s_fab.sub_out, 0, sizeof s_fab.sub_out);
    s_fab.sub = dm_spawn_io (WEFT, args.argv, NULL, &s_fab.sub_out.fd, NULL);
    s_got.runs++;
    s_got.last_seq[0] = s_got.last_seq[1] = 0;
}

//  Accounts for one line the subscriber printed.
static void got_line (const char *line)
{
    dm_sub_line_t m;
    if (!dm_parse_sub_line (line, &m))
        return;
    int which = m.body[0] == 'a' ? 0 : m.body[0] == 'b' ? 1 : -1;
    unsigned long long i = strtoull (m.body + 1, NULL, 10);
    cr_assert (which >= 0 && i >= 1 && i <= PER_PUB, "a line nobody published: %s", line);
    cr_assert_str_eq (m.from, s_fab.pubs[which].uuid, "%s", line);
    s_got.lines++;
    if (s_got.seen[which][i]++)
        s_got.duplicates++;
    if (m.seq <= s_got.last_seq[which])
        s_got.backwards++;
    s_got.last_seq[which] = m.seq;
}

//  Reads the subscriber's lines until it printed AT_LEAST more, or its
//  output ends, or TIMEOUT_MS passed. Returns how many it read.
static unsigned long long sub_read (unsigned long long at_least, int timeout_ms)
{
    char line[LINE_CAP];
    unsigned long long n = 0;
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (n < at_least && dm_reader_line (&s_fab.sub_out, line, sizeof line, deadline) == 1) {
        got_line (line);
        n++;
    }
    return n;
}

//  Kills the subscriber with SIGKILL, reads what it printed before, restarts it.
static void sub_kill_and_restart (void)
{
    tu_stop_child (s_fab.sub, SIGKILL, 5000);
    s_fab.sub = 0;
    sub_read (UINT64_MAX, 5000); //  up to the end of its output
    sub_start ();
}

//  Lines not printed by any run yet.
static unsigned long long missing (void)
{
    unsigned long long n = 0;
    for (int p = 0; p < 2; p++)
        for (size_t i = 1; i <= s_fab.pubs[p].fed; i++)
            n += s_got.seen[p][i] == 0;
    return n;
}

TestSuite (durable_chaos, .init = fabric_init, .fini = fabric_fini);

Test (durable_chaos, subscriber_killed_five_times_publishers_paused_and_restarted, .timeout = 240)
{
    for (int i = 0; i < 2; i++)
        pub_start (&s_fab.pubs[i]);
    sub_start ();
    int kills = 0;
    for (int chunk = 0; chunk < CHUNKS; chunk++) {
        for (int i = 0; i < 2; i++)
            pub_feed (&s_fab.pubs[i], PER_PUB / CHUNKS);
        sub_read (2000, 30000); //  some progress in this run
        if (chunk % 2 == 1 && kills < KILLS) {
            sub_kill_and_restart ();
            kills++;
        }
        pub_t *pa = &s_fab.pubs[0], *pb = &s_fab.pubs[1];
        if (chunk == 2) { //  pa paused past the expiry: pb expires it, then takes it back
            cr_assert_eq (kill (pa->pid, SIGSTOP), 0);
            cr_assert (dm_reader_until (&pb->out, "expired name=pa ", NULL, 0, 10000),
                       "pb never expired the paused pa");
            cr_assert_eq (kill (pa->pid, SIGCONT), 0);
            cr_assert (dm_reader_until (&pb->out, "join name=pa ", NULL, 0, 15000),
                       "pb never took pa back");
        } else if (chunk == 4) { //  pb restarted cleanly on its journal
            wait_journaled (pb);
            pub_stop (pb, SIGTERM);
            pub_start (pb);
        } else if (chunk == 6) { //  pa killed once what it was fed is journaled
            wait_journaled (pa);
            pub_stop (pa, SIGKILL);
            pub_start (pa);
        }
    }
    //  the rest, until every line was printed
    int64_t deadline = tu_now_ms () + 90000;
    while (missing () > 0 && tu_now_ms () < deadline)
        sub_read (UINT64_MAX, 1000);
    unsigned long long lost = missing ();
    fprintf (stderr,
             "test_durable_chaos: %d kills, %llu runs: %llu lines printed for %d published, lost "
             "%llu, duplicates %llu (bound %d), backwards %llu\n",
             kills, s_got.runs, s_got.lines, 2 * PER_PUB, lost, s_got.duplicates, KILLS * DUP_BOUND,
             s_got.backwards);
    cr_assert_eq (kills, KILLS);
    cr_assert_eq (lost, 0, "%llu published lines never reached the subscriber", lost);
    cr_assert_eq (s_got.backwards, 0, "a publisher's sequence went backwards within a run");
    cr_assert_leq (s_got.duplicates, KILLS * DUP_BOUND, "%llu duplicates", s_got.duplicates);
    tu_stop_child (s_fab.sub, SIGTERM, 5000);
    s_fab.sub = 0;
    for (int i = 0; i < 2; i++)
        pub_stop (&s_fab.pubs[i], SIGTERM);
}
