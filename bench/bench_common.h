/*  bench/bench_common.h - helpers shared by the benchmarks.

    Clocks, medians, fatal errors, scratch directories, argument lists, Weft
    nodes pinned to loopback, and the raw LevelDB baseline that bench_durable
    and bench_queue run in a freshly exec'd process. Every benchmark links
    bench_common.c (bench/CMakeLists.txt). Nothing here is thread-safe unless
    it says so; the clocks are.
*/
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft.h"

//  Names the program in bench_die messages ("bench_queue"). Call first in main.
void bench_init (const char *name);

//  Monotonic nanoseconds. Thread-safe.
int64_t bench_now_ns (void);

//  Monotonic milliseconds. Thread-safe.
int64_t bench_now_ms (void);

//  CPU time of the whole process (every thread), nanoseconds. Thread-safe.
int64_t bench_cpu_ns (void);

//  Prints "NAME: WHAT[: DETAIL]" on stderr and exits 1: the benchmark cannot go on.
void bench_die (const char *what, const char *detail);

//  Sorts V (N values) in place and returns the nearest-rank percentile P
//  (0..100); 0 when N is 0.
double bench_percentile (double *v, size_t n, double p);

//  Sorts V (N values) in place and returns the median: the mean of the middle
//  two for even N; 0 when N is 0.
double bench_median (double *v, size_t n);

//  Removes PATH and everything under it (no error if it does not exist).
void bench_rmrf (const char *path);

//  Creates a fresh directory /tmp/weft-bench-WHAT-XXXXXX into DIR (CAP bytes),
//  or dies.
void bench_tmpdir (char *dir, size_t cap, const char *what);

//  This process's beacon port: 30000 + pid % 20000.
int bench_port (void);

//  Fills BODY (SIZE bytes, SIZE >= 1) with a letter pattern whose first byte is MARK.
void bench_fill_body (char *body, size_t size, char mark);

//  Big-endian store of V into P (8 bytes).
void bench_put64 (uint8_t *p, uint64_t v);

//  Parses a list of up to MAX integers in [LO, HI] ("64,1024") into OUT;
//  returns how many, or -1 when the list is empty or a value is bad.
int bench_parse_list (const char *text, long *out, int max, long lo, long hi);

//  Sets KEY=VALUE in CFG or dies.
void bench_must_set (weft_config_t *cfg, const char *key, const char *value);

//  A new config for node NAME pinned to loopback (discovery.interface = lo),
//  in CLUSTER with beacons on PORT, logging errors only; or dies. The caller
//  owns it (bench_node takes it).
weft_config_t *bench_loopback_config (const char *name, const char *cluster, int port);

//  Creates and starts a node from *CFG (destroyed here, whatever happens), or dies.
weft_node_t *bench_node (weft_config_t *cfg);

//  Counts NODE's peers that are alive; with READY, only those also ready
//  (subscriptions in). 0 when the peer list cannot be read.
size_t bench_peers_alive (weft_node_t *node, bool ready);

//  The raw LevelDB child: ARGV is SYNC SIZE BATCH MS DIR. Writes, on a fresh
//  database DIR/raw opened like the journal's (paranoid checks, bloom filter,
//  8 MiB cache, 4 MiB write buffer), WriteBatches of BATCH entries (key 'E'
//  sid seq, value time + SIZE bytes, as the journal's) for MS milliseconds,
//  removes the database and prints entries per second on stdout. Dies on a
//  LevelDB error; returns the exit code (0).
int bench_ldb_child (char **argv);

//  Runs one raw LevelDB measurement in a fresh process: EXE (named ARGV0)
//  with "--raw-child SYNC SIZE BATCH MS DIR", which must call bench_ldb_child.
//  Returns the entries per second it printed, or -1.
double bench_ldb_spawn (const char *exe, const char *argv0, bool sync, size_t size, size_t batch,
                        int ms, const char *dir);

#endif
