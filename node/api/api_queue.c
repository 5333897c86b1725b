/*  node/api/api_queue.c - the queue calls of weft.h, application side.

    Arguments are checked here. A send is handed to the actor (queue_client.c)
    with a token; weft_send_async returns at once, weft_send waits on
    confirm_cond for the actor to post the token's result, holding no lock
    the actor needs, so other threads keep using the node meanwhile.
*/
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/api/api_int.h"
#include "node/queues/queue_cmd.h"
#include "node/core/config.h"

//  True for a message id: 1..128 bytes of [A-Za-z0-9_.:-].
static bool msg_id_ok (const char *id, size_t len)
{
    if (len == 0 || len > WIRE_MSG_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char)id[i]) && !strchr ("_.:-", id[i]))
            return false;
    return true;
}

//  Parses one "key=value" option of LEN bytes into ARGS.
static int parse_option (const char *opt, size_t len, queue_args_t *args)
{
    const char *eq = memchr (opt, '=', len);
    if (!eq)
        return WEFT_EINVAL;
    size_t klen = (size_t)(eq - opt), vlen = len - klen - 1;
    const char *value = eq + 1;
    char number[16] = "";
    if (vlen < sizeof number)
        memcpy (number, value, vlen);
    long n = strtol (number, NULL, 10);
    if (klen == 2 && memcmp (opt, "id", 2) == 0) {
        if (!msg_id_ok (value, vlen))
            return WEFT_EINVAL;
        memcpy (args->msg_id, value, vlen);
        args->msg_id[vlen] = 0;
    } else if (klen == 8 && memcmp (opt, "priority", 8) == 0 && vlen == 1 && isdigit (*value))
        args->priority = (uint8_t)n;
    else if (klen == 11 && memcmp (opt, "replication", 11) == 0 && vlen == 1 && n >= 1 && n <= 9)
        args->replication = (uint8_t)n;
    else if (klen == 4 && memcmp (opt, "acks", 4) == 0 &&
             ((vlen == 3 && memcmp (value, "all", 3) == 0) ||
              (vlen == 5 && memcmp (value, "owner", 5) == 0)))
        args->acks = vlen == 5 ? WIRE_ACKS_OWNER : WIRE_ACKS_ALL;
    else
        return WEFT_EINVAL;
    return 0;
}

//  Fills ARGS from QUEUE and OPTIONS ("key=value,..."), with the node's defaults.
static int parse_send (weft_node_t *self, const char *queue, const char *options,
                       queue_args_t *args)
{
    memset (args, 0, sizeof *args);
    size_t len = queue ? strlen (queue) : 0;
    if (!len || len + 4 > WIRE_TOPIC_MAX || topic_validate (queue, len))
        return WEFT_EINVAL;
    memcpy (args->queue, queue, len + 1);
    const char *acks = weft_config_get (self->cfg, "queues.acks");
    args->acks = acks && strcmp (acks, "owner") == 0 ? WIRE_ACKS_OWNER : WIRE_ACKS_ALL;
    while (options && *options) {
        size_t olen = strcspn (options, ",");
        if (olen && parse_option (options, olen, args))
            return WEFT_EINVAL;
        options += olen + (options[olen] == ',');
    }
    return 0;
}

//  Hands a send to the actor: ARGS then the body.
static int submit (weft_node_t *self, const queue_args_t *args, const void *body, size_t len)
{
    int rc = command_begin (self);
    if (rc)
        return rc;
    void *pipe = zsock_resolve (zactor_sock (self->actor));
    zmq_send (pipe, "QSEND", 5, ZMQ_SNDMORE);
    zmq_send (pipe, args, sizeof *args, ZMQ_SNDMORE);
    zmq_send (pipe, body ? body : "", len, 0);
    pthread_mutex_unlock (&self->cmd_lock);
    return 0;
}

//  The checks every send makes before it takes a place in the window: ARGS
//  filled from QUEUE and OPTIONS. 0, or the code the call returns.
static int send_check (weft_node_t *self, const char *queue, const void *body, size_t len,
                       const char *options, queue_args_t *args)
{
    if (!self || (len && !body) || parse_send (self, queue, options, args))
        return WEFT_EINVAL;
    if (len > self->max_message)
        return WEFT_EMSGSIZE;
    if (self->state != STATE_RUNNING)
        return self->state == STATE_NEW ? WEFT_ESTATE : WEFT_ECLOSED;
    return 0;
}

int weft_send_async (weft_node_t *self, const char *queue, const void *body, size_t len,
                     const char *options, uint64_t *token_p)
{
    queue_args_t args;
    int rc = send_check (self, queue, body, len, options, &args);
    if (rc)
        return rc;
    if (board_enter (self->board, NULL))
        return WEFT_EAGAIN;
    args.token = __atomic_add_fetch (&self->next_token, 1, __ATOMIC_RELAXED);
    args.type = WIRE_QSEND;
    rc = submit (self, &args, body, len);
    if (rc)
        board_release (self->board);
    else if (token_p)
        *token_p = args.token;
    return rc;
}

//  The realtime deadline TIMEOUT_MS from now.
static struct timespec deadline_in (int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

//  Submits ARGS blocking and waits for its result until DEADLINE (on the
//  board: the node posts it there).
static int submit_and_wait (weft_node_t *self, queue_args_t *args, const void *body, size_t len,
                            const struct timespec *deadline)
{
    int rc = board_expect (self->board, args->token);
    if (rc)
        return rc;
    if ((rc = submit (self, args, body, len))) {
        board_forget (self->board, args->token);
        return rc;
    }
    return board_wait (self->board, args->token, deadline);
}

int weft_send (weft_node_t *self, const char *queue, const void *body, size_t len,
               const char *options, int timeout_ms)
{
    queue_args_t args;
    int rc = send_check (self, queue, body, len, options, &args);
    if (rc)
        return rc;
    int64_t timeout =
        timeout_ms >= 0 ? timeout_ms : config_int (self->cfg, CFG_QUEUES_SEND_TIMEOUT);
    struct timespec deadline = deadline_in (timeout);
    if (board_enter (self->board, &deadline))
        return WEFT_EAGAIN;
    args.token = __atomic_add_fetch (&self->next_token, 1, __ATOMIC_RELAXED);
    args.type = WIRE_QSEND;
    args.blocking = true;
    args.timeout_ms = timeout + 1000; //  the actor gives up after us: we answer the caller
    rc = submit_and_wait (self, &args, body, len, &deadline);
    if (rc == WEFT_ECLOSED || rc == WEFT_ESTATE)
        board_release (self->board);
    return rc > 0 ? 0 : rc;
}

int weft_redrive (weft_node_t *self, const char *queue, int timeout_ms)
{
    queue_args_t args;
    if (!self || parse_send (self, queue, NULL, &args))
        return WEFT_EINVAL;
    if (self->state != STATE_RUNNING)
        return self->state == STATE_NEW ? WEFT_ESTATE : WEFT_ECLOSED;
    int64_t timeout = timeout_ms > 0 ? timeout_ms : 5000;
    struct timespec deadline = deadline_in (timeout);
    args.token = __atomic_add_fetch (&self->next_token, 1, __ATOMIC_RELAXED);
    args.type = WIRE_QREDRIVE;
    args.blocking = true;
    args.timeout_ms = timeout;
    //  the path of a blocking send: the actor posts the count as the result
    return submit_and_wait (self, &args, NULL, 0, &deadline);
}

int weft_consume (weft_node_t *self, const char *queue, int prefetch)
{
    queue_args_t args;
    if (!self || parse_send (self, queue, NULL, &args) || prefetch < 1 || prefetch > 100000)
        return WEFT_EINVAL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    zsock_send (self->actor, "ssi", "CONSUME", queue, prefetch);
    if (zsock_recv (self->actor, "i", &rc) < 0)
        rc = WEFT_EINTERNAL;
    if (rc == WEFT_ENOTFOUND)
        snprintf (self->error, sizeof self->error,
                  "no live member can own queue '%s' (is a member with a journal running in "
                  "this cluster?)",
                  queue);
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

int weft_cancel (weft_node_t *self, const char *queue)
{
    if (!self || !queue)
        return WEFT_EINVAL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    zsock_send (self->actor, "ss", "CANCEL", queue);
    if (zsock_recv (self->actor, "i", &rc) < 0)
        rc = WEFT_EINTERNAL;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

//  The key of delivery MSG in the unsettled index: "<owner>/<seq>/<deliveries>/<queue>".
static void unsettled_key (const weft_msg_t *msg, char *out, size_t cap)
{
    const char *deliveries = weft_msg_header (msg, "deliveries");
    snprintf (out, cap, "%s/%" PRIu64 "/%s/%s", msg->ev.sender, msg->ev.seq,
              deliveries ? deliveries : "0", msg->topic);
}

void api_delivered (weft_node_t *self, const weft_msg_t *msg)
{
    char key[WIRE_UUID_SIZE * 2 + WIRE_TOPIC_MAX + 48];
    unsettled_key (msg, key, sizeof key);
    pthread_mutex_lock (&self->settle_lock);
    zhashx_update (self->unsettled, key, "1");
    pthread_mutex_unlock (&self->settle_lock);
}

int api_settle (weft_node_t *self, const weft_msg_t *msg, int kind, int delay_ms)
{
    if (!self || !msg || msg->ev.kind != WEFT_MSG_DELIVERY || delay_ms < 0)
        return WEFT_EINVAL;
    //  settled here, once: a second settle is refused without asking the actor
    char key[WIRE_UUID_SIZE * 2 + WIRE_TOPIC_MAX + 48];
    unsettled_key (msg, key, sizeof key);
    pthread_mutex_lock (&self->settle_lock);
    bool known = zhashx_lookup (self->unsettled, key) != NULL;
    if (known)
        zhashx_delete (self->unsettled, key);
    pthread_mutex_unlock (&self->settle_lock);
    if (!known)
        return WEFT_ENOTFOUND;
    int rc = command_begin (self);
    if (rc)
        return rc;
    const char *deliveries = weft_msg_header (msg, "deliveries");
    queue_settle_args_t args = {.seq = msg->ev.seq, .kind = kind, .delay_ms = delay_ms};
    args.deliveries = deliveries ? (uint32_t)strtoul (deliveries, NULL, 10) : 0;
    snprintf (args.owner, sizeof args.owner, "%s", msg->ev.sender);
    snprintf (args.queue, sizeof args.queue, "%s", msg->topic);
    //  fire and forget, like a publish: the pipe's high-water mark is the brake
    void *pipe = zsock_resolve (zactor_sock (self->actor));
    zmq_send (pipe, "SETTLE", 6, ZMQ_SNDMORE);
    zmq_send (pipe, &args, sizeof args, 0);
    pthread_mutex_unlock (&self->cmd_lock);
    return 0;
}

int weft_nack (weft_node_t *self, const weft_msg_t *msg, int delay_ms)
{
    return api_settle (self, msg, WIRE_SETTLE_NACK, delay_ms);
}

int weft_reject (weft_node_t *self, const weft_msg_t *msg)
{
    return api_settle (self, msg, WIRE_SETTLE_REJECT, 0);
}
