/*  node/api/api.c - the public node API of weft.h, on the application's side.

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
    if (!self || !(self->world = world_real_new ()) ||
        !(self->node = node_new (cfg, self->world)) || !(self->cfg = config_dup (cfg)))
        goto fail;
    //  what the API needs of the node, taken before the node has a thread
    self->board = self->node->board;
    snprintf (self->uuid, sizeof self->uuid, "%s", self->node->uuid_hex);
    snprintf (self->name, sizeof self->name, "%s", self->node->name);
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
    if (self) {
        node_destroy (&self->node);
        if (self->world)
            self->world->ops->destroy (&self->world);
    }
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
        char *error = NULL, *uuid = NULL;
        zsock_send (self->actor, "s", "START");
        if (zsock_recv (self->actor, "iss", &rc, &error, &uuid) < 0)
            rc = WEFT_EINTERNAL;
        snprintf (self->error, sizeof self->error, "%s", error ? error : "");
        if (rc == 0 && uuid && *uuid)
            snprintf (self->uuid, sizeof self->uuid, "%s", uuid); //  kept in the journal
        zstr_free (&error);
        zstr_free (&uuid);
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
    node_destroy (&self->node); //  and the board with it
    if (self->world)
        self->world->ops->destroy (&self->world);
    weft_config_destroy (&self->cfg);
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
    return self ? self->uuid : "";
}

const char *weft_node_name (const weft_node_t *self)
{
    return self ? self->name : "";
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
