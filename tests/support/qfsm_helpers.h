/*  tests/support/qfsm_helpers.h - what the tests of the replicated queue state
    machine (node/qfsm/qfsm.h) share: commands built in one line, batches
    encoded from them, entries applied and checked. Failures are Criterion
    assertions.
*/
#ifndef WEFT_TESTS_QFSM_HELPERS_H
#define WEFT_TESTS_QFSM_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "node/qfsm/qfsm.h"

//  An ENQUEUE of ID (may be NULL), PRIORITY, BODY (a string), NOT_BEFORE.
qfsm_cmd_t qfh_enq (const char *id, uint8_t priority, const char *body, int64_t not_before);

//  A command on SEQ: ACK, DELIVERED (ARG = count), NACK (ARG = delay) or DEAD.
qfsm_cmd_t qfh_on (qfsm_op_t op, uint64_t seq, int64_t arg);

//  Encodes CMDS[0 .. N) stamped NOW into a new batch.
qfsm_batch_t *qfh_encode (int64_t now, const qfsm_cmd_t *cmds, size_t n);

//  Applies CMDS[0 .. N) as one entry stamped NOW; OUT is reset first.
void qfh_apply_n (qfsm_t *fsm, int64_t now, const qfsm_cmd_t *cmds, size_t n, qfsm_out_t *out);

//  Applies CMD alone at NOW; returns its status, its seq in *SEQ (if not NULL).
int qfh_apply1 (qfsm_t *fsm, int64_t now, qfsm_cmd_t cmd, qfsm_out_t *out, uint64_t *seq);

//  The default configuration, for the caller to tweak.
qfsm_config_t qfh_config (void);

#endif
