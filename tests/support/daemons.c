/*  tests/support/daemons.c - weftd and weft children for multi-process tests.

    See daemons.h. Waits poll with deadlines; nothing sleeps.
*/
#include "daemons.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

void dm_args_addv (dm_args_t *args, va_list list)
{
    for (const char *s = va_arg (list, const char *); s; s = va_arg (list, const char *)) {
        cr_assert_lt (args->argc, DM_MAX_ARGS);
        snprintf (args->text[args->argc], sizeof args->text[0], "%s", s);
        args->argv[args->argc] = args->text[args->argc];
        args->argv[++args->argc] = NULL;
    }
}

void dm_args_add (dm_args_t *args, ...)
{
    va_list list;
    va_start (list, args);
    dm_args_addv (args, list);
    va_end (list);
}

void dm_args_fabric (dm_args_t *args, uint16_t port, const char *cluster)
{
    char text[16];
    snprintf (text, sizeof text, "%u", port);
    dm_args_add (args, "--interface", "lo", "--beacon-port", text, "--cluster", cluster, "--set",
                 "discovery.interval_ms=200", "--set", "discovery.evasive_ms=600", "--set",
                 "discovery.expired_ms=1200", NULL);
}

void dm_cluster_name (char *cluster, size_t cap, const char *prefix, uint16_t port)
{
    static int serial;
    snprintf (cluster, cap, "%s-%d-%u-%d", prefix, (int)getpid (), port, serial++);
}

void dm_parse_ready (const char *line, char *uuid, char *router)
{
    const char *field = strstr (line, "uuid=");
    cr_assert (field && sscanf (field, "uuid=%39s", uuid) == 1, "%s", line);
    if (!router)
        return;
    field = strstr (line, "router=");
    cr_assert (field && sscanf (field, "router=%63s", router) == 1, "%s", line);
}

void dm_await_ready (int fd, const char *name, int timeout_ms, char *uuid, char *router)
{
    char line[512];
    cr_assert (tu_read_until (fd, "ready ", line, sizeof line, timeout_ms), "%s: no ready line",
               name);
    dm_parse_ready (line, uuid, router);
}

void dm_daemon_start (dm_daemon_t *d, const char *program, const char *name, char *const argv[],
                      int timeout_ms, bool want_router)
{
    memset (d, 0, sizeof *d);
    snprintf (d->name, sizeof d->name, "%s", name);
    d->pid = tu_spawn (program, argv, &d->out);
    dm_await_ready (d->out, name, timeout_ms, d->uuid, want_router ? d->router : NULL);
}

void dm_daemon_start_log (dm_daemon_t *d, const char *program, const char *name, char *const argv[],
                          int timeout_ms, const char *log)
{
    memset (d, 0, sizeof *d);
    snprintf (d->name, sizeof d->name, "%s", name);
    int fds[2];
    cr_assert_eq (pipe (fds), 0, "pipe: %s", strerror (errno));
    int err = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    cr_assert (err >= 0, "%s: %s", log, strerror (errno));
    d->pid = fork ();
    cr_assert (d->pid >= 0, "fork: %s", strerror (errno));
    if (d->pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL); //  nothing outlives a test that dies
        dup2 (fds[1], STDOUT_FILENO);
        dup2 (err, STDERR_FILENO);
        close (fds[0]);
        close (fds[1]);
        execv (program, argv);
        _exit (127);
    }
    close (fds[1]);
    close (err);
    d->out = fds[0];
    dm_await_ready (d->out, name, timeout_ms, d->uuid, d->router);
}

//  The index of the daemon among the COUNT daemons ALL, other than SELF,
//  whose join LINE announces; -1 if none.
static int joined (const dm_daemon_t *all, size_t count, const dm_daemon_t *self, const char *line)
{
    for (size_t j = 0; j < count; j++) {
        char needle[48];
        snprintf (needle, sizeof needle, "join name=%s ", all[j].name);
        if (&all[j] != self && strncmp (line, needle, strlen (needle)) == 0)
            return (int)j;
    }
    return -1;
}

size_t dm_wait_joins (const dm_daemon_t *all, size_t count, const dm_daemon_t *self, int timeout_ms)
{
    cr_assert_leq (count, 64);
    uint64_t seen = 0;
    size_t missing = count - 1;
    int64_t deadline = tu_now_ms () + timeout_ms;
    char line[512];
    while (missing && tu_now_ms () < deadline &&
           tu_read_until (self->out, "", line, sizeof line, (int)(deadline - tu_now_ms ()))) {
        int j = joined (all, count, self, line);
        if (j >= 0 && !(seen & (1ULL << j))) {
            seen |= 1ULL << j;
            missing--;
        }
    }
    return missing;
}

void dm_daemons_stop (dm_daemon_t *all, size_t count, int timeout_ms)
{
    for (size_t i = 0; i < count; i++)
        if (all[i].pid > 0) {
            tu_stop_child (all[i].pid, SIGTERM, timeout_ms);
            all[i].pid = 0;
            close (all[i].out);
        }
}

//  In the child of dm_spawn_io: wires the pipes to stdin, stdout and
//  stderr, closes every other descriptor and runs PROGRAM.
static void exec_child (const char *program, char *const argv[], int in, int out, int err)
{
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    dup2 (in, STDIN_FILENO);
    if (out >= 0)
        dup2 (out, STDOUT_FILENO);
    if (err >= 0)
        dup2 (err, STDERR_FILENO);
    for (int fd = 3; fd < 256; fd++)
        close (fd);
    execv (program, argv);
    _exit (127);
}

pid_t dm_spawn_io (const char *program, char *const argv[], int *in, int *out, int *err)
{
    int pin[2], pout[2], perr[2];
    cr_assert (pipe (pin) == 0 && pipe (pout) == 0 && pipe (perr) == 0);
    pid_t pid = fork ();
    cr_assert (pid >= 0, "fork: %s", strerror (errno));
    if (pid == 0)
        exec_child (program, argv, pin[0], out ? pout[1] : -1, err ? perr[1] : -1);
    close (pin[0]);
    close (pout[1]);
    close (perr[1]);
    in ? (void)(*in = pin[1]) : (void)close (pin[1]);
    out ? (void)(*out = pout[0]) : (void)close (pout[0]);
    err ? (void)(*err = perr[0]) : (void)close (perr[0]);
    return pid;
}

//  Reads what is available on *FD into BUF (CAP bytes, used *LEN); closes
//  it and sets *FD to -1 at end of file.
static void drain (int *fd, char *buf, size_t cap, size_t *len)
{
    char chunk[4096];
    ssize_t n = read (*fd, chunk, sizeof chunk);
    if (n <= 0) {
        close (*fd);
        *fd = -1;
        return;
    }
    size_t room = cap - 1 - *len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy (buf + *len, chunk, take);
    *len += take;
    buf[*len] = 0;
}

//  Writes what the pipe *FD takes of INPUT (at *SENT of LEN bytes); closes
//  it and sets *FD to -1 once everything was written.
static void feed (int *fd, const char *input, size_t len, size_t *sent)
{
    ssize_t n = *sent < len ? write (*fd, input + *sent, len - *sent) : 0;
    if (n > 0)
        *sent += (size_t)n;
    if (n < 0 || *sent >= len) {
        close (*fd);
        *fd = -1;
    }
}

//  Closes FD if it is open.
static void close_open (int fd)
{
    if (fd >= 0)
        close (fd);
}

void dm_run_tool (dm_run_t *run, const char *program, char *const argv[], const char *input,
                  int timeout_ms)
{
    int in = -1, out = -1, err = -1;
    size_t out_len = 0, err_len = 0, sent = 0, len = input ? strlen (input) : 0;
    run->out[0] = run->err[0] = 0;
    pid_t pid = dm_spawn_io (program, argv, len ? &in : NULL, &out, &err);
    if (in >= 0)
        fcntl (in, F_SETFL, O_NONBLOCK);
    int64_t deadline = tu_now_ms () + timeout_ms;
    while ((out >= 0 || err >= 0) && tu_now_ms () < deadline) {
        struct pollfd fds[3] = {{.fd = out, .events = POLLIN},
                                {.fd = err, .events = POLLIN},
                                {.fd = in, .events = POLLOUT}};
        if (poll (fds, 3, (int)(deadline - tu_now_ms ())) <= 0)
            continue;
        if (fds[0].revents)
            drain (&out, run->out, run->out_cap, &out_len);
        if (fds[1].revents)
            drain (&err, run->err, sizeof run->err, &err_len);
        if (fds[2].revents)
            feed (&in, input, len, &sent);
    }
    close_open (in);
    close_open (out);
    close_open (err);
    int status = tu_stop_child (pid, 0, deadline > tu_now_ms () ? 2000 : 1);
    run->code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

int dm_reader_line (dm_reader_t *r, char *line, size_t cap, int64_t deadline)
{
    for (;;) {
        char *newline = memchr (r->buf + r->start, '\n', r->end - r->start);
        if (newline) {
            size_t len = (size_t)(newline - (r->buf + r->start));
            snprintf (line, cap, "%.*s", (int)len, r->buf + r->start);
            r->start += len + 1;
            return 1;
        }
        if (r->fd < 0)
            return -1;
        memmove (r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        cr_assert_lt (r->end, sizeof r->buf, "a line longer than %zu bytes", sizeof r->buf);
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        int64_t left = deadline - tu_now_ms ();
        if (left <= 0)
            return 0;
        if (poll (&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t n = read (r->fd, r->buf + r->end, sizeof r->buf - r->end);
        if (n <= 0) {
            close (r->fd);
            r->fd = -1;
        } else
            r->end += (size_t)n;
    }
}

bool dm_reader_until (dm_reader_t *r, const char *needle, char *line, size_t cap, int timeout_ms)
{
    char buf[1024];
    int64_t deadline = tu_now_ms () + timeout_ms;
    while (dm_reader_line (r, buf, sizeof buf, deadline) == 1)
        if (strstr (buf, needle)) {
            if (line)
                snprintf (line, cap, "%s", buf);
            return true;
        }
    return false;
}

bool dm_parse_sub_line (const char *line, dm_sub_line_t *out)
{
    const char *seq = strstr (line, "\"seq\": ");
    const char *from = strstr (line, "\"from\": \"");
    const char *body = strstr (line, "\"body\": \"");
    if (strstr (line, "\"event\"") || !seq || !from || !body)
        return false;
    return sscanf (seq, "\"seq\": %llu", &out->seq) == 1 &&
           sscanf (from, "\"from\": \"%39[0-9a-f]\"", out->from) == 1 &&
           sscanf (body, "\"body\": \"%31[^\"]\"", out->body) == 1;
}

int dm_count_of (const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr (text, needle); p; p = strstr (p + 1, needle))
        n++;
    return n;
}

//  nftw () callback: removes one entry.
static int remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

void dm_remove_tree (const char *dir)
{
    nftw (dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
