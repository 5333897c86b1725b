/*  tests/integration/test_durable_cli.c - durable topics through weftd and
    weft, as separate processes: a durable subscriber killed with SIGKILL
    mid-stream and restarted, a publishing weftd killed and restarted, late
    joiners from earliest and from a time, weft journal and retention, and
    the usage errors of the durable flags.

    The publisher is always a weftd that publishes its stdin (--pub TOPIC):
    durability belongs to the publishing node, so the node that journals
    must be the one that publishes. Every process lives on loopback
    (--interface lo, a beacon port from tu_beacon_port (), a cluster of its
    own, fast intervals); waits have deadlines, nothing sleeps, and only the
    children a test started are signalled, by pid.
*/
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemons.h"
#include "testutil.h"

#define WEFTD     WEFT_BIN_DIR "/weftd"
#define WEFT      WEFT_BIN_DIR "/weft"
#define MAX_KIDS  8
#define LINE_MAX_ 1024

//  The durable subscriber acknowledges each message after printing it; the
//  node stages each ack and commits the staged ones once per turn of its
//  loop, which reads at most 512 commands (BATCH in node/node.c) per turn.
//  After a SIGKILL the next run therefore prints again at most the line
//  printed but not acknowledged yet, plus the acks of one uncommitted turn.
#define DUP_BOUND (512 + 1)

//  What one test started (a global so that .fini can clean up on failure).
static struct {
    uint16_t port;        //  beacon port
    char cluster[48];     //  cluster name
    char dir[64];         //  scratch directory (journals)
    pid_t kids[MAX_KIDS]; //  children still to stop
} s_fab;

//  A weftd publishing its stdin.
typedef struct {
    pid_t pid;       //  its pid (0 once reaped)
    int in;          //  write end of its stdin
    dm_reader_t out; //  its stdout
    char uuid[40];   //  from its ready line
    char router[64]; //  its ROUTER endpoint
} publisher_t;

//  What a finished run of a tool gave.
typedef struct {
    int code;       //  exit code, or -1 if it did not exit by itself
    char *out;      //  its stdout (malloc'ed)
    size_t out_len; //  bytes in out
    char err[4096]; //  its stderr
} run_t;

//  Passes on to our stderr what a child wrote on its captured stderr (TEXT)
//  if a sanitizer reported something there, so that it shows in the log.
static void forward_sanitizer (const char *text)
{
    if (strstr (text, "Sanitizer") || strstr (text, "runtime error"))
        fprintf (stderr, "child stderr:\n%s\n", text);
}

//  Appends the discovery flags of this test's fabric to ARGS.
static void args_fabric (dm_args_t *args)
{
    dm_args_fabric (args, s_fab.port, s_fab.cluster);
}

//  Writes the path of journal NAME of this test into PATH.
static void journal_path (const char *name, char *path, size_t cap)
{
    snprintf (path, cap, "%s/%s", s_fab.dir, name);
}

//  .init: picks this test's beacon port, cluster and scratch directory.
static void fabric_init (void)
{
    memset (&s_fab, 0, sizeof s_fab);
    s_fab.port = tu_beacon_port ();
    dm_cluster_name (s_fab.cluster, sizeof s_fab.cluster, "dcli", s_fab.port);
    snprintf (s_fab.dir, sizeof s_fab.dir, "/tmp/weft-durable-cli-XXXXXX");
    cr_assert_not_null (mkdtemp (s_fab.dir));
}

//  Remembers child PID, so that .fini stops it if the test does not.
static void kid_track (pid_t pid)
{
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (s_fab.kids[i] == 0) {
            s_fab.kids[i] = pid;
            return;
        }
    cr_assert_fail ("more than %d children", MAX_KIDS);
}

//  Stops child PID with SIG (by pid), reaps it and forgets it; returns the
//  wait status.
static int kid_stop (pid_t pid, int sig)
{
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (s_fab.kids[i] == pid)
            s_fab.kids[i] = 0;
    return tu_stop_child (pid, sig, 5000);
}

//  .fini: stops what the test started, by pid, and removes its journals.
static void fabric_fini (void)
{
    for (size_t i = 0; i < MAX_KIDS; i++)
        if (s_fab.kids[i] > 0)
            tu_stop_child (s_fab.kids[i], SIGKILL, 3000);
    dm_remove_tree (s_fab.dir);
}

//  Starts PROGRAM with ARGV as dm_spawn_io () does and remembers it, so
//  that .fini stops it if the test does not.
static pid_t spawn_io (const char *program, char *const argv[], int *in, int *out, int *err)
{
    pid_t pid = dm_spawn_io (program, argv, in, out, err);
    kid_track (pid);
    return pid;
}

//  Starts a weftd that journals stream.# in journal NAME and publishes each
//  line of its stdin on TOPIC; EXTRA (NULL-terminated, may be empty) are
//  more flags. Waits for its ready line.
static void publisher_start (publisher_t *p, const char *name, const char *topic, ...)
{
    char dir[128];
    journal_path (name, dir, sizeof dir);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weftd", "--name", name, "--events", "--data", dir, "--durable", "stream.#",
                 "--sync", "async", "--pub", topic, NULL);
    args_fabric (&args);
    va_list list;
    va_start (list, topic);
    dm_args_addv (&args, list);
    va_end (list);
    memset (p, 0, sizeof *p);
    p->pid = spawn_io (WEFTD, args.argv, &p->in, &p->out.fd, NULL);
    char line[LINE_MAX_];
    cr_assert (dm_reader_until (&p->out, "ready ", line, sizeof line, 5000), "%s: no ready line",
               name);
    dm_parse_ready (line, p->uuid, p->router);
}

//  Stops publisher P with SIG; returns the wait status. A SIGTERM must end
//  it cleanly: exit 0 (a leak report under LeakSanitizer would make it 23).
static int publisher_stop (publisher_t *p, int sig)
{
    int status = kid_stop (p->pid, sig);
    p->pid = 0;
    close (p->in);
    if (p->out.fd >= 0)
        close (p->out.fd);
    if (sig == SIGTERM)
        cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "weftd status %d", status);
    return status;
}

//  Writes the lines "m<FIRST>" .. "m<LAST>" to FD.
static void feed (int fd, uint64_t first, uint64_t last)
{
    char buf[8192];
    size_t used = 0;
    for (uint64_t i = first; i <= last + 1; i++) {
        if (i > last || used > sizeof buf - 32) {
            for (size_t done = 0; done < used;) {
                ssize_t n = write (fd, buf + done, used - done);
                cr_assert (n > 0 || errno == EINTR, "write: %s", strerror (errno));
                done += n > 0 ? (size_t)n : 0;
            }
            used = 0;
        }
        if (i <= last)
            used +=
                (size_t)snprintf (buf + used, sizeof buf - used, "m%llu\n", (unsigned long long)i);
    }
}

//  Runs PROGRAM with ARGV to completion (killed after TIMEOUT_MS), stdin
//  empty; stores its exit code and output in RUN (run_free () releases it).
static void run_tool (run_t *run, const char *program, char *const argv[], int timeout_ms)
{
    int out = -1, err = -1;
    size_t cap = 65536, err_len = 0;
    memset (run, 0, sizeof *run);
    run->out = malloc (cap);
    cr_assert_not_null (run->out);
    pid_t pid = spawn_io (program, argv, NULL, &out, &err);
    int64_t deadline = tu_now_ms () + timeout_ms;
    while ((out >= 0 || err >= 0) && tu_now_ms () < deadline) {
        struct pollfd fds[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
        if (poll (fds, 2, (int)(deadline - tu_now_ms ())) <= 0)
            continue;
        if (fds[0].revents) {
            if (cap - run->out_len < 4096)
                cr_assert_not_null (run->out = realloc (run->out, cap *= 2));
            ssize_t n = read (out, run->out + run->out_len, cap - run->out_len - 1);
            if (n <= 0) {
                close (out);
                out = -1;
            } else
                run->out_len += (size_t)n;
        }
        if (fds[1].revents) {
            ssize_t n = read (err, run->err + err_len, sizeof run->err - err_len - 1);
            if (n <= 0) {
                close (err);
                err = -1;
            } else
                err_len += (size_t)n;
        }
    }
    run->out[run->out_len] = 0;
    run->err[err_len] = 0;
    if (out >= 0)
        close (out);
    if (err >= 0)
        close (err);
    int status = kid_stop (pid, 0);
    run->code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    forward_sanitizer (run->err);
}

//  Releases the output of RUN.
static void run_free (run_t *run)
{
    free (run->out);
    run->out = NULL;
}

//  Runs weft with the fabric flags and the NULL-terminated arguments.
static void run_weft (run_t *run, int timeout_ms, ...)
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

//  Checks that message line LINE is seq EXPECTED of publisher UUID, body
//  "m<seq>": in order per publisher, nothing lost, nothing mixed up.
static void expect_line (const char *line, unsigned long long expected, const char *uuid)
{
    dm_sub_line_t m;
    cr_assert (dm_parse_sub_line (line, &m), "not a message line: %s", line);
    cr_assert_eq (m.seq, expected, "got seq %llu, expected %llu: %s", m.seq, expected, line);
    cr_assert_str_eq (m.from, uuid, "%s", line);
    char body[32];
    snprintf (body, sizeof body, "m%llu", m.seq);
    cr_assert_str_eq (m.body, body, "%s", line);
}

//  Checks that the --json output OUT of a weft sub holds exactly the
//  messages FIRST..LAST of publisher UUID, in order.
static void expect_output (const char *out, unsigned long long first, unsigned long long last,
                           const char *uuid)
{
    unsigned long long next = first;
    for (const char *p = out; *p;) {
        const char *end = strchr (p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen (p);
        char line[LINE_MAX_];
        snprintf (line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        if (*line && !strstr (line, "\"event\""))
            expect_line (line, next++, uuid);
        p += len + (end ? 1 : 0);
    }
    cr_assert_eq (next, last + 1, "got messages %llu..%llu, expected %llu..%llu", first, next - 1,
                  first, last);
}

//  The journal stats of stream STREAM on the node at ROUTER (weft journal
//  --json --node): count, first and last seq; false when it has none.
static bool journal_stats (const char *router, const char *stream, unsigned long long *count,
                           unsigned long long *first, unsigned long long *last)
{
    run_t run;
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--interface", "lo", "--node", router, "--json", "journal", NULL);
    run_tool (&run, WEFT, args.argv, 10000);
    cr_assert_eq (run.code, 0, "weft journal: exit %d: %s", run.code, run.err);
    char needle[128];
    snprintf (needle, sizeof needle, "{\"stream\":\"%s\",", stream);
    const char *p = strstr (run.out, needle);
    bool found =
        p && sscanf (p + strlen (needle),
                     "\"count\":%llu,\"bytes\":%*[0-9],\"first_seq\":%llu,\"last_seq\":%llu", count,
                     first, last) == 3;
    run_free (&run);
    return found;
}

//  Waits until the node at ROUTER has journaled stream STREAM up to LAST
//  (last_seq), for up to TIMEOUT_MS; stores its count.
static void wait_journaled (const char *router, const char *stream, unsigned long long last,
                            unsigned long long *count, int timeout_ms)
{
    unsigned long long first = 0, seen = 0;
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (tu_now_ms () < deadline)
        if (journal_stats (router, stream, count, &first, &seen) && seen >= last)
            return;
    cr_assert_fail ("%s: journaled up to %llu, expected %llu", stream, seen, last);
}

TestSuite (durable_cli, .init = fabric_init, .fini = fabric_fini);

//  A weft sub with the durable flags of the kill test, on journal "sub".
static pid_t durable_sub_start (dm_reader_t *out, int *err)
{
    char dir[128];
    journal_path ("sub", dir, sizeof dir);
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--name", "dsub", NULL);
    args_fabric (&args);
    //  async: a kill -9 is a process crash, which async commits survive (the
    //  data is in the page cache); sync would add an fsync per acknowledged
    //  message (~3x slower here) for power cuts, which this test cannot cause
    dm_args_add (&args, "sub", "stream.x", "--durable", "d1", "--from", "earliest", "--data", dir,
                 "--sync", "async", "--json", "--timeout", "0", NULL);
    memset (out, 0, sizeof *out);
    return spawn_io (WEFT, args.argv, NULL, &out->fd, err);
}

//  Reads message lines of a subscriber from OUT, checking each follows
//  *NEXT (then advanced), until it has LAST or the output ends (killed);
//  fails at the deadline. Returns the number of lines read.
static unsigned long long read_stream (dm_reader_t *out, unsigned long long *next,
                                       unsigned long long last, const char *uuid, int64_t deadline)
{
    unsigned long long lines = 0;
    char line[LINE_MAX_];
    int rc = 0;
    while (*next <= last && (rc = dm_reader_line (out, line, sizeof line, deadline)) == 1) {
        expect_line (line, (*next)++, uuid);
        lines++;
    }
    cr_assert (rc != 0 || *next > last, "timed out at message %llu of %llu", *next, last);
    return lines;
}

//  Reads what weft sub printed on stderr (ERR, closed here) into BUF.
static void read_stderr (int err, char *buf, size_t cap)
{
    size_t used = 0;
    ssize_t n;
    while (used < cap - 1 && (n = read (err, buf + used, cap - 1 - used)) > 0)
        used += (size_t)n;
    buf[used] = 0;
    close (err);
    forward_sanitizer (buf);
}

Test (durable_cli, killed_durable_subscriber_misses_nothing, .timeout = 240)
{
    const unsigned long long total = 50000;
    publisher_t pub;
    publisher_start (&pub, "pub", "stream.x", NULL);
    //  the stream exists before the subscriber asks for it: a subscription
    //  "from earliest" made before a stream's first message can lose that
    //  stream's first messages (a library race, about 1 run in 10 here: the
    //  replay is answered empty, the first messages go out before the SUB
    //  subscription reached the publisher, and repair_on_live () in
    //  node/repair.c takes the stream's first live message as its start)
    feed (pub.in, 1, 5000);
    unsigned long long count = 0;
    wait_journaled (pub.router, "t/stream.x", 5000, &count, 10000);
    dm_reader_t out;
    int err = -1;
    pid_t sub = durable_sub_start (&out, &err);

    //  first run: killed with SIGKILL after 10,000 of the 20,000 published so far
    feed (pub.in, 5001, 20000);
    unsigned long long next = 1;
    int64_t deadline = tu_now_ms () + 150000; //  5 s alone; generous for loaded sanitizer runs
    read_stream (&out, &next, 10000, pub.uuid, deadline);
    cr_assert_gt (next, 10000, "the first run ended early, at %llu", next);
    kid_stop (sub, SIGKILL);
    read_stream (&out, &next, total, pub.uuid, deadline); //  what it printed before dying
    unsigned long long last_first_run = next - 1;
    char errors[4096];
    read_stderr (err, errors, sizeof errors);
    cr_assert_null (strstr (errors, "lost"), "%s", errors);

    //  published while it is away, then while it catches up
    feed (pub.in, 20001, 35000);
    sub = durable_sub_start (&out, &err);
    feed (pub.in, 35001, total);
    char line[LINE_MAX_];
    cr_assert_eq (dm_reader_line (&out, line, sizeof line, deadline), 1,
                  "the second run got nothing");
    dm_sub_line_t m;
    cr_assert (dm_parse_sub_line (line, &m), "%s", line);
    cr_assert (m.seq >= 1 && m.seq <= last_first_run + 1,
               "resumed at %llu after printing up to %llu: messages were skipped", m.seq,
               last_first_run);
    next = m.seq;
    expect_line (line, next++, pub.uuid);
    read_stream (&out, &next, total, pub.uuid, deadline);
    unsigned long long duplicates = last_first_run + 1 - m.seq;
    cr_log_info ("killed durable subscriber: first run printed 1..%llu, second run resumed at "
                 "%llu: %llu duplicates (bound %d)",
                 last_first_run, m.seq, duplicates, DUP_BOUND);
    fprintf (stderr,
             "test_durable_cli: duplicates after SIGKILL: %llu (first run printed %llu, second "
             "resumed at %llu)\n",
             duplicates, last_first_run, m.seq);
    cr_assert_leq (duplicates, DUP_BOUND, "%llu duplicates", duplicates);
    int status = kid_stop (sub, SIGTERM);
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "sub status %d", status);
    read_stderr (err, errors, sizeof errors);
    cr_assert_null (strstr (errors, "lost"), "%s", errors);
    close (out.fd);
    publisher_stop (&pub, SIGTERM);
}

Test (durable_cli, killed_publisher_reuses_no_sequence_and_still_replays, .timeout = 60)
{
    publisher_t pub;
    publisher_start (&pub, "pub", "stream.y", NULL);
    char uuid[40];
    snprintf (uuid, sizeof uuid, "%s", pub.uuid);
    feed (pub.in, 1, 100);
    unsigned long long count = 0;
    wait_journaled (pub.router, "t/stream.y", 100, &count, 10000);
    cr_assert_eq (count, 100);
    int status = publisher_stop (&pub, SIGKILL);
    cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "status %d", status);

    //  the async publisher reserved 1..10000 with a synced write; after a
    //  crash it goes on above that, whatever the crash took (none of it here:
    //  kill -9 keeps what reached the OS)
    publisher_start (&pub, "pub", "stream.y", NULL);
    cr_assert_str_eq (pub.uuid, uuid, "the restarted weftd has another identity");
    feed (pub.in, 10001, 10010); //  bodies m10001..: the seqs they must get
    run_t run;
    run_weft (&run, 20000, "sub", "stream.y", "--from", "earliest", "--count", "110", "--json",
              "--timeout", "15", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    const char *skip = strstr (run.out, "{\"event\": \"truncated\"");
    cr_assert_not_null (skip, "the skipped range is said once: %s", run.out);
    cr_assert (strstr (skip, "10001"), "the stream goes on at 10001: %.200s", skip);
    char *tail = strdup (strchr (skip, '\n') ? strchr (skip, '\n') + 1 : "");
    ((char *)skip)[0] = 0;
    expect_output (run.out, 1, 100, uuid);
    expect_output (tail, 10001, 10010, uuid); //  no sequence was used twice
    free (tail);
    run_free (&run);
    unsigned long long first = 0, last = 0;
    cr_assert (journal_stats (pub.router, "t/stream.y", &count, &first, &last));
    cr_assert (count == 110 && first == 1 && last == 10010, "count %llu, %llu..%llu", count, first,
               last);
    publisher_stop (&pub, SIGTERM);
}

Test (durable_cli, late_joiners_from_earliest_and_from_a_time, .timeout = 60)
{
    publisher_t pub;
    publisher_start (&pub, "pub", "stream.z", NULL);
    feed (pub.in, 1, 200);
    unsigned long long count = 0;
    wait_journaled (pub.router, "t/stream.z", 200, &count, 10000);
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    char from_time[64];
    snprintf (from_time, sizeof from_time, "time:%lld.%06ld", (long long)now.tv_sec,
              now.tv_nsec / 1000);
    feed (pub.in, 201, 300);
    wait_journaled (pub.router, "t/stream.z", 300, &count, 10000);

    run_t run;
    run_weft (&run, 20000, "sub", "stream.#", "--from", "earliest", "--count", "300", "--json",
              "--timeout", "15", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    expect_output (run.out, 1, 300, pub.uuid);
    run_free (&run);
    run_weft (&run, 20000, "sub", "stream.z", "--from", from_time, "--count", "100", "--json",
              "--timeout", "15", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    expect_output (run.out, 201, 300, pub.uuid); //  the first is 201: nothing older came
    run_free (&run);
    publisher_stop (&pub, SIGTERM);
}

Test (durable_cli, journal_shows_streams_and_retention_holds_the_limit, .timeout = 60)
{
    publisher_t pub;
    publisher_start (&pub, "pub", "stream.r", "--retention", "max_count=1000", NULL);
    unsigned long long count = 0, first = 0, last = 0, highest = 0;
    //  publish 5,000 in chunks of 500; after each, the stream must come back
    //  to its limit while the next chunks are published. Retention deletes a
    //  bounded number of entries per timer tick (256 per ~100 ms in node/
    //  durable.c), so a burst may exceed the limit for a moment: by at most
    //  the chunk, since each chunk starts once the stream is trimmed.
    for (unsigned long long fed = 500; fed <= 5000; fed += 500) {
        feed (pub.in, fed - 499, fed);
        wait_journaled (pub.router, "t/stream.r", fed, &count, 10000);
        int64_t deadline = tu_now_ms () + 5000;
        for (;;) {
            cr_assert (journal_stats (pub.router, "t/stream.r", &count, &first, &last));
            highest = count > highest ? count : highest;
            cr_assert_leq (count, 1000 + 500, "%llu entries kept after %llu", count, fed);
            if (count <= 1000 || tu_now_ms () >= deadline)
                break;
        }
        cr_assert_leq (count, 1000, "retention left %llu entries after %llu", count, fed);
    }
    cr_assert (count == 1000 && first == 4001 && last == 5000, "count %llu, %llu..%llu", count,
               first, last);
    cr_log_info ("retention max_count=1000: at most %llu entries seen while publishing", highest);

    //  the table form names the node and the stream
    run_t run;
    dm_args_t args = {.argc = 0};
    dm_args_add (&args, "weft", "--interface", "lo", "--node", pub.router, "journal", NULL);
    run_tool (&run, WEFT, args.argv, 10000);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "node") && strstr (run.out, "last_seq"), "%s", run.out);
    cr_assert (strstr (run.out, "pub ") && strstr (run.out, "t/stream.r "), "%s", run.out);
    cr_assert (strstr (run.out, " 1000 ") && strstr (run.out, " 4001 "), "%s", run.out);
    run_free (&run);

    //  asking for what retention took says so, in the JSON stream
    run_weft (&run, 20000, "sub", "stream.r", "--from", "seq:1", "--count", "1000", "--json",
              "--timeout", "15", NULL);
    cr_assert_eq (run.code, 0, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "{\"event\": \"truncated\", \"topic\": \"stream.r\""), "%s",
               run.err);
    cr_assert (strstr (run.out, "\"first\": 4001}"), "%.400s", run.out);
    expect_output (run.out, 4001, 5000, pub.uuid);
    run_free (&run);
    publisher_stop (&pub, SIGTERM);
}

//  Runs PROGRAM with ARGV and asserts exit code CODE and a one-line stderr
//  containing NEEDLE.
static void expect_failure (const char *program, char *const argv[], int code, const char *needle)
{
    run_t run;
    run_tool (&run, program, argv, 10000);
    cr_assert_eq (run.code, code, "%s: exit %d: %s", argv[1], run.code, run.err);
    cr_assert (strstr (run.err, needle), "'%s' not in '%s'", needle, run.err);
    cr_assert_eq (strchr (run.err, '\n'), run.err + strlen (run.err) - 1, "not one line: '%s'",
                  run.err);
    run_free (&run);
}

Test (durable_cli, usage_errors, .timeout = 30)
{
    expect_failure (WEFT,
                    (char *[]){"weft", "--interface", "lo", "sub", "x", "--durable", "d", NULL}, 2,
                    "--data DIR");
    expect_failure (
        WEFT, (char *[]){"weft", "--interface", "lo", "sub", "x", "--from", "yesterday", NULL}, 2,
        "--from: 'yesterday' is not earliest, latest, seq:N");
    expect_failure (WEFT, (char *[]){"weft", "sub", "x", "--from", "seq:0", NULL}, 2, "--from");
    expect_failure (WEFT, (char *[]){"weft", "sub", "x", "--ack", "auto", NULL}, 2, "--durable");
    expect_failure (WEFT,
                    (char *[]){"weft", "sub", "x", "--durable", "a/b", "--data", "/tmp", NULL}, 2,
                    "--durable: 'a/b'");
    expect_failure (WEFT, (char *[]){"weft", "peers", "--from", "earliest", NULL}, 2,
                    "--from: only for sub");
    expect_failure (WEFTD, (char *[]){"weftd", "--interface", "lo", "--durable", "stream.#", NULL},
                    2, "--data DIR");
    expect_failure (WEFTD, (char *[]){"weftd", "--sync", "often", NULL}, 2, "journal.sync");
    expect_failure (WEFTD, (char *[]){"weftd", "--retention", "max_apples=3", NULL}, 2,
                    "durable.retention");
    expect_failure (WEFTD, (char *[]){"weftd", "--pub", "bad..topic", NULL}, 2, "--pub");
}
