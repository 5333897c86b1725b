/*  tests/sim/sim_world.c - the simulated world_ops_t (see sim_world.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

//  The sim world behind a world_t.
static sim_world_t *sw (world_t *w)
{
    return (sim_world_t *)w;
}

//  Copies a one-line message into ERR when there is room.
static int fail (char *err, size_t errlen, int code, const char *what)
{
    if (err && errlen)
        snprintf (err, errlen, "%s", what);
    return code;
}

//  An option, or the default when 0.
static size_t opt_hwm (const world_opts_t *opts, bool snd)
{
    int v = opts ? (snd ? opts->sndhwm : opts->rcvhwm) : 0;
    return v > 0 ? (size_t)v : SIM_HWM_DEFAULT;
}

void sim_addr (int index, char *buf, size_t len)
{
    snprintf (buf, len, "198.18.0.%d", index + 1);
}

int sim_endpoint_parse (const char *endpoint, int *host, uint16_t *port)
{
    unsigned a, b, c, d, p;
    char tail;
    if (!endpoint || sscanf (endpoint, "tcp://%u.%u.%u.%u:%u%c", &a, &b, &c, &d, &p, &tail) != 5 ||
        p == 0 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    *host = (a == 198 && b == 18 && c == 0 && d >= 1 && d <= SIM_HOSTS_MAX) ? (int)d - 1 : -1;
    return 0;
}

//  --- Time, chance, host -----------------------------------------------------
//  The w_* functions implement world.h's table; each one's contract is
//  there, and what the simulation adds is in sim_world.h.

static int64_t w_now_ms (world_t *w)
{
    return sw (w)->sim->now;
}

static int64_t w_wall_us (world_t *w)
{
    return sw (w)->sim->now * 1000 + sw (w)->wall_offset_us;
}

static void w_random (world_t *w, void *buf, size_t len)
{
    sim_rng_bytes (&sw (w)->rng, buf, len);
}

static int w_resolve (world_t *w, const char *name, char *addr, char *bcast, char *err,
                      size_t errlen)
{
    sim_addr (sw (w)->index, addr, 16);
    snprintf (bcast, 16, "%s", SIM_BCAST);
    return 0;
}

//  --- Listeners --------------------------------------------------------------

//  True when PORT is taken on W.
static bool port_taken (sim_world_t *w, uint16_t port)
{
    return (w->router_open && w->router_port == port) || (w->xpub_open && w->xpub_port == port);
}

static int w_listen (world_t *w_, world_input_t which, const char *bind, uint16_t port,
                     const world_opts_t *opts, uint16_t *bound, char *err, size_t errlen)
{
    sim_world_t *w = sw (w_);
    if (which == WORLD_SUB) {
        w->sub_open = true;
        w->sub_rcvhwm = opt_hwm (opts, false);
        return 0;
    }
    if (which != WORLD_ROUTER && which != WORLD_XPUB)
        return fail (err, errlen, WEFT_EINVAL, "sim: listen on a beacon or unknown input");
    if ((which == WORLD_ROUTER && w->router_open) || (which == WORLD_XPUB && w->xpub_open))
        return fail (err, errlen, WEFT_EADDRINUSE, "sim: listener already bound");
    if (port == 0) {
        while (port_taken (w, w->next_port))
            w->next_port++;
        port = w->next_port++;
    } else if (port_taken (w, port))
        return fail (err, errlen, WEFT_EADDRINUSE, "sim: port in use");
    if (which == WORLD_ROUTER) {
        w->router_open = true;
        w->router_port = port;
        w->router_rcvhwm = opt_hwm (opts, false);
        w->router_maxmsg = opts ? opts->maxmsgsize : 0;
    } else {
        w->xpub_open = true;
        w->xpub_port = port;
        w->xpub_rcvhwm = opt_hwm (opts, false);
    }
    if (bound)
        *bound = port;
    sim_trace (w->sim, "listen h%d %s %u", w->index, which == WORLD_ROUTER ? "router" : "xpub",
               port);
    sim_net_reconcile (w->sim);
    return 0;
}

//  --- Links ------------------------------------------------------------------

static world_link_t *w_link_open (world_t *w_, const char *endpoint, const void *id, size_t idlen,
                                  const world_opts_t *opts)
{
    sim_world_t *w = sw (w_);
    int host;
    uint16_t port;
    if (strcmp (endpoint, WORLD_SELF) == 0) {
        //  our own ROUTER, over the network model like any other link (a
        //  real node uses inproc: delivered in order, never lost)
        host = w->index;
        port = w->router_port;
    } else if (sim_endpoint_parse (endpoint, &host, &port) != 0)
        return NULL;
    if (idlen > sizeof ((sim_link_t *)0)->id)
        return NULL;
    sim_link_t *link = calloc (1, sizeof *link);
    if (!link)
        return NULL;
    link->world = w;
    link->uid = ++w->sim->link_uids;
    link->dst = host < w->sim->hosts ? host : -1;
    link->port = port;
    memcpy (link->id, id, idlen);
    link->idlen = idlen;
    link->sndhwm = opt_hwm (opts, true);
    link->next = w->links;
    w->links = link;
    sim_trace (w->sim, "link l%llu h%d>h%d:%u", (unsigned long long)link->uid, w->index, link->dst,
               port);
    return (world_link_t *)link;
}

static int w_link_send (world_t *w_, world_link_t *link_, zmq_msg_t *frames, size_t count)
{
    sim_world_t *w = sw (w_);
    sim_link_t *link = (sim_link_t *)link_;
    if (!link || link->closed || link->inflight >= link->sndhwm) {
        world_frames_close (frames, count);
        if (link)
            sim_trace (w->sim, "full l%llu", (unsigned long long)link->uid);
        return -1;
    }
    sim_msg_t *msg = sim_msg_new (link->id, link->idlen, frames, count);
    if (!msg)
        return -1;
    msg->src = w->index;
    msg->dst = link->dst < 0 ? w->index : link->dst;
    msg->input = WORLD_ROUTER;
    msg->port = link->port;
    sim_world_t *dw = link->dst < 0 ? NULL : w->sim->slot[link->dst].world;
    if (!dw || !dw->router_open || dw->router_port != link->port) {
        //  Nobody listens there now: the simple model drops it (README.md).
        msg->id = ++w->sim->msg_ids;
        sim_net_drop (w->sim, msg, "unbound");
        return 0;
    }
    msg->dst_boot = dw->boot;
    msg->link = link;
    link->inflight++;
    sim_net_send (w->sim, msg, &link->last_arrival);
    return 0;
}

//  Unlinks LINK from its world's list.
static void link_unlist (sim_link_t *link)
{
    sim_link_t **p = &link->world->links;
    while (*p && *p != link)
        p = &(*p)->next;
    if (*p)
        *p = link->next;
}

void sim_link_release (sim_link_t *link)
{
    if (--link->inflight > 0 || (link->world && !link->closed))
        return;
    if (link->world)
        link_unlist (link);
    free (link);
}

static void w_link_close (world_t *w_, world_link_t **link_p, int linger_ms)
{
    sim_link_t *link = (sim_link_t *)*link_p;
    if (!link)
        return;
    *link_p = NULL;
    link->closed = true;
    sim_trace (sw (w_)->sim, "unlink l%llu", (unsigned long long)link->uid);
    if (link->inflight == 0) {
        link_unlist (link);
        free (link);
    }
}

//  --- Pub/sub ----------------------------------------------------------------

static int w_publish (world_t *w_, zmq_msg_t *frames, size_t count)
{
    sim_world_t *w = sw (w_);
    sim_t *sim = w->sim;
    if (!w->xpub_open || count == 0) {
        world_frames_close (frames, count);
        return -1;
    }
    sim_msg_t *msg = sim_msg_new (NULL, 0, frames, count);
    if (!msg)
        return -1;
    for (int j = 0; j < sim->hosts; j++) {
        sim_world_t *dw = sim->slot[j].world;
        if (!dw || !sim_filters_match (&w->view[j], msg->body, msg->lens[0]))
            continue;
        sim_msg_t *copy = sim_msg_dup (sim, msg);
        if (!copy)
            continue;
        copy->src = w->index;
        copy->dst = j;
        copy->dst_boot = dw->boot;
        copy->input = WORLD_SUB;
        copy->port = w->xpub_port;
        sim_net_send (sim, copy, &w->pub_last[j]);
    }
    sim_msg_free (&msg);
    return 0;
}

static int w_sub_connect (world_t *w_, const char *endpoint, bool on)
{
    sim_world_t *w = sw (w_);
    int host;
    uint16_t port;
    if (!w->sub_open || sim_endpoint_parse (endpoint, &host, &port) != 0)
        return -1;
    int k = 0;
    while (k < w->nconns && !(w->conns[k].host == host && w->conns[k].port == port))
        k++;
    if (on && k == w->nconns) {
        if (w->nconns == SIM_CONNS_MAX)
            return -1;
        w->conns[w->nconns++] = (sim_subconn_t){.host = host, .port = port};
        sim_trace (w->sim, "sub-connect h%d>h%d:%u", w->index, host, port);
        sim_net_reconcile (w->sim);
    } else if (!on && k < w->nconns) {
        sim_trace (w->sim, "sub-disconnect h%d>h%d:%u", w->index, host, port);
        sim_net_detach (w->sim, w, k);
        w->conns[k] = w->conns[--w->nconns];
    }
    return 0;
}

static void w_sub_filter (world_t *w_, const void *prefix, size_t len, bool on)
{
    sim_world_t *w = sw (w_);
    if (len > 256)
        return;
    if (on ? sim_filters_add (&w->filters, prefix, len) == 0
           : sim_filters_remove (&w->filters, prefix, len))
        sim_net_notice_all (w->sim, w, on, prefix, len);
}

//  --- Beacons ----------------------------------------------------------------

static int w_beacon_open (world_t *w_, const char *addr, const char *bcast, uint16_t port,
                          char *err, size_t errlen)
{
    sim_world_t *w = sw (w_);
    if (strcmp (bcast, SIM_BCAST) != 0)
        return fail (err, errlen, WEFT_ENODEV, "sim: broadcast address is not the segment's");
    w->beacon_open = true;
    w->beacon_port = port;
    return 0;
}

static int w_beacon_send (world_t *w_, const void *buf, size_t len)
{
    sim_world_t *w = sw (w_);
    sim_t *sim = w->sim;
    if (!w->beacon_open)
        return WEFT_EIO;
    for (int j = 0; j < sim->hosts; j++) {
        sim_world_t *dw = sim->slot[j].world;
        if (!dw || !dw->beacon_open || dw->beacon_port != w->beacon_port)
            continue;
        sim_msg_t *msg = sim_msg_bytes (buf, len);
        if (!msg)
            return WEFT_EIO;
        msg->src = w->index;
        msg->dst = j;
        msg->dst_boot = dw->boot;
        msg->input = WORLD_BEACON;
        msg->port = w->beacon_port;
        msg->local = j == w->index; //  loopback: no network
        sim_addr (w->index, msg->from, sizeof msg->from);
        sim_net_send (sim, msg, NULL);
    }
    return 0;
}

//  --- Receive ----------------------------------------------------------------

bool sim_world_enqueue (sim_world_t *self, sim_msg_t *msg)
{
    size_t hwm = msg->input == WORLD_ROUTER ? self->router_rcvhwm
                 : msg->input == WORLD_SUB  ? self->sub_rcvhwm
                 : msg->input == WORLD_XPUB ? self->xpub_rcvhwm
                                            : SIM_HWM_DEFAULT;
    sim_queue_t *q = &self->in[msg->input];
    if (q->len >= hwm)
        return false;
    msg->next = NULL;
    if (q->tail)
        q->tail->next = msg;
    else
        q->head = msg;
    q->tail = msg;
    q->len++;
    return true;
}

static int w_recv (world_t *w_, world_input_t input, zmq_msg_t *frames, size_t cap, size_t *count,
                   char *from)
{
    sim_world_t *w = sw (w_);
    if ((unsigned)input >= WORLD_INPUTS || !w->in[input].head)
        return -1;
    sim_queue_t *q = &w->in[input];
    sim_msg_t *msg = q->head;
    q->head = msg->next;
    if (!q->head)
        q->tail = NULL;
    q->len--;
    *count = 0;
    int rc = 0;
    if (msg->count > cap)
        rc = 1;
    const unsigned char *p = msg->body;
    for (size_t i = 0; rc == 0 && i < msg->count; i++) {
        if (world_frame_copy (&frames[i], p, msg->lens[i]) != 0) {
            world_frames_close (frames, i);
            rc = 1;
            break;
        }
        p += msg->lens[i];
        *count = i + 1;
    }
    if (rc)
        *count = 0;
    if (from && input == WORLD_BEACON)
        memcpy (from, msg->from, sizeof msg->from);
    sim_msg_free (&msg);
    return rc;
}

//  --- Journal, close, destroy -------------------------------------------------

void sim_world_set_journal_opener (world_t *world, sim_journal_opener_t opener, void *arg)
{
    sw (world)->opener = opener;
    sw (world)->opener_arg = arg;
}

static int w_journal_open (world_t *w_, const char *dir, const journal_options_t *opts,
                           journal_t **out, char *err, size_t errlen)
{
    sim_world_t *w = sw (w_);
    //  HOOK: the in-memory journal disk (jdisk_t) plugs in here.
    if (w->opener)
        return w->opener (w->opener_arg, w_, dir, opts, out, err, errlen);
    return fail (err, errlen, SIM_ENOTSUP, "sim: no journal store on this world");
}

//  Frees every message queued at W's inputs.
static void flush_inputs (sim_world_t *w)
{
    for (int i = 0; i < WORLD_INPUTS; i++) {
        while (w->in[i].head) {
            sim_msg_t *msg = w->in[i].head;
            w->in[i].head = msg->next;
            sim_msg_free (&msg);
        }
        w->in[i] = (sim_queue_t){0};
    }
}

static void w_close (world_t *w_)
{
    sim_world_t *w = sw (w_);
    for (int k = 0; k < w->nconns; k++)
        sim_net_detach (w->sim, w, k);
    w->nconns = 0;
    w->router_open = w->xpub_open = w->sub_open = w->beacon_open = false;
    for (int j = 0; j < SIM_HOSTS_MAX; j++)
        sim_filters_clear (&w->view[j]);
    flush_inputs (w);
    sim_trace (w->sim, "close h%d", w->index);
    sim_net_reconcile (w->sim);
}

static void w_destroy (world_t **w_p)
{
    *w_p = NULL; //  the engine owns the world (sim_world_free)
}

static const world_ops_t sim_world_ops = {
    .now_ms = w_now_ms,
    .wall_us = w_wall_us,
    .random = w_random,
    .resolve = w_resolve,
    .listen = w_listen,
    .link_open = w_link_open,
    .link_send = w_link_send,
    .link_close = w_link_close,
    .publish = w_publish,
    .sub_connect = w_sub_connect,
    .sub_filter = w_sub_filter,
    .beacon_open = w_beacon_open,
    .beacon_send = w_beacon_send,
    .recv = w_recv,
    .journal_open = w_journal_open,
    .close = w_close,
    .destroy = w_destroy,
};

sim_world_t *sim_world_new (sim_t *sim, int index, int boot, int64_t wall_offset_us)
{
    sim_world_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->base.ops = &sim_world_ops;
    self->sim = sim;
    self->index = index;
    self->boot = boot;
    self->wall_offset_us = wall_offset_us;
    self->next_port = SIM_PORT_FIRST;
    sim_rng_seed (&self->rng, sim->config.seed, ((uint64_t)(index + 1) << 32) | (uint64_t)boot);
    return self;
}

void sim_world_free (sim_world_t **self_p)
{
    sim_world_t *self = *self_p;
    if (!self)
        return;
    flush_inputs (self);
    sim_filters_clear (&self->filters);
    for (int j = 0; j < SIM_HOSTS_MAX; j++)
        sim_filters_clear (&self->view[j]);
    sim_link_t *link = self->links;
    while (link) {
        sim_link_t *next = link->next;
        link->world = NULL; //  orphaned: its last message in flight frees it
        if (link->inflight == 0)
            free (link);
        link = next;
    }
    free (self);
    *self_p = NULL;
}

int sim_world_index (world_t *world)
{
    return sw (world)->index;
}

int sim_world_boot (world_t *world)
{
    return sw (world)->boot;
}
