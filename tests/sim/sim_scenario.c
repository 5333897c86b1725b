/*  tests/sim/sim_scenario.c - the scenario table and one seeded run (see
    sim_scenario.h). */
#include <string.h>

#include "sim_scenario.h"
#include "sim_toy.h"
#include "sim_weft.h"

//  --- toy ----------------------------------------------------------------------

static unsigned toy_plant (const char *name)
{
    return !strcmp (name, "toy-dup") ? TOY_PLANT_DUP : 0;
}

static void *toy_setup (sim_t *sim, const sim_run_opts_t *opts)
{
    toy_ledger_t *ledger = toy_ledger_new (opts->hosts, opts->faults, opts->plant);
    for (int i = 0; ledger && i < opts->hosts; i++)
        sim_add_host (sim, &sim_toy_ops, ledger);
    return ledger;
}

static int toy_final (void *ctx, sim_t *sim, char *msg, size_t len)
{
    return toy_ledger_final (ctx, sim, msg, len);
}

static void toy_teardown (void *ctx)
{
    toy_ledger_t *ledger = ctx;
    toy_ledger_destroy (&ledger);
}

//  --- Table --------------------------------------------------------------------

static const sim_scenario_t scenarios[] = {
    {
        .name = "toy",
        .help = "toy hosts: beacons, links, pub/sub, numbered messages checked by a ledger",
        .plants = "toy-dup",
        .plant = toy_plant,
        .setup = toy_setup,
        .final = toy_final,
        .teardown = toy_teardown,
    },
    {
        .name = "weft",
        .help = "real Weft nodes: a durable topic, a queue producer and consumer, checked by a "
                "ledger",
        .plants = "durable-skip,lose-confirm,durable-no-hold",
        .plant = sim_weft_plant,
        .setup = sim_weft_setup,
        .final = sim_weft_final,
        .teardown = sim_weft_teardown,
    },
};

const sim_scenario_t *sim_scenarios (size_t *count)
{
    *count = sizeof scenarios / sizeof scenarios[0];
    return scenarios;
}

const sim_scenario_t *sim_scenario_find (const char *name)
{
    size_t n;
    const sim_scenario_t *table = sim_scenarios (&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp (table[i].name, name))
            return &table[i];
    return NULL;
}

int sim_run_one (const sim_scenario_t *scenario, const sim_run_opts_t *opts, sim_result_t *result)
{
    memset (result, 0, sizeof *result);
    sim_config_t config = {.seed = opts->seed,
                           .hosts = opts->hosts,
                           .faults = opts->faults,
                           .duration = opts->time_ms,
                           .calm = opts->calm_ms,
                           .trace = opts->trace};
    sim_t *sim = sim_new (&config);
    if (!sim)
        return -1;
    void *ctx = scenario->setup (sim, opts);
    if (!ctx) {
        sim_destroy (&sim);
        return -1;
    }
    sim_plan_faults (sim, opts->plan);
    sim_run_until (sim, opts->time_ms);
    if (!sim_failure (sim)) {
        char msg[400] = "";
        if (scenario->final (ctx, sim, msg, sizeof msg) != 0)
            sim_fail (sim, "final check: %s", msg);
    }
    result->pass = sim_failure (sim) == NULL;
    if (!result->pass)
        snprintf (result->why, sizeof result->why, "%s", sim_failure (sim));
    sim_stop_all (sim);
    result->hash = sim_hash (sim);
    result->stats = *sim_stats (sim);
    sim_destroy (&sim);
    scenario->teardown (ctx);
    return 0;
}
