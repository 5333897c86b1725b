/*  node/membership/membership_cmd.c - the membership commands of the API
    thread: PEERS (the peer table as rows), PSTATUS (a peer's status, asked
    over the wire). */
#include "node/membership/membership.h"

static size_t membership_snapshot (node_t *self, node_peer_info_t *rows, size_t count)
{
    size_t n = 0;
    int64_t now = node_now (self);
    for (peer_t *p = zhashx_first (self->peers); p && n < count; p = zhashx_next (self->peers)) {
        node_peer_info_t *row = &rows[n++];
        snprintf (row->uuid, sizeof row->uuid, "%s", p->uuid_hex);
        snprintf (row->name, sizeof row->name, "%s", p->name);
        snprintf (row->role, sizeof row->role, "%s",
                  p->role == WIRE_ROLE_CLIENT ? "client" : "member");
        snprintf (row->endpoint, sizeof row->endpoint, "%s", p->router_ep);
        snprintf (row->pub_endpoint, sizeof row->pub_endpoint, "%s", p->pub_ep);
        snprintf (row->state, sizeof row->state, "%s",
                  !p->joined   ? "connecting"
                  : p->evasive ? "evasive"
                               : "alive");
        snprintf (row->source, sizeof row->source, "%s",
                  (const char *[]){"beacon", "seed", "gossip", "hello"}[p->source]);
        snprintf (row->ready, sizeof row->ready, "%s", p->ready ? "yes" : "no");
        snprintf (row->last_seen_ms, sizeof row->last_seen_ms, "%lld",
                  (long long)(now - p->last_seen));
    }
    return n;
}

static uint64_t membership_request_status (node_t *self, const char *uuid_hex)
{
    peer_t *peer = node_peer_find_hex (self, uuid_hex);
    if (!peer)
        return 0;
    uint64_t id = ++self->next_request;
    if (wire_encode_status (&self->sbuf, WIRE_STATUS_REQ, id) ||
        node_send (self, peer->link, NULL, 0))
        return 0;
    return id;
}

static void cmd_peers (node_t *self)
{
    size_t count = zhashx_size (self->peers);
    node_peer_info_t *rows = calloc (count ? count : 1, sizeof *rows);
    if (rows)
        count = membership_snapshot (self, rows, count);
    else
        count = 0;
    zsock_send (self->pipe, "ib", (int)count, rows, count * sizeof *rows);
    free (rows);
}

static void cmd_peer_status (node_t *self)
{
    char *uuid = NULL;
    int timeout = 0;
    zsock_recv (self->pipe, "si", &uuid, &timeout);
    uint64_t id = uuid ? membership_request_status (self, uuid) : 0;
    zstr_free (&uuid);
    if (!id) {
        zsock_send (self->pipe, "is", WEFT_ENOTFOUND, "");
        return;
    }
    pending_status_t *p = calloc (1, sizeof *p);
    if (!p) {
        zsock_send (self->pipe, "is", WEFT_ENOMEM, "");
        return;
    }
    p->id = id;
    p->deadline = node_now (self) + timeout;
    zlistx_add_end (membership_of (self)->pending, p);
}

void membership_on_command (node_t *self, void *state, const char *name)
{
    if (strcmp (name, "PEERS") == 0)
        cmd_peers (self);
    else
        cmd_peer_status (self);
}
