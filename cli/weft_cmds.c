/*  cli/weft_cmds.c - the commands of weft: peers, pub, sub, status
    (see weft_cli.h and docs/CLI.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "loop.h"
#include "weft_cli.h"

//  Fields of a peer, in the order peers --json prints them.
static const char *const s_peer_fields[] = {"name",         "uuid",  "role",   "endpoint",
                                            "pub_endpoint", "state", "source", "ready",
                                            "last_seen_ms", NULL};

//  Columns of the peers table.
static const char *const s_peer_columns[] = {"name", "uuid", "role", "endpoint", "state", NULL};

//  Reports a failed wait RC of command NAME; returns the exit code.
static int wait_failure (const weft_cli_t *self, const char *name, int rc, const char *what)
{
    if (rc == CLI_SIGNALED)
        return weft_fail (CLI_EXIT_FAILURE, "%s: interrupted", name);
    if (rc == WEFT_ETIMEDOUT)
        return weft_fail (CLI_EXIT_FAILURE, "%s: %s within %s s", name, what, self->timeout_text);
    return weft_fail (CLI_EXIT_FAILURE, "%s: %s", name, weft_strerror (rc));
}

//  Returns field NAME of peer I, or "".
static const char *peer_field (const weft_peers_t *peers, size_t i, const char *name)
{
    const char *value = weft_peers_get (peers, i, name);
    return value ? value : "";
}

//  True when peer I is this node itself (never listed).
static bool is_self (const weft_cli_t *self, const weft_peers_t *peers, size_t i)
{
    return strcmp (peer_field (peers, i, "uuid"), weft_node_uuid (self->node)) == 0;
}

//  Prints peer I as a JSON object.
static void peer_json (const weft_peers_t *peers, size_t i)
{
    for (size_t f = 0; s_peer_fields[f]; f++) {
        const char *name = s_peer_fields[f];
        const char *value = peer_field (peers, i, name);
        printf ("%s\"%s\": ", f ? ", " : "{", name);
        if (strcmp (name, "ready") == 0)
            printf ("%s", strcmp (value, "yes") == 0 ? "true" : "false");
        else if (strcmp (name, "last_seen_ms") == 0 && *value &&
                 strspn (value, "0123456789-") == strlen (value))
            printf ("%s", value);
        else
            json_write_string (stdout, value, strlen (value));
    }
    printf ("}");
}

//  Prints the peers table (or JSON array) of PEERS.
static void peers_print (const weft_cli_t *self, const weft_peers_t *peers)
{
    size_t count = weft_peers_count (peers), listed = 0;
    int width[8] = {0};
    for (size_t c = 0; s_peer_columns[c]; c++) {
        width[c] = (int)strlen (s_peer_columns[c]);
        for (size_t i = 0; i < count; i++) {
            int w = (int)strlen (peer_field (peers, i, s_peer_columns[c]));
            width[c] = w > width[c] ? w : width[c];
        }
    }
    if (!self->json)
        for (size_t c = 0; s_peer_columns[c]; c++)
            printf ("%-*s%s", width[c], s_peer_columns[c], s_peer_columns[c + 1] ? "  " : "\n");
    for (size_t i = 0; i < count; i++) {
        if (is_self (self, peers, i))
            continue;
        if (self->json) {
            printf ("%s", listed++ ? ",\n " : "[");
            peer_json (peers, i);
            continue;
        }
        for (size_t c = 0; s_peer_columns[c]; c++)
            printf ("%-*s%s", s_peer_columns[c + 1] ? width[c] : 0,
                    peer_field (peers, i, s_peer_columns[c]), s_peer_columns[c + 1] ? "  " : "\n");
    }
    if (self->json)
        printf ("%s\n", listed ? "]" : "[]");
}

int weft_cmd_peers (weft_cli_t *self)
{
    int rc = weft_wait (self, WAIT_STABLE);
    weft_peers_t *peers = NULL;
    if (rc || (rc = weft_peers (self->node, &peers)))
        return wait_failure (self, "peers", rc, "no answer");
    peers_print (self, peers);
    weft_peers_destroy (&peers);
    return CLI_EXIT_OK;
}

bool weft_topic_valid (const char *topic)
{
    size_t len = strlen (topic);
    const char *allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:.";
    if (len == 0 || len > 255 || strspn (topic, allowed) != len)
        return false;
    return topic[0] != '.' && topic[len - 1] != '.' && !strstr (topic, "..");
}

//  Publishes LEN bytes of BODY on TOPIC; returns 0 or an exit code.
static int publish_one (weft_cli_t *self, const char *topic, const char *body, size_t len,
                        size_t *published)
{
    int rc = weft_publish (self->node, topic, body, len);
    if (rc)
        return weft_fail (rc == WEFT_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE,
                          "pub: message %zu: %s", *published + 1, weft_strerror (rc));
    (*published)++;
    return 0;
}

//  Publishes one message per line of stdin (newline removed); returns 0 or
//  an exit code.
static int publish_lines (weft_cli_t *self, const char *topic, size_t *published)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int code = 0;
    while (!code && (len = getline (&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        code = publish_one (self, topic, line, (size_t)len, published);
    }
    free (line);
    return code;
}

int weft_cmd_pub (weft_cli_t *self)
{
    const char *topic = self->args[0];
    int rc = weft_wait (self, WAIT_READY);
    if (rc)
        return wait_failure (self, "pub", rc,
                             self->node_endpoint ? "the node did not answer" : "no member joined");
    size_t published = 0;
    int code = self->arg_count == 2
                   ? publish_one (self, topic, self->args[1], strlen (self->args[1]), &published)
                   : publish_lines (self, topic, &published);
    if (!code && self->json)
        printf ("{\"published\": %zu}\n", published);
    return code;
}

//  Prints message MSG as sub does.
static void sub_print (const weft_cli_t *self, const weft_msg_t *msg)
{
    size_t len = 0;
    const void *body = weft_msg_body (msg, &len);
    if (!self->json) {
        printf ("%s ", weft_msg_topic (msg));
        fwrite (body, 1, len, stdout);
        printf ("\n");
    } else {
        printf ("{\"topic\": ");
        json_write_string (stdout, weft_msg_topic (msg), strlen (weft_msg_topic (msg)));
        printf (", \"from\": \"%s\", \"from_name\": ", weft_msg_sender (msg));
        json_write_string (stdout, weft_msg_sender_name (msg), strlen (weft_msg_sender_name (msg)));
        printf (", \"seq\": %llu, \"time_us\": %lld, \"body\": ",
                (unsigned long long)weft_msg_seq (msg), (long long)weft_msg_time_us (msg));
        json_write_string (stdout, body, len);
        printf ("}\n");
    }
    fflush (stdout);
}

//  Reports how sub ended after RECEIVED messages (RC from cli_next);
//  returns the exit code.
static int sub_end (const weft_cli_t *self, int rc, long long received)
{
    bool counting = self->count > 0;
    if (rc == WEFT_ETIMEDOUT && counting)
        return weft_fail (CLI_EXIT_FAILURE, "timed out after %s s with %lld of %lld messages",
                          self->timeout_text, received, self->count);
    if (rc == CLI_SIGNALED && counting)
        return weft_fail (CLI_EXIT_FAILURE, "interrupted with %lld of %lld messages", received,
                          self->count);
    if (rc == WEFT_ETIMEDOUT || rc == CLI_SIGNALED)
        return CLI_EXIT_OK;
    return weft_fail (CLI_EXIT_FAILURE, "sub: %s", weft_strerror (rc));
}

int weft_cmd_sub (weft_cli_t *self)
{
    int rc = weft_subscribe (self->node, self->args[0]);
    if (rc)
        return weft_fail (rc == WEFT_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE, "sub: '%.60s': %s",
                          self->args[0], weft_strerror (rc));
    long long received = 0;
    while (self->count < 0 || received < self->count) {
        weft_msg_t *msg = NULL;
        if ((rc = cli_next (self->node, self->sigfd, weft_deadline (self), &msg, NULL)))
            return sub_end (self, rc, received);
        if (weft_msg_kind (msg) == WEFT_MSG_MESSAGE) {
            sub_print (self, msg);
            received++;
        } else if (weft_msg_kind (msg) == WEFT_MSG_GAP)
            fprintf (stderr, "weft: sub: %llu messages from %s were lost\n",
                     (unsigned long long)weft_msg_seq (msg), weft_msg_sender_name (msg));
        weft_msg_destroy (&msg);
    }
    return CLI_EXIT_OK;
}

//  Fields of a status object in the plain summary ("counters." ones are
//  read from the nested "counters" object); missing ones are skipped.
static const char *const s_summary_fields[] = {"uuid",
                                               "role",
                                               "version",
                                               "router",
                                               "pub",
                                               "uptime_ms",
                                               "peers",
                                               "subscriptions",
                                               "counters.published",
                                               "counters.received",
                                               "counters.gaps",
                                               NULL};

//  Prints the summary of status object JSON: " key=value" per known field.
static void summary_print (const char *json)
{
    char counters[2048] = "", value[256];
    json_get (json, "counters", counters, sizeof counters);
    for (size_t i = 0; s_summary_fields[i]; i++) {
        const char *key = s_summary_fields[i];
        bool nested = strncmp (key, "counters.", 9) == 0;
        if (json_get (nested ? counters : json, nested ? key + 9 : key, value, sizeof value))
            printf (" %s=%s", nested ? key + 9 : key, value);
    }
}

//  Prints the status JSON of peer I, as JSON or as a summary line.
static void status_print (const weft_cli_t *self, const weft_peers_t *peers, size_t i,
                          const char *json, size_t printed)
{
    if (self->json)
        printf ("%s%s", printed ? ",\n " : "[", json);
    else {
        printf ("%s", peer_field (peers, i, "name"));
        summary_print (json);
        printf ("\n");
    }
}

//  Asks every target for its status and prints it; returns the exit code.
static int status_all (weft_cli_t *self, const weft_peers_t *peers)
{
    size_t printed = 0, failed = 0;
    const char *failed_name = "", *why = "";
    for (size_t i = 0; i < weft_peers_count (peers); i++) {
        if (!weft_is_target (self, peers, i) || is_self (self, peers, i))
            continue;
        int64_t deadline = weft_deadline (self), left = deadline - cli_now_ms ();
        char *json = NULL;
        int rc = weft_peer_status (self->node, peer_field (peers, i, "uuid"),
                                   deadline < 0 ? 60000
                                   : left > 0   ? (int)left
                                                : 1,
                                   &json);
        if (rc == 0)
            status_print (self, peers, i, json, printed++);
        else if (failed++ == 0) {
            failed_name = peer_field (peers, i, "name");
            why = weft_strerror (rc);
        }
        weft_free (json);
    }
    if (self->json)
        printf ("%s\n", printed ? "]" : "[]");
    if (failed)
        return weft_fail (CLI_EXIT_FAILURE, "status: %zu of %zu nodes did not answer (%s: %s)",
                          failed, failed + printed, failed_name, why);
    return CLI_EXIT_OK;
}

int weft_cmd_status (weft_cli_t *self)
{
    int rc = weft_wait (self, WAIT_TARGET);
    weft_peers_t *peers = NULL;
    if (rc || (rc = weft_peers (self->node, &peers)))
        return wait_failure (self, "status", rc,
                             self->node_endpoint ? "the node did not answer" : "no member joined");
    int code = status_all (self, peers);
    weft_peers_destroy (&peers);
    return code;
}
