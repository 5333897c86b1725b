/*  bench/bench_natsd.h - nats-server processes for bench_jetstream.

    Starts one nats-server (JetStream on) or a cluster of them on 127.0.0.1,
    every port taken from the kernel, stores and logs under a directory the
    caller owns; stops them by the PIDs it forked, never by name. The
    servers also get SIGTERM if the benchmark dies (PR_SET_PDEATHSIG).
    Needs Debian's nats-server on PATH; no libnats here. Not thread-safe.
*/
#ifndef BENCH_NATSD_H
#define BENCH_NATSD_H

#include <stdint.h>
#include <sys/types.h>

#define BENCH_NATSD_MAX 3 //  servers in one cluster at most

//  The servers this process started.
typedef struct {
    int n;                      //  servers started (0 when stopped)
    pid_t pid[BENCH_NATSD_MAX]; //  their PIDs (0 once reaped)
    int port[BENCH_NATSD_MAX];  //  client ports on 127.0.0.1
    int route[BENCH_NATSD_MAX]; //  cluster (route) ports on 127.0.0.1
    char tag[32];               //  server names: TAG-sI
} bench_natsd_t;

//  Forks N (1..BENCH_NATSD_MAX) nats-servers into SELF: server I listens on
//  127.0.0.1 only, named TAG-sI, JetStream store DIR/TAG-sI, log
//  DIR/TAG-sI.log; with N > 1 they form a cluster private to this process
//  (name bench-js-PID, routes to each other). Returns once they are forked,
//  not when they take connections. Dies when it cannot fork or find ports.
void bench_natsd_start (bench_natsd_t *self, int n, const char *dir, const char *tag);

//  Dies, printing the server's log (DIR as given to bench_natsd_start) on
//  stderr, when one of SELF's servers has exited (or could not be exec'd).
void bench_natsd_check (bench_natsd_t *self, const char *dir);

//  SIGTERMs SELF's servers, waits for each (5 s at most in all), SIGKILLs
//  what is left and reaps it. Safe on a stopped SELF.
void bench_natsd_stop (bench_natsd_t *self);

//  CPU time (user + system) SELF's servers have used so far, ns.
int64_t bench_natsd_cpu_ns (const bench_natsd_t *self);

#endif
