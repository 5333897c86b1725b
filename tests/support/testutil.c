/*  tests/support/testutil.c - process, time and port helpers (see testutil.h).
    The node helpers live in testutil_node.c, so a suite that starts no node
    links none of the node code. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t tu_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint16_t tu_beacon_port (void)
{
    static unsigned calls;
    unsigned base = (unsigned)getpid () * 7u + (unsigned)tu_now_ms ();
    return (uint16_t)(20000 + (base + 37u * calls++) % 40000);
}

pid_t tu_spawn (const char *program, char *const argv[], int *out_fd)
{
    int fds[2] = {-1, -1};
    if (out_fd)
        cr_assert_eq (pipe (fds), 0, "pipe: %s", strerror (errno));
    pid_t pid = fork ();
    cr_assert (pid >= 0, "fork: %s", strerror (errno));
    if (pid == 0) {
        //  if this test dies (a timeout), its children die too: nothing is left running
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (out_fd) {
            dup2 (fds[1], STDOUT_FILENO);
            close (fds[0]);
            close (fds[1]);
        }
        execv (program, argv);
        _exit (127);
    }
    if (out_fd) {
        close (fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

bool tu_read_until (int fd, const char *needle, char *line, size_t cap, int timeout_ms)
{
    char buf[4096];
    size_t used = 0;
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (tu_now_ms () < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - tu_now_ms ());
        if (poll (&pfd, 1, left > 0 ? left : 0) <= 0)
            continue;
        char c;
        ssize_t n = read (fd, &c, 1);
        if (n <= 0)
            return false; //  the child closed its output
        if (c != '\n') {
            if (used < sizeof buf - 1)
                buf[used++] = c;
            continue;
        }
        buf[used] = 0;
        used = 0;
        if (strstr (buf, needle)) {
            if (line)
                snprintf (line, cap, "%s", buf);
            return true;
        }
    }
    return false;
}

int tu_stop_child (pid_t pid, int sig, int timeout_ms)
{
    int status = 0;
    kill (pid, sig);
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (tu_now_ms () < deadline) {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid)
            return status;
        //  wait for the child to change state without spinning: a zero-fd poll
        //  bounded by the deadline (SIGCHLD would need a handler we do not own)
        poll (NULL, 0, 10);
    }
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return status;
}
