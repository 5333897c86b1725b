/*  node/core/world_null.c - the world of a node that has been unplugged
    (node_crash): nothing it sends leaves, nothing arrives, its clock stands
    still. A node torn down here says no goodbye, as a killed process does. */
#include "node/core/world.h"

#include <string.h>

#include "weft.h"

static int64_t null_now_ms (world_t *w)
{
    return 0;
}

static int64_t null_wall_us (world_t *w)
{
    return 0;
}

static void null_random (world_t *w, void *buf, size_t len)
{
    memset (buf, 0, len);
}

static int null_resolve (world_t *w, const char *name, char *addr, char *bcast, char *err,
                         size_t errlen)
{
    return WEFT_ENODEV;
}

static int null_listen (world_t *w, world_input_t which, const char *bind, uint16_t port,
                        const world_opts_t *opts, uint16_t *bound, char *err, size_t errlen)
{
    return WEFT_ESTATE;
}

static world_link_t *null_link_open (world_t *w, const char *endpoint, const void *id, size_t idlen,
                                     const world_opts_t *opts)
{
    return NULL;
}

static int null_send (world_t *w, world_link_t *link, zmq_msg_t *frames, size_t count)
{
    world_frames_close (frames, count);
    return -1;
}

//  A link of the world the node lived in: that world frees it (the
//  simulator owns its worlds and their links). Only the pointer goes.
static void null_link_close (world_t *w, world_link_t **link_p, int linger_ms)
{
    if (link_p)
        *link_p = NULL;
}

static int null_publish (world_t *w, zmq_msg_t *frames, size_t count)
{
    world_frames_close (frames, count);
    return -1;
}

static int null_sub_connect (world_t *w, const char *endpoint, bool on)
{
    return 0;
}

static void null_sub_filter (world_t *w, const void *prefix, size_t len, bool on)
{
}

static int null_beacon_open (world_t *w, const char *addr, const char *bcast, uint16_t port,
                             char *err, size_t errlen)
{
    return WEFT_ESTATE;
}

static int null_beacon_send (world_t *w, const void *buf, size_t len)
{
    return WEFT_EIO;
}

static int null_recv (world_t *w, world_input_t input, zmq_msg_t *frames, size_t cap, size_t *count,
                      char *from)
{
    *count = 0;
    return -1;
}

static int null_journal_open (world_t *w, const char *dir, const journal_options_t *opts,
                              journal_t **out, char *err, size_t errlen)
{
    return WEFT_ESTATE;
}

static void null_close (world_t *w)
{
}

static void null_destroy (world_t **w_p)
{
    if (w_p)
        *w_p = NULL;
}

static const world_ops_t s_null_ops = {
    .now_ms = null_now_ms,
    .wall_us = null_wall_us,
    .random = null_random,
    .resolve = null_resolve,
    .listen = null_listen,
    .link_open = null_link_open,
    .link_send = null_send,
    .link_close = null_link_close,
    .publish = null_publish,
    .sub_connect = null_sub_connect,
    .sub_filter = null_sub_filter,
    .beacon_open = null_beacon_open,
    .beacon_send = null_beacon_send,
    .recv = null_recv,
    .journal_open = null_journal_open,
    .close = null_close,
    .destroy = null_destroy,
};

static world_t s_null = {&s_null_ops};

world_t *world_null (void)
{
    return &s_null;
}
