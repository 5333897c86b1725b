/*  bench/bench_common.c - helpers shared by the benchmarks (bench_common.h).
 */
#include "bench_common.h"

#include <errno.h>
#include <ftw.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *s_name = "bench"; //  program name in bench_die messages

void bench_init (const char *name)
{
    s_name = name;
}

/* ---------------------------------------------------------------------------
   Clocks, errors, statistics
*/

int64_t bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t bench_now_ms (void)
{
    return bench_now_ns () / 1000000;
}

int64_t bench_cpu_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_die (const char *what, const char *detail)
{
    fprintf (stderr, "%s: %s%s%s\n", s_name, what, detail ? ": " : "", detail ? detail : "");
    exit (1);
}

//  qsort comparator for doubles.
static int cmp_double (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_percentile (double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort (v, n, sizeof *v, cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return v[rank - 1];
}

double bench_median (double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort (v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------------------------------------------------------------------
   Files, bodies, arguments
*/

//  Removes one file or directory, for nftw.
static int rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

void bench_rmrf (const char *path)
{
    nftw (path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void bench_tmpdir (char *dir, size_t cap, const char *what)
{
    snprintf (dir, cap, "/tmp/weft-bench-%s-XXXXXX", what);
    if (!mkdtemp (dir))
        bench_die ("mkdtemp", strerror (errno));
}

int bench_port (void)
{
    return 30000 + (int)(getpid () % 20000);
}

void bench_fill_body (char *body, size_t size, char mark)
{
    for (size_t i = 0; i < size; i++)
        body[i] = (char)('a' + i % 26);
    body[0] = mark;
}

void bench_put64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

int bench_parse_list (const char *text, long *out, int max, long lo, long hi)
{
    int n = 0;
    for (const char *p = text; *p && n < max; p += *p == ',') {
        char *end = NULL;
        long v = strtol (p, &end, 10);
        if (end == p || v < lo || v > hi)
            return -1;
        out[n++] = v;
        p = end;
    }
    return n ? n : -1;
}

/* ---------------------------------------------------------------------------
   Weft nodes on loopback
*/

void bench_must_set (weft_config_t *cfg, const char *key, const char *value)
{
    if (weft_config_set (cfg, key, value))
        bench_die ("config", weft_config_error (cfg));
}

weft_config_t *bench_loopback_config (const char *name, const char *cluster, int port)
{
    weft_config_t *cfg = weft_config_new ();
    if (!cfg)
        bench_die ("out of memory", NULL);
    char text[16];
    snprintf (text, sizeof text, "%d", port);
    bench_must_set (cfg, "node.name", name);
    bench_must_set (cfg, "cluster.name", cluster);
    bench_must_set (cfg, "discovery.interface", "lo");
    bench_must_set (cfg, "discovery.port", text);
    bench_must_set (cfg, "log.level", "error");
    return cfg;
}

weft_node_t *bench_node (weft_config_t *cfg)
{
    int err = 0;
    weft_node_t *node = weft_node_new (cfg, &err);
    weft_config_destroy (&cfg);
    if (!node)
        bench_die ("weft_node_new", weft_strerror (err));
    if (weft_node_start (node))
        bench_die ("weft_node_start", weft_node_error (node));
    return node;
}

size_t bench_peers_alive (weft_node_t *node, bool ready)
{
    weft_peers_t *peers = NULL;
    if (weft_peers (node, &peers))
        return 0;
    size_t count = 0;
    for (size_t i = 0; i < weft_peers_count (peers); i++)
        if (strcmp (weft_peers_get (peers, i, "state"), "alive") == 0 &&
            (!ready || strcmp (weft_peers_get (peers, i, "ready"), "yes") == 0))
            count++;
    weft_peers_destroy (&peers);
    return count;
}

/* ---------------------------------------------------------------------------
   Raw LevelDB baseline: LevelDB has one compaction thread per process, and a
   process that used LevelDB must not fork and use it again, so each run is a
   fresh process (the benchmark exec'd with --raw-child)
*/

//  Opens a database in PATH configured like the journal's; dies on failure.
static leveldb_t *ldb_open (const char *path, leveldb_options_t *options)
{
    leveldb_options_set_create_if_missing (options, 1);
    leveldb_options_set_paranoid_checks (options, 1);
    leveldb_options_set_write_buffer_size (options, 4u << 20);
    char *err = NULL;
    leveldb_t *db = leveldb_open (options, path, &err);
    if (err)
        bench_die (path, err);
    return db;
}

//  Writes batches of BATCH entries (key 'E' sid seq, value time + SIZE bytes)
//  into DB for MS milliseconds; returns entries per second.
static double ldb_write (leveldb_t *db, bool sync, size_t size, size_t batch, int ms)
{
    leveldb_writeoptions_t *wopts = leveldb_writeoptions_create ();
    leveldb_writeoptions_set_sync (wopts, sync);
    leveldb_writebatch_t *wb = leveldb_writebatch_create ();
    uint8_t key[13] = {'E', 0, 0, 0, 1}, *value = calloc (1, 8 + size);
    uint64_t seq = 1, done = 0;
    int64_t start = bench_now_ns (), end = start + (int64_t)ms * 1000000, now = start;
    while (value && now < end) {
        for (size_t i = 0; i < batch; i++, seq++) {
            bench_put64 (key + 5, seq);
            bench_put64 (value, seq);
            leveldb_writebatch_put (wb, (const char *)key, sizeof key, (const char *)value,
                                    8 + size);
        }
        char *err = NULL;
        leveldb_write (db, wopts, wb, &err);
        leveldb_writebatch_clear (wb);
        if (err)
            bench_die ("leveldb_write", err);
        done += batch;
        now = bench_now_ns ();
    }
    free (value);
    leveldb_writebatch_destroy (wb);
    leveldb_writeoptions_destroy (wopts);
    return (double)done / ((double)(now - start) / 1e9);
}

int bench_ldb_child (char **argv)
{
    char path[300];
    snprintf (path, sizeof path, "%s/raw", argv[4]);
    bench_rmrf (path);
    leveldb_cache_t *cache = leveldb_cache_create_lru (8u << 20);
    leveldb_filterpolicy_t *filter = leveldb_filterpolicy_create_bloom (10);
    leveldb_options_t *options = leveldb_options_create ();
    leveldb_options_set_cache (options, cache);
    leveldb_options_set_filter_policy (options, filter);
    leveldb_t *db = ldb_open (path, options);
    double rate = ldb_write (db, atoi (argv[0]) != 0, (size_t)atol (argv[1]),
                             (size_t)atol (argv[2]), atoi (argv[3]));
    leveldb_close (db);
    leveldb_options_destroy (options);
    leveldb_filterpolicy_destroy (filter);
    leveldb_cache_destroy (cache);
    bench_rmrf (path);
    printf ("%.0f\n", rate);
    return 0;
}

double bench_ldb_spawn (const char *exe, const char *argv0, bool sync, size_t size, size_t batch,
                        int ms, const char *dir)
{
    char args[4][32];
    snprintf (args[0], sizeof args[0], "%d", sync ? 1 : 0);
    snprintf (args[1], sizeof args[1], "%zu", size);
    snprintf (args[2], sizeof args[2], "%zu", batch);
    snprintf (args[3], sizeof args[3], "%d", ms);
    int fds[2];
    if (pipe (fds))
        return -1;
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (fds[1], STDOUT_FILENO);
        close (fds[0]);
        close (fds[1]);
        execl (exe, argv0, "--raw-child", args[0], args[1], args[2], args[3], dir, (char *)NULL);
        _exit (127);
    }
    close (fds[1]);
    char text[64] = "";
    ssize_t n = pid > 0 ? read (fds[0], text, sizeof text - 1) : -1;
    close (fds[0]);
    if (pid > 0)
        waitpid (pid, NULL, 0);
    return n > 0 ? atof (text) : -1;
}
