/*  node/durable/rsub.c - durable topics on the subscriber's side: the
    subscriptions that replay history. One from a start (earliest, a
    sequence, a time) asks every publisher that joins for the streams it
    covers; a durable (named) one resumes from its cursors instead: the last
    acknowledged seq per durable name, publisher and topic, kept in our
    journal under "c/<name>/<publisher>/<topic>" and advanced when the
    application takes the message (auto-ack: TAKEN from weft_recv) or acks
    it. Every replay request, these and repair.c's gap requests, is built
    and sent here (repair_request_new, repair_request_send); the replies
    are repair.c's.
*/
#include "node/durable/durable.h"

uint64_t rsub_start_seq (durable_t *ds, const char *topic)
{
    uint64_t start = 0;
    for (rsub_t *rs = zlistx_first (ds->rsubs); rs; rs = zlistx_next (ds->rsubs)) {
        if (!pattern_match (rs->pattern, topic, strlen (topic)))
            continue;
        uint64_t from = rs->from_kind == WIRE_FROM_EARLIEST ? 1
                        : rs->from_kind == WIRE_FROM_SEQ    ? (uint64_t)rs->from_value
                                                            : 0;
        if (from && (!start || from < start))
            start = from;
    }
    return start;
}

void rsub_advance_cursors (node_t *self, durable_t *ds, const char *publisher, const char *topic,
                           uint64_t seq, bool only_auto)
{
    for (rsub_t *rs = zlistx_first (ds->rsubs); rs; rs = zlistx_next (ds->rsubs)) {
        if (!*rs->name || (only_auto && !rs->auto_ack) ||
            !pattern_match (rs->pattern, topic, strlen (topic)))
            continue;
        char key[WIRE_NAME_MAX + TOPIC_MAX + 48];
        snprintf (key, sizeof key, "%s/%s/%s", rs->name, publisher, topic);
        uint64_t *cursor = zhashx_lookup (ds->cursors, key);
        if (!cursor && (cursor = calloc (1, sizeof *cursor)))
            zhashx_insert (ds->cursors, key, cursor);
        if (!cursor || *cursor >= seq)
            continue;
        *cursor = seq;
        uint8_t value[8];
        for (int i = 0; i < 8; i++)
            value[i] = (uint8_t)(seq >> (56 - 8 * i));
        char meta[sizeof key + 2];
        snprintf (meta, sizeof meta, "c/%s", key);
        journal_meta_put (self->journal, meta, value, sizeof value);
    }
}

rx_request_t *repair_request_covering (peer_t *peer, const char *topic)
{
    for (rx_request_t *r = zlistx_first (durable_peer (peer)->requests); r;
         r = zlistx_next (durable_peer (peer)->requests))
        if (pattern_match (r->pattern, topic, strlen (topic)))
            return r;
    return NULL;
}

wire_replay_req_t *repair_request_new (node_t *self, const char *pattern, int from_kind,
                                       int64_t from_value, rx_request_t **r_p)
{
    wire_replay_req_t *req = calloc (1, sizeof *req);
    rx_request_t *r = calloc (1, sizeof *r);
    if (!req || !r) {
        free (req);
        free (r);
        return NULL;
    }
    req->id = r->id = ++self->next_request;
    snprintf (req->pattern, sizeof req->pattern, "%s", pattern);
    snprintf (r->pattern, sizeof r->pattern, "%s", pattern);
    req->from_kind = (uint8_t)from_kind;
    req->from_value = from_value;
    r->deadline = node_now (self) + REPAIR_REQUEST_TIMEOUT;
    *r_p = r;
    return req;
}

bool repair_request_send (node_t *self, peer_t *peer, const wire_replay_req_t *req, rx_request_t *r)
{
    int rc = wire_encode_replay_req (&self->sbuf, req);
    if (rc == 0 && (rc = node_send (self, peer->link, NULL, 0)) == 0)
        zlistx_add_end (durable_peer (peer)->requests, r);
    else
        free (r);
    wlog_debug (&self->log, "replay %" PRIu64 " of %s asked of %s (%zu cursors): %d", req->id,
                req->pattern, peer->name, req->ncursors, rc);
    return rc == 0;
}

//  Asks PEER to replay what subscription RS covers, from its start or cursors.
static void request_subscription (node_t *self, durable_t *ds, peer_t *peer, rsub_t *rs)
{
    rx_request_t *r = NULL;
    wire_replay_req_t *req =
        repair_request_new (self, rs->pattern, rs->from_kind, rs->from_value, &r);
    if (!req)
        return;
    char prefix[WIRE_NAME_MAX + 40];
    int plen = snprintf (prefix, sizeof prefix, "%s/%s/", rs->name, peer->uuid_hex);
    for (uint64_t *c = zhashx_first (ds->cursors);
         *rs->name && c && req->ncursors < WIRE_CURSORS_MAX; c = zhashx_next (ds->cursors)) {
        const char *key = zhashx_cursor (ds->cursors);
        if (strncmp (key, prefix, (size_t)plen) != 0)
            continue;
        wire_cursor_t *wc = &req->cursors[req->ncursors++];
        wc->topic = key + plen;
        wc->topic_len = strlen (key + plen);
        wc->next = *c + 1;
        rx_stream_t *st = repair_stream (peer, key + plen);
        if (st && st->fresh) {
            st->last = *c; //  resume right after what was acknowledged
            st->fresh = false;
        }
        if (st)
            st->repair = r->id;
    }
    repair_request_send (self, peer, req, r);
    free (req);
}

void rsub_peer_joined (node_t *self, durable_t *ds, peer_t *peer)
{
    for (rsub_t *rs = zlistx_first (ds->rsubs); rs; rs = zlistx_next (ds->rsubs))
        request_subscription (self, ds, peer, rs);
}

int rsub_subscribe (node_t *self, durable_t *ds, const rsub_t *spec)
{
    if (*spec->name && !self->journal)
        return WEFT_ESTATE; //  cursors need a journal
    rsub_t *rs = malloc (sizeof *rs);
    if (!rs)
        return WEFT_ENOMEM;
    *rs = *spec;
    int rc = node_subscribe (self, rs->pattern);
    if (rc) {
        free (rs);
        return rc;
    }
    zlistx_add_end (ds->rsubs, rs);
    for (peer_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        if (p->joined)
            request_subscription (self, ds, p, rs);
    return 0;
}

int rsub_ack (node_t *self, durable_t *ds, const char *publisher, const char *topic, uint64_t seq,
              bool only_auto)
{
    if (!self->journal)
        return WEFT_ESTATE;
    rsub_advance_cursors (self, ds, publisher, topic, seq, only_auto);
    return 0;
}

bool rsub_auto_covers (durable_t *ds, const char *topic)
{
    for (rsub_t *rs = zlistx_first (ds->rsubs); rs; rs = zlistx_next (ds->rsubs))
        if (*rs->name && rs->auto_ack && pattern_match (rs->pattern, topic, strlen (topic)))
            return true;
    return false;
}

//  Loads every cursor kept in the journal (at start).
static void load_cursor (const char *key, const void *value, size_t len, void *arg)
{
    durable_t *ds = arg;
    uint64_t *cursor = len == 8 ? malloc (sizeof *cursor) : NULL;
    if (!cursor)
        return;
    const uint8_t *v = value;
    *cursor = 0;
    for (int i = 0; i < 8; i++)
        *cursor = *cursor << 8 | v[i];
    zhashx_insert (ds->cursors, key + 2, cursor);
}

int rsub_start (node_t *self, durable_t *ds)
{
    ds->rsubs = zlistx_new ();
    ds->cursors = zhashx_new ();
    if (!ds->rsubs || !ds->cursors)
        return WEFT_ENOMEM;
    zlistx_set_destructor (ds->rsubs, (zlistx_destructor_fn *)zstr_free);
    zhashx_set_destructor (ds->cursors, (zhashx_destructor_fn *)zstr_free);
    if (self->journal)
        return journal_meta_scan (self->journal, "c/", load_cursor, ds);
    return 0;
}

void rsub_stop (durable_t *ds)
{
    zlistx_destroy (&ds->rsubs);
    zhashx_destroy (&ds->cursors);
    repair_parked_free (ds); //  the parked streams of absent publishers
}
