/*  tests/sim/sim_main.c - weft-sim: runs a scenario in the deterministic
    simulator for one seed or a sweep of seeds (see README.md). Exit 0 only
    when every seed passed, 1 when one failed, 2 on bad usage. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario.h"

//  Everything the command line sets.
typedef struct {
    sim_run_opts_t run;   //  per-seed options
    uint64_t seeds;       //  how many seeds (1: --seed only)
    bool sweep;           //  --seeds given
    bool trace;           //  --trace
    const char *scenario; //  --scenario
    const char *faults;   //  --faults, as given
    const char *plant;    //  --plant, as given
} cli_t;

//  Prints the usage to OUT.
static void usage (FILE *out)
{
    size_t n;
    const sim_scenario_t *table = sim_scenarios (&n);
    fprintf (out,
             "Usage: weft-sim [OPTIONS]\n"
             "Runs Weft hosts in one process on virtual time over a simulated network with\n"
             "faults drawn from a seed; a seed replays its run exactly (same trace hash).\n\n"
             "  --seed N         the (first) seed (default 1)\n"
             "  --seeds N        sweep N seeds from --seed; failures are listed with the\n"
             "                   command that replays each\n"
             "  --time SECONDS   virtual seconds per run (default 60)\n"
             "  --calm MS        least quiet between the end of one planned fault and the\n"
             "                   next (default 500; the gap is drawn from MS .. MS + 4500)\n"
             "  --hosts N        hosts (default 3, at most %d)\n"
             "  --faults LIST    fault classes, comma-separated, or all / none (default none):\n"
             "                   delay, loss, dup, reorder, partition, oneway, pause, crash, disk\n"
             "  --scenario NAME  the host kind (default toy)\n"
             "  --plant BUG      plant a known bug, to see the checks catch it\n"
             "  --strict         assert every invariant of the scenario, also those its\n"
             "                   subsystems do not claim to survive these faults yet\n"
             "  --checks LIST    assert exactly these invariants (weft: durable, queues,\n"
             "                   views), whatever the faults\n"
             "  --async-publisher  weft: the durable publisher (host 0) commits with\n"
             "                   journal.sync = async: a power loss takes its unsynced writes\n"
             "  --queue-engine E weft: owner (default) or raft: queues.engine of every host\n"
             "  --trace          print every trace line (one seed)\n"
             "  --help           this\n\n"
             "Scenarios:\n",
             SIM_HOSTS_MAX);
    for (size_t i = 0; i < n; i++)
        fprintf (out, "  %-8s %s (plants: %s)\n", table[i].name, table[i].help,
                 table[i].plants ? table[i].plants : "none");
    fprintf (out, "\nExample: weft-sim --seeds 300 --faults all\n");
}

//  Parses a non-negative integer option; false when malformed.
static bool number (const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    *out = strtoull (s, &end, 10);
    return *end == 0;
}

//  Fills CLI from ARGV; 0, 1 (--help done) or -1 (bad usage, printed).
static int parse (cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {{"seed", required_argument, 0, 's'},
                                             {"seeds", required_argument, 0, 'n'},
                                             {"time", required_argument, 0, 't'},
                                             {"calm", required_argument, 0, 'm'},
                                             {"hosts", required_argument, 0, 'H'},
                                             {"faults", required_argument, 0, 'f'},
                                             {"scenario", required_argument, 0, 'c'},
                                             {"plant", required_argument, 0, 'p'},
                                             {"trace", no_argument, 0, 'T'},
                                             {"help", no_argument, 0, 'h'},
                                             {"strict", no_argument, 0, 'S'},
                                             {"checks", required_argument, 0, 'C'},
                                             {"async-publisher", no_argument, 0, 'A'},
                                             {"queue-engine", required_argument, 0, 'Q'},
                                             {0, 0, 0, 0}};
    uint64_t v;
    int opt;
    while ((opt = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case 's':
            ok = number (optarg, &cli->run.seed);
            break;
        case 'n':
            ok = number (optarg, &cli->seeds) && cli->seeds > 0;
            cli->sweep = true;
            break;
        case 't':
            ok = number (optarg, &v) && v > 0 && v < 86400;
            cli->run.time_ms = (int64_t)v * 1000;
            break;
        case 'm':
            ok = number (optarg, &v) && v < 3600000;
            cli->run.calm_ms = (int64_t)v;
            break;
        case 'H':
            ok = number (optarg, &v) && v > 0 && v <= SIM_HOSTS_MAX;
            cli->run.hosts = (int)v;
            break;
        case 'f':
            cli->faults = optarg;
            break;
        case 'c':
            cli->scenario = optarg;
            break;
        case 'p':
            cli->plant = optarg;
            break;
        case 'T':
            cli->trace = true;
            break;
        case 'S':
            cli->run.strict = true;
            break;
        case 'C':
            cli->run.checks = optarg;
            break;
        case 'A':
            cli->run.async_pub = true;
            break;
        case 'Q':
            ok = !strcmp (optarg, "raft") || !strcmp (optarg, "owner");
            cli->run.raft_queues = !strcmp (optarg, "raft");
            break;
        case 'h':
            usage (stdout);
            return 1;
        default:
            return -1; //  getopt_long said why
        }
        if (!ok) {
            fprintf (stderr, "weft-sim: bad value for an option (see --help)\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "weft-sim: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (sim_faults_parse (cli->faults, &cli->run.faults) != 0) {
        fprintf (stderr, "weft-sim: unknown fault class in '%s' (see --help)\n", cli->faults);
        return -1;
    }
    return 0;
}

//  The command that replays SEED.
static void print_replay (const cli_t *cli, uint64_t seed)
{
    char faults[160], calm[32] = "";
    sim_faults_format (cli->run.faults, faults, sizeof faults);
    if (cli->run.calm_ms)
        snprintf (calm, sizeof calm, " --calm %lld", (long long)cli->run.calm_ms);
    printf ("  replay: weft-sim --scenario %s --seed %" PRIu64
            " --time %lld --hosts %d --faults %s%s%s%s%s%s%s\n",
            cli->scenario, seed, (long long)(cli->run.time_ms / 1000), cli->run.hosts, faults,
            calm,
            cli->plant ? " --plant " : "", cli->plant ? cli->plant : "",
            cli->run.strict ? " --strict" : "", cli->run.async_pub ? " --async-publisher" : "",
            cli->run.raft_queues ? " --queue-engine raft" : "");
    if (cli->run.checks)
        printf ("          (with --checks %s)\n", cli->run.checks);
}

int main (int argc, char **argv)
{
    cli_t cli = {.run = {.seed = 1, .hosts = 3, .time_ms = 60000}, .seeds = 1, .scenario = "toy"};
    int rc = parse (&cli, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    const sim_scenario_t *sc = sim_scenario_find (cli.scenario);
    if (!sc) {
        fprintf (stderr, "weft-sim: no scenario '%s' (see --help)\n", cli.scenario);
        return 2;
    }
    if (cli.plant && !(cli.run.plant = sc->plant (cli.plant))) {
        fprintf (stderr, "weft-sim: scenario %s has no bug '%s' to plant\n", sc->name, cli.plant);
        return 2;
    }
    bool one = !cli.sweep || cli.seeds == 1;
    cli.run.plan = one ? stdout : NULL;
    cli.run.trace = one && cli.trace ? stdout : NULL;
    uint64_t failed = 0;
    for (uint64_t k = 0; k < cli.seeds; k++) {
        sim_run_opts_t run = cli.run;
        run.seed = cli.run.seed + k;
        sim_result_t res;
        if (sim_run_one (sc, &run, &res) != 0) {
            fprintf (stderr, "weft-sim: seed %" PRIu64 ": could not run (out of memory?)\n",
                     run.seed);
            return 1;
        }
        if (one || !res.pass)
            printf ("seed %" PRIu64 " hash %016" PRIx64 " %s%s%s\n", run.seed, res.hash,
                    res.pass ? "PASS" : "FAIL: ", res.pass ? "" : res.why, "");
        if (!res.pass) {
            failed++;
            print_replay (&cli, run.seed);
        }
    }
    if (!one)
        printf ("%" PRIu64 " seeds from %" PRIu64 ": %" PRIu64 " passed, %" PRIu64 " failed\n",
                cli.seeds, cli.run.seed, cli.seeds - failed, failed);
    return failed ? 1 : 0;
}
