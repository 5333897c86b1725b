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
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define WEFTD    WEFT_BIN_DIR "/weftd"
#define WEFT     WEFT_BIN_DIR "/weft"
#define MEMBERS  3
#define MAX_ARGS 48
#define OUT_MAX  (512 * 1024)

//  A weftd member.
typedef struct {
    pid_t pid;     //  0 once stopped
    int out;       //  read end of its stdout
    char name[32]; //  --name
    char uuid[40]; //  from its ready line
} member_t;

//  The fabric of one test (a global so that .fini can stop it on failure).
static struct {
    uint16_t port;             //  beacon port
    char cluster[48];          //  cluster name
    char dir[64];              //  parent of the members' journals ("" if none)
    member_t members[MEMBERS]; //  started members
    size_t count;              //  used members
} s_fab;

//  An argv under construction, with storage for its strings.
typedef struct {
    char *argv[MAX_ARGS + 1]; //  NULL-terminated
    char text[MAX_ARGS][128]; //  the strings
    int argc;                 //  used entries
} args_t;

//  What a finished run of weft gave.
typedef struct {
    int code;       //  exit code, or -1 if it did not exit by itself
    char *out;      //  its stdout: s_out, which the next run overwrites
    char err[4096]; //  its stderr
} run_t;

//  The stdout of the last run (static: a failed assertion leaks nothing).
static char s_out[OUT_MAX];

//  Appends every string of the NULL-terminated list to ARGS.
static void args_add (args_t *args, ...)
{
    va_list list;
    va_start (list, args);
    for (const char *s = va_arg (list, const char *); s; s = va_arg (list, const char *)) {
        cr_assert_lt (args->argc, MAX_ARGS);
        snprintf (args->text[args->argc], sizeof args->text[0], "%s", s);
        args->argv[args->argc] = args->text[args->argc];
        args->argv[++args->argc] = NULL;
    }
    va_end (list);
}

//  Appends the discovery flags of this test's fabric to ARGS.
static void args_fabric (args_t *args)
{
    char port[16];
    snprintf (port, sizeof port, "%u", s_fab.port);
    args_add (args, "--interface", "lo", "--beacon-port", port, "--cluster", s_fab.cluster, "--set",
              "discovery.interval_ms=200", "--set", "discovery.evasive_ms=600", "--set",
              "discovery.expired_ms=1200", NULL);
}

//  Picks this test's beacon port and cluster.
static void fabric_init (void)
{
    static int serial;
    memset (&s_fab, 0, sizeof s_fab);
    s_fab.port = tu_beacon_port ();
    snprintf (s_fab.cluster, sizeof s_fab.cluster, "cliq-%d-%u-%d", (int)getpid (), s_fab.port,
              serial++);
}

//  Starts member NAME with a journal under the fabric's directory and
//  waits for its ready line.
static void member_start (const char *name)
{
    member_t *m = &s_fab.members[s_fab.count++];
    snprintf (m->name, sizeof m->name, "%s", name);
    char data[128];
    snprintf (data, sizeof data, "%s/%s", s_fab.dir, name);
    args_t args = {.argc = 0};
    args_add (&args, "weftd", "--name", name, "--events", "--data", data, "--set",
              "journal.sync=async", NULL);
    args_fabric (&args);
    m->pid = tu_spawn (WEFTD, args.argv, &m->out);
    char line[512];
    cr_assert (tu_read_until (m->out, "ready ", line, sizeof line, 10000), "%s: no ready line",
               name);
    cr_assert (sscanf (strstr (line, "uuid="), "uuid=%39s", m->uuid) == 1, "%s", line);
}

//  Reads lines of member M until it has printed "join name=X " for every
//  other member X, for up to TIMEOUT_MS; fails the test otherwise.
static void wait_joins (member_t *m, int timeout_ms)
{
    bool seen[MEMBERS] = {false};
    size_t missing = s_fab.count - 1;
    int64_t deadline = tu_now_ms () + timeout_ms;
    char line[512];
    while (missing && tu_now_ms () < deadline &&
           tu_read_until (m->out, "", line, sizeof line, (int)(deadline - tu_now_ms ())))
        for (size_t j = 0; j < s_fab.count; j++) {
            char needle[48];
            snprintf (needle, sizeof needle, "join name=%s ", s_fab.members[j].name);
            if (&s_fab.members[j] != m && !seen[j] &&
                strncmp (line, needle, strlen (needle)) == 0) {
                seen[j] = true;
                missing--;
            }
        }
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

//  nftw () callback: removes one entry.
static int remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

//  .fini of every test: stops what the test started, by pid, and removes
//  the journals.
static void fabric_stop (void)
{
    for (size_t i = 0; i < s_fab.count; i++)
        if (s_fab.members[i].pid > 0) {
            tu_stop_child (s_fab.members[i].pid, SIGTERM, 5000);
            close (s_fab.members[i].out);
        }
    s_fab.count = 0;
    if (*s_fab.dir)
        nftw (s_fab.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    *s_fab.dir = 0;
}

//  Starts PROGRAM with ARGV, its stdin, stdout and stderr on pipes whose
//  other ends are stored in *IN, *OUT and *ERR; the child dies with the
//  test. Returns its pid.
static pid_t spawn_io (const char *program, char *const argv[], int *in, int *out, int *err)
{
    int pin[2], pout[2], perr[2];
    cr_assert (pipe (pin) == 0 && pipe (pout) == 0 && pipe (perr) == 0);
    pid_t pid = fork ();
    cr_assert (pid >= 0, "fork: %s", strerror (errno));
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        dup2 (pin[0], STDIN_FILENO);
        dup2 (pout[1], STDOUT_FILENO);
        dup2 (perr[1], STDERR_FILENO);
        for (int fd = 3; fd < 64; fd++)
            close (fd);
        execv (program, argv);
        _exit (127);
    }
    close (pin[0]);
    close (pout[1]);
    close (perr[1]);
    *in = pin[1];
    *out = pout[0];
    *err = perr[0];
    return pid;
}

//  Reads what is available on *FD into BUF (CAP bytes, used *LEN); closes
//  it and sets *FD to -1 at end of file.
static void drain (int *fd, char *buf, size_t cap, size_t *len)
{
    char chunk[4096];
    ssize_t n = read (*fd, chunk, sizeof chunk);
    if (n <= 0) {
        close (*fd);
        *fd = -1;
        return;
    }
    size_t room = cap - 1 - *len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy (buf + *len, chunk, take);
    *len += take;
    buf[*len] = 0;
}

//  Writes what the pipe *FD takes of INPUT (at *SENT of LEN bytes); closes
//  it and sets *FD to -1 once everything was written.
static void feed (int *fd, const char *input, size_t len, size_t *sent)
{
    ssize_t n = *sent < len ? write (*fd, input + *sent, len - *sent) : 0;
    if (n > 0)
        *sent += (size_t)n;
    if (n < 0 || *sent >= len) {
        close (*fd);
        *fd = -1;
    }
}

//  Runs PROGRAM with ARGV to completion (killed after TIMEOUT_MS), INPUT
//  (may be NULL: none) on its stdin; stores its exit code and output in RUN.
static void run_tool (run_t *run, const char *program, char *const argv[], const char *input,
                      int timeout_ms)
{
    int in = -1, out = -1, err = -1;
    size_t out_len = 0, err_len = 0, sent = 0, len = input ? strlen (input) : 0;
    run->out = s_out;
    run->out[0] = run->err[0] = 0;
    pid_t pid = spawn_io (program, argv, &in, &out, &err);
    fcntl (in, F_SETFL, O_NONBLOCK);
    if (len == 0) {
        close (in);
        in = -1;
    }
    int64_t deadline = tu_now_ms () + timeout_ms;
    while ((out >= 0 || err >= 0) && tu_now_ms () < deadline) {
        struct pollfd fds[3] = {{.fd = out, .events = POLLIN},
                                {.fd = err, .events = POLLIN},
                                {.fd = in, .events = POLLOUT}};
        if (poll (fds, 3, (int)(deadline - tu_now_ms ())) <= 0)
            continue;
        if (fds[0].revents)
            drain (&out, run->out, OUT_MAX, &out_len);
        if (fds[1].revents)
            drain (&err, run->err, sizeof run->err, &err_len);
        if (fds[2].revents)
            feed (&in, input, len, &sent);
    }
    if (in >= 0)
        close (in);
    if (out >= 0)
        close (out);
    if (err >= 0)
        close (err);
    int status = tu_stop_child (pid, 0, deadline > tu_now_ms () ? 2000 : 1);
    run->code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

//  Runs weft with the fabric flags, INPUT on stdin (may be NULL) and the
//  NULL-terminated arguments.
static void run_weft (run_t *run, const char *input, ...)
{
    args_t args = {.argc = 0};
    args_add (&args, "weft", NULL);
    args_fabric (&args);
    va_list list;
    va_start (list, input);
    for (const char *s = va_arg (list, const char *); s; s = va_arg (list, const char *))
        args_add (&args, s, NULL);
    va_end (list);
    run_tool (run, WEFT, args.argv, input, 30000);
}

//  Counts the occurrences of NEEDLE in TEXT.
static int count_of (const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr (text, needle); p; p = strstr (p + 1, needle))
        n++;
    return n;
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
    run_t run;
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
    cr_assert_eq (count_of (run.out, "\"queue\": \"q\""), 501);
    cr_assert_eq (count_of (run.out, "\"priority\": 0"), 501);

    run_weft (&run, NULL, "queues", "--json", NULL);
    cr_assert_eq (run.code, 0, "queues: exit %d: %s", run.code, run.err);
    char obj[1024];
    queue_object (run.out, "q", obj, sizeof obj);
    cr_assert (strstr (obj, "\"depth\": 0,") && strstr (obj, "\"in_flight\": 0,"), "%s", obj);
    cr_assert (strstr (obj, "\"acked\": 501,") && strstr (obj, "\"enqueued\": 501,"), "%s", obj);
    run_weft (&run, NULL, "queues", NULL);
    cr_assert_eq (run.code, 0, "queues: exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.out, "queue") && strstr (run.out, "in_flight"), "%s", run.out);

    run_weft (&run, NULL, "ring", "--json", NULL);
    cr_assert_eq (run.code, 0, "ring: exit %d: %s", run.code, run.err);
    cr_assert_eq (count_of (run.out, "\"uuid\""), MEMBERS, "%s", run.out);
    for (size_t i = 0; i < MEMBERS; i++)
        cr_assert (strstr (run.out, s_fab.members[i].uuid), "%s missing: %s", s_fab.members[i].name,
                   run.out);
    cr_assert_eq (count_of (run.out, "\"owns\": [\"q\"]"), 1, "%s", run.out);
}

Test (cli_queues, duplicate_id_and_redrive_of_nothing, .timeout = 120)
{
    fabric_start ();
    run_t run;
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

    run_weft (&run, NULL, "redrive", "orders", NULL);
    cr_assert_eq (run.code, 0, "redrive: exit %d: %s", run.code, run.err);
    cr_assert_str_eq (run.out, "redriven 0\n");
    run_weft (&run, NULL, "redrive", "orders", "--json", NULL);
    cr_assert_eq (run.code, 0, "redrive: exit %d: %s", run.code, run.err);
    cr_assert_str_eq (run.out, "{\"redriven\": 0}\n");
}

//  recv --no-ack prints without acknowledging: once it exits, the owner
//  delivers the message again at once (its consumer's node left).
Test (cli_queues, no_ack_leaves_the_message_queued, .timeout = 120)
{
    fabric_start ();
    run_t run;
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
    run_t run;
    run_weft (&run, NULL, "send", "q", "x", "--timeout", "1", NULL);
    cr_assert_eq (run.code, 1, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weft: send: no member with a journal (--data) joined within 1 s"),
               "%s", run.err);
    cr_assert_eq (count_of (run.err, "\n"), 1, "not one line: '%s'", run.err);
    run_weft (&run, NULL, "recv", "q", "--timeout", "0.5", NULL);
    cr_assert_eq (run.code, 1, "exit %d: %s", run.code, run.err);
    cr_assert (strstr (run.err, "weft: recv: "), "%s", run.err);
}

//  Runs weft with ARGV (no fabric flags) and asserts exit 2 with a one-line
//  stderr containing NEEDLE.
static void expect_usage (char *const argv[], const char *input, const char *needle)
{
    run_t run;
    run_tool (&run, WEFT, argv, input, 10000);
    cr_assert_eq (run.code, 2, "%s %s: exit %d: %s", argv[1], argv[2], run.code, run.err);
    cr_assert (strstr (run.err, needle), "'%s' not in '%s'", needle, run.err);
    cr_assert_eq (count_of (run.err, "\n"), 1, "not one line: '%s'", run.err);
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
    run_t run;
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
