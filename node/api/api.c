/*  node/api.c - the public node API of weft.h, on the application's side.

    Every call validates its arguments here, so bad input fails fast with a
    precise code and never reaches the actor. Commands go to the actor over
    the zactor pipe under cmd_lock; messages come back on the events PAIR
    under recv_lock, so a handle may be shared by threads.
*/
#include <czmq.h>
#include <pthread.h>

#include "node/core/config.h"
#include "node/core/node.h"
#include "node/api/testing.h"
#include "node/api/api_int.h"
#include "node/core/world_real.h"

weft_node_t *weft_node_new (const weft_config_t *cfg, int *err)
{
    int rc = WEFT_ENOMEM;
    weft_node_t *self = NULL;
    if (!cfg) {
        rc = WEFT_EINVAL;
        goto fail;
    }
    //  a library installs no signal handlers: stop CZMQ from taking SIGINT/SIGTERM
    zsys_handler_set (NULL);
    self = calloc (1, sizeof *self);
    if (!self || !(self->world = world_real_new ()) || !(self->node = node_new (cfg, self->world)))
        goto fail;
    pthread_mutex_init (&self->cmd_lock, NULL);
    pthread_mutex_init (&self->recv_lock, NULL);
    pthread_mutex_init (&self->settle_lock, NULL);
    if (!(self->unsettled = zhashx_new ())) {
        weft_node_destroy (&self);
        goto fail;
    }
    self->max_message = (size_t)config_int (cfg, CFG_LIMITS_MAX_MESSAGE);
    self->max_header = (size_t)config_int (cfg, CFG_LIMITS_MAX_HEADER);
    self->window = (int)config_int (cfg, CFG_QUEUES_WINDOW);
    if (!(self->durable = topic_set_new ()) || api_durable_init (self, cfg)) {
        weft_node_destroy (&self);
        goto fail;
    }
    if (err)
        *err = 0;
    return self;
fail:
    if (self && self->world)
        self->world->ops->destroy (&self->world);
    free (self);
    if (err)
        *err = rc;
    return NULL;
}

//  Creates the events PAIR: our end bound, the actor's end connected.
static int events_open (weft_node_t *self)
{
    self->events = zsock_new (ZMQ_PAIR);
    self->node->events = zsock_new (ZMQ_PAIR);
    if (!self->events || !self->node->events)
        return WEFT_ENOMEM;
    zsock_set_rcvhwm (self->events, 1000000);
    zsock_set_sndhwm (self->node->events, 1000000);
    zsock_set_linger (self->node->events, -1);
    if (zsock_bind (self->events, "inproc://weft-events-%s-%p", self->node->uuid_hex,
                    (void *)self) < 0 ||
        zsock_connect (self->node->events, "inproc://weft-events-%s-%p", self->node->uuid_hex,
                       (void *)self) < 0)
        return WEFT_EIO;
    return 0;
}

//  Closes what a failed start opened.
static void start_undo (weft_node_t *self)
{
    zactor_destroy (&self->actor);
    zsock_destroy (&self->node->events);
    zsock_destroy (&self->events);
}

int weft_node_start (weft_node_t *self)
{
    if (!self)
        return WEFT_EINVAL;
    pthread_mutex_lock (&self->cmd_lock);
    int rc = self->state == STATE_NEW       ? 0
             : self->state == STATE_RUNNING ? WEFT_ESTATE
                                            : WEFT_ECLOSED;
    if (!rc)
        rc = events_open (self);
    if (!rc) {
        self->actor = zactor_new (node_actor, self->node);
        rc = self->actor ? 0 : WEFT_ENOMEM;
    }
    if (!rc) {
        char *error = NULL;
        zsock_send (self->actor, "s", "START");
        if (zsock_recv (self->actor, "is", &rc, &error) < 0)
            rc = WEFT_EINTERNAL;
        snprintf (self->error, sizeof self->error, "%s", error ? error : "");
        zstr_free (&error);
    }
    if (rc)
        start_undo (self);
    else
        self->state = STATE_RUNNING;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

int weft_node_stop (weft_node_t *self)
{
    if (!self)
        return WEFT_EINVAL;
    pthread_mutex_lock (&self->cmd_lock);
    if (self->state == STATE_RUNNING) {
        zactor_destroy (&self->actor); //  $TERM: the actor says goodbye, sends CLOSED, exits
        zsock_destroy (&self->node->events);
    } else
        self->drained = true;
    self->state = STATE_STOPPED;
    pthread_mutex_unlock (&self->cmd_lock);
    return 0;
}

void weft_node_destroy (weft_node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    weft_node_t *self = *self_p;
    weft_node_stop (self);
    zsock_destroy (&self->events);
    node_destroy (&self->node);
    if (self->world)
        self->world->ops->destroy (&self->world);
    topic_set_destroy (&self->durable);
    pthread_mutex_destroy (&self->cmd_lock);
    pthread_mutex_destroy (&self->recv_lock);
    pthread_mutex_destroy (&self->settle_lock);
    zhashx_destroy (&self->unsettled);
    free (self);
    *self_p = NULL;
}

const char *weft_node_uuid (const weft_node_t *self)
{
    return self ? self->node->uuid_hex : "";
}

const char *weft_node_name (const weft_node_t *self)
{
    return self ? self->node->name : "";
}

const char *weft_node_error (const weft_node_t *self)
{
    return self ? self->error : "";
}

int weft_node_fd (weft_node_t *self)
{
    if (!self)
        return WEFT_EINVAL;
    if (!self->events)
        return WEFT_ECLOSED;
    return zsock_fd (self->events);
}

int command_begin (weft_node_t *self)
{
    pthread_mutex_lock (&self->cmd_lock);
    self->error[0] = 0; //  weft_node_error () speaks of the last call only
    if (self->state == STATE_RUNNING)
        return 0;
    int rc = self->state == STATE_NEW ? WEFT_ESTATE : WEFT_ECLOSED;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

//  Validates HEADERS and packs them as "k\0v\0..." into *PACKED (malloc'ed).
static int pack_headers (weft_node_t *self, const char *const *headers, size_t nheaders,
                         char **packed, size_t *size)
{
    *packed = NULL;
    *size = 0;
    if (nheaders > WIRE_HEADERS_MAX)
        return WEFT_EMSGSIZE;
    for (size_t i = 0; i < 2 * nheaders; i++) {
        if (!headers[i] || (i % 2 == 0 && !*headers[i]))
            return WEFT_EINVAL;
        *size += strlen (headers[i]) + 1;
    }
    if (*size > self->max_header / 2)
        return WEFT_EMSGSIZE;
    if (nheaders == 0)
        return 0; //  the common case costs no allocation
    char *p = *packed = malloc (*size);
    if (!p)
        return WEFT_ENOMEM;
    for (size_t i = 0; i < 2 * nheaders; i++) {
        size_t len = strlen (headers[i]) + 1;
        memcpy (p, headers[i], len);
        p += len;
    }
    return 0;
}

int weft_publishv (weft_node_t *self, const char *topic, const char *const *headers,
                   size_t nheaders, const void *body, size_t len)
{
    if (!self || !topic || (len && !body) || (nheaders && !headers))
        return WEFT_EINVAL;
    size_t topic_len = strlen (topic);
    if (topic_validate (topic, topic_len))
        return WEFT_EINVAL;
    if (len > self->max_message)
        return WEFT_EMSGSIZE;
    char *packed = NULL;
    size_t packed_size = 0;
    int rc = pack_headers (self, headers, nheaders, &packed, &packed_size);
    if (rc == 0 && (rc = command_begin (self)) == 0 &&
        (rc = api_durable_check (self, topic, topic_len)) != 0)
        pthread_mutex_unlock (&self->cmd_lock);
    else if (rc == 0) {
        void *pipe = zsock_resolve (zactor_sock (self->actor));
        zmq_send (pipe, "PUB", 3, ZMQ_SNDMORE);
        zmq_send (pipe, topic, topic_len, ZMQ_SNDMORE);
        zmq_send (pipe, body, len, nheaders ? ZMQ_SNDMORE : 0);
        if (nheaders)
            zmq_send (pipe, packed, packed_size, 0);
        pthread_mutex_unlock (&self->cmd_lock);
    }
    free (packed);
    return rc;
}

int weft_publish (weft_node_t *self, const char *topic, const void *body, size_t len)
{
    return weft_publishv (self, topic, NULL, 0, body, len);
}

//  Sends COMMAND with one string ARG and returns the actor's int answer.
static int command_pattern (weft_node_t *self, const char *command, const char *pattern)
{
    if (!self || !pattern)
        return WEFT_EINVAL;
    if (pattern_validate (pattern))
        return WEFT_EINVAL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    zsock_send (self->actor, "ss", command, pattern);
    if (zsock_recv (self->actor, "i", &rc) < 0)
        rc = WEFT_EINTERNAL;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

int weft_subscribe (weft_node_t *self, const char *pattern)
{
    return command_pattern (self, "SUB", pattern);
}

int weft_unsubscribe (weft_node_t *self, const char *pattern)
{
    return command_pattern (self, "UNSUB", pattern);
}

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

//  Sends a command whose answer is (rc, json) and hands the JSON to the caller.
static int command_json (weft_node_t *self, char **json_p, const char *picture, ...)
{
    if (!self || !json_p)
        return WEFT_EINVAL;
    *json_p = NULL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    va_list args;
    va_start (args, picture);
    zsock_vsend (self->actor, picture, args);
    va_end (args);
    char *json = NULL;
    if (zsock_recv (self->actor, "is", &rc, &json) < 0)
        rc = WEFT_EINTERNAL;
    pthread_mutex_unlock (&self->cmd_lock);
    if (rc == 0 && json)
        *json_p = json; //  zstr strings are malloc'ed: weft_free () releases them
    else
        zstr_free (&json);
    return rc;
}

int weft_status (weft_node_t *self, char **json_p)
{
    return command_json (self, json_p, "s", "STATUS");
}

int weft_peer_status (weft_node_t *self, const char *peer_uuid, int timeout_ms, char **json_p)
{
    if (!peer_uuid || timeout_ms < 0)
        return WEFT_EINVAL;
    return command_json (self, json_p, "ssi", "PSTATUS", peer_uuid, timeout_ms);
}

int weft_node_silence (weft_node_t *self, bool silent)
{
    int rc = self ? command_begin (self) : WEFT_EINVAL;
    if (rc)
        return rc;
    zsock_send (self->actor, "ss", "SILENCE", silent ? "1" : "0");
    zsock_recv (self->actor, "i", &rc);
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

int weft_node_fail_journal (weft_node_t *self, int err)
{
    int rc = self ? command_begin (self) : WEFT_EINVAL;
    if (rc)
        return rc;
    zsock_send (self->actor, "si", "JFAIL", err);
    zsock_recv (self->actor, "i", &rc);
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}
