/*  tests/support/testutil.h - helpers shared by the test suites.

    Tests never sleep to let things happen: they wait for an event with a
    deadline (tu_deadline_*), and fail with a message when it passes.
    Every test pins discovery to loopback (tu_config) and picks its own beacon
    port and cluster name, so suites may run side by side and nothing is ever
    broadcast on a real interface.
*/
#ifndef WEFT_TESTUTIL_H
#define WEFT_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft.h"

//  Monotonic milliseconds.
int64_t tu_now_ms (void);

//  A UDP port for beacons no other running test picks (pid-based, 20000-59999).
uint16_t tu_beacon_port (void);

//  A config for a test node NAME: discovery pinned to lo (broadcast
//  127.255.255.255), BEACON_PORT, a cluster name private to this test process,
//  fast intervals (beacon 100 ms, evasive 400 ms, expiry 800 ms), log level
//  warn. Aborts the test on failure.
weft_config_t *tu_config (const char *name, uint16_t beacon_port);

//  Creates and starts a node from CFG (destroyed here); aborts the test on failure.
weft_node_t *tu_node (weft_config_t *cfg);

//  Waits until NODE sees COUNT peers in state alive and ready (handshake done
//  and its subscriptions arrived), or fails the test after TIMEOUT_MS.
void tu_wait_peers (weft_node_t *node, size_t count, int timeout_ms);

//  Receives from NODE until an event of KIND arrives (other messages are
//  dropped); returns it, or NULL after TIMEOUT_MS.
weft_msg_t *tu_wait_kind (weft_node_t *node, int kind, int timeout_ms);

//  Starts PROGRAM (a path) with ARGV (NULL-terminated, argv[0] included),
//  stdout to a pipe whose read end is stored in *OUT_FD (if OUT_FD is not
//  NULL), stderr inherited. Returns the child's pid; aborts the test on failure.
pid_t tu_spawn (const char *program, char *const argv[], int *out_fd);

//  Reads from FD until a line containing NEEDLE arrives, up to TIMEOUT_MS.
//  Stores the line (without newline) in LINE (CAP bytes) if LINE is not NULL.
bool tu_read_until (int fd, const char *needle, char *line, size_t cap, int timeout_ms);

//  Sends SIG to PID (a child this test started) and reaps it within
//  TIMEOUT_MS (then SIGKILL). Returns the wait status.
int tu_stop_child (pid_t pid, int sig, int timeout_ms);

#endif
