/*  node/membership/membership_cmd.c - the membership commands of the API
    thread: PEERS (the peer table as rows), PSTATUS (a peer's status, asked
    over the wire: STATUS_REQ, answered by STATUS_REP or a time-out). */
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
                  !p->joined                      ? "connecting"
                  : mpeer_of (p)->suspect_at != 0 ? "suspect"
                  : p->evasive                    ? "evasive"
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

//  STATUS_REQ: answer with our status; STATUS_REP: complete a pending request.
void membership_on_status (node_t *self, int type, peer_t *peer, zmq_msg_t *body)
{
    uint64_t id = 0;
    if (wire_get_status (self->decoder, &id)) {
        self->counters.bad_frames++;
        return;
    }
    if (type == WIRE_STATUS_REQ) {
        char *json = node_status_json (self);
        if (json && wire_encode_status (&self->sbuf, WIRE_STATUS_REP, id) == 0)
            node_send (self, peer->link, json, strlen (json));
        zstr_free (&json);
        return;
    }
    for (pending_status_t *p = zlistx_first (membership_of (self)->pending); p;
         p = zlistx_next (membership_of (self)->pending))
        if (p->id == id) {
            char *json = body ? node_frame_strdup (body) : strdup ("{}");
            zsock_send (self->pipe, "is", 0, json ? json : "{}");
            zstr_free (&json);
            zlistx_delete (membership_of (self)->pending,
                           zlistx_cursor (membership_of (self)->pending));
            return;
        }
}

//  Answers status requests whose deadline has passed.
void membership_check_pending (node_t *self, int64_t now)
{
    zlistx_t *all = node_list_snapshot (membership_of (self)->pending);
    for (pending_status_t *p = all ? zlistx_first (all) : NULL; p; p = zlistx_next (all))
        if (now >= p->deadline) {
            zsock_send (self->pipe, "is", WEFT_ETIMEDOUT, "");
            node_list_remove (membership_of (self)->pending, p); //  the list's destructor frees it
        }
    zlistx_destroy (&all);
}
