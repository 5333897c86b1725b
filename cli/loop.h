/*  cli/loop.h - signals and the receive loop shared by weftd and weft.

    Both tools wait on two things at once: the node's receive stream (its fd,
    weft_node_fd ()) and SIGINT/SIGTERM. The signals are blocked in every
    thread and read from a signalfd, so no handler runs and the library's
    threads (created later, inheriting the mask) never see them.
    Thread: call from the main thread.
*/
#ifndef WEFT_CLI_LOOP_H
#define WEFT_CLI_LOOP_H

#include <stdint.h>

#include "weft.h"

//  cli_next () result when SIGINT or SIGTERM arrived (not a WEFT_E* code).
#define CLI_SIGNALED 1

//  cli_wait () result when its input file descriptor became readable.
#define CLI_INPUT 2

//  Blocks SIGINT and SIGTERM in the calling thread (call first in main,
//  before any thread exists), ignores SIGPIPE, and returns a signalfd that
//  becomes readable when one of them arrives, or -1 with errno set.
int cli_signals_open (void);

//  Monotonic milliseconds.
int64_t cli_now_ms (void);

//  Waits until DEADLINE_MS (cli_now_ms () clock; -1: forever) for the next
//  message or event of NODE and stores it in *MSG_P (the caller destroys it).
//  Returns 0, WEFT_ETIMEDOUT at the deadline, CLI_SIGNALED with the signal
//  number in *SIGNO when SIGFD (-1: none) fires, or a weft_recv () error such
//  as WEFT_ECLOSED.
int cli_next (weft_node_t *node, int sigfd, int64_t deadline_ms, weft_msg_t **msg_p, int *signo);

//  Like cli_next (), and also returns CLI_INPUT when INPUT_FD (-1: none)
//  is readable or closed and no message is waiting (messages come first).
int cli_wait (weft_node_t *node, int sigfd, int input_fd, int64_t deadline_ms, weft_msg_t **msg_p,
              int *signo);

#endif
