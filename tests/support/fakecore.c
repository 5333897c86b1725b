/*  tests/support/fakecore.c - the fake world (see fakecore.h); the harness
    around a node is in fakecore_node.c. */
#include "fakecore.h"

#include <criterion/criterion.h>

//  A message waiting on an input.
typedef struct {
    zmsg_t *msg;                //  its frames
    char from[INET_ADDRSTRLEN]; //  beacons: the sender's address
} fc_in_t;

//  A message recorded as sent on a link.
typedef struct {
    char endpoint[WIRE_EP_MAX + 1]; //  where the link goes
    zmsg_t *msg;                    //  its frames, copied
} fc_sent_t;

struct world_link {
    fc_world_t *world;              //  the world it lives in
    char endpoint[WIRE_EP_MAX + 1]; //  where it goes
    uint8_t id[WIRE_UUID_SIZE + 1]; //  its routing id
    size_t idlen;                   //  its length
};

struct fc_world {
    world_t base;                  //  must come first
    int64_t now;                   //  the manual clock, ms
    uint64_t seed, counter;        //  randomness
    uint16_t next_port;            //  next port a listener gets
    jdisk_t *disk;                 //  where journals open (borrowed)
    zlistx_t *inbox[WORLD_INPUTS]; //  fc_in_t, per input
    zlistx_t *sent;                //  fc_sent_t, in send order
    zlistx_t *published;           //  zmsg_t, in publish order
    zlistx_t *links;               //  world_link_t, open (owned by their openers)
    zhashx_t *sub_eps;             //  endpoints the SUB is connected to
    zhashx_t *filters;             //  hex prefix -> count (int *)
    size_t beacons;                //  datagrams broadcast
};

static int64_t fw_now_ms (world_t *w)
{
    return ((fc_world_t *)w)->now;
}

static int64_t fw_wall_us (world_t *w)
{
    return INT64_C (1700000000000000) + ((fc_world_t *)w)->now * 1000;
}

//  splitmix64 over a counter: the same seed gives the same bytes.
static void fw_random (world_t *w, void *buf, size_t len)
{
    fc_world_t *self = (fc_world_t *)w;
    uint8_t *out = buf;
    while (len) {
        uint64_t z = self->seed + 0x9e3779b97f4a7c15ull * ++self->counter;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        size_t n = len < sizeof z ? len : sizeof z;
        memcpy (out, &z, n);
        out += n;
        len -= n;
    }
}

static int fw_resolve (world_t *w, const char *name, char *addr, char *bcast, char *err,
                       size_t errlen)
{
    (void)w, (void)name, (void)err, (void)errlen;
    snprintf (addr, INET_ADDRSTRLEN, "%s", FC_ADDR);
    snprintf (bcast, INET_ADDRSTRLEN, "198.18.255.255");
    return 0;
}

static int fw_listen (world_t *w, world_input_t which, const char *bind, uint16_t port,
                      const world_opts_t *opts, uint16_t *bound, char *err, size_t errlen)
{
    (void)bind, (void)opts, (void)err, (void)errlen;
    fc_world_t *self = (fc_world_t *)w;
    if (which != WORLD_SUB)
        *bound = port ? port : self->next_port++;
    return 0;
}

static world_link_t *fw_link_open (world_t *w, const char *endpoint, const void *id, size_t idlen,
                                   const world_opts_t *opts)
{
    (void)opts;
    fc_world_t *self = (fc_world_t *)w;
    world_link_t *link = calloc (1, sizeof *link);
    if (!link || idlen > sizeof link->id || strlen (endpoint) > WIRE_EP_MAX) {
        free (link);
        return NULL;
    }
    link->world = self;
    snprintf (link->endpoint, sizeof link->endpoint, "%s", endpoint);
    memcpy (link->id, id, idlen);
    link->idlen = idlen;
    zlistx_add_end (self->links, link);
    return link;
}

//  A zmsg holding copies of COUNT frames, which are closed.
static zmsg_t *frames_to_msg (zmq_msg_t *frames, size_t count)
{
    zmsg_t *msg = zmsg_new ();
    for (size_t i = 0; i < count; i++)
        zmsg_addmem (msg, zmq_msg_data (&frames[i]), zmq_msg_size (&frames[i]));
    world_frames_close (frames, count);
    return msg;
}

static void in_add (fc_world_t *self, world_input_t input, zmsg_t *msg, const char *from)
{
    fc_in_t *in = calloc (1, sizeof *in);
    cr_assert_not_null (in);
    in->msg = msg;
    snprintf (in->from, sizeof in->from, "%s", from ? from : "");
    zlistx_add_end (self->inbox[input], in);
}

static int fw_link_send (world_t *w, world_link_t *link, zmq_msg_t *frames, size_t count)
{
    fc_world_t *self = (fc_world_t *)w;
    zmsg_t *msg = frames_to_msg (frames, count);
    if (strcmp (link->endpoint, WORLD_SELF) == 0) { //  our own ROUTER: it arrives too
        zmsg_t *copy = zmsg_dup (msg);
        zmsg_pushmem (copy, link->id, link->idlen);
        in_add (self, WORLD_ROUTER, copy, NULL);
    }
    fc_sent_t *sent = calloc (1, sizeof *sent);
    cr_assert_not_null (sent);
    snprintf (sent->endpoint, sizeof sent->endpoint, "%s", link->endpoint);
    sent->msg = msg;
    zlistx_add_end (self->sent, sent);
    return 0;
}

static void fw_link_close (world_t *w, world_link_t **link_p, int linger_ms)
{
    (void)linger_ms;
    if (!link_p || !*link_p)
        return;
    node_list_remove (((fc_world_t *)w)->links, *link_p);
    free (*link_p);
    *link_p = NULL;
}

static int fw_publish (world_t *w, zmq_msg_t *frames, size_t count)
{
    zlistx_add_end (((fc_world_t *)w)->published, frames_to_msg (frames, count));
    return 0;
}

static int fw_sub_connect (world_t *w, const char *endpoint, bool on)
{
    fc_world_t *self = (fc_world_t *)w;
    if (on)
        zhashx_update (self->sub_eps, endpoint, "1");
    else
        zhashx_delete (self->sub_eps, endpoint);
    return 0;
}

static void fw_sub_filter (world_t *w, const void *prefix, size_t len, bool on)
{
    fc_world_t *self = (fc_world_t *)w;
    char *hex = malloc (2 * len + 1);
    cr_assert_not_null (hex);
    for (size_t i = 0; i < len; i++)
        sprintf (hex + 2 * i, "%02x", ((const uint8_t *)prefix)[i]);
    hex[2 * len] = 0;
    int *count = zhashx_lookup (self->filters, hex);
    if (!count) {
        count = calloc (1, sizeof *count);
        zhashx_insert (self->filters, hex, count);
    }
    *count += on ? 1 : (*count > 0 ? -1 : 0);
    free (hex);
}

static int fw_beacon_open (world_t *w, const char *addr, const char *bcast, uint16_t port,
                           char *err, size_t errlen)
{
    (void)w, (void)addr, (void)bcast, (void)port, (void)err, (void)errlen;
    return 0;
}

static int fw_beacon_send (world_t *w, const void *buf, size_t len)
{
    (void)buf, (void)len;
    ((fc_world_t *)w)->beacons++;
    return 0;
}

static void in_free (void **item)
{
    fc_in_t *in = *item;
    if (in) {
        zmsg_destroy (&in->msg);
        free (in);
        *item = NULL;
    }
}

static int fw_recv (world_t *w, world_input_t input, zmq_msg_t *frames, size_t cap, size_t *count,
                    char *from)
{
    fc_world_t *self = (fc_world_t *)w;
    *count = 0;
    fc_in_t *in = zlistx_first (self->inbox[input]);
    if (!in)
        return -1;
    size_t n = zmsg_size (in->msg);
    if (n <= cap) {
        size_t i = 0;
        for (zframe_t *f = zmsg_first (in->msg); f; f = zmsg_next (in->msg))
            world_frame_copy (&frames[i++], zframe_data (f), zframe_size (f));
        *count = n;
        if (from)
            memcpy (from, in->from, INET_ADDRSTRLEN);
    }
    zlistx_delete (self->inbox[input], zlistx_cursor (self->inbox[input]));
    return n <= cap ? 0 : 1;
}

static int fw_journal_open (world_t *w, const char *dir, const journal_options_t *opts,
                            journal_t **out, char *err, size_t errlen)
{
    fc_world_t *self = (fc_world_t *)w;
    if (!self->disk) {
        snprintf (err, errlen, "fake world: no disk given for %s", dir);
        return WEFT_EIO;
    }
    journal_options_t o = *opts;
    o.disk = self->disk;
    return journal_open (dir, &o, out, err, errlen);
}

static void fw_close (world_t *w)
{
    fc_world_t *self = (fc_world_t *)w;
    zhashx_purge (self->sub_eps);
    zhashx_purge (self->filters);
    for (int i = 0; i < WORLD_INPUTS; i++)
        zlistx_purge (self->inbox[i]);
}

static void fw_destroy (world_t **w_p)
{
    fc_world_t *self = w_p ? (fc_world_t *)*w_p : NULL;
    fc_world_destroy (&self);
    if (w_p)
        *w_p = NULL;
}

static const world_ops_t s_fake_ops = {
    .now_ms = fw_now_ms,
    .wall_us = fw_wall_us,
    .random = fw_random,
    .resolve = fw_resolve,
    .listen = fw_listen,
    .link_open = fw_link_open,
    .link_send = fw_link_send,
    .link_close = fw_link_close,
    .publish = fw_publish,
    .sub_connect = fw_sub_connect,
    .sub_filter = fw_sub_filter,
    .beacon_open = fw_beacon_open,
    .beacon_send = fw_beacon_send,
    .recv = fw_recv,
    .journal_open = fw_journal_open,
    .close = fw_close,
    .destroy = fw_destroy,
};

static void sent_free (void **item)
{
    fc_sent_t *sent = *item;
    if (sent) {
        zmsg_destroy (&sent->msg);
        free (sent);
        *item = NULL;
    }
}

fc_world_t *fc_world_new (uint64_t seed)
{
    fc_world_t *self = calloc (1, sizeof *self);
    cr_assert_not_null (self);
    self->base.ops = &s_fake_ops;
    self->now = 1000;
    self->seed = seed;
    self->next_port = 5000;
    for (int i = 0; i < WORLD_INPUTS; i++) {
        self->inbox[i] = zlistx_new ();
        zlistx_set_destructor (self->inbox[i], in_free);
    }
    self->sent = zlistx_new ();
    zlistx_set_destructor (self->sent, sent_free);
    self->published = zlistx_new ();
    zlistx_set_destructor (self->published, (zlistx_destructor_fn *)zmsg_destroy);
    self->links = zlistx_new ();
    self->sub_eps = zhashx_new ();
    self->filters = zhashx_new ();
    zhashx_set_destructor (self->filters, (zhashx_destructor_fn *)zstr_free);
    return self;
}

void fc_world_destroy (fc_world_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fc_world_t *self = *self_p;
    for (int i = 0; i < WORLD_INPUTS; i++)
        zlistx_destroy (&self->inbox[i]);
    zlistx_destroy (&self->sent);
    zlistx_destroy (&self->published);
    cr_expect_eq (zlistx_size (self->links), 0, "links left open: %zu", zlistx_size (self->links));
    zlistx_destroy (&self->links);
    zhashx_destroy (&self->sub_eps);
    zhashx_destroy (&self->filters);
    free (self);
    *self_p = NULL;
}

void fc_world_crash (fc_world_t *self)
{
    for (world_link_t *l = zlistx_first (self->links); l; l = zlistx_next (self->links))
        free (l);
    zlistx_purge (self->links);
    fw_close (&self->base);
}

world_t *fc_world_base (fc_world_t *self)
{
    return &self->base;
}

void fc_world_set_disk (fc_world_t *self, jdisk_t *disk)
{
    self->disk = disk;
}

int64_t fc_world_now (fc_world_t *self)
{
    return self->now;
}

void fc_world_advance (fc_world_t *self, int64_t ms)
{
    self->now += ms > 0 ? ms : 0;
}

void fc_world_inject (fc_world_t *self, world_input_t input, zmsg_t **msg_p, const char *from)
{
    in_add (self, input, *msg_p, from);
    *msg_p = NULL;
}

//  True when a message sent to E matches ENDPOINT (NULL: any).
static bool ep_match (const char *endpoint, const char *e)
{
    return !endpoint || strcmp (endpoint, e) == 0;
}

zmsg_t *fc_world_take_sent (fc_world_t *self, const char *endpoint)
{
    zmsg_t *msg = NULL;
    fc_world_sent_walk (self, endpoint, NULL, NULL, &msg);
    return msg;
}

size_t fc_world_sent_count (fc_world_t *self, const char *endpoint)
{
    return fc_world_sent_walk (self, endpoint, NULL, NULL, NULL);
}

size_t fc_world_sent_walk (fc_world_t *self, const char *endpoint, fc_match_fn *match, void *arg,
                           zmsg_t **take)
{
    size_t n = 0;
    for (fc_sent_t *s = zlistx_first (self->sent); s; s = zlistx_next (self->sent)) {
        if (!ep_match (endpoint, s->endpoint) || (match && !match (s->msg, arg)))
            continue;
        n++;
        if (take) {
            *take = s->msg;
            s->msg = NULL;
            zlistx_delete (self->sent, zlistx_cursor (self->sent));
            return 1;
        }
    }
    return n;
}

zmsg_t *fc_world_take_published (fc_world_t *self)
{
    zmsg_t *msg = zlistx_first (self->published);
    if (msg)
        zlistx_detach_cur (self->published);
    return msg;
}

size_t fc_world_pending (fc_world_t *self, world_input_t input)
{
    return zlistx_size (self->inbox[input]);
}

size_t fc_world_beacons_sent (fc_world_t *self)
{
    return self->beacons;
}

void fc_world_clear (fc_world_t *self)
{
    zlistx_purge (self->sent);
    zlistx_purge (self->published);
    self->beacons = 0;
}

int fc_world_links_open (fc_world_t *self, const char *endpoint)
{
    int n = 0;
    for (world_link_t *l = zlistx_first (self->links); l; l = zlistx_next (self->links))
        n += strcmp (l->endpoint, endpoint) == 0;
    return n;
}

bool fc_world_sub_connected (fc_world_t *self, const char *endpoint)
{
    return zhashx_lookup (self->sub_eps, endpoint) != NULL;
}

int fc_world_sub_filter (fc_world_t *self, const void *prefix, size_t len)
{
    char hex[2 * TOPIC_MAX + 3];
    for (size_t i = 0; i < len && i <= TOPIC_MAX; i++)
        sprintf (hex + 2 * i, "%02x", ((const uint8_t *)prefix)[i]);
    hex[2 * (len <= TOPIC_MAX ? len : TOPIC_MAX)] = 0;
    int *count = zhashx_lookup (self->filters, hex);
    return count ? *count : 0;
}
