/*  tests/support/daemons.h - helpers for tests that run weftd and weft as
    separate processes.

    They build argv lists with the discovery flags of a test's fabric
    (pinned to loopback: --interface lo, the test's beacon port and
    cluster), start weftd children and read their ready lines, wait until
    each saw the others join, spawn a tool with pipes and collect what it
    prints, and stop children by pid. Every wait has a deadline; nothing
    sleeps. Failures abort the test (Criterion assertions) unless a
    function says it returns the outcome instead.
*/
#ifndef WEFT_TEST_DAEMONS_H
#define WEFT_TEST_DAEMONS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DM_MAX_ARGS 48

//  An argv under construction, with storage for its strings.
typedef struct {
    char *argv[DM_MAX_ARGS + 1]; //  NULL-terminated
    char text[DM_MAX_ARGS][160]; //  the strings
    int argc;                    //  used entries
} dm_args_t;

//  A weftd child.
typedef struct {
    pid_t pid;       //  0 once stopped
    int out;         //  read end of its stdout
    char name[32];   //  --name
    char uuid[40];   //  from its ready line
    char router[64]; //  ROUTER endpoint from its ready line ("" if not read)
} dm_daemon_t;

//  What a finished run of a tool gave.
typedef struct {
    int code;       //  exit code, or -1 if it did not exit by itself
    char *out;      //  its stdout, in the caller's buffer (set before the run)
    size_t out_cap; //  bytes in that buffer (set before the run)
    char err[4096]; //  its stderr
} dm_run_t;

//  Appends every string of the NULL-terminated list to ARGS (copied, at
//  most 159 bytes each); fails the test beyond DM_MAX_ARGS.
void dm_args_add (dm_args_t *args, ...);

//  Same as dm_args_add, with the list as a va_list (consumed).
void dm_args_addv (dm_args_t *args, va_list list);

//  Appends the discovery flags of a fabric on loopback with beacon PORT and
//  CLUSTER (fast intervals: 200 ms beacons, 600 ms evasive, 1200 ms expiry).
void dm_args_fabric (dm_args_t *args, uint16_t port, const char *cluster);

//  Writes into CLUSTER (CAP bytes) a cluster name private to this process,
//  beacon PORT and call: "PREFIX-<pid>-<port>-<serial>".
void dm_cluster_name (char *cluster, size_t cap, const char *prefix, uint16_t port);

//  Parses a weftd ready LINE: stores its uuid in UUID (40 bytes) and, if
//  ROUTER is not NULL, its router endpoint in ROUTER (64 bytes); fails the
//  test when a field is missing.
void dm_parse_ready (const char *line, char *uuid, char *router);

//  Reads FD until weftd NAME printed its ready line, for up to TIMEOUT_MS,
//  and parses it as dm_parse_ready does; fails the test otherwise.
void dm_await_ready (int fd, const char *name, int timeout_ms, char *uuid, char *router);

//  Starts PROGRAM (a weftd) with ARGV as daemon D named NAME (stdout on a
//  pipe, stderr inherited) and waits up to TIMEOUT_MS for its ready line;
//  reads the router endpoint too when WANT_ROUTER.
void dm_daemon_start (dm_daemon_t *d, const char *program, const char *name, char *const argv[],
                      int timeout_ms, bool want_router);

//  Same as dm_daemon_start, with the daemon's stderr appended to file LOG
//  (its logs) instead of inherited.
void dm_daemon_start_log (dm_daemon_t *d, const char *program, const char *name, char *const argv[],
                          int timeout_ms, const char *log);

//  Reads lines of daemon SELF (one of the COUNT daemons ALL, at most 64)
//  until it printed "join name=X " for every other daemon X, for up to
//  TIMEOUT_MS. Returns how many it did not see join (0: all of them).
size_t dm_wait_joins (const dm_daemon_t *all, size_t count, const dm_daemon_t *self,
                      int timeout_ms);

//  Stops each of the COUNT daemons ALL still running with SIGTERM (by pid,
//  SIGKILL after TIMEOUT_MS) and closes its stdout pipe.
void dm_daemons_stop (dm_daemon_t *all, size_t count, int timeout_ms);

//  Starts PROGRAM with ARGV, its stdin, stdout and stderr on pipes whose
//  other ends are stored through the non-NULL pointers IN, OUT and ERR
//  (else closed: stdin reads end of file, stdout is closed, stderr is
//  inherited); the child gets SIGKILL when the test process dies. Returns
//  its pid; the caller stops it (tu_stop_child) and closes the ends.
pid_t dm_spawn_io (const char *program, char *const argv[], int *in, int *out, int *err);

//  Runs PROGRAM with ARGV to completion (killed after TIMEOUT_MS), INPUT
//  (may be NULL: none) written to its stdin; stores its exit code, stdout
//  (in RUN->out, RUN->out_cap bytes, truncated beyond) and stderr in RUN.
void dm_run_tool (dm_run_t *run, const char *program, char *const argv[], const char *input,
                  int timeout_ms);

//  Reads lines from a child's output with a buffer (one read per chunk).
typedef struct {
    int fd;          //  the pipe, -1 once closed
    char buf[65536]; //  bytes read, not consumed
    size_t start;    //  first unconsumed byte
    size_t end;      //  end of the bytes read
} dm_reader_t;

//  Reads the next line of R (without its newline) into LINE (CAP bytes)
//  until DEADLINE (tu_now_ms clock). Returns 1, 0 at the deadline, -1 at
//  the end of the output (R->fd is then closed and -1).
int dm_reader_line (dm_reader_t *r, char *line, size_t cap, int64_t deadline);

//  Reads lines of R until one contains NEEDLE (stored in LINE, CAP bytes,
//  if not NULL), for up to TIMEOUT_MS; returns true when found.
bool dm_reader_until (dm_reader_t *r, const char *needle, char *line, size_t cap, int timeout_ms);

//  The fields of one message line of `weft sub --json`.
typedef struct {
    unsigned long long seq; //  "seq"
    char from[40];          //  "from": the publisher's uuid
    char body[32];          //  "body" (truncated)
} dm_sub_line_t;

//  Parses a message line of weft sub --json into OUT; false for another line
//  (an event, or not a message).
bool dm_parse_sub_line (const char *line, dm_sub_line_t *out);

//  Counts the occurrences of NEEDLE in TEXT.
int dm_count_of (const char *text, const char *needle);

//  Removes directory DIR and everything under it (best effort).
void dm_remove_tree (const char *dir);

#endif
