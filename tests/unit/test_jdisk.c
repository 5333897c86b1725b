/*  tests/unit/test_jdisk.c - the in-memory disk (journal/store_mem.h): its
    crash model seen through the journal (what a crash keeps, batch
    atomicity, wipe, the lock, injected write failures), and the memory
    store itself (order, seeks, snapshots, 100k keys). The journal's own
    suite also runs over the memory disk: test_journal_memdisk. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "journal/journal.h"
#include "journal/store_mem.h"
#include "weft.h"

static jdisk_t *s_disk;          //  this test's disk
static journal_options_t s_opts; //  open options: the disk, quiet
static wlog_t s_quiet = {.level = WLOG_NONE};

static void s_setup (void)
{
    s_disk = jdisk_new ();
    cr_assert_not_null (s_disk);
    s_opts = (journal_options_t){.disk = s_disk, .log = &s_quiet};
}

static void s_teardown (void)
{
    jdisk_destroy (&s_disk);
    cr_assert_null (s_disk);
}

TestSuite (jdisk, .init = s_setup, .fini = s_teardown, .timeout = 30);

//  Opens the journal on the disk; fails the test on error.
static journal_t *s_open (void)
{
    journal_t *j = NULL;
    char err[256];
    int rc = journal_open ("sim/node-1", &s_opts, &j, err, sizeof err);
    cr_assert_eq (rc, 0, "journal_open: %d %s", rc, err);
    return j;
}

//  Appends seqs FROM..TO to STREAM (payload: the seq as text), one batch,
//  committed with SYNC.
static void s_batch (journal_t *j, const char *stream, uint64_t from, uint64_t to, bool sync)
{
    for (uint64_t seq = from; seq <= to; seq++) {
        char buf[32];
        int len = snprintf (buf, sizeof buf, "%llu", (unsigned long long)seq);
        cr_assert_eq (journal_append (j, stream, seq, (int64_t)seq, buf, (size_t)len), 0);
    }
    cr_assert_eq (journal_commit (j, sync), 0, "%s", journal_error (j));
}

//  Checks STREAM holds exactly seqs FIRST..LAST (none when LAST < FIRST),
//  with statistics to match and next_seq = LAST + 1.
static void s_expect (journal_t *j, const char *stream, uint64_t first, uint64_t last)
{
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, stream, 1, &it), 0, "no stream %s", stream);
    journal_entry_t e;
    uint64_t want = first;
    while (journal_iter_next (it, &e) == 1) {
        char buf[32];
        int len = snprintf (buf, sizeof buf, "%llu", (unsigned long long)want);
        cr_assert_eq (e.seq, want, "%s: seq %llu, want %llu", stream, (unsigned long long)e.seq,
                      (unsigned long long)want);
        cr_assert_eq (e.len, (size_t)len);
        cr_assert_eq (memcmp (e.data, buf, e.len), 0);
        want++;
    }
    journal_iter_destroy (&it);
    cr_assert_eq (want, last + 1, "%s: entries end at %llu, want %llu", stream,
                  (unsigned long long)want - 1, (unsigned long long)last);
    journal_stats_t st;
    cr_assert_eq (journal_stats (j, stream, &st), 0);
    cr_assert_eq (st.count, last + 1 - first);
    cr_assert_eq (st.last_seq, last);
    cr_assert_eq (st.first_seq, first);
    cr_assert_eq (journal_next_seq (j, stream), last + 1);
}

Test (jdisk, crash_loses_unsynced_keeps_synced)
{
    journal_t *j = s_open ();
    s_batch (j, "q/a", 1, 10, true);
    s_batch (j, "q/a", 11, 15, false);
    s_batch (j, "q/a", 16, 20, false);
    s_batch (j, "t/new", 1, 3, false); //  a stream created by an unsynced batch
    cr_assert_eq (jdisk_unsynced (s_disk), 3);
    s_expect (j, "q/a", 1, 20); //  before the crash everything reads back
    journal_close (&j);
    cr_assert_eq (jdisk_crash (s_disk, 0), 0);
    cr_assert_eq (jdisk_unsynced (s_disk), 0);
    j = s_open ();
    s_expect (j, "q/a", 1, 10);
    cr_assert_eq (journal_stream_count (j), 1, "the unsynced stream is gone");
    cr_assert_eq (journal_next_seq (j, "t/new"), 1);
    //  Life goes on after the crash, from the surviving state.
    s_batch (j, "q/a", 11, 12, true);
    s_batch (j, "t/new", 1, 1, true);
    journal_close (&j);
    cr_assert_eq (jdisk_crash (s_disk, 0), 0);
    j = s_open ();
    s_expect (j, "q/a", 1, 12);
    s_expect (j, "t/new", 1, 1);
    journal_close (&j);
}

Test (jdisk, crash_keeps_exactly_the_first_k_unsynced)
{
    for (uint64_t keep = 0; keep <= 6; keep++) {
        jdisk_destroy (&s_disk);
        s_opts.disk = s_disk = jdisk_new ();
        journal_t *j = s_open ();
        s_batch (j, "q/k", 1, 10, true);
        for (uint64_t b = 0; b < 5; b++) //  batches of 10: 11..20, ..., 51..60
            s_batch (j, "q/k", 11 + b * 10, 20 + b * 10, false);
        journal_close (&j);
        cr_assert_eq (jdisk_crash (s_disk, keep), 0);
        j = s_open ();
        uint64_t kept = keep < 5 ? keep : 5;
        s_expect (j, "q/k", 1, 10 + kept * 10);
        journal_close (&j);
        //  The kept batches are durable now: a second crash keeps them.
        cr_assert_eq (jdisk_crash (s_disk, 0), 0);
        j = s_open ();
        s_expect (j, "q/k", 1, 10 + kept * 10);
        journal_close (&j);
    }
}

Test (jdisk, sync_covers_earlier_writes_and_sync_all)
{
    journal_t *j = s_open ();
    s_batch (j, "q/s", 1, 5, false);
    s_batch (j, "q/s", 6, 10, false);
    s_batch (j, "q/s", 11, 15, true); //  fsync of the log: the two before too
    cr_assert_eq (jdisk_unsynced (s_disk), 0);
    s_batch (j, "q/s", 16, 20, false);
    s_batch (j, "q/s", 21, 25, false);
    cr_assert_eq (jdisk_unsynced (s_disk), 2);
    jdisk_sync_all (s_disk); //  the OS flushed its cache
    cr_assert_eq (jdisk_unsynced (s_disk), 0);
    s_batch (j, "q/s", 26, 30, false);
    journal_close (&j);
    cr_assert_eq (jdisk_crash (s_disk, 0), 0);
    j = s_open ();
    s_expect (j, "q/s", 1, 25);
    journal_close (&j);
}

Test (jdisk, a_batch_is_never_split)
{
    journal_t *j = s_open ();
    s_batch (j, "q/x", 1, 10, true);
    cr_assert_eq (journal_meta_put (j, "cursor", "1", 1), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    //  One batch: appends to two streams, deletes, retention, meta.
    for (uint64_t seq = 11; seq <= 20; seq++)
        cr_assert_eq (journal_append (j, "q/x", seq, (int64_t)seq, "x", 1), 0);
    cr_assert_eq (journal_append (j, "q/y", 1, 1, "y", 1), 0);
    cr_assert_eq (journal_delete (j, "q/x", 1), 0);
    journal_limits_t lim = {.max_count = 15};
    cr_assert_eq (journal_retention_step (j, "q/x", &lim, 0, 100, NULL), 0);
    cr_assert_eq (journal_meta_put (j, "cursor", "2", 1), 0);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_close (&j);
    cr_assert_eq (jdisk_crash (s_disk, 0), 0);
    j = s_open ();
    s_expect (j, "q/x", 1, 10); //  not one append, delete or retention of the batch
    cr_assert_eq (journal_stream_count (j), 1);
    char buf[4];
    size_t len = 0;
    cr_assert_eq (journal_meta_get (j, "cursor", buf, sizeof buf, &len), 0);
    cr_assert_eq (buf[0], '1');
    //  The same batch again, kept this time: all of it is there.
    for (uint64_t seq = 11; seq <= 20; seq++)
        cr_assert_eq (journal_append (j, "q/x", seq, (int64_t)seq, "x", 1), 0);
    cr_assert_eq (journal_append (j, "q/y", 1, 1, "y", 1), 0);
    cr_assert_eq (journal_delete (j, "q/x", 1), 0);
    cr_assert_eq (journal_retention_step (j, "q/x", &lim, 0, 100, NULL), 0);
    cr_assert_eq (journal_meta_put (j, "cursor", "2", 1), 0);
    cr_assert_eq (journal_commit (j, false), 0);
    journal_close (&j);
    cr_assert_eq (jdisk_crash (s_disk, 1), 0);
    j = s_open ();
    journal_stats_t st;
    cr_assert_eq (journal_stats (j, "q/x", &st), 0);
    cr_assert_eq (st.count, 15);
    cr_assert_eq (st.first_seq, 6);
    cr_assert_eq (st.last_seq, 20);
    cr_assert_eq (journal_next_seq (j, "q/y"), 2);
    cr_assert_eq (journal_meta_get (j, "cursor", buf, sizeof buf, &len), 0);
    cr_assert_eq (buf[0], '2');
    journal_close (&j);
}

Test (jdisk, wipe_loses_everything)
{
    journal_t *j = s_open ();
    s_batch (j, "q/w", 1, 100, true);
    cr_assert_eq (journal_meta_put (j, "node/uuid", "u", 1), 0);
    cr_assert_eq (journal_commit (j, true), 0);
    cr_assert_eq (jdisk_wipe (s_disk), WEFT_ESTATE, "the disk is open");
    cr_assert_eq (jdisk_crash (s_disk, 0), WEFT_ESTATE, "the disk is open");
    s_expect (j, "q/w", 1, 100); //  refused: nothing changed under the journal
    journal_close (&j);
    cr_assert_gt (jdisk_keys (s_disk), 100);
    cr_assert_eq (jdisk_wipe (s_disk), 0);
    cr_assert_eq (jdisk_keys (s_disk), 0);
    j = s_open ();
    cr_assert_eq (journal_stream_count (j), 0);
    cr_assert_eq (journal_next_seq (j, "q/w"), 1);
    size_t len;
    cr_assert_eq (journal_meta_get (j, "node/uuid", NULL, 0, &len), WEFT_ENOTFOUND);
    journal_close (&j);
}

Test (jdisk, second_open_is_locked)
{
    journal_t *j = s_open (), *k = NULL;
    char err[256];
    int rc = journal_open ("sim/node-1", &s_opts, &k, err, sizeof err);
    cr_assert_eq (rc, WEFT_ELOCKED, "rc %d: %s", rc, err);
    cr_assert_null (k);
    cr_assert (strstr (err, "already open in this process"), "%s", err);
    //  Another disk is another journal, whatever the label.
    jdisk_t *other = jdisk_new ();
    journal_options_t opts = {.disk = other, .log = &s_quiet};
    cr_assert_eq (journal_open ("sim/node-1", &opts, &k, err, sizeof err), 0, "%s", err);
    journal_close (&k);
    jdisk_destroy (&other);
    journal_close (&j);
    j = s_open (); //  the close released the lock
    journal_close (&j);
}

//  Expects a commit of one append to STREAM at SEQ to fail with CODE and
//  to leave the journal as it was.
static void s_expect_failed_commit (journal_t *j, const char *stream, uint64_t seq, int code)
{
    uint64_t keys = jdisk_keys (s_disk);
    journal_stats_t before, after;
    cr_assert_eq (journal_stats (j, stream, &before), 0);
    cr_assert_eq (journal_append (j, stream, seq, (int64_t)seq, "z", 1), 0);
    cr_assert_eq (journal_meta_put (j, "m", "z", 1), 0);
    cr_assert_eq (journal_commit (j, true), code);
    cr_assert_eq (jdisk_keys (s_disk), keys, "nothing of the batch is on the disk");
    cr_assert_eq (journal_stats (j, stream, &after), 0);
    cr_assert_eq (memcmp (&before, &after, sizeof before), 0);
    cr_assert_eq (journal_pending (j), 0);
}

Test (jdisk, failed_writes_change_nothing_then_recover)
{
    journal_t *j = s_open ();
    s_batch (j, "q/f", 1, 10, true);
    jdisk_fail_writes (s_disk, WEFT_ENOSPC);
    s_expect_failed_commit (j, "q/f", 11, WEFT_ENOSPC);
    cr_assert (strstr (journal_error (j), "disk full"), "%s", journal_error (j));
    //  Still full: the journal cannot reopen, so it refuses work and says why.
    cr_assert_eq (journal_append (j, "q/f", 11, 11, "x", 1), WEFT_ENOSPC);
    cr_assert_eq (journal_commit (j, true), WEFT_ENOSPC);
    journal_stats_t st; //  stats stay readable; reads need the store, which is closed
    cr_assert_eq (journal_stats (j, "q/f", &st), 0);
    cr_assert_eq (st.last_seq, 10);
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, "q/f", 1, &it), WEFT_ENOSPC);
    jdisk_fail_writes (s_disk, WEFT_EIO); //  it says what the write failed with
    cr_assert_eq (journal_append (j, "q/f", 11, 11, "x", 1), WEFT_ENOSPC);
    jdisk_fail_writes (s_disk, 0);
    s_batch (j, "q/f", 11, 20, true); //  room again: it reopens and goes on
    s_expect (j, "q/f", 1, 20);
    jdisk_fail_writes (s_disk, WEFT_EIO);
    s_expect_failed_commit (j, "q/f", 21, WEFT_EIO);
    jdisk_fail_writes (s_disk, 0);
    s_batch (j, "q/f", 21, 21, false);
    journal_close (&j);
    cr_assert_eq (jdisk_crash (s_disk, 1), 0);
    j = s_open ();
    s_expect (j, "q/f", 1, 21);
    size_t len;
    cr_assert_eq (journal_meta_get (j, "m", NULL, 0, &len), WEFT_ENOTFOUND);
    journal_close (&j);
    jdisk_fail_writes (s_disk, WEFT_ENOSPC);
    char err[256];
    cr_assert_eq (journal_open ("sim/node-1", &s_opts, &j, err, sizeof err), WEFT_ENOSPC);
    cr_assert_null (j);
    jdisk_fail_writes (s_disk, 0);
}

//  xorshift64: the tests' only randomness, seeded.
static uint64_t s_rand (uint64_t *state, uint64_t n)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state % n;
}

//  Checks the invariants of STREAM after a crash: its stats match what an
//  iterator reads, and next_seq is above everything read.
static void s_check_consistent (journal_t *j, const char *stream, uint64_t synced_last)
{
    journal_stats_t st;
    if (journal_stats (j, stream, &st) == WEFT_ENOTFOUND) { //  created by a lost batch
        cr_assert_eq (synced_last, 0, "a synced stream was lost");
        cr_assert_eq (journal_next_seq (j, stream), 1);
        return;
    }
    journal_iter_t *it = NULL;
    cr_assert_eq (journal_iter_new (j, stream, 1, &it), 0);
    journal_entry_t e;
    uint64_t count = 0, bytes = 0, first = 0, last = 0;
    while (journal_iter_next (it, &e) == 1) {
        first = first ? first : e.seq;
        last = e.seq;
        count++;
        bytes += e.len;
    }
    journal_iter_destroy (&it);
    cr_assert_eq (st.count, count);
    cr_assert_eq (st.bytes, bytes);
    cr_assert_eq (st.first_seq, count ? first : st.last_seq + 1);
    cr_assert_geq (st.last_seq, last);
    cr_assert_geq (st.last_seq, synced_last, "a synced append was lost");
    cr_assert_eq (journal_next_seq (j, stream), st.last_seq + 1);
}

Test (jdisk, stats_and_next_seq_consistent_after_random_crashes)
{
    uint64_t rng = 0x243f6a8885a308d3ull, next = 1, synced = 0;
    journal_t *j = s_open ();
    for (int round = 0; round < 200; round++) {
        uint64_t n = 1 + s_rand (&rng, 20);
        for (uint64_t i = 0; i < n; i++, next++)
            cr_assert_eq (journal_append (j, "q/r", next, (int64_t)next, "abc", 1 + (next % 3)), 0);
        journal_limits_t lim = {.max_count = 1 + s_rand (&rng, 50)};
        cr_assert_eq (journal_retention_step (j, "q/r", &lim, 0, s_rand (&rng, 10), NULL), 0);
        bool sync = s_rand (&rng, 4) == 0;
        cr_assert_eq (journal_commit (j, sync), 0);
        if (sync)
            synced = next - 1;
        if (s_rand (&rng, 8) == 0) {
            uint64_t unsynced = jdisk_unsynced (s_disk);
            journal_close (&j);
            cr_assert_eq (jdisk_crash (s_disk, s_rand (&rng, unsynced + 2)), 0);
            j = s_open ();
            s_check_consistent (j, "q/r", synced);
            next = journal_next_seq (j, "q/r");
            synced = next - 1;
        }
    }
    journal_close (&j);
}
