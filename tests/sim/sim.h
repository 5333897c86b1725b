/*  tests/sim/sim.h - the deterministic simulator: N hosts (nodes of real
    Weft code, or the toy host of sim_toy.h) in one process, on virtual time,
    over a simulated network (sim_world.h) with faults drawn from a seed.

    Time is virtual milliseconds (int64, starting at 0). Events (message
    deliveries, faults) sit in a binary heap ordered by (time, insertion
    sequence), so ties resolve the same way on every run. One step advances
    the clock to the next event or host deadline, handles every event due,
    then gives one turn to each host (in index order) that received input in
    that step or whose deadline has come. A host gets at most one turn per
    millisecond; a paused host gets none (its inputs queue up, to its
    rcvhwm). After the turns, every host's check hook runs.

    Every event (send, deliver, drop and its reason, fault, turn) appends one
    line to the trace, folded into a 64-bit FNV-1a hash: same seed, same
    options, same host code -> same hash, byte for byte. Nothing here reads a
    clock, rand (), an address or a hash table's order.

    Ownership: the engine owns each host's world (sim_world.h) and the
    messages in flight; a host owns what its boot returned, freed by kill or
    stop. The host's ARG (e.g. its disk) belongs to the caller and survives
    crashes.

    Thread: a sim and everything in it belongs to one thread.
*/
#ifndef WEFT_SIM_SIM_H
#define WEFT_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "node/core/world.h"
#include "sim_rng.h"

#define SIM_HOSTS_MAX    32        //  addresses 198.18.0.1 .. 198.18.0.32
#define SIM_NEVER        INT64_MAX //  a deadline that never comes
#define SIM_INFLIGHT_MAX 200000    //  messages in flight, whole network; beyond: dropped

typedef struct sim sim_t;

//  A host kind: the adapter between the engine and one node implementation.
typedef struct {
    const char *name; //  shown in the trace and by --help
    //  Creates and starts a node of host INDEX on WORLD (borrowed: valid
    //  until kill or stop returns) with the caller's ARG. NULL on failure
    //  (the sim then fails).
    void *(*boot) (sim_t *sim, int index, world_t *world, void *arg);
    //  One loop turn: read every input (world->ops->recv until -1), run
    //  timers, send.
    void (*turn) (void *host);
    //  Virtual ms of the next turn the host wants without input; SIM_NEVER
    //  for none.
    int64_t (*deadline) (void *host);
    //  Crash: frees the host without calling the world (no goodbyes).
    void (*kill) (void *host);
    //  Clean stop: may send goodbyes through the world, then frees the host.
    void (*stop) (void *host);
    //  Optional invariant, run after every step: 0, or -1 with a message
    //  in MSG (LEN bytes), which fails the run.
    int (*check) (void *host, char *msg, size_t len);
    //  Optional: host INDEX crashed (after kill, before its next boot).
    //  LOSE_UNSYNCED: a power loss (unsynced journal writes are gone), else
    //  a process crash (the OS keeps what was written).
    void (*on_crash) (void *arg, int index, bool lose_unsynced);
    //  Optional: host INDEX lost its disk (after kill, before its next boot).
    void (*wipe) (void *arg, int index);
} sim_host_ops_t;

//  Fault classes, switchable one by one (sim_faults_parse).
enum {
    SIM_F_DELAY = 1 << 0,     //  per-link delay ranges (else 1 ms everywhere)
    SIM_F_LOSS = 1 << 1,      //  messages lost with a probability
    SIM_F_DUP = 1 << 2,       //  messages duplicated with a probability
    SIM_F_REORDER = 1 << 3,   //  per-message delay, no per-link FIFO
    SIM_F_PARTITION = 1 << 4, //  two-way partitions between groups, healed later
    SIM_F_ONEWAY = 1 << 5,    //  one-way partitions, healed later
    SIM_F_PAUSE = 1 << 6,     //  a host stops for a while (SIGSTOP)
    SIM_F_CRASH = 1 << 7,     //  a host crashes and reboots on its disk
    SIM_F_DISK = 1 << 8,      //  a host crashes and reboots on a wiped disk
    SIM_F_ALL = (1 << 9) - 1
};

//  Parses a fault list ("delay,loss,...", "all" or "none") into *MASK;
//  0, or -1 naming an unknown class.
int sim_faults_parse (const char *list, unsigned *mask);
//  Writes MASK as a fault list into BUF (LEN bytes).
void sim_faults_format (unsigned mask, char *buf, size_t len);

//  What the run is: seed, size, faults. A zeroed struct is one host, no
//  faults, seed 0.
typedef struct {
    uint64_t seed;    //  everything random derives from it
    int hosts;        //  1 .. SIM_HOSTS_MAX
    unsigned faults;  //  SIM_F_* mask
    int64_t duration; //  virtual ms the fault plan covers (0: 60 s)
    int64_t calm;     //  least ms between one fault's end and the next (0: 500)
    FILE *trace;      //  every trace line goes here too (NULL: only hashed)
} sim_config_t;

//  Counters, for tests and reports.
typedef struct {
    uint64_t events;            //  trace lines
    uint64_t sent;              //  messages accepted by the network
    uint64_t delivered;         //  messages queued at their destination
    uint64_t dropped;           //  messages lost, for any reason
    uint64_t dropped_partition; //  ... of which by a partition
    uint64_t dropped_hwm;       //  ... of which by a full rcvhwm or sndhwm
    uint64_t turns;             //  host turns given
    uint64_t boots;             //  host boots (first boots and reboots)
    uint64_t kills;             //  host crashes
    uint64_t faults;            //  faults applied
} sim_stats_t;

//  A new sim with no host and an empty plan; NULL when out of memory or
//  CONFIG is invalid.
sim_t *sim_new (const sim_config_t *config);

//  Stops nothing (call sim_stop_all first for a clean end): kills the
//  hosts still up, frees the worlds, the events and the sim; nulls *SELF_P.
void sim_destroy (sim_t **self_p);

//  Adds host number sim_hosts () with OPS (static) and ARG (borrowed) and
//  boots it now. Its index, or -1 when full or the boot failed.
int sim_add_host (sim_t *self, const sim_host_ops_t *ops, void *arg);

//  Generates the seeded fault plan over the config's duration, for the
//  faults of the config, queues it, and prints it to OUT (if not NULL).
//  Call once, after adding the hosts.
void sim_plan_faults (sim_t *self, FILE *out);

//  Advances to the next moment anything happens (if it is at or before
//  LIMIT) and handles it. False when nothing is left before LIMIT or the
//  run failed.
bool sim_step (sim_t *self, int64_t limit);

//  Steps until virtual time T (then sets the clock to T) or a failure.
//  Returns 0, or -1 when the run failed (sim_failure () says why).
int sim_run_until (sim_t *self, int64_t t);

//  Stops every host that is up, cleanly (stop, not kill).
void sim_stop_all (sim_t *self);

//  --- Direct faults (the plan uses these; tests may too) -------------------

//  Drops messages from host A to host B (and B to A when BOTH), from now.
void sim_block (sim_t *self, int a, int b, bool both);
//  Heals every partition.
void sim_heal (sim_t *self);
//  Pauses host I (no turns, inputs queue) until sim_resume.
void sim_pause (sim_t *self, int i);
void sim_resume (sim_t *self, int i);
//  Crashes host I now (kill; then on_crash or wipe). It stays down until
//  sim_reboot.
void sim_crash (sim_t *self, int i, bool lose_unsynced, bool wipe);
//  Boots host I again (a new incarnation on a fresh world, same ARG).
int sim_reboot (sim_t *self, int i);
//  Sets the network's loss and duplication probabilities, and reordering.
void sim_set_chaos (sim_t *self, double loss, double dup, bool reorder);
//  Sets the delay range of messages from A to B (ms, 1 <= LO <= HI).
void sim_set_delay (sim_t *self, int a, int b, int64_t lo, int64_t hi);

//  --- State ---------------------------------------------------------------

int64_t sim_now (sim_t *self);
int sim_hosts (sim_t *self);
const sim_config_t *sim_config (sim_t *self);
//  The host of index I (what boot returned), NULL when down.
void *sim_host (sim_t *self, int i);
//  Host I's world, NULL when down.
world_t *sim_host_world (sim_t *self, int i);
bool sim_host_up (sim_t *self, int i);
//  How many times host I booted.
int sim_host_boots (sim_t *self, int i);
//  The trace hash so far (FNV-1a over every trace line).
uint64_t sim_hash (sim_t *self);
const sim_stats_t *sim_stats (sim_t *self);
//  NULL while the run passes, else why it failed.
const char *sim_failure (sim_t *self);
//  Fails the run with a message (printf style); the first failure wins.
void sim_fail (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
//  Appends one line to the trace (printf style; the time is prefixed).
void sim_trace (sim_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
