/*  bench/bench_durable.c - durable topics figures for docs/BENCHMARKS.md.

    Measures, in one process and one run:
      - durable publish throughput: node A journals bench.d (journal.sync
        async or sync) and publishes N messages as fast as weft_publish takes
        them; node B, subscribed, counts them until all arrived. In the same
        run, alternating, the same nodes carry N volatile messages (bench.v),
        and a raw LevelDB baseline writes WriteBatches of the size the durable
        load produced (the journal's key and value layout, as
        bench/bench_journal.c does), so each durable figure sits between
        what the fabric does without a journal and what the disk does
        without a fabric;
      - the batch size the load produces: journaled messages / commits, both
        read from the publishing node's status counters ("journaled" and
        "commits": the core counts every journal commit it makes);
      - replay throughput: A journals M messages (64 B) with no subscriber,
        then a late joiner (weft_subscribe_from "earliest") receives all of
        them, in order; target 500,000 msgs/s.
    Every node is pinned to loopback (discovery.interface = lo) with a
    cluster name and beacon port private to this process. Every run uses a
    fresh journal. The raw LevelDB baseline runs in a fresh process (this
    program exec'd with --raw-child): LevelDB has one compaction thread per
    process, and a process that used LevelDB must not fork and use it again.
    This is a benchmark, not a test: it prints tables and exits 0 unless
    something could not be set up at all.
*/
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "weft.h"

#define MAX_SIZES      4     //  body sizes per run
#define MAX_RUNS       31    //  runs per figure
#define READY_MS       10000 //  setup deadline (peers ready, first probe through)
#define IDLE_MS        2000  //  a receiver gives up after this long without a message
#define TOPIC_DURABLE  "bench.d"
#define TOPIC_VOLATILE "bench.v"
#define TOPIC_REPLAY   "bench.r"
#define MARK_MEASURE   'M' //  first body byte of a measured message
#define MARK_WARM      'W' //  first body byte of a warm-up probe

//  Command-line settings.
typedef struct {
    int count;               //  messages per throughput run
    int runs;                //  runs per throughput figure
    int replay_count;        //  messages journaled for the replay figure
    int replay_runs;         //  late joiners timed
    int deadline_ms;         //  bound of one throughput or replay run
    int raw_ms;              //  length of one raw LevelDB run
    size_t sizes[MAX_SIZES]; //  body sizes
    int nsizes;              //  how many
    bool async, sync;        //  journal modes measured
    bool do_tp, do_replay;   //  which figures
    bool verbose;            //  print every run
    char dir[256];           //  where journals go
    const char *self_path;   //  this program, for the raw child
} opts_t;

//  The result of one throughput run.
typedef struct {
    double msgs_per_s;  //  received / elapsed
    double cpu_us;      //  process CPU time per received message, us
    double batch;       //  journaled / commits (durable runs)
    long lost;          //  sent - received
    uint64_t repaired;  //  messages B got by gap repair (durable runs)
    uint64_t commits;   //  journal commits during the run
    uint64_t journaled; //  messages journaled during the run
} tp_result_t;

//  A publisher node with a journal and a subscriber node.
typedef struct {
    weft_node_t *a; //  journals bench.d and bench.r, publishes
    weft_node_t *b; //  subscribed to bench.d and bench.v
} pair_t;

//  Arguments of the publishing thread.
typedef struct {
    weft_node_t *node; //  publisher
    const char *topic; //  topic
    size_t size;       //  body size
    int count;         //  messages to send
} pub_job_t;

static char s_cluster[64]; //  this process's cluster name
static int s_port;         //  this process's beacon port

/* ---------------------------------------------------------------------------
   Nodes
*/

//  A config for node NAME pinned to loopback in this process's cluster; with
//  JOURNAL (a directory) journaling the bench topics in MODE (sync, async).
static weft_config_t *bench_config (const char *name, const char *journal, const char *mode)
{
    weft_config_t *cfg = bench_loopback_config (name, s_cluster, s_port);
    if (journal) {
        bench_must_set (cfg, "journal.dir", journal);
        bench_must_set (cfg, "journal.sync", mode);
        bench_must_set (cfg, "durable.topics", TOPIC_DURABLE "," TOPIC_REPLAY);
    }
    return cfg;
}

//  Returns counter NAME of NODE's status, looked up inside its "counters"
//  object (0 if absent).
static uint64_t counter (weft_node_t *node, const char *name)
{
    char *json = NULL, key[64];
    if (weft_status (node, &json))
        return 0;
    snprintf (key, sizeof key, "\"%s\":", name);
    const char *counters = strstr (json, "\"counters\":{");
    const char *end = counters ? strchr (counters, '}') : NULL; //  the object is flat
    const char *p = counters ? strstr (counters, key) : NULL;
    uint64_t value = p && p < end ? strtoull (p + strlen (key), NULL, 10) : 0;
    weft_free (json);
    return value;
}

//  Waits until A and B see each other alive and ready, or dies.
static void wait_ready (weft_node_t *a, weft_node_t *b)
{
    int64_t deadline = bench_now_ms () + READY_MS;
    while (bench_peers_alive (a, true) < 1 || bench_peers_alive (b, true) < 1) {
        if (bench_now_ms () > deadline)
            bench_die ("nodes did not see each other ready in time", NULL);
        weft_msg_t *msg = NULL;
        if (weft_recv (a, &msg, 2) == 0) //  a bounded wait on A's events
            weft_msg_destroy (&msg);
    }
}

//  Publishes warm-up probes on TOPIC from FROM until TO receives one, then
//  drains TO. Dies if nothing gets through within READY_MS.
static void probe (weft_node_t *from, weft_node_t *to, const char *topic)
{
    char body[16];
    bench_fill_body (body, sizeof body, MARK_WARM);
    int64_t deadline = bench_now_ms () + READY_MS;
    bool through = false;
    while (!through) {
        if (bench_now_ms () > deadline)
            bench_die ("no probe got through", topic);
        weft_publish (from, topic, body, sizeof body);
        weft_msg_t *msg = NULL;
        while (!through && weft_recv (to, &msg, 20) == 0) {
            through = weft_msg_kind (msg) == WEFT_MSG_MESSAGE;
            weft_msg_destroy (&msg);
        }
    }
    weft_msg_t *msg = NULL;
    while (weft_recv (to, &msg, 50) == 0)
        weft_msg_destroy (&msg);
}

//  Starts the pair for run RUN in MODE, on a fresh journal, and waits until
//  both topics carry messages A -> B.
static void pair_open (pair_t *self, const opts_t *o, const char *mode, int run)
{
    char dir[300];
    snprintf (dir, sizeof dir, "%s/pub-%s-%d", o->dir, mode, run);
    bench_rmrf (dir);
    self->a = bench_node (bench_config ("bench-pub", dir, mode));
    self->b = bench_node (bench_config ("bench-sub", NULL, NULL));
    if (weft_subscribe (self->b, TOPIC_DURABLE) || weft_subscribe (self->b, TOPIC_VOLATILE))
        bench_die ("weft_subscribe", NULL);
    wait_ready (self->a, self->b);
    probe (self->a, self->b, TOPIC_VOLATILE);
    probe (self->a, self->b, TOPIC_DURABLE);
}

//  Stops the pair and removes its journal.
static void pair_close (pair_t *self, const opts_t *o, const char *mode, int run)
{
    weft_node_destroy (&self->a);
    weft_node_destroy (&self->b);
    char dir[300];
    snprintf (dir, sizeof dir, "%s/pub-%s-%d", o->dir, mode, run);
    bench_rmrf (dir);
}

/* ---------------------------------------------------------------------------
   Throughput
*/

//  Publishing thread: sends JOB->count measured messages as fast as
//  weft_publish takes them (it blocks while the actor's pipe is full).
static void *publisher (void *arg)
{
    pub_job_t *job = arg;
    char *body = malloc (job->size);
    if (!body)
        return NULL;
    bench_fill_body (body, job->size, MARK_MEASURE);
    for (int i = 0; i < job->count; i++)
        weft_publish (job->node, job->topic, body, job->size);
    free (body);
    return NULL;
}

//  Receives measured messages on NODE until COUNT arrived, nothing came for
//  IDLE_MS, or DEADLINE (ns). Stores the time of the last one in *LAST;
//  returns the number received.
static long receive (weft_node_t *node, long count, int64_t deadline, int64_t *last)
{
    long got = 0;
    int64_t now = bench_now_ns ();
    *last = now;
    while (got < count && now < deadline && now - *last < (int64_t)IDLE_MS * 1000000) {
        weft_msg_t *msg = NULL;
        int rc = weft_recv (node, &msg, 100);
        now = bench_now_ns ();
        if (rc)
            continue;
        size_t len = 0;
        const char *body = weft_msg_body (msg, &len);
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE && len && body[0] == MARK_MEASURE) {
            got++;
            *last = now;
        }
        weft_msg_destroy (&msg);
    }
    return got;
}

//  One throughput run: A publishes COUNT messages of SIZE bytes on TOPIC,
//  B counts them. Returns rate, CPU, losses and the journal's work.
static tp_result_t tp_run (pair_t *pair, const opts_t *o, const char *topic, size_t size)
{
    tp_result_t r = {0};
    uint64_t commits = counter (pair->a, "commits"), journaled = counter (pair->a, "journaled");
    uint64_t repaired = counter (pair->b, "repaired");
    pub_job_t job = {pair->a, topic, size, o->count};
    pthread_t thread;
    int64_t cpu = bench_cpu_ns (), start = bench_now_ns (), last = start;
    if (pthread_create (&thread, NULL, publisher, &job))
        bench_die ("pthread_create", NULL);
    long got = receive (pair->b, o->count, start + (int64_t)o->deadline_ms * 1000000, &last);
    pthread_join (thread, NULL);
    r.msgs_per_s = last > start ? (double)got / ((double)(last - start) / 1e9) : 0;
    r.cpu_us = got ? (double)(bench_cpu_ns () - cpu) / 1e3 / (double)got : 0;
    r.lost = o->count - got;
    r.commits = counter (pair->a, "commits") - commits;
    r.journaled = counter (pair->a, "journaled") - journaled;
    r.repaired = counter (pair->b, "repaired") - repaired;
    r.batch = r.commits ? (double)r.journaled / (double)r.commits : 0;
    return r;
}

/* ---------------------------------------------------------------------------
   Raw LevelDB baseline (in a child process, see the top of the file)
*/

//  Runs one raw LevelDB measurement in a fresh process (this program with
//  --raw-child); returns entries per second, or -1.
static double raw_measure (const opts_t *o, bool sync, size_t size, size_t batch)
{
    return bench_ldb_spawn (o->self_path, "bench_durable", sync, size, batch, o->raw_ms, o->dir);
}

/* ---------------------------------------------------------------------------
   The throughput table
*/

//  The runs of one row: durable, volatile and raw, RUNS of each.
typedef struct {
    tp_result_t durable[MAX_RUNS];   //  durable runs
    tp_result_t volatile_[MAX_RUNS]; //  volatile runs
    double raw[MAX_RUNS];            //  raw LevelDB entries/s at each durable run's batch
    double batch[MAX_RUNS];          //  rounded batch each raw run used
} row_t;

//  Median of the double at byte OFFSET of the N results in V.
static double median_of (const tp_result_t *v, int n, size_t offset)
{
    double values[MAX_RUNS];
    for (int i = 0; i < n; i++)
        memcpy (&values[i], (const char *)&v[i] + offset, sizeof values[i]);
    return bench_median (values, n);
}

//  Prints one run of a row (--verbose).
static void print_run (const char *mode, size_t size, int run, const row_t *row)
{
    const tp_result_t *d = &row->durable[run], *v = &row->volatile_[run];
    printf ("  run %d %s %zu B: durable %.0f msgs/s (batch %.1f, %llu commits, lost %ld, "
            "repaired %llu), volatile %.0f msgs/s (lost %ld), raw %.0f entries/s at batch %.0f\n",
            run + 1, mode, size, d->msgs_per_s, d->batch, (unsigned long long)d->commits, d->lost,
            (unsigned long long)d->repaired, v->msgs_per_s, v->lost, row->raw[run],
            row->batch[run]);
    fflush (stdout);
}

//  Measures one row (MODE, SIZE): RUNS of durable, volatile, then raw at the
//  durable run's batch, alternating, each durable/volatile pair on fresh nodes.
static void tp_row (const opts_t *o, const char *mode, size_t size)
{
    static row_t row;
    long lost = 0;
    for (int run = 0; run < o->runs; run++) {
        pair_t pair;
        pair_open (&pair, o, mode, run);
        row.durable[run] = tp_run (&pair, o, TOPIC_DURABLE, size);
        row.volatile_[run] = tp_run (&pair, o, TOPIC_VOLATILE, size);
        pair_close (&pair, o, mode, run);
        double batch = row.durable[run].batch < 1 ? 1 : row.durable[run].batch + 0.5;
        row.batch[run] = (double)(size_t)batch;
        row.raw[run] = raw_measure (o, strcmp (mode, "sync") == 0, size, (size_t)batch);
        lost += row.durable[run].lost;
        if (o->verbose)
            print_run (mode, size, run, &row);
    }
    double dur = median_of (row.durable, o->runs, offsetof (tp_result_t, msgs_per_s));
    double vol = median_of (row.volatile_, o->runs, offsetof (tp_result_t, msgs_per_s));
    double batch = median_of (row.durable, o->runs, offsetof (tp_result_t, batch));
    double dcpu = median_of (row.durable, o->runs, offsetof (tp_result_t, cpu_us));
    double vcpu = median_of (row.volatile_, o->runs, offsetof (tp_result_t, cpu_us));
    double raw = bench_median (row.raw, o->runs);
    printf ("%-5s %5zu %12.0f %12.0f %7.2fx %8.1f %12.0f %7.2fx %6.2f / %-6.2f %6ld\n", mode, size,
            dur, vol, vol > 0 ? dur / vol : 0, batch, raw, raw > 0 ? dur / raw : 0, dcpu, vcpu,
            lost);
    fflush (stdout);
}

//  Measures and prints the throughput table.
static void bench_throughput (const opts_t *o)
{
    printf ("durable publish, node A (journal) -> node B on loopback, %d msgs per run, median of "
            "%d runs\n",
            o->count, o->runs);
    printf ("%-5s %5s %12s %12s %8s %8s %12s %8s %15s %6s\n", "mode", "size", "durable/s",
            "volatile/s", "dur/vol", "batch", "raw LDB/s", "dur/raw", "CPU us dur/vol", "lost");
    fflush (stdout);
    for (int m = 0; m < 2; m++) {
        if ((m == 0 && !o->async) || (m == 1 && !o->sync))
            continue;
        for (int s = 0; s < o->nsizes; s++)
            tp_row (o, m == 0 ? "async" : "sync", o->sizes[s]);
    }
}

/* ---------------------------------------------------------------------------
   Replay
*/

//  Waits until NODE has journaled COUNT messages, or dies.
static void wait_journaled (weft_node_t *node, uint64_t count, int timeout_ms)
{
    int64_t deadline = bench_now_ms () + timeout_ms;
    while (counter (node, "journaled") < count) {
        if (bench_now_ms () > deadline)
            bench_die ("the journal did not take every message in time", NULL);
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 10) == 0)
            weft_msg_destroy (&msg);
    }
}

//  Receives the replay of COUNT messages on LATE, checking their order;
//  returns the time of the last one (ns), or dies when one is missing.
static int64_t receive_replay (weft_node_t *late, uint64_t count, int deadline_ms)
{
    uint64_t next = 1;
    int64_t deadline = bench_now_ns () + (int64_t)deadline_ms * 1000000, last = bench_now_ns ();
    while (next <= count && bench_now_ns () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (late, &msg, 100))
            continue;
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            if (weft_msg_seq (msg) != next)
                bench_die ("replay out of order", NULL);
            next++;
            last = bench_now_ns ();
        }
        weft_msg_destroy (&msg);
    }
    if (next <= count)
        bench_die ("the late joiner did not get every message in time", NULL);
    return last;
}

//  One late joiner: a fresh node (stored in *LATE_P, destroyed by the
//  caller) that subscribes from earliest once it sees the publisher; returns
//  messages per second of the replay and stores the process CPU time per
//  message (us) in *CPU_US.
static double replay_run (const opts_t *o, uint64_t count, weft_node_t **late_p, double *cpu_us)
{
    weft_node_t *late = *late_p = bench_node (bench_config ("bench-late", NULL, NULL));
    int64_t deadline = bench_now_ms () + READY_MS;
    while (bench_peers_alive (late, true) < 1)
        if (bench_now_ms () > deadline)
            bench_die ("the late joiner did not see the publisher", NULL);
    int64_t start = bench_now_ns (), cpu = bench_cpu_ns ();
    if (weft_subscribe_from (late, TOPIC_REPLAY, "earliest"))
        bench_die ("weft_subscribe_from", NULL);
    int64_t last = receive_replay (late, count, o->deadline_ms);
    *cpu_us = (double)(bench_cpu_ns () - cpu) / 1e3 / (double)count;
    return (double)count / ((double)(last - start) / 1e9);
}

//  Journals replay_count messages of 64 B, then times replay_runs late joiners.
static void bench_replay (const opts_t *o)
{
    char dir[300];
    snprintf (dir, sizeof dir, "%s/replay", o->dir);
    bench_rmrf (dir);
    weft_node_t *pub = bench_node (bench_config ("bench-pub", dir, "async"));
    char body[64];
    bench_fill_body (body, sizeof body, MARK_MEASURE);
    uint64_t count = (uint64_t)o->replay_count;
    int64_t start = bench_now_ns ();
    for (uint64_t i = 0; i < count; i++)
        weft_publish (pub, TOPIC_REPLAY, body, sizeof body);
    wait_journaled (pub, count, o->deadline_ms);
    double ingest = (double)count / ((double)(bench_now_ns () - start) / 1e9);
    //  the late joiners live until every run is done: destroying one right
    //  after its replay, while the next starts, makes libzmq 4.3.4 abort now
    //  and then in its I/O thread (session_base.cpp:260, see BENCHMARKS.md)
    double rates[MAX_RUNS], cpus[MAX_RUNS];
    weft_node_t *late[MAX_RUNS] = {NULL};
    for (int run = 0; run < o->replay_runs; run++) {
        rates[run] = replay_run (o, count, &late[run], &cpus[run]);
        if (o->verbose)
            printf ("  replay run %d: %.0f msgs/s, CPU %.2f us/msg\n", run + 1, rates[run],
                    cpus[run]);
    }
    double rate = bench_median (rates, o->replay_runs), cpu = bench_median (cpus, o->replay_runs);
    printf ("replay: %llu x 64 B journaled (async, no subscriber: %.0f msgs/s), late joiner "
            "--from earliest, median of %d: %.0f msgs/s, CPU %.2f us/msg (target 500000: %s)\n",
            (unsigned long long)count, ingest, o->replay_runs, rate, cpu,
            rate >= 500000 ? "met" : "NOT met");
    fflush (stdout);
    for (int run = 0; run < o->replay_runs; run++)
        weft_node_destroy (&late[run]);
    weft_node_destroy (&pub);
    bench_rmrf (dir);
}

/* ---------------------------------------------------------------------------
   Main
*/

//  Prints the usage on stderr; returns 2.
static int usage (void)
{
    fprintf (stderr,
             "usage: bench_durable [--count N] [--runs R] [--sizes 64,1024] [--modes async,sync]\n"
             "                     [--replay N] [--replay-runs R] [--only tp|replay]\n"
             "                     [--raw-ms MS] [--dir DIR] [--verbose] [--quick]\n");
    return 2;
}

//  Parses "64,1024" into O's sizes; returns 0 or -1.
static int parse_sizes (opts_t *o, const char *text)
{
    long list[MAX_SIZES];
    o->nsizes = bench_parse_list (text, list, MAX_SIZES, 1, 1 << 20);
    for (int i = 0; i < o->nsizes; i++)
        o->sizes[i] = (size_t)list[i];
    return o->nsizes > 0 ? 0 : -1;
}

//  Parses "async,sync" (either or both) into O; returns 0 or -1.
static int parse_modes (opts_t *o, const char *text)
{
    o->async = o->sync = false;
    for (const char *p = text; *p; p += *p == ',') {
        size_t len = strcspn (p, ",");
        if (len == 5 && strncmp (p, "async", 5) == 0)
            o->async = true;
        else if (len == 4 && strncmp (p, "sync", 4) == 0)
            o->sync = true;
        else
            return -1;
        p += len;
    }
    return 0;
}

//  Applies option NAME with VALUE (NULL if none) to O; returns 0 or -1.
static int take_option (opts_t *o, const char *name, const char *value)
{
    if (strcmp (name, "--verbose") == 0)
        o->verbose = true;
    else if (strcmp (name, "--quick") == 0) {
        o->count = 20000, o->runs = 3, o->replay_count = 200000, o->replay_runs = 1;
        o->raw_ms = 100;
    } else if (!value)
        return -1;
    else if (strcmp (name, "--count") == 0)
        o->count = atoi (value);
    else if (strcmp (name, "--runs") == 0)
        o->runs = atoi (value);
    else if (strcmp (name, "--replay") == 0)
        o->replay_count = atoi (value);
    else if (strcmp (name, "--replay-runs") == 0)
        o->replay_runs = atoi (value);
    else if (strcmp (name, "--raw-ms") == 0)
        o->raw_ms = atoi (value);
    else if (strcmp (name, "--dir") == 0)
        snprintf (o->dir, sizeof o->dir, "%s", value);
    else if (strcmp (name, "--sizes") == 0)
        return parse_sizes (o, value);
    else if (strcmp (name, "--modes") == 0)
        return parse_modes (o, value);
    else if (strcmp (name, "--only") == 0) {
        o->do_tp = strcmp (value, "tp") == 0;
        o->do_replay = strcmp (value, "replay") == 0;
    } else
        return -1;
    return 0;
}

//  Parses ARGV into O; returns 0 or -1.
static int parse (opts_t *o, int argc, char **argv)
{
    *o = (opts_t){.count = 100000,
                  .runs = 5,
                  .replay_count = 1000000,
                  .replay_runs = 3,
                  .deadline_ms = 60000,
                  .raw_ms = 300,
                  .nsizes = 2,
                  .sizes = {64, 1024},
                  .async = true,
                  .sync = true,
                  .do_tp = true,
                  .do_replay = true};
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i], *value = NULL;
        bool flag = strcmp (name, "--verbose") == 0 || strcmp (name, "--quick") == 0;
        if (!flag && i + 1 < argc)
            value = argv[++i];
        if (take_option (o, name, value))
            return -1;
    }
    bool ok = o->count > 0 && o->runs > 0 && o->runs <= MAX_RUNS && o->replay_count > 0 &&
              o->replay_runs > 0 && o->replay_runs <= MAX_RUNS && o->raw_ms > 0 &&
              (o->async || o->sync) && (o->do_tp || o->do_replay);
    return ok ? 0 : -1;
}

int main (int argc, char **argv)
{
    bench_init ("bench_durable");
    if (argc == 7 && strcmp (argv[1], "--raw-child") == 0)
        return bench_ldb_child (argv + 2);
    opts_t o;
    if (parse (&o, argc, argv))
        return usage ();
    o.self_path = "/proc/self/exe";
    bool own_dir = !o.dir[0];
    if (own_dir) {
        bench_tmpdir (o.dir, sizeof o.dir, "durable");
    }
    s_port = bench_port ();
    snprintf (s_cluster, sizeof s_cluster, "bench-durable-%d", (int)getpid ());
    printf ("bench_durable: journals in %s, cluster %s, beacon port %d (loopback only)\n", o.dir,
            s_cluster, s_port);
    if (o.do_tp)
        bench_throughput (&o);
    if (o.do_replay)
        bench_replay (&o);
    if (own_dir)
        bench_rmrf (o.dir);
    return 0;
}
