/*  cli/weftd.c - the Weft daemon: runs one node until SIGINT or SIGTERM.

    weftd [options]   (weftd --help lists them, and every config key)

    On start it prints one line to stdout, "ready name=NAME uuid=UUID
    router=ENDPOINT pub=ENDPOINT", so that scripts can wait for it. With
    --events it prints one line per membership event, and with --sub PATTERN
    one line per message received. A signal stops the node (peers see it
    leave at once) and weftd exits 0. See docs/CLI.md.

    A plain consumer of weft.h: it links the shared library and nothing else
    of Weft's.
*/
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

#define MAX_SUBS 64 //  --sub patterns one command line may carry

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
    int sigfd;                  //  signalfd of SIGINT/SIGTERM
    weft_node_t *node;          //  the running node
} weftd_t;

//  weftd's own flags.
enum { OPT_EVENTS = CLI_OPT_TOOL, OPT_SUB, OPT_REPAIR, OPT_VERSION };

static const struct option s_options[] = {
    {"events", no_argument, NULL, OPT_EVENTS},   {"sub", required_argument, NULL, OPT_SUB},
    {"repair", no_argument, NULL, OPT_REPAIR},   {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION}, {NULL, 0, NULL, 0}};

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
    printf ("  %-26s %s\n", "--repair", "repair the journal of --data DIR, then exit");
    printf ("  %-26s %s\n", "-h, --help", "print this help and exit");
    printf ("  %-26s %s\n\n", "--version", "print the version and exit");
    cli_help_config (stdout);
    printf ("\nExit codes: 0 stopped by a signal; 1 failed to start or run; 2 usage error.\n");
}

//  cli_tool_fn: records one of weftd's own flags.
static int take_flag (void *arg, int code, const char *value, char *err, size_t cap)
{
    weftd_t *self = arg;
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
    else {
        snprintf (err, cap, "%s", code == OPT_SUB ? "--sub: too many patterns" : "bad flag");
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
        cli_resolve (self->cfg, &self->flags, (const char *const *)environ, err, sizeof err))
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
    char *status = NULL;
    if (weft_status (self->node, &status) == 0) {
        json_get (status, "router", router, sizeof router);
        json_get (status, "pub", pub, sizeof pub);
        weft_free (status);
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

//  Serves the node until a signal; returns the exit code.
static int run (weftd_t *self)
{
    for (;;) {
        weft_msg_t *msg = NULL;
        int signo = 0;
        int rc = cli_next (self->node, self->sigfd, -1, &msg, &signo);
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
    close (self.sigfd);
    return code;
}
