/*  bench/bench_pubsub.c - pub/sub figures for docs/BENCHMARKS.md.

    Measures, in one process and one run, Weft against raw libzmq:
      - throughput: one publisher node -> one subscriber node on loopback,
        weft_publish in a loop against weft_recv counting until every message
        arrived (or a bounded deadline); raw: PUB -> SUB over tcp://127.0.0.1,
        same [topic][body] shape, sizes, counts and HWM (pubsub.hwm = 100000);
      - latency: one message in flight, ping-pong through two nodes (A
        publishes a ping, B answers with a pong); one-way = round trip / 2;
        raw: the same ping-pong over two PUB -> SUB pairs;
      - discovery: three nodes started at once, time until each has seen two
        JOIN events (peers alive), with the default beacon interval.
    Each figure is the median of several runs. Every node is pinned to
    loopback (discovery.interface = lo), with a cluster name and a beacon
    port private to this process: nothing is broadcast on a real interface.
    This is a benchmark, not a test: it prints tables and exits 0 unless
    something could not be set up at all.
*/
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_common.h"
#include "weft.h"

#define HWM            100000 //  Weft's default pubsub.hwm, used for raw too
#define MAX_SIZES      8      //  body sizes per run
#define MAX_RUNS       50     //  runs per figure
#define RAW_TIMEOUT_MS 100    //  receive timeout of raw SUB sockets
#define IDLE_MS        1000   //  receiver gives up after this long without a message
#define READY_MS       10000  //  setup deadline (peers ready, first probe through)
#define TOPIC_TP       "bench.tp"
#define TOPIC_PING     "bench.ping"
#define TOPIC_PONG     "bench.pong"
#define MARK_MEASURE   'M' //  first body byte of a measured message
#define MARK_WARM      'W' //  first body byte of a warm-up probe

//  Command-line settings.
typedef struct {
    int count;                   //  messages per throughput run
    int runs;                    //  runs per figure
    int pings;                   //  round trips per latency run
    int disc_reps;               //  discovery repetitions
    int interval_ms;             //  beacon interval for the discovery figure
    int deadline_ms;             //  bound on one throughput run
    size_t sizes[MAX_SIZES];     //  body sizes
    int nsizes;                  //  how many
    bool do_tp, do_lat, do_disc; //  which figures
    bool weft_side, raw_side;    //  which systems (--side)
    bool verbose;                //  print every run
} opts_t;

//  The result of one throughput run.
typedef struct {
    double msgs_per_s; //  received messages / elapsed
    double mb_per_s;   //  received body bytes / elapsed, 10^6 B/s
    long lost;         //  sent - received
    long gaps;         //  lost messages reported by GAP events (Weft only)
    double cpu_us;     //  process CPU time (all threads) per received message, us
} tp_result_t;

//  A pair of Weft nodes on loopback: A publishes, B subscribes.
typedef struct {
    weft_node_t *a; //  publisher of bench.tp and bench.ping, subscriber of bench.pong
    weft_node_t *b; //  subscriber of bench.tp and bench.ping, publisher of bench.pong
} weft_pair_t;

//  Raw libzmq: a PUB bound on loopback and a SUB connected to it.
typedef struct {
    void *pub; //  ZMQ_PUB, bound to tcp://127.0.0.1:*
    void *sub; //  ZMQ_SUB, subscribed to the pair's topic
} raw_pair_t;

//  Arguments of a publishing thread (Weft or raw).
typedef struct {
    weft_node_t *node; //  Weft publisher, or NULL for raw
    void *pub;         //  raw PUB socket, or NULL for Weft
    const char *topic; //  topic to publish on
    size_t size;       //  body size
    int count;         //  messages to send
} pub_job_t;

//  Arguments of an echo thread (latency): answers every ping with a pong.
typedef struct {
    weft_node_t *node; //  Weft node B, or NULL for raw
    void *sub;         //  raw SUB of pings, or NULL
    void *pub;         //  raw PUB of pongs, or NULL
    atomic_bool stop;  //  set by the main thread when done
} echo_job_t;

//  --- Small helpers -------------------------------------------------------

//  Median of N values (reorders V): the nearest-rank 50th percentile, the
//  middle value's lower neighbour for even N (unlike bench_median).
static double median (double *v, size_t n)
{
    return bench_percentile (v, n, 50);
}

//  --- Weft setup ----------------------------------------------------------

//  A config for node NAME pinned to loopback, in CLUSTER, beacons on PORT
//  every INTERVAL_MS. The caller destroys it.
static weft_config_t *bench_config (const char *name, const char *cluster, int port,
                                    int interval_ms)
{
    weft_config_t *cfg = bench_loopback_config (name, cluster, port);
    char text[32];
    snprintf (text, sizeof text, "%d", interval_ms);
    bench_must_set (cfg, "discovery.interval_ms", text);
    return cfg;
}

//  Subscribes NODE to PATTERN or dies.
static void must_subscribe (weft_node_t *node, const char *pattern)
{
    int rc = weft_subscribe (node, pattern);
    if (rc)
        bench_die ("weft_subscribe", weft_strerror (rc));
}

//  Waits until A and B see each other alive and ready, or dies.
static void wait_ready (weft_node_t *a, weft_node_t *b)
{
    int64_t deadline = bench_now_ms () + READY_MS;
    while (bench_peers_alive (a, true) < 1 || bench_peers_alive (b, true) < 1) {
        if (bench_now_ms () > deadline)
            bench_die ("nodes did not see each other ready in time", NULL);
        usleep (2000);
    }
}

//  Receives from NODE until a topic message whose body starts with MARK
//  arrives (others are dropped). Returns true if one came within TIMEOUT_MS.
static bool weft_wait_mark (weft_node_t *node, char mark, int timeout_ms)
{
    int64_t deadline = bench_now_ms () + timeout_ms;
    while (bench_now_ms () < deadline) {
        weft_msg_t *msg = NULL;
        if (weft_recv (node, &msg, 10))
            continue;
        size_t len = 0;
        const char *body = weft_msg_body (msg, &len);
        bool hit = weft_msg_kind (msg) == WEFT_MSG_MESSAGE && len > 0 && body[0] == mark;
        weft_msg_destroy (&msg);
        if (hit)
            return true;
    }
    return false;
}

//  Publishes warm-up probes on TOPIC from FROM until TO receives one, then
//  drains TO. Dies if nothing gets through within READY_MS.
static void weft_probe (weft_node_t *from, weft_node_t *to, const char *topic)
{
    char body[16];
    bench_fill_body (body, sizeof body, MARK_WARM);
    int64_t deadline = bench_now_ms () + READY_MS;
    do {
        if (bench_now_ms () > deadline)
            bench_die ("no probe got through", topic);
        weft_publish (from, topic, body, sizeof body);
    } while (!weft_wait_mark (to, MARK_WARM, 20));
    weft_msg_t *msg = NULL;
    while (weft_recv (to, &msg, 50) == 0)
        weft_msg_destroy (&msg);
}

//  Starts the node pair on loopback and waits until both pub/sub paths carry
//  messages (tp and ping A -> B, pong B -> A).
static void weft_pair_open (weft_pair_t *self, const char *cluster, int port)
{
    self->a = bench_node (bench_config ("bench-a", cluster, port, 1000));
    self->b = bench_node (bench_config ("bench-b", cluster, port, 1000));
    must_subscribe (self->b, TOPIC_TP);
    must_subscribe (self->b, TOPIC_PING);
    must_subscribe (self->a, TOPIC_PONG);
    wait_ready (self->a, self->b);
    weft_probe (self->a, self->b, TOPIC_TP);
    weft_probe (self->b, self->a, TOPIC_PONG);
}

//  Stops and frees the pair.
static void weft_pair_close (weft_pair_t *self)
{
    weft_node_destroy (&self->a);
    weft_node_destroy (&self->b);
}

//  --- Raw libzmq setup ----------------------------------------------------

//  Creates a socket of TYPE in CTX with HWM, no linger and a receive
//  timeout of RAW_TIMEOUT_MS, or dies.
static void *raw_socket (void *ctx, int type)
{
    void *sock = zmq_socket (ctx, type);
    if (!sock)
        bench_die ("zmq_socket", zmq_strerror (zmq_errno ()));
    int hwm = HWM, linger = 0, timeout = RAW_TIMEOUT_MS;
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    return sock;
}

//  Receives one [topic][body] message from SUB into BODY (an initialised
//  zmq_msg_t, reused: no copy), waiting up to the socket's receive timeout.
//  Returns the body size, or -1 on timeout.
static int raw_recv (void *sub, zmq_msg_t *body)
{
    zmq_msg_t topic;
    zmq_msg_init (&topic);
    int rc = zmq_msg_recv (&topic, sub, 0);
    bool more = rc >= 0 && zmq_msg_more (&topic);
    zmq_msg_close (&topic);
    if (rc < 0)
        return -1;
    return more ? zmq_msg_recv (body, sub, 0) : 0;
}

//  Sends one [TOPIC][BODY] message on PUB.
static int raw_send (void *pub, const char *topic, const void *body, size_t size)
{
    if (zmq_send (pub, topic, strlen (topic), ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send (pub, body, size, 0) < 0 ? -1 : 0;
}

//  Opens a PUB -> SUB pair for TOPIC over loopback TCP and probes it until a
//  message gets through (the slow-joiner), then drains the SUB.
static void raw_pair_open (raw_pair_t *self, void *ctx, const char *topic)
{
    self->pub = raw_socket (ctx, ZMQ_PUB);
    self->sub = raw_socket (ctx, ZMQ_SUB);
    char endpoint[64];
    size_t len = sizeof endpoint;
    if (zmq_bind (self->pub, "tcp://127.0.0.1:*") ||
        zmq_getsockopt (self->pub, ZMQ_LAST_ENDPOINT, endpoint, &len) ||
        zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, topic, strlen (topic)) ||
        zmq_connect (self->sub, endpoint))
        bench_die ("raw pair", zmq_strerror (zmq_errno ()));
    char probe[16];
    bench_fill_body (probe, sizeof probe, MARK_WARM);
    zmq_msg_t buf;
    zmq_msg_init (&buf);
    int64_t deadline = bench_now_ms () + READY_MS;
    do {
        if (bench_now_ms () > deadline)
            bench_die ("raw probe did not get through", topic);
        raw_send (self->pub, topic, probe, sizeof probe);
    } while (raw_recv (self->sub, &buf) < 0);
    while (raw_recv (self->sub, &buf) >= 0)
        ;
    zmq_msg_close (&buf);
}

//  Closes both sockets.
static void raw_pair_close (raw_pair_t *self)
{
    zmq_close (self->pub);
    zmq_close (self->sub);
}

//  --- Throughput ----------------------------------------------------------

//  Publishing thread: sends JOB->count measured messages, as fast as the
//  API accepts them (Weft's actor pipe blocks when full; raw PUB never does).
//  A failed send shows up as a lost message.
static void *publisher (void *arg)
{
    pub_job_t *job = arg;
    char *body = malloc (job->size);
    if (!body)
        return NULL;
    bench_fill_body (body, job->size, MARK_MEASURE);
    for (int i = 0; i < job->count; i++)
        if (job->node)
            weft_publish (job->node, job->topic, body, job->size);
        else
            raw_send (job->pub, job->topic, body, job->size);
    free (body);
    return NULL;
}

//  Receives measured messages on Weft node NODE until COUNT arrived, nothing
//  came for IDLE_MS, or DEADLINE (monotonic ns). Adds GAP counts to *GAPS and
//  stores the time of the last arrival in *LAST. Returns the number received.
static long weft_receive (weft_node_t *node, long count, int64_t deadline, long *gaps,
                          int64_t *last)
{
    long got = 0;
    int64_t now = bench_now_ns ();
    *last = now;
    while (got < count && now < deadline && now - *last < (int64_t)IDLE_MS * 1000000) {
        weft_msg_t *msg = NULL;
        int rc = weft_recv (node, &msg, 100);
        now = bench_now_ns (); //  one clock read per message: the same cost as on the raw side
        if (rc)
            continue;
        size_t len = 0;
        const char *body = weft_msg_body (msg, &len);
        if (weft_msg_kind (msg) == WEFT_MSG_GAP)
            *gaps += (long)weft_msg_seq (msg);
        else if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE && len && body[0] == MARK_MEASURE) {
            got++;
            *last = now;
        }
        weft_msg_destroy (&msg);
    }
    return got;
}

//  Same as weft_receive for a raw SUB.
static long raw_receive (void *sub, long count, int64_t deadline, int64_t *last)
{
    zmq_msg_t body;
    zmq_msg_init (&body);
    long got = 0;
    int64_t now = bench_now_ns ();
    *last = now;
    while (got < count && now < deadline && now - *last < (int64_t)IDLE_MS * 1000000) {
        int size = raw_recv (sub, &body);
        now = bench_now_ns ();
        if (size > 0 && *(const char *)zmq_msg_data (&body) == MARK_MEASURE) {
            got++;
            *last = now;
        }
    }
    zmq_msg_close (&body);
    return got;
}

//  Runs one throughput run of COUNT bodies of SIZE bytes, through the Weft
//  pair when WEFT is not NULL, else through the raw pair RAW.
static tp_result_t throughput_run (weft_pair_t *weft, raw_pair_t *raw, size_t size, int count,
                                   int deadline_ms)
{
    pub_job_t job = {.node = weft ? weft->a : NULL,
                     .pub = weft ? NULL : raw->pub,
                     .topic = TOPIC_TP,
                     .size = size,
                     .count = count};
    tp_result_t result = {0};
    pthread_t thread;
    int64_t start = bench_now_ns (), last = start, cpu = bench_cpu_ns ();
    int64_t deadline = start + (int64_t)deadline_ms * 1000000;
    if (pthread_create (&thread, NULL, publisher, &job))
        bench_die ("pthread_create", NULL);
    long got = weft ? weft_receive (weft->b, count, deadline, &result.gaps, &last)
                    : raw_receive (raw->sub, count, deadline, &last);
    pthread_join (thread, NULL);
    cpu = bench_cpu_ns () - cpu;
    result.cpu_us = got ? (double)cpu / 1000 / (double)got : 0;
    double secs = (double)(last - start) / 1e9;
    result.msgs_per_s = secs > 0 ? (double)got / secs : 0;
    result.mb_per_s = result.msgs_per_s * (double)size / 1e6;
    result.lost = count - got;
    return result;
}

//  Median of COUNT results, field by field; lost and gaps are summed.
static tp_result_t tp_median (const tp_result_t *runs, int count)
{
    double rate[MAX_RUNS], mb[MAX_RUNS], cpu[MAX_RUNS];
    tp_result_t m = {0};
    for (int i = 0; i < count; i++) {
        rate[i] = runs[i].msgs_per_s;
        mb[i] = runs[i].mb_per_s;
        cpu[i] = runs[i].cpu_us;
        m.lost += runs[i].lost;
        m.gaps += runs[i].gaps;
    }
    m.msgs_per_s = median (rate, (size_t)count);
    m.mb_per_s = median (mb, (size_t)count);
    m.cpu_us = median (cpu, (size_t)count);
    return m;
}

//  Prints one run when verbose.
static void tp_print_run (const opts_t *o, const char *who, size_t size, int run,
                          const tp_result_t *r)
{
    if (o->verbose)
        printf ("  [%s %zu B run %d] %.0f msg/s %.1f MB/s %.2f cpu-us/msg lost %ld gaps %ld\n", who,
                size, run, r->msgs_per_s, r->mb_per_s, r->cpu_us, r->lost, r->gaps);
}

//  Measures and prints the throughput table. Runs alternate Weft and raw so
//  that both see the same machine state.
static void bench_throughput (const opts_t *o, weft_pair_t *weft, raw_pair_t *raw)
{
    printf ("\nThroughput: 1 publisher -> 1 subscriber, loopback, %d messages per run, "
            "median of %d runs\n",
            o->count, o->runs);
    printf ("%-7s %10s %7s %6s %6s %5s | %10s %7s %6s %5s | %8s\n", "body", "weft msg/s", "MB/s",
            "cpu us", "lost", "gaps", "raw msg/s", "MB/s", "cpu us", "lost", "weft/raw");
    for (int s = 0; s < o->nsizes; s++) {
        tp_result_t w[MAX_RUNS] = {{0}}, r[MAX_RUNS] = {{0}};
        for (int i = 0; i < o->runs; i++) {
            if (o->weft_side) {
                w[i] = throughput_run (weft, NULL, o->sizes[s], o->count, o->deadline_ms);
                tp_print_run (o, "weft", o->sizes[s], i, &w[i]);
            }
            if (o->raw_side) {
                r[i] = throughput_run (NULL, raw, o->sizes[s], o->count, o->deadline_ms);
                tp_print_run (o, "raw", o->sizes[s], i, &r[i]);
            }
        }
        tp_result_t wm = tp_median (w, o->runs), rm = tp_median (r, o->runs);
        printf ("%-5zu B %10.0f %7.1f %6.2f %6ld %5ld | %10.0f %7.1f %6.2f %5ld | ", o->sizes[s],
                wm.msgs_per_s, wm.mb_per_s, wm.cpu_us, wm.lost, wm.gaps, rm.msgs_per_s, rm.mb_per_s,
                rm.cpu_us, rm.lost);
        if (wm.msgs_per_s > 0 && rm.msgs_per_s > 0)
            printf ("%7.2fx\n", wm.msgs_per_s / rm.msgs_per_s);
        else
            printf ("%8s\n", "-");
    }
    printf ("(MB/s: body bytes, 10^6 B/s; cpu us: CPU time of all threads per message; lost = "
            "sent - received,\n summed over runs; gaps = losses Weft reported as GAP events)\n");
}

//  --- Latency -------------------------------------------------------------

//  Weft echo: receives pings on B and publishes each body back as a pong.
static void weft_echo (echo_job_t *job)
{
    while (!atomic_load (&job->stop)) {
        weft_msg_t *msg = NULL;
        if (weft_recv (job->node, &msg, 50))
            continue;
        size_t len = 0;
        const void *body = weft_msg_body (msg, &len);
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE)
            weft_publish (job->node, TOPIC_PONG, body, len);
        weft_msg_destroy (&msg);
    }
}

//  Raw echo: receives pings on the SUB and sends each body back on the PUB.
static void raw_echo (echo_job_t *job)
{
    zmq_msg_t body;
    zmq_msg_init (&body);
    while (!atomic_load (&job->stop)) {
        int size = raw_recv (job->sub, &body);
        if (size > 0)
            raw_send (job->pub, TOPIC_PONG, zmq_msg_data (&body), (size_t)size);
    }
    zmq_msg_close (&body);
}

//  Echo thread entry.
static void *echo_thread (void *arg)
{
    echo_job_t *job = arg;
    if (job->node)
        weft_echo (job);
    else
        raw_echo (job);
    return NULL;
}

//  One Weft round trip: publishes ping ID from A and waits for its pong.
//  Returns the round trip in ns, or -1 if it did not come back in 1 s.
static int64_t weft_round_trip (weft_node_t *a, uint64_t id)
{
    char body[16];
    bench_fill_body (body, sizeof body, MARK_MEASURE);
    memcpy (body + 8, &id, sizeof id);
    int64_t start = bench_now_ns ();
    weft_publish (a, TOPIC_PING, body, sizeof body);
    while (bench_now_ns () - start < 1000000000) {
        weft_msg_t *msg = NULL;
        if (weft_recv (a, &msg, 100))
            continue;
        size_t len = 0;
        const char *echo = weft_msg_body (msg, &len);
        bool mine = weft_msg_kind (msg) == WEFT_MSG_MESSAGE && len == sizeof body &&
                    memcmp (echo + 8, &id, sizeof id) == 0;
        weft_msg_destroy (&msg);
        if (mine)
            return bench_now_ns () - start;
    }
    return -1;
}

//  One raw round trip over PING (A -> B) and PONG (B -> A).
static int64_t raw_round_trip (raw_pair_t *ping, raw_pair_t *pong, uint64_t id)
{
    char body[16];
    bench_fill_body (body, sizeof body, MARK_MEASURE);
    memcpy (body + 8, &id, sizeof id);
    zmq_msg_t echo;
    zmq_msg_init (&echo);
    int64_t rtt = -1, start = bench_now_ns ();
    raw_send (ping->pub, TOPIC_PING, body, sizeof body);
    while (rtt < 0 && bench_now_ns () - start < 1000000000) {
        int size = raw_recv (pong->sub, &echo);
        if (size == (int)sizeof body &&
            memcmp ((const char *)zmq_msg_data (&echo) + 8, &id, sizeof id) == 0)
            rtt = bench_now_ns () - start;
    }
    zmq_msg_close (&echo);
    return rtt;
}

//  The latency side of one system: Weft (pair) or raw (ping and pong pairs).
typedef struct {
    weft_pair_t *weft; //  Weft nodes, or NULL
    raw_pair_t *ping;  //  raw A -> B, or NULL
    raw_pair_t *pong;  //  raw B -> A, or NULL
} lat_target_t;

//  Runs PINGS round trips (after a warm-up) and stores the one-way p50 and
//  p99 in microseconds. Returns the number of round trips lost.
static int latency_run (lat_target_t *t, int pings, double *p50, double *p99)
{
    double *samples = calloc ((size_t)pings, sizeof *samples);
    if (!samples)
        bench_die ("out of memory", NULL);
    int lost = 0, n = 0;
    static uint64_t next_id = 1;
    for (int i = -pings / 10; i < pings; i++) {
        uint64_t id = next_id++;
        int64_t rtt =
            t->weft ? weft_round_trip (t->weft->a, id) : raw_round_trip (t->ping, t->pong, id);
        if (rtt < 0)
            lost++;
        else if (i >= 0)
            samples[n++] = (double)rtt / 2 / 1000;
    }
    *p50 = bench_percentile (samples, (size_t)n, 50);
    *p99 = bench_percentile (samples, (size_t)n, 99);
    free (samples);
    return lost;
}

//  Starts an echo thread for T (a Weft pair or the raw pairs) in *THREAD.
static void echo_start (lat_target_t *t, echo_job_t *job, pthread_t *thread)
{
    *job = (echo_job_t){.node = t->weft ? t->weft->b : NULL,
                        .sub = t->ping ? t->ping->sub : NULL,
                        .pub = t->pong ? t->pong->pub : NULL};
    atomic_init (&job->stop, false);
    if (pthread_create (thread, NULL, echo_thread, job))
        bench_die ("pthread_create", NULL);
}

//  Stops the echo thread started by echo_start.
static void echo_stop (echo_job_t *job, pthread_t thread)
{
    atomic_store (&job->stop, true);
    pthread_join (thread, NULL);
}

//  Runs latency run I of target T (when ON) into P50[I] and P99[I]; returns the lost count.
static int latency_step (const opts_t *o, lat_target_t *t, bool on, int i, double *p50, double *p99)
{
    if (!on)
        return 0;
    int lost = latency_run (t, o->pings, &p50[i], &p99[i]);
    if (o->verbose)
        printf ("  [%s run %d] one-way p50 %.1f us p99 %.1f us\n", t->weft ? "weft" : "raw", i,
                p50[i], p99[i]);
    return lost;
}

//  Measures and prints the latency table.
static void bench_latency (const opts_t *o, weft_pair_t *weft, void *ctx)
{
    raw_pair_t ping, pong;
    raw_pair_open (&ping, ctx, TOPIC_PING);
    raw_pair_open (&pong, ctx, TOPIC_PONG);
    lat_target_t wt = {.weft = weft}, rt = {.ping = &ping, .pong = &pong};
    double wp50[MAX_RUNS] = {0}, wp99[MAX_RUNS] = {0}, rp50[MAX_RUNS] = {0}, rp99[MAX_RUNS] = {0};
    echo_job_t wjob, rjob;
    pthread_t wthread, rthread;
    echo_start (&wt, &wjob, &wthread);
    echo_start (&rt, &rjob, &rthread);
    int wlost = 0, rlost = 0;
    for (int i = 0; i < o->runs; i++) { //  alternate, so both see the same machine state
        wlost += latency_step (o, &wt, o->weft_side, i, wp50, wp99);
        rlost += latency_step (o, &rt, o->raw_side, i, rp50, rp99);
    }
    echo_stop (&wjob, wthread);
    echo_stop (&rjob, rthread);
    raw_pair_close (&ping);
    raw_pair_close (&pong);
    double w50 = median (wp50, (size_t)o->runs), w99 = median (wp99, (size_t)o->runs);
    double r50 = median (rp50, (size_t)o->runs), r99 = median (rp99, (size_t)o->runs);
    printf ("\nLatency publish -> receive, one-way = round trip / 2, 16 B body, one message in "
            "flight,\n%d round trips per run, median of %d runs (microseconds)\n",
            o->pings, o->runs);
    printf ("%-6s %10s %10s %6s\n", "", "p50 us", "p99 us", "lost");
    printf ("%-6s %10.1f %10.1f %6d\n", "weft", w50, w99, wlost);
    printf ("%-6s %10.1f %10.1f %6d\n", "raw", r50, r99, rlost);
    if (r50 > 0 && w50 > 0)
        printf ("%-6s %9.2fx %9.2fx\n", "w/raw", w50 / r50, r99 > 0 ? w99 / r99 : 0);
}

//  --- Discovery -----------------------------------------------------------

//  Starts 3 nodes in a fresh cluster and returns the ms until each has seen
//  2 JOIN events and reports 2 peers alive (-1 if not within 10 intervals).
static double discovery_once (const opts_t *o, int rep, int port)
{
    char cluster[64], name[32];
    snprintf (cluster, sizeof cluster, "bench-%d-disc-%d", (int)getpid (), rep);
    weft_node_t *nodes[3];
    int joins[3] = {0};
    int64_t start = bench_now_ns (), deadline = bench_now_ms () + 10 * (int64_t)o->interval_ms;
    for (int i = 0; i < 3; i++) {
        snprintf (name, sizeof name, "disc-%d", i);
        nodes[i] = bench_node (bench_config (name, cluster, port, o->interval_ms));
    }
    int done = 0;
    while (done < 3 && bench_now_ms () < deadline) {
        done = 0;
        for (int i = 0; i < 3; i++) {
            weft_msg_t *msg = NULL;
            if (joins[i] < 2 && weft_recv (nodes[i], &msg, 1) == 0)
                joins[i] += weft_msg_kind (msg) == WEFT_MSG_JOIN;
            weft_msg_destroy (&msg);
            done += joins[i] >= 2;
        }
    }
    double ms = (double)(bench_now_ns () - start) / 1e6;
    for (int i = 0; i < 3; i++)
        if (bench_peers_alive (nodes[i], false) < 2)
            ms = -1;
    for (int i = 0; i < 3; i++)
        weft_node_destroy (&nodes[i]);
    return ms;
}

//  Measures and prints the discovery table.
static void bench_discovery (const opts_t *o, int port)
{
    double ms[MAX_RUNS];
    int failed = 0, n = 0;
    for (int rep = 0; rep < o->disc_reps; rep++) {
        double t = discovery_once (o, rep, port);
        if (o->verbose)
            printf ("  [discovery rep %d] %.1f ms\n", rep, t);
        if (t < 0)
            failed++;
        else
            ms[n++] = t;
    }
    double med = median (ms, (size_t)n);
    printf ("\nDiscovery: 3 nodes started together, beacon interval %d ms, time until every "
            "node sees 2 peers alive\n",
            o->interval_ms);
    printf ("%8s %10s %10s %10s %8s %9s\n", "reps", "median ms", "min ms", "max ms", "failed",
            "/interval");
    printf ("%8d %10.1f %10.1f %10.1f %8d %8.2fx\n", o->disc_reps, med, n ? ms[0] : 0,
            n ? ms[n - 1] : 0, failed, med / o->interval_ms);
}

//  --- Command line --------------------------------------------------------

//  Prints the usage text.
static void usage (void)
{
    printf ("usage: bench_pubsub [options]\n"
            "  --count N        messages per throughput run (default 100000)\n"
            "  --sizes A,B,...  body sizes in bytes (default 64,1024)\n"
            "  --runs N         runs per figure; the median is reported (default 5)\n"
            "  --pings N        round trips per latency run (default 2000)\n"
            "  --discovery N    discovery repetitions (default 5)\n"
            "  --interval MS    beacon interval for the discovery figure (default 1000)\n"
            "  --deadline MS    bound on one throughput run (default 30000)\n"
            "  --only WHAT      tp, lat or disc: run one figure only\n"
            "  --side WHO       weft, raw or both (default both): for profiling one side\n"
            "  --quick          a few seconds: count 20000, runs 3, pings 300, discovery 3\n"
            "  --verbose        print every run\n"
            "  --help           this text\n"
            "Nodes live on loopback only (discovery.interface=lo, private cluster name,\n"
            "beacon port 30000 + pid %% 20000).\n");
}

//  Parses a positive integer option value or dies.
static int parse_int (const char *flag, const char *text, int max)
{
    char *end = NULL;
    long v = text ? strtol (text, &end, 10) : 0;
    if (!text || *end || v < 1 || v > max)
        bench_die ("bad value for", flag);
    return (int)v;
}

//  Parses "64,1024" into O's sizes or dies.
static void parse_sizes (opts_t *o, const char *text)
{
    o->nsizes = 0;
    char *copy = strdup (text ? text : "");
    for (char *tok = strtok (copy, ","); tok && o->nsizes < MAX_SIZES; tok = strtok (NULL, ","))
        o->sizes[o->nsizes++] = (size_t)parse_int ("--sizes", tok, 1000000);
    free (copy);
    if (o->nsizes == 0)
        bench_die ("bad value for", "--sizes");
}

//  Applies --only WHAT.
static void parse_only (opts_t *o, const char *what)
{
    o->do_tp = what && strcmp (what, "tp") == 0;
    o->do_lat = what && strcmp (what, "lat") == 0;
    o->do_disc = what && strcmp (what, "disc") == 0;
    if (!o->do_tp && !o->do_lat && !o->do_disc)
        bench_die ("--only takes tp, lat or disc", NULL);
}

//  Applies --side WHO.
static void parse_side (opts_t *o, const char *who)
{
    o->weft_side = who && (strcmp (who, "weft") == 0 || strcmp (who, "both") == 0);
    o->raw_side = who && (strcmp (who, "raw") == 0 || strcmp (who, "both") == 0);
    if (!o->weft_side && !o->raw_side)
        bench_die ("--side takes weft, raw or both", NULL);
}

//  Applies one option at ARGV[*I] (advancing *I past its value).
static void parse_option (opts_t *o, int argc, char **argv, int *i)
{
    const char *flag = argv[*i];
    const char *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool takes = true;
    if (strcmp (flag, "--count") == 0)
        o->count = parse_int (flag, value, 100000000);
    else if (strcmp (flag, "--sizes") == 0)
        parse_sizes (o, value);
    else if (strcmp (flag, "--runs") == 0)
        o->runs = parse_int (flag, value, MAX_RUNS);
    else if (strcmp (flag, "--pings") == 0)
        o->pings = parse_int (flag, value, 1000000);
    else if (strcmp (flag, "--discovery") == 0)
        o->disc_reps = parse_int (flag, value, MAX_RUNS);
    else if (strcmp (flag, "--interval") == 0)
        o->interval_ms = parse_int (flag, value, 60000);
    else if (strcmp (flag, "--deadline") == 0)
        o->deadline_ms = parse_int (flag, value, 600000);
    else if (strcmp (flag, "--only") == 0)
        parse_only (o, value);
    else if (strcmp (flag, "--side") == 0)
        parse_side (o, value);
    else {
        takes = false;
        if (strcmp (flag, "--quick") == 0) {
            o->count = 20000, o->runs = 3, o->pings = 300, o->disc_reps = 3;
        } else if (strcmp (flag, "--verbose") == 0)
            o->verbose = true;
        else if (strcmp (flag, "--help") == 0 || strcmp (flag, "-h") == 0) {
            usage ();
            exit (0);
        } else
            bench_die ("unknown option (see --help)", flag);
    }
    *i += takes ? 1 : 0;
}

//  Parses the command line into O (defaults first).
static void parse_args (opts_t *o, int argc, char **argv)
{
    *o = (opts_t){.count = 100000,
                  .runs = 5,
                  .pings = 2000,
                  .disc_reps = 5,
                  .interval_ms = 1000,
                  .deadline_ms = 30000,
                  .sizes = {64, 1024},
                  .nsizes = 2,
                  .weft_side = true,
                  .raw_side = true,
                  .do_tp = true,
                  .do_lat = true,
                  .do_disc = true};
    for (int i = 1; i < argc; i++)
        parse_option (o, argc, argv, &i);
}

//  Prints what this run is.
static void print_header (const opts_t *o, int port)
{
    int zmaj, zmin, zpat;
    zmq_version (&zmaj, &zmin, &zpat);
    printf ("bench_pubsub: weft %d.%d.%d, libzmq %d.%d.%d, czmq %d.%d.%d, %ld CPUs, "
            "beacon port %d, runs %d\n",
            WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR, WEFT_VERSION_PATCH, zmaj, zmin, zpat,
            CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH,
            sysconf (_SC_NPROCESSORS_ONLN), port, o->runs);
}

//  Throughput and latency share one Weft pair and one raw context.
static void bench_traffic (const opts_t *o, int port)
{
    char cluster[64];
    snprintf (cluster, sizeof cluster, "bench-%d-pubsub", (int)getpid ());
    weft_pair_t weft;
    weft_pair_open (&weft, cluster, port);
    void *ctx = zmq_ctx_new ();
    if (!ctx)
        bench_die ("zmq_ctx_new", NULL);
    if (o->do_tp) {
        raw_pair_t raw;
        raw_pair_open (&raw, ctx, TOPIC_TP);
        bench_throughput (o, &weft, &raw);
        raw_pair_close (&raw);
    }
    if (o->do_lat)
        bench_latency (o, &weft, ctx);
    zmq_ctx_term (ctx);
    weft_pair_close (&weft);
}

int main (int argc, char **argv)
{
    bench_init ("bench_pubsub");
    opts_t o;
    parse_args (&o, argc, argv);
    int port = bench_port ();
    int64_t start = bench_now_ms ();
    print_header (&o, port);
    fflush (stdout);
    if (o.do_tp || o.do_lat)
        bench_traffic (&o, port);
    fflush (stdout);
    if (o.do_disc)
        bench_discovery (&o, port + 1 > 65535 ? port - 1 : port + 1);
    printf ("\ntotal %.1f s\n", (double)(bench_now_ms () - start) / 1000);
    return 0;
}
