/*  node/core/world_real.c - the real world over ZeroMQ, UDP and LevelDB.

    Every socket here was, before the world existed, created inline by the
    part of the node that used it; the options are the same ones.
*/
#include "node/core/world_real.h"

#include <czmq.h>
#include <time.h>

#include "discovery/iface.h"
#include "discovery/udp.h"
#include "weft.h"

//  A raw libzmq DEALER, not a zsock_t: zsock_new asserts when libzmq
//  refuses a socket (too many open), and how many links we open is up to
//  what peers say; a refused socket must be an error, never an abort.
struct world_link {
    void *dealer; //  connected to the peer's ROUTER
};

typedef struct {
    world_t base;                //  must come first
    zsock_t *sock[WORLD_INPUTS]; //  ROUTER, SUB, XPUB (BEACON unused)
    void *raw[WORLD_INPUTS];     //  their libzmq sockets, resolved once (the hot path)
    udp_t *udp;                  //  beacons; NULL until beacon_open
    char self_ep[64];            //  inproc endpoint of our own ROUTER
} real_t;

static int64_t real_now_ms (world_t *w)
{
    (void)w;
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_wall_us (world_t *w)
{
    (void)w;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  zuuid draws from the system's entropy (libuuid or /dev/urandom).
static void real_random (world_t *w, void *buf, size_t len)
{
    (void)w;
    uint8_t *out = buf;
    while (len) {
        zuuid_t *uuid = zuuid_new ();
        size_t n = len < ZUUID_LEN ? len : ZUUID_LEN;
        if (uuid)
            memcpy (out, zuuid_data (uuid), n);
        else
            memset (out, 0, n); //  out of memory: zeros rather than garbage
        zuuid_destroy (&uuid);
        out += n;
        len -= n;
    }
}

static int real_resolve (world_t *w, const char *name, char *addr, char *bcast, char *err,
                         size_t errlen)
{
    (void)w;
    return iface_resolve (name, addr, bcast, err, errlen);
}

//  Binds SOCK on BIND:PORT (PORT 0: any). Returns 0 or WEFT_E* with ERR.
static int bind_tcp (zsock_t *sock, const char *what, const char *bind, uint16_t port,
                     uint16_t *bound, char *err, size_t errlen)
{
    int rc =
        port ? zsock_bind (sock, "tcp://%s:%u", bind, port) : zsock_bind (sock, "tcp://%s:*", bind);
    if (rc < 0) {
        int e = zmq_errno ();
        char pbuf[8] = "*";
        if (port)
            snprintf (pbuf, sizeof pbuf, "%u", port);
        snprintf (err, errlen, "cannot bind %s to tcp://%s:%s: %s", what, bind, pbuf,
                  zmq_strerror (e));
        return e == EADDRINUSE ? WEFT_EADDRINUSE : WEFT_EIO;
    }
    *bound = (uint16_t)(port ? port : rc);
    return 0;
}

static int real_listen (world_t *w, world_input_t which, const char *bind, uint16_t port,
                        const world_opts_t *o, uint16_t *bound, char *err, size_t errlen)
{
    real_t *self = (real_t *)w;
    static const int types[WORLD_INPUTS] = {ZMQ_ROUTER, ZMQ_SUB, ZMQ_XPUB, 0};
    if (which == WORLD_BEACON || self->sock[which])
        return WEFT_EINVAL;
    zsock_t *sock = self->sock[which] = zsock_new (types[which]);
    if (!sock)
        return WEFT_ENOMEM;
    self->raw[which] = zsock_resolve (sock);
    if (o->sndhwm)
        zsock_set_sndhwm (sock, o->sndhwm);
    if (o->rcvhwm)
        zsock_set_rcvhwm (sock, o->rcvhwm);
    if (o->maxmsgsize)
        zsock_set_maxmsgsize (sock, o->maxmsgsize);
    zsock_set_linger (sock, o->linger_ms);
    if (which == WORLD_SUB)
        return 0;
    if (which == WORLD_ROUTER) {
        zsock_set_router_handover (sock, 1);
        //  our own traffic reaches our ROUTER in-process (WORLD_SELF)
        snprintf (self->self_ep, sizeof self->self_ep, "inproc://weft-router-%p", (void *)self);
        if (zsock_bind (sock, "%s", self->self_ep) < 0) {
            snprintf (err, errlen, "cannot bind the ROUTER's loopback: %s",
                      zmq_strerror (zmq_errno ()));
            return WEFT_EIO;
        }
    }
    return bind_tcp (sock, which == WORLD_ROUTER ? "ROUTER" : "PUB", bind, port, bound, err,
                     errlen);
}

static world_link_t *real_link_open (world_t *w, const char *endpoint, const void *id, size_t idlen,
                                     const world_opts_t *o)
{
    real_t *self = (real_t *)w;
    world_link_t *link = calloc (1, sizeof *link);
    if (!link || !(link->dealer = zmq_socket (zsys_init (), ZMQ_DEALER))) {
        free (link);
        return NULL;
    }
    int linger = o->linger_ms;
    zmq_setsockopt (link->dealer, ZMQ_ROUTING_ID, id, idlen);
    zmq_setsockopt (link->dealer, ZMQ_LINGER, &linger, sizeof linger);
    if (o->sndhwm)
        zmq_setsockopt (link->dealer, ZMQ_SNDHWM, &o->sndhwm, sizeof o->sndhwm);
    if (o->reconnect_ivl_ms)
        zmq_setsockopt (link->dealer, ZMQ_RECONNECT_IVL, &o->reconnect_ivl_ms,
                        sizeof o->reconnect_ivl_ms);
    if (o->reconnect_max_ms)
        zmq_setsockopt (link->dealer, ZMQ_RECONNECT_IVL_MAX, &o->reconnect_max_ms,
                        sizeof o->reconnect_max_ms);
    bool self_link = strcmp (endpoint, WORLD_SELF) == 0;
    if (zmq_connect (link->dealer, self_link ? self->self_ep : endpoint) < 0) {
        zmq_close (link->dealer);
        free (link);
        return NULL;
    }
    return link;
}

//  Sends COUNT frames on SOCK without blocking; closes what it could not send.
static int send_frames (void *sock, zmq_msg_t *frames, size_t count)
{
    size_t i = 0;
    for (; i < count; i++) {
        int more = i + 1 < count ? ZMQ_SNDMORE : 0;
        if (zmq_msg_send (&frames[i], sock, ZMQ_DONTWAIT | more) < 0)
            break;
    }
    if (i == count)
        return 0;
    //  a message is atomic in libzmq: a failed first frame sends nothing, and
    //  once the first frame is taken the rest of the message always is
    world_frames_close (frames + i, count - i);
    return -1;
}

static int real_link_send (world_t *w, world_link_t *link, zmq_msg_t *frames, size_t count)
{
    (void)w;
    return send_frames (link->dealer, frames, count);
}

static void real_link_close (world_t *w, world_link_t **link_p, int linger_ms)
{
    (void)w;
    if (!link_p || !*link_p)
        return;
    zmq_setsockopt ((*link_p)->dealer, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    zmq_close ((*link_p)->dealer);
    free (*link_p);
    *link_p = NULL;
}

static int real_publish (world_t *w, zmq_msg_t *frames, size_t count)
{
    real_t *self = (real_t *)w;
    if (!self->raw[WORLD_XPUB]) {
        world_frames_close (frames, count);
        return -1;
    }
    return send_frames (self->raw[WORLD_XPUB], frames, count);
}

static int real_sub_connect (world_t *w, const char *endpoint, bool on)
{
    real_t *self = (real_t *)w;
    zsock_t *sub = self->sock[WORLD_SUB];
    int rc = on ? zsock_connect (sub, "%s", endpoint) : zsock_disconnect (sub, "%s", endpoint);
    return rc < 0 ? WEFT_EINVAL : 0;
}

static void real_sub_filter (world_t *w, const void *prefix, size_t len, bool on)
{
    real_t *self = (real_t *)w;
    zmq_setsockopt (self->raw[WORLD_SUB], on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, prefix, len);
}

static int real_beacon_open (world_t *w, const char *addr, const char *bcast, uint16_t port,
                             char *err, size_t errlen)
{
    real_t *self = (real_t *)w;
    return udp_new (addr, bcast, port, &self->udp, err, errlen);
}

static int real_beacon_send (world_t *w, const void *buf, size_t len)
{
    real_t *self = (real_t *)w;
    return self->udp ? udp_send (self->udp, buf, len) : WEFT_ESTATE;
}

//  One datagram as one frame.
static int recv_beacon (real_t *self, zmq_msg_t *frame, size_t *count, char *from)
{
    uint8_t buf[512];
    size_t len = 0;
    if (!self->udp || udp_recv (self->udp, buf, sizeof buf, &len, from))
        return -1;
    world_frame_copy (frame, buf, len);
    *count = 1;
    return 0;
}

static int real_recv (world_t *w, world_input_t input, zmq_msg_t *frames, size_t cap, size_t *count,
                      char *from)
{
    real_t *self = (real_t *)w;
    *count = 0;
    if (input == WORLD_BEACON)
        return recv_beacon (self, frames, count, from);
    void *sock = self->raw[input];
    if (!sock)
        return -1;
    size_t n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t spare;
        zmq_msg_t *part = n < cap ? &frames[n] : &spare;
        zmq_msg_init (part);
        //  only the first frame can be missing; the rest of a message is there
        if (zmq_msg_recv (part, sock, n ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (part);
            break;
        }
        more = zmq_msg_more (part);
        if (part == &spare)
            zmq_msg_close (part);
        n++;
    }
    if (n == 0)
        return -1;
    if (n > cap) {
        world_frames_close (frames, cap);
        return 1;
    }
    *count = n;
    return 0;
}

static int real_journal_open (world_t *w, const char *dir, const journal_options_t *opts,
                              journal_t **out, char *err, size_t errlen)
{
    (void)w;
    return journal_open (dir, opts, out, err, errlen);
}

static void real_close (world_t *w)
{
    real_t *self = (real_t *)w;
    for (int i = 0; i < WORLD_INPUTS; i++) {
        zsock_destroy (&self->sock[i]);
        self->raw[i] = NULL;
    }
    udp_destroy (&self->udp);
}

static void real_destroy (world_t **w_p)
{
    if (!w_p || !*w_p)
        return;
    real_close (*w_p);
    free (*w_p);
    *w_p = NULL;
}

static const world_ops_t s_real_ops = {
    .now_ms = real_now_ms,
    .wall_us = real_wall_us,
    .random = real_random,
    .resolve = real_resolve,
    .listen = real_listen,
    .link_open = real_link_open,
    .link_send = real_link_send,
    .link_close = real_link_close,
    .publish = real_publish,
    .sub_connect = real_sub_connect,
    .sub_filter = real_sub_filter,
    .beacon_open = real_beacon_open,
    .beacon_send = real_beacon_send,
    .recv = real_recv,
    .journal_open = real_journal_open,
    .close = real_close,
    .destroy = real_destroy,
};

world_t *world_real_new (void)
{
    real_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->base.ops = &s_real_ops;
    return &self->base;
}

int world_real_wait (world_t *w, void *pipe, long timeout_ms, bool ready[WORLD_INPUTS],
                     bool *pipe_ready)
{
    real_t *self = (real_t *)w;
    zmq_pollitem_t items[WORLD_INPUTS + 1];
    int map[WORLD_INPUTS + 1];
    int n = 0;
    if (pipe) {
        items[n] = (zmq_pollitem_t){pipe, 0, ZMQ_POLLIN, 0};
        map[n++] = -1;
    }
    for (int i = 0; i < WORLD_INPUTS; i++) {
        ready[i] = false;
        if (i == WORLD_BEACON && self->udp)
            items[n] = (zmq_pollitem_t){NULL, udp_fd (self->udp), ZMQ_POLLIN, 0};
        else if (i != WORLD_BEACON && self->sock[i])
            items[n] = (zmq_pollitem_t){self->raw[i], 0, ZMQ_POLLIN, 0};
        else
            continue;
        map[n++] = i;
    }
    *pipe_ready = false;
    int rc = zmq_poll (items, n, timeout_ms);
    if (rc <= 0)
        return rc;
    for (int k = 0; k < n; k++)
        if (items[k].revents & ZMQ_POLLIN) {
            if (map[k] < 0)
                *pipe_ready = true;
            else
                ready[map[k]] = true;
        }
    return rc;
}
