/*  bench/bench_restart.c - how long a member takes to serve a Raft queue
    again after a restart, with N messages pending (issue 9: 1,000,000
    pending messages restart in under 1 s).

    One embedded member on loopback (queues.engine = raft; alone, so its
    group has one voter) fills queue "jobs" with N confirmed messages
    (weft_send_async, window 1,000), and closes. Then, RUNS times: a new node
    on the same journal directory starts; the clock runs from weft_node_new ()
    until (a) its status shows the group's leader serving with depth N, and
    (b) a consumer's first delivery arrives. Each run closes without acking,
    so every run restarts the same N messages. Prints each run and the
    medians, plus the journal's size on disk and the process's peak RSS.

    With --crash the fill runs in a child process that ends with _exit ()
    once the last confirm arrived, without closing its node (as kill -9
    would): the restart then also replays the log written since the last
    snapshot.

    Usage: bench_restart [--messages N] [--runs K] [--size BYTES] [--crash]
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_qraft.h"

#define QUEUE   "jobs"
#define WINDOW  1000
#define WAIT_MS 120000 //  bound of every wait

typedef struct {
    long messages; //  N
    int runs;      //  K
    long size;     //  body bytes
    char dir[256]; //  the journal directory
    int port;      //  beacon port (private)
    bool crash;    //  the filler ends without closing its node
} opts_t;

//  The member's config: loopback, a private cluster, the journal at DIR.
static weft_config_t *member_config (const opts_t *o)
{
    char cluster[64];
    snprintf (cluster, sizeof cluster, "bench-restart-%d", o->port);
    weft_config_t *cfg = bench_loopback_config ("r1", cluster, o->port);
    bench_must_set (cfg, "journal.dir", o->dir);
    bench_must_set (cfg, "queues.engine", "raft");
    char window[16];
    snprintf (window, sizeof window, "%d", WINDOW);
    bench_must_set (cfg, "queues.window", window);
    return cfg;
}

//  Sends N messages with WINDOW in flight and waits for every confirm.
static void fill (weft_node_t *node, const opts_t *o)
{
    char *body = malloc ((size_t)o->size);
    if (!body)
        bench_die ("out of memory", NULL);
    bench_fill_body (body, (size_t)o->size, 'r');
    long sent = 0, confirmed = 0;
    int64_t start = bench_now_ms (), deadline = start + 10 * WAIT_MS;
    while (confirmed < o->messages && bench_now_ms () < deadline) {
        while (sent < o->messages && sent - confirmed < WINDOW) {
            int rc = weft_send_async (node, QUEUE, body, (size_t)o->size, NULL, NULL);
            if (rc == WEFT_EAGAIN)
                break;
            if (rc)
                bench_die ("weft_send_async", weft_strerror (rc));
            sent++;
        }
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 100) == 0) {
            if (weft_msg_kind (msg) == WEFT_MSG_CONFIRM) {
                const char *status = weft_msg_header (msg, "status");
                if (!status || strcmp (status, "0") != 0)
                    bench_die ("a send failed, status", status ? status : "(none)");
                confirmed++;
            }
            weft_msg_destroy (&msg);
        }
    }
    free (body);
    if (confirmed < o->messages)
        bench_die ("fill", "not every send was confirmed in time");
    double secs = (double)(bench_now_ms () - start) / 1000.0;
    printf ("filled %ld x %ld B in %.1f s (%.0f msg/s)\n", o->messages, o->size, secs,
            (double)o->messages / secs);
}

//  Waits until NODE leads QUEUE, serving, with DEPTH messages; false on time-out.
static bool wait_serving (weft_node_t *node, long depth, int64_t deadline)
{
    while (bench_now_ms () < deadline) {
        if (qraft_leader_field (node, QUEUE, "depth") == depth)
            return true;
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 1) == 0)
            weft_msg_destroy (&msg);
    }
    return false;
}

//  Waits for the first delivery of QUEUE; false on time-out.
static bool wait_delivery (weft_node_t *node, int64_t deadline)
{
    while (bench_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 10) == 0) {
            bool got = weft_msg_kind (msg) == WEFT_MSG_DELIVERY;
            weft_msg_destroy (&msg);
            if (got)
                return true;
        }
    }
    return false;
}

//  Bytes under DIR (du -sb), or -1.
static long long dir_bytes (const char *dir)
{
    char cmd[320];
    snprintf (cmd, sizeof cmd, "du -sb '%s' 2>/dev/null", dir);
    FILE *p = popen (cmd, "r");
    long long bytes = -1;
    if (p && fscanf (p, "%lld", &bytes) != 1)
        bytes = -1;
    if (p)
        pclose (p);
    return bytes;
}

static void usage (FILE *out)
{
    fprintf (out, "Usage: bench_restart [--messages N] [--runs K] [--size BYTES] [--crash]\n"
                  "Times a Raft queue member's restart with N pending messages (default\n"
                  "1000000, 3 runs, 64 B): to serving, and to the first delivery.\n"
                  "--crash: the filling process ends without closing its node.\n");
}

static int parse (opts_t *o, int argc, char **argv)
{
    static const struct option longopts[] = {{"messages", required_argument, 0, 'n'},
                                             {"runs", required_argument, 0, 'r'},
                                             {"size", required_argument, 0, 's'},
                                             {"crash", no_argument, 0, 'c'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        long v = optarg ? strtol (optarg, &end, 10) : 0;
        bool ok = !optarg || (*optarg && !*end && v > 0);
        if (opt == 'n' && ok)
            o->messages = v;
        else if (opt == 'r' && ok && v <= 50)
            o->runs = (int)v;
        else if (opt == 's' && ok && v <= 65536)
            o->size = v;
        else if (opt == 'c')
            o->crash = true;
        else if (opt == 'h') {
            usage (stdout);
            return 1;
        } else {
            usage (stderr);
            return -1;
        }
    }
    return optind < argc ? (usage (stderr), -1) : 0;
}

int main (int argc, char **argv)
{
    opts_t o = {.messages = 1000000, .runs = 3, .size = 64};
    int rc = parse (&o, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    bench_init ("bench_restart");
    bench_tmpdir (o.dir, sizeof o.dir, "restart");
    o.port = bench_port ();
    weft_node_t *node = NULL;
    if (o.crash) {
        fflush (stdout);
        pid_t pid = fork ();
        if (pid == 0) {
            node = bench_node (member_config (&o));
            fill (node, &o);
            fflush (stdout);
            _exit (0); //  no close: what the journal has is what a kill -9 leaves
        }
        int status = 0;
        if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status) ||
            WEXITSTATUS (status) != 0)
            bench_die ("fill", "the filling child failed");
    } else {
        node = bench_node (member_config (&o));
        fill (node, &o);
        weft_node_destroy (&node);
    }
    printf ("journal on disk: %.1f MB\n", (double)dir_bytes (o.dir) / 1e6);
    double serve[50], first[50];
    for (int i = 0; i < o.runs; i++) {
        int64_t t0 = bench_now_ns ();
        node = bench_node (member_config (&o));
        if (!wait_serving (node, o.messages, bench_now_ms () + WAIT_MS))
            bench_die ("restart", "the group did not serve its messages in time");
        serve[i] = (double)(bench_now_ns () - t0) / 1e6;
        if ((rc = weft_consume (node, QUEUE, 1)) != 0)
            bench_die ("weft_consume", weft_strerror (rc));
        if (!wait_delivery (node, bench_now_ms () + WAIT_MS))
            bench_die ("restart", "no delivery in time");
        first[i] = (double)(bench_now_ns () - t0) / 1e6;
        printf ("run %d: serving after %.0f ms, first delivery after %.0f ms\n", i + 1, serve[i],
                first[i]);
        weft_node_destroy (&node);
    }
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    printf ("\nrestart%s with %ld pending x %ld B, median of %d: serving %.0f ms, first delivery "
            "%.0f ms; peak RSS %.0f MB\n",
            o.crash ? " after a crash" : "", o.messages, o.size, o.runs, bench_median (serve, (size_t)o.runs),
            bench_median (first, (size_t)o.runs), (double)ru.ru_maxrss / 1024.0);
    bench_rmrf (o.dir);
    return 0;
}
