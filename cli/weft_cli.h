/*  cli/weft_cli.h - the parts of the weft command line (weft.c: commands,
    help and dispatch; weft_args.c: weft's own flags and their checks;
    weft_wait.c: waiting for peers; weft_cmds.c: the topic and status
    commands; weft_queue.c: the queue commands send, recv and redrive;
    weft_ring.c: ring and queues).

    weft joins the fabric as a client-role node, or talks to one node with
    --node, does one command (peers, pub, sub, status, journal, send, recv,
    ring, queues, redrive) and exits: 0 ok, 1 runtime failure, 2 usage error,
    with a one-line message on stderr for 1 and 2. See docs/CLI.md.
*/
#ifndef WEFT_CLI_WEFT_CLI_H
#define WEFT_CLI_WEFT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "options.h"
#include "weft.h"

//  One run of weft.
typedef struct {
    weft_config_t *cfg;        //  resolved configuration
    cli_flags_t flags;         //  config flags of the command line
    bool json;                 //  --json
    bool help;                 //  --help
    bool version;              //  --version
    const char *timeout_text;  //  --timeout as typed, for messages
    int64_t timeout_ms;        //  --timeout (0: no limit)
    int64_t wait_ms;           //  --wait-ms, or -1 for 1.5 x discovery.interval_ms
    const char *node_endpoint; //  --node tcp://HOST:PORT, or NULL
    long long count;           //  sub and recv --count, or -1
    const char *from;          //  sub --from (earliest, latest, seq:N, time:T), or NULL
    const char *durable;       //  sub --durable NAME, or NULL
    const char *ack;           //  sub --ack as typed, or NULL
    bool ack_auto;             //  sub --ack auto: acknowledged on receipt, not after printing
    const char *msg_id;        //  send --id, or NULL
    int priority;              //  send --priority 0..9, or -1
    bool no_ack;               //  recv --no-ack
    int prefetch;              //  recv --prefetch, or -1 (100)
    const char *command;       //  the command word, or NULL
    char **args;               //  its arguments (borrowed from argv)
    int arg_count;             //  number of args
    int sigfd;                 //  signalfd of SIGINT/SIGTERM
    weft_node_t *node;         //  the client node, once started
    int64_t start_ms;          //  when the node started (cli_now_ms clock)
} weft_cli_t;

//  What weft_wait () waits for.
typedef enum {
    WAIT_STABLE, //  peers: the peer set unchanged for one interval
    WAIT_READY,  //  pub: a member joined and every joined peer ready
    WAIT_TARGET, //  status: a member (with --node: the node) joined
    WAIT_RING    //  send, recv, redrive: as WAIT_TARGET, and our ring has a member
} wait_goal_t;

//  A node whose status weft_each_status () got.
typedef struct {
    const char *name; //  its name (borrowed)
    const char *uuid; //  its UUID (borrowed)
    size_t index;     //  how many nodes answered before it
} weft_node_info_t;

//  Called by weft_each_status () with the status of NODE, parsed (an
//  object, borrowed for the call: json_incref () what is kept); ARG is the
//  command's own state.
typedef void (weft_status_fn) (weft_cli_t *self, const weft_node_info_t *node, json_t *status,
                               void *arg);

//  Parses ARGV with weft's own flags and the config flags (cli_parse ()):
//  returns the index of the command word (ARGC: none), or -1 with ERR.
int weft_args_parse (weft_cli_t *self, int argc, char **argv, char *err, size_t cap);

//  Checks that the flags given fit COMMAND, and the arguments of the queue
//  commands; returns 0 or -1 with ERR.
int weft_args_check (const weft_cli_t *self, const char *command, char *err, size_t cap);

//  Applies weft's own settings to the resolved config (client role unless
//  --role, --node) and checks what needs it (--durable needs a journal);
//  returns 0 or -1 with ERR.
int weft_args_settle (weft_cli_t *self, char *err, size_t cap);

//  Prints "weft: MESSAGE" on stderr and returns CODE.
int weft_fail (int code, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  The deadline of the whole command (cli_now_ms clock), or -1 for none.
int64_t weft_deadline (const weft_cli_t *self);

//  Listens for peers until GOAL is met (bounded by --wait-ms, then
//  --timeout); see docs/CLI.md. Returns 0, WEFT_ETIMEDOUT when a goal that
//  needs a peer was not met in time, CLI_SIGNALED, or a weft_recv () error.
int weft_wait (weft_cli_t *self, wait_goal_t goal);

//  Reports a failed wait (RC from weft_wait ()) of command NAME, WHAT being
//  what did not happen in time; returns the exit code (1).
int weft_wait_failure (const weft_cli_t *self, const char *name, int rc, const char *what);

//  Waits for the targets (WAIT_TARGET), asks each for its status over the
//  network and calls FN for each that answered. With ROWS (an array FN
//  fills, borrowed) and --json, prints ROWS compact when all have answered
//  (before a failure is reported). Returns the exit code of command NAME:
//  1, reported, when no target joined or some did not answer or gave a
//  status that is not a JSON object (after FN saw the others).
int weft_each_status (weft_cli_t *self, const char *name, weft_status_fn *fn, void *arg,
                      json_t *rows);

//  Prints the --json output JSON of command NAME (cli_json_print () with
//  FLAGS); returns 0, or the exit code (1, reported) when it could not be
//  built (JSON is NULL) or written.
int weft_print_json (const char *name, const json_t *json, size_t flags);

//  True when peer INDEX of PEERS is the one --node named (or any member
//  without --node), joined: a target of status and of pub's wait.
bool weft_is_target (const weft_cli_t *self, const weft_peers_t *peers, size_t index);

//  Reports how a counting command (sub, recv) named NAME ended after RECEIVED
//  messages, RC being what stopped it (cli_next ()): a timeout or a signal
//  is a success without --count and a failure with one. Returns the exit code.
int weft_count_end (const weft_cli_t *self, const char *name, int rc, long long received);

//  The commands; each returns an exit code and reports its own failures.
int weft_cmd_peers (weft_cli_t *self);
int weft_cmd_pub (weft_cli_t *self);
int weft_cmd_sub (weft_cli_t *self);
int weft_cmd_status (weft_cli_t *self);
int weft_cmd_journal (weft_cli_t *self);
int weft_cmd_send (weft_cli_t *self);
int weft_cmd_recv (weft_cli_t *self);
int weft_cmd_ring (weft_cli_t *self);
int weft_cmd_queues (weft_cli_t *self);
int weft_cmd_redrive (weft_cli_t *self);

#endif
