/*  node/membership/swim.c - what makes membership heal: SWIM's indirect
    probes, suspicion and refutation, and the memory of dead members.

    Every node still PINGs every peer each interval (the direct probe). A
    joined peer silent for the evasive period is probed indirectly: k other
    live members (discovery.probe_k) are asked to PING it for us and relay
    its answer (PING with probe = REQ, PROBE, ACK, RELAY). An answer through
    any of them counts as hearing it. No answer within half the gap between
    evasive and expired: we suspect it, and gossip the suspicion (records
    carried by PINGs). A node that hears itself suspected, or declared dead,
    raises its alive number and gossips that: a record with a higher alive
    number (same incarnation) overrides the suspicion wherever it arrives. A
    suspected peer is expired when its suspicion stays unrefuted for that
    same half gap and it has been silent for the expiry.

    Records are only forwarded when they are news (each node relays a given
    (member, alive number, state) once), are only kept about peers in the
    table, and wait in a fixed queue. Nodes that do not know these fields
    send bare PINGs: they are heard as before and never suspected for long
    (they never refute, so they expire as before).

    Dead members (expired or left) are remembered, a fixed number, for a
    fixed time: PEERS gossip of the same run of them is not believed (a dead
    member's port may belong to another process now); but when the member
    itself speaks to us (a PING: it still counts us as its peer) or a record
    with a higher alive number arrives, it is taken back from what we
    remembered of it. The bounds are in membership.h and docs/MEMBERSHIP.md.
*/
#include "node/membership/membership.h"

#include "common/jout.h"

//  Half the gap between evasive and expired: how long a probe round waits
//  for an answer, and how long a suspicion waits to be refuted.
static int64_t half_gap (node_t *self)
{
    int64_t gap = (self->expire_after - self->evasive_after) / 2;
    return gap > 10 ? gap : 10;
}

//  --- Sending ---------------------------------------------------------------------

//  Encodes a PING with our alive number, PROBE and TARGET, and up to
//  WIRE_RECORDS_MAX waiting records when WITH_RECORDS (FRESH_ONLY: only those
//  not sent yet). Each record put in counts as one send.
static void encode_ping (node_t *self, uint8_t probe, uint64_t id, const uint8_t *target,
                         bool with_records, bool fresh_only)
{
    membership_t *ms = membership_of (self);
    wire_ping_t ping = {.alive = ms->alive, .probe = probe, .probe_id = id};
    if (target)
        memcpy (ping.target, target, WIRE_UUID_SIZE);
    for (size_t i = 0; with_records && i < MEMBERSHIP_GOSSIP_MAX; i++) {
        gossip_t *g = &ms->gossip[i];
        if (!g->sends || (fresh_only && !g->fresh) || ping.nrecords == WIRE_RECORDS_MAX)
            continue;
        ping.records[ping.nrecords++] = g->rec;
        g->fresh = false;
        g->sends--;
    }
    wire_encode_ping_full (&self->sbuf, &ping);
}

//  Sends what is in self->sbuf to every peer (JOINED_ONLY: those joined).
static void send_all (node_t *self, bool joined_only)
{
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (!joined_only || p->joined)
            node_send (self, p->link, NULL, 0);
}

void swim_heartbeat (node_t *self)
{
    membership_of (self)->served = 0; //  a new interval
    encode_ping (self, WIRE_PROBE_NONE, 0, NULL, true, false);
    send_all (self, false);
}

void swim_flush (node_t *self)
{
    membership_t *ms = membership_of (self);
    bool fresh = false;
    for (size_t i = 0; i < MEMBERSHIP_GOSSIP_MAX; i++)
        fresh |= ms->gossip[i].sends && ms->gossip[i].fresh;
    if (!fresh || self->silenced)
        return;
    encode_ping (self, WIRE_PROBE_NONE, 0, NULL, true, true);
    send_all (self, true);
}

//  Queues record (UUID, INCARNATION, ALIVE, STATE) for gossip. A record
//  about the same member replaces the one waiting; a full queue drops the
//  record with the fewest sends left.
static void gossip (node_t *self, const uint8_t *uuid, uint64_t incarnation, uint64_t alive,
                    uint8_t state)
{
    membership_t *ms = membership_of (self);
    gossip_t *slot = NULL;
    for (size_t i = 0; i < MEMBERSHIP_GOSSIP_MAX && !slot; i++)
        if (ms->gossip[i].sends && memcmp (ms->gossip[i].rec.uuid, uuid, WIRE_UUID_SIZE) == 0)
            slot = &ms->gossip[i];
    for (size_t i = 0; i < MEMBERSHIP_GOSSIP_MAX && !slot; i++)
        if (!ms->gossip[i].sends)
            slot = &ms->gossip[i];
    for (size_t i = 0; i < MEMBERSHIP_GOSSIP_MAX && !slot; i++)
        if (ms->gossip[i].sends == 1)
            slot = &ms->gossip[i];
    if (!slot)
        slot = &ms->gossip[world_random (self->world) % MEMBERSHIP_GOSSIP_MAX];
    memcpy (slot->rec.uuid, uuid, WIRE_UUID_SIZE);
    slot->rec.incarnation = incarnation;
    slot->rec.alive = alive;
    slot->rec.state = state;
    slot->sends = MEMBERSHIP_GOSSIP_SENDS;
    slot->fresh = true;
}

void swim_refute (node_t *self, uint64_t alive)
{
    membership_t *ms = membership_of (self);
    if (ms->alive <= alive)
        ms->alive = alive + 1;
    ms->swim.refutations++;
    gossip (self, self->uuid, self->incarnation, ms->alive, WIRE_MEMBER_ALIVE);
}

//  --- Probes ------------------------------------------------------------------------

//  Starts an indirect probe round for PEER: up to probe_k other joined, live
//  peers, drawn at random, are asked to PING it for us.
static void probe_round (node_t *self, peer_t *peer, int64_t now)
{
    membership_t *ms = membership_of (self);
    mpeer_t *mp = mpeer_of (peer);
    mp->probe_at = now;
    mp->probe_id = ++self->next_request;
    ms->swim.probes++;
    size_t count = 0, cap = zhashx_size (self->peers);
    peer_t **helpers =
        ms->probe_k > 0 && cap && !self->silenced ? calloc (cap, sizeof *helpers) : NULL;
    if (!helpers)
        return;
    for (peer_t *p = zhashx_first (self->peers); p && count < cap; p = zhashx_next (self->peers))
        if (p != peer && p->joined && !p->evasive)
            helpers[count++] = p;
    encode_ping (self, WIRE_PROBE_REQ, mp->probe_id, peer->uuid, false, false);
    for (size_t i = 0; i < count && i < (size_t)ms->probe_k; i++) {
        size_t j = i + world_random (self->world) % (count - i); //  partial shuffle
        peer_t *h = helpers[j];
        helpers[j] = helpers[i];
        node_send (self, h->link, NULL, 0);
    }
    free (helpers);
}

//  Hearing PEER through someone (a relayed answer, a refutation): as if it spoke.
static void heard_indirectly (node_t *self, peer_t *peer)
{
    mpeer_t *mp = mpeer_of (peer);
    node_peer_heard (self, peer);
    mp->probe_at = 0;
    mp->suspect_at = 0;
}

//  Whether one more probe message may be served this interval.
static bool may_serve (membership_t *ms)
{
    if (ms->served >= MEMBERSHIP_SERVE_MAX) {
        ms->swim.served_dropped++;
        return false;
    }
    ms->served++;
    ms->swim.served++;
    return true;
}

//  The probe part of a PING from FROM.
static void on_probe (node_t *self, peer_t *from, const wire_ping_t *ping)
{
    membership_t *ms = membership_of (self);
    if (self->silenced)
        return;                      //  tests: a silenced node plays dead, probes included
    if (ping->probe == WIRE_PROBE) { //  helper FROM probes us for someone: answer the helper
        if (may_serve (ms)) {
            encode_ping (self, WIRE_PROBE_ACK, ping->probe_id, ping->target, false, false);
            node_send (self, from->link, NULL, 0);
        }
        return;
    }
    peer_t *other = node_peer_find (self, ping->target);
    if (!other || other == from)
        return; //  never someone we do not know (nor a loop back to the sender)
    switch (ping->probe) {
    case WIRE_PROBE_REQ: //  FROM asks us to probe OTHER
        if (other->joined && may_serve (ms)) {
            encode_ping (self, WIRE_PROBE, ping->probe_id, from->uuid, false, false);
            node_send (self, other->link, NULL, 0);
        }
        break;
    case WIRE_PROBE_ACK: //  FROM answered the probe we made for OTHER
        if (may_serve (ms)) {
            encode_ping (self, WIRE_PROBE_RELAY, ping->probe_id, from->uuid, false, false);
            node_send (self, other->link, NULL, 0);
        }
        break;
    case WIRE_PROBE_RELAY: { //  OTHER answered our probe, through FROM
        mpeer_t *mp = mpeer_of (other);
        if (mp->probe_at && mp->probe_id == ping->probe_id) {
            ms->swim.probes_saved++;
            heard_indirectly (self, other);
        }
        break;
    }
    default:
        break;
    }
}

//  --- Records -------------------------------------------------------------------------

//  One gossiped record.
static void on_record (node_t *self, const wire_record_t *r)
{
    membership_t *ms = membership_of (self);
    if (memcmp (r->uuid, self->uuid, WIRE_UUID_SIZE) == 0) {
        if (r->incarnation != self->incarnation || r->state == WIRE_MEMBER_ALIVE ||
            r->alive < ms->alive)
            return; //  about another run of us, or already refuted
        swim_refute (self, r->alive);
        if (r->state == WIRE_MEMBER_DEAD) {
            //  someone expired us: say HELLO (asking an answer) to everyone
            //  we know; those who dropped us take us back, the others answer
            ms->swim.expired_learned++;
            wlog_info (&self->log, "a peer had declared us dead: saying HELLO again");
            for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
                membership_send_hello (self, p, WIRE_HELLO_ANSWER | WIRE_HELLO_AGAIN);
        }
        return;
    }
    peer_t *peer = node_peer_find (self, r->uuid);
    if (!peer) {
        //  a dead member alive again (a higher alive number than when it
        //  died): its refutation overrides our verdict
        dead_t *dead = swim_dead_find (self, r->uuid);
        if (dead && !dead->left && r->state == WIRE_MEMBER_ALIVE &&
            r->incarnation == dead->incarnation && r->alive > dead->alive) {
            dead->alive = r->alive;
            if (membership_readd (self, dead))
                gossip (self, r->uuid, r->incarnation, r->alive, WIRE_MEMBER_ALIVE);
        }
        return; //  no state is ever made for strangers
    }
    mpeer_t *mp = mpeer_of (peer);
    if (r->incarnation != peer->incarnation)
        return; //  another run: its HELLO or beacon tells
    if (r->state == WIRE_MEMBER_ALIVE) {
        if (r->alive <= mp->alive)
            return;
        mp->alive = r->alive;
        if (mp->suspect_at || mp->probe_at)
            ms->swim.refuted++;
        heard_indirectly (self, peer);
        gossip (self, r->uuid, r->incarnation, r->alive, WIRE_MEMBER_ALIVE);
        return;
    }
    //  a suspicion or a death said by someone else: relayed once (so that
    //  the member hears it and refutes), not adopted - we watch it ourselves
    uint64_t *relayed = r->state == WIRE_MEMBER_SUSPECT ? &mp->relayed_suspect : &mp->relayed_dead;
    if (r->alive < mp->alive || *relayed > r->alive)
        return;
    *relayed = r->alive + 1;
    gossip (self, r->uuid, r->incarnation, r->alive, r->state);
}

void swim_on_ping (node_t *self, peer_t *peer)
{
    wire_ping_t ping;
    if (wire_get_ping (self->decoder, &ping)) {
        self->counters.bad_frames++; //  it was heard all the same (the core did)
        return;
    }
    mpeer_t *mp = mpeer_of (peer);
    if (ping.alive > mp->alive) {
        //  it refuted a suspicion: tell those who may still hold it
        mp->alive = ping.alive;
        gossip (self, peer->uuid, peer->incarnation, ping.alive, WIRE_MEMBER_ALIVE);
    }
    mp->probe_at = 0; //  it spoke (the core refreshed it)
    mp->suspect_at = 0;
    if (ping.probe != WIRE_PROBE_NONE)
        on_probe (self, peer, &ping);
    for (size_t i = 0; i < ping.nrecords; i++)
        on_record (self, &ping.records[i]);
    swim_flush (self);
}

//  --- Timers ---------------------------------------------------------------------------

void swim_check (node_t *self, int64_t now)
{
    int64_t half = half_gap (self);
    zlistx_t *silent = zlistx_new (); //  probe_round walks the table itself
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers)) {
        mpeer_t *mp = mpeer_of (p);
        int64_t silence = now - p->last_seen;
        if (!p->joined || silence < self->evasive_after) {
            mp->probe_at = 0; //  heard since (or not a member yet)
            mp->suspect_at = 0;
        } else if (!mp->probe_at && !mp->suspect_at && silent)
            zlistx_add_end (silent, p);
        else if (!mp->suspect_at && now - mp->probe_at >= half) {
            mp->suspect_at = now;
            membership_of (self)->swim.suspicions++;
            wlog_info (&self->log, "suspect %s (%s): silent %lld ms", p->name, p->uuid_hex,
                       (long long)silence);
            gossip (self, p->uuid, p->incarnation, mp->alive, WIRE_MEMBER_SUSPECT);
        }
    }
    for (peer_t *p = silent ? zlistx_first (silent) : NULL; p; p = zlistx_next (silent))
        probe_round (self, p, now);
    zlistx_destroy (&silent);
    swim_flush (self);
}

bool swim_may_expire (node_t *self, peer_t *peer, int64_t now)
{
    mpeer_t *mp = mpeer_of (peer);
    return !peer->joined || (mp->suspect_at && now - mp->suspect_at >= half_gap (self));
}

//  --- Dead members ---------------------------------------------------------------------

dead_t *swim_dead_find (node_t *self, const uint8_t *uuid)
{
    membership_t *ms = membership_of (self);
    int64_t now = node_now (self);
    for (size_t i = 0; i < MEMBERSHIP_DEAD_MAX; i++) {
        dead_t *d = &ms->dead[i];
        if (d->used && now - d->at >= MEMBERSHIP_DEAD_KEEP)
            d->used = false; //  remembered long enough
        if (d->used && memcmp (d->uuid, uuid, WIRE_UUID_SIZE) == 0)
            return d;
    }
    return NULL;
}

void swim_dead_forget (node_t *self, const uint8_t *uuid)
{
    dead_t *d = swim_dead_find (self, uuid);
    if (d)
        d->used = false;
}

void swim_dead (node_t *self, peer_t *peer, bool left)
{
    membership_t *ms = membership_of (self);
    mpeer_t *mp = mpeer_of (peer);
    dead_t *d = swim_dead_find (self, peer->uuid);
    if (!d) {
        d = &ms->dead[ms->dead_next];
        ms->dead_next = (ms->dead_next + 1) % MEMBERSHIP_DEAD_MAX;
    }
    *d = (dead_t){.used = true,
                  .left = left,
                  .incarnation = peer->incarnation,
                  .alive = mp->alive,
                  .role = peer->role,
                  .at = node_now (self),
                  .readd_at = 0};
    memcpy (d->uuid, peer->uuid, WIRE_UUID_SIZE);
    snprintf (d->router_ep, sizeof d->router_ep, "%s", peer->router_ep);
    snprintf (d->pub_ep, sizeof d->pub_ep, "%s", peer->pub_ep);
    if (!left && peer->joined) //  so that it learns it, through whoever still hears it
        gossip (self, peer->uuid, peer->incarnation, mp->alive, WIRE_MEMBER_DEAD);
}

int swim_status (node_t *self, void *state, json_t *into)
{
    membership_t *ms = state;
    swim_counters_t *c = &ms->swim;
    size_t dead = 0;
    for (size_t i = 0; i < MEMBERSHIP_DEAD_MAX; i++)
        dead += ms->dead[i].used;
    const struct {
        const char *key;
        uint64_t value;
    } rows[] = {{"alive", ms->alive},
                {"probes", c->probes},
                {"probes_saved", c->probes_saved},
                {"probes_served", c->served},
                {"probes_refused", c->served_dropped},
                {"suspicions", c->suspicions},
                {"refuted", c->refuted},
                {"refutations", c->refutations},
                {"expired_learned", c->expired_learned},
                {"readmits", c->readmits},
                {"gossip_ignored", c->gossip_ignored},
                {"hello_retries", c->hello_retries},
                {"dead_remembered", dead}};
    json_t *part = json_object ();
    int rc = part ? 0 : -1;
    for (size_t i = 0; !rc && i < sizeof rows / sizeof rows[0]; i++)
        rc = jout_set_uint (part, rows[i].key, rows[i].value);
    if (rc) {
        json_decref (part);
        return -1;
    }
    return json_object_set_new (into, "membership", part);
}
