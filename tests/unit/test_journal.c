/*  tests/unit/test_journal.c - the journal (journal/journal.h), over either
    store backend: built as test_journal (LevelDB) and again with
    JOURNAL_TEST_MEMORY as test_journal_memdisk (the in-memory disk of
    journal/store_mem.h, one fresh disk per test). Tests of what only LevelDB
    has (real write failures on a file system, corrupt files, repair, the
    lock across processes, directory checks) are disabled in the memory
    build (.disabled = S_MEM); test_jdisk.c has the memory disk's own.
    Every test works in a fresh directory under /tmp, removed afterwards. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal/journal.h"
#include "journal/store_mem.h"
#include "testutil.h"
#include "weft.h"

#ifdef JOURNAL_TEST_MEMORY
#define S_MEM 1 //  the journal is on a memory disk
#else
#define S_MEM 0 //  the journal is a LevelDB in s_dir
#endif

static char s_dir[64];           //  this test's directory
static char s_err[512];          //  the last open error
static jdisk_t *s_disk;          //  the memory disk (S_MEM), else NULL
static journal_options_t s_opts; //  open options: the disk

//  Removes one file or directory, for nftw.
static int s_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove (path);
}

//  Creates the test directory.
static void s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/weft-journal-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir), "mkdtemp: %s", strerror (errno));
    if (S_MEM) {
        s_disk = jdisk_new ();
        cr_assert_not_null (s_disk);
    }
    s_opts = (journal_options_t){.disk = s_disk};
}

//  Removes the test directory and everything in it.
static void s_teardown (void)
{
    nftw (s_dir, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    jdisk_destroy (&s_disk);
}

TestSuite (journal, .init = s_setup, .fini = s_teardown);

//  Returns the path of SUB inside the test directory (static buffer).
static const char *s_path (const char *sub)
{
    static char path[128];
    snprintf (path, sizeof path, "%s/%s", s_dir, sub);
    return path;
}

//  Opens the journal in the test directory's "db"; fails the test on error.
static journal_t *s_open (void)
{
    journal_t *j = NULL;
    int rc = journal_open (s_path ("db"), &s_opts, &j, s_err, sizeof s_err);
    cr_assert_eq (rc, 0, "journal_open: %d %s", rc, s_err);
    return j;
}

//  Fills BUF (LEN bytes) with a pattern that depends on STREAM and SEQ.
static void s_fill (uint8_t *buf, size_t len, int stream, uint64_t seq)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 31 + (uint64_t)stream * 7 + i);
}

//  Appends entry SEQ of STREAM with a LEN-byte pattern and time SEQ * 1000.
static void s_append (journal_t *j, const char *stream, int id, uint64_t seq, size_t len)
{
    uint8_t buf[2048];
    cr_assert_leq (len, sizeof buf);
    s_fill (buf, len, id, seq);
    int rc = journal_append (j, stream, seq, (int64_t)seq * 1000, buf, len);
    cr_assert_eq (rc, 0, "append %s/%llu: %d %s", stream, (unsigned long long)seq, rc,
                  journal_error (j));
}

//  Reads STREAM from FROM and checks it holds exactly the seqs FIRST..LAST
//  step STEP, each with its pattern of LEN bytes; returns the count read.
static size_t s_check_range (journal_t *j, const char *stream, int id, uint64_t from,
                             uint64_t first, uint64_t last, uint64_t step, size_t len)
{
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, stream, from, &it), 0);
    journal_entry_t e;
    uint64_t want = first;
    size_t n = 0;
    uint8_t buf[2048];
    int rc;
    while ((rc = journal_iter_next (it, &e)) == 1) {
        cr_assert_eq (e.seq, want, "%s: got seq %llu, want %llu", stream, (unsigned long long)e.seq,
                      (unsigned long long)want);
        cr_assert_eq (e.len, len, "%s: seq %llu has %zu bytes, want %zu", stream,
                      (unsigned long long)e.seq, e.len, len);
        cr_assert_eq (e.time_us, (int64_t)e.seq * 1000);
        s_fill (buf, len, id, e.seq);
        cr_assert_eq (memcmp (e.data, buf, len), 0, "payload of %llu differs",
                      (unsigned long long)e.seq);
        want += step;
        n++;
    }
    cr_assert_eq (rc, 0, "iter_next: %d", rc);
    cr_assert_eq (want, last + step, "%s: stopped before %llu", stream, (unsigned long long)want);
    journal_iter_destroy (&it);
    cr_assert_null (it);
    return n;
}

//  Returns the stats of STREAM; fails the test if unknown.
static journal_stats_t s_stats (journal_t *j, const char *stream)
{
    journal_stats_t st;
    cr_assert_eq (journal_stats (j, stream, &st), 0, "no stream %s", stream);
    return st;
}

Test (journal, append_commit_iterate, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 100; seq++)
        s_append (j, "t/pub/a", 1, seq, 64);
    cr_assert_eq (journal_pending (j), 100);
    //  Not committed yet: reads see nothing, stats see everything.
    s_check_range (j, "t/pub/a", 1, 1, 1, 0, 1, 64);
    cr_assert_eq (s_stats (j, "t/pub/a").count, 100);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (journal_pending (j), 0);
    cr_assert_eq (s_check_range (j, "t/pub/a", 1, 1, 1, 100, 1, 64), 100);
    cr_assert_eq (s_check_range (j, "t/pub/a", 1, 42, 42, 100, 1, 64), 59);
    cr_assert_eq (s_check_range (j, "t/pub/a", 1, 101, 1, 0, 1, 64), 0);
    journal_stats_t st = s_stats (j, "t/pub/a");
    cr_assert_eq (st.count, 100);
    cr_assert_eq (st.bytes, 6400);
    cr_assert_eq (st.first_seq, 1);
    cr_assert_eq (st.last_seq, 100);
    cr_assert_eq (st.first_time_us, 1000);
    cr_assert_eq (st.last_time_us, 100000);
    cr_assert_eq (journal_next_seq (j, "t/pub/a"), 101);
    cr_assert_eq (journal_next_seq (j, "t/pub/none"), 1);
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, "t/pub/none", 1, &it), WEFT_ENOTFOUND);
    cr_assert_eq (journal_stats (j, "t/pub/none", &st), WEFT_ENOTFOUND);
    journal_close (&j);
    cr_assert_null (j);
    journal_close (&j); //  NULL-safe
}

Test (journal, many_streams_interleaved, .timeout = 30)
{
    journal_t *j = s_open ();
    char names[10][32];
    for (int s = 0; s < 10; s++)
        snprintf (names[s], sizeof names[s], "q/queue-%d", s);
    //  Stream s gets seqs s+1, s+1+10, ...: gaps are allowed, order is not.
    for (uint64_t i = 0; i < 2000; i++) {
        int s = (int)(i % 10);
        s_append (j, names[s], s, i + 1, (size_t)(s * 10));
        if (i % 37 == 0)
            cr_assert_eq (journal_commit (j, false), 0);
    }
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (journal_stream_count (j), 10);
    for (int s = 0; s < 10; s++) {
        cr_assert_str_eq (journal_stream_name (j, (size_t)s), names[s]);
        cr_assert_eq (s_check_range (j, names[s], s, 1, (uint64_t)s + 1, 1991 + (uint64_t)s, 10,
                                     (size_t)(s * 10)),
                      200);
        journal_stats_t st = s_stats (j, names[s]);
        cr_assert_eq (st.count, 200);
        cr_assert_eq (st.bytes, 200u * (unsigned)s * 10);
    }
    cr_assert_null (journal_stream_name (j, 10));
    journal_close (&j);
}

Test (journal, reopen_keeps_everything, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 500; seq++) {
        s_append (j, "t/p/x", 1, seq, 100);
        s_append (j, "t/p/y", 2, seq * 2, 10);
    }
    cr_assert_eq (journal_meta_put (j, "node.uuid", "0123456789abcdef", 16), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (journal_delete (j, "t/p/x", 1), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    journal_stats_t x = s_stats (j, "t/p/x"), y = s_stats (j, "t/p/y");
    journal_close (&j);

    j = s_open ();
    cr_assert_eq (journal_stream_count (j), 2);
    journal_stats_t x2 = s_stats (j, "t/p/x"), y2 = s_stats (j, "t/p/y");
    cr_assert_eq (memcmp (&x, &x2, sizeof x), 0);
    cr_assert_eq (memcmp (&y, &y2, sizeof y), 0);
    cr_assert_eq (x2.count, 499);
    cr_assert_eq (x2.first_seq, 2);
    cr_assert_eq (journal_next_seq (j, "t/p/x"), 501);
    cr_assert_eq (journal_next_seq (j, "t/p/y"), 1001);
    s_check_range (j, "t/p/x", 1, 1, 2, 500, 1, 100);
    s_check_range (j, "t/p/y", 2, 1, 2, 1000, 2, 10);
    char buf[32];
    size_t len = 0;
    cr_assert_eq (journal_meta_get (j, "node.uuid", buf, sizeof buf, &len), 0);
    cr_assert_eq (len, 16);
    cr_assert_eq (memcmp (buf, "0123456789abcdef", 16), 0);
    //  New appends continue after the persisted last_seq; a new stream gets a new id.
    s_append (j, "t/p/x", 1, 501, 100);
    s_append (j, "t/p/z", 3, 1, 5);
    cr_assert_eq (journal_commit (j, true), 0);
    journal_close (&j);
    j = s_open ();
    cr_assert_eq (journal_stream_count (j), 3);
    s_check_range (j, "t/p/x", 1, 1, 2, 501, 1, 100);
    s_check_range (j, "t/p/z", 3, 1, 1, 1, 1, 5);
    s_check_range (j, "t/p/y", 2, 1, 2, 1000, 2, 10);
    journal_close (&j);
}

Test (journal, seq_must_increase, .timeout = 30)
{
    journal_t *j = s_open ();
    cr_assert_eq (journal_append (j, "s", 0, 0, "x", 1), WEFT_EINVAL);
    cr_assert_eq (journal_stream_count (j), 0, "a rejected append creates no stream");
    s_append (j, "s", 0, 5, 8);
    cr_assert_eq (journal_append (j, "s", 5, 0, "x", 1), WEFT_EINVAL);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (journal_append (j, "s", 5, 0, "x", 1), WEFT_EINVAL);
    cr_assert_eq (journal_append (j, "s", 3, 0, "x", 1), WEFT_EINVAL);
    cr_assert (strstr (journal_error (j), "not above"), "%s", journal_error (j));
    s_append (j, "s", 0, 6, 8);
    cr_assert_eq (journal_append (j, "s", 6, 0, "x", 1), WEFT_EINVAL, "staged seqs count too");
    cr_assert_eq (journal_pending (j), 1);
    cr_assert_eq (journal_append (j, "", 1, 0, "x", 1), WEFT_EINVAL);
    cr_assert_eq (journal_append (j, NULL, 1, 0, "x", 1), WEFT_EINVAL);
    cr_assert_eq (journal_append (j, "s", 7, 0, NULL, 1), WEFT_EINVAL);
    cr_assert_eq (journal_append (j, "s", 7, 0, NULL, 0), 0, "an empty payload is fine");
    cr_assert_eq (journal_append (j, "s", 8, 0, "x", (size_t)JOURNAL_ENTRY_MAX + 1), WEFT_EMSGSIZE);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (journal_next_seq (j, "s"), 8);
    journal_close (&j);
}

Test (journal, delete_entries, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 10; seq++)
        s_append (j, "q/a", 1, seq, 50);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (journal_delete (j, "q/a", 5), 0); //  middle
    cr_assert_eq (journal_delete (j, "q/a", 5), WEFT_ENOTFOUND, "already deleted in this batch");
    cr_assert_eq (journal_delete (j, "q/a", 1), 0);  //  first
    cr_assert_eq (journal_delete (j, "q/a", 10), 0); //  last
    cr_assert_eq (journal_delete (j, "q/a", 11), WEFT_ENOTFOUND);
    cr_assert_eq (journal_delete (j, "q/a", 0), WEFT_ENOTFOUND);
    cr_assert_eq (journal_delete (j, "q/none", 1), WEFT_ENOTFOUND);
    journal_stats_t st = s_stats (j, "q/a");
    cr_assert_eq (st.count, 7);
    cr_assert_eq (st.bytes, 350);
    cr_assert_eq (st.first_seq, 2);
    cr_assert_eq (st.first_time_us, 2000);
    cr_assert_eq (st.last_seq, 10, "last_seq never goes back");
    cr_assert_eq (journal_pending (j), 3);
    //  Staged deletions are not seen by readers until committed.
    cr_assert_eq (s_check_range (j, "q/a", 1, 1, 1, 10, 1, 50), 10);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (journal_delete (j, "q/a", 5), WEFT_ENOTFOUND, "deleted and committed");
    cr_assert_eq (s_check_range (j, "q/a", 1, 6, 6, 9, 1, 50), 4);
    //  Delete the first entries in order across the hole at 5.
    for (uint64_t seq = 2; seq <= 6; seq++)
        cr_assert_eq (journal_delete (j, "q/a", seq), seq == 5 ? WEFT_ENOTFOUND : 0);
    st = s_stats (j, "q/a");
    cr_assert_eq (st.first_seq, 7);
    cr_assert_eq (st.count, 3);
    //  An entry appended and deleted in the same batch.
    s_append (j, "q/a", 1, 11, 50);
    s_append (j, "q/a", 1, 12, 50);
    cr_assert_eq (journal_delete (j, "q/a", 11), 0);
    cr_assert_eq (journal_delete (j, "q/a", 11), WEFT_ENOTFOUND);
    for (uint64_t seq = 7; seq <= 9; seq++)
        cr_assert_eq (journal_delete (j, "q/a", seq), 0);
    st = s_stats (j, "q/a");
    cr_assert_eq (st.count, 1);
    cr_assert_eq (st.first_seq, 12, "the next present entry is a staged one");
    cr_assert_eq (st.first_time_us, 12000);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (journal_delete (j, "q/a", 12), 0);
    st = s_stats (j, "q/a");
    cr_assert_eq (st.count, 0);
    cr_assert_eq (st.bytes, 0);
    cr_assert_eq (st.first_seq, 13, "empty: first_seq is next_seq");
    cr_assert_eq (st.first_time_us, 0);
    cr_assert_eq (st.last_seq, 12);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_close (&j);
    j = s_open ();
    st = s_stats (j, "q/a");
    cr_assert_eq (st.count, 0);
    cr_assert_eq (journal_next_seq (j, "q/a"), 13);
    cr_assert_eq (s_check_range (j, "q/a", 1, 1, 1, 0, 1, 50), 0);
    journal_close (&j);
}

Test (journal, meta_put_get_del, .timeout = 30)
{
    journal_t *j = s_open ();
    char buf[64];
    size_t len = 99;
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, sizeof buf, &len), WEFT_ENOTFOUND);
    cr_assert_eq (journal_meta_put (j, "cursor/a", "41", 2), 0);
    cr_assert_eq (journal_pending (j), 1);
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, sizeof buf, &len), 0, "read staged");
    cr_assert_eq (len, 2);
    cr_assert_eq (memcmp (buf, "41", 2), 0);
    cr_assert_eq (journal_meta_put (j, "cursor/a", "42", 2), 0);
    cr_assert_eq (journal_meta_put (j, "cursor/b", "x", 1), 0);
    cr_assert_eq (journal_meta_put (j, "empty", NULL, 0), 0);
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, sizeof buf, &len), 0);
    cr_assert_eq (memcmp (buf, "42", 2), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, sizeof buf, &len), 0, "read committed");
    cr_assert_eq (memcmp (buf, "42", 2), 0);
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, 1, &len), WEFT_EMSGSIZE);
    cr_assert_eq (len, 2, "the size needed");
    cr_assert_eq (journal_meta_get (j, "cursor/a", NULL, 0, &len), WEFT_EMSGSIZE);
    cr_assert_eq (journal_meta_get (j, "empty", NULL, 0, &len), 0);
    cr_assert_eq (len, 0);
    //  A staged delete hides the committed value; a put after it shows again.
    cr_assert_eq (journal_meta_del (j, "cursor/a"), 0);
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, sizeof buf, &len), WEFT_ENOTFOUND);
    cr_assert_eq (journal_meta_del (j, "never/was"), 0);
    cr_assert_eq (journal_meta_put (j, "cursor/b", "yy", 2), 0);
    cr_assert_eq (journal_meta_del (j, "cursor/b"), 0);
    cr_assert_eq (journal_meta_put (j, "cursor/b", "zzz", 3), 0);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_close (&j);
    j = s_open ();
    cr_assert_eq (journal_meta_get (j, "cursor/a", buf, sizeof buf, &len), WEFT_ENOTFOUND);
    cr_assert_eq (journal_meta_get (j, "cursor/b", buf, sizeof buf, &len), 0);
    cr_assert_eq (len, 3);
    cr_assert_eq (memcmp (buf, "zzz", 3), 0);
    cr_assert_eq (journal_meta_put (j, "", "x", 1), WEFT_EINVAL);
    cr_assert_eq (journal_meta_get (j, NULL, buf, sizeof buf, &len), WEFT_EINVAL);
    journal_close (&j);
}

//  Collects what journal_meta_scan () reports: "key=value;" in a buffer.
static void s_collect (const char *key, const void *value, size_t len, void *arg)
{
    char *out = arg;
    size_t used = strlen (out);
    snprintf (out + used, 256 - used, "%s=%.*s;", key, (int)len, (const char *)value);
}

Test (journal, meta_scan_by_prefix, .timeout = 30)
{
    journal_t *j = s_open ();
    cr_assert_eq (journal_meta_put (j, "c/b", "2", 1), 0);
    cr_assert_eq (journal_meta_put (j, "c/a", "1", 1), 0);
    cr_assert_eq (journal_meta_put (j, "c/c", "3", 1), 0);
    cr_assert_eq (journal_meta_put (j, "d/x", "9", 1), 0);
    cr_assert_eq (journal_meta_put (j, "c", "0", 1), 0);
    char out[256] = "";
    cr_assert_eq (journal_meta_scan (j, "c/", s_collect, out), 0);
    cr_assert_eq (strlen (out), strlen ("c/a=1;c/b=2;c/c=3;"), "staged only: %s", out);
    cr_assert_eq (journal_commit (j, true), 0);
    out[0] = 0;
    cr_assert_eq (journal_meta_scan (j, "c/", s_collect, out), 0);
    cr_assert_str_eq (out, "c/a=1;c/b=2;c/c=3;", "committed, in order");
    //  The batch deletes one, rewrites one, adds one.
    cr_assert_eq (journal_meta_del (j, "c/a"), 0);
    cr_assert_eq (journal_meta_put (j, "c/b", "22", 2), 0);
    cr_assert_eq (journal_meta_put (j, "c/d", "4", 1), 0);
    out[0] = 0;
    cr_assert_eq (journal_meta_scan (j, "c/", s_collect, out), 0);
    cr_assert_str_eq (out, "c/b=22;c/c=3;c/d=4;");
    out[0] = 0;
    cr_assert_eq (journal_meta_scan (j, "", s_collect, out), 0);
    cr_assert_str_eq (out, "c=0;c/b=22;c/c=3;d/x=9;c/d=4;");
    cr_assert_eq (journal_commit (j, true), 0);
    journal_close (&j);
    j = s_open ();
    out[0] = 0;
    cr_assert_eq (journal_meta_scan (j, "c/", s_collect, out), 0);
    cr_assert_str_eq (out, "c/b=22;c/c=3;c/d=4;");
    cr_assert_eq (journal_meta_scan (j, NULL, s_collect, out), WEFT_EINVAL);
    journal_close (&j);
}

Test (journal, commit_sync_and_async, .timeout = 30)
{
    journal_t *j = s_open ();
    cr_assert_eq (journal_commit (j, true), 0, "nothing pending");
    cr_assert_eq (journal_commit (j, false), 0, "nothing pending");
    uint64_t seq = 1;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 50; i++, seq++)
            s_append (j, "t/s", 1, seq, 200);
        cr_assert_eq (journal_commit (j, round % 2 == 0), 0);
    }
    cr_assert_eq (s_check_range (j, "t/s", 1, 1, 1, 1000, 1, 200), 1000);
    journal_close (&j);
    j = s_open ();
    cr_assert_eq (s_check_range (j, "t/s", 1, 1, 1, 1000, 1, 200), 1000);
    journal_close (&j);
}

Test (journal, failed_commit_changes_nothing, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 20; seq++)
        s_append (j, "q/old", 1, seq, 30);
    cr_assert_eq (journal_meta_put (j, "mark", "1", 1), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    journal_stats_t before = s_stats (j, "q/old");

    //  A batch touching an existing stream, a new one, a deletion and meta.
    for (uint64_t seq = 21; seq <= 30; seq++)
        s_append (j, "q/old", 1, seq, 30);
    s_append (j, "q/new", 2, 1, 30);
    cr_assert_eq (journal_delete (j, "q/old", 1), 0);
    cr_assert_eq (journal_meta_put (j, "mark", "2", 1), 0);
    size_t retained = 0;
    journal_limits_t lim = {.max_count = 5};
    cr_assert_eq (journal_retention_step (j, "q/old", &lim, 0, 3, &retained), 0);
    cr_assert_eq (retained, 3);
    cr_assert_eq (journal_stream_count (j), 2);
    journal_fail_next_commit (j, WEFT_ENOSPC);
    cr_assert_eq (journal_commit (j, true), WEFT_ENOSPC);
    cr_assert (strstr (journal_error (j), "disk full"), "%s", journal_error (j));

    journal_stats_t after = s_stats (j, "q/old");
    cr_assert_eq (memcmp (&before, &after, sizeof before), 0, "stats are as before the batch");
    cr_assert_eq (journal_next_seq (j, "q/old"), 21);
    cr_assert_eq (journal_stream_count (j), 1, "the batch's new stream is gone");
    cr_assert_eq (journal_next_seq (j, "q/new"), 1);
    cr_assert_eq (journal_pending (j), 0);
    char buf[4];
    size_t len;
    cr_assert_eq (journal_meta_get (j, "mark", buf, sizeof buf, &len), 0);
    cr_assert_eq (buf[0], '1');
    cr_assert_eq (s_check_range (j, "q/old", 1, 1, 1, 20, 1, 30), 20);

    //  The same ops again now succeed; another stream created meanwhile is fine.
    for (uint64_t seq = 21; seq <= 30; seq++)
        s_append (j, "q/old", 1, seq, 30);
    s_append (j, "q/other", 3, 1, 30);
    s_append (j, "q/new", 2, 1, 30);
    cr_assert_eq (journal_delete (j, "q/old", 1), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    journal_close (&j);
    j = s_open ();
    cr_assert_eq (journal_stream_count (j), 3);
    cr_assert_eq (s_check_range (j, "q/old", 1, 1, 2, 30, 1, 30), 29);
    cr_assert_eq (s_check_range (j, "q/new", 2, 1, 1, 1, 1, 30), 1);
    cr_assert_eq (s_check_range (j, "q/other", 3, 1, 1, 1, 1, 30), 1);
    cr_assert_eq (s_stats (j, "q/old").count, 29);
    journal_close (&j);
}

//  A real failed write: RLIMIT_FSIZE makes every write past 1 byte of a file
//  fail (EFBIG, as a full disk would with ENOSPC). LevelDB's log writer is
//  not usable after that, so the journal must reopen before writing again;
//  without that, the entries acknowledged after the failure would be
//  unreadable at the next open.
Test (journal, real_write_failure_reopens, .timeout = 30, .disabled = S_MEM)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 100; seq++)
        s_append (j, "q/f", 1, seq, 100);
    cr_assert_eq (journal_commit (j, true), 0);
    signal (SIGXFSZ, SIG_IGN);
    struct rlimit unlimited, tiny = {.rlim_cur = 1, .rlim_max = RLIM_INFINITY};
    cr_assert_eq (getrlimit (RLIMIT_FSIZE, &unlimited), 0);
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &tiny), 0);
    for (uint64_t seq = 101; seq <= 150; seq++)
        s_append (j, "q/f", 1, seq, 1000);
    cr_assert_eq (journal_commit (j, true), WEFT_EIO);
    cr_assert (strstr (journal_error (j), "commit failed"), "%s", journal_error (j));
    cr_assert_eq (journal_next_seq (j, "q/f"), 101);
    cr_assert_eq (s_stats (j, "q/f").count, 100);
    //  Still no room: it cannot reopen, so it refuses work and says why.
    cr_assert_eq (journal_append (j, "q/f", 101, 0, "x", 1), WEFT_EIO);
    cr_assert_eq (journal_meta_put (j, "k", "x", 1), WEFT_EIO);
    cr_assert_eq (journal_commit (j, true), WEFT_EIO);
    cr_assert_eq (journal_pending (j), 0);
    //  Room again: the next call reopens, and the same seqs go in.
    cr_assert_eq (setrlimit (RLIMIT_FSIZE, &unlimited), 0);
    for (uint64_t seq = 101; seq <= 200; seq++)
        s_append (j, "q/f", 1, seq, 1000);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (s_check_range (j, "q/f", 1, 101, 101, 200, 1, 1000), 100);
    journal_close (&j);
    j = s_open ();
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, "q/f", 1, &it), 0);
    journal_entry_t e;
    uint64_t want = 1;
    while (journal_iter_next (it, &e) == 1) {
        cr_assert_eq (e.seq, want++);
        cr_assert_eq (e.len, e.seq <= 100 ? 100 : 1000);
    }
    journal_iter_destroy (&it);
    cr_assert_eq (want, 201);
    cr_assert_eq (s_check_range (j, "q/f", 1, 101, 101, 200, 1, 1000), 100);
    cr_assert_eq (journal_next_seq (j, "q/f"), 201);
    journal_close (&j);
}

Test (journal, failure_with_an_iterator_open, .timeout = 30)
{
    journal_t *j = s_open ();
    s_append (j, "t/i", 1, 1, 10);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, "t/i", 1, &it), 0);
    s_append (j, "t/i", 1, 2, 10);
    journal_fail_next_commit (j, WEFT_ENOSPC);
    cr_assert_eq (journal_commit (j, false), WEFT_ENOSPC);
    //  The database cannot be reopened under a live iterator: the journal
    //  stays unusable (the iterator still reads) until it is destroyed.
    journal_entry_t e;
    cr_assert_eq (journal_iter_next (it, &e), 1);
    cr_assert_eq (e.seq, 1);
    cr_assert_eq (journal_append (j, "t/i", 2, 2000, "x", 1), WEFT_ENOSPC);
    journal_iter_destroy (&it);
    s_append (j, "t/i", 1, 2, 10);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (s_check_range (j, "t/i", 1, 1, 1, 2, 1, 10), 2);
    journal_close (&j);
}

Test (journal, seek_time, .timeout = 30)
{
    journal_t *j = s_open ();
    uint64_t seq = 0;
    cr_assert_eq (journal_seek_time (j, "t/time", 0, &seq), WEFT_ENOTFOUND);
    //  Entry n has time n * 1000 (1 ms apart); entries 3001..3010 share a time.
    for (uint64_t n = 1; n <= 5000; n++) {
        int64_t t = n > 3000 && n <= 3010 ? 3001000 : (int64_t)n * 1000;
        cr_assert_eq (journal_append (j, "t/time", n, t, "x", 1), 0);
        if (n % 700 == 0)
            cr_assert_eq (journal_commit (j, false), 0);
    }
    cr_assert_eq (journal_seek_time (j, "t/time", 0, &seq), 0);
    cr_assert_eq (seq, 1, "uncommitted entries are not seen");
    cr_assert_eq (journal_commit (j, false), 0);
    struct {
        int64_t time;
        uint64_t seq;
    } cases[] = {{INT64_MIN, 1},  {0, 1},          {1000, 1},        {1001, 2},
                 {999999, 1000},  {1000000, 1000}, {1000001, 1001},  {2500500, 2501},
                 {3001000, 3001}, {3001001, 3011}, {3011000, 3011},  {4999999, 5000},
                 {5000000, 5000}, {5000001, 5001}, {INT64_MAX, 5001}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq (journal_seek_time (j, "t/time", cases[i].time, &seq), 0);
        cr_assert_eq (seq, cases[i].seq, "time %lld: seq %llu, want %llu", (long long)cases[i].time,
                      (unsigned long long)seq, (unsigned long long)cases[i].seq);
    }
    //  After retention removed the head, a seek before it lands on the new head.
    journal_limits_t lim = {.max_count = 2500};
    size_t deleted = 0;
    cr_assert_eq (journal_retention_step (j, "t/time", &lim, 0, 10000, &deleted), 0);
    cr_assert_eq (deleted, 2500);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (journal_seek_time (j, "t/time", 0, &seq), 0);
    cr_assert_eq (seq, 2501);
    cr_assert_eq (journal_seek_time (j, "t/time", 3001000, &seq), 0);
    cr_assert_eq (seq, 3001);
    journal_close (&j);
    j = s_open (); //  the index survives a restart, and new points are added after it
    for (uint64_t n = 5001; n <= 6000; n++)
        cr_assert_eq (journal_append (j, "t/time", n, (int64_t)n * 1000, "x", 1), 0);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (journal_seek_time (j, "t/time", 4200500, &seq), 0);
    cr_assert_eq (seq, 4201);
    cr_assert_eq (journal_seek_time (j, "t/time", 5500500, &seq), 0);
    cr_assert_eq (seq, 5501);
    journal_close (&j);
}

//  Opens the (closed) journal's store directly, as the journal would.
static store_t *s_store_open (const store_ops_t **ops)
{
    *ops = S_MEM ? &store_mem_ops : &store_leveldb_ops;
    store_conf_t conf = {
        .dir = s_path ("db"), .cache_bytes = 1 << 20, .write_buffer = 1 << 20, .disk = s_disk};
    store_t *st = NULL;
    store_err_t err;
    int rc = (*ops)->open (&conf, &st, &err);
    cr_assert_eq (rc, 0, "store open: %d %s", rc, err.msg);
    return st;
}

//  Returns the number of keys of type TYPE in the (closed) journal's
//  store: a white-box check of the key layout of docs/JOURNAL.md.
static int s_count_keys (char type)
{
    const store_ops_t *ops;
    store_t *st = s_store_open (&ops);
    store_iter_t *it = ops->iter_new (st, false);
    int count = 0;
    for (ops->iter_seek (it, &type, 1); ops->iter_valid (it); ops->iter_next (it)) {
        size_t klen;
        if (((const char *)ops->iter_key (it, &klen))[0] != type)
            break;
        count++;
    }
    ops->iter_destroy (&it);
    ops->close (&st);
    return count;
}

Test (journal, time_index_is_sparse_and_trimmed, .timeout = 30)
{
    journal_t *j = s_open ();
    //  1 ms apart: a point every 1000 entries (seqs 1, 1001, ... 4001).
    for (uint64_t n = 1; n <= 5000; n++)
        cr_assert_eq (journal_append (j, "t/fast", n, (int64_t)n * 1000, "x", 1), 0);
    //  2 s apart: a point at every entry.
    for (uint64_t n = 1; n <= 10; n++)
        cr_assert_eq (journal_append (j, "t/slow", n, (int64_t)n * 2000000, "x", 1), 0);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_close (&j);
    cr_assert_eq (s_count_keys ('I'), 15);
    cr_assert_eq (s_count_keys ('E'), 5010);
    cr_assert_eq (s_count_keys ('S'), 2);
    j = s_open ();
    //  Points below the new first seq go with the entries.
    journal_limits_t lim = {.max_count = 2500};
    size_t deleted;
    cr_assert_eq (journal_retention_step (j, "t/fast", &lim, 0, 5000, &deleted), 0);
    cr_assert_eq (deleted, 2500);
    for (uint64_t n = 1; n <= 3; n++)
        cr_assert_eq (journal_delete (j, "t/slow", n), 0);
    cr_assert_eq (journal_commit (j, false), 0);
    uint64_t seq;
    cr_assert_eq (journal_seek_time (j, "t/slow", 5000000, &seq), 0);
    cr_assert_eq (seq, 4);
    cr_assert_eq (journal_seek_time (j, "t/slow", 9000000, &seq), 0);
    cr_assert_eq (seq, 5);
    journal_close (&j);
    cr_assert_eq (s_count_keys ('I'), 2 + 7);
    cr_assert_eq (s_count_keys ('E'), 2500 + 7);
}

//  Runs retention steps on STREAM with LIM and BUDGET, committing after each,
//  until one deletes nothing; returns the number of steps that deleted.
static int s_retain (journal_t *j, const char *stream, const journal_limits_t *lim, int64_t now,
                     size_t budget, size_t *total)
{
    int steps = 0;
    *total = 0;
    for (int guard = 0; guard < 10000; guard++) {
        size_t deleted = 0;
        uint64_t next = journal_next_seq (j, stream);
        cr_assert_eq (journal_retention_step (j, stream, lim, now, budget, &deleted), 0, "%s",
                      journal_error (j));
        cr_assert_leq (deleted, budget);
        cr_assert_eq (journal_next_seq (j, stream), next, "next_seq never goes back");
        cr_assert_eq (journal_commit (j, false), 0);
        if (deleted == 0)
            return steps;
        *total += deleted;
        steps++;
    }
    cr_assert_fail ("retention did not converge");
    return steps;
}

Test (journal, retention_by_count, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 100; seq++)
        s_append (j, "t/r", 1, seq, 10);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_limits_t lim = {.max_count = 10};
    size_t total;
    cr_assert_eq (s_retain (j, "t/r", &lim, 0, 7, &total), 13); //  ceil (90 / 7)
    cr_assert_eq (total, 90);
    journal_stats_t st = s_stats (j, "t/r");
    cr_assert_eq (st.count, 10);
    cr_assert_eq (st.first_seq, 91);
    cr_assert_eq (st.bytes, 100);
    cr_assert_eq (s_check_range (j, "t/r", 1, 1, 91, 100, 1, 10), 10);
    //  Staged appends count too: with a limit of 1 only the newest stays.
    s_append (j, "t/r", 1, 101, 10);
    s_append (j, "t/r", 1, 102, 10);
    lim.max_count = 1;
    size_t deleted;
    cr_assert_eq (journal_retention_step (j, "t/r", &lim, 0, 100, &deleted), 0);
    cr_assert_eq (deleted, 11);
    cr_assert_eq (s_stats (j, "t/r").first_seq, 102);
    cr_assert_eq (journal_commit (j, false), 0);
    cr_assert_eq (s_check_range (j, "t/r", 1, 1, 102, 102, 1, 10), 1);
    cr_assert_eq (journal_retention_step (j, "t/none", &lim, 0, 1, &deleted), WEFT_ENOTFOUND);
    journal_close (&j);
    j = s_open ();
    cr_assert_eq (s_stats (j, "t/r").count, 1);
    cr_assert_eq (journal_next_seq (j, "t/r"), 103);
    journal_close (&j);
}

Test (journal, retention_by_bytes, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 200; seq++)
        s_append (j, "t/b", 1, seq, 100);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_limits_t lim = {.max_bytes = 1050};
    size_t total;
    cr_assert_eq (s_retain (j, "t/b", &lim, 0, 16, &total), 12); //  ceil (190 / 16)
    cr_assert_eq (total, 190);
    journal_stats_t st = s_stats (j, "t/b");
    cr_assert_eq (st.bytes, 1000);
    cr_assert_eq (st.count, 10);
    cr_assert_eq (s_check_range (j, "t/b", 1, 1, 191, 200, 1, 100), 10);
    journal_close (&j);
}

Test (journal, retention_by_age_never_reuses_seqs, .timeout = 30)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 300; seq++) //  times 1 ms .. 300 ms
        s_append (j, "t/age", 1, seq, 20);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_limits_t lim = {.max_age_us = 100000};
    size_t total;
    //  Now 250 ms: keep entries with time >= 150 ms.
    cr_assert_eq (s_retain (j, "t/age", &lim, 250000, 25, &total), 6);
    cr_assert_eq (total, 149);
    journal_stats_t st = s_stats (j, "t/age");
    cr_assert_eq (st.first_seq, 150);
    cr_assert_eq (st.first_time_us, 150000);
    //  Much later: everything goes, but the sequence does not restart.
    s_retain (j, "t/age", &lim, 10000000, 64, &total);
    cr_assert_eq (total, 151);
    st = s_stats (j, "t/age");
    cr_assert_eq (st.count, 0);
    cr_assert_eq (st.last_seq, 300);
    cr_assert_eq (journal_next_seq (j, "t/age"), 301);
    journal_close (&j);
    j = s_open ();
    cr_assert_eq (journal_next_seq (j, "t/age"), 301);
    cr_assert_eq (s_stats (j, "t/age").count, 0);
    cr_assert_eq (journal_append (j, "t/age", 300, 0, "x", 1), WEFT_EINVAL);
    s_append (j, "t/age", 1, 301, 20);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (s_check_range (j, "t/age", 1, 1, 301, 301, 1, 20), 1);
    journal_close (&j);
}

Test (journal, locked_in_same_process, .timeout = 30)
{
    journal_t *j = s_open ();
    journal_t *k = NULL;
    int rc = journal_open (s_path ("db"), &s_opts, &k, s_err, sizeof s_err);
    cr_assert_eq (rc, WEFT_ELOCKED, "rc %d: %s", rc, s_err);
    cr_assert_null (k);
    cr_assert (strstr (s_err, "already open"), "%s", s_err);
    if (!S_MEM) //  repair is LevelDB's
        cr_assert_eq (journal_repair (s_path ("db"), s_err, sizeof s_err), WEFT_ELOCKED, "%s",
                      s_err);
    journal_close (&j);
    j = s_open ();
    journal_close (&j);
}

Test (journal, locked_by_another_process, .timeout = 30, .disabled = S_MEM)
{
    int ready[2], release[2];
    cr_assert_eq (pipe (ready), 0);
    cr_assert_eq (pipe (release), 0);
    //  The child opens the journal before this process touches LevelDB.
    pid_t pid = fork ();
    cr_assert_geq (pid, 0);
    if (pid == 0) {
        close (ready[0]);
        close (release[1]);
        journal_t *j = NULL;
        int rc = journal_open (s_path ("db"), &s_opts, &j, NULL, 0);
        char c = rc == 0 ? 'y' : 'n';
        if (write (ready[1], &c, 1) != 1 || read (release[0], &c, 1) < 0)
            rc = -1;
        journal_close (&j);
        _exit (rc == 0 ? 0 : 1);
    }
    close (ready[1]);
    close (release[0]);
    char c = 0;
    cr_assert_eq (read (ready[0], &c, 1), 1);
    cr_assert_eq (c, 'y', "the child could not open the journal");
    journal_t *j = NULL;
    int rc = journal_open (s_path ("db"), &s_opts, &j, s_err, sizeof s_err);
    cr_assert_eq (rc, WEFT_ELOCKED, "rc %d: %s", rc, s_err);
    cr_assert (strstr (s_err, "is in use by another process"), "%s", s_err);
    close (release[1]); //  the child closes its journal and exits
    int status = tu_stop_child (pid, 0, 10000);
    cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "child status %d", status);
    close (ready[0]);
    j = s_open ();
    journal_close (&j);
}

Test (journal, unwritable_path, .timeout = 30, .disabled = S_MEM)
{
    FILE *f = fopen (s_path ("file"), "w");
    cr_assert_not_null (f);
    fclose (f);
    journal_t *j = NULL;
    char dir[160];
    snprintf (dir, sizeof dir, "%s", s_path ("file"));
    int rc = journal_open (dir, NULL, &j, s_err, sizeof s_err);
    cr_assert_eq (rc, WEFT_EIO, "rc %d: %s", rc, s_err);
    cr_assert_null (j);
    cr_assert (strstr (s_err, "not a directory") && strstr (s_err, dir), "%s", s_err);
    snprintf (dir, sizeof dir, "%s/sub", s_path ("file"));
    rc = journal_open (dir, NULL, &j, s_err, sizeof s_err);
    cr_assert_eq (rc, WEFT_EIO, "rc %d: %s", rc, s_err);
    cr_assert (strstr (s_err, "not a directory"), "%s", s_err);
    cr_assert_eq (journal_open (NULL, NULL, &j, s_err, sizeof s_err), WEFT_EINVAL);
    //  Missing parents are created.
    snprintf (dir, sizeof dir, "%s", s_path ("a/b/c"));
    cr_assert_eq (journal_open (dir, NULL, &j, s_err, sizeof s_err), 0, "%s", s_err);
    journal_close (&j);
}

//  Writes TEXT over the file NAME of the journal directory.
static void s_overwrite (const char *name, const char *text)
{
    char path[160];
    snprintf (path, sizeof path, "%s/%s", s_path ("db"), name);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f, "%s: %s", path, strerror (errno));
    fputs (text, f);
    fclose (f);
}

//  Creates a journal with 100 entries in stream "t/c" and closes it.
static void s_make_journal (void)
{
    journal_t *j = s_open ();
    for (uint64_t seq = 1; seq <= 100; seq++)
        s_append (j, "t/c", 1, seq, 40);
    cr_assert_eq (journal_commit (j, true), 0);
    journal_close (&j);
}

//  Expects open to report corruption, then repair to make the journal
//  openable with its data.
static void s_expect_corrupt_then_repair (void)
{
    journal_t *j = NULL;
    int rc = journal_open (s_path ("db"), &s_opts, &j, s_err, sizeof s_err);
    cr_assert_eq (rc, WEFT_ECORRUPT, "rc %d: %s", rc, s_err);
    cr_assert (strstr (s_err, "weftd --repair"), "%s", s_err);
    cr_assert_eq (journal_repair (s_path ("db"), s_err, sizeof s_err), 0, "%s", s_err);
    j = s_open ();
    cr_assert_eq (s_check_range (j, "t/c", 1, 1, 1, 100, 1, 40), 100);
    cr_assert_eq (journal_next_seq (j, "t/c"), 101);
    journal_close (&j);
}

Test (journal, corrupt_current_then_repair, .timeout = 30, .disabled = S_MEM)
{
    s_make_journal ();
    s_overwrite ("CURRENT", "garbage");
    s_expect_corrupt_then_repair ();
}

Test (journal, corrupt_manifest_then_repair, .timeout = 30, .disabled = S_MEM)
{
    s_make_journal ();
    char current[64] = "", path[160];
    snprintf (path, sizeof path, "%s/CURRENT", s_path ("db"));
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f);
    cr_assert_not_null (fgets (current, sizeof current, f));
    fclose (f);
    current[strcspn (current, "\n")] = 0;
    s_overwrite (current, "this is not a manifest, not at all, not even close to one");
    s_expect_corrupt_then_repair ();
}

Test (journal, repair_errors, .timeout = 30, .disabled = S_MEM)
{
    cr_assert_eq (journal_repair (s_path ("missing"), s_err, sizeof s_err), WEFT_EIO);
    cr_assert (strstr (s_err, "not a directory"), "%s", s_err);
    cr_assert_eq (journal_repair (NULL, s_err, sizeof s_err), WEFT_EINVAL);
}

Test (journal, not_a_journal, .timeout = 30)
{
    //  A store that has keys but no journal format key is refused, not adopted.
    const store_ops_t *ops;
    store_t *st = s_store_open (&ops);
    store_batch_t *b = ops->batch_new ();
    ops->batch_put (b, "a", 1, "b", 1);
    store_err_t err;
    cr_assert_eq (ops->write (st, b, true, &err), 0, "%s", err.msg);
    ops->batch_destroy (&b);
    ops->close (&st);
    journal_t *j = NULL;
    int rc = journal_open (s_path ("db"), &s_opts, &j, s_err, sizeof s_err);
    cr_assert_eq (rc, WEFT_EINVAL, "rc %d: %s", rc, s_err);
    cr_assert (strstr (s_err, "not a journal"), "%s", s_err);
}

/* ---------------------------------------------------------------------------
   Model test: random ops against a trivial model of each stream
*/

#define MODEL_STREAMS 3
#define MODEL_SEQS    4096

//  What one stream should hold: per seq, present or not and its size.
typedef struct {
    bool present[MODEL_SEQS]; //  entry seq is present
    uint16_t len[MODEL_SEQS]; //  its payload size
    uint64_t last_seq;        //  highest seq appended
} model_t;

//  The model of every stream, as committed and as staged.
typedef struct {
    model_t committed[MODEL_STREAMS]; //  as on disk
    model_t staged[MODEL_STREAMS];    //  with the pending batch
    uint64_t rng;                     //  xorshift state
} world_t;

//  Returns a pseudo-random number below N (xorshift64).
static uint64_t s_rand (world_t *w, uint64_t n)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng % n;
}

//  Checks the journal's stats of stream I against the staged model.
static void s_model_check_stats (journal_t *j, const model_t *m, const char *name)
{
    journal_stats_t st;
    if (m->last_seq == 0) {
        cr_assert_eq (journal_stats (j, name, &st), WEFT_ENOTFOUND, "%s exists", name);
        return;
    }
    cr_assert_eq (journal_stats (j, name, &st), 0, "%s missing", name);
    uint64_t count = 0, bytes = 0, first = 0;
    for (uint64_t seq = 1; seq <= m->last_seq; seq++)
        if (m->present[seq]) {
            first = first ? first : seq;
            count++;
            bytes += m->len[seq];
        }
    cr_assert_eq (st.count, count, "%s count %llu, want %llu", name, (unsigned long long)st.count,
                  (unsigned long long)count);
    cr_assert_eq (st.bytes, bytes, "%s bytes", name);
    cr_assert_eq (st.last_seq, m->last_seq, "%s last_seq", name);
    cr_assert_eq (st.first_seq, first ? first : m->last_seq + 1, "%s first_seq %llu, want %llu",
                  name, (unsigned long long)st.first_seq, (unsigned long long)first);
    cr_assert_eq (st.first_time_us, first ? (int64_t)first * 1000 : 0, "%s first_time", name);
}

//  Checks the committed entries of stream NAME against the committed model.
static void s_model_check_entries (journal_t *j, const model_t *m, const char *name)
{
    journal_iter_t *it = NULL;
    if (journal_iter_new (j, name, 1, &it) == WEFT_ENOTFOUND)
        return;
    journal_entry_t e;
    uint64_t seq = 0;
    while (journal_iter_next (it, &e) == 1) {
        while (++seq < e.seq)
            cr_assert (!m->present[seq], "%s: entry %llu missing", name, (unsigned long long)seq);
        cr_assert (m->present[seq], "%s: entry %llu should be gone", name, (unsigned long long)seq);
        cr_assert_eq (e.len, m->len[seq]);
        cr_assert_eq (e.time_us, (int64_t)seq * 1000);
    }
    while (++seq <= m->last_seq)
        cr_assert (!m->present[seq], "%s: entry %llu missing", name, (unsigned long long)seq);
    journal_iter_destroy (&it);
}

//  One random op on stream I of the world.
static void s_model_op (journal_t *j, world_t *w, int i, const char *name)
{
    model_t *m = &w->staged[i];
    uint64_t r = s_rand (w, 100);
    if (r < 55 && m->last_seq + 8 < MODEL_SEQS) { //  append, sometimes with a gap
        uint64_t seq = m->last_seq + 1 + (s_rand (w, 4) == 0 ? s_rand (w, 5) : 0);
        size_t len = (size_t)s_rand (w, 65);
        s_append (j, name, i, seq, len);
        cr_assert_eq (journal_append (j, name, seq, 0, "x", 1), WEFT_EINVAL);
        m->present[seq] = true;
        m->len[seq] = (uint16_t)len;
        m->last_seq = seq;
    } else if (r < 85 && m->last_seq) { //  delete a random seq, present or not
        uint64_t seq = 1 + s_rand (w, m->last_seq + 1);
        int rc = journal_delete (j, name, seq);
        cr_assert_eq (rc, seq <= m->last_seq && m->present[seq] ? 0 : WEFT_ENOTFOUND,
                      "delete %s/%llu: %d", name, (unsigned long long)seq, rc);
        if (rc == 0)
            m->present[seq] = false;
    } else if (m->last_seq) { //  retention by count, small budget
        journal_limits_t lim = {.max_count = 1 + s_rand (w, 40)};
        size_t deleted = 0, budget = (size_t)s_rand (w, 8);
        cr_assert_eq (journal_retention_step (j, name, &lim, 0, budget, &deleted), 0);
        for (uint64_t seq = 1; seq <= m->last_seq && deleted; seq++)
            if (m->present[seq]) {
                m->present[seq] = false;
                deleted--;
            }
    }
}

//  Ends the batch: commits it, fails it (the hook), or commits and reopens.
static void s_model_end_batch (journal_t **j, world_t *w, char names[][16])
{
    uint64_t r = s_rand (w, 10);
    if (r == 0) {
        journal_fail_next_commit (*j, WEFT_ENOSPC);
        cr_assert_eq (journal_commit (*j, false), WEFT_ENOSPC);
        memcpy (w->staged, w->committed, sizeof w->staged);
    } else {
        cr_assert_eq (journal_commit (*j, r == 1), 0, "%s", journal_error (*j));
        memcpy (w->committed, w->staged, sizeof w->staged);
    }
    if (r == 2) {
        journal_close (j);
        *j = s_open ();
    }
    for (int i = 0; i < MODEL_STREAMS; i++) {
        s_model_check_stats (*j, &w->staged[i], names[i]);
        s_model_check_entries (*j, &w->committed[i], names[i]);
    }
}

Test (journal, model_random_ops, .timeout = 60)
{
    static world_t w; //  large: not on the stack
    memset (&w, 0, sizeof w);
    w.rng = 0x9e3779b97f4a7c15ull;
    char names[MODEL_STREAMS][16];
    for (int i = 0; i < MODEL_STREAMS; i++)
        snprintf (names[i], sizeof names[i], "q/model-%d", i);
    journal_t *j = s_open ();
    for (int batch = 0; batch < 400; batch++) {
        int ops = 1 + (int)s_rand (&w, 12);
        for (int k = 0; k < ops; k++) {
            int i = (int)s_rand (&w, MODEL_STREAMS);
            s_model_op (j, &w, i, names[i]);
            s_model_check_stats (j, &w.staged[i], names[i]);
        }
        s_model_end_batch (&j, &w, names);
    }
    journal_close (&j);
}
