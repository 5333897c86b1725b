/*  node/membership/membership.c - who is out there: beacons, the peer table, the
    HELLO / PEERS / PING / BYE handshake, evasive and expired peers (the SWIM
    part - probes, suspicion, refutation, the dead list - is in swim.c).

    A peer enters the table when we hear its beacon, when it says HELLO to us,
    or when another peer gossips it (PEERS). Entering means: a DEALER to its
    ROUTER, our SUB connected to its PUB, and our HELLO + PEERS sent to it. It
    is reported as joined when its own HELLO arrives. Any beacon or message
    from it refreshes it; silence makes it evasive, then expired. A leaving
    beacon or a BYE removes it at once. The protocol is in docs/PROTOCOL.md.
*/
#include "node/membership/membership.h"

#include <ctype.h>

#include "common/hex.h"
#include "discovery/beacon.h"
#include "node/core/config.h"

#define MAX_PEERS   1024 //  gossip never grows the table beyond this
#define LEAVE_GRACE 500  //  ms a leaving beacon waits for the peer's BYE
#define SEED_TAG    'S'  //  17th routing-id byte of a seed DEALER (see PROTOCOL.md)

//  True for an endpoint we are willing to connect to: "tcp://HOST:PORT", a
//  host of letters, digits, dots, dashes (no wildcard), a port 1..65535.
//  What a peer says here becomes a socket: anything else is refused before
//  one is made (a stranger's HELLO must not cost us a connect attempt).
static bool endpoint_ok (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6, *colon = strrchr (host, ':');
    if (!colon || colon == host)
        return false;
    for (const char *p = host; p < colon; p++)
        if (!isalnum ((unsigned char)*p) && *p != '.' && *p != '-')
            return false;
    char *end = NULL;
    long port = strtol (colon + 1, &end, 10);
    return colon[1] && *end == 0 && port > 0 && port < 65536;
}

//  Encodes our HELLO into self->sbuf, with WIRE_HELLO_* FLAGS.
static void encode_hello (node_t *self, uint32_t flags)
{
    wire_hello_t hello = {.incarnation = self->incarnation,
                          .flags = flags,
                          .cluster = membership_of (self)->cluster_id,
                          .role = self->role,
                          .caps = WIRE_CAP_PUBSUB | WIRE_CAP_QUEUES | WIRE_CAP_VHEAD |
                                  (self->journal ? WIRE_CAP_JOURNAL : 0),
                          .capacity = self->capacity};
    memcpy (hello.uuid, self->uuid, WIRE_UUID_SIZE);
    snprintf (hello.name, sizeof hello.name, "%s", self->name);
    snprintf (hello.router_ep, sizeof hello.router_ep, "%s", self->router_ep);
    snprintf (hello.pub_ep, sizeof hello.pub_ep, "%s", self->pub_ep);
    wire_encode_hello (&self->sbuf, &hello);
}

//  Sends PEERS (the joined, live peers other than TO) to peer TO.
static void send_peers (node_t *self, peer_t *to)
{
    size_t cap = zhashx_size (self->peers);
    cap = cap < WIRE_PEERS_MAX ? cap : WIRE_PEERS_MAX;
    wire_peer_t *list = calloc (cap ? cap : 1, sizeof *list);
    if (!list)
        return;
    size_t count = 0;
    for (peer_t *p = zhashx_first (self->peers); p && count < cap; p = zhashx_next (self->peers)) {
        if (p == to || !p->joined || p->evasive)
            continue;
        wire_peer_t *w = &list[count++];
        memcpy (w->uuid, p->uuid, WIRE_UUID_SIZE);
        w->incarnation = p->incarnation;
        w->role = p->role;
        snprintf (w->router_ep, sizeof w->router_ep, "%s", p->router_ep);
        snprintf (w->pub_ep, sizeof w->pub_ep, "%s", p->pub_ep);
    }
    count = wire_peers_fit (list, count, (size_t)config_int (self->cfg, CFG_LIMITS_MAX_HEADER));
    if (wire_encode_peers (&self->sbuf, list, count) == 0)
        node_send (self, to->link, NULL, 0);
    free (list);
}

void membership_send_hello (node_t *self, peer_t *peer, uint32_t flags)
{
    encode_hello (self, flags);
    node_send (self, peer->link, NULL, 0);
}

static void peer_drop (node_t *self, peer_t *peer, int kind, bool foreign);

peer_t *membership_add (node_t *self, const uint8_t *uuid, uint64_t incarnation, uint8_t role,
                        const char *router_ep, const char *pub_ep, peer_source_t source)
{
    if (zhashx_size (self->peers) >= MAX_PEERS || !endpoint_ok (router_ep) || !endpoint_ok (pub_ep))
        return NULL;
    //  a peer at its endpoint that is not it is gone (a member restarted
    //  with a new identity on the old one's port): our two links there
    //  would share one routing id at its ROUTER and take it from each other
    peer_t *stale = NULL;
    for (peer_t *p = zhashx_first (self->peers); p && !stale; p = zhashx_next (self->peers))
        if (strcmp (p->router_ep, router_ep) == 0 && memcmp (p->uuid, uuid, WIRE_UUID_SIZE) != 0)
            stale = p;
    if (stale) {
        wlog_info (&self->log, "%s (%s) replaced at %s", stale->name, stale->uuid_hex,
                   stale->router_ep);
        peer_drop (self, stale, WEFT_MSG_LEAVE, false);
    }
    peer_t *peer = node_peer_new (self, uuid);
    if (!peer)
        return NULL;
    peer->incarnation = incarnation;
    peer->role = role;
    peer->source = source;
    peer->last_seen = node_now (self);
    snprintf (peer->router_ep, sizeof peer->router_ep, "%s", router_ep);
    snprintf (peer->pub_ep, sizeof peer->pub_ep, "%s", pub_ep);
    peer->link = node_link_open (self, router_ep, 0);
    if (!peer->link) {
        node_peer_discard (self, peer);
        return NULL;
    }
    if (node_peer_insert (self, peer) != 0)
        return NULL;               //  it freed the peer, link included
    swim_dead_forget (self, uuid); //  alive again
    encode_hello (self, WIRE_HELLO_ANSWER);
    node_send (self, peer->link, NULL, 0);
    send_peers (self, peer);
    wlog_debug (&self->log, "peer %s at %s (via %s)", peer->uuid_hex, router_ep,
                (const char *[]){"beacon", "seed", "gossip", "hello"}[source]);
    return peer;
}

peer_t *membership_readd (node_t *self, dead_t *dead)
{
    int64_t now = node_now (self);
    if (dead->left || now - dead->readd_at < self->interval)
        return NULL; //  at most one try per interval
    dead->readd_at = now;
    membership_of (self)->swim.readmits++;
    wlog_info (&self->log, "taking back %s: it is alive", dead->router_ep);
    return membership_add (self, dead->uuid, dead->incarnation, dead->role, dead->router_ep,
                           dead->pub_ep, SOURCE_HELLO);
}

//  Removes PEER, reporting KIND (WEFT_MSG_LEAVE or WEFT_MSG_EXPIRED) if it had
//  joined, and remembers it dead (unless FOREIGN: it was never one of ours).
static void peer_drop (node_t *self, peer_t *peer, int kind, bool foreign)
{
    if (!foreign)
        swim_dead (self, peer, kind == WEFT_MSG_LEAVE);
    if (peer->joined) {
        node_emit_peer (self, kind, peer);
        if (kind == WEFT_MSG_LEAVE)
            self->counters.leaves++;
        else
            self->counters.expiries++;
        wlog_info (&self->log, "%s %s (%s)", kind == WEFT_MSG_LEAVE ? "leave" : "expired",
                   peer->name, peer->uuid_hex);
    }
    node_peer_remove (self, peer);
}

static int membership_start (node_t *self, void *state, char *err, size_t errlen)
{
    membership_of (self)->cluster_id =
        beacon_cluster_id (config_value (self->cfg, CFG_CLUSTER_NAME));
    membership_of (self)->probe_k = (int)config_int (self->cfg, CFG_DISCOVERY_PROBE_K);
    membership_of (self)->seeds = zlistx_new ();
    membership_of (self)->pending = zlistx_new ();
    if (!membership_of (self)->seeds || !membership_of (self)->pending)
        return WEFT_ENOMEM;
    zlistx_set_destructor (membership_of (self)->pending, (zlistx_destructor_fn *)zstr_free);
    if (config_bool (self->cfg, CFG_DISCOVERY_ENABLED)) {
        int port = (int)config_int (self->cfg, CFG_DISCOVERY_PORT);
        int rc = self->world->ops->beacon_open (self->world, self->addr, self->bcast,
                                                (uint16_t)port, err, errlen);
        if (rc)
            return rc;
        self->beacons = true;
    }
    const char *seeds = config_value (self->cfg, CFG_DISCOVERY_SEEDS);
    while (*seeds) {
        size_t len = strcspn (seeds, ",");
        if (len && len <= WIRE_EP_MAX) {
            seed_t *seed = calloc (1, sizeof *seed);
            if (!seed)
                return WEFT_ENOMEM;
            memcpy (seed->endpoint, seeds, len);
            seed->link = node_link_open (self, seed->endpoint, SEED_TAG);
            zlistx_add_end (membership_of (self)->seeds, seed);
        }
        seeds += len + (seeds[len] == ',');
    }
    return 0;
}

//  Encodes and broadcasts our beacon.
static void send_beacon (node_t *self, bool leaving)
{
    beacon_t beacon = {.version = BEACON_VERSION,
                       .leaving = leaving,
                       .role = self->role,
                       .cluster_id = membership_of (self)->cluster_id,
                       .incarnation = self->incarnation,
                       .router_port = self->router_port,
                       .pub_port = self->pub_port};
    memcpy (beacon.uuid, self->uuid, WIRE_UUID_SIZE);
    uint8_t buf[BEACON_SIZE];
    if (beacon_encode (&beacon, buf, sizeof buf) == BEACON_SIZE &&
        self->world->ops->beacon_send (self->world, buf, sizeof buf))
        wlog_debug (&self->log, "beacon to %s not sent", self->bcast);
}

static void membership_stop (node_t *self, void *state)
{
    //  BYE first: it travels behind everything already sent to each peer (acks,
    //  for instance), which a UDP beacon could overtake
    wire_encode_bye (&self->sbuf);
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers)) {
        node_send (self, p->link, NULL, 0);
        node_link_close (self, &p->link, 200); //  let BYE leave before the socket closes
    }
    if (self->beacons) {
        send_beacon (self, true);
        self->beacons = false; //  the world closes the socket
    }
    membership_t *ms = state;
    for (seed_t *s = ms->seeds ? zlistx_first (ms->seeds) : NULL; s; s = zlistx_next (ms->seeds)) {
        node_link_close (self, &s->link, 0);
        free (s);
    }
    zlistx_destroy (&ms->seeds);
    zlistx_destroy (&ms->pending);
}

//  Handles one decoded beacon from address FROM.
static void on_beacon (node_t *self, const beacon_t *beacon, const char *from)
{
    peer_t *peer = node_peer_find (self, beacon->uuid);
    if (peer && beacon->leaving && peer->incarnation == beacon->incarnation) {
        //  its BYE (over TCP, behind what it sent last) normally removes it; the
        //  beacon only makes sure it goes soon if the BYE is lost
        if (!peer->leaving_at)
            peer->leaving_at = node_now (self) + LEAVE_GRACE;
        return;
    }
    if (peer && (beacon->leaving || peer->incarnation != beacon->incarnation)) {
        peer_drop (self, peer, WEFT_MSG_LEAVE, false);
        peer = NULL;
    }
    if (beacon->leaving)
        return;
    if (!peer) {
        char router_ep[64], pub_ep[64];
        snprintf (router_ep, sizeof router_ep, "tcp://%s:%u", from, beacon->router_port);
        snprintf (pub_ep, sizeof pub_ep, "tcp://%s:%u", from, beacon->pub_port);
        peer = membership_add (self, beacon->uuid, beacon->incarnation, beacon->role, router_ep,
                               pub_ep, SOURCE_BEACON);
    }
    if (peer)
        node_peer_heard (self, peer);
}

static void membership_on_beacon (node_t *self, void *state)
{
    for (int i = 0; i < 256; i++) {
        zmq_msg_t datagram;
        size_t count = 0;
        char from[INET_ADDRSTRLEN];
        if (self->world->ops->recv (self->world, WORLD_BEACON, &datagram, 1, &count, from))
            return; //  nothing more waiting (or an error, which the next poll retries)
        beacon_t beacon;
        beacon_result_t result =
            beacon_decode (zmq_msg_data (&datagram), zmq_msg_size (&datagram), &beacon);
        zmq_msg_close (&datagram);
        if (result == BEACON_BAD_MAGIC || result == BEACON_BAD_VERSION)
            self->counters.foreign_beacons++;
        else if (result != BEACON_OK)
            self->counters.bad_beacons++;
        else if (beacon.cluster_id != membership_of (self)->cluster_id)
            self->counters.foreign_beacons++;
        else if (memcmp (beacon.uuid, self->uuid, WIRE_UUID_SIZE) != 0)
            on_beacon (self, &beacon, from);
    }
}

//  HELLO: the sender introduces itself. Unknown senders are added.
static void on_hello (node_t *self, const uint8_t *from, bool via_seed, peer_t *peer)
{
    wire_hello_t hello;
    if (wire_get_hello (self->decoder, &hello) || memcmp (hello.uuid, from, WIRE_UUID_SIZE) != 0) {
        self->counters.bad_frames++;
        return;
    }
    if (memcmp (hello.uuid, self->uuid, WIRE_UUID_SIZE) == 0)
        return; //  our own HELLO, through a seed list that names us
    //  a member belongs to its cluster.name; a client (the weft tool, given
    //  --node) to the cluster of the first member it takes, whatever its name
    membership_t *ms = membership_of (self);
    uint64_t ours = self->role == WIRE_ROLE_MEMBER ? ms->cluster_id : ms->joined_cluster;
    if (hello.cluster && hello.role == WIRE_ROLE_MEMBER && ours && hello.cluster != ours) {
        //  a member of another cluster (it took over the port of one of ours,
        //  or a seed list is wrong): never a peer.
        if (self->counters.foreign_hellos++ == 0 || peer)
            wlog_warn (&self->log,
                       "HELLO of %s (%s) refused: it belongs to another cluster (not '%s')",
                       hello.name, hello.router_ep, config_value (self->cfg, CFG_CLUSTER_NAME));
        if (peer)
            peer_drop (self, peer, WEFT_MSG_LEAVE, true);
        return;
    }
    if (peer && peer->incarnation != hello.incarnation) {
        peer_drop (self, peer, WEFT_MSG_LEAVE, false);
        peer = NULL;
    }
    bool known = peer != NULL;
    if (!peer)
        peer = membership_add (self, hello.uuid, hello.incarnation, hello.role, hello.router_ep,
                               hello.pub_ep, SOURCE_HELLO);
    if (!peer) {
        self->counters.bad_frames++;
        return;
    }
    node_peer_heard (self, peer);
    if (!ours && hello.role == WIRE_ROLE_MEMBER)
        ms->joined_cluster = hello.cluster; //  a client: this is our cluster now
    snprintf (peer->name, sizeof peer->name, "%s", hello.name);
    peer->role = hello.role;
    bool changed = peer->capacity != hello.capacity;
    peer->capacity = hello.capacity;
    peer->caps = hello.caps;
    if (known)
        send_peers (self, peer); //  seeds say HELLO every interval: keep them informed
    if (known && (hello.flags & WIRE_HELLO_ANSWER) && !via_seed) {
        //  it has just added us (it had expired us: a pause, a partition, a
        //  lost link) while we still knew it: it counts us joined only once
        //  our HELLO comes. The answer asks for none, so it never loops.
        membership_send_hello (self, peer, 0);
        if (peer->joined && !(hello.flags & WIRE_HELLO_AGAIN)) {
            //  we learn it had dropped us: whoever else suspected us hears
            //  that we are alive (a higher alive number)
            membership_of (self)->swim.expired_learned++;
            wlog_info (&self->log, "%s had dropped us: answered, back in its view", peer->name);
            swim_refute (self, membership_of (self)->alive);
        }
    }
    if (!peer->joined) {
        peer->joined = true;
        self->counters.joins++;
        node_emit_peer (self, WEFT_MSG_JOIN, peer);
        wlog_info (&self->log, "join %s (%s) at %s", peer->name, peer->uuid_hex, peer->router_ep);
        node_peer_event (self, peer, PEER_JOINED);
    } else if (changed)
        node_peer_event (self, peer, PEER_CHANGED);
}

//  PEERS: gossip of peers the sender knows; connect to the ones we do not.
static void on_peers (node_t *self)
{
    wire_peers_t *list = malloc (sizeof *list);
    if (!list)
        return;
    if (wire_get_peers (self->decoder, list) == 0) {
        for (size_t i = 0; i < list->count; i++) {
            wire_peer_t *w = &list->peers[i];
            if (memcmp (w->uuid, self->uuid, WIRE_UUID_SIZE) == 0 || node_peer_find (self, w->uuid))
                continue;
            dead_t *dead = swim_dead_find (self, w->uuid);
            if (dead && dead->incarnation == w->incarnation) {
                //  that run of it expired or left here: its endpoint may
                //  be someone else's now. It is taken back if it speaks.
                membership_of (self)->swim.gossip_ignored++;
                continue;
            }
            membership_add (self, w->uuid, w->incarnation, w->role, w->router_ep, w->pub_ep,
                            SOURCE_GOSSIP);
        }
    } else
        self->counters.bad_frames++;
    free (list);
}

//  A membership message of TYPE (HELLO, PEERS, PING, BYE, STATUS_*), from
//  PEER (NULL when not in the table: only HELLO is taken from strangers).
static void membership_on_message (node_t *self, void *state, peer_t *peer, int type,
                                   zmq_msg_t *from, zmq_msg_t *body, zmq_msg_t *extra)
{
    if (type == WIRE_HELLO) {
        on_hello (self, zmq_msg_data (from), zmq_msg_size (from) == WIRE_UUID_SIZE + 1, peer);
        return;
    }
    if (!peer) {
        //  not (or no longer) a peer. A dead member that PINGs us still
        //  counts us as its peer: take it back from what we remembered
        //  (it would never say HELLO again on its own)
        dead_t *dead = type == WIRE_PING && zmq_msg_size (from) == WIRE_UUID_SIZE
                           ? swim_dead_find (self, zmq_msg_data (from))
                           : NULL;
        if (dead)
            membership_readd (self, dead);
        return;
    }
    switch (type) {
    case WIRE_PING:
        swim_on_ping (self, peer);
        break;
    case WIRE_PEERS:
        if (peer->joined) //  gossip only from peers whose HELLO (and cluster) we checked
            on_peers (self);
        break;
    case WIRE_BYE:
        peer_drop (self, peer, WEFT_MSG_LEAVE, false);
        break;
    case WIRE_STATUS_REQ:
    case WIRE_STATUS_REP:
        membership_on_status (self, type, peer, body);
        break;
    default:
        self->counters.unknown_type++;
    }
}

//  Beacon, PING to every peer, HELLO to every seed.
static void on_interval (node_t *self)
{
    if (self->silenced)
        return;
    if (self->beacons)
        send_beacon (self, false);
    swim_heartbeat (self);
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (!p->joined) { //  our HELLO or its answer may have been lost
            membership_send_hello (self, p, WIRE_HELLO_ANSWER);
            membership_of (self)->swim.hello_retries++;
        }
    encode_hello (self, 0); //  seeds answer with PEERS, not HELLO
    for (seed_t *s = zlistx_first (membership_of (self)->seeds); s;
         s = zlistx_next (membership_of (self)->seeds))
        if (s->link)
            node_send (self, s->link, NULL, 0);
}

//  Reports evasive peers and removes expired ones.
static void check_peers (node_t *self, int64_t now)
{
    zlistx_t *expired = zlistx_new ();
    zlistx_t *left = zlistx_new ();
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers)) {
        int64_t silence = now - p->last_seen;
        if (p->leaving_at && now >= p->leaving_at)
            zlistx_add_end (left, p);
        else if (silence >= self->expire_after && swim_may_expire (self, p, now))
            zlistx_add_end (expired, p);
        else if (silence >= self->evasive_after && !p->evasive) {
            p->evasive = true;
            if (p->joined)
                node_emit_peer (self, WEFT_MSG_EVASIVE, p);
        }
    }
    for (peer_t *p = zlistx_first (expired); p; p = zlistx_next (expired))
        peer_drop (self, p, WEFT_MSG_EXPIRED, false);
    for (peer_t *p = zlistx_first (left); p; p = zlistx_next (left))
        peer_drop (self, p, WEFT_MSG_LEAVE, false);
    zlistx_destroy (&expired);
    zlistx_destroy (&left);
}

static void membership_on_timer (node_t *self, void *state, int64_t now, bool interval)
{
    if (interval)
        on_interval (self);
    swim_check (self, now);
    check_peers (self, now);
    membership_check_pending (self, now);
}

static const char *const s_commands[] = {"PEERS", "PSTATUS", NULL};

const subsystem_t membership_subsystem = {
    .name = "membership",
    .id = SUBSYS_MEMBERSHIP,
    .state_size = sizeof (membership_t),
    .peer_state_size = sizeof (mpeer_t),
    .type_min = WIRE_HELLO,
    .type_max = WIRE_STATUS_REP,
    .from_unknown = true,
    .commands = s_commands,
    .start = membership_start,
    .stop = membership_stop,
    .on_command = membership_on_command,
    .on_message = membership_on_message,
    .on_beacon = membership_on_beacon,
    .on_timer = membership_on_timer,
    .status = swim_status,
};
