/*  cli/loop.c - signals and the receive loop shared by weftd and weft
    (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

//  Longest blocking weft_recv () after the fd said "readable" but nothing
//  came: bounds how late a signal is seen if the fd misbehaves.
#define SPURIOUS_WAIT_MS 20

int cli_signals_open (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    if (sigprocmask (SIG_BLOCK, &set, NULL))
        return -1;
    signal (SIGPIPE, SIG_IGN); //  a closed stdout is an EPIPE, not a death
    return signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int64_t cli_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Reads one pending signal from SIGFD into *SIGNO; true if there was one.
static bool signal_take (int sigfd, int *signo)
{
    struct signalfd_siginfo info;
    if (sigfd < 0 || read (sigfd, &info, sizeof info) != (ssize_t)sizeof info)
        return false;
    if (signo)
        *signo = (int)info.ssi_signo;
    return true;
}

//  Milliseconds left until DEADLINE_MS (-1: forever), clamped to an int.
static int time_left (int64_t deadline_ms)
{
    if (deadline_ms < 0)
        return -1;
    int64_t left = deadline_ms - cli_now_ms ();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

//  What wait_fds () saw.
typedef struct {
    bool node;  //  the node's fd is readable
    bool input; //  the input fd is readable or closed
} fds_ready_t;

//  Waits up to LEFT ms for NODE_FD, SIGFD or INPUT_FD (-1: not watched).
static fds_ready_t wait_fds (int node_fd, int sigfd, int input_fd, int left)
{
    struct pollfd fds[3] = {{.fd = node_fd, .events = POLLIN},
                            {.fd = sigfd, .events = POLLIN},
                            {.fd = input_fd, .events = POLLIN}};
    fds_ready_t ready = {false, false};
    if (poll (fds, 3, left) > 0) { //  poll ignores entries with a negative fd
        ready.node = fds[0].revents & POLLIN;
        ready.input = fds[2].revents & (POLLIN | POLLHUP | POLLERR);
    }
    return ready;
}

int cli_wait (weft_node_t *node, int sigfd, int input_fd, int64_t deadline_ms, weft_msg_t **msg_p,
              int *signo)
{
    bool fd_said_ready = false;
    for (;;) {
        if (signal_take (sigfd, signo))
            return CLI_SIGNALED;
        int left = time_left (deadline_ms);
        int wait = 0;
        if (fd_said_ready) //  a bounded wait: no spin if the fd stays readable
            wait = left < 0 || left > SPURIOUS_WAIT_MS ? SPURIOUS_WAIT_MS : left;
        int rc = weft_recv (node, msg_p, wait);
        if (rc == 0)
            return 0;
        if (rc != WEFT_EAGAIN && rc != WEFT_ETIMEDOUT)
            return rc;
        left = time_left (deadline_ms);
        if (left == 0)
            return WEFT_ETIMEDOUT;
        int fd = weft_node_fd (node);
        if (fd < 0)
            return fd;
        fds_ready_t ready = wait_fds (fd, sigfd, input_fd, left);
        if (ready.input)
            return CLI_INPUT;
        fd_said_ready = ready.node;
    }
}

int cli_next (weft_node_t *node, int sigfd, int64_t deadline_ms, weft_msg_t **msg_p, int *signo)
{
    return cli_wait (node, sigfd, -1, deadline_ms, msg_p, signo);
}
