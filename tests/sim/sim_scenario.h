/*  tests/sim/sim_scenario.h - scenarios: what kind of hosts a run boots,
    and its end-of-run check. weft-sim and the tests run a scenario for one
    seed with sim_run_one (); new scenarios (real Weft nodes) are one more
    row in the table of sim_scenario.c.

    Thread: the caller's; runs are independent.
*/
#ifndef WEFT_SIM_SIM_SCENARIO_H
#define WEFT_SIM_SIM_SCENARIO_H

#include "sim.h"

//  One run's options.
typedef struct {
    uint64_t seed;      //  the seed
    int hosts;          //  hosts to boot
    unsigned faults;    //  SIM_F_* mask
    int64_t time_ms;    //  virtual time to run
    int64_t calm_ms;    //  least quiet between two faults of the plan (0: 500 ms)
    unsigned plant;     //  scenario-specific planted bugs (0: none)
    bool strict;        //  assert every invariant, whatever the faults claim
    const char *checks; //  assert exactly these (scenario's names, comma-separated); NULL: contract
    bool async_pub;     //  weft: the durable publisher's journal is async (--async-publisher)
    bool raft_queues;   //  weft: queues.engine = raft on every host (--queue-engine raft)
    FILE *trace;        //  trace lines (NULL: hashed only)
    FILE *plan;         //  the fault plan is printed here (NULL: not printed)
} sim_run_opts_t;

//  One run's outcome.
typedef struct {
    bool pass;         //  no check failed
    uint64_t hash;     //  the final trace hash
    sim_stats_t stats; //  counters at the end
    char why[512];     //  the failure when !PASS
} sim_result_t;

typedef struct {
    const char *name;   //  --scenario NAME
    const char *help;   //  one line for --help
    const char *plants; //  names --plant accepts, comma-separated, for --help
    //  The plant bit of NAME, or 0 when unknown.
    unsigned (*plant) (const char *name);
    //  Adds the hosts to SIM; returns the scenario's context (NULL: out of memory).
    void *(*setup) (sim_t *sim, const sim_run_opts_t *opts);
    //  The end-of-run check: 0, or -1 with a message.
    int (*final) (void *ctx, sim_t *sim, char *msg, size_t len);
    //  Frees the context (after the sim is gone).
    void (*teardown) (void *ctx);
} sim_scenario_t;

//  The scenario called NAME, or NULL.
const sim_scenario_t *sim_scenario_find (const char *name);

//  The table, and its length in *COUNT.
const sim_scenario_t *sim_scenarios (size_t *count);

//  Runs SCENARIO for one seed; fills RESULT. 0, or -1 when the run could
//  not even start (out of memory, bad options).
int sim_run_one (const sim_scenario_t *scenario, const sim_run_opts_t *opts, sim_result_t *result);

#endif
