/*  cli/options.c - option handling shared by weftd and weft (see options.h).

    Uses only weft_config_* from weft.h and libc, so that the unit test can
    compile this file on its own (tests/unit/test_cli_options.c).
*/
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

//  A shared flag: its name, what it sets and its help line.
typedef struct {
    const char *flag; //  "--name"
    int code;         //  CLI_OPT_*
    const char *key;  //  config key it sets, or NULL (--config, --set)
    const char *meta; //  placeholder of its value in --help
    const char *help; //  one line for --help
} cli_flag_t;

static const cli_flag_t s_flags[] = {
    {"--config", CLI_OPT_CONFIG, NULL, "FILE", "ZPL config file (default: $WEFT_CONFIG)"},
    {"--name", CLI_OPT_NAME, "node.name", "NAME", "node name shown to peers"},
    {"--role", CLI_OPT_ROLE, "node.role", "ROLE", "member or client"},
    {"--cluster", CLI_OPT_CLUSTER, "cluster.name", "NAME", "cluster to join"},
    {"--data", CLI_OPT_DATA, "journal.dir", "DIR", "journal directory"},
    {"--interface", CLI_OPT_INTERFACE, "discovery.interface", "IFACE",
     "interface or IPv4 address (lo: this host)"},
    {"--beacon-port", CLI_OPT_BEACON_PORT, "discovery.port", "PORT", "UDP port of beacons"},
    {"--port", CLI_OPT_PORT, "transport.port", "PORT", "ROUTER port (0: any)"},
    {"--pub-port", CLI_OPT_PUB_PORT, "transport.pub_port", "PORT", "PUB port (0: any)"},
    {"--seed", CLI_OPT_SEED, "discovery.seeds", "tcp://HOST:PORT",
     "a known node's ROUTER (repeatable)"},
    {"--log-level", CLI_OPT_LOG_LEVEL, "log.level", "LEVEL",
     "none, error, warn, info, debug or trace"},
    {"--set", CLI_OPT_SET, NULL, "KEY=VALUE", "set any config key (repeatable)"},
};

#define FLAG_COUNT (sizeof s_flags / sizeof s_flags[0])
#define LIST_MAX   4096 //  longest accumulated list value

//  Keys whose flags accumulate into one comma list (--seed, weftd --durable).
static const char *const s_list_keys[] = {"discovery.seeds", "durable.topics"};

#define LIST_KEY_COUNT (sizeof s_list_keys / sizeof s_list_keys[0])

void cli_flags_init (cli_flags_t *flags)
{
    memset (flags, 0, sizeof *flags);
}

//  Returns the shared flag with CODE, or NULL.
static const cli_flag_t *flag_by_code (int code)
{
    for (size_t i = 0; i < FLAG_COUNT; i++)
        if (s_flags[i].code == code)
            return &s_flags[i];
    return NULL;
}

//  Appends a setting of KEY to VALUE by FLAG; -1 with ERR when full.
static int flags_push (cli_flags_t *flags, const char *flag, const char *key, size_t key_len,
                       const char *value, char *err, size_t cap)
{
    if (flags->count == CLI_MAX_SETTINGS) {
        snprintf (err, cap, "%s: more than %d config flags", flag, CLI_MAX_SETTINGS);
        return -1;
    }
    if (key_len == 0 || key_len >= CLI_KEY_MAX) {
        snprintf (err, cap, "%s: '%.*s' is not a config key (see --help)", flag,
                  (int)(key_len > 60 ? 60 : key_len), key);
        return -1;
    }
    cli_setting_t *item = &flags->items[flags->count++];
    item->flag = flag;
    memcpy (item->key, key, key_len);
    item->key[key_len] = 0;
    item->value = value;
    return 0;
}

int cli_flags_take (cli_flags_t *flags, int code, const char *arg, char *err, size_t cap)
{
    const cli_flag_t *flag = flag_by_code (code);
    if (!flag)
        return 0;
    if (code == CLI_OPT_CONFIG) {
        flags->config_path = arg;
        return 1;
    }
    if (code == CLI_OPT_SET) {
        const char *equals = strchr (arg, '=');
        if (!equals) {
            snprintf (err, cap, "--set: expected KEY=VALUE, got '%.60s'", arg);
            return -1;
        }
        return flags_push (flags, "--set", arg, (size_t)(equals - arg), equals + 1, err, cap) ? -1
                                                                                              : 1;
    }
    return flags_push (flags, flag->flag, flag->key, strlen (flag->key), arg, err, cap) ? -1 : 1;
}

int cli_flags_add (cli_flags_t *flags, const char *flag, const char *key, const char *value,
                   char *err, size_t cap)
{
    return flags_push (flags, flag, key, strlen (key), value, err, cap);
}

char *cli_env_name (const char *key, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf (buf, cap, "WEFT_%s", key);
    for (size_t i = 5; i < n && i < cap; i++)
        buf[i] = buf[i] == '.' ? '_' : (char)toupper ((unsigned char)buf[i]);
    return buf;
}

const char *cli_env_lookup (const char *const *envp, const char *name)
{
    size_t len = strlen (name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp (envp[i], name, len) == 0 && envp[i][len] == '=')
            return envp[i][len + 1] ? envp[i] + len + 1 : NULL;
    return NULL;
}

int cli_apply_file (weft_config_t *cfg, const char *path, char *err, size_t cap)
{
    if (weft_config_load (cfg, path) == 0)
        return 0;
    snprintf (err, cap, "%s", weft_config_error (cfg));
    return -1;
}

int cli_apply_env (weft_config_t *cfg, const char *const *envp, char *err, size_t cap)
{
    int count = weft_config_key (cfg, 0, NULL, NULL, NULL);
    for (int i = 0; i < count; i++) {
        const char *key = NULL;
        char name[CLI_KEY_MAX + 8];
        weft_config_key (cfg, i, &key, NULL, NULL);
        const char *value = cli_env_lookup (envp, cli_env_name (key, name, sizeof name));
        if (value && weft_config_set (cfg, key, value) != 0) {
            snprintf (err, cap, "%s: %s", name, weft_config_error (cfg));
            return -1;
        }
    }
    return 0;
}

//  Appends VALUE to the comma list in ACC (LIST_MAX bytes); -1 if too long.
static int list_append (char *acc, const char *value)
{
    size_t used = strlen (acc);
    size_t need = used + (used && *value ? 1 : 0) + strlen (value);
    if (need >= LIST_MAX)
        return -1;
    if (used && *value)
        acc[used++] = ',';
    strcpy (acc + used, value);
    return 0;
}

//  Returns the index of KEY in s_list_keys, or -1 when it is not a list key.
static int list_index (const char *key)
{
    for (size_t i = 0; i < LIST_KEY_COUNT; i++)
        if (strcmp (s_list_keys[i], key) == 0)
            return (int)i;
    return -1;
}

int cli_apply_flags (weft_config_t *cfg, const cli_flags_t *flags, char *err, size_t cap)
{
    char lists[LIST_KEY_COUNT][LIST_MAX];
    memset (lists, 0, sizeof lists);
    for (size_t i = 0; i < flags->count; i++) {
        const cli_setting_t *item = &flags->items[i];
        const char *value = item->value;
        int list = list_index (item->key);
        if (list >= 0) {
            if (list_append (lists[list], value)) {
                snprintf (err, cap, "%s: the %s list is longer than %d bytes", item->flag,
                          item->key, LIST_MAX - 1);
                return -1;
            }
            value = lists[list];
        }
        if (weft_config_set (cfg, item->key, value) != 0) {
            snprintf (err, cap, "%s: %s", item->flag, weft_config_error (cfg));
            return -1;
        }
    }
    return 0;
}

int cli_resolve (weft_config_t *cfg, const cli_flags_t *flags, const char *const *envp, char *err,
                 size_t cap)
{
    const char *path = flags->config_path;
    const char *origin = "--config";
    if (!path) {
        path = cli_env_lookup (envp, "WEFT_CONFIG");
        origin = "WEFT_CONFIG";
    }
    if (path) {
        char why[CLI_ERROR_MAX];
        if (cli_apply_file (cfg, path, why, sizeof why)) {
            snprintf (err, cap, "%s: %s", origin, why);
            return -1;
        }
    }
    if (cli_apply_env (cfg, envp, err, cap))
        return -1;
    return cli_apply_flags (cfg, flags, err, cap);
}

//  Fills TABLE (CAP entries) with the shared flags, then TOOL_OPTIONS, then
//  a zeroed entry. Returns -1 when CAP is too small.
static int options_table (struct option *table, size_t cap, const struct option *tool_options)
{
    size_t n = 0;
    for (size_t i = 0; i < FLAG_COUNT && n < cap; i++)
        table[n++] = (struct option){s_flags[i].flag + 2, required_argument, NULL, s_flags[i].code};
    for (size_t i = 0; tool_options && tool_options[i].name && n < cap; i++)
        table[n++] = tool_options[i];
    if (n >= cap)
        return -1;
    table[n] = (struct option){0};
    return 0;
}

//  Writes the message of a getopt_long error RC ('?' or ':') at ARGV[INDEX].
static void option_error (int rc, const char *arg, char *err, size_t cap)
{
    if (rc == ':')
        snprintf (err, cap, "%s: needs a value", arg);
    else if (optopt > 0 && optopt < 0x100)
        snprintf (err, cap, "-%c: unknown flag (see --help)", optopt);
    else if (optopt >= 0x100)
        snprintf (err, cap, "%s: takes no value", arg);
    else
        snprintf (err, cap, "%s: unknown flag (see --help)", arg);
}

int cli_parse (int argc, char **argv, const char *shorts, const struct option *tool_options,
               cli_tool_fn *tool_fn, void *tool, cli_flags_t *flags, char *err, size_t cap)
{
    struct option table[64];
    char optstring[64];
    if (options_table (table, sizeof table / sizeof table[0], tool_options)) {
        snprintf (err, cap, "internal error: too many flags");
        return -1;
    }
    snprintf (optstring, sizeof optstring, ":%s", shorts ? shorts : "");
    optind = 0; //  GNU: reinitialize, so cli_parse may run more than once
    opterr = 0;
    int code;
    while ((code = getopt_long (argc, argv, optstring, table, NULL)) != -1) {
        if (code == '?' || code == ':') {
            option_error (code, argv[optind - 1], err, cap);
            return -1;
        }
        int taken = cli_flags_take (flags, code, optarg, err, cap);
        if (taken < 0)
            return -1;
        if (!taken && (!tool_fn || tool_fn (tool, code, optarg, err, cap)))
            return -1;
    }
    return optind;
}

void cli_help_flags (FILE *out)
{
    for (size_t i = 0; i < FLAG_COUNT; i++) {
        char left[48];
        snprintf (left, sizeof left, "%s %s", s_flags[i].flag, s_flags[i].meta);
        if (s_flags[i].key)
            fprintf (out, "  %-26s %s [%s]\n", left, s_flags[i].help, s_flags[i].key);
        else
            fprintf (out, "  %-26s %s\n", left, s_flags[i].help);
    }
}

void cli_help_config (FILE *out)
{
    weft_config_t *cfg = weft_config_new ();
    if (!cfg)
        return;
    fprintf (out, "Config keys (KEY = DEFAULT  ENVIRONMENT VARIABLE), set with --set KEY=VALUE,\n"
                  "WEFT_KEY=VALUE in the environment or 'section/key' in a ZPL file:\n");
    int count = weft_config_key (cfg, 0, NULL, NULL, NULL);
    for (int i = 0; i < count; i++) {
        const char *key = NULL, *value = NULL, *help = NULL;
        char name[CLI_KEY_MAX + 8];
        weft_config_key (cfg, i, &key, &value, &help);
        fprintf (out, "  %s = \"%s\"  %s\n      %s\n", key, value,
                 cli_env_name (key, name, sizeof name), help);
    }
    fprintf (out, "\nPrecedence, lowest to highest: built-in defaults < config file (--config\n"
                  "FILE, else $WEFT_CONFIG) < environment (WEFT_NODE_NAME for node.name, ...;\n"
                  "empty means unset) < flags. --seed (and weftd --durable) values\n"
                  "accumulate and replace the list of the lower layers.\n");
    weft_config_destroy (&cfg);
}

bool cli_topic_valid (const char *topic)
{
    size_t len = strlen (topic);
    const char *allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:.";
    if (len == 0 || len > 255 || strspn (topic, allowed) != len)
        return false;
    return topic[0] != '.' && topic[len - 1] != '.' && !strstr (topic, "..");
}

int cli_parse_int (const char *text, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll (text, &end, 10);
    if (errno || end == text || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

int cli_parse_seconds (const char *text, int64_t *ms)
{
    char *end = NULL;
    errno = 0;
    double seconds = strtod (text, &end);
    if (errno || end == text || *end || !(seconds >= 0 && seconds <= 86400))
        return -1; //  the negated test also refuses NaN
    *ms = (int64_t)(seconds * 1000.0 + 0.5);
    return 0;
}
