/*  node/core/board.h - the one object the API thread and the node's thread
    share, besides the command pipe and the events socket.

    The API thread talks to the node through commands (the pipe) and events
    (the PAIR) and never reads the node's state. Three things cannot wait for
    a pipe round trip, and live here instead, behind the board's own lock:
      - the send window: how many queue sends are unconfirmed, so that
        weft_send_async () refuses or waits at once when the window is full;
      - the results of blocking sends, which a caller waits for (weft_send);
      - the journal's health, so that a publish on a durable topic fails at
        once with the journal's error (a full disk) instead of vanishing.
    The node writes (board_confirm, board_release, board_set_journal); the
    API thread reads and waits. Nothing else of either side is here.

    Thread: every function is safe from any thread.
*/
#ifndef WEFT_NODE_CORE_BOARD_H
#define WEFT_NODE_CORE_BOARD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef struct board board_t;

//  A new board with a send window of WINDOW sends; NULL when out of memory.
board_t *board_new (int window);

//  Frees the board (nobody may use it any more). NULL-safe, nulls *SELF_P.
void board_destroy (board_t **self_p);

//  --- The send window ------------------------------------------------------------

//  Takes a place in the window, waiting until DEADLINE (CLOCK_REALTIME;
//  NULL: do not wait). 0, or WEFT_EAGAIN when the window stayed full.
int board_enter (board_t *self, const struct timespec *deadline);

//  Gives back a place taken by board_enter (a send that was never submitted,
//  or one that finished: the node calls it when a send is confirmed or fails).
void board_release (board_t *self);

//  Unconfirmed sends now (for tests and status).
int board_in_flight (board_t *self);

//  --- Blocking sends -----------------------------------------------------------------

//  Announces that a caller will wait for the result of TOKEN. 0 or WEFT_ENOMEM.
int board_expect (board_t *self, uint64_t token);

//  Waits until the result of TOKEN (announced with board_expect) is posted or
//  DEADLINE passes; forgets TOKEN either way. The result, or WEFT_ETIMEDOUT.
int board_wait (board_t *self, uint64_t token, const struct timespec *deadline);

//  Forgets TOKEN without waiting (its send was never submitted).
void board_forget (board_t *self, uint64_t token);

//  Posts RESULT for TOKEN and wakes its caller; nothing when nobody waits.
void board_confirm (board_t *self, uint64_t token, int result);

//  --- The journal's health ------------------------------------------------------------

//  The node's last commit failed with ERR (a WEFT_E* code), or works (0).
void board_set_journal (board_t *self, int err);

//  0 while the journal works, else the code of the failure.
int board_journal (board_t *self);

#endif
