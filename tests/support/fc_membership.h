/*  tests/support/fc_membership.h - what the fake-core tests of the membership
    subsystem share (test_sub_membership.c, test_sub_membership_swim.c): a
    started node, HELLOs and events of fake peers, and the SWIM PINGs that
    peers send it or it sends them. Failures are Criterion assertions.
*/
#ifndef WEFT_TESTS_FC_MEMBERSHIP_H
#define WEFT_TESTS_FC_MEMBERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakecore.h"

//  A started node "m" with no journal, its start-up traffic forgotten.
fc_t *fcm_start (uint64_t seed, const char *const *kv);

//  Takes the next event of any kind; fails unless it is of KIND about PEER.
void fcm_expect_event (fc_t *fc, int kind, const fc_peer_t *peer);

//  Says HELLO as PEER and runs a turn.
void fcm_hello (fc_t *fc, const fc_peer_t *peer);

//  Injects PING from FROM with the optional fields of PING.
void fcm_inject_ping (fc_t *fc, const fc_peer_t *from, const wire_ping_t *ping);

//  A PING of PROBE kind with ID about TARGET.
wire_ping_t fcm_probe_ping (uint8_t probe, uint64_t id, const uint8_t *target);

//  A PING carrying one record about UUID.
wire_ping_t fcm_record_ping (const uint8_t *uuid, uint64_t incarnation, uint64_t alive,
                             uint8_t state);

//  Takes the PINGs sent to EP until one of PROBE kind (WIRE_PROBE_NONE: any
//  that carries a record about UUID in STATE) comes; it goes into *OUT.
bool fcm_take_ping (fc_t *fc, const char *ep, uint8_t probe, const uint8_t *uuid, int state,
                    wire_ping_t *out);

//  Moves the clock MS forward in steps of 100 ms; each of the N peers of
//  ALIVE PINGs at every step.
void fcm_advance_with (fc_t *fc, int64_t ms, const fc_peer_t *alive, size_t n);

//  The "membership" part of the status: the number after "KEY":.
int64_t fcm_swim_int (fc_t *fc, const char *key);

#endif
