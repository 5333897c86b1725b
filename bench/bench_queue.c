/*  bench/bench_queue.c - queue figures for docs/BENCHMARKS.md.

    In one process, four nodes on loopback: two members with journals (the
    owner of each bench queue, chosen by the ring, and the other member, its
    replica at R=2), a client producer and a client consumer. Once the
    producer's and the consumer's status show the ring with both members,
    each run measures:
      - confirmed send throughput: weft_send_async with queues.window sends
        in flight, counting WEFT_MSG_CONFIRM events (status 0) until all N
        are confirmed; bodies of 64 B and 1 KiB, journal.sync async and
        sync, replication=1 and 2 (acks=all), one fresh queue per row;
      - the owner's batch (queue entries per journal commit), counted by
        wrapping journal_open/_append/_commit at link time (the status JSON
        counts neither commits nor queue entries);
      - consume + ack throughput: a consumer (prefetch 1000) takes and acks
        the 64 B queues just filled, until the owner's status counts every
        message acked;
      - confirmed send latency: blocking weft_send, one in flight, R=1, async.
    Baselines in the same run, alternating with Weft: a raw DEALER -> ROUTER
    acked pipeline over tcp://127.0.0.1 (window 1000, the ROUTER's thread
    answers each message with an 8-byte ack), the same pair's round trip
    with one message in flight (in blocks alternating with Weft's latency
    blocks, so both see the same machine), and raw LevelDB WriteBatches
    (sync and not) of the batch the owner produced, in a freshly exec'd
    process (as bench_durable.c does). Every node lives on loopback with a
    cluster name and beacon port private to this process. This is a
    benchmark, not a test: it prints tables and exits 0 unless something
    could not be set up. --perf-ctl FIFO --profile PHASE sends "enable" and
    "disable" to a `perf record -D -1 --control fifo:FIFO` around that phase.

    --engine raft measures the Raft queue engine instead: every node (clients
    too) gets queues.engine=raft; each replication R of --reps (default 1,3)
    gets its own fresh cluster of R members with queues.replicas=R (R=1: a
    single member) and the two clients. Every row waits (READY_MS) until a
    member's status shows the queue's group with a serving leader
    (queue_groups[].serving) before timing; consume + ack ends when that
    leader counts every message acked; latency is measured on each cluster.
    journal.sync is left at async, but the engine syncs every Raft write
    whatever it says, so there is one mode ("raft") and no raw LevelDB rows.
*/
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_qraft.h"
#include "bench_raw.h"
#include "journal/journal.h"
#include "weft.h"

#define MAX_SIZES      4     //  body sizes
#define MAX_RUNS       31    //  runs per figure
#define MAX_MEMBERS    3     //  members of one cluster at most
#define MAX_JOURNALS   8     //  journals tracked by the link-time wraps
#define READY_MS       15000 //  setup deadline (ring seen, queue active)
#define ENTRY_OVERHEAD 53    //  queue entry bytes besides the body (u32 + msgpack header)

//  Command-line settings.
typedef struct {
    int count;               //  confirmed sends per row and run
    int runs;                //  runs per figure
    int pings;               //  round trips per latency run
    int raw_count;           //  messages per raw pipeline run
    int raw_ms;              //  length of one raw LevelDB run
    int deadline_ms;         //  bound of one send or consume run
    int window;              //  queues.window
    int prefetch;            //  consumer prefetch
    size_t sizes[MAX_SIZES]; //  body sizes
    int nsizes;              //  how many
    int reps[2];             //  replications measured
    int nreps;               //  how many
    bool modes[2];           //  journal.sync async [0], sync [1]
    bool do_consume, do_lat; //  figures besides sends
    bool verbose;            //  print every run
    bool raft;               //  --engine raft: queues.engine=raft, R members per R
    const char *perf_ctl;    //  perf --control fifo, or NULL
    const char *profile;     //  phase perf samples: send, consume, latency, raw-latency
    char dir[256];           //  where journals go
} opts_t;

//  One send row's run.
typedef struct {
    double rate;      //  confirmed / elapsed
    double cpu_us;    //  process CPU time per confirmed message
    double batch;     //  owner: queue entries per commit
    double raw_ldb;   //  raw LevelDB entries/s at that batch
    long unconfirmed; //  sends not confirmed with status 0
} send_res_t;

//  One consume row's run.
typedef struct {
    double rate;   //  acked / elapsed
    double cpu_us; //  process CPU time per message
    long count;    //  messages consumed
} cons_res_t;

//  Every run's figures.
typedef struct {
    send_res_t send[2][MAX_SIZES][2][MAX_RUNS]; //  [mode][size][rep][run]
    cons_res_t cons[2][2][MAX_RUNS];            //  [mode][rep][run]
    double pipe[MAX_SIZES][MAX_RUNS];           //  raw acked pipeline msgs/s
    double pipe_cpu[MAX_SIZES][MAX_RUNS];       //  its process CPU time per message, us
    double lat[2][2][MAX_RUNS];                 //  [rep][p50, p99][run], us (owner: rep 0)
    double rtt[2][2][MAX_RUNS];                 //  the raw round trips, same layout
} results_t;

//  The nodes of one run.
typedef struct {
    weft_node_t *m[MAX_MEMBERS]; //  members with journals
    int nm;                      //  how many (owner engine: 2)
    weft_node_t *prod;           //  client producer
    weft_node_t *cons;           //  client consumer
    int journal[MAX_MEMBERS];    //  each member's slot in s_journals
} cluster_t;

//  A journal seen by the wraps.
typedef struct {
    _Atomic (journal_t *) j; //  the handle
    char dir[300];           //  its directory
    atomic_ulong commits;    //  journal_commit () calls
    atomic_ulong appends;    //  journal_append () calls
} jslot_t;

static char s_cluster[64];               //  this process's cluster name
static int s_port;                       //  its beacon port
static jslot_t s_journals[MAX_JOURNALS]; //  journals opened by this run's nodes
static atomic_int s_njournals;           //  how many
static results_t s_res;                  //  every figure
static const char *s_mode_name[2] = {"async", "sync"};

//  The name of MODE in the tables: "raft" for the Raft engine's one mode.
static const char *mode_label (const opts_t *o, int mode)
{
    return o->raft ? "raft" : s_mode_name[mode];
}

/* ---------------------------------------------------------------------------
   Link-time wraps (-Wl,--wrap=..., bench/CMakeLists.txt): per-journal counts.
*/

int __real_journal_open (const char *dir, const journal_options_t *opts, journal_t **out, char *err,
                         size_t errlen);
int __real_journal_append (journal_t *self, const char *stream, uint64_t seq, int64_t time_us,
                           const void *data, size_t len);
int __real_journal_commit (journal_t *self, bool sync);
int __wrap_journal_open (const char *dir, const journal_options_t *opts, journal_t **out, char *err,
                         size_t errlen);
int __wrap_journal_append (journal_t *self, const char *stream, uint64_t seq, int64_t time_us,
                           const void *data, size_t len);
int __wrap_journal_commit (journal_t *self, bool sync);

//  Opens the journal and remembers which directory it is.
int __wrap_journal_open (const char *dir, const journal_options_t *opts, journal_t **out, char *err,
                         size_t errlen)
{
    int rc = __real_journal_open (dir, opts, out, err, errlen);
    int i = rc == 0 ? atomic_fetch_add (&s_njournals, 1) : MAX_JOURNALS;
    if (i < MAX_JOURNALS) {
        snprintf (s_journals[i].dir, sizeof s_journals[i].dir, "%s", dir);
        atomic_store (&s_journals[i].j, *out);
    }
    return rc;
}

//  The slot of journal J, or NULL.
static jslot_t *jslot (const journal_t *j)
{
    for (int i = 0; i < MAX_JOURNALS; i++)
        if (atomic_load (&s_journals[i].j) == j)
            return &s_journals[i];
    return NULL;
}

//  Counts one queue entry and stages it.
int __wrap_journal_append (journal_t *self, const char *stream, uint64_t seq, int64_t time_us,
                           const void *data, size_t len)
{
    jslot_t *slot = stream && strncmp (stream, "q/", 2) == 0 ? jslot (self) : NULL;
    if (slot)
        atomic_fetch_add (&slot->appends, 1);
    return __real_journal_append (self, stream, seq, time_us, data, len);
}

//  Counts one commit and does it.
int __wrap_journal_commit (journal_t *self, bool sync)
{
    jslot_t *slot = jslot (self);
    if (slot)
        atomic_fetch_add (&slot->commits, 1);
    return __real_journal_commit (self, sync);
}

/* ---------------------------------------------------------------------------
   Small helpers
*/

//  Tells perf (--perf-ctl) to start or stop sampling when PHASE is the one profiled.
static void perf_ctl (const opts_t *o, const char *phase, bool enable)
{
    if (!o->perf_ctl || !o->profile || strcmp (o->profile, phase) != 0)
        return;
    FILE *f = fopen (o->perf_ctl, "w");
    if (f) {
        fputs (enable ? "enable\n" : "disable\n", f);
        fclose (f);
    }
}

/* ---------------------------------------------------------------------------
   Nodes
*/

//  A config for node NAME on loopback in this process's cluster: a member
//  journaling in JOURNAL with MODE (async, sync), or a client (JOURNAL NULL).
static weft_config_t *bench_config (const opts_t *o, const char *name, const char *journal,
                                    const char *mode, int replicas)
{
    weft_config_t *cfg = bench_loopback_config (name, s_cluster, s_port);
    char text[32];
    //  every node, clients too (they follow QLEADER hints); the owner engine is no longer
    //  the default: say it
    bench_must_set (cfg, "queues.engine", o->raft ? "raft" : "owner");
    if (o->raft) {
        snprintf (text, sizeof text, "%d", replicas);
        bench_must_set (cfg, "queues.replicas", text);
    }
    snprintf (text, sizeof text, "%d", o->window);
    bench_must_set (cfg, "queues.window", text);
    bench_must_set (cfg, "queues.acks", "all");
    if (journal) {
        bench_must_set (cfg, "node.role", "member");
        bench_must_set (cfg, "journal.dir", journal);
        bench_must_set (cfg, "journal.sync", mode);
    } else
        bench_must_set (cfg, "node.role", "client");
    return cfg;
}

//  Drops every event waiting on NODE.
static void drain (weft_node_t *node)
{
    weft_msg_t *msg = NULL;
    while (weft_recv (node, &msg, 0) == 0)
        weft_msg_destroy (&msg);
}

//  Number of ring members NODE's status shows.
static int ring_members (weft_node_t *node)
{
    char *json = NULL;
    if (weft_status (node, &json))
        return 0;
    int seen = 0;
    const char *ring = strstr (json, "\"ring\":");
    const char *end = ring ? strstr (ring, "]}") : NULL;
    for (const char *p = ring; p && (p = strstr (p, "\"weight\":")) && p < end; p++)
        seen++;
    weft_free (json);
    return seen;
}

//  Integer FIELD of QUEUE in NODE's status, or -1 when NODE does not own it.
static long long owned_field (weft_node_t *node, const char *queue, const char *field)
{
    char *json = NULL, key[300];
    if (weft_status (node, &json))
        return -1;
    snprintf (key, sizeof key, "\"name\":\"%s\",\"role\":\"owner\"", queue);
    const char *p = strstr (json, key);
    snprintf (key, sizeof key, "\"%s\":", field);
    p = p ? strstr (p, key) : NULL;
    long long value = p ? strtoll (p + strlen (key), NULL, 10) : -1;
    weft_free (json);
    return value;
}

//  Integer FIELD of QUEUE at OWNER: its owner's entry, or with the Raft
//  engine its serving leader's; -1 when OWNER is neither.
static long long queue_field (const opts_t *o, weft_node_t *owner, const char *queue,
                              const char *field)
{
    return o->raft ? qraft_leader_field (owner, queue, field) : owned_field (owner, queue, field);
}

//  Index of the member owning QUEUE (Raft: its serving leader, waited for
//  up to READY_MS), or dies.
static int owner_of (cluster_t *c, const opts_t *o, const char *queue)
{
    if (o->raft) {
        int i = qraft_wait_leader (c->m, c->nm, queue, bench_now_ms () + READY_MS);
        if (i < 0)
            bench_die ("no serving leader for the queue's group in time", queue);
        return i;
    }
    for (int i = 0; i < c->nm; i++)
        if (owned_field (c->m[i], queue, "stored") >= 0)
            return i;
    bench_die ("no member owns the queue", queue);
    return -1;
}

//  Starts the nodes of RUN in MODE (NM members with fresh journals, REPLICAS
//  their queues.replicas with the Raft engine, two clients) and waits until
//  every node's ring shows the NM members.
static void cluster_open (cluster_t *c, const opts_t *o, int mode, int run, int nm, int replicas)
{
    atomic_store (&s_njournals, 0);
    memset (s_journals, 0, sizeof s_journals);
    c->nm = nm;
    for (int i = 0; i < nm; i++) {
        char dir[300], name[16];
        snprintf (dir, sizeof dir, "%s/%s-%d-m%d", o->dir, s_mode_name[mode], run, i);
        snprintf (name, sizeof name, "bench-m%d", i);
        bench_rmrf (dir);
        c->m[i] = bench_node (bench_config (o, name, dir, s_mode_name[mode], replicas));
        c->journal[i] = -1;
        for (int k = 0; k < MAX_JOURNALS; k++)
            if (strcmp (s_journals[k].dir, dir) == 0)
                c->journal[i] = k;
        if (c->journal[i] < 0)
            bench_die ("the journal wrap did not see the member's journal", dir);
    }
    c->prod = bench_node (bench_config (o, "bench-producer", NULL, NULL, replicas));
    c->cons = bench_node (bench_config (o, "bench-consumer", NULL, NULL, replicas));
    weft_node_t *all[MAX_MEMBERS + 2] = {c->prod, c->cons};
    for (int i = 0; i < nm; i++)
        all[2 + i] = c->m[i];
    int64_t deadline = bench_now_ms () + READY_MS;
    for (int i = 0; i < nm + 2; i++)
        while (ring_members (all[i]) != nm) {
            if (bench_now_ms () > deadline)
                bench_die ("the ring did not show every member in time", weft_node_name (all[i]));
            weft_msg_t *msg = NULL;
            if (weft_recv (all[i], &msg, 5) == 0) //  a bounded wait on its events
                weft_msg_destroy (&msg);
        }
}

//  Stops the nodes of RUN in MODE and removes their journals.
static void cluster_close (cluster_t *c, const opts_t *o, int mode, int run)
{
    weft_node_destroy (&c->cons);
    weft_node_destroy (&c->prod);
    for (int i = 0; i < c->nm; i++) {
        weft_node_destroy (&c->m[i]);
        char dir[300];
        snprintf (dir, sizeof dir, "%s/%s-%d-m%d", o->dir, s_mode_name[mode], run, i);
        bench_rmrf (dir);
    }
}

//  The name of the queue of SIZE and replication R, in OUT.
static void queue_name (size_t size, int r, char *out, size_t cap)
{
    snprintf (out, cap, "bench.q%zur%d", size, r);
}

/* ---------------------------------------------------------------------------
   Weft: confirmed sends, consume + ack
*/

//  Sends one confirmed message to QUEUE (activating it at its owner) or dies.
static void warm_up (cluster_t *c, const char *queue, const char *options)
{
    int rc = weft_send (c->prod, queue, "warm-up", 7, options, READY_MS);
    if (rc)
        bench_die ("warm-up send", weft_strerror (rc));
}

//  Handles the events waiting on PROD (waiting up to WAIT_MS for the first):
//  counts confirms with status 0 in *OK and the others in *FAILED. Returns
//  the number of confirms seen.
static long take_confirms (weft_node_t *prod, int wait_ms, long *ok, long *failed)
{
    long seen = 0;
    weft_msg_t *msg = NULL;
    for (int rc = weft_recv (prod, &msg, wait_ms); rc == 0; rc = weft_recv (prod, &msg, 0)) {
        if (weft_msg_kind (msg) == WEFT_MSG_CONFIRM) {
            const char *status = weft_msg_header (msg, "status");
            if (status && strcmp (status, "0") == 0)
                (*ok)++;
            else
                (*failed)++;
            seen++;
        }
        weft_msg_destroy (&msg);
    }
    return seen;
}

//  One send run: COUNT messages of SIZE to QUEUE with OPTIONS, as many in
//  flight as the window takes. OWNER is the owner's journal slot.
static send_res_t send_run (cluster_t *c, const opts_t *o, const char *queue, const char *options,
                            size_t size, jslot_t *owner)
{
    char *body = malloc (size);
    if (!body)
        bench_die ("out of memory", NULL);
    memset (body, 'q', size);
    drain (c->prod);
    unsigned long commits = atomic_load (&owner->commits), appends = atomic_load (&owner->appends);
    long sent = 0, ok = 0, failed = 0;
    perf_ctl (o, "send", true);
    int64_t cpu = bench_cpu_ns (), start = bench_now_ns (), last = start;
    int64_t deadline = start + (int64_t)o->deadline_ms * 1000000;
    while (ok + failed < o->count && last < deadline) {
        int rc = 0;
        while (sent < o->count &&
               (rc = weft_send_async (c->prod, queue, body, size, options, NULL)) == 0)
            sent++;
        if (rc && rc != WEFT_EAGAIN)
            bench_die ("weft_send_async", weft_strerror (rc));
        if (take_confirms (c->prod, 100, &ok, &failed))
            last = bench_now_ns ();
        else if (bench_now_ns () > deadline)
            break;
    }
    perf_ctl (o, "send", false);
    send_res_t r = {0};
    double elapsed = (double)(last - start) / 1e9;
    r.rate = elapsed > 0 ? (double)ok / elapsed : 0;
    r.cpu_us = ok ? (double)(bench_cpu_ns () - cpu) / 1e3 / (double)ok : 0;
    unsigned long dc = atomic_load (&owner->commits) - commits;
    r.batch = dc ? (double)(atomic_load (&owner->appends) - appends) / (double)dc : 0;
    r.unconfirmed = o->count - ok;
    free (body);
    return r;
}

//  One consume run: the consumer takes and acks everything QUEUE holds at
//  its owner OWNER, until the owner's status counts it acked.
static cons_res_t consume_run (cluster_t *c, const opts_t *o, const char *queue, weft_node_t *owner)
{
    cons_res_t r = {0};
    long long depth = queue_field (o, owner, queue, "depth");
    long long acked0 = queue_field (o, owner, queue, "acked");
    if (depth <= 0)
        return r;
    drain (c->cons);
    perf_ctl (o, "consume", true);
    int64_t cpu = bench_cpu_ns (), start = bench_now_ns ();
    int64_t deadline = start + (int64_t)o->deadline_ms * 1000000;
    int rc = weft_consume (c->cons, queue, o->prefetch);
    if (rc)
        bench_die ("weft_consume", weft_strerror (rc));
    long got = 0;
    while (got < depth && bench_now_ns () < deadline) {
        weft_msg_t *msg = NULL;
        for (rc = weft_recv (c->cons, &msg, 100); rc == 0; rc = weft_recv (c->cons, &msg, 0)) {
            if (weft_msg_kind (msg) == WEFT_MSG_DELIVERY && weft_ack (c->cons, msg) == 0)
                got++;
            weft_msg_destroy (&msg);
        }
    }
    //  acks are fire-and-forget: the run ends when the owner has settled them
    long long acked = 0;
    while ((acked = queue_field (o, owner, queue, "acked") - acked0) < got &&
           bench_now_ns () < deadline)
        usleep (500);
    int64_t end = bench_now_ns ();
    perf_ctl (o, "consume", false);
    weft_cancel (c->cons, queue);
    r.count = (long)acked;
    r.rate = (double)acked / ((double)(end - start) / 1e9);
    r.cpu_us = acked > 0 ? (double)(bench_cpu_ns () - cpu) / 1e3 / (double)acked : 0;
    return r;
}

/* ---------------------------------------------------------------------------
   Latency: Weft's and raw round trips interleaved (the raw pair: bench_raw.c)
*/

//  Times N blocking 64 B sends to bench.lat (R=1) into US.
static void weft_pings (cluster_t *c, double *us, int n)
{
    char body[64];
    memset (body, 'l', sizeof body);
    for (int i = 0; i < n; i++) {
        int64_t t0 = bench_now_ns ();
        int rc = weft_send (c->prod, "bench.lat", body, sizeof body, "replication=1", 10000);
        if (rc)
            bench_die ("weft_send", weft_strerror (rc));
        us[i] = (double)(bench_now_ns () - t0) / 1e3;
    }
}

//  Latency of RUN, one message in flight: blocks of confirmed weft_sends
//  alternate with blocks of raw round trips, so both see the same machine;
//  stores p50 and p99 of each (us), the first 10 % of each dropped.
static void latency_run (cluster_t *c, const opts_t *o, int run, int k)
{
    raw_pair_t p;
    raw_open (&p);
    warm_up (c, "bench.lat", "replication=1");
    if (o->raft)
        owner_of (c, o, "bench.lat");
    double *w = malloc ((size_t)o->pings * sizeof *w), *r = malloc ((size_t)o->pings * sizeof *r);
    if (!w || !r)
        bench_die ("out of memory", NULL);
    int block = o->pings / 10;
    for (int i = 0; i < o->pings; i += block) {
        int n = o->pings - i < block ? o->pings - i : block;
        perf_ctl (o, "latency", true);
        weft_pings (c, w + i, n);
        perf_ctl (o, "latency", false);
        perf_ctl (o, "raw-latency", true);
        raw_pings (&p, r + i, n);
        perf_ctl (o, "raw-latency", false);
    }
    int warm = o->pings / 10;
    s_res.lat[k][0][run] = bench_percentile (w + warm, o->pings - warm, 50);
    s_res.lat[k][1][run] = bench_percentile (w + warm, o->pings - warm, 99);
    s_res.rtt[k][0][run] = bench_percentile (r + warm, o->pings - warm, 50);
    s_res.rtt[k][1][run] = bench_percentile (r + warm, o->pings - warm, 99);
    free (w);
    free (r);
    raw_close (&p);
}

/* ---------------------------------------------------------------------------
   Raw LevelDB baseline (in a fresh process: this program with --raw-child)
*/

//  One raw LevelDB measurement in a fresh process; entries/s, or -1.
static double ldb_measure (const opts_t *o, bool sync, size_t size, double batch)
{
    size_t n = batch < 1 ? (size_t)1 : (size_t)(batch + 0.5);
    return bench_ldb_spawn ("/proc/self/exe", "bench_queue", sync, size + ENTRY_OVERHEAD, n,
                            o->raw_ms, o->dir);
}

/* ---------------------------------------------------------------------------
   One run: every Weft figure of MODE on fresh nodes, then the baselines
*/

//  The options string of a send with replication R.
static void send_options (int r, char *out, size_t cap)
{
    snprintf (out, cap, "replication=%d,acks=all", r);
}

//  Index of the 64 B size (the consume figure's), or 0.
static int consume_size (const opts_t *o)
{
    for (int s = 0; s < o->nsizes; s++)
        if (o->sizes[s] == 64)
            return s;
    return 0;
}

//  The Raft engine's figures of RUN: one cluster of R members per R.
static void raft_run (const opts_t *o, int run)
{
    for (int k = 0; k < o->nreps; k++) {
        cluster_t c;
        int r = o->reps[k], s64 = consume_size (o);
        cluster_open (&c, o, 0, run, r, r);
        if (o->do_lat) //  first, on nodes that hold nothing yet
            latency_run (&c, o, run, k);
        for (int s = 0; s < o->nsizes; s++) {
            char queue[64], options[64];
            queue_name (o->sizes[s], r, queue, sizeof queue);
            send_options (r, options, sizeof options);
            warm_up (&c, queue, options);
            jslot_t *leader = &s_journals[c.journal[owner_of (&c, o, queue)]];
            s_res.send[0][s][k][run] = send_run (&c, o, queue, options, o->sizes[s], leader);
        }
        if (o->do_consume) {
            char queue[64];
            queue_name (o->sizes[s64], r, queue, sizeof queue);
            s_res.cons[0][k][run] = consume_run (&c, o, queue, c.m[owner_of (&c, o, queue)]);
        }
        cluster_close (&c, o, 0, run);
    }
}

//  Weft's figures of MODE in RUN.
static void weft_run (const opts_t *o, int mode, int run)
{
    cluster_t c;
    cluster_open (&c, o, mode, run, 2, 2);
    if (o->do_lat && mode == 0) //  first, on nodes that hold nothing yet
        latency_run (&c, o, run, 0);
    for (int s = 0; s < o->nsizes; s++)
        for (int k = 0; k < o->nreps; k++) {
            char queue[64], options[64];
            queue_name (o->sizes[s], o->reps[k], queue, sizeof queue);
            send_options (o->reps[k], options, sizeof options);
            warm_up (&c, queue, options);
            jslot_t *owner = &s_journals[c.journal[owner_of (&c, o, queue)]];
            s_res.send[mode][s][k][run] = send_run (&c, o, queue, options, o->sizes[s], owner);
        }
    for (int k = 0; o->do_consume && k < o->nreps; k++) {
        char queue[64];
        queue_name (o->sizes[consume_size (o)], o->reps[k], queue, sizeof queue);
        s_res.cons[mode][k][run] = consume_run (&c, o, queue, c.m[owner_of (&c, o, queue)]);
    }
    cluster_close (&c, o, mode, run);
}

//  Prints the figures of RUN in MODE (--verbose).
static void print_run (const opts_t *o, int mode, int run)
{
    for (int s = 0; s < o->nsizes; s++)
        for (int k = 0; k < o->nreps; k++) {
            const send_res_t *r = &s_res.send[mode][s][k][run];
            printf ("  run %d %s %zu B R=%d: send %.0f msgs/s, batch %.1f, CPU %.1f us/msg, "
                    "unconfirmed %ld, raw LevelDB %.0f entries/s\n",
                    run + 1, mode_label (o, mode), o->sizes[s], o->reps[k], r->rate, r->batch,
                    r->cpu_us, r->unconfirmed, r->raw_ldb);
        }
    for (int k = 0; o->do_consume && k < o->nreps; k++)
        printf ("  run %d %s R=%d: consume+ack %.0f msgs/s (%ld msgs)\n", run + 1,
                mode_label (o, mode), o->reps[k], s_res.cons[mode][k][run].rate,
                s_res.cons[mode][k][run].count);
    for (int k = 0; mode == 0 && o->do_lat && k < (o->raft ? o->nreps : 1); k++)
        printf ("  run %d latency R=%d p50/p99 %.1f/%.1f us, raw %.1f/%.1f us\n", run + 1,
                o->raft ? o->reps[k] : 1, s_res.lat[k][0][run], s_res.lat[k][1][run],
                s_res.rtt[k][0][run], s_res.rtt[k][1][run]);
    fflush (stdout);
}

//  RUN: Weft in each mode, raw LevelDB at each row's batch, raw libzmq.
static void one_run (const opts_t *o, int run)
{
    if (o->raft)
        raft_run (o, run);
    for (int mode = 0; !o->raft && mode < 2; mode++) {
        if (!o->modes[mode])
            continue;
        weft_run (o, mode, run);
        for (int s = 0; s < o->nsizes; s++)
            for (int k = 0; k < o->nreps; k++) {
                send_res_t *r = &s_res.send[mode][s][k][run];
                r->raw_ldb = ldb_measure (o, mode == 1, o->sizes[s], r->batch);
            }
    }
    for (int s = 0; s < o->nsizes; s++)
        s_res.pipe[s][run] = raw_pipeline (o->raw_count, o->sizes[s], &s_res.pipe_cpu[s][run]);
    for (int mode = 0; o->verbose && mode < 2; mode++)
        if (o->modes[mode])
            print_run (o, mode, run);
}

/* ---------------------------------------------------------------------------
   Tables
*/

//  Median of the double at byte OFFSET of N records of STRIDE bytes at V.
static double med (const void *v, size_t stride, size_t offset, int n)
{
    double x[MAX_RUNS];
    for (int i = 0; i < n; i++)
        memcpy (&x[i], (const char *)v + (size_t)i * stride + offset, sizeof x[i]);
    return bench_median (x, n);
}

#define SEND_MED(o, v, field) med (v, sizeof (send_res_t), offsetof (send_res_t, field), (o)->runs)
#define CONS_MED(o, v, field) med (v, sizeof (cons_res_t), offsetof (cons_res_t, field), (o)->runs)
#define RUNS_MED(o, v)        med (v, sizeof (double), 0, (o)->runs)

//  Prints one target line: WHAT, the measured value, the goal, and whether met.
static void target_line (const char *what, double value, double goal, bool higher, const char *fmt)
{
    char v[32], g[32];
    snprintf (v, sizeof v, fmt, value);
    snprintf (g, sizeof g, fmt, goal);
    bool met = higher ? value >= goal : value <= goal;
    double ratio = higher ? (goal > 0 ? value / goal : 0) : (value > 0 ? goal / value : 0);
    printf ("%-52s %12s %12s %8.2f   %s\n", what, v, g, ratio, met ? "met" : "NOT met");
}

//  Prints the send table and returns nothing; the targets come after.
static void print_send (const opts_t *o)
{
    printf ("\nconfirmed send: weft_send_async, window %d, acks=all, %d msgs per run, median of "
            "%d runs\n",
            o->window, o->count, o->runs);
    printf ("%-5s %5s %2s %10s %7s %7s %12s %9s %11s %8s %9s %6s\n", "mode", "size", "R", "send/s",
            "batch", "CPU us", "raw LDB/s", "send/LDB", "raw pipe/s", "pipe CPU", "send/pipe",
            "unconf");
    for (int m = 0; m < 2; m++)
        for (int s = 0; o->modes[m] && s < o->nsizes; s++)
            for (int k = 0; k < o->nreps; k++) {
                const send_res_t *v = s_res.send[m][s][k];
                double rate = SEND_MED (o, v, rate);
                double ldb = SEND_MED (o, v, raw_ldb);
                double pipe = RUNS_MED (o, s_res.pipe[s]);
                long unconf = 0;
                for (int i = 0; i < o->runs; i++)
                    unconf += v[i].unconfirmed;
                printf ("%-5s %5zu %2d %10.0f %7.1f %7.2f %12.0f %8.3fx %11.0f %8.2f %8.3fx %6ld\n",
                        mode_label (o, m), o->sizes[s], o->reps[k], rate, SEND_MED (o, v, batch),
                        SEND_MED (o, v, cpu_us), ldb, ldb > 0 ? rate / ldb : 0, pipe,
                        RUNS_MED (o, s_res.pipe_cpu[s]), pipe > 0 ? rate / pipe : 0, unconf);
            }
}

//  Prints the consume and latency tables.
static void print_consume_latency (const opts_t *o)
{
    if (o->do_consume) {
        printf ("\nconsume + ack: %zu B, prefetch %d, the queue filled by the send rows, until the "
                "owner counts all acked; median of %d runs\n",
                o->sizes[consume_size (o)], o->prefetch, o->runs);
        printf ("%-5s %2s %11s %9s\n", "mode", "R", "msgs/s", "CPU us");
        for (int m = 0; m < 2; m++)
            for (int k = 0; o->modes[m] && k < o->nreps; k++)
                printf ("%-5s %2d %11.0f %9.2f\n", mode_label (o, m), o->reps[k],
                        CONS_MED (o, s_res.cons[m][k], rate),
                        CONS_MED (o, s_res.cons[m][k], cpu_us));
    }
    if (o->do_lat && o->modes[0]) {
        printf ("\nlatency, one 64 B message in flight, %d per run (first 10 %% dropped), "
                "median of %d runs, us\n",
                o->pings, o->runs);
        printf ("%-34s %9s %9s\n", "", "p50", "p99");
        for (int k = 0; k < (o->raft ? o->nreps : 1); k++) {
            double l50 = RUNS_MED (o, s_res.lat[k][0]), l99 = RUNS_MED (o, s_res.lat[k][1]);
            double r50 = RUNS_MED (o, s_res.rtt[k][0]), r99 = RUNS_MED (o, s_res.rtt[k][1]);
            char what[64];
            snprintf (what, sizeof what, "weft_send (R=%d, %s, confirmed)",
                      o->raft ? o->reps[k] : 1, mode_label (o, 0));
            printf ("%-34s %9.1f %9.1f\n", what, l50, l99);
            printf ("%-34s %9.1f %9.1f\n", "raw DEALER/ROUTER round trip", r50, r99);
            printf ("%-34s %8.2fx %8.2fx\n", "weft / raw", r50 > 0 ? l50 / r50 : 0,
                    r99 > 0 ? l99 / r99 : 0);
        }
    }
}

//  Prints the issue's targets against the medians.
static void print_targets (const opts_t *o)
{
    printf ("\ntargets (ratio = measured / goal, inverted for latency: above 1 is met)\n");
    printf ("%-52s %12s %12s %8s   %s\n", "target", "measured", "goal", "ratio", "");
    int s64 = consume_size (o), r1 = -1;
    for (int k = 0; k < o->nreps; k++)
        if (o->reps[k] == 1)
            r1 = k;
    if (o->raft) { //  the Raft engine's goals against the raw pipeline (issue 9)
        for (int k = 0; k < o->nreps; k++) {
            double rate = SEND_MED (o, s_res.send[0][s64][k], rate);
            double pipe = RUNS_MED (o, s_res.pipe[s64]);
            char what[80];
            snprintf (what, sizeof what, "raft R=%d 64 B send / raw acked pipeline", o->reps[k]);
            target_line (what, pipe > 0 ? rate / pipe : 0, o->reps[k] == 1 ? 0.5 : 0.25, true,
                         "%.3fx");
        }
        fflush (stdout);
        return;
    }
    if (o->modes[0] && r1 >= 0) {
        const send_res_t *v = s_res.send[0][s64][r1];
        double rate = SEND_MED (o, v, rate);
        double pipe = RUNS_MED (o, s_res.pipe[s64]);
        target_line ("async R=1 64 B send, msgs/s", rate, 500000, true, "%.0f");
        target_line ("async R=1 64 B send / raw acked pipeline", pipe > 0 ? rate / pipe : 0, 0.25,
                     true, "%.3fx");
    }
    for (int s = 0; o->modes[1] && s < o->nsizes; s++)
        for (int k = 0; k < o->nreps; k++) {
            const send_res_t *v = s_res.send[1][s][k];
            double rate = SEND_MED (o, v, rate);
            double ldb = SEND_MED (o, v, raw_ldb);
            char what[80];
            snprintf (what, sizeof what, "sync %zu B R=%d send / raw LevelDB sync, same batch",
                      o->sizes[s], o->reps[k]);
            target_line (what, ldb > 0 ? rate / ldb : 0, 0.5, true, "%.3fx");
        }
    for (int m = 0; o->do_consume && m < 2; m++)
        for (int k = 0; o->modes[m] && k < o->nreps; k++) {
            char what[80];
            snprintf (what, sizeof what, "consume+ack %s R=%d, msgs/s", mode_label (o, m),
                      o->reps[k]);
            target_line (what, CONS_MED (o, s_res.cons[m][k], rate), 400000, true, "%.0f");
        }
    if (o->do_lat && o->modes[0]) {
        double l50 = RUNS_MED (o, s_res.lat[0][0]), l99 = RUNS_MED (o, s_res.lat[0][1]);
        double r50 = RUNS_MED (o, s_res.rtt[0][0]), r99 = RUNS_MED (o, s_res.rtt[0][1]);
        target_line ("latency p50 / raw round trip p50", r50 > 0 ? l50 / r50 : 0, 2, false,
                     "%.2fx");
        target_line ("latency p99 / raw round trip p99", r99 > 0 ? l99 / r99 : 0, 2, false,
                     "%.2fx");
    }
    fflush (stdout);
}

/* ---------------------------------------------------------------------------
   Main
*/

//  Prints the usage on stderr; returns 2.
static int usage (void)
{
    fprintf (stderr,
             "usage: bench_queue [--count N] [--runs R] [--sizes 64,1024] [--modes async,sync]\n"
             "                   [--reps 1,2] [--pings N] [--raw-count N] [--raw-ms MS]\n"
             "                   [--window N] [--prefetch N] [--deadline-ms MS] [--no-consume]\n"
             "                   [--no-latency] [--dir DIR] [--verbose] [--quick]\n"
             "                   [--engine owner|raft]\n"
             "                   [--perf-ctl FIFO --profile send|consume|latency|raw-latency]\n"
             "  --engine raft: queues.engine=raft on every node; per R of --reps (default 1,3)\n"
             "                 a cluster of R members with queues.replicas=R; one mode, \"raft\"\n"
             "                 (every Raft write is synced whatever journal.sync says)\n");
    return 2;
}

//  The long options; an int option's val is 1000 + its index in s_int_fields.
static const struct option s_long[] = {{"count", required_argument, NULL, 1000},
                                       {"runs", required_argument, NULL, 1001},
                                       {"pings", required_argument, NULL, 1002},
                                       {"raw-count", required_argument, NULL, 1003},
                                       {"raw-ms", required_argument, NULL, 1004},
                                       {"window", required_argument, NULL, 1005},
                                       {"prefetch", required_argument, NULL, 1006},
                                       {"deadline-ms", required_argument, NULL, 1007},
                                       {"sizes", required_argument, NULL, 's'},
                                       {"reps", required_argument, NULL, 'r'},
                                       {"modes", required_argument, NULL, 'm'},
                                       {"dir", required_argument, NULL, 'd'},
                                       {"perf-ctl", required_argument, NULL, 'P'},
                                       {"profile", required_argument, NULL, 'p'},
                                       {"engine", required_argument, NULL, 'e'},
                                       {"verbose", no_argument, NULL, 'v'},
                                       {"no-consume", no_argument, NULL, 'C'},
                                       {"no-latency", no_argument, NULL, 'L'},
                                       {"quick", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};

//  The int fields of the options 1000.. in s_long.
static const size_t s_int_fields[] = {offsetof (opts_t, count),    offsetof (opts_t, runs),
                                      offsetof (opts_t, pings),    offsetof (opts_t, raw_count),
                                      offsetof (opts_t, raw_ms),   offsetof (opts_t, window),
                                      offsetof (opts_t, prefetch), offsetof (opts_t, deadline_ms)};

//  Applies the list option C (s: sizes, r: reps, m: modes) with VALUE to O;
//  returns 0 or -1.
static int take_list (opts_t *o, int c, const char *value)
{
    long list[MAX_SIZES];
    int n = 0;
    if (c == 's') {
        if ((n = o->nsizes = bench_parse_list (value, list, MAX_SIZES, 1, 1 << 20)) < 0)
            return -1;
        for (int i = 0; i < n; i++)
            o->sizes[i] = (size_t)list[i];
    } else if (c == 'r') {
        if ((n = o->nreps = bench_parse_list (value, list, 2, 1, 9)) < 0)
            return -1;
        for (int i = 0; i < n; i++)
            o->reps[i] = (int)list[i];
    } else {
        o->modes[0] = strstr (value, "async") != NULL;
        o->modes[1] = strcmp (value, "sync") == 0 || strstr (value, ",sync") ||
                      strncmp (value, "sync,", 5) == 0;
    }
    return 0;
}

//  Applies option C with VALUE (optarg) to O; returns 0 or -1.
static int take_option (opts_t *o, int c, const char *value, bool *reps_given)
{
    if (c >= 1000 && c < 1000 + (int)(sizeof s_int_fields / sizeof s_int_fields[0]))
        *(int *)((char *)o + s_int_fields[c - 1000]) = atoi (value);
    else if (c == 'v')
        o->verbose = true;
    else if (c == 'C')
        o->do_consume = false;
    else if (c == 'L')
        o->do_lat = false;
    else if (c == 'q') {
        o->count = 5000, o->runs = 1, o->pings = 500, o->raw_count = 20000, o->raw_ms = 100;
        o->deadline_ms = 10000;
    } else if (c == 'd')
        snprintf (o->dir, sizeof o->dir, "%s", value);
    else if (c == 'P')
        o->perf_ctl = value;
    else if (c == 'p')
        o->profile = value;
    else if (c == 'e') {
        if (strcmp (value, "raft") != 0 && strcmp (value, "owner") != 0)
            return -1;
        o->raft = strcmp (value, "raft") == 0;
    } else if (c == 's' || c == 'r' || c == 'm') {
        *reps_given |= c == 'r';
        return take_list (o, c, value);
    } else
        return -1;
    return 0;
}

//  Parses ARGV into O; returns 0 or -1.
static int parse (opts_t *o, int argc, char **argv)
{
    *o = (opts_t){.count = 20000,
                  .runs = 5,
                  .pings = 2000,
                  .raw_count = 200000,
                  .raw_ms = 300,
                  .deadline_ms = 60000,
                  .window = 1000,
                  .prefetch = 1000,
                  .sizes = {64, 1024},
                  .nsizes = 2,
                  .reps = {1, 2},
                  .nreps = 2,
                  .modes = {true, true},
                  .do_consume = true,
                  .do_lat = true};
    bool reps_given = false;
    int c;
    while ((c = getopt_long (argc, argv, "", s_long, NULL)) != -1)
        if (take_option (o, c, optarg, &reps_given))
            return -1;
    if (optind < argc)
        return -1;
    if (o->raft) { //  one mode; R members per R
        o->modes[0] = true, o->modes[1] = false;
        if (!reps_given)
            o->reps[0] = 1, o->reps[1] = 3, o->nreps = 2;
        for (int k = 0; k < o->nreps; k++)
            if (o->reps[k] > MAX_MEMBERS)
                return -1;
    }
    return o->count > 0 && o->runs > 0 && o->runs <= MAX_RUNS && o->pings >= 10 &&
                   o->raw_count > 0 && o->raw_ms > 0 && o->window > 0 && o->prefetch > 0 &&
                   o->prefetch <= 100000 && (o->modes[0] || o->modes[1])
               ? 0
               : -1;
}

int main (int argc, char **argv)
{
    bench_init ("bench_queue");
    if (argc == 7 && strcmp (argv[1], "--raw-child") == 0)
        return bench_ldb_child (argv + 2);
    opts_t o;
    if (parse (&o, argc, argv))
        return usage ();
    bool own_dir = !o.dir[0];
    if (own_dir) {
        bench_tmpdir (o.dir, sizeof o.dir, "queue");
    }
    s_port = bench_port ();
    snprintf (s_cluster, sizeof s_cluster, "bench-queue-%d", (int)getpid ());
    printf ("bench_queue: journals in %s, cluster %s, beacon port %d (loopback only)\n", o.dir,
            s_cluster, s_port);
    fflush (stdout);
    for (int run = 0; run < o.runs; run++)
        one_run (&o, run);
    print_send (&o);
    print_consume_latency (&o);
    print_targets (&o);
    if (own_dir)
        bench_rmrf (o.dir);
    return 0;
}
