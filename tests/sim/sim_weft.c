/*  tests/sim/sim_weft.c - real Weft nodes as simulator hosts (see
    sim_weft.h): boot, turns, crash, and the applications' workload.
*/
#include <czmq.h>

#include "journal/store_mem.h"
#include "node/core/node.h"
#include "node/queues/queue_cmd.h"
#include "sim_weft_int.h"
#include "sim_world.h"

#define PUBLISH_EVERY 50 //  ms between durable publishes of host 0
#define SEND_EVERY    20 //  ms between queue sends of the producer

//  --- Talking to the node over its pipe, as the API thread does -------------------

//  Runs one turn of the node: commands first, then every input.
static void node_step (whost_t *h)
{
    static const bool all[WORLD_INPUTS] = {true, true, true, true};
    node_turn (h->node, all, true);
}

//  Sends a command that has an int reply and returns it.
static int command_rc (whost_t *h)
{
    node_step (h);
    int rc = WEFT_EIO;
    if (zsock_recv (h->pipe_app, "i", &rc) < 0)
        return WEFT_EIO;
    return rc;
}

//  The journal of host INDEX lives on its memory disk.
static int open_journal (void *arg, world_t *world, const char *dir, const journal_options_t *opts,
                         journal_t **out, char *err, size_t errlen)
{
    wctx_t *ctx = arg;
    journal_options_t o = *opts;
    o.disk = ctx->disks[sim_world_index (world)];
    return journal_open (dir, &o, out, err, errlen);
}

//  The node's configuration: one private cluster, fast enough discovery,
//  a synced journal (the queue contract holds for synced writes) - except
//  with --async-publisher on host 0, the durable publisher: asynchronous,
//  so that a power loss takes its last writes (and its sequence numbers
//  must still never repeat).
static weft_config_t *host_config (int index, bool async, bool raft)
{
    weft_config_t *cfg = weft_config_new ();
    char name[32], dir[32];
    snprintf (name, sizeof name, "n%d", index);
    snprintf (dir, sizeof dir, "sim/n%d", index);
    const char *kv[][2] = {
        {"node.name", name},
        {"cluster.name", "sim"},
        {"discovery.interface", "sim"},
        {"discovery.port", "5670"},
        {"journal.dir", dir},
        {"journal.sync", async ? "async" : "sync"},
        {"log.level", getenv ("WEFT_SIM_LOG_LEVEL") ? getenv ("WEFT_SIM_LOG_LEVEL") : "error"},
        {"queues.replication", "2"},
        {"queues.acks", "all"},
        {"queues.ack_timeout_ms", "5000"},
        {"queues.engine", raft ? "raft" : "owner"},
    };
    for (size_t i = 0; cfg && i < sizeof kv / sizeof kv[0]; i++)
        if (weft_config_set (cfg, kv[i][0], kv[i][1]) != 0)
            weft_config_destroy (&cfg);
    return cfg;
}

//  Creates the pipe and events PAIRs of H (unique inproc names): our ends
//  bind, the node's ends connect, as api.c does.
static int pairs_open (whost_t *h)
{
    //  inproc names must never repeat in the process, even across the runs
    //  of a sweep (a freed host's address comes back): a counter of the test
    //  tool, not of the library
    static uint64_t pairs;
    uint64_t n = ++pairs;
    char pipe_ep[64], events_ep[64];
    snprintf (pipe_ep, sizeof pipe_ep, "inproc://weft-sim-pipe-%" PRIu64, n);
    snprintf (events_ep, sizeof events_ep, "inproc://weft-sim-events-%" PRIu64, n);
    h->pipe_app = zsock_new (ZMQ_PAIR);
    h->pipe_node = zsock_new (ZMQ_PAIR);
    h->events_app = zsock_new (ZMQ_PAIR);
    h->events_node = zsock_new (ZMQ_PAIR);
    if (!h->pipe_app || !h->pipe_node || !h->events_app || !h->events_node)
        return -1;
    zsock_set_sndhwm (h->events_node, 1000000);
    zsock_set_rcvhwm (h->events_app, 1000000);
    if (zsock_bind (h->pipe_app, "%s", pipe_ep) < 0 ||
        zsock_connect (h->pipe_node, "%s", pipe_ep) < 0 ||
        zsock_bind (h->events_app, "%s", events_ep) < 0 ||
        zsock_connect (h->events_node, "%s", events_ep) < 0)
        return -1;
    return 0;
}

static void host_free (whost_t *h)
{
    if (!h)
        return;
    node_destroy (&h->node);
    weft_config_destroy (&h->cfg);
    zsock_destroy (&h->pipe_app);
    zsock_destroy (&h->pipe_node);
    zsock_destroy (&h->events_app);
    zsock_destroy (&h->events_node);
    free (h);
}

//  The applications' part at boot: subscriptions, declarations, consumers.
static int workload_start (whost_t *h)
{
    int n = h->ctx->hosts;
    if (h->index == 0) {
        zsock_send (h->pipe_app, "sss", "DURABLE", "d.#", "");
        if (command_rc (h))
            return -1;
    } else {
        zsock_send (h->pipe_app, "ss", "SUB", "d.#");
        if (command_rc (h))
            return -1;
    }
    if (h->index == 2 % n) {
        zsock_send (h->pipe_app, "ssi", "CONSUME", "jobs", 16);
        h->consuming = command_rc (h) == 0;
    }
    h->next_pub = h->next_send = sim_now (h->sim) + 500;
    return 0;
}

static void *host_boot (sim_t *sim, int index, world_t *world, void *arg)
{
    whost_t *h = calloc (1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = arg;
    h->sim = sim;
    h->index = index;
    h->world = world;
    h->boot = sim_world_boot (world);
    sim_world_set_journal_opener (world, open_journal, arg);
    if (!(h->cfg = host_config (index, index == 0 && h->ctx->async_pub, h->ctx->raft_queues)) ||
        !(h->node = node_new (h->cfg, world)) || pairs_open (h)) {
        host_free (h);
        return NULL;
    }
    h->node->pipe = h->pipe_node;
    h->node->events = h->events_node;
    h->node->probe = ledger_fact;
    h->node->probe_arg = h;
    if (h->ctx->plant & WEFT_PLANT_NO_HOLD)
        h->node->buggify |= NODE_BUGGIFY_DURABLE_NO_HOLD;
    zsock_send (h->pipe_app, "s", "START");
    node_step (h);
    int rc = -1;
    char *err = NULL;
    zsock_recv (h->pipe_app, "is", &rc, &err);
    if (rc != 0) {
        sim_fail (sim, "host %d: start failed: %s", index, err ? err : "?");
        zstr_free (&err);
        host_free (h);
        return NULL;
    }
    zstr_free (&err);
    if (workload_start (h)) {
        sim_fail (sim, "host %d: workload start failed", index);
        host_free (h);
        return NULL;
    }
    return h;
}

//  The producer's next send: async, its own token, acks per the config.
static void send_one (whost_t *h)
{
    queue_args_t args = {.token = ++h->sent, .type = WIRE_QSEND, .timeout_ms = 20000};
    snprintf (args.queue, sizeof args.queue, "jobs");
    snprintf (args.msg_id, sizeof args.msg_id, "h%d-%" PRIu64, h->boot, h->sent);
    void *pipe = zsock_resolve (h->pipe_app);
    zmq_send (pipe, "QSEND", 5, ZMQ_SNDMORE);
    zmq_send (pipe, &args, sizeof args, ZMQ_SNDMORE);
    zmq_send (pipe, args.msg_id, strlen (args.msg_id), 0);
    ledger_sent (h->ctx, args.msg_id);
}

//  Acknowledges delivery SEQ of OWNER on QUEUE (what weft_ack does).
void sim_weft_ack (whost_t *h, const char *owner, const char *queue, uint64_t seq,
                   uint32_t deliveries)
{
    queue_settle_args_t args = {.seq = seq, .kind = WIRE_SETTLE_ACK, .deliveries = deliveries};
    snprintf (args.owner, sizeof args.owner, "%s", owner);
    snprintf (args.queue, sizeof args.queue, "%s", queue);
    void *pipe = zsock_resolve (h->pipe_app);
    zmq_send (pipe, "SETTLE", 6, ZMQ_SNDMORE);
    zmq_send (pipe, &args, sizeof args, 0);
}

//  The workload's timed part: publishes and sends while the plan runs.
static void workload_step (whost_t *h)
{
    int64_t now = sim_now (h->sim);
    bool quiet = now >= h->ctx->quiet_at;
    if (h->index == 0 && now >= h->next_pub && !quiet) {
        char body[32];
        int len = snprintf (body, sizeof body, "%" PRId64, now);
        void *pipe = zsock_resolve (h->pipe_app);
        zmq_send (pipe, "PUB", 3, ZMQ_SNDMORE);
        zmq_send (pipe, "d.x", 3, ZMQ_SNDMORE);
        zmq_send (pipe, body, (size_t)len, 0);
        h->next_pub = now + PUBLISH_EVERY;
    }
    if (h->index == 1 % h->ctx->hosts && now >= h->next_send && !quiet) {
        send_one (h);
        h->next_send = now + SEND_EVERY;
    }
}

static void host_turn (void *host)
{
    whost_t *h = host;
    workload_step (h);
    node_step (h);
    sim_weft_drain (h);
}

static int64_t host_deadline (void *host)
{
    whost_t *h = host;
    int64_t next = node_next_deadline (h->node);
    if (sim_now (h->sim) < h->ctx->quiet_at) {
        int64_t work = h->index == 0 ? h->next_pub : h->next_send;
        if ((h->index == 0 || h->index == 1 % h->ctx->hosts) && work < next)
            next = work;
    }
    return next;
}

static void host_kill (void *host)
{
    whost_t *h = host;
    node_crash (h->node);
    ledger_run_ended (h->ctx, h->index);
    host_free (h);
}

static void host_stop (void *host)
{
    whost_t *h = host;
    node_stop (h->node);
    ledger_run_ended (h->ctx, h->index);
    host_free (h);
}

static int host_check (void *host, char *msg, size_t len)
{
    whost_t *h = host;
    return ledger_check (h->ctx, msg, len);
}

//  A crash: a power loss loses the writes not synced yet; a process crash
//  keeps what reached the OS.
static void host_on_crash (void *arg, int index, bool lose_unsynced)
{
    wctx_t *ctx = arg;
    jdisk_crash (ctx->disks[index], lose_unsynced ? 0 : jdisk_unsynced (ctx->disks[index]));
}

static void host_wipe (void *arg, int index)
{
    wctx_t *ctx = arg;
    jdisk_wipe (ctx->disks[index]);
}

const sim_host_ops_t sim_weft_host_ops = {
    .name = "weft",
    .boot = host_boot,
    .turn = host_turn,
    .deadline = host_deadline,
    .kill = host_kill,
    .stop = host_stop,
    .check = host_check,
    .on_crash = host_on_crash,
    .wipe = host_wipe,
};

whost_t *sim_weft_host (sim_t *sim, int index)
{
    return sim_host (sim, index);
}
