/*  node/membership/membership.h - what the files of the membership
    subsystem share (nothing outside node/membership/ includes it; the
    table is at the end of membership.c).
*/
#ifndef WEFT_NODE_MEMBERSHIP_MEMBERSHIP_H
#define WEFT_NODE_MEMBERSHIP_MEMBERSHIP_H

#include "node/core/node.h"

//  Runs membership command NAME (PEERS, PSTATUS, SILENCE); its frames
//  follow on the pipe (membership_cmd.c).
void membership_on_command (node_t *self, void *state, const char *name);

#endif
