/*  cli/weft_args.c - weft's own flags (see weft_cli.h): getopt_long's table,
    the checks of each flag's value, of the flags that fit a command and of
    the queue commands' arguments, and the settings weft adds around the
    config layers. The commands, help and dispatch are in weft.c.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft_cli.h"

//  weft's own flags.
enum {
    OPT_JSON = CLI_OPT_TOOL,
    OPT_TIMEOUT,
    OPT_WAIT_MS,
    OPT_NODE,
    OPT_COUNT,
    OPT_VERSION,
    OPT_FROM,
    OPT_DURABLE,
    OPT_ACK,
    OPT_SYNC,
    OPT_ID,
    OPT_PRIORITY,
    OPT_NO_ACK,
    OPT_PREFETCH
};

static const struct option s_options[] = {{"json", no_argument, NULL, OPT_JSON},
                                          {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                          {"wait-ms", required_argument, NULL, OPT_WAIT_MS},
                                          {"node", required_argument, NULL, OPT_NODE},
                                          {"count", required_argument, NULL, OPT_COUNT},
                                          {"from", required_argument, NULL, OPT_FROM},
                                          {"durable", required_argument, NULL, OPT_DURABLE},
                                          {"ack", required_argument, NULL, OPT_ACK},
                                          {"sync", required_argument, NULL, OPT_SYNC},
                                          {"id", required_argument, NULL, OPT_ID},
                                          {"priority", required_argument, NULL, OPT_PRIORITY},
                                          {"no-ack", no_argument, NULL, OPT_NO_ACK},
                                          {"prefetch", required_argument, NULL, OPT_PREFETCH},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, OPT_VERSION},
                                          {NULL, 0, NULL, 0}};

//  True when FROM is a start weft_subscribe_from () takes: latest,
//  earliest, seq:N (N >= 1) or time:T (Unix seconds >= 0, fractions allowed).
static bool from_valid (const char *from)
{
    char *end = NULL;
    if (strcmp (from, "latest") == 0 || strcmp (from, "earliest") == 0)
        return true;
    if (strncmp (from, "seq:", 4) == 0) {
        long long seq = 0;
        return cli_parse_int (from + 4, 1, INT64_MAX, &seq) == 0;
    }
    if (strncmp (from, "time:", 5) == 0) {
        double seconds = strtod (from + 5, &end);
        return end != from + 5 && !*end && seconds >= 0 && seconds <= 1e11;
    }
    return false;
}

//  True when NAME can name a durable subscription (1..63 bytes, no '/' or
//  white space).
static bool durable_name_valid (const char *name)
{
    size_t len = strlen (name);
    return len > 0 && len <= 63 && !strpbrk (name, "/ \t\r\n");
}

//  Records a flag of durable subscriptions (--from, --durable, --ack);
//  returns 0 or -1 with ERR.
static int take_durable_flag (weft_cli_t *self, int code, const char *value, char *err, size_t cap)
{
    if (code == OPT_FROM && from_valid (value))
        self->from = value;
    else if (code == OPT_FROM)
        snprintf (err, cap,
                  "--from: '%.40s' is not earliest, latest, seq:N (N >= 1) or time:T "
                  "(Unix seconds)",
                  value);
    else if (code == OPT_DURABLE && durable_name_valid (value))
        self->durable = value;
    else if (code == OPT_DURABLE)
        snprintf (err, cap, "--durable: '%.40s' is not a name (1 to 63 bytes, no '/' or space)",
                  value);
    else if (strcmp (value, "auto") == 0 || strcmp (value, "manual") == 0) {
        self->ack = value;
        self->ack_auto = strcmp (value, "auto") == 0;
    } else
        snprintf (err, cap, "--ack: '%.40s' is not auto or manual", value);
    return *err ? -1 : 0;
}

//  True when ID can be a message id: 1..128 bytes of [A-Za-z0-9_.:-].
static bool msg_id_valid (const char *id)
{
    size_t len = strlen (id);
    return len > 0 && len <= 128 &&
           strspn (id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") == len;
}

//  Records a flag of the queue commands (--id, --priority, --no-ack,
//  --prefetch); returns 0 or -1 with ERR.
static int take_queue_flag (weft_cli_t *self, int code, const char *value, char *err, size_t cap)
{
    long long n = 0;
    if (code == OPT_NO_ACK)
        self->no_ack = true;
    else if (code == OPT_ID && msg_id_valid (value))
        self->msg_id = value;
    else if (code == OPT_ID)
        snprintf (err, cap, "--id: '%.40s' is not a message id (1 to 128 of A-Z a-z 0-9 _ . : -)",
                  value);
    else if (code == OPT_PRIORITY && cli_parse_int (value, 0, 9, &n) == 0)
        self->priority = (int)n;
    else if (code == OPT_PRIORITY)
        snprintf (err, cap, "--priority: '%.40s' is not a whole number from 0 to 9", value);
    else if (cli_parse_int (value, 1, 100000, &n) == 0)
        self->prefetch = (int)n;
    else
        snprintf (err, cap, "--prefetch: '%.40s' is not a whole number from 1 to 100000", value);
    return *err ? -1 : 0;
}

//  cli_tool_fn: records one of weft's own flags.
static int take_flag (void *arg, int code, const char *value, char *err, size_t cap)
{
    weft_cli_t *self = arg;
    int64_t ms = 0;
    long long n = 0;
    *err = 0;
    switch (code) {
    case OPT_JSON:
        self->json = true;
        return 0;
    case 'h':
        self->help = true;
        return 0;
    case OPT_VERSION:
        self->version = true;
        return 0;
    case OPT_NODE:
        self->node_endpoint = value;
        return 0;
    case OPT_FROM:
    case OPT_DURABLE:
    case OPT_ACK:
        return take_durable_flag (self, code, value, err, cap);
    case OPT_ID:
    case OPT_PRIORITY:
    case OPT_NO_ACK:
    case OPT_PREFETCH:
        return take_queue_flag (self, code, value, err, cap);
    case OPT_SYNC:
        return cli_flags_add (&self->flags, "--sync", "journal.sync", value, err, cap);
    case OPT_TIMEOUT:
        self->timeout_text = value;
        if (cli_parse_seconds (value, &ms) == 0) {
            self->timeout_ms = ms;
            return 0;
        }
        snprintf (err, cap, "--timeout: '%.40s' is not a number of seconds (0 to 86400)", value);
        return -1;
    case OPT_WAIT_MS:
        if (cli_parse_int (value, 0, 3600000, &n) == 0) {
            self->wait_ms = n;
            return 0;
        }
        snprintf (err, cap, "--wait-ms: '%.40s' is not a whole number from 0 to 3600000", value);
        return -1;
    case OPT_COUNT:
        if (cli_parse_int (value, 1, 1000000000, &n) == 0) {
            self->count = n;
            return 0;
        }
        snprintf (err, cap, "--count: '%.40s' is not a whole number from 1 to 1000000000", value);
        return -1;
    }
    snprintf (err, cap, "unexpected flag");
    return -1;
}

//  Applies weft's own settings around the layers: client role unless --role
//  was given, and --node (no beacons, one seed). Returns 0 or -1 with ERR.
static int settle_config (weft_cli_t *self, char *err, size_t cap)
{
    bool role_flag = false;
    for (size_t i = 0; i < self->flags.count; i++)
        role_flag |= strcmp (self->flags.items[i].key, "node.role") == 0;
    if (!role_flag)
        weft_config_set (self->cfg, "node.role", "client");
    if (self->node_endpoint &&
        (weft_config_set (self->cfg, "discovery.seeds", self->node_endpoint) ||
         weft_config_set (self->cfg, "discovery.enabled", "false"))) {
        snprintf (err, cap, "--node: %s", weft_config_error (self->cfg));
        return -1;
    }
    return 0;
}

//  True when WORD is one of the space-separated words of LIST.
static bool word_in (const char *word, const char *list)
{
    size_t len = strlen (word);
    for (const char *p = list; (p = strstr (p, word)); p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
            return true;
    return false;
}

//  Stores in ERR why a flag given does not fit COMMAND (each is taken by a
//  few commands only); returns -1 then, else 0.
static int check_flags_fit (const weft_cli_t *self, const char *command, char *err, size_t cap)
{
    const struct {
        const char *flag;     //  the flag
        bool given;           //  it was given
        const char *commands; //  the commands that take it, space-separated
    } flags[] = {
        {"--count", self->count >= 0, "sub recv"},   {"--from", self->from != NULL, "sub"},
        {"--durable", self->durable != NULL, "sub"}, {"--ack", self->ack != NULL, "sub"},
        {"--id", self->msg_id != NULL, "send"},      {"--priority", self->priority >= 0, "send"},
        {"--no-ack", self->no_ack, "recv"},          {"--prefetch", self->prefetch >= 0, "recv"}};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (flags[i].given && !word_in (command, flags[i].commands)) {
            snprintf (err, cap, "%s: only for %s", flags[i].flag,
                      strcmp (flags[i].commands, "sub recv") == 0 ? "sub and recv"
                                                                  : flags[i].commands);
            return -1;
        }
    return 0;
}

//  Checks the arguments of the queue commands (COMMAND); returns 0 or -1
//  with ERR.
static int check_queue_args (const weft_cli_t *self, const char *command, char *err, size_t cap)
{
    if (!word_in (command, "send recv redrive"))
        return 0;
    const char *queue = self->args[0];
    if (!cli_topic_valid (queue) || strlen (queue) > 251)
        snprintf (err, cap, "%s: '%.60s' is not a queue name (topic syntax, at most 251 bytes)",
                  command, queue);
    else if (self->msg_id && self->arg_count < 2)
        snprintf (err, cap, "send: --id needs MESSAGE (each line of stdin gets an id of its own)");
    else
        return 0;
    return -1;
}

//  Checks what needs the resolved config: a durable subscription keeps its
//  cursors in the node's journal. Returns 0 or -1 with ERR.
static int check_journal (weft_cli_t *self, char *err, size_t cap)
{
    if (!self->durable || *weft_config_get (self->cfg, "journal.dir"))
        return 0;
    snprintf (err, cap,
              "sub: --durable %s keeps its place in a journal: give its directory with --data DIR",
              self->durable);
    return -1;
}

int weft_args_parse (weft_cli_t *self, int argc, char **argv, char *err, size_t cap)
{
    return cli_parse (argc, argv, "h", s_options, take_flag, self, &self->flags, err, cap);
}

int weft_args_check (const weft_cli_t *self, const char *command, char *err, size_t cap)
{
    return check_flags_fit (self, command, err, cap) || check_queue_args (self, command, err, cap)
               ? -1
               : 0;
}

int weft_args_settle (weft_cli_t *self, char *err, size_t cap)
{
    return settle_config (self, err, cap) || check_journal (self, err, cap) ? -1 : 0;
}
