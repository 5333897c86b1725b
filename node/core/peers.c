/*  node/core/peers.c - the peer table: lookups, per-peer subsystem state,
    and the peer events every subsystem hears.

    Membership decides who is a peer (beacons, HELLO, gossip, expiry); the
    core keeps the table and tells the other subsystems, so none of them
    calls another.
*/
#include "common/hex.h"
#include "node/core/node.h"

peer_t *node_peer_find_hex (node_t *self, const char *uuid_hex)
{
    return self->peers ? zhashx_lookup (self->peers, uuid_hex) : NULL;
}

peer_t *node_peer_find (node_t *self, const uint8_t *uuid)
{
    char hex[WIRE_UUID_SIZE * 2 + 1];
    hex_encode (uuid, WIRE_UUID_SIZE, hex);
    return node_peer_find_hex (self, hex);
}

void node_peer_heard (node_t *self, peer_t *peer)
{
    peer->last_seen = node_now (self);
    peer->evasive = false;
}

size_t node_peer_count (node_t *self)
{
    return self->peers ? zhashx_size (self->peers) : 0;
}

//  Frees PEER and what the core allocated for it.
static void peer_free (node_t *self, peer_t *peer)
{
    node_link_close (self, &peer->link, 0);
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = node_subsystems[i];
        if (sub && sub->peer_fini && peer->state[i])
            sub->peer_fini (peer, peer->state[i]);
        free (peer->state[i]);
    }
    free (peer);
}

void node_peer_discard (node_t *self, peer_t *peer)
{
    if (peer)
        peer_free (self, peer);
}

peer_t *node_peer_new (node_t *self, const uint8_t *uuid)
{
    peer_t *peer = calloc (1, sizeof *peer);
    if (!peer)
        return NULL;
    memcpy (peer->uuid, uuid, WIRE_UUID_SIZE);
    hex_encode (uuid, WIRE_UUID_SIZE, peer->uuid_hex);
    for (int i = 0; i < SUBSYS_MAX; i++) {
        const subsystem_t *sub = node_subsystems[i];
        if (sub && sub->peer_state_size && !(peer->state[i] = calloc (1, sub->peer_state_size))) {
            peer_free (self, peer);
            return NULL;
        }
    }
    return peer;
}

void node_peer_event (node_t *self, peer_t *peer, peer_event_t event)
{
    if (event == PEER_REMOVED && self->rx_peer == peer)
        self->rx_peer = NULL; //  the core's cache of the last sender must not outlive it
    for (int k = 0; k < SUBSYS_MAX; k++) {
        //  removal goes in reverse, so a subsystem still sees what those it
        //  started after saw when they let go
        int i = event == PEER_REMOVED ? SUBSYS_MAX - 1 - k : k;
        const subsystem_t *sub = node_subsystems[i];
        if (sub && sub->peer_event && self->started[i])
            sub->peer_event (self, self->state[i], peer, event);
    }
}

int node_peer_insert (node_t *self, peer_t *peer)
{
    if (zhashx_insert (self->peers, peer->uuid_hex, peer) != 0) {
        peer_free (self, peer);
        return -1;
    }
    node_peer_event (self, peer, PEER_ADDED);
    return 0;
}

void node_peer_remove (node_t *self, peer_t *peer)
{
    node_peer_event (self, peer, PEER_REMOVED);
    zhashx_delete (self->peers, peer->uuid_hex); //  the table owns nothing
    peer_free (self, peer);
}

void node_peers_free (node_t *self)
{
    if (!self->peers)
        return;
    zlistx_t *all = zhashx_values (self->peers);
    for (peer_t *p = all ? zlistx_first (all) : NULL; p; p = zlistx_next (all))
        peer_free (self, p);
    zlistx_destroy (&all);
    zhashx_destroy (&self->peers);
}

void *node_peer_state (peer_t *peer, subsys_id_t id)
{
    return peer->state[id];
}

void *node_state (node_t *self, subsys_id_t id)
{
    return self->state[id];
}
