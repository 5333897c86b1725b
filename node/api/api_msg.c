/*  node/api/api_msg.c - what the application receives: weft_recv and the
    weft_msg_t accessors, and the peer snapshot (weft_peers). See weft.h. */
#include "node/api/api_int.h"

//  Turns the frames of one event (the first already read into EV) into a message.
static weft_msg_t *msg_from_frames (void *sock, const node_event_t *ev)
{
    weft_msg_t *msg = malloc (sizeof *msg); //  one allocation: the topic is inline
    if (!msg)
        return NULL;
    msg->ev = *ev;
    msg->topic = msg->topic_buf;
    msg->topic_buf[0] = 0;
    msg->hbuf = NULL;
    msg->nheaders = 0;
    msg->kv = NULL;
    zmq_msg_init (&msg->body);
    int more = 0;
    size_t more_size = sizeof more;
    zmq_getsockopt (sock, ZMQ_RCVMORE, &more, &more_size);
    zmq_msg_t parts[3];
    int count = 0;
    while (more && count < 3) {
        zmq_msg_init (&parts[count]);
        if (zmq_msg_recv (&parts[count], sock, 0) < 0)
            break;
        more = zmq_msg_more (&parts[count++]);
    }
    if (count > 0) {
        size_t len = zmq_msg_size (&parts[0]);
        len = len < sizeof msg->topic_buf ? len : sizeof msg->topic_buf - 1;
        memcpy (msg->topic_buf, zmq_msg_data (&parts[0]), len);
        msg->topic_buf[len] = 0;
    }
    if (count > 1)
        zmq_msg_move (&msg->body, &parts[1]);
    if (count > 2 && zmq_msg_size (&parts[2]) > 0) {
        size_t size = zmq_msg_size (&parts[2]);
        msg->hbuf = malloc (size);
        memcpy (msg->hbuf, zmq_msg_data (&parts[2]), size);
        for (size_t i = 0; i < size; i++)
            msg->nheaders += msg->hbuf[i] == 0;
        msg->nheaders /= 2;
        msg->kv = calloc (2 * msg->nheaders + 1, sizeof *msg->kv);
        const char *p = msg->hbuf;
        for (size_t i = 0; i < 2 * msg->nheaders; i++, p += strlen (p) + 1)
            msg->kv[i] = p;
    }
    for (int i = 0; i < count; i++)
        zmq_msg_close (&parts[i]);
    return msg;
}

int weft_recv (weft_node_t *self, weft_msg_t **msg_p, int timeout_ms)
{
    if (!self || !msg_p)
        return WEFT_EINVAL;
    *msg_p = NULL;
    pthread_mutex_lock (&self->recv_lock);
    int rc = 0;
    if (self->drained || !self->events)
        rc = self->state == STATE_NEW ? WEFT_ESTATE : WEFT_ECLOSED;
    void *sock = self->events ? zsock_resolve (self->events) : NULL;
    while (rc == 0 && !*msg_p) {
        //  try first: polling when a message is already waiting costs a system call
        node_event_t ev;
        int size = zmq_recv (sock, &ev, sizeof ev, ZMQ_DONTWAIT);
        if (size < 0 && zmq_errno () == EAGAIN) {
            zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
            int ready = timeout_ms == 0 ? 0 : zmq_poll (&item, 1, timeout_ms);
            if (ready < 0 && zmq_errno () == EINTR)
                continue;
            if (ready <= 0) {
                rc = timeout_ms == 0 ? WEFT_EAGAIN : WEFT_ETIMEDOUT;
                break;
            }
            size = zmq_recv (sock, &ev, sizeof ev, ZMQ_DONTWAIT);
        }
        if (size < 0 && zmq_errno () == EAGAIN)
            continue; //  woken for nothing: wait again
        if (size != (int)sizeof ev) {
            rc = WEFT_EINTERNAL;
            break;
        }
        if (ev.kind == NODE_EVENT_CLOSED) {
            self->drained = true;
            rc = WEFT_ECLOSED;
            break;
        }
        *msg_p = msg_from_frames (sock, &ev);
        if (!*msg_p)
            rc = WEFT_ENOMEM;
        else if (ev.kind == WEFT_MSG_DELIVERY)
            api_delivered (self, *msg_p);
        else if (ev.flags & NODE_EVENT_AUTO_ACK)
            api_taken (self, *msg_p);
    }
    pthread_mutex_unlock (&self->recv_lock);
    return rc;
}

void weft_msg_destroy (weft_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    weft_msg_t *self = *self_p;
    zmq_msg_close (&self->body);
    free (self->hbuf);
    free (self->kv);
    free (self);
    *self_p = NULL;
}

int weft_msg_kind (const weft_msg_t *self)
{
    return self ? self->ev.kind : 0;
}

const char *weft_msg_kind_name (const weft_msg_t *self)
{
    static const char *names[] = {"",        "message", "join",      "leave",    "evasive",
                                  "expired", "gap",     "truncated", "delivery", "confirm"};
    int kind = weft_msg_kind (self);
    return kind > 0 && kind <= WEFT_MSG_CONFIRM ? names[kind] : "unknown";
}

const char *weft_msg_topic (const weft_msg_t *self)
{
    return self && self->topic ? self->topic : "";
}

const char *weft_msg_sender (const weft_msg_t *self)
{
    return self ? self->ev.sender : "";
}

const char *weft_msg_sender_name (const weft_msg_t *self)
{
    return self ? self->ev.sender_name : "";
}

uint64_t weft_msg_seq (const weft_msg_t *self)
{
    return self ? self->ev.seq : 0;
}

int64_t weft_msg_time_us (const weft_msg_t *self)
{
    return self ? self->ev.time_us : 0;
}

const void *weft_msg_body (const weft_msg_t *self, size_t *len)
{
    if (len)
        *len = self ? zmq_msg_size ((zmq_msg_t *)&self->body) : 0;
    return self ? zmq_msg_data ((zmq_msg_t *)&self->body) : NULL;
}

size_t weft_msg_header_count (const weft_msg_t *self)
{
    return self ? self->nheaders : 0;
}

int weft_msg_header_at (const weft_msg_t *self, size_t index, const char **key, const char **value)
{
    if (!self || index >= self->nheaders)
        return WEFT_ENOTFOUND;
    if (key)
        *key = self->kv[2 * index];
    if (value)
        *value = self->kv[2 * index + 1];
    return 0;
}

const char *weft_msg_header (const weft_msg_t *self, const char *key)
{
    for (size_t i = 0; self && key && i < self->nheaders; i++)
        if (strcmp (self->kv[2 * i], key) == 0)
            return self->kv[2 * i + 1];
    return NULL;
}

int weft_peers (weft_node_t *self, weft_peers_t **peers_p)
{
    if (!self || !peers_p)
        return WEFT_EINVAL;
    *peers_p = NULL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    int count = 0;
    byte *rows = NULL;
    size_t size = 0;
    zsock_send (self->actor, "s", "PEERS");
    if (zsock_recv (self->actor, "ib", &count, &rows, &size) < 0)
        rc = WEFT_EINTERNAL;
    pthread_mutex_unlock (&self->cmd_lock);
    weft_peers_t *peers = rc ? NULL : calloc (1, sizeof *peers);
    if (peers) {
        peers->count = size / sizeof (node_peer_info_t);
        peers->rows = (node_peer_info_t *)rows;
        *peers_p = peers;
        return 0;
    }
    free (rows);
    return rc ? rc : WEFT_ENOMEM;
}

void weft_peers_destroy (weft_peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->rows);
    free (*self_p);
    *self_p = NULL;
}

size_t weft_peers_count (const weft_peers_t *self)
{
    return self ? self->count : 0;
}

const char *weft_peers_get (const weft_peers_t *self, size_t index, const char *field)
{
    if (!self || !field || index >= self->count)
        return NULL;
    const node_peer_info_t *row = &self->rows[index];
    const struct {
        const char *name;
        const char *value;
    } fields[] = {{"uuid", row->uuid},
                  {"name", row->name},
                  {"role", row->role},
                  {"endpoint", row->endpoint},
                  {"pub_endpoint", row->pub_endpoint},
                  {"state", row->state},
                  {"source", row->source},
                  {"ready", row->ready},
                  {"last_seen_ms", row->last_seen_ms}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp (field, fields[i].name) == 0)
            return fields[i].value;
    return NULL;
}
