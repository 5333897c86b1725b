/*  cli/options.h - option handling shared by weftd and weft.

    A tool's configuration is built in layers, each overriding the one before:

      built-in defaults  <  ZPL config file  <  environment  <  command-line flags

    The file is named by --config FILE, else by $WEFT_CONFIG. Every config key
    K is also read from the environment variable WEFT_ + upper (K) with '.'
    turned into '_' (node.name -> WEFT_NODE_NAME); an empty variable counts as
    unset. Flags are applied in the order given; the values of a list key
    (discovery.seeds: --seed; durable.topics: weftd --durable), given by its
    flag or by --set, accumulate into one comma list that replaces the list
    of lower layers.

    The layers are small pure functions over a weft_config_t (the only part
    of libweft used here), so that they can be tested without a node:
    cli_flags_take () records flags, cli_resolve () applies file, environment
    and flags. cli_parse () runs getopt_long over argv for the shared flags
    plus a tool's own, which a callback handles.
    Thread: not thread-safe (getopt_long has global state); call from main.
*/
#ifndef WEFT_CLI_OPTIONS_H
#define WEFT_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft.h"

//  Exit codes of both tools.
#define CLI_EXIT_OK      0 //  success
#define CLI_EXIT_FAILURE 1 //  runtime failure (start, network, timeout)
#define CLI_EXIT_USAGE   2 //  bad flag, bad value, unreadable config file

//  Long-option codes of the shared flags. A tool numbers its own flags from
//  CLI_OPT_TOOL up, and may use short options (ASCII) as it likes.
enum {
    CLI_OPT_NAME = 0x100,
    CLI_OPT_CLUSTER,
    CLI_OPT_DATA,
    CLI_OPT_INTERFACE,
    CLI_OPT_BEACON_PORT,
    CLI_OPT_PORT,
    CLI_OPT_PUB_PORT,
    CLI_OPT_SEED,
    CLI_OPT_ROLE,
    CLI_OPT_CONFIG,
    CLI_OPT_LOG_LEVEL,
    CLI_OPT_SET,
    CLI_OPT_TOOL = 0x200
};

#define CLI_MAX_SETTINGS 128 //  config flags one command line may carry
#define CLI_KEY_MAX      64  //  longest config key, NUL included
#define CLI_ERROR_MAX    320 //  room for one error message

//  One config value set by a flag.
typedef struct {
    const char *flag;      //  the flag, for messages ("--port"); static
    char key[CLI_KEY_MAX]; //  the config key it sets
    const char *value;     //  the value, borrowed from argv
} cli_setting_t;

//  The config part of a command line, in the order given.
typedef struct {
    cli_setting_t items[CLI_MAX_SETTINGS]; //  flags that set config keys
    size_t count;                          //  used items
    const char *config_path;               //  --config FILE, or NULL
} cli_flags_t;

//  Empties FLAGS.
void cli_flags_init (cli_flags_t *flags);

//  Records shared flag CODE with argument ARG (borrowed: must outlive FLAGS).
//  Returns 1 when CODE is a shared flag and was recorded, 0 when CODE is not a
//  shared flag, -1 on a bad argument (--set without '=', too many flags) with
//  a message in ERR.
int cli_flags_take (cli_flags_t *flags, int code, const char *arg, char *err, size_t cap);

//  Records a tool's own flag FLAG (a static string, for messages) that sets
//  config KEY to VALUE (borrowed: must outlive FLAGS), in command-line order
//  with the shared flags. Returns 0, or -1 with a message in ERR.
int cli_flags_add (cli_flags_t *flags, const char *flag, const char *key, const char *value,
                   char *err, size_t cap);

//  Stores in BUF the environment variable of config KEY (WEFT_NODE_NAME for
//  node.name). Returns BUF.
char *cli_env_name (const char *key, char *buf, size_t cap);

//  Returns the value of variable NAME in ENVP (a NULL-terminated array of
//  "NAME=VALUE", like environ), or NULL when unset or empty.
const char *cli_env_lookup (const char *const *envp, const char *name);

//  Layer 2: loads ZPL file PATH into CFG. Returns 0, or -1 with ERR set
//  (naming the file, the key and the reason).
int cli_apply_file (weft_config_t *cfg, const char *path, char *err, size_t cap);

//  Layer 3: sets every key whose variable is set in ENVP. Returns 0, or -1
//  with ERR naming the variable and the reason.
int cli_apply_env (weft_config_t *cfg, const char *const *envp, char *err, size_t cap);

//  Layer 4: applies FLAGS in order, list keys accumulated. Returns 0, or -1 with
//  ERR naming the flag and the reason.
int cli_apply_flags (weft_config_t *cfg, const cli_flags_t *flags, char *err, size_t cap);

//  Applies every layer above CFG's current values (the defaults, possibly a
//  tool's own): the config file of FLAGS or $WEFT_CONFIG of ENVP, then ENVP,
//  then FLAGS. Returns 0, or -1 with a one-line reason in ERR.
int cli_resolve (weft_config_t *cfg, const cli_flags_t *flags, const char *const *envp, char *err,
                 size_t cap);

//  Handles a tool's own flag CODE with argument ARG (NULL if none); returns
//  0, or -1 with a message in ERR.
typedef int (cli_tool_fn) (void *tool, int code, const char *arg, char *err, size_t cap);

//  Parses ARGV with getopt_long: the shared flags go to FLAGS, the flags of
//  TOOL_OPTIONS (terminated by a zeroed entry; may be NULL) to TOOL_FN, whose
//  short options are in SHORTS (may be NULL). Non-flag arguments are moved to
//  the end of ARGV (as getopt_long does; "--" ends the flags). Returns the
//  index of the first of them, or -1 with a one-line message in ERR.
int cli_parse (int argc, char **argv, const char *shorts, const struct option *tool_options,
               cli_tool_fn *tool_fn, void *tool, cli_flags_t *flags, char *err, size_t cap);

//  Prints the shared flags, one per line, for --help.
void cli_help_flags (FILE *out);

//  Prints every config key with its environment variable, default and help,
//  and the order of precedence, for --help.
void cli_help_config (FILE *out);

//  True when TOPIC is a valid topic (weft.h: 1..255 bytes of '.'-separated
//  non-empty segments of [A-Za-z0-9_-:]). The tools check topics before
//  starting a node, so a typo fails at once; weft_publish () stays the
//  authority.
bool cli_topic_valid (const char *topic);

//  Parses a whole number from MIN to MAX into *OUT; returns 0 or -1.
int cli_parse_int (const char *text, long long min, long long max, long long *out);

//  Parses a non-negative number of seconds (decimals allowed, at most one
//  day) into milliseconds; returns 0 or -1.
int cli_parse_seconds (const char *text, int64_t *ms);

#endif
