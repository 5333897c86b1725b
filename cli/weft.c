/*  cli/weft.c - the weft command line: options, help and dispatch.

    weft [global options] COMMAND [args]   (weft --help, weft COMMAND --help)

    Joins the fabric as a client-role node (or talks to one node with --node),
    runs one command (weft_cmds.c, weft_queue.c, weft_ring.c) and exits; its
    flags are read and checked in weft_args.c. A plain consumer of weft.h.
*/
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "weft_cli.h"

extern char **environ;

//  A command: its word, its function, its arguments and its help.
typedef struct {
    const char *name;          //  "pub"
    int (*run) (weft_cli_t *); //  runs it; returns an exit code
    int min_args, max_args;    //  arguments it takes
    const char *usage;         //  its arguments, for usage lines
    const char *summary;       //  one line for weft --help
    const char *help;          //  what it does, several lines
} weft_command_t;

static const weft_command_t s_commands[] = {
    {"peers", weft_cmd_peers, 0, 0, "", "list the other nodes of the fabric",
     "Lists the other nodes of the fabric: name, uuid, role, endpoint, state.\n"
     "Listens until the peer set has been stable for one discovery interval\n"
     "(at most --wait-ms). With --json: an array of objects with every field\n"
     "(uuid, name, role, endpoint, pub_endpoint, state, source, ready, last_seen_ms).\n"},
    {"pub", weft_cmd_pub, 1, 2, "TOPIC [MESSAGE]", "publish MESSAGE, or each line of stdin",
     "Publishes MESSAGE on TOPIC, or one message per line of stdin when MESSAGE\n"
     "is absent. First waits until a member (with --node: that node) has joined\n"
     "and every joined peer is ready (has sent us its subscriptions), at most\n"
     "--timeout. Prints nothing, or {\"published\": N} with --json.\n"},
    {"sub", weft_cmd_sub, 1, 1, "PATTERN [--count N]", "print the messages of PATTERN",
     "Subscribes to PATTERN (a.b, a.*.c, a.#) and prints each message as\n"
     "\"TOPIC BODY\", or with --json one object per line with topic, from,\n"
     "from_name, seq, time_us and body. Exits 0 after N messages (--count),\n"
     "or at --timeout (0: never): 0 without --count, else 1.\n"
     "Durable topics: --from replays history first (earliest, seq:N of each\n"
     "stream, time:T in Unix seconds); --durable NAME keeps, in the journal of\n"
     "--data DIR, how far each stream was printed, and resumes there the next\n"
     "time (at-least-once). A replay that starts later than asked prints\n"
     "\"weft: sub: truncated topic=T first=N from=NAME\" on stderr, or with\n"
     "--json {\"event\": \"truncated\", ...} on stdout.\n"},
    {"status", weft_cmd_status, 0, 0, "", "print the status of the members",
     "Prints the status of every member (with --node: of that node): a short\n"
     "summary per node, or with --json an array of their status objects.\n"},
    {"journal", weft_cmd_journal, 0, 0, "", "print the journal streams of the members",
     "Prints the journal streams of every member (with --node: of that node):\n"
     "stream, count, bytes, first_seq, last_seq, first and last time (UTC), one\n"
     "line per stream; with --json an array of {name, uuid, journal} objects,\n"
     "journal being the status's array (or null for a node without a journal).\n"},
    {"send", weft_cmd_send, 1, 2, "QUEUE [MESSAGE]",
     "send MESSAGE, or each line of stdin, to QUEUE",
     "Sends MESSAGE to QUEUE, or one message per line of stdin when MESSAGE is\n"
     "absent, and waits until the queue's owner has confirmed each (journaled,\n"
     "and copied to its replicas). First waits until a member with a journal is\n"
     "on this node's ring. Exits 0 only when every message was confirmed (a\n"
     "duplicate --id counts as confirmed), else 1 with how many were not.\n"
     "--timeout bounds the wait for the ring, then how long send waits with no\n"
     "confirm coming (for room in the send window, or at the end); reading stdin\n"
     "is not bounded. Prints nothing, or with --json (also on failure)\n"
     "{\"sent\": N, \"confirmed\": N, \"duplicates\": N}.\n"},
    {"recv", weft_cmd_recv, 1, 1, "QUEUE [--count N]", "receive and acknowledge messages of QUEUE",
     "Consumes QUEUE and prints each message's body on a line, or with --json one\n"
     "object per line with queue, msg_id, deliveries, priority, reason and\n"
     "dead_deliveries (dead letters only) and body; each message is acknowledged\n"
     "once its line is written (--no-ack: never; the owner delivers it again\n"
     "after its ack timeout, or at once when this command exits). Exits 0 after\n"
     "N messages (--count), or at --timeout (0: never): 0 without --count,\n"
     "else 1.\n"},
    {"ring", weft_cmd_ring, 0, 0, "", "list the ring's members and the queues each owns",
     "Asks every member for its status and lists the members of the queue ring\n"
     "(those with a journal): name, uuid, weight and the queues each owns; on\n"
     "the Raft engine then each queue's group: leader, term, commit, voters,\n"
     "standbys and the lag of each member. With --json an array of {name, uuid,\n"
     "weight, owns: [...]}, plus groups: [{queue, term, commit, voters,\n"
     "standbys, lag}] for the groups each leads.\n"},
    {"queues", weft_cmd_queues, 0, 0, "", "list the queues with their owner and counters",
     "Asks every member for its status and lists each queue it owns (dead-letter\n"
     "queues \"Q.dlq\" included): queue, owner, depth (ready), delayed, in_flight,\n"
     "consumers, delivered, acked, dead; on the Raft engine (the owner is the\n"
     "group's leader) also term, commit, voters, standbys and lag (name:N, the\n"
     "entries each member lacks). With --json an array of objects with every\n"
     "counter of the status, and those of the group.\n"},
    {"redrive", weft_cmd_redrive, 1, 1, "QUEUE", "move the dead letters of QUEUE back into it",
     "Moves every message of the dead-letter queue QUEUE.dlq back to QUEUE and\n"
     "prints \"redriven N\", or {\"redriven\": N} with --json.\n"},
};

#define COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

int weft_fail (int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "weft: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return code;
}

int64_t weft_deadline (const weft_cli_t *self)
{
    return self->timeout_ms > 0 ? self->start_ms + self->timeout_ms : -1;
}

//  Returns the command named NAME, or NULL.
static const weft_command_t *command_find (const char *name)
{
    for (size_t i = 0; name && i < COMMAND_COUNT; i++)
        if (strcmp (s_commands[i].name, name) == 0)
            return &s_commands[i];
    return NULL;
}

//  Prints weft's own global flags.
static void help_global_flags (void)
{
    printf ("  %-26s %s\n", "--json", "machine-readable output");
    printf ("  %-26s %s\n", "--timeout SECONDS", "give up after this long (default 5; 0: never)");
    printf ("  %-26s %s\n", "--wait-ms MS",
            "listen for peers at most MS first (default: 1.5 intervals)");
    printf ("  %-26s %s\n", "--node tcp://HOST:PORT",
            "talk to this node only (no beacons; it is the one seed)");
    printf ("  %-26s %s\n", "-h, --help", "print help (weft COMMAND --help: that command's)");
    printf ("  %-26s %s\n", "--version", "print the version and exit");
}

//  Prints the global help.
static void help_main (void)
{
    printf ("Usage: weft [options] COMMAND [args]\n"
            "Joins the Weft fabric as a client node, runs COMMAND and exits.\n\nCommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        char left[48];
        snprintf (left, sizeof left, "%s %s", s_commands[i].name, s_commands[i].usage);
        printf ("  %-26s %s\n", left, s_commands[i].summary);
    }
    printf ("\nOptions (before or after COMMAND):\n");
    help_global_flags ();
    printf ("\nDiscovery and config options (as for weftd):\n");
    cli_help_flags (stdout);
    printf ("\n");
    cli_help_config (stdout);
    printf ("\nweft always runs with node.role=client unless --role is given.\n"
            "Exit codes: 0 ok; 1 runtime failure (timeout, no peer, network);\n"
            "2 usage error (bad flag or value, unreadable config file).\n");
}

//  A flag that only some commands take, for their help.
typedef struct {
    const char *command; //  the command that takes it
    const char *flag;    //  the flag, with its value
    const char *help;    //  one line
} command_flag_t;

static const command_flag_t s_command_flags[] = {
    {"sub", "--count N", "exit 0 after N messages"},
    {"sub", "--from START", "replay first: earliest, latest (default), seq:N, time:UNIX_SECONDS"},
    {"sub", "--durable NAME", "durable subscription NAME: resume where it was (needs --data DIR)"},
    {"sub", "--ack manual|auto",
     "manual (default): acknowledge each message once printed; auto: on receipt"},
    {"sub", "--data DIR", "the journal that keeps --durable's cursors"},
    {"sub", "--sync sync|async",
     "fsync each cursor commit (default), or not: survives kill -9 either way"},
    {"send", "--id ID", "with MESSAGE: its id ([A-Za-z0-9_.:-], 1 to 128); enqueued once per id"},
    {"send", "--priority N", "0 (default) to 9: higher priorities are delivered first"},
    {"recv", "--count N", "exit 0 after N messages"},
    {"recv", "--prefetch N", "most unacknowledged deliveries held at once (default 100)"},
    {"recv", "--no-ack", "never acknowledge: the owner delivers them again later"},
};

#define COMMAND_FLAG_COUNT (sizeof s_command_flags / sizeof s_command_flags[0])

//  Prints the help of COMMAND.
static void help_command (const weft_command_t *command)
{
    printf ("Usage: weft [options] %s %s\n\n%s\nOptions:\n", command->name, command->usage,
            command->help);
    help_global_flags ();
    for (size_t i = 0; i < COMMAND_FLAG_COUNT; i++)
        if (strcmp (s_command_flags[i].command, command->name) == 0)
            printf ("  %-26s %s\n", s_command_flags[i].flag, s_command_flags[i].help);
    printf ("  %-26s %s\n", "(see weft --help)", "discovery and config options");
}

//  Checks the command and its arguments; returns 0 or -1 with ERR.
static int check_command (weft_cli_t *self, char *err, size_t cap)
{
    const weft_command_t *command = command_find (self->command);
    if (!self->command)
        snprintf (err, cap, "no command given (see weft --help)");
    else if (!command)
        snprintf (err, cap, "'%.40s': unknown command (see weft --help)", self->command);
    else if (self->arg_count < command->min_args || self->arg_count > command->max_args)
        snprintf (err, cap, "%s: expected %s%s (see weft %s --help)", command->name,
                  *command->usage ? "arguments " : "no arguments", command->usage, command->name);
    else if (weft_args_check (self, command->name, err, cap))
        return -1;
    else if (self->ack && !self->durable)
        snprintf (err, cap, "--ack: only with --durable NAME");
    else if (strcmp (command->name, "pub") == 0 && !cli_topic_valid (self->args[0]))
        snprintf (err, cap, "pub: '%.60s' is not a valid topic", self->args[0]);
    else
        return 0;
    return -1;
}

//  Parses ARGV and resolves the config; returns 0 or an exit code (usage
//  errors have been reported).
static int configure (weft_cli_t *self, int argc, char **argv)
{
    char err[CLI_ERROR_MAX];
    int first = weft_args_parse (self, argc, argv, err, sizeof err);
    if (first >= 0 && first < argc) {
        self->command = argv[first];
        self->args = argv + first + 1;
        self->arg_count = argc - first - 1;
    }
    if (first >= 0 && !self->help && !self->version &&
        (check_command (self, err, sizeof err) ||
         cli_resolve (self->cfg, &self->flags, (const char *const *)environ, err, sizeof err) ||
         weft_args_settle (self, err, sizeof err)))
        first = -1;
    return first < 0 ? weft_fail (CLI_EXIT_USAGE, "%s", err) : 0;
}

//  Creates and starts the client node; returns 0 or an exit code.
static int start (weft_cli_t *self)
{
    int rc = 0;
    self->node = weft_node_new (self->cfg, &rc);
    if (!self->node)
        return weft_fail (CLI_EXIT_FAILURE, "%s", weft_strerror (rc ? rc : WEFT_ENOMEM));
    if ((rc = weft_node_start (self->node))) {
        const char *detail = weft_node_error (self->node);
        return weft_fail (CLI_EXIT_FAILURE, "%s", *detail ? detail : weft_strerror (rc));
    }
    self->start_ms = cli_now_ms ();
    return 0;
}

//  Prints help or the version as asked; returns the exit code.
static int print_info (weft_cli_t *self)
{
    const weft_command_t *command = command_find (self->command);
    if (self->version) {
        int major = 0, minor = 0, patch = 0;
        weft_version (&major, &minor, &patch);
        printf ("weft %d.%d.%d (libweft %d.%d.%d)\n", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
                WEFT_VERSION_PATCH, major, minor, patch);
    } else if (command)
        help_command (command);
    else if (self->command)
        return weft_fail (CLI_EXIT_USAGE, "'%.40s': unknown command (see weft --help)",
                          self->command);
    else
        help_main ();
    return CLI_EXIT_OK;
}

//  Runs weft; returns the exit code.
static int weft_main (weft_cli_t *self, int argc, char **argv)
{
    int code = configure (self, argc, argv);
    if (code)
        return code;
    if (self->help || self->version)
        return print_info (self);
    if ((code = start (self)))
        return code;
    return command_find (self->command)->run (self);
}

int main (int argc, char **argv)
{
    weft_cli_t self = {.sigfd = cli_signals_open (),
                       .timeout_text = "5",
                       .timeout_ms = 5000,
                       .wait_ms = -1,
                       .count = -1,
                       .priority = -1,
                       .prefetch = -1};
    if (self.sigfd < 0) {
        perror ("weft: signalfd");
        return CLI_EXIT_FAILURE;
    }
    cli_flags_init (&self.flags);
    self.cfg = weft_config_new ();
    if (!self.cfg)
        return weft_fail (CLI_EXIT_FAILURE, "out of memory");
    int code = weft_main (&self, argc, argv);
    if (self.node)
        weft_node_stop (self.node); //  leaving beacon: peers drop us at once
    weft_node_destroy (&self.node);
    weft_config_destroy (&self.cfg);
    close (self.sigfd);
    return code;
}
