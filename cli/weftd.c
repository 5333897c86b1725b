/*  cli/weftd.c - the Weft daemon: runs one node until SIGINT or SIGTERM.

    weftd [options]   (weftd --help lists them, and every config key)

    On start it prints one line to stdout, "ready name=NAME uuid=UUID
    router=ENDPOINT pub=ENDPOINT", so that scripts can wait for it. With
    --events it prints one line per membership event, and with --sub PATTERN
    one line per message received. With --pub TOPIC it publishes each line of
    its stdin on TOPIC: the daemon is then the publisher, which is what makes
    a topic declared with --durable journaled, repaired and replayable. A
    signal stops the node (peers see it leave at once) and weftd exits 0.
    See docs/CLI.md.

    A plain consumer of weft.h: it links the shared library and nothing else
    of Weft's.
*/
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "loop.h"
#include "options.h"
#include "weft.h"

extern char **environ;

#define MAX_SUBS    64          //  --sub patterns one command line may carry
#define INPUT_CHUNK (64 * 1024) //  bytes of stdin read at once by --pub

//  The lines of stdin that --pub publishes.
typedef struct {
    char *data;       //  bytes read and not yet published (a partial line)
    size_t used;      //  bytes in data
    size_t cap;       //  size of data
    size_t max_line;  //  limits.max_message: a longer line cannot be published
    size_t published; //  messages published so far
    bool eof;         //  stdin is closed
} input_t;

//  The daemon's state.
typedef struct {
    weft_config_t *cfg;         //  resolved configuration
    cli_flags_t flags;          //  config flags of the command line
    bool events;                //  --events: print membership events
    bool repair;                //  --repair: repair the journal and exit
    bool help;                  //  --help
    bool version;               //  --version
    const char *subs[MAX_SUBS]; //  --sub patterns (borrowed from argv)
    size_t sub_count;           //  used subs
    const char *pub_topic;      //  --pub TOPIC (borrowed from argv), or NULL
    input_t input;              //  what --pub read from stdin
    int sigfd;                  //  signalfd of SIGINT/SIGTERM
    weft_node_t *node;          //  the running node
} weftd_t;

//  weftd's own flags.
enum {
    OPT_EVENTS = CLI_OPT_TOOL,
    OPT_SUB,
    OPT_PUB,
    OPT_REPAIR,
    OPT_VERSION,
    OPT_DURABLE,
    OPT_RETENTION,
    OPT_SYNC
};

static const struct option s_options[] = {{"events", no_argument, NULL, OPT_EVENTS},
                                          {"sub", required_argument, NULL, OPT_SUB},
                                          {"pub", required_argument, NULL, OPT_PUB},
                                          {"repair", no_argument, NULL, OPT_REPAIR},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, OPT_VERSION},
                                          {"durable", required_argument, NULL, OPT_DURABLE},
                                          {"retention", required_argument, NULL, OPT_RETENTION},
                                          {"sync", required_argument, NULL, OPT_SYNC},
                                          {NULL, 0, NULL, 0}};

//  weftd's own flags that set a config key: applied in order with the
//  shared flags, so a later flag (or --set) wins and --durable accumulates.
static const struct {
    int code;         //  OPT_*
    const char *flag; //  for messages
    const char *key;  //  the config key it sets
} s_config_flags[] = {{OPT_DURABLE, "--durable", "durable.topics"},
                      {OPT_RETENTION, "--retention", "durable.retention"},
                      {OPT_SYNC, "--sync", "journal.sync"}};

//  Prints the usage, every flag and every config key to stdout.
static void print_help (void)
{
    printf ("Usage: weftd [options]\n"
            "Runs one Weft node until SIGINT or SIGTERM. On start prints one line\n"
            "\"ready name=NAME uuid=UUID router=ENDPOINT pub=ENDPOINT\" to stdout.\n\n"
            "Options:\n");
    cli_help_flags (stdout);
    printf ("  %-26s %s\n", "--events", "print join/leave/evasive/expired/gap lines to stdout");
    printf ("  %-26s %s\n", "--sub PATTERN",
            "subscribe and print \"msg topic=T from=NAME seq=S len=L\" (repeatable)");
    printf ("  %-26s %s\n", "--pub TOPIC",
            "publish each line of stdin on TOPIC; print \"published topic=T count=N\" at its end");
    printf ("  %-26s %s\n", "--durable PATTERN",
            "journal the topics of PATTERN published here (repeatable; needs --data) "
            "[durable.topics]");
    printf ("  %-26s %s\n", "--retention SPEC",
            "bound each durable stream: max_age_ms=N,max_bytes=N,max_count=N [durable.retention]");
    printf ("  %-26s %s\n", "--sync sync|async",
            "fsync each journal commit, or leave flushing to the OS [journal.sync]");
    printf ("  %-26s %s\n", "--repair", "repair the journal of --data DIR, then exit");
    printf ("  %-26s %s\n", "-h, --help", "print this help and exit");
    printf ("  %-26s %s\n\n", "--version", "print the version and exit");
    cli_help_config (stdout);
    printf ("\nExit codes: 0 stopped by a signal; 1 failed to start or run; 2 usage error.\n");
}

//  Records flag CODE if it is one of s_config_flags; returns 1 when it
//  was (0 or -1 in *RC), 0 when CODE is another flag.
static int take_config_flag (weftd_t *self, int code, const char *value, char *err, size_t cap,
                             int *rc)
{
    for (size_t i = 0; i < sizeof s_config_flags / sizeof s_config_flags[0]; i++)
        if (s_config_flags[i].code == code) {
            *rc = cli_flags_add (&self->flags, s_config_flags[i].flag, s_config_flags[i].key, value,
                                 err, cap);
            return 1;
        }
    return 0;
}

//  cli_tool_fn: records one of weftd's own flags.
static int take_flag (void *arg, int code, const char *value, char *err, size_t cap)
{
    weftd_t *self = arg;
    int rc = 0;
    if (take_config_flag (self, code, value, err, cap, &rc))
        return rc;
    if (code == OPT_EVENTS)
        self->events = true;
    else if (code == OPT_REPAIR)
        self->repair = true;
    else if (code == 'h')
        self->help = true;
    else if (code == OPT_VERSION)
        self->version = true;
    else if (code == OPT_SUB && self->sub_count < MAX_SUBS)
        self->subs[self->sub_count++] = value;
    else if (code == OPT_PUB && cli_topic_valid (value))
        self->pub_topic = value;
    else {
        if (code == OPT_PUB)
            snprintf (err, cap, "--pub: '%.60s' is not a valid topic", value);
        else
            snprintf (err, cap, "%s", code == OPT_SUB ? "--sub: too many patterns" : "bad flag");
        return -1;
    }
    return 0;
}

//  Checks what the flags cannot check one by one: durable topics need a
//  journal. Returns 0, or -1 with a message in ERR.
static int check_settings (weftd_t *self, char *err, size_t cap)
{
    const char *topics = weft_config_get (self->cfg, "durable.topics");
    if (*topics && !*weft_config_get (self->cfg, "journal.dir")) {
        snprintf (err, cap,
                  "--durable: durable topics ('%.60s') are journaled: give the journal "
                  "directory with --data DIR",
                  topics);
        return -1;
    }
    return 0;
}

//  Parses ARGV and resolves the config; returns 0 or an exit code (usage
//  errors have been reported).
static int configure (weftd_t *self, int argc, char **argv)
{
    char err[CLI_ERROR_MAX];
    int first =
        cli_parse (argc, argv, "h", s_options, take_flag, self, &self->flags, err, sizeof err);
    if (first >= 0 && first < argc) {
        snprintf (err, sizeof err, "unexpected argument '%.60s' (see --help)", argv[first]);
        first = -1;
    }
    if (first >= 0 && !self->help && !self->version &&
        (cli_resolve (self->cfg, &self->flags, (const char *const *)environ, err, sizeof err) ||
         (!self->repair && check_settings (self, err, sizeof err))))
        first = -1;
    if (first < 0) {
        fprintf (stderr, "weftd: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

//  Prints the "ready" line: name, uuid, and the endpoints from the status.
static void print_ready (weftd_t *self)
{
    char router[160] = "", pub[160] = "";
    char *text = NULL;
    if (weft_status (self->node, &text) == 0) {
        json_t *status = cli_json_parse (text);
        snprintf (router, sizeof router, "%s", cli_json_text (status, "router", ""));
        snprintf (pub, sizeof pub, "%s", cli_json_text (status, "pub", ""));
        json_decref (status);
        weft_free (text);
    }
    printf ("ready name=%s uuid=%s", weft_node_name (self->node), weft_node_uuid (self->node));
    if (*router)
        printf (" router=%s", router);
    if (*pub)
        printf (" pub=%s", pub);
    printf ("\n");
    fflush (stdout);
}

//  Reports a failed node call RC with the node's detail; returns 1.
static int node_failure (weftd_t *self, int rc)
{
    const char *detail = self->node ? weft_node_error (self->node) : "";
    fprintf (stderr, "weftd: %s\n", detail && *detail ? detail : weft_strerror (rc));
    return CLI_EXIT_FAILURE;
}

//  Creates and starts the node and its subscriptions; returns 0 or an exit code.
static int start (weftd_t *self)
{
    int rc = 0;
    self->node = weft_node_new (self->cfg, &rc);
    if (!self->node)
        return node_failure (self, rc ? rc : WEFT_ENOMEM);
    if ((rc = weft_node_start (self->node)))
        return node_failure (self, rc);
    for (size_t i = 0; i < self->sub_count; i++)
        if ((rc = weft_subscribe (self->node, self->subs[i]))) {
            fprintf (stderr, "weftd: --sub: '%s': %s\n", self->subs[i], weft_strerror (rc));
            return rc == WEFT_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
        }
    return 0;
}

//  Returns the word printed for membership event KIND, or NULL.
static const char *event_name (int kind)
{
    switch (kind) {
    case WEFT_MSG_JOIN:
        return "join";
    case WEFT_MSG_LEAVE:
        return "leave";
    case WEFT_MSG_EVASIVE:
        return "evasive";
    case WEFT_MSG_EXPIRED:
        return "expired";
    default:
        return NULL;
    }
}

//  True when log.level asks for info (or more) on stderr.
static bool verbose (const weftd_t *self)
{
    const char *level = weft_config_get (self->cfg, "log.level");
    return strcmp (level, "info") == 0 || strcmp (level, "debug") == 0 ||
           strcmp (level, "trace") == 0;
}

//  Prints one line for MSG: a message if --sub, an event if --events.
static void print_msg (weftd_t *self, const weft_msg_t *msg)
{
    int kind = weft_msg_kind (msg);
    if (kind == WEFT_MSG_MESSAGE && self->sub_count) {
        size_t len = 0;
        weft_msg_body (msg, &len);
        printf ("msg topic=%s from=%s seq=%llu len=%zu\n", weft_msg_topic (msg),
                weft_msg_sender_name (msg), (unsigned long long)weft_msg_seq (msg), len);
    } else if (kind == WEFT_MSG_GAP && self->events)
        printf ("gap name=%s uuid=%s count=%llu\n", weft_msg_sender_name (msg),
                weft_msg_sender (msg), (unsigned long long)weft_msg_seq (msg));
    else if (event_name (kind) && self->events)
        printf ("%s name=%s uuid=%s\n", event_name (kind), weft_msg_sender_name (msg),
                weft_msg_sender (msg));
    else
        return;
    fflush (stdout);
}

//  Publishes LEN bytes of LINE on --pub's topic; returns 0 or an exit code.
static int input_publish (weftd_t *self, const char *line, size_t len)
{
    int rc = weft_publish (self->node, self->pub_topic, line, len);
    if (rc) {
        fprintf (stderr, "weftd: --pub: message %zu: %s\n", self->input.published + 1,
                 weft_strerror (rc));
        return CLI_EXIT_FAILURE;
    }
    self->input.published++;
    return 0;
}

//  Publishes every complete line buffered in --pub's input, keeps the rest;
//  returns 0 or an exit code.
static int input_lines (weftd_t *self)
{
    input_t *in = &self->input;
    size_t start = 0;
    char *newline;
    while ((newline = memchr (in->data + start, '\n', in->used - start))) {
        size_t len = (size_t)(newline - (in->data + start));
        int code = input_publish (self, in->data + start, len);
        if (code)
            return code;
        start += len + 1;
    }
    memmove (in->data, in->data + start, in->used - start);
    in->used -= start;
    return 0;
}

//  Makes room for one more read in --pub's buffer; returns 0 or an exit code.
static int input_room (weftd_t *self)
{
    input_t *in = &self->input;
    if (in->cap - in->used >= INPUT_CHUNK)
        return 0;
    if (in->used > in->max_line) {
        fprintf (stderr, "weftd: --pub: line %zu is longer than limits.max_message (%zu bytes)\n",
                 in->published + 1, in->max_line);
        return CLI_EXIT_FAILURE;
    }
    size_t cap = in->cap ? in->cap * 2 : 4 * INPUT_CHUNK;
    char *data = realloc (in->data, cap);
    if (!data) {
        fprintf (stderr, "weftd: --pub: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    in->data = data;
    in->cap = cap;
    return 0;
}

//  Ends --pub's input: publishes a last line without a newline, and prints
//  "published topic=T count=N". Returns 0 or an exit code.
static int input_end (weftd_t *self)
{
    input_t *in = &self->input;
    in->eof = true;
    int code = in->used ? input_publish (self, in->data, in->used) : 0;
    in->used = 0;
    if (!code) {
        printf ("published topic=%s count=%zu\n", self->pub_topic, in->published);
        fflush (stdout);
    }
    return code;
}

//  Reads what stdin has (once: it said it is readable) and publishes every
//  complete line; returns 0 or an exit code.
static int input_take (weftd_t *self)
{
    input_t *in = &self->input;
    int code = input_room (self);
    if (code)
        return code;
    ssize_t n = read (STDIN_FILENO, in->data + in->used, in->cap - in->used);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0)
        fprintf (stderr, "weftd: --pub: reading stdin: %s\n", strerror (errno));
    if (n <= 0)
        return input_end (self);
    in->used += (size_t)n;
    return input_lines (self);
}

//  Serves the node until a signal, publishing stdin with --pub; returns the
//  exit code.
static int run (weftd_t *self)
{
    for (;;) {
        weft_msg_t *msg = NULL;
        int signo = 0;
        int input = self->pub_topic && !self->input.eof ? STDIN_FILENO : -1;
        int rc = cli_wait (self->node, self->sigfd, input, -1, &msg, &signo);
        if (rc == CLI_INPUT) {
            int code = input_take (self);
            if (code)
                return code;
            continue;
        }
        if (rc == CLI_SIGNALED) {
            if (verbose (self))
                fprintf (stderr, "weftd: %s, stopping\n", strsignal (signo));
            return CLI_EXIT_OK;
        }
        if (rc) {
            fprintf (stderr, "weftd: the node stopped: %s\n", weft_strerror (rc));
            return CLI_EXIT_FAILURE;
        }
        print_msg (self, msg);
        weft_msg_destroy (&msg);
    }
}

//  Prints the version of weftd and of the library it runs on.
static void print_version (void)
{
    int major = 0, minor = 0, patch = 0;
    weft_version (&major, &minor, &patch);
    printf ("weftd %d.%d.%d (libweft %d.%d.%d)\n", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
            WEFT_VERSION_PATCH, major, minor, patch);
}

//  Handles --repair: salvages the journal of journal.dir, which no process
//  may have open; returns the exit code.
static int repair (weftd_t *self)
{
    const char *dir = weft_config_get (self->cfg, "journal.dir");
    if (!*dir) {
        fprintf (stderr, "weftd: --repair: needs the journal directory (--data DIR)\n");
        return CLI_EXIT_USAGE;
    }
    char *why = NULL;
    int rc = weft_journal_repair (dir, &why);
    if (rc)
        fprintf (stderr, "weftd: --repair: %s: %s\n", dir, why && *why ? why : weft_strerror (rc));
    else
        printf ("repaired %s\n", dir);
    weft_free (why);
    return rc ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

//  Runs weftd; returns the exit code.
static int weftd_main (weftd_t *self, int argc, char **argv)
{
    int code = configure (self, argc, argv);
    if (code)
        return code;
    if (self->help || self->version) {
        if (self->help)
            print_help ();
        else
            print_version ();
        return CLI_EXIT_OK;
    }
    if (self->repair)
        return repair (self);
    if ((code = start (self)))
        return code;
    self->input.max_line = (size_t)atoll (weft_config_get (self->cfg, "limits.max_message"));
    print_ready (self);
    return run (self);
}

int main (int argc, char **argv)
{
    weftd_t self = {.sigfd = cli_signals_open ()};
    if (self.sigfd < 0) {
        perror ("weftd: signalfd");
        return CLI_EXIT_FAILURE;
    }
    cli_flags_init (&self.flags);
    self.cfg = weft_config_new ();
    if (!self.cfg) {
        fprintf (stderr, "weftd: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    int code = weftd_main (&self, argc, argv);
    if (self.node)
        weft_node_stop (self.node); //  leaving beacon: peers drop us at once
    weft_node_destroy (&self.node);
    weft_config_destroy (&self.cfg);
    free (self.input.data);
    close (self.sigfd);
    return code;
}
