/*  tests/integration/test_journal_crash.c - what the journal acknowledged
    survives kill -9.

    A child process appends entries in batches and commits them; after each
    commit returns it writes the batch's seqs to a pipe (its
    "acknowledgements"). The parent reads until ACKED_TARGET seqs were
    acknowledged, SIGKILLs the child wherever it is (mid-batch, mid-commit,
    mid-compaction), reopens the journal and checks that every acknowledged
    entry is there and intact (each payload carries its seq and a checksum),
    that nothing unreadable was left, and that appends continue after it;
    three times in a row (recovery after recovery).

    The child is this test binary started again (tu_spawn of /proc/self/exe,
    its stdout a pipe) with WEFT_CRASH_CHILD set: a constructor runs the
    child before Criterion's main. A plain fork would not do: LevelDB's
    background compaction thread does not survive fork (), so a child forked
    after this process used LevelDB stalls once it needs a compaction. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hash.h"
#include "journal/journal.h"
#include "testutil.h"
#include "weft.h"

#define ACKED_TARGET 2000    //  acknowledged seqs to see before the kill
#define CHILD_MAX    1000000 //  the child's loop bound (seqs)
#define PAYLOAD_MAX  512     //  largest payload
#define STREAM       "q/crash"

static char s_dir[64]; //  this test's directory

//  Removes one file or directory, for nftw.
static int s_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

//  Creates the test directory.
static void s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/weft-crash-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir), "mkdtemp: %s", strerror (errno));
}

//  Removes the test directory.
static void s_teardown (void)
{
    nftw (s_dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite (journal_crash, .init = s_setup, .fini = s_teardown);

//  Builds the payload of SEQ into BUF: seq (8 bytes), filler, and the hash64
//  of all that (8 bytes); 24 to PAYLOAD_MAX bytes. Returns its size.
static size_t s_payload (uint64_t seq, uint8_t *buf)
{
    size_t len = 24 + (size_t)(seq * 37 % (PAYLOAD_MAX - 24));
    memcpy (buf, &seq, 8);
    for (size_t i = 8; i < len - 8; i++)
        buf[i] = (uint8_t)(seq + i * 13);
    uint64_t sum = hash64 (buf, len - 8);
    memcpy (buf + len - 8, &sum, 8);
    return len;
}

//  True when DATA (LEN bytes) is the intact payload of SEQ.
static bool s_payload_ok (uint64_t seq, const void *data, size_t len)
{
    uint8_t want[PAYLOAD_MAX];
    size_t wlen = s_payload (seq, want);
    return len == wlen && memcmp (data, want, len) == 0;
}

//  The child: appends batches of 1 to 8 entries to the journal in PATH,
//  commits each (SYNC or not), then acknowledges its seqs on FD, one decimal
//  per line. Never returns; exits 0 at its bound, 2 on a journal error.
static void s_child (const char *path, bool sync, int fd) __attribute__ ((noreturn));
static void s_child (const char *path, bool sync, int fd)
{
    journal_t *j = NULL;
    journal_options_t opts = {.write_buffer = 64 << 10}; //  small: flushes during the run
    if (journal_open (path, &opts, &j, NULL, 0) != 0)
        _exit (2);
    uint64_t seq = journal_next_seq (j, STREAM), last = seq + CHILD_MAX;
    uint8_t buf[PAYLOAD_MAX];
    char acks[8 * 24];
    while (seq <= last) {
        size_t n = 1 + seq % 8, used = 0;
        for (size_t i = 0; i < n; i++, seq++)
            if (journal_append (j, STREAM, seq, (int64_t)seq, buf, s_payload (seq, buf)) != 0)
                _exit (2);
        if (journal_commit (j, sync) != 0)
            _exit (2);
        for (uint64_t s = seq - n; s < seq; s++)
            used +=
                (size_t)snprintf (acks + used, sizeof acks - used, "%llu\n", (unsigned long long)s);
        if (write (fd, acks, used) != (ssize_t)used)
            _exit (3);
    }
    journal_close (&j);
    _exit (0);
}

//  Runs the child instead of the tests when this binary was started as one
//  (WEFT_CRASH_CHILD=sync|async, WEFT_CRASH_DIR=journal directory).
__attribute__ ((constructor)) static void s_child_main (void)
{
    const char *mode = getenv ("WEFT_CRASH_CHILD");
    const char *path = getenv ("WEFT_CRASH_DIR");
    if (mode && path)
        s_child (path, strcmp (mode, "sync") == 0, STDOUT_FILENO);
}

//  Reads acknowledgements from FD until TARGET more seqs were acknowledged
//  (they come in order after ACKED), or the child stops, or 60 s pass.
//  Returns the highest acknowledged seq.
static uint64_t s_read_acks (int fd, uint64_t acked, uint64_t target)
{
    char buf[4096];
    size_t used = 0;
    target += acked;
    int64_t deadline = tu_now_ms () + 60000;
    while (acked < target && tu_now_ms () < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll (&pfd, 1, (int)(deadline - tu_now_ms ())) <= 0)
            continue;
        ssize_t n = read (fd, buf + used, sizeof buf - used - 1);
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = 0;
        char *line = buf, *nl;
        while ((nl = strchr (line, '\n')) != NULL) {
            uint64_t seq = strtoull (line, NULL, 10);
            cr_assert_eq (seq, acked + 1, "acks out of order: %llu after %llu",
                          (unsigned long long)seq, (unsigned long long)acked);
            acked = seq;
            line = nl + 1;
        }
        used -= (size_t)(line - buf);
        memmove (buf, line, used);
    }
    return acked;
}

//  Checks the reopened journal: entries 1..last_seq all present and intact,
//  every acknowledged one among them; then appends one more. Returns the
//  last seq in the journal.
static uint64_t s_check_after_crash (uint64_t acked)
{
    char path[96], err[512];
    snprintf (path, sizeof path, "%s/db", s_dir);
    journal_t *j = NULL;
    cr_assert_eq (journal_open (path, NULL, &j, err, sizeof err), 0, "reopen: %s", err);
    journal_stats_t st;
    cr_assert_eq (journal_stats (j, STREAM, &st), 0);
    cr_assert_geq (st.last_seq, acked, "last_seq %llu < acknowledged %llu",
                   (unsigned long long)st.last_seq, (unsigned long long)acked);
    cr_assert_eq (st.count, st.last_seq);
    cr_assert_eq (st.first_seq, 1);
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, STREAM, 1, &it), 0);
    journal_entry_t e;
    uint64_t want = 1;
    int rc;
    while ((rc = journal_iter_next (it, &e)) == 1) {
        cr_assert_eq (e.seq, want, "entry %llu missing", (unsigned long long)want);
        cr_assert (s_payload_ok (e.seq, e.data, e.len), "entry %llu damaged",
                   (unsigned long long)e.seq);
        want++;
    }
    cr_assert_eq (rc, 0, "iter: %d %s", rc, journal_error (j));
    cr_assert_eq (want, st.last_seq + 1, "entries stop at %llu, stats say %llu",
                  (unsigned long long)want - 1, (unsigned long long)st.last_seq);
    journal_iter_destroy (&it);
    uint8_t buf[PAYLOAD_MAX];
    uint64_t next = journal_next_seq (j, STREAM);
    cr_assert_eq (journal_append (j, STREAM, next, 0, buf, s_payload (next, buf)), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    journal_close (&j);
    cr_log_info ("acknowledged %llu, found %llu after kill -9", (unsigned long long)acked,
                 (unsigned long long)st.last_seq);
    return next;
}

//  Runs the child in SYNC or async mode, kills it after ACKED_TARGET more
//  acks, and checks the journal, whose last seq was LAST; returns the new last.
static uint64_t s_crash_round (bool sync, uint64_t last)
{
    char path[96];
    snprintf (path, sizeof path, "%s/db", s_dir);
    setenv ("WEFT_CRASH_CHILD", sync ? "sync" : "async", 1);
    setenv ("WEFT_CRASH_DIR", path, 1);
    char *argv[] = {"test_journal_crash", NULL};
    int fd = -1;
    pid_t pid = tu_spawn ("/proc/self/exe", argv, &fd);
    unsetenv ("WEFT_CRASH_CHILD");
    unsetenv ("WEFT_CRASH_DIR");
    uint64_t acked = s_read_acks (fd, last, ACKED_TARGET);
    int status = tu_stop_child (pid, SIGKILL, 10000);
    close (fd);
    cr_assert_geq (acked, last + ACKED_TARGET, "only %llu acknowledged (child status %d)",
                   (unsigned long long)acked, status);
    cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "child status %d", status);
    return s_check_after_crash (acked);
}

//  Kills the writer three times in a row: recovery after recovery.
Test (journal_crash, sync_commits_survive_kill_9, .timeout = 120)
{
    uint64_t last = 0;
    for (int round = 0; round < 3; round++)
        last = s_crash_round (true, last);
}

//  Async commits reach the OS before they return, so they survive kill -9
//  too (not a power cut, which this cannot test).
Test (journal_crash, async_commits_survive_kill_9, .timeout = 120)
{
    uint64_t last = 0;
    for (int round = 0; round < 3; round++)
        last = s_crash_round (false, last);
}
