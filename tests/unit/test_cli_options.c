/*  tests/unit/test_cli_options.c - option layers of weftd and weft:
    defaults < config file < environment < flags, repeatable --seed, and the
    messages of bad flags and values. cli/options.c needs only weft_config_*,
    so it is compiled into this test as is. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.c"

//  A config file holding TEXT; returns its path (static buffer).
static const char *write_file (const char *text)
{
    static char path[64];
    snprintf (path, sizeof path, "/tmp/weft-cli-test-XXXXXX");
    int fd = mkstemp (path);
    cr_assert (fd >= 0);
    cr_assert_eq (write (fd, text, strlen (text)), (ssize_t)strlen (text));
    close (fd);
    return path;
}

//  Parses ARGV (NULL-terminated) into FLAGS with the shared flags only;
//  returns cli_parse ()'s result, message in ERR.
static int parse (char **argv, cli_flags_t *flags, char *err)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    cli_flags_init (flags);
    return cli_parse (argc, argv, "h", NULL, NULL, NULL, flags, err, CLI_ERROR_MAX);
}

//  Resolves FLAGS and ENVP over a fresh config; returns it (asserting success).
static weft_config_t *resolve (const cli_flags_t *flags, const char *const *envp)
{
    weft_config_t *cfg = weft_config_new ();
    char err[CLI_ERROR_MAX] = "";
    cr_assert_eq (cli_resolve (cfg, flags, envp, err, sizeof err), 0, "%s", err);
    return cfg;
}

Test (cli_options, env_names, .timeout = 10)
{
    char name[80];
    cr_assert_str_eq (cli_env_name ("node.name", name, sizeof name), "WEFT_NODE_NAME");
    cr_assert_str_eq (cli_env_name ("discovery.interval_ms", name, sizeof name),
                      "WEFT_DISCOVERY_INTERVAL_MS");
    const char *envp[] = {"WEFT_NODE=x", "WEFT_NODE_NAME=a", "WEFT_EMPTY=", NULL};
    cr_assert_str_eq (cli_env_lookup (envp, "WEFT_NODE_NAME"), "a");
    cr_assert_str_eq (cli_env_lookup (envp, "WEFT_NODE"), "x");
    cr_assert_null (cli_env_lookup (envp, "WEFT_EMPTY"), "empty counts as unset");
    cr_assert_null (cli_env_lookup (envp, "WEFT_NOPE"));
}

Test (cli_options, defaults_when_nothing_given, .timeout = 10)
{
    cli_flags_t flags;
    cli_flags_init (&flags);
    const char *envp[] = {"HOME=/root", NULL};
    weft_config_t *cfg = resolve (&flags, envp);
    weft_config_t *plain = weft_config_new ();
    int count = weft_config_key (cfg, 0, NULL, NULL, NULL);
    cr_assert_gt (count, 10);
    for (int i = 0; i < count; i++) {
        const char *key = NULL;
        weft_config_key (cfg, i, &key, NULL, NULL);
        cr_assert_str_eq (weft_config_get (cfg, key), weft_config_get (plain, key), "%s", key);
    }
    weft_config_destroy (&plain);
    weft_config_destroy (&cfg);
}

Test (cli_options, file_over_defaults_env_over_file_flag_over_env, .timeout = 10)
{
    const char *path = write_file ("node\n    name = from-file\n    role = client\n"
                                   "discovery\n    interval_ms = 700\n    port = 6000\n");
    char config_env[128];
    snprintf (config_env, sizeof config_env, "WEFT_CONFIG=%s", path);
    const char *envp[] = {config_env, "WEFT_NODE_NAME=from-env", "WEFT_DISCOVERY_INTERVAL_MS=300",
                          NULL};
    char *argv[] = {"weftd", "--name", "from-flag", NULL};
    cli_flags_t flags;
    char err[CLI_ERROR_MAX];
    cr_assert_eq (parse (argv, &flags, err), 3, "%s", err);
    weft_config_t *cfg = resolve (&flags, envp);
    cr_assert_str_eq (weft_config_get (cfg, "node.name"), "from-flag");       //  flag > env
    cr_assert_str_eq (weft_config_get (cfg, "discovery.interval_ms"), "300"); //  env > file
    cr_assert_str_eq (weft_config_get (cfg, "node.role"), "client");          //  file > default
    cr_assert_str_eq (weft_config_get (cfg, "discovery.port"), "6000");
    cr_assert_str_eq (weft_config_get (cfg, "cluster.name"), "weft"); //  default
    weft_config_destroy (&cfg);
    unlink (path);
}

Test (cli_options, config_flag_beats_weft_config, .timeout = 10)
{
    char env_path[64], flag_path[64];
    snprintf (env_path, sizeof env_path, "%s", write_file ("cluster\n    name = env-file\n"));
    snprintf (flag_path, sizeof flag_path, "%s", write_file ("cluster\n    name = flag-file\n"));
    char config_env[128];
    snprintf (config_env, sizeof config_env, "WEFT_CONFIG=%s", env_path);
    const char *envp[] = {config_env, NULL};
    char *argv[] = {"weft", "--config", flag_path, NULL};
    cli_flags_t flags;
    char err[CLI_ERROR_MAX];
    cr_assert_eq (parse (argv, &flags, err), 3, "%s", err);
    weft_config_t *cfg = resolve (&flags, envp);
    cr_assert_str_eq (weft_config_get (cfg, "cluster.name"), "flag-file");
    weft_config_destroy (&cfg);
    cli_flags_init (&flags);
    cfg = resolve (&flags, envp);
    cr_assert_str_eq (weft_config_get (cfg, "cluster.name"), "env-file");
    weft_config_destroy (&cfg);
    unlink (env_path);
    unlink (flag_path);
}

Test (cli_options, every_shared_flag_sets_its_key, .timeout = 10)
{
    char *argv[] = {"weftd",        "--name", "n1",          "--cluster",  "c1",
                    "--data",       "/tmp/j", "--interface", "lo",         "--beacon-port",
                    "7001",         "--port", "7002",        "--pub-port", "7003",
                    "--role",       "client", "--log-level", "debug",      "--set",
                    "pubsub.hwm=5", NULL};
    cli_flags_t flags;
    char err[CLI_ERROR_MAX];
    cr_assert_gt (parse (argv, &flags, err), 0, "%s", err);
    const char *envp[] = {NULL};
    weft_config_t *cfg = resolve (&flags, envp);
    const char *expect[][2] = {{"node.name", "n1"},
                               {"cluster.name", "c1"},
                               {"journal.dir", "/tmp/j"},
                               {"discovery.interface", "lo"},
                               {"discovery.port", "7001"},
                               {"transport.port", "7002"},
                               {"transport.pub_port", "7003"},
                               {"node.role", "client"},
                               {"log.level", "debug"},
                               {"pubsub.hwm", "5"}};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        cr_assert_str_eq (weft_config_get (cfg, expect[i][0]), expect[i][1], "%s", expect[i][0]);
    weft_config_destroy (&cfg);
}

Test (cli_options, seeds_accumulate_and_replace_lower_layers, .timeout = 10)
{
    const char *envp[] = {"WEFT_DISCOVERY_SEEDS=tcp://10.0.0.9:1", NULL};
    char *argv[] = {"weftd",
                    "--seed",
                    "tcp://10.0.0.1:5000",
                    "--set",
                    "discovery.seeds=tcp://10.0.0.2:5000",
                    "--seed",
                    "tcp://h3:5000",
                    NULL};
    cli_flags_t flags;
    char err[CLI_ERROR_MAX];
    cr_assert_eq (parse (argv, &flags, err), 7, "%s", err);
    weft_config_t *cfg = resolve (&flags, envp);
    cr_assert_str_eq (weft_config_get (cfg, "discovery.seeds"),
                      "tcp://10.0.0.1:5000,tcp://10.0.0.2:5000,tcp://h3:5000");
    weft_config_destroy (&cfg);
    cli_flags_init (&flags);
    cfg = resolve (&flags, envp);
    cr_assert_str_eq (weft_config_get (cfg, "discovery.seeds"), "tcp://10.0.0.9:1");
    weft_config_destroy (&cfg);
}

Test (cli_options, later_flag_wins, .timeout = 10)
{
    char *argv[] = {"weftd", "--port", "1", "--set", "transport.port=2", NULL};
    cli_flags_t flags;
    char err[CLI_ERROR_MAX];
    cr_assert_eq (parse (argv, &flags, err), 5, "%s", err);
    const char *envp[] = {NULL};
    weft_config_t *cfg = resolve (&flags, envp);
    cr_assert_str_eq (weft_config_get (cfg, "transport.port"), "2");
    weft_config_destroy (&cfg);
}

//  Resolves ARGV with ENVP and asserts that it fails with a message
//  containing every string of NEEDLES (NULL-terminated).
static void expect_resolve_error (char **argv, const char *const *envp, const char **needles)
{
    cli_flags_t flags;
    char err[CLI_ERROR_MAX] = "";
    cr_assert_gt (parse (argv, &flags, err), 0, "%s", err);
    weft_config_t *cfg = weft_config_new ();
    cr_assert_eq (cli_resolve (cfg, &flags, envp, err, sizeof err), -1);
    for (size_t i = 0; needles[i]; i++)
        cr_assert (strstr (err, needles[i]), "'%s' not in '%s'", needles[i], err);
    cr_assert_null (strchr (err, '\n'), "one line: %s", err);
    weft_config_destroy (&cfg);
}

Test (cli_options, bad_values_name_flag_and_key, .timeout = 10)
{
    const char *none[] = {NULL};
    expect_resolve_error ((char *[]){"weftd", "--port", "http", NULL}, none,
                          (const char *[]){"--port", "transport.port", "http", NULL});
    expect_resolve_error ((char *[]){"weftd", "--role", "boss", NULL}, none,
                          (const char *[]){"--role", "node.role", "member", NULL});
    expect_resolve_error ((char *[]){"weftd", "--seed", "10.0.0.1:5", NULL}, none,
                          (const char *[]){"--seed", "tcp://HOST:PORT", NULL});
    expect_resolve_error ((char *[]){"weftd", "--set", "no.such=1", NULL}, none,
                          (const char *[]){"--set", "no.such", NULL});
    expect_resolve_error ((char *[]){"weftd", "--beacon-port", "0", NULL}, none,
                          (const char *[]){"--beacon-port", "discovery.port", NULL});
}

Test (cli_options, bad_environment_names_variable, .timeout = 10)
{
    const char *envp[] = {"WEFT_DISCOVERY_INTERVAL_MS=fast", NULL};
    expect_resolve_error ((char *[]){"weftd", NULL}, envp,
                          (const char *[]){"WEFT_DISCOVERY_INTERVAL_MS", "fast", NULL});
}

Test (cli_options, missing_or_bad_config_file, .timeout = 10)
{
    const char *none[] = {NULL};
    expect_resolve_error ((char *[]){"weftd", "--config", "/nonexistent/weft.cfg", NULL}, none,
                          (const char *[]){"--config", "/nonexistent/weft.cfg", NULL});
    const char *envp[] = {"WEFT_CONFIG=/nonexistent/env.cfg", NULL};
    expect_resolve_error ((char *[]){"weftd", NULL}, envp,
                          (const char *[]){"WEFT_CONFIG", "/nonexistent/env.cfg", NULL});
    const char *path = write_file ("transport\n    port = many\n");
    expect_resolve_error ((char *[]){"weftd", "--config", (char *)path, NULL}, none,
                          (const char *[]){path, "transport.port", "many", NULL});
    unlink (path);
}

//  Asserts that parsing ARGV fails with a message containing NEEDLE.
static void expect_parse_error (char **argv, const char *needle)
{
    cli_flags_t flags;
    char err[CLI_ERROR_MAX] = "";
    cr_assert_eq (parse (argv, &flags, err), -1, "parsed: %s", argv[1]);
    cr_assert (strstr (err, needle), "'%s' not in '%s'", needle, err);
}

Test (cli_options, parse_errors, .timeout = 10)
{
    expect_parse_error ((char *[]){"weftd", "--bogus", NULL}, "--bogus: unknown flag");
    expect_parse_error ((char *[]){"weftd", "-x", NULL}, "-x: unknown flag");
    expect_parse_error ((char *[]){"weftd", "--port", NULL}, "--port: needs a value");
    expect_parse_error ((char *[]){"weftd", "--set", "node.name", NULL}, "KEY=VALUE");
}

//  What the tool callback of the next test saw.
typedef struct {
    int json;          //  --json count
    const char *count; //  --count value
} fake_tool_t;

//  cli_tool_fn of the next test.
static int fake_flag (void *arg, int code, const char *value, char *err, size_t cap)
{
    fake_tool_t *tool = arg;
    if (code == CLI_OPT_TOOL)
        tool->json++;
    else if (code == CLI_OPT_TOOL + 1)
        tool->count = value;
    else {
        snprintf (err, cap, "unexpected");
        return -1;
    }
    return 0;
}

Test (cli_options, tool_flags_and_arguments_anywhere, .timeout = 10)
{
    const struct option extra[] = {{"json", no_argument, NULL, CLI_OPT_TOOL},
                                   {"count", required_argument, NULL, CLI_OPT_TOOL + 1},
                                   {NULL, 0, NULL, 0}};
    char *argv[] = {"weft",    "--name", "c",  "sub", "a.#", "--json",
                    "--count", "3",      "--", "--x", NULL};
    fake_tool_t tool = {0};
    cli_flags_t flags;
    cli_flags_init (&flags);
    char err[CLI_ERROR_MAX] = "";
    int first = cli_parse (10, argv, "h", extra, fake_flag, &tool, &flags, err, sizeof err);
    cr_assert_eq (first, 7, "%s", err);
    cr_assert_str_eq (argv[7], "sub");
    cr_assert_str_eq (argv[8], "a.#");
    cr_assert_str_eq (argv[9], "--x", "-- ends the flags");
    cr_assert_eq (tool.json, 1);
    cr_assert_str_eq (tool.count, "3");
    cr_assert_eq (flags.count, 1);
    cr_assert_str_eq (flags.items[0].key, "node.name");
    char *bad[] = {"weft", "--json=1", NULL};
    cr_assert_eq (cli_parse (2, bad, "h", extra, fake_flag, &tool, &flags, err, sizeof err), -1);
    cr_assert (strstr (err, "--json=1: takes no value"), "%s", err);
}

Test (cli_options, numbers, .timeout = 10)
{
    int64_t ms = 0;
    long long n = 0;
    cr_assert_eq (cli_parse_seconds ("5", &ms), 0);
    cr_assert_eq (ms, 5000);
    cr_assert_eq (cli_parse_seconds ("0.25", &ms), 0);
    cr_assert_eq (ms, 250);
    cr_assert_eq (cli_parse_seconds ("-1", &ms), -1);
    cr_assert_eq (cli_parse_seconds ("nan", &ms), -1);
    cr_assert_eq (cli_parse_seconds ("5s", &ms), -1);
    cr_assert_eq (cli_parse_int ("12", 1, 100, &n), 0);
    cr_assert_eq (n, 12);
    cr_assert_eq (cli_parse_int ("0", 1, 100, &n), -1);
    cr_assert_eq (cli_parse_int ("", 1, 100, &n), -1);
}

Test (cli_options, help_lists_every_key_and_variable, .timeout = 10)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    cli_help_flags (out);
    cli_help_config (out);
    fclose (out);
    weft_config_t *cfg = weft_config_new ();
    int count = weft_config_key (cfg, 0, NULL, NULL, NULL);
    for (int i = 0; i < count; i++) {
        const char *key = NULL;
        char name[80];
        weft_config_key (cfg, i, &key, NULL, NULL);
        cr_assert (strstr (text, key), "%s", key);
        cr_assert (strstr (text, cli_env_name (key, name, sizeof name)), "%s", name);
    }
    cr_assert (strstr (text, "--seed"));
    cr_assert (strstr (text, "Precedence"));
    weft_config_destroy (&cfg);
    free (text);
}
