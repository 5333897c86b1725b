/*  node/core/world_real.h - the real world: clocks of the host, entropy from
    zuuid, ZeroMQ sockets, the UDP beacon socket (discovery/udp.h) and the
    LevelDB journal. See world.h for the contract of each operation.

    One real world per node; it belongs to the node's actor thread.
*/
#ifndef WEFT_NODE_CORE_WORLD_REAL_H
#define WEFT_NODE_CORE_WORLD_REAL_H

#include "node/core/world.h"

//  A new real world; NULL when out of memory. Opens nothing yet.
world_t *world_real_new (void);

//  Waits up to TIMEOUT_MS (-1: forever) for one of the node's inputs or the
//  command socket PIPE (a libzmq socket, may be NULL) to be readable. Sets
//  READY[i] for each WORLD_* input that is, and *PIPE_READY. Returns the
//  number ready, 0 on time-out, -1 when interrupted (EINTR).
int world_real_wait (world_t *w, void *pipe, long timeout_ms, bool ready[WORLD_INPUTS],
                     bool *pipe_ready);

#endif
