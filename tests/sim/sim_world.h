/*  tests/sim/sim_world.h - the simulated world_ops_t: one world per host
    incarnation, all attached to the sim's network (sim.h). No real socket is
    ever opened: addresses and endpoints are strings the network model
    routes.

      addresses    host i is "198.18.0.<i+1>", broadcast "198.18.0.255"
                   (resolve accepts any interface name);
      ports        a listener asked for port 0 gets the world's next port,
                   from 40000 in order of listen calls, so a rebooted host
                   that listens in the same order gets the same ports;
      endpoints    "tcp://198.18.0.<i+1>:<port>";
      clocks       now_ms is virtual time; wall_us is virtual time x 1000
                   plus the host's fixed, seeded epoch (hosts disagree by a
                   few ms, as NTP-synced machines do);
      random       each incarnation draws from its own stream of the seed
                   (seed, host index, boot count);
      links        a message to an endpoint nobody listens on is dropped
                   (a ZeroMQ link would hold it until the listener exists;
                   see README.md); links survive the peer's reboot, as
                   ZeroMQ reconnects;
      journal      journal_open calls the opener the host set with
                   sim_world_set_journal_opener (the in-memory journal disk
                   plugs in there); without one it answers SIM_ENOTSUP.
      destroy      the engine owns the world: a host's call to destroy only
                   nulls its pointer; close closes the listeners.

    Thread: the sim's.
*/
#ifndef WEFT_SIM_SIM_WORLD_H
#define WEFT_SIM_SIM_WORLD_H

#include <stddef.h>

#include "node/core/world.h"
#include "weft.h"

#define SIM_BCAST "198.18.0.255" //  every host's broadcast address (one segment)

//  What journal_open answers without an opener. weft.h has no
//  WEFT_ENOTSUP yet: use it here once it does.
#define SIM_ENOTSUP WEFT_EINVAL

typedef struct sim_world sim_world_t;

//  HOOK (journal disk): opens the journal of DIR for WORLD, as journal_open
//  does (same codes). ARG is what the host passed with the opener.
typedef int (*sim_journal_opener_t) (void *arg, world_t *world, const char *dir,
                                     const journal_options_t *opts, journal_t **out, char *err,
                                     size_t errlen);

//  Makes WORLD's journal_open call OPENER (ARG passed along). A world is
//  new at every boot: set it in the host's boot.
void sim_world_set_journal_opener (world_t *world, sim_journal_opener_t opener, void *arg);

//  Host index of WORLD.
int sim_world_index (world_t *world);

//  Incarnation of WORLD (1 on the first boot).
int sim_world_boot (world_t *world);

//  Writes host INDEX's address ("198.18.0.<index+1>") into BUF (16 bytes).
void sim_addr (int index, char *buf, size_t len);

#endif
