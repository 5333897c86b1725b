/*  tests/sim/sim_toy.h - the toy host: a small node written against
    world_ops_t, to exercise the engine and the simulated world until real
    Weft nodes plug in.

    Each toy host listens (ROUTER, XPUB, SUB, beacon), beacons
    "toy <index> <router port> <xpub port>" every 100 ms, links to and
    subscribes ("toy/") to every host it heard, and every 50 ms sends a
    numbered message to each peer and publishes one on "toy/<index>". Its
    receive path drops duplicates and stale incarnations (a seen-bitmap per
    sender), and hands each message to the application: the ledger.

    The ledger is the oracle, shared by the hosts of one run and kept across
    their crashes. It records what was sent and checks what the application
    gets: never a message that was not sent, never twice, in order per
    sender unless reordering is on, and, when no fault can lose a message
    (only delay, dup, reorder, pause), without gaps and within 1 s (checked
    after every step). At the end (toy_ledger_final) every pair of hosts must
    have exchanged messages in the last 2 s (the plan heals everything 5 s
    before the end).

    Planted bug TOY_PLANT_DUP: now and then the receive path hands a message
    to the application twice. The ledger must catch it.

    Thread: the sim's.
*/
#ifndef WEFT_SIM_SIM_TOY_H
#define WEFT_SIM_SIM_TOY_H

#include "sim.h"

#define TOY_PLANT_DUP 1u   //  deliver some messages twice
#define TOY_BEACON_MS 100  //  beacon period
#define TOY_SEND_MS   50   //  message period
#define TOY_PORT      5670 //  beacon port

typedef struct toy_ledger toy_ledger_t;

//  The toy host kind: boot's ARG is the run's ledger.
extern const sim_host_ops_t sim_toy_ops;

//  A ledger for HOSTS hosts under the FAULTS mask, with the PLANT bugs.
//  NULL when out of memory.
toy_ledger_t *toy_ledger_new (int hosts, unsigned faults, unsigned plant);
void toy_ledger_destroy (toy_ledger_t **self_p);

//  The end-of-run check at virtual time NOW: 0, or -1 with a message.
int toy_ledger_final (toy_ledger_t *self, sim_t *sim, char *msg, size_t len);

//  Messages the application of host TO got from host FROM (TOPIC: by
//  pub/sub, else by link) since either last booted.
uint64_t toy_ledger_delivered (toy_ledger_t *self, int from, int to, bool topic);

//  Subscription notices host I's XPUB received (all its incarnations).
uint64_t toy_ledger_notices (toy_ledger_t *self, int i);

#endif
