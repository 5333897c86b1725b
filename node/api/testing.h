/*  node/api/testing.h - hooks for tests, in the static library only (not part of
    the ABI: the shared library does not export them). */
#ifndef WEFT_NODE_TESTING_H
#define WEFT_NODE_TESTING_H

#include <stdbool.h>

#include "weft.h"

//  Stops (SILENT true) or resumes the node's beacons and pings, so peers see
//  it fall silent as if it had hung. Thread: any.
int weft_node_silence (weft_node_t *self, bool silent);

//  Makes every journal commit of the node fail with ERR (e.g. WEFT_ENOSPC,
//  as a full disk would), until called again with ERR = 0. Thread: any.
int weft_node_fail_journal (weft_node_t *self, int err);

#endif
