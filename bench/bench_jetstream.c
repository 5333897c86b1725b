/*  bench/bench_jetstream.c - the NATS JetStream baseline for docs/BENCHMARKS.md.

    A peer baseline for bench_queue.c: the same figures measured on NATS
    JetStream (Debian's nats-server, driven with libnats). For each
    replication R (1: one server; 3: three servers clustered on loopback)
    this program starts the servers itself (bench_natsd.c: every port taken
    from the kernel on 127.0.0.1, JetStream on, stores under a mkdtemp
    directory removed at exit), connects one client to the first server and
    waits, with a deadline, until a stream can be created (the meta leader
    is elected) and takes a first message. Each run then measures, on one
    fresh file-storage work-queue stream per row (subject bench.q):
      - confirmed publish throughput: N js_PublishAsync calls with at most
        --window (1000) publishes un-acked (jsOptions.PublishAsync
        .MaxPending), then js_PublishAsyncComplete; msgs/s = (N - errors) /
        (first publish .. last ack); bodies of 64 B and 1 KiB;
      - consume + ack throughput of the 64 B stream just filled: a durable
        pull consumer (explicit ack, MaxAckPending = --prefetch) fetched in
        batches of --prefetch, each message acked with natsMsg_Ack (no
        reply awaited, as weft_ack), until the stream holds nothing (a
        work-queue stream drops what its consumer acked);
      - publish latency with one in flight: synchronous js_Publish of 64 B,
        --pings per run (first 10 % dropped), p50 and p99.
    CPU us per message adds this process's CPU time to the servers' (from
    /proc/PID/stat). Figures are medians of --runs runs. The servers are
    the children this process forked (they also get SIGTERM if it dies,
    PR_SET_PDEATHSIG); only their PIDs are signalled. This is a benchmark,
    not a test: it prints tables and exits 0 unless something could not be
    set up.
*/
#include <getopt.h>
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_natsd.h"

#define MAX_RUNS 31    //  runs per figure
#define READY_MS 30000 //  setup deadline (servers up, stream created)
#define SUBJECT  "bench.q"
#define STREAM   "BENCH"
#define CONSUMER "bench-consumer"

//  Command-line settings.
typedef struct {
    int count;       //  publishes per row and run
    int runs;        //  runs per figure
    int pings;       //  synchronous publishes per latency run
    int window;      //  un-acked async publishes at most
    int prefetch;    //  consumer MaxAckPending and fetch batch
    int deadline_ms; //  bound of one publish or consume run
    bool verbose;    //  print every run
} opts_t;

//  The servers of one R and the client.
typedef struct {
    bench_natsd_t servers; //  nats-server processes
    natsConnection *nc;    //  the client, connected to server 0
    jsCtx *js;             //  its JetStream context
} cluster_t;

//  One run's figures for one R: [0] 64 B, [1] 1 KiB.
typedef struct {
    double pub[2], pub_cpu[2]; //  confirmed msgs/s, CPU us per message
    long failed[2];            //  publishes not acked
    double cons, cons_cpu;     //  consume + ack msgs/s, CPU us per message
    double p50, p99;           //  sync publish latency, us
} run_res_t;

static const size_t s_sizes[2] = {64, 1024}; //  body sizes
static const int s_reps[2] = {1, 3};         //  replications
static char s_dir[256];                      //  mkdtemp root of every store
static cluster_t s_cluster;                  //  the running cluster (atexit stops it)
static atomic_long s_pub_errors;             //  async publishes the server refused or lost
static run_res_t s_res[2][MAX_RUNS];         //  [rep][run]

/* ---------------------------------------------------------------------------
   Servers and the client
*/

//  Closes C's client and stops its servers. Safe to call twice.
static void cluster_stop (cluster_t *c)
{
    if (c->js)
        jsCtx_Destroy (c->js);
    if (c->nc)
        natsConnection_Destroy (c->nc);
    c->js = NULL, c->nc = NULL;
    bench_natsd_stop (&c->servers);
}

//  At exit (bench_die included): stops the servers and removes the stores.
static void cleanup (void)
{
    cluster_stop (&s_cluster);
    if (s_dir[0])
        bench_rmrf (s_dir);
}

//  Dies with STATUS's text and libnats's last error.
static void nats_die (const char *what, natsStatus status)
{
    const char *last = nats_GetLastError (NULL);
    char detail[512];
    snprintf (detail, sizeof detail, "%s%s%s", natsStatus_GetText (status), last ? ": " : "",
              last ? last : "");
    bench_die (what, detail);
}

//  Counts an async publish the server refused or that timed out.
static void on_pub_error (jsCtx *js, jsPubAckErr *pae, void *closure)
{
    atomic_fetch_add (&s_pub_errors, 1);
}

//  Starts N servers for replication R and connects the client to server 0
//  (waiting until it takes connections), its JetStream context allowing
//  --window async publishes un-acked.
static void cluster_start (cluster_t *c, int n, int r, const opts_t *o)
{
    char url[64];
    snprintf (url, sizeof url, "r%d", r);
    bench_natsd_start (&c->servers, n, s_dir, url);
    snprintf (url, sizeof url, "nats://127.0.0.1:%d", c->servers.port[0]);
    natsOptions *nopts = NULL;
    natsStatus s = natsOptions_Create (&nopts);
    if (s == NATS_OK)
        s = natsOptions_SetURL (nopts, url);
    if (s != NATS_OK)
        nats_die ("nats options", s);
    int64_t deadline = bench_now_ms () + READY_MS;
    while ((s = natsConnection_Connect (&c->nc, nopts)) != NATS_OK) {
        bench_natsd_check (&c->servers, s_dir);
        if (bench_now_ms () > deadline)
            nats_die ("nats-server did not take connections in time", s);
        usleep (20000); //  bounded by the deadline: the server is starting
    }
    natsOptions_Destroy (nopts);
    jsOptions jo;
    jsOptions_Init (&jo);
    jo.PublishAsync.MaxPending = o->window;
    jo.PublishAsync.ErrHandler = on_pub_error;
    jo.PublishAsync.StallWait = o->deadline_ms;
    if ((s = natsConnection_JetStream (&c->js, c->nc, &jo)) != NATS_OK)
        nats_die ("JetStream context", s);
}

//  CPU time of this process and C's servers, ns.
static int64_t all_cpu_ns (const cluster_t *c)
{
    return bench_cpu_ns () + bench_natsd_cpu_ns (&c->servers);
}

/* ---------------------------------------------------------------------------
   Streams and figures
*/

//  Creates the work-queue stream with R replicas on file storage (deleting
//  the last one first with DROP), retrying until the cluster can (meta
//  leader elected), then publishes one message synchronously so the
//  stream's leader is known.
static void stream_fresh (cluster_t *c, int r, bool drop)
{
    if (drop)
        js_DeleteStream (c->js, STREAM, NULL, NULL);
    const char *subjects[] = {SUBJECT};
    jsStreamConfig cfg;
    jsStreamConfig_Init (&cfg);
    cfg.Name = STREAM;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_WorkQueuePolicy;
    cfg.Replicas = r;
    int64_t deadline = bench_now_ms () + READY_MS;
    natsStatus s;
    jsErrCode err = 0;
    while ((s = js_AddStream (NULL, c->js, &cfg, NULL, &err)) != NATS_OK ||
           (s = js_Publish (NULL, c->js, SUBJECT, "warm-up", 7, NULL, &err)) != NATS_OK) {
        bench_natsd_check (&c->servers, s_dir);
        if (bench_now_ms () > deadline)
            nats_die ("the stream could not be created and written in time", s);
        usleep (20000); //  bounded by the deadline: no meta or stream leader yet
    }
}

//  Messages the stream holds, or -1.
static long long stream_msgs (cluster_t *c)
{
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo (&si, c->js, STREAM, NULL, NULL) != NATS_OK)
        return -1;
    long long n = (long long)si->State.Msgs;
    jsStreamInfo_Destroy (si);
    return n;
}

//  One publish run: COUNT async publishes of SIZE, WINDOW un-acked at most.
//  Stores msgs/s, CPU us per message and failures in RES slot S.
static void publish_run (cluster_t *c, const opts_t *o, int s, run_res_t *res)
{
    char *body = malloc (s_sizes[s]);
    if (!body)
        bench_die ("out of memory", NULL);
    bench_fill_body (body, s_sizes[s], 'j');
    atomic_store (&s_pub_errors, 0);
    int64_t cpu = all_cpu_ns (c), start = bench_now_ns ();
    int64_t deadline = start + (int64_t)o->deadline_ms * 1000000;
    for (int i = 0; i < o->count;) {
        natsStatus st = js_PublishAsync (c->js, SUBJECT, body, (int)s_sizes[s], NULL);
        if (st == NATS_OK)
            i++;
        else if (st != NATS_TIMEOUT || bench_now_ns () > deadline) //  timeout: still stalled
            nats_die ("js_PublishAsync", st);
    }
    jsPubOptions po;
    jsPubOptions_Init (&po);
    po.MaxWait = o->deadline_ms;
    natsStatus st = js_PublishAsyncComplete (c->js, &po);
    int64_t end = bench_now_ns ();
    if (st != NATS_OK)
        nats_die ("js_PublishAsyncComplete", st);
    long ok = o->count - atomic_load (&s_pub_errors);
    res->pub[s] = (double)ok / ((double)(end - start) / 1e9);
    res->pub_cpu[s] = ok > 0 ? (double)(all_cpu_ns (c) - cpu) / 1e3 / (double)ok : 0;
    res->failed[s] = o->count - ok;
    free (body);
}

//  One consume run: a durable pull consumer takes and acks all the stream
//  holds, fetching PREFETCH at a time, until the stream is empty.
static void consume_run (cluster_t *c, const opts_t *o, run_res_t *res)
{
    long long depth = stream_msgs (c);
    jsSubOptions so;
    jsSubOptions_Init (&so);
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = o->prefetch;
    natsSubscription *sub = NULL;
    int64_t cpu = all_cpu_ns (c), start = bench_now_ns ();
    int64_t deadline = start + (int64_t)o->deadline_ms * 1000000;
    natsStatus s = js_PullSubscribe (&sub, c->js, SUBJECT, CONSUMER, NULL, &so, NULL);
    if (s != NATS_OK)
        nats_die ("js_PullSubscribe", s);
    long got = 0;
    while (got < depth && bench_now_ns () < deadline) {
        natsMsgList list = {0};
        s = natsSubscription_Fetch (&list, sub, o->prefetch, 1000, NULL);
        if (s != NATS_OK && s != NATS_TIMEOUT)
            nats_die ("natsSubscription_Fetch", s);
        for (int i = 0; i < list.Count; i++)
            if (natsMsg_Ack (list.Msgs[i], NULL) == NATS_OK)
                got++;
        natsMsgList_Destroy (&list);
    }
    //  acks are fire-and-forget: the run ends when the stream has dropped them
    long long left = depth;
    while ((left = stream_msgs (c)) != 0 && bench_now_ns () < deadline)
        usleep (500);
    int64_t end = bench_now_ns ();
    long long acked = depth - (left < 0 ? depth : left);
    res->cons = (double)acked / ((double)(end - start) / 1e9);
    res->cons_cpu = acked > 0 ? (double)(all_cpu_ns (c) - cpu) / 1e3 / (double)acked : 0;
    natsSubscription_Unsubscribe (sub);
    natsSubscription_Destroy (sub);
}

//  One latency run: PINGS synchronous 64 B publishes, one in flight; p50
//  and p99 of the last 90 %.
static void latency_run (cluster_t *c, const opts_t *o, run_res_t *res)
{
    double *us = malloc (sizeof *us * (size_t)o->pings);
    char body[64];
    if (!us)
        bench_die ("out of memory", NULL);
    bench_fill_body (body, sizeof body, 'l');
    for (int i = 0; i < o->pings; i++) {
        int64_t t = bench_now_ns ();
        natsStatus s = js_Publish (NULL, c->js, SUBJECT, body, sizeof body, NULL, NULL);
        if (s != NATS_OK)
            nats_die ("js_Publish", s);
        us[i] = (double)(bench_now_ns () - t) / 1e3;
    }
    size_t skip = (size_t)o->pings / 10, n = (size_t)o->pings - skip;
    res->p50 = bench_percentile (us + skip, n, 50);
    res->p99 = bench_percentile (us + skip, n, 99);
    free (us);
}

//  Every run for replication index K: its servers up, rows, servers down.
static void measure_rep (const opts_t *o, int k)
{
    int r = s_reps[k];
    int64_t t0 = bench_now_ms ();
    cluster_start (&s_cluster, r == 1 ? 1 : BENCH_NATSD_MAX, r, o);
    stream_fresh (&s_cluster, r, false);
    printf ("R=%d: %d server(s) up, stream writable after %lld ms (client port %d)\n", r,
            s_cluster.servers.n, (long long)(bench_now_ms () - t0), s_cluster.servers.port[0]);
    fflush (stdout);
    for (int run = 0; run < o->runs; run++) {
        run_res_t *res = &s_res[k][run];
        for (int s = 0; s < 2; s++) {
            stream_fresh (&s_cluster, r, true);
            publish_run (&s_cluster, o, s, res);
            if (s == 0)
                consume_run (&s_cluster, o, res);
        }
        stream_fresh (&s_cluster, r, true);
        latency_run (&s_cluster, o, res);
        if (o->verbose)
            printf ("  run %d R=%d: pub 64 B %.0f/s, 1 KiB %.0f/s, consume %.0f/s, "
                    "p50 %.1f us, p99 %.1f us\n",
                    run + 1, r, res->pub[0], res->pub[1], res->cons, res->p50, res->p99);
        fflush (stdout);
    }
    js_DeleteStream (s_cluster.js, STREAM, NULL, NULL);
    cluster_stop (&s_cluster);
}

/* ---------------------------------------------------------------------------
   Tables, options, main
*/

//  Median over RUNS runs of the double at OFFSET in run_res_t for rep K.
static double med (int k, size_t offset, int runs)
{
    double x[MAX_RUNS];
    for (int i = 0; i < runs; i++)
        memcpy (&x[i], (const char *)&s_res[k][i] + offset, sizeof x[i]);
    return bench_median (x, (size_t)runs);
}

#define MED(k, field) med (k, offsetof (run_res_t, field), o->runs)

//  Prints the three tables of medians.
static void print_tables (const opts_t *o)
{
    printf ("\nconfirmed publish: js_PublishAsync, %d un-acked at most, file storage, %d msgs "
            "per run, median of %d runs\n",
            o->window, o->count, o->runs);
    printf ("%5s %2s %10s %8s %7s\n", "size", "R", "pub/s", "CPU us", "failed");
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2; k++) {
            long failed = 0;
            for (int i = 0; i < o->runs; i++)
                failed += s_res[k][i].failed[s];
            printf ("%5zu %2d %10.0f %8.2f %7ld\n", s_sizes[s], s_reps[k], MED (k, pub[s]),
                    MED (k, pub_cpu[s]), failed);
        }
    printf ("\nconsume + ack: 64 B, pull consumer, explicit ack, MaxAckPending %d, fetch batches "
            "of %d, until the stream is empty; median of %d runs\n",
            o->prefetch, o->prefetch, o->runs);
    printf ("%2s %10s %8s\n", "R", "msgs/s", "CPU us");
    for (int k = 0; k < 2; k++)
        printf ("%2d %10.0f %8.2f\n", s_reps[k], MED (k, cons), MED (k, cons_cpu));
    printf ("\nlatency: sync js_Publish, one 64 B message in flight, %d per run (first 10 %% "
            "dropped), median of %d runs, us\n",
            o->pings, o->runs);
    printf ("%2s %9s %9s\n", "R", "p50", "p99");
    for (int k = 0; k < 2; k++)
        printf ("%2d %9.1f %9.1f\n", s_reps[k], MED (k, p50), MED (k, p99));
    fflush (stdout);
}

//  Prints the usage on stderr; returns 2.
static int usage (void)
{
    fprintf (stderr, "usage: bench_jetstream [--count N] [--runs R] [--pings N] [--window N]\n"
                     "                       [--prefetch N] [--deadline-ms MS] [--verbose] "
                     "[--quick]\n");
    return 2;
}

//  The integer options: name and field; getopt_long returns the index.
static const struct {
    const char *name; //  option, without "--"
    size_t offset;    //  its int in opts_t
} s_ints[] = {
    {"count", offsetof (opts_t, count)},       {"runs", offsetof (opts_t, runs)},
    {"pings", offsetof (opts_t, pings)},       {"window", offsetof (opts_t, window)},
    {"prefetch", offsetof (opts_t, prefetch)}, {"deadline-ms", offsetof (opts_t, deadline_ms)},
};
#define N_INTS (int)(sizeof s_ints / sizeof s_ints[0])

//  Parses ARGV into O; returns 0 or -1.
static int parse (opts_t *o, int argc, char **argv)
{
    struct option longs[N_INTS + 3] = {{0}};
    for (int i = 0; i < N_INTS; i++)
        longs[i] = (struct option){s_ints[i].name, required_argument, NULL, i};
    longs[N_INTS] = (struct option){"verbose", no_argument, NULL, 'v'};
    longs[N_INTS + 1] = (struct option){"quick", no_argument, NULL, 'q'};
    *o = (opts_t){.count = 20000, .runs = 3, .pings = 2000, .window = 1000, .prefetch = 1000};
    o->deadline_ms = 60000;
    for (int ch; (ch = getopt_long (argc, argv, "", longs, NULL)) != -1;) {
        if (ch >= 0 && ch < N_INTS)
            *(int *)((char *)o + s_ints[ch].offset) = atoi (optarg);
        else if (ch == 'v')
            o->verbose = true;
        else if (ch == 'q')
            o->count = 5000, o->runs = 1, o->pings = 500, o->deadline_ms = 20000;
        else
            return -1;
    }
    return optind == argc && o->count > 0 && o->runs > 0 && o->runs <= MAX_RUNS && o->pings >= 10 &&
                   o->window > 0 && o->prefetch > 0 && o->deadline_ms > 0
               ? 0
               : -1;
}

int main (int argc, char **argv)
{
    bench_init ("bench_jetstream");
    opts_t o;
    if (parse (&o, argc, argv))
        return usage ();
    bench_tmpdir (s_dir, sizeof s_dir, "jetstream");
    atexit (cleanup);
    printf ("bench_jetstream: nats-server stores in %s (127.0.0.1 only), libnats %s\n", s_dir,
            nats_GetVersion ());
    fflush (stdout);
    for (int k = 0; k < 2; k++)
        measure_rep (&o, k);
    print_tables (&o);
    nats_Close ();
    return 0;
}
