/*  tests/sim/sim_net.c - the network model: messages, their delays, loss,
    duplication, partitions, delivery to an input queue (or a drop with its
    reason), and the state of SUB connections (see sim_int.h). */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static const char *input_names[WORLD_INPUTS] = {"router", "sub", "xpub", "beacon"};

//  --- Messages ---------------------------------------------------------------

//  One allocation: the struct, the lengths, the bytes.
static sim_msg_t *msg_alloc (size_t count, size_t bytes)
{
    sim_msg_t *msg = calloc (1, sizeof *msg + count * sizeof (size_t) + bytes + 1);
    if (!msg)
        return NULL;
    msg->count = count;
    msg->bytes = bytes;
    msg->lens = (size_t *)(msg + 1);
    msg->body = (unsigned char *)(msg->lens + count);
    return msg;
}

sim_msg_t *sim_msg_new (const void *pre, size_t prelen, zmq_msg_t *frames, size_t count)
{
    size_t n = count + (pre ? 1 : 0), bytes = pre ? prelen : 0;
    for (size_t i = 0; i < count; i++)
        bytes += zmq_msg_size (&frames[i]);
    sim_msg_t *msg = msg_alloc (n, bytes);
    if (msg) {
        unsigned char *p = msg->body;
        size_t f = 0;
        if (pre) {
            memcpy (p, pre, prelen);
            p += prelen;
            msg->lens[f++] = prelen;
        }
        for (size_t i = 0; i < count; i++) {
            size_t len = zmq_msg_size (&frames[i]);
            if (len)
                memcpy (p, zmq_msg_data (&frames[i]), len);
            p += len;
            msg->lens[f++] = len;
        }
    }
    world_frames_close (frames, count);
    return msg;
}

sim_msg_t *sim_msg_bytes (const void *data, size_t len)
{
    sim_msg_t *msg = msg_alloc (1, len);
    if (msg) {
        msg->lens[0] = len;
        if (len)
            memcpy (msg->body, data, len);
    }
    return msg;
}

sim_msg_t *sim_msg_dup (sim_t *self, const sim_msg_t *msg)
{
    sim_msg_t *copy = msg_alloc (msg->count, msg->bytes);
    if (!copy)
        return NULL;
    memcpy (copy->lens, msg->lens, msg->count * sizeof (size_t));
    memcpy (copy->body, msg->body, msg->bytes);
    copy->src = msg->src;
    copy->dst = msg->dst;
    copy->dst_boot = msg->dst_boot;
    copy->input = msg->input;
    copy->port = msg->port;
    copy->local = msg->local;
    memcpy (copy->from, msg->from, sizeof copy->from);
    copy->id = ++self->msg_ids;
    return copy;
}

void sim_msg_free (sim_msg_t **msg_p)
{
    sim_msg_t *msg = *msg_p;
    if (!msg)
        return;
    if (msg->link)
        sim_link_release (msg->link);
    free (msg);
    *msg_p = NULL;
}

uint32_t sim_msg_digest (const sim_msg_t *msg)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < msg->count; i++) {
        h ^= (uint32_t)msg->lens[i];
        h *= 0x01000193u;
    }
    for (size_t i = 0; i < msg->bytes; i++) {
        h ^= msg->body[i];
        h *= 0x01000193u;
    }
    return h;
}

//  --- Sending ----------------------------------------------------------------

void sim_net_drop (sim_t *self, sim_msg_t *msg, const char *reason)
{
    sim_trace (self, "drop m%llu h%d>h%d %s %s", (unsigned long long)msg->id, msg->src, msg->dst,
               input_names[msg->input], reason);
    self->stats.dropped++;
    if (!strcmp (reason, "partition"))
        self->stats.dropped_partition++;
    else if (!strcmp (reason, "rcvhwm") || !strcmp (reason, "sndhwm"))
        self->stats.dropped_hwm++;
    sim_msg_free (&msg);
}

//  Arrival time of a message from SRC to DST sent now, on a channel whose
//  last arrival is *FIFO_LAST (NULL: none).
static int64_t arrival (sim_t *self, const sim_msg_t *msg, int64_t *fifo_last)
{
    if (msg->local)
        return self->now + 1;
    int64_t lo = self->delay_lo[msg->src][msg->dst], hi = self->delay_hi[msg->src][msg->dst];
    if (self->reorder && hi < lo + 20)
        hi = lo + 20;
    int64_t t = self->now + sim_rng_range (&self->net_rng, lo, hi);
    if (fifo_last && !self->reorder) {
        if (t < *fifo_last)
            t = *fifo_last;
        *fifo_last = t;
    }
    return t;
}

//  Queues MSG for T, or drops it when the network is full.
static void schedule (sim_t *self, sim_msg_t *msg, int64_t t)
{
    if (!sim_push_msg (self, t, msg))
        sim_net_drop (self, msg, "net-full");
}

int sim_net_send (sim_t *self, sim_msg_t *msg, int64_t *fifo_last)
{
    if (!msg->id)
        msg->id = ++self->msg_ids;
    self->stats.sent++;
    sim_trace (self, "send m%llu h%d>h%d %s n=%zu b=%zu d=%08x", (unsigned long long)msg->id,
               msg->src, msg->dst, input_names[msg->input], msg->count, msg->bytes,
               sim_msg_digest (msg));
    if (!msg->local && self->blocked[msg->src][msg->dst]) {
        sim_net_drop (self, msg, "partition");
        return -1;
    }
    //  Subscription notices are a connection's control traffic: TCP loses
    //  or repeats none of them (partitions and crashes still do, by
    //  breaking the connection).
    bool chaos = !msg->local && msg->input != WORLD_XPUB;
    if (chaos && sim_rng_chance (&self->net_rng, self->loss)) {
        sim_net_drop (self, msg, "loss");
        return -1;
    }
    int64_t t = arrival (self, msg, fifo_last);
    if (chaos && sim_rng_chance (&self->net_rng, self->dup)) {
        sim_msg_t *copy = sim_msg_dup (self, msg);
        if (copy) {
            copy->link = msg->link;
            if (copy->link)
                copy->link->inflight++;
            int64_t t2 = self->reorder ? arrival (self, msg, NULL) : t;
            sim_trace (self, "dup m%llu as m%llu", (unsigned long long)msg->id,
                       (unsigned long long)copy->id);
            schedule (self, msg, t);
            schedule (self, copy, t2);
            return 0;
        }
    }
    schedule (self, msg, t);
    return 0;
}

//  --- Delivery ---------------------------------------------------------------

//  True when host I's SUB has an attached connection to HOST:PORT.
static bool sub_attached (sim_world_t *w, int host, uint16_t port)
{
    for (int c = 0; c < w->nconns; c++)
        if (w->conns[c].host == host && w->conns[c].port == port)
            return w->conns[c].attached;
    return false;
}

//  Why world W cannot take MSG now, or NULL when it can.
static const char *refusal (sim_t *self, sim_world_t *w, sim_msg_t *msg)
{
    switch (msg->input) {
    case WORLD_ROUTER:
        if (!w->router_open || w->router_port != msg->port)
            return "unbound";
        for (size_t i = 0; w->router_maxmsg > 0 && i < msg->count; i++)
            if ((int64_t)msg->lens[i] > w->router_maxmsg)
                return "maxmsgsize";
        return NULL;
    case WORLD_SUB:
        if (!w->sub_open || !sub_attached (w, msg->src, msg->port))
            return "unsubscribed";
        if (!sim_filters_match (&w->filters, msg->body, msg->count ? msg->lens[0] : 0))
            return "filtered";
        return NULL;
    case WORLD_XPUB:
        if (!w->xpub_open || w->xpub_port != msg->port)
            return "unbound";
        if (!msg->local) {
            sim_world_t *sw = self->slot[msg->src].world;
            if (!sw || !sub_attached (sw, w->index, msg->port))
                return "stale";
        }
        return NULL;
    default:
        return w->beacon_open && w->beacon_port == msg->port ? NULL : "closed";
    }
}

//  A subscription notice reached the XPUB of W: update its view.
static void apply_notice (sim_world_t *w, const sim_msg_t *msg)
{
    if (msg->local || msg->count < 1 || msg->lens[0] < 1)
        return;
    if (msg->body[0])
        sim_filters_add (&w->view[msg->src], msg->body + 1, msg->lens[0] - 1);
    else
        sim_filters_remove (&w->view[msg->src], msg->body + 1, msg->lens[0] - 1);
}

void sim_net_deliver (sim_t *self, sim_msg_t *msg)
{
    sim_world_t *w = self->slot[msg->dst].world;
    const char *why = NULL;
    if (!w)
        why = "down";
    else if (w->boot != msg->dst_boot)
        why = "reset";
    else if (!msg->local && self->blocked[msg->src][msg->dst])
        why = "partition";
    else
        why = refusal (self, w, msg);
    if (why) {
        sim_net_drop (self, msg, why);
        return;
    }
    if (msg->input == WORLD_XPUB)
        apply_notice (w, msg);
    if (msg->link) {
        sim_link_release (msg->link);
        msg->link = NULL;
    }
    uint64_t id = msg->id;
    int src = msg->src;
    world_input_t input = msg->input;
    if (!sim_world_enqueue (w, msg)) {
        sim_net_drop (self, msg, "rcvhwm");
        return;
    }
    self->stats.delivered++;
    sim_trace (self, "deliver m%llu h%d>h%d %s", (unsigned long long)id, src, w->index,
               input_names[input]);
    sim_wake (self, w->index);
}

//  --- SUB connections --------------------------------------------------------

//  Sends notice [ON][prefix] from SUB host I to the XPUB of connection C.
static void send_notice (sim_t *self, sim_world_t *w, const sim_subconn_t *c, bool on,
                         const unsigned char *prefix, size_t len, bool local)
{
    sim_world_t *pw = self->slot[c->host].world;
    unsigned char buf[257];
    if (!pw || len > 256)
        return;
    buf[0] = on ? 1 : 0;
    memcpy (buf + 1, prefix, len);
    sim_msg_t *msg = sim_msg_bytes (buf, len + 1);
    if (!msg)
        return;
    msg->src = w->index;
    msg->dst = c->host;
    msg->dst_boot = pw->boot;
    msg->input = WORLD_XPUB;
    msg->port = c->port;
    msg->local = local;
    sim_net_send (self, msg, local ? NULL : &w->notice_last[c->host]);
}

//  The connection C of SUB host W is gone: the XPUB forgets W's filters
//  and tells its node with unsubscribe notices, as libzmq does when a
//  subscriber's pipe ends.
static void detach (sim_t *self, sim_world_t *w, sim_subconn_t *c)
{
    c->attached = false;
    sim_world_t *pw = c->host >= 0 ? self->slot[c->host].world : NULL;
    if (!pw)
        return;
    sim_filters_t *view = &pw->view[w->index];
    for (size_t f = 0; f < view->len; f++)
        send_notice (self, w, c, false, view->items[f], view->lens[f], true);
    sim_filters_clear (view);
}

//  True when connection C of W can be up: the XPUB listens, no partition.
static bool reachable (sim_t *self, sim_world_t *w, const sim_subconn_t *c)
{
    if (c->host < 0 || c->host >= self->hosts)
        return false;
    sim_world_t *pw = self->slot[c->host].world;
    return pw && pw->xpub_open && pw->xpub_port == c->port && !self->blocked[w->index][c->host] &&
           !self->blocked[c->host][w->index];
}

void sim_net_reconcile (sim_t *self)
{
    for (int i = 0; i < self->hosts; i++) {
        sim_world_t *w = self->slot[i].world;
        if (!w || !w->sub_open)
            continue;
        for (int k = 0; k < w->nconns; k++) {
            sim_subconn_t *c = &w->conns[k];
            bool ok = reachable (self, w, c);
            if (ok && !c->attached) {
                c->attached = true;
                sim_trace (self, "sub-attach h%d>h%d:%u", i, c->host, c->port);
                for (size_t f = 0; f < w->filters.len; f++)
                    send_notice (self, w, c, true, w->filters.items[f], w->filters.lens[f], false);
            } else if (!ok && c->attached) {
                sim_trace (self, "sub-detach h%d>h%d:%u", i, c->host, c->port);
                detach (self, w, c);
            }
        }
    }
}

void sim_net_host_down (sim_t *self, int i)
{
    sim_world_t *dead = self->slot[i].world;
    for (int j = 0; dead && j < self->hosts; j++) {
        for (int k = 0; k < dead->nconns; k++)
            if (dead->conns[k].attached && dead->conns[k].host == j)
                detach (self, dead, &dead->conns[k]);
    }
    for (int j = 0; j < self->hosts; j++) {
        sim_world_t *w = self->slot[j].world;
        for (int k = 0; w && j != i && k < w->nconns; k++)
            if (w->conns[k].host == i)
                w->conns[k].attached = false;
    }
}

void sim_net_notice_all (sim_t *self, sim_world_t *w, bool on, const void *prefix, size_t len)
{
    for (int k = 0; k < w->nconns; k++)
        if (w->conns[k].attached)
            send_notice (self, w, &w->conns[k], on, prefix, len, false);
}

void sim_net_detach (sim_t *self, sim_world_t *w, int k)
{
    if (w->conns[k].attached)
        detach (self, w, &w->conns[k]);
}
