/*  node/api/api_durable.c - the durable-topic calls of weft.h, application side.
    Arguments are checked here; the work is done by the durable subsystem
    (node/durable/: durable.c for publishing, repair.c and rsub.c for
    subscribing). */
#include <stdlib.h>
#include <string.h>

#include "node/api/api_int.h"
#include "node/core/config.h"

int api_durable_init (weft_node_t *self, const weft_config_t *cfg)
{
    const char *list = config_value (cfg, CFG_DURABLE_TOPICS);
    while (*list) {
        size_t len = strcspn (list, ",");
        char pattern[TOPIC_MAX + 1];
        snprintf (pattern, sizeof pattern, "%.*s", (int)(len < TOPIC_MAX ? len : TOPIC_MAX), list);
        if (len && pattern_validate (pattern) == 0 && topic_set_add (self->durable, pattern) < 0)
            return WEFT_ENOMEM;
        list += len + (list[len] == ',');
    }
    return 0;
}

int api_durable_check (weft_node_t *self, const char *topic, size_t len)
{
    int failed = board_journal (self->board);
    return failed && topic_set_match (self->durable, topic, len) ? failed : 0;
}

int weft_declare_durable (weft_node_t *self, const char *pattern, const char *retention)
{
    journal_limits_t limits = {0};
    if (!self || !pattern || pattern_validate (pattern) ||
        config_parse_limits (retention ? retention : "", &limits))
        return WEFT_EINVAL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    zsock_send (self->actor, "sss", "DURABLE", pattern, retention ? retention : "");
    if (zsock_recv (self->actor, "i", &rc) < 0)
        rc = WEFT_EINTERNAL;
    if (rc == 0 && topic_set_add (self->durable, pattern) < 0)
        rc = WEFT_ENOMEM;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

//  Parses a subscription start: latest | earliest | seq:N | time:SECONDS.
static int parse_from (const char *from, int *kind, int64_t *value)
{
    char *end = NULL;
    *value = 0;
    if (!from || !*from || strcmp (from, "latest") == 0)
        *kind = WIRE_FROM_LATEST;
    else if (strcmp (from, "earliest") == 0)
        *kind = WIRE_FROM_EARLIEST;
    else if (strncmp (from, "seq:", 4) == 0) {
        *kind = WIRE_FROM_SEQ;
        unsigned long long seq = strtoull (from + 4, &end, 10);
        if (end == from + 4 || *end || seq == 0 || seq > INT64_MAX)
            return WEFT_EINVAL;
        *value = (int64_t)seq;
    } else if (strncmp (from, "time:", 5) == 0) {
        *kind = WIRE_FROM_TIME;
        double seconds = strtod (from + 5, &end);
        if (end == from + 5 || *end || seconds < 0 || seconds > 1e11)
            return WEFT_EINVAL;
        *value = (int64_t)(seconds * 1e6);
    } else
        return WEFT_EINVAL;
    return 0;
}

//  Sends a replaying subscription to the actor.
static int replaying_subscribe (weft_node_t *self, const char *pattern, const char *name,
                                const char *from, int auto_ack)
{
    int kind = 0;
    int64_t value = 0;
    if (!self || !pattern || pattern_validate (pattern) || parse_from (from, &kind, &value))
        return WEFT_EINVAL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    zsock_send (self->actor, "sssi8i", "RSUB", pattern, name, kind, (uint64_t)value,
                auto_ack ? 1 : 0);
    if (zsock_recv (self->actor, "i", &rc) < 0)
        rc = WEFT_EINTERNAL;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

int weft_subscribe_from (weft_node_t *self, const char *pattern, const char *from)
{
    return replaying_subscribe (self, pattern, "", from, 0);
}

int weft_subscribe_durable (weft_node_t *self, const char *pattern, const char *name,
                            const char *from, int auto_ack)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > WIRE_NAME_MAX || strpbrk (name, "/ \t\r\n"))
        return WEFT_EINVAL;
    return replaying_subscribe (self, pattern, name, from, auto_ack);
}

int weft_ack (weft_node_t *self, const weft_msg_t *msg)
{
    if (weft_msg_kind (msg) == WEFT_MSG_DELIVERY)
        return api_settle (self, msg, WIRE_SETTLE_ACK, 0);
    if (!self || !msg || weft_msg_kind (msg) != WEFT_MSG_MESSAGE || !*weft_msg_sender (msg))
        return WEFT_EINVAL;
    int rc = command_begin (self);
    if (rc)
        return rc;
    zsock_send (self->actor, "sss8", "ACK", weft_msg_sender (msg), weft_msg_topic (msg),
                weft_msg_seq (msg));
    if (zsock_recv (self->actor, "i", &rc) < 0)
        rc = WEFT_EINTERNAL;
    pthread_mutex_unlock (&self->cmd_lock);
    return rc;
}

void api_taken (weft_node_t *self, const weft_msg_t *msg)
{
    //  not command_begin: that would clear the error another thread's call left
    pthread_mutex_lock (&self->cmd_lock);
    if (self->state == STATE_RUNNING)
        zsock_send (self->actor, "sss8", "TAKEN", weft_msg_sender (msg), weft_msg_topic (msg),
                    weft_msg_seq (msg));
    pthread_mutex_unlock (&self->cmd_lock);
}

int weft_journal_repair (const char *dir, char **error_p)
{
    char err[512] = "";
    if (error_p)
        *error_p = NULL;
    if (!dir || !*dir)
        return WEFT_EINVAL;
    int rc = journal_repair (dir, err, sizeof err);
    if (rc && error_p)
        *error_p = strdup (err);
    return rc;
}
