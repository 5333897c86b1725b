/*  tests/sim/sim_probe.h - the probe host of test_sim_engine.c: it opens
    every listener (ROUTER 40000, XPUB 40001, SUB, beacon 5670), records
    whatever it receives, never wants a turn of its own, and counts the
    engine's crash hooks in the test's env_t. The test drives the probes'
    worlds directly between steps. */
#ifndef WEFT_SIM_SIM_PROBE_H
#define WEFT_SIM_SIM_PROBE_H

#include "sim.h"

#define RECS 512

//  One message a probe received.
typedef struct {
    int input;     //  world_input_t
    size_t n;      //  frames
    char f[3][64]; //  the first frames, as strings
    char from[16]; //  beacons: sender address
} rec_t;

//  What the test sets and sees across a probe's incarnations (the boot ARG).
typedef struct {
    int rcvhwm;                 //  ROUTER / SUB rcvhwm (0: default)
    int kills[SIM_HOSTS_MAX];   //  kill calls
    int crashes[SIM_HOSTS_MAX]; //  on_crash calls
    bool lost[SIM_HOSTS_MAX];   //  last on_crash's lose_unsynced
    int wipes[SIM_HOSTS_MAX];   //  wipe calls
} env_t;

typedef struct {
    world_t *w;      //  its world
    env_t *env;      //  the test's
    int turns;       //  turns had
    int nrec;        //  messages recorded
    rec_t rec[RECS]; //  ...
} probe_t;

//  The probe host kind: boot's ARG is the test's env_t.
extern const sim_host_ops_t probe_ops;

//  A sim of N probes sharing ENV, no faults, seeded with SEED.
sim_t *probes (int n, env_t *env, uint64_t seed);
//  Probe I (NULL when down).
probe_t *probe (sim_t *sim, int i);
//  Host A sends one frame TEXT on LINK; what link_send returned.
int say (sim_t *sim, int a, world_link_t *link, const char *text);
//  A link from A to B's ROUTER with routing id "h<A>".
world_link_t *link_to (sim_t *sim, int a, int b);
//  Messages of INPUT probe I recorded.
int count (sim_t *sim, int i, int input);
//  Stops every host and frees the sim.
void finish (sim_t **sim_p);

#endif
