/*  tests/sim/sim_toy.c - the toy host (see sim_toy.h): everything it does
    goes through its world_t, as a real node's code will. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_toy_int.h"
#include "sim_world.h"

#define TOY_SEQ_MAX (1u << 24) //  larger seqs are malformed

//  The receive-side duplicate filter for one sender and channel.
typedef struct {
    int boot;            //  sender incarnation tracked
    unsigned char *seen; //  bitmap of seqs seen
    size_t cap;          //  its bytes
} toy_rx_t;

//  What a toy host knows of one peer.
typedef struct {
    bool known;         //  heard its beacon
    world_link_t *link; //  our link to its ROUTER
    uint64_t next_seq;  //  next seq to send it
} toy_peer_t;

typedef struct {
    toy_ledger_t *ledger;           //  the oracle (borrowed)
    sim_t *sim;                     //  the engine (borrowed)
    world_t *w;                     //  our world (borrowed)
    int index;                      //  host index
    int boot;                       //  incarnation
    unsigned plant;                 //  planted bugs
    char addr[16];                  //  our address
    uint16_t router_port;           //  bound ports
    uint16_t xpub_port;             //  ...
    toy_peer_t peer[SIM_HOSTS_MAX]; //  by host index
    toy_rx_t rx[SIM_HOSTS_MAX][2];  //  by sender, channel
    uint64_t pub_seq;               //  next topic seq
    int64_t next_beacon;            //  timers
    int64_t next_send;              //  ...
} toy_t;

//  Frees the host's own memory (links belong to the world on a crash).
static void toy_free (toy_t *self)
{
    for (int i = 0; i < SIM_HOSTS_MAX; i++)
        for (int ch = 0; ch < 2; ch++)
            free (self->rx[i][ch].seen);
    free (self);
}

//  Opens the listeners and the beacon; 0 or -1.
static int toy_listen (toy_t *self)
{
    world_t *w = self->w;
    const world_opts_t opts = {.rcvhwm = 100000, .sndhwm = 1000};
    char bcast[16], err[128];
    if (w->ops->resolve (w, "sim0", self->addr, bcast, err, sizeof err) != 0 ||
        w->ops->listen (w, WORLD_ROUTER, self->addr, 0, &opts, &self->router_port, err,
                        sizeof err) != 0 ||
        w->ops->listen (w, WORLD_XPUB, self->addr, 0, &opts, &self->xpub_port, err, sizeof err) !=
            0 ||
        w->ops->listen (w, WORLD_SUB, NULL, 0, &opts, NULL, err, sizeof err) != 0 ||
        w->ops->beacon_open (w, self->addr, bcast, TOY_PORT, err, sizeof err) != 0)
        return -1;
    w->ops->sub_filter (w, "toy/", 4, true);
    return 0;
}

static void *toy_boot (sim_t *sim, int index, world_t *world, void *arg)
{
    toy_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->ledger = arg;
    self->sim = sim;
    self->w = world;
    self->index = index;
    self->boot = sim_world_boot (world);
    self->plant = toy_ledger_plant (arg);
    self->pub_seq = 1;
    for (int i = 0; i < SIM_HOSTS_MAX; i++)
        self->peer[i].next_seq = 1;
    toy_ledger_boot (self->ledger, index, self->boot);
    if (toy_listen (self) != 0) {
        toy_free (self);
        return NULL;
    }
    self->next_beacon = world_now (world);
    self->next_send = world_now (world) + TOY_SEND_MS;
    return self;
}

//  Parses "<from> <boot> <seq>"; 0 or -1.
static int parse_body (const zmq_msg_t *frame, toy_msg_t *m)
{
    char buf[64];
    size_t len = zmq_msg_size ((zmq_msg_t *)frame);
    if (len >= sizeof buf)
        return -1;
    memcpy (buf, zmq_msg_data ((zmq_msg_t *)frame), len);
    buf[len] = 0;
    unsigned long long seq;
    if (sscanf (buf, "%d %d %llu", &m->from, &m->boot, &seq) != 3 || m->from < 0 ||
        m->from >= SIM_HOSTS_MAX || seq == 0 || seq > TOY_SEQ_MAX)
        return -1;
    m->seq = seq;
    return 0;
}

//  The duplicate filter: true when M is new (and marks it).
static bool fresh (toy_t *self, const toy_msg_t *m)
{
    toy_rx_t *r = &self->rx[m->from][m->topic];
    if (m->boot < r->boot)
        return false; //  an old incarnation's straggler
    if (m->boot > r->boot) {
        free (r->seen);
        *r = (toy_rx_t){.boot = m->boot};
    }
    return toy_bits (&r->seen, &r->cap, m->seq, true) == 0; //  new: not seen before
}

//  Hands M to the application (the ledger) if it is new.
static void toy_deliver (toy_t *self, const toy_msg_t *m)
{
    if (!fresh (self, m))
        return;
    toy_ledger_deliver (self->ledger, m, self->index, self->boot, world_now (self->w));
    //  The planted bug: now and then, a second delivery.
    if ((self->plant & TOY_PLANT_DUP) && (world_random (self->w) & 63) == 0)
        toy_ledger_deliver (self->ledger, m, self->index, self->boot, world_now (self->w));
}

//  A peer's beacon: learn it, link to it, subscribe to it.
static void toy_heard (toy_t *self, const zmq_msg_t *frame, const char *from)
{
    char buf[64], ep[64];
    size_t len = zmq_msg_size ((zmq_msg_t *)frame);
    int index;
    unsigned rport, xport;
    if (len >= sizeof buf)
        return;
    memcpy (buf, zmq_msg_data ((zmq_msg_t *)frame), len);
    buf[len] = 0;
    if (sscanf (buf, "toy %d %u %u", &index, &rport, &xport) != 3 || index < 0 ||
        index >= SIM_HOSTS_MAX || index == self->index || self->peer[index].known)
        return;
    toy_peer_t *p = &self->peer[index];
    world_t *w = self->w;
    char id[16];
    snprintf (id, sizeof id, "h%d", self->index);
    snprintf (ep, sizeof ep, "tcp://%s:%u", from, rport);
    const world_opts_t opts = {.sndhwm = 1000};
    p->link = w->ops->link_open (w, ep, id, strlen (id), &opts);
    snprintf (ep, sizeof ep, "tcp://%s:%u", from, xport);
    w->ops->sub_connect (w, ep, true);
    p->known = p->link != NULL;
}

//  Reads every input until none is waiting.
static void toy_read (toy_t *self)
{
    world_t *w = self->w;
    zmq_msg_t f[4];
    size_t n;
    char from[16];
    for (int input = 0; input < WORLD_INPUTS; input++) {
        int rc;
        while ((rc = w->ops->recv (w, input, f, 4, &n, from)) != -1) {
            toy_msg_t m = {.topic = input == WORLD_SUB};
            if (rc == 0 && input == WORLD_BEACON && n == 1)
                toy_heard (self, &f[0], from);
            else if (rc == 0 && input == WORLD_XPUB)
                toy_ledger_notice (self->ledger, self->index);
            else if (rc == 0 && n == 2 && parse_body (&f[1], &m) == 0)
                toy_deliver (self, &m);
            if (rc == 0)
                world_frames_close (f, n);
        }
    }
}

//  Sends one message to every peer and publishes one.
static void toy_send (toy_t *self)
{
    world_t *w = self->w;
    char body[64], topic[16];
    for (int i = 0; i < SIM_HOSTS_MAX; i++) {
        toy_peer_t *p = &self->peer[i];
        if (!p->known)
            continue;
        zmq_msg_t f[1];
        int len = snprintf (body, sizeof body, "%d %d %llu", self->index, self->boot,
                            (unsigned long long)p->next_seq);
        world_frame_copy (&f[0], body, (size_t)len);
        if (w->ops->link_send (w, p->link, f, 1) == 0)
            toy_ledger_sent (self->ledger, self->index, i, false, p->next_seq++, world_now (w));
    }
    zmq_msg_t f[2];
    int tlen = snprintf (topic, sizeof topic, "toy/%d", self->index);
    int len = snprintf (body, sizeof body, "%d %d %llu", self->index, self->boot,
                        (unsigned long long)self->pub_seq);
    world_frame_copy (&f[0], topic, (size_t)tlen);
    world_frame_copy (&f[1], body, (size_t)len);
    if (w->ops->publish (w, f, 2) == 0)
        toy_ledger_sent (self->ledger, self->index, self->index, true, self->pub_seq++,
                         world_now (w));
}

static void toy_turn (void *host)
{
    toy_t *self = host;
    world_t *w = self->w;
    toy_read (self);
    int64_t now = world_now (w);
    if (now >= self->next_beacon) {
        char buf[64];
        int len = snprintf (buf, sizeof buf, "toy %d %u %u", self->index, self->router_port,
                            self->xpub_port);
        w->ops->beacon_send (w, buf, (size_t)len);
        self->next_beacon = now + TOY_BEACON_MS;
    }
    if (now >= self->next_send) {
        toy_send (self);
        self->next_send = now + TOY_SEND_MS;
    }
}

static int64_t toy_deadline (void *host)
{
    toy_t *self = host;
    return self->next_beacon < self->next_send ? self->next_beacon : self->next_send;
}

static void toy_kill (void *host)
{
    toy_free (host); //  no world call: the engine frees the world and its links
}

static void toy_stop (void *host)
{
    toy_t *self = host;
    for (int i = 0; i < SIM_HOSTS_MAX; i++)
        self->w->ops->link_close (self->w, &self->peer[i].link, 0);
    self->w->ops->close (self->w);
    toy_free (self);
}

static int toy_check (void *host, char *msg, size_t len)
{
    toy_t *self = host;
    return toy_ledger_check (self->ledger, self->index, world_now (self->w), msg, len);
}

const sim_host_ops_t sim_toy_ops = {
    .name = "toy",
    .boot = toy_boot,
    .turn = toy_turn,
    .deadline = toy_deadline,
    .kill = toy_kill,
    .stop = toy_stop,
    .check = toy_check,
};
