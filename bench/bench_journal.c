/*  bench/bench_journal.c - what the journal costs over raw LevelDB.

    For each durability mode (sync, async), value size (64 B, 1 KiB) and
    batch size (1, 16, 128, 1024) it measures entries per second of
      raw:     leveldb_writebatch_put x batch + one leveldb_write, with the
               journal's key and value layout ('E' sid seq -> time payload);
      journal: journal_append x batch + one journal_commit;
    each as the median of RUNS timed runs of DURATION ms after one warm-up
    run, each run on a fresh database, each measurement in a process of its
    own (see s_isolated ()), and prints a table with journal/raw ratios.

    usage: bench_journal [-d duration_ms] [-r runs] [-o dir] [-s] [-a]
      -d  length of one run in ms (default 100: 16 rows x 2 x 6 runs ~ 20 s)
      -r  runs per measurement, median reported (default 5)
      -o  directory for the databases (default a fresh /tmp/weft-bench-XXXXXX)
      -s  sync mode only;  -a  async mode only
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE //  nftw
#endif
#include <errno.h>
#include <ftw.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"
#include "weft.h"

#define BENCH_RUNS_MAX 31

typedef struct {
    int duration_ms; //  length of one run
    int runs;        //  runs per measurement
    char dir[256];   //  where the databases go
    bool sync_only;  //  -s
    bool async_only; //  -a
} bench_args_t;

//  One measurement's configuration.
typedef struct {
    bool sync;    //  fsync each write
    size_t value; //  payload bytes
    size_t batch; //  entries per write
} bench_case_t;

//  Returns monotonic seconds.
static double s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

//  Removes one file or directory, for nftw.
static int s_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

//  Removes PATH and everything under it.
static void s_rmrf (const char *path)
{
    nftw (path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

//  Big-endian store of V into P (8 bytes).
static void s_put64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

//  Sorts doubles ascending, for the median.
static int s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

//  Returns the median of N values (sorted in place).
static double s_median (double *v, int n)
{
    qsort (v, (size_t)n, sizeof *v, s_cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------------------------------------------------------------------
   Raw LevelDB
*/

//  Raw LevelDB state: the handles a run needs.
typedef struct {
    leveldb_t *db;                  //  the database
    leveldb_options_t *options;     //  as the journal's: paranoid, bloom, 8 MiB cache
    leveldb_cache_t *cache;         //  block cache
    leveldb_filterpolicy_t *filter; //  bloom filter
    leveldb_writeoptions_t *wopts;  //  sync or not
    leveldb_writebatch_t *batch;    //  reused batch
} raw_t;

//  Opens a raw database in PATH configured like the journal's.
static int s_raw_open (raw_t *raw, const char *path, bool sync)
{
    raw->cache = leveldb_cache_create_lru (8u << 20);
    raw->filter = leveldb_filterpolicy_create_bloom (10);
    raw->options = leveldb_options_create ();
    leveldb_options_set_create_if_missing (raw->options, 1);
    leveldb_options_set_paranoid_checks (raw->options, 1);
    leveldb_options_set_cache (raw->options, raw->cache);
    leveldb_options_set_filter_policy (raw->options, raw->filter);
    leveldb_options_set_write_buffer_size (raw->options, 4u << 20);
    raw->wopts = leveldb_writeoptions_create ();
    leveldb_writeoptions_set_sync (raw->wopts, sync);
    raw->batch = leveldb_writebatch_create ();
    char *err = NULL;
    raw->db = leveldb_open (raw->options, path, &err);
    if (err) {
        fprintf (stderr, "bench_journal: %s: %s\n", path, err);
        leveldb_free (err);
        return -1;
    }
    return 0;
}

//  Closes the raw database.
static void s_raw_close (raw_t *raw)
{
    if (raw->db)
        leveldb_close (raw->db);
    leveldb_writebatch_destroy (raw->batch);
    leveldb_writeoptions_destroy (raw->wopts);
    leveldb_options_destroy (raw->options);
    leveldb_filterpolicy_destroy (raw->filter);
    leveldb_cache_destroy (raw->cache);
}

//  One timed raw run: writes batches until DURATION_MS passed, continuing
//  from *SEQ. Returns entries per second, or -1 on a write error.
static double s_raw_run (raw_t *raw, const bench_case_t *c, int duration_ms, uint64_t *seq)
{
    uint8_t key[13] = {'E', 0, 0, 0, 1}, value[8 + 1024];
    memset (value, 0xab, sizeof value);
    uint64_t done = 0;
    double start = s_now (), end = start + duration_ms / 1000.0, now = start;
    while (now < end) {
        for (size_t i = 0; i < c->batch; i++, (*seq)++) {
            s_put64 (key + 5, *seq);
            s_put64 (value, *seq);
            leveldb_writebatch_put (raw->batch, (const char *)key, sizeof key, (const char *)value,
                                    8 + c->value);
        }
        char *err = NULL;
        leveldb_write (raw->db, raw->wopts, raw->batch, &err);
        leveldb_writebatch_clear (raw->batch);
        if (err) {
            fprintf (stderr, "bench_journal: write: %s\n", err);
            leveldb_free (err);
            return -1;
        }
        done += c->batch;
        now = s_now ();
    }
    return (double)done / (now - start);
}

/* ---------------------------------------------------------------------------
   Journal
*/

//  One timed journal run, like s_raw_run () through journal_append () and
//  journal_commit ().
static double s_journal_run (journal_t *j, const bench_case_t *c, int duration_ms, uint64_t *seq)
{
    uint8_t value[1024];
    memset (value, 0xab, sizeof value);
    uint64_t done = 0;
    double start = s_now (), end = start + duration_ms / 1000.0, now = start;
    while (now < end) {
        for (size_t i = 0; i < c->batch; i++, (*seq)++)
            if (journal_append (j, "t/bench", *seq, (int64_t)*seq, value, c->value) != 0)
                return -1;
        if (journal_commit (j, c->sync) != 0) {
            fprintf (stderr, "bench_journal: %s\n", journal_error (j));
            return -1;
        }
        done += c->batch;
        now = s_now ();
    }
    return (double)done / (now - start);
}

//  One timed run of case C on a fresh database in PATH (JOURNAL false: raw
//  LevelDB). Opening and closing are not timed; closing waits for LevelDB's
//  compactions, so every run starts from the same state. Returns entries/s
//  or -1.
static double s_one_run (const bench_args_t *args, const bench_case_t *c, bool journal,
                         const char *path)
{
    char err[512];
    double rate = -1;
    uint64_t seq = 1;
    s_rmrf (path);
    if (journal) {
        journal_t *j = NULL;
        if (journal_open (path, NULL, &j, err, sizeof err) == 0)
            rate = s_journal_run (j, c, args->duration_ms, &seq);
        else
            fprintf (stderr, "bench_journal: %s\n", err);
        journal_close (&j);
    } else {
        raw_t raw = {0};
        if (s_raw_open (&raw, path, c->sync) == 0)
            rate = s_raw_run (&raw, c, args->duration_ms, &seq);
        s_raw_close (&raw);
    }
    s_rmrf (path);
    return rate;
}

//  Measures case C: one warm-up run, then the median of RUNS runs.
static double s_measure (const bench_args_t *args, const bench_case_t *c, bool journal)
{
    char path[300];
    snprintf (path, sizeof path, "%s/%s", args->dir, journal ? "journal" : "raw");
    double rates[BENCH_RUNS_MAX];
    for (int i = -1; i < args->runs; i++) {
        double rate = s_one_run (args, c, journal, path);
        if (rate < 0)
            return -1;
        if (i >= 0)
            rates[i] = rate;
    }
    return s_median (rates, args->runs);
}

//  Runs s_measure () in a child process: LevelDB has one background
//  (compaction) thread per process, shared by every database, so measuring
//  both in one process would let one's backlog stall the other. This
//  process never touches LevelDB, so forking is safe. Returns the rate or -1.
static double s_isolated (const bench_args_t *args, const bench_case_t *c, bool journal)
{
    int fds[2];
    if (pipe (fds) != 0)
        return -1;
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
        double rate = s_measure (args, c, journal);
        _exit (write (fds[1], &rate, sizeof rate) == sizeof rate ? 0 : 1);
    }
    close (fds[1]);
    double rate = -1;
    if (pid < 0 || read (fds[0], &rate, sizeof rate) != sizeof rate)
        rate = -1;
    close (fds[0]);
    if (pid > 0)
        waitpid (pid, NULL, 0);
    return rate;
}

/* ---------------------------------------------------------------------------
   Main
*/

//  Parses the command line into *ARGS; returns 0, or -1 after printing usage.
static int s_parse (int argc, char **argv, bench_args_t *args)
{
    *args = (bench_args_t){.duration_ms = 100, .runs = 5};
    int opt;
    while ((opt = getopt (argc, argv, "d:r:o:sah")) != -1) {
        if (opt == 'd')
            args->duration_ms = atoi (optarg);
        else if (opt == 'r')
            args->runs = atoi (optarg);
        else if (opt == 'o')
            snprintf (args->dir, sizeof args->dir, "%s", optarg);
        else if (opt == 's')
            args->sync_only = true;
        else if (opt == 'a')
            args->async_only = true;
        else
            goto usage;
    }
    if (args->duration_ms > 0 && args->runs > 0 && args->runs <= BENCH_RUNS_MAX)
        return 0;
usage:
    fprintf (stderr, "usage: %s [-d duration_ms] [-r runs (1-%d)] [-o dir] [-s|-a]\n", argv[0],
             BENCH_RUNS_MAX);
    return -1;
}

//  Measures and prints one row of the table.
static int s_row (const bench_args_t *args, const bench_case_t *c)
{
    double raw = s_isolated (args, c, false);
    double jnl = s_isolated (args, c, true);
    if (raw <= 0 || jnl <= 0)
        return -1;
    printf ("%-6s %6zu %6zu %14.0f %14.0f %8.2f %10.1f\n", c->sync ? "sync" : "async", c->value,
            c->batch, raw, jnl, jnl / raw, jnl * (double)c->value / 1e6);
    fflush (stdout);
    return 0;
}

int main (int argc, char **argv)
{
    bench_args_t args;
    if (s_parse (argc, argv, &args) != 0)
        return 2;
    bool own_dir = !args.dir[0];
    if (own_dir) {
        snprintf (args.dir, sizeof args.dir, "/tmp/weft-bench-XXXXXX");
        if (!mkdtemp (args.dir)) {
            fprintf (stderr, "bench_journal: mkdtemp: %s\n", strerror (errno));
            return 1;
        }
    }
    static const size_t values[] = {64, 1024}, batches[] = {1, 16, 128, 1024};
    printf ("journal vs raw LevelDB %d.%d, entries/s, median of %d runs of %d ms, in %s\n",
            leveldb_major_version (), leveldb_minor_version (), args.runs, args.duration_ms,
            args.dir);
    printf ("%-6s %6s %6s %14s %14s %8s %10s\n", "mode", "value", "batch", "raw", "journal",
            "ratio", "jnl MB/s");
    int rc = 0;
    for (int sync = 1; sync >= 0 && rc == 0; sync--) {
        if ((sync && args.async_only) || (!sync && args.sync_only))
            continue;
        for (size_t v = 0; v < 2 && rc == 0; v++)
            for (size_t b = 0; b < 4 && rc == 0; b++)
                rc = s_row (&args, &(bench_case_t){sync, values[v], batches[b]});
    }
    if (own_dir)
        s_rmrf (args.dir);
    return rc ? 1 : 0;
}
