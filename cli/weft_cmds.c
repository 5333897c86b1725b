/*  cli/weft_cmds.c - the commands of weft: peers, pub, sub, status, journal,
    and the walk over the members' status that status, journal, ring and
    queues share (see weft_cli.h and docs/CLI.md; the queue commands are in
    weft_queue.c and weft_ring.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "loop.h"
#include "table.h"
#include "weft_cli.h"

//  Fields of a peer, in the order peers --json prints them.
static const char *const s_peer_fields[] = {"name",         "uuid",  "role",   "endpoint",
                                            "pub_endpoint", "state", "source", "ready",
                                            "last_seen_ms", NULL};

//  Columns of the peers table.
static const char *const s_peer_columns[] = {"name", "uuid", "role", "endpoint", "state", NULL};

int weft_wait_failure (const weft_cli_t *self, const char *name, int rc, const char *what)
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

//  Peer I as a JSON object; NULL when out of memory.
static json_t *peer_json (const weft_peers_t *peers, size_t i)
{
    json_t *o = json_object ();
    int rc = o ? 0 : -1;
    for (size_t f = 0; !rc && s_peer_fields[f]; f++) {
        const char *name = s_peer_fields[f];
        const char *value = peer_field (peers, i, name);
        json_t *v;
        if (strcmp (name, "ready") == 0)
            v = json_boolean (strcmp (value, "yes") == 0);
        else if (strcmp (name, "last_seen_ms") == 0 && *value &&
                 strspn (value, "0123456789-") == strlen (value))
            v = json_integer (strtoll (value, NULL, 10));
        else
            v = cli_json_str (value);
        rc = json_object_set_new (o, name, v);
    }
    if (rc)
        json_decref (o);
    return rc ? NULL : o;
}

//  Prints the peers table (or JSON array) of PEERS; returns the exit code.
static int peers_print (const weft_cli_t *self, const weft_peers_t *peers)
{
    size_t count = weft_peers_count (peers);
    if (self->json) {
        json_t *rows = json_array ();
        int rc = rows ? 0 : -1;
        for (size_t i = 0; !rc && i < count; i++)
            if (!is_self (self, peers, i))
                rc = json_array_append_new (rows, peer_json (peers, i));
        int code = weft_print_json ("peers", rc ? NULL : rows, CLI_JSON_SPACED);
        json_decref (rows);
        return code;
    }
    int width[8] = {0};
    for (size_t c = 0; s_peer_columns[c]; c++) {
        width[c] = (int)strlen (s_peer_columns[c]);
        for (size_t i = 0; i < count; i++) {
            int w = (int)strlen (peer_field (peers, i, s_peer_columns[c]));
            width[c] = w > width[c] ? w : width[c];
        }
    }
    for (size_t c = 0; s_peer_columns[c]; c++)
        printf ("%-*s%s", width[c], s_peer_columns[c], s_peer_columns[c + 1] ? "  " : "\n");
    for (size_t i = 0; i < count; i++) {
        if (is_self (self, peers, i))
            continue;
        for (size_t c = 0; s_peer_columns[c]; c++)
            printf ("%-*s%s", s_peer_columns[c + 1] ? width[c] : 0,
                    peer_field (peers, i, s_peer_columns[c]), s_peer_columns[c + 1] ? "  " : "\n");
    }
    return CLI_EXIT_OK;
}

int weft_cmd_peers (weft_cli_t *self)
{
    int rc = weft_wait (self, WAIT_STABLE);
    weft_peers_t *peers = NULL;
    if (rc || (rc = weft_peers (self->node, &peers)))
        return weft_wait_failure (self, "peers", rc, "no answer");
    int code = peers_print (self, peers);
    weft_peers_destroy (&peers);
    return code;
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
        return weft_wait_failure (
            self, "pub", rc, self->node_endpoint ? "the node did not answer" : "no member joined");
    size_t published = 0;
    int code = self->arg_count == 2
                   ? publish_one (self, topic, self->args[1], strlen (self->args[1]), &published)
                   : publish_lines (self, topic, &published);
    if (!code && self->json) {
        json_t *out = json_pack ("{s:I}", "published", (json_int_t)published);
        code = weft_print_json ("pub", out, CLI_JSON_SPACED);
        json_decref (out);
    }
    return code;
}

//  Prints message MSG as sub does; returns 0 or -1 (not written).
static int sub_print (const weft_cli_t *self, const weft_msg_t *msg)
{
    size_t len = 0;
    const void *body = weft_msg_body (msg, &len);
    if (!self->json) {
        printf ("%s ", weft_msg_topic (msg));
        fwrite (body, 1, len, stdout);
        printf ("\n");
        fflush (stdout);
        return 0;
    }
    json_t *out = json_pack (
        "{s:o, s:o, s:o, s:I, s:I, s:o}", "topic", cli_json_str (weft_msg_topic (msg)), "from",
        cli_json_str (weft_msg_sender (msg)), "from_name",
        cli_json_str (weft_msg_sender_name (msg)), "seq", (json_int_t)weft_msg_seq (msg), "time_us",
        (json_int_t)weft_msg_time_us (msg), "body", cli_json_bytes (body, len));
    int rc = cli_json_print (stdout, out, CLI_JSON_SPACED);
    json_decref (out);
    return rc;
}

//  Prints a TRUNCATED event: the replay of a stream starts at seq (), later
//  than asked (retention took the rest). In the --json stream on stdout,
//  where every line is an object; else on stderr, where it cannot be taken
//  for a message.
static void sub_truncated (const weft_cli_t *self, const weft_msg_t *msg)
{
    const char *topic = weft_msg_topic (msg), *name = weft_msg_sender_name (msg);
    unsigned long long first = (unsigned long long)weft_msg_seq (msg);
    if (!self->json) {
        fprintf (stderr, "weft: sub: truncated topic=%s first=%llu from=%s\n", topic, first, name);
        return;
    }
    json_t *out = json_pack ("{s:s, s:o, s:o, s:o, s:I}", "event", "truncated", "topic",
                             cli_json_str (topic), "from", cli_json_str (weft_msg_sender (msg)),
                             "from_name", cli_json_str (name), "first", (json_int_t)first);
    cli_json_print (stdout, out, CLI_JSON_SPACED);
    json_decref (out);
}

int weft_count_end (const weft_cli_t *self, const char *name, int rc, long long received)
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
    return weft_fail (CLI_EXIT_FAILURE, "%s: %s", name, weft_strerror (rc));
}

//  Subscribes as the flags ask: durable (--durable), replaying (--from) or
//  plain. Returns 0 or a WEFT_E* code.
static int sub_subscribe (weft_cli_t *self)
{
    const char *pattern = self->args[0];
    if (self->durable)
        return weft_subscribe_durable (self->node, pattern, self->durable,
                                       self->from ? self->from : "latest", self->ack_auto);
    if (self->from)
        return weft_subscribe_from (self->node, pattern, self->from);
    return weft_subscribe (self->node, pattern);
}

//  Prints message MSG, then, for a durable subscription with manual acks,
//  acknowledges it: only what reached stdout counts as done, so a killed
//  sub prints again at most what it printed but had not acknowledged.
//  Returns 0 or an exit code.
static int sub_deliver (weft_cli_t *self, const weft_msg_t *msg)
{
    if (sub_print (self, msg))
        return weft_fail (CLI_EXIT_FAILURE, "sub: the message could not be written to stdout");
    if (!self->durable || self->ack_auto)
        return 0;
    int rc = weft_ack (self->node, msg);
    return rc ? weft_fail (CLI_EXIT_FAILURE, "sub: ack: %s", weft_strerror (rc)) : 0;
}

int weft_cmd_sub (weft_cli_t *self)
{
    int rc = sub_subscribe (self);
    if (rc)
        return weft_fail (rc == WEFT_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE, "sub: '%.60s': %s",
                          self->args[0], weft_strerror (rc));
    long long received = 0;
    while (self->count < 0 || received < self->count) {
        weft_msg_t *msg = NULL;
        if ((rc = cli_next (self->node, self->sigfd, weft_deadline (self), &msg, NULL)))
            return weft_count_end (self, "sub", rc, received);
        int kind = weft_msg_kind (msg), code = 0;
        if (kind == WEFT_MSG_MESSAGE) {
            code = sub_deliver (self, msg);
            received++;
        } else if (kind == WEFT_MSG_GAP)
            fprintf (stderr, "weft: sub: %llu messages from %s were lost\n",
                     (unsigned long long)weft_msg_seq (msg), weft_msg_sender_name (msg));
        else if (kind == WEFT_MSG_TRUNCATED)
            sub_truncated (self, msg);
        weft_msg_destroy (&msg);
        if (code)
            return code;
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

//  Prints the summary of STATUS: " key=value" per known field.
static void summary_print (const json_t *status)
{
    const json_t *counters = json_object_get (status, "counters");
    char value[256];
    for (size_t i = 0; s_summary_fields[i]; i++) {
        const char *key = s_summary_fields[i];
        bool nested = strncmp (key, "counters.", 9) == 0;
        const json_t *v = json_object_get (nested ? counters : status, nested ? key + 9 : key);
        if (v)
            printf (" %s=%s", nested ? key + 9 : key, cli_json_cell (v, "", value, sizeof value));
    }
}

//  weft_status_fn of status: the object as is (an item of the --json
//  array in ARG), or a summary line.
static void status_print (weft_cli_t *self, const weft_node_info_t *node, json_t *status, void *arg)
{
    if (self->json)
        json_array_append (arg, status);
    else {
        printf ("%s", node->name);
        summary_print (status);
        printf ("\n");
    }
}

//  Asks the target of peer I of PEERS for its status, waiting at most until
//  the command's deadline; returns 0 with the JSON in *JSON_P or an error.
static int status_ask (weft_cli_t *self, const weft_peers_t *peers, size_t i, char **json_p)
{
    int64_t deadline = weft_deadline (self), left = deadline - cli_now_ms ();
    return weft_peer_status (self->node, peer_field (peers, i, "uuid"),
                             deadline < 0 ? 60000
                             : left > 0   ? (int)left
                                          : 1,
                             json_p);
}

int weft_print_json (const char *name, const json_t *json, size_t flags)
{
    if (cli_json_print (stdout, json, flags) == 0)
        return CLI_EXIT_OK;
    return weft_fail (CLI_EXIT_FAILURE, "%s: %s", name,
                      json ? "writing stdout failed" : "out of memory building the JSON");
}

//  Asks every target for its status and gives it, parsed, to FN; with ROWS
//  and --json prints ROWS. Returns the exit code of command NAME (1 when
//  some did not answer, after the others).
static int status_all (weft_cli_t *self, const char *name, const weft_peers_t *peers,
                       weft_status_fn *fn, void *arg, json_t *rows)
{
    size_t answered = 0, failed = 0;
    const char *failed_name = "", *why = "";
    for (size_t i = 0; i < weft_peers_count (peers); i++) {
        if (!weft_is_target (self, peers, i) || is_self (self, peers, i))
            continue;
        char *json = NULL;
        weft_node_info_t node = {peer_field (peers, i, "name"), peer_field (peers, i, "uuid"),
                                 answered};
        int rc = status_ask (self, peers, i, &json);
        json_t *status = rc == 0 ? cli_json_parse (json) : NULL;
        if (status) {
            fn (self, &node, status, arg);
            answered++;
        } else if (failed++ == 0) {
            failed_name = node.name;
            why = rc ? weft_strerror (rc) : "its status is not a JSON object";
        }
        json_decref (status);
        weft_free (json);
    }
    int code = rows && self->json ? weft_print_json (name, rows, CLI_JSON_COMPACT) : CLI_EXIT_OK;
    if (failed)
        return weft_fail (CLI_EXIT_FAILURE, "%s: %zu of %zu nodes did not answer (%s: %s)", name,
                          failed, failed + answered, failed_name, why);
    return code;
}

int weft_each_status (weft_cli_t *self, const char *name, weft_status_fn *fn, void *arg,
                      json_t *rows)
{
    int rc = weft_wait (self, WAIT_TARGET);
    weft_peers_t *peers = NULL;
    if (rc || (rc = weft_peers (self->node, &peers)))
        return weft_wait_failure (
            self, name, rc, self->node_endpoint ? "the node did not answer" : "no member joined");
    int code = status_all (self, name, peers, fn, arg, rows);
    weft_peers_destroy (&peers);
    return code;
}

int weft_cmd_status (weft_cli_t *self)
{
    json_t *rows = self->json ? json_array () : NULL;
    int code = self->json && !rows ? weft_print_json ("status", NULL, 0)
                                   : weft_each_status (self, "status", status_print, rows, rows);
    json_decref (rows);
    return code;
}

/*  weft journal: the "journal" array of every member's status, printed as a
    table (rows gathered first, so that the columns line up) or as JSON. */

#define JOURNAL_COLUMNS 8 //  node, stream, count, bytes, first/last seq, first/last time

//  Columns of the journal table.
static const char *const s_journal_columns[JOURNAL_COLUMNS] = {
    "node", "stream", "count", "bytes", "first_seq", "last_seq", "first_time", "last_time"};

//  Fields of a stream object, for the columns after "node".
static const char *const s_stream_fields[JOURNAL_COLUMNS - 1] = {
    "stream", "count", "bytes", "first_seq", "last_seq", "first_time_us", "last_time_us"};

//  The table being gathered, and whose streams are being read.
typedef struct {
    cli_table_t table; //  node, then the stream's fields
    const char *node;  //  name of the node whose streams are being read
    json_t *rows;      //  --json: {name, uuid, journal} per node
} journal_table_t;

//  Writes microseconds since the Unix epoch US as UTC ISO 8601 into BUF
//  ("-" for 0: an empty stream has no time).
static void format_time (const char *us, char *buf, size_t cap)
{
    long long value = atoll (us);
    time_t seconds = (time_t)(value / 1000000);
    struct tm tm;
    if (value <= 0 || !gmtime_r (&seconds, &tm)) {
        snprintf (buf, cap, "-");
        return;
    }
    char date[32];
    strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf, cap, "%s.%06lldZ", date, value % 1000000);
}

//  Adds a row for STREAM, an item of the "journal" of the node being read.
static void table_stream (journal_table_t *journal, const json_t *stream)
{
    char values[JOURNAL_COLUMNS - 1][320];
    const char *cells[JOURNAL_COLUMNS] = {journal->node};
    for (size_t f = 0; f < JOURNAL_COLUMNS - 1; f++) {
        const json_t *v = json_object_get (stream, s_stream_fields[f]);
        cells[f + 1] = cli_json_cell (v, "-", values[f], sizeof values[f]);
        if (v && strstr (s_stream_fields[f], "_time_us")) {
            char us[32];
            snprintf (us, sizeof us, "%.31s", values[f]);
            format_time (us, values[f], sizeof values[f]);
        }
    }
    cli_table_add (&journal->table, cells);
}

//  weft_status_fn of journal: with --json adds {name, uuid, journal} to the
//  rows; else adds the node's streams to the table.
static void journal_print (weft_cli_t *self, const weft_node_info_t *node, json_t *status,
                           void *arg)
{
    journal_table_t *journal = arg;
    json_t *streams = json_object_get (status, "journal");
    if (self->json) {
        json_array_append_new (journal->rows,
                               json_pack ("{s:o, s:o, s:O}", "name", cli_json_str (node->name),
                                          "uuid", cli_json_str (node->uuid), "journal",
                                          streams ? streams : json_null ()));
        return;
    }
    size_t before = journal->table.count;
    journal->node = node->name;
    const char *none = NULL;
    if (!json_is_array (streams))
        none = "(no journal)";
    else {
        size_t i;
        json_t *stream;
        json_array_foreach (streams, i, stream)
        {
            table_stream (journal, stream);
        }
        if (journal->table.count == before)
            none = "(no streams)";
    }
    if (none)
        cli_table_add (&journal->table, (const char *[JOURNAL_COLUMNS]){node->name, none});
}

int weft_cmd_journal (weft_cli_t *self)
{
    static const size_t pick[JOURNAL_COLUMNS] = {0, 1, 2, 3, 4, 5, 6, 7};
    journal_table_t journal = {.node = "", .rows = self->json ? json_array () : NULL};
    cli_table_init (&journal.table, JOURNAL_COLUMNS);
    int code = self->json && !journal.rows
                   ? weft_print_json ("journal", NULL, 0)
                   : weft_each_status (self, "journal", journal_print, &journal, journal.rows);
    if (!self->json && journal.table.count)
        cli_table_print (&journal.table, stdout, s_journal_columns, pick, JOURNAL_COLUMNS);
    cli_table_free (&journal.table);
    json_decref (journal.rows);
    return code;
}
