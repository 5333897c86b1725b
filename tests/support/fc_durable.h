/*  tests/support/fc_durable.h - what the fake-core tests of durable topics
    share: a started node that knows a fake peer, and the replay messages
    that peer sends it (requests, ends, raw ROUTER frames). Failures are
    Criterion assertions.
*/
#ifndef WEFT_TESTS_FC_DURABLE_H
#define WEFT_TESTS_FC_DURABLE_H

#include "fakecore.h"

//  A started node NAME on DISK (config KV) that knows fake peer 1 (joined,
//  stored in *P), its start-up traffic and events forgotten.
fc_t *fcd_start (const char *name, uint64_t seed, jdisk_t *disk, const char *const *kv,
                 fc_peer_t *p);

//  Injects from P a ROUTER message: header HDR, then FRAME2 and FRAME3 (may be NULL).
void fcd_inject3 (fc_t *fc, const fc_peer_t *p, const msgpack_sbuffer *hdr,
                  const msgpack_sbuffer *frame2, const char *frame3);

//  P asks the node for replay ID of PATTERN from KIND / FROM.
void fcd_ask_replay (fc_t *fc, const fc_peer_t *p, uint64_t id, const char *pattern, int kind,
                     int64_t from);

//  P ends replay ID, for which it sent SENT messages.
void fcd_replay_end (fc_t *fc, const fc_peer_t *p, uint64_t id, uint64_t sent);

#endif
