/*  tests/unit/test_qfsm_snapshots.c - the replicated queue state machine
    (node/qfsm/qfsm.h): replicas that stay equal, snapshots at any point,
    malformed entries and snapshots (random mutations and crafted bytes). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/qfsm/qfsm.h"
#include "node/qfsm/qfsm_int.h" //  qhash_*, to re-seal mutated snapshots
#include "qfsm_helpers.h"
#include "weft.h"

//  A deterministic generator (splitmix64).
static uint64_t s_rand (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------ */
/*  Replicas and snapshots                                                   */

//  A random workload: SEED decides NENTRIES entries of up to 8 commands on
//  seqs up to the state's next one; ENTRIES[i] and SIZES[i] get their bytes.
static void workload (uint64_t seed, size_t nentries, void **entries, size_t *sizes)
{
    uint64_t rng = seed, next = 1;
    int64_t now = 1000;
    for (size_t e = 0; e < nentries; e++) {
        now += (int64_t)(s_rand (&rng) % 400) - 100; //  leaders' clocks disagree
        qfsm_batch_t *batch = qfsm_batch_new (now);
        int n = 1 + (int)(s_rand (&rng) % 8);
        for (int i = 0; i < n; i++) {
            uint64_t r = s_rand (&rng), seq = 1 + (next ? s_rand (&rng) % next : 0);
            char id[16], body[40];
            snprintf (id, sizeof id, "id%u", (unsigned)(s_rand (&rng) % 60));
            snprintf (body, sizeof body, "body-%llu", (unsigned long long)r);
            qfsm_cmd_t cmd;
            switch (r % 16) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4:
            case 5:
                cmd = qfh_enq (r & 64 ? id : NULL, (uint8_t)(r >> 8) % 10, body,
                               r & 128 ? now + (int64_t)(r >> 20) % 3000 : 0);
                next++;
                break;
            case 6:
            case 7:
            case 8:
                cmd = qfh_on (QFSM_ACK, seq, 0);
                break;
            case 9:
            case 10:
                cmd = qfh_on (QFSM_DELIVERED, seq, 1 + (int64_t)(r >> 8) % 6);
                break;
            case 11:
            case 12:
                cmd = qfh_on (QFSM_NACK, seq, (int64_t)(r >> 8) % 2000);
                break;
            case 13:
                cmd = qfh_on (QFSM_DEAD, seq, 0);
                break;
            case 14:
                cmd = (qfsm_cmd_t){.op = QFSM_CONFIG};
                qfsm_config_init (&cmd.config);
                cmd.config.max_messages = 5 + (r >> 8) % 40;
                cmd.config.dedup_max = 1 + (r >> 16) % 50;
                cmd.config.dedup_window_ms = (int64_t)(r >> 24) % 5000;
                cmd.config.max_deliver = (r >> 32) % 4;
                cmd.config.dlq = (r >> 40) % 3 == 0;
                break;
            default:
                cmd =
                    (r >> 8) % 8 == 0 ? (qfsm_cmd_t){.op = QFSM_PURGE} : qfh_on (QFSM_ACK, seq, 0);
                break;
            }
            cr_assert_eq (qfsm_batch_add (batch, &cmd), 0);
        }
        const void *data = qfsm_batch_data (batch, &sizes[e]);
        entries[e] = malloc (sizes[e]);
        memcpy (entries[e], data, sizes[e]);
        qfsm_batch_destroy (&batch);
    }
}

//  Applies entries [FROM, TO) to FSM, checking it after each.
static void feed (qfsm_t *fsm, void **entries, size_t *sizes, size_t from, size_t to,
                  qfsm_out_t *out)
{
    for (size_t e = from; e < to; e++) {
        qfsm_out_reset (out);
        cr_assert_eq (qfsm_apply (fsm, entries[e], sizes[e], out), 0, "entry %zu", e);
        cr_assert_eq (qfsm_check (fsm), 0, "entry %zu", e);
    }
}

//  A snapshot of FSM restored: checked, and its own snapshot is the same bytes.
static qfsm_t *roundtrip (const qfsm_t *fsm)
{
    void *snap, *again;
    size_t size, size2;
    cr_assert_eq (qfsm_snapshot (fsm, &snap, &size), 0);
    qfsm_t *copy = NULL;
    cr_assert_eq (qfsm_restore (snap, size, &copy), 0);
    cr_assert_eq (qfsm_check (copy), 0);
    cr_assert_eq (qfsm_snapshot (copy, &again, &size2), 0);
    cr_assert_eq (size, size2);
    cr_assert_eq (memcmp (snap, again, size), 0);
    cr_assert_eq (qfsm_digest (fsm), qfsm_digest (copy));
    free (snap);
    free (again);
    return copy;
}

Test (qfsm, replicas_stay_equal_and_snapshots_resume, .timeout = 60)
{
    enum { ENTRIES = 300, SEEDS = 20 };
    void *entries[ENTRIES];
    size_t sizes[ENTRIES];
    qfsm_out_t *out = qfsm_out_new ();
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        workload (seed, ENTRIES, entries, sizes);
        qfsm_t *a = qfsm_new (NULL), *b = qfsm_new (NULL);
        uint64_t digests[ENTRIES + 1];
        digests[0] = qfsm_digest (a);
        for (size_t e = 0; e < ENTRIES; e++) {
            feed (a, entries, sizes, e, e + 1, out);
            feed (b, entries, sizes, e, e + 1, out);
            digests[e + 1] = qfsm_digest (a);
            cr_assert_eq (digests[e + 1], qfsm_digest (b), "seed %llu entry %zu",
                          (unsigned long long)seed, e);
        }
        cr_assert (qfsm_equal (a, b));
        qfsm_stats_t stats;
        qfsm_stats (a, &stats);
        cr_assert (stats.enqueued > 0 && stats.acked > 0 && stats.duplicates > 0,
                   "the workload exercises the state");
        //  Restore from a snapshot taken after entry k, feed the rest: the same state.
        qfsm_t *c = qfsm_new (NULL);
        for (size_t k = 0;;) {
            qfsm_t *d = roundtrip (c);
            cr_assert_eq (qfsm_digest (d), digests[k]);
            feed (d, entries, sizes, k, ENTRIES, out);
            cr_assert (qfsm_equal (a, d), "seed %llu snapshot at %zu", (unsigned long long)seed, k);
            qfsm_destroy (&d);
            if (k == ENTRIES)
                break;
            size_t next = k + 1 + k / 4 < ENTRIES ? k + 1 + k / 4 : ENTRIES;
            feed (c, entries, sizes, k, next, out);
            k = next;
        }
        //  A different history gives a different digest.
        feed (b, entries, sizes, 0, 1, out);
        cr_assert (!qfsm_equal (a, b));
        cr_assert_neq (qfsm_digest (a), qfsm_digest (b));
        qfsm_destroy (&a);
        qfsm_destroy (&b);
        qfsm_destroy (&c);
        for (size_t e = 0; e < ENTRIES; e++)
            free (entries[e]);
    }
    qfsm_out_destroy (&out);
}

/* ------------------------------------------------------------------------ */
/*  Malformed input                                                          */

//  Mutates DATA (SIZE bytes, room for SIZE + 16) with RNG: truncates, flips bytes,
//  writes huge counts, or appends garbage. Returns the new size.
static size_t mutate (uint8_t *data, size_t size, uint64_t *rng)
{
    uint64_t r = s_rand (rng);
    size_t at = size ? s_rand (rng) % size : 0;
    switch (r % 5) {
    case 0:
        return at; //  truncated
    case 1:
        for (int i = 0; i < 1 + (int)(r >> 8) % 4; i++)
            data[s_rand (rng) % size] ^= (uint8_t)(1 + s_rand (rng) % 255);
        return size;
    case 2: //  a huge 32-bit count or length
        if (at + 4 <= size)
            memset (data + at, 0xff, 4);
        return size;
    case 3: //  a huge 64-bit value
        if (at + 8 <= size)
            qput_u64 (data + at, UINT64_MAX - (r >> 60));
        return size;
    default:
        for (int i = 0; i < 1 + (int)(r >> 8) % 16; i++)
            data[size++] = (uint8_t)s_rand (rng);
        return size;
    }
}

Test (qfsm, malformed_entries_change_nothing, .timeout = 60)
{
    enum { ENTRIES = 40 };
    void *entries[ENTRIES];
    size_t sizes[ENTRIES];
    qfsm_out_t *out = qfsm_out_new ();
    size_t refused = 0, tried = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        workload (seed * 7919, ENTRIES, entries, sizes);
        qfsm_t *fsm = qfsm_new (NULL);
        uint64_t rng = seed;
        for (size_t e = 0; e < ENTRIES; e++) {
            for (int m = 0; m < 25; m++) {
                uint8_t *bad = malloc (sizes[e] + 16);
                memcpy (bad, entries[e], sizes[e]);
                size_t size = mutate (bad, sizes[e], &rng);
                uint8_t *exact = malloc (size ? size : 1); //  ASan sees any over-read
                memcpy (exact, bad, size);
                uint64_t before = qfsm_digest (fsm);
                qfsm_out_reset (out);
                qfsm_t *trial = roundtrip (fsm);
                int rc = qfsm_apply (trial, exact, size, out);
                cr_assert (rc == 0 || rc == WEFT_EINVAL, "rc %d", rc);
                cr_assert_eq (qfsm_check (trial), 0);
                if (rc == WEFT_EINVAL) {
                    cr_assert_eq (qfsm_digest (trial), before, "a refused entry changes nothing");
                    cr_assert_eq (qfsm_out_results (out), 0);
                    refused++;
                }
                qfsm_reader_t reader;
                cr_assert_eq (qfsm_reader_init (&reader, exact, size) == 0, rc == 0);
                tried++;
                qfsm_destroy (&trial);
                free (exact);
                free (bad);
            }
            feed (fsm, entries, sizes, e, e + 1, out);
        }
        qfsm_destroy (&fsm);
        for (size_t e = 0; e < ENTRIES; e++)
            free (entries[e]);
    }
    cr_log_info ("malformed entries: %zu of %zu mutations refused", refused, tried);
    cr_assert (refused > tried / 2, "most mutations are caught");
    qfsm_out_destroy (&out);
}

//  Applies the bytes of an entry built by hand; returns qfsm_apply's result.
static int apply_raw (const uint8_t *data, size_t size)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    uint8_t *exact = data ? malloc (size ? size : 1) : NULL;
    if (data)
        memcpy (exact, data, size);
    int rc = qfsm_apply (fsm, exact, size, out);
    free (exact);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
    return rc;
}

Test (qfsm, crafted_entries)
{
    uint8_t e[64] = {0x51, 0x46, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    e[16] = QFSM_PURGE;
    cr_assert_eq (apply_raw (e, 17), 0);
    cr_assert_eq (apply_raw (e, 18), WEFT_EINVAL, "a trailing byte");
    cr_assert_eq (apply_raw (e, 15), WEFT_EINVAL, "a short header");
    e[2] = 2;
    cr_assert_eq (apply_raw (e, 17), WEFT_EINVAL, "version");
    e[2] = 1;
    e[3] = 1;
    cr_assert_eq (apply_raw (e, 17), WEFT_EINVAL, "flags");
    e[3] = 0;
    e[16] = 99;
    cr_assert_eq (apply_raw (e, 17), WEFT_EINVAL, "op");
    qput_u32 (e + 4, UINT32_MAX); //  records
    e[16] = QFSM_PURGE;
    cr_assert_eq (apply_raw (e, 17), WEFT_EINVAL, "a huge record count");
    qput_u32 (e + 4, 1);
    e[16] = QFSM_ACK; //  count 2^32-1 with 8 bytes of seqs
    qput_u32 (e + 17, UINT32_MAX);
    cr_assert_eq (apply_raw (e, 29), WEFT_EINVAL, "a huge ACK count");
    qput_u32 (e + 17, 0);
    cr_assert_eq (apply_raw (e, 29), WEFT_EINVAL, "an empty ACK");
    e[16] = QFSM_ENQUEUE; //  body_len past the end
    memset (e + 17, 0, 26);
    qput_u32 (e + 23, 0x7fffffff);
    cr_assert_eq (apply_raw (e, 43), WEFT_EINVAL, "a huge body");
    qput_u32 (e + 23, 0);
    cr_assert_eq (apply_raw (e, 43), 0, "an empty message is fine");
    e[17] = 10;
    cr_assert_eq (apply_raw (e, 43), WEFT_EINVAL, "priority 10");
    e[17] = 0;
    e[18] = 2; //  id of 2 bytes with a NUL
    e[43] = 'a';
    e[44] = 0;
    cr_assert_eq (apply_raw (e, 45), WEFT_EINVAL, "a NUL in the id");
    e[18] = 129;
    cr_assert_eq (apply_raw (e, 43 + 129 > 64 ? 64 : 43), WEFT_EINVAL, "an id too long");
    cr_assert_eq (apply_raw (NULL, 0), WEFT_EINVAL);
}

//  Recomputes the checksum of snapshot DATA (SIZE bytes).
static void reseal (uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    qhash_t hash;
    qhash_init (&hash);
    qhash_add (&hash, data, size - 8);
    qput_u64 (data + size - 8, qhash_end (&hash));
}

Test (qfsm, malformed_snapshots_are_refused, .timeout = 120)
{
    enum { ENTRIES = 60 };
    void *entries[ENTRIES];
    size_t sizes[ENTRIES];
    qfsm_out_t *out = qfsm_out_new ();
    size_t refused = 0, tried = 0, unsealed = 0, changes = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        workload (seed * 104729, ENTRIES, entries, sizes);
        qfsm_t *fsm = qfsm_new (NULL);
        feed (fsm, entries, sizes, 0, ENTRIES, out);
        void *snap;
        size_t size;
        cr_assert_eq (qfsm_snapshot (fsm, &snap, &size), 0);
        uint64_t rng = seed;
        for (int m = 0; m < 200; m++) {
            uint8_t *bad = malloc (size + 16);
            memcpy (bad, snap, size);
            size_t n = mutate (bad, size, &rng);
            bool sealed = m % 4 != 0; //  most past the checksum, to reach the parser
            bool changed = n != size || memcmp (bad, snap, n) != 0;
            if (sealed)
                reseal (bad, n);
            uint8_t *exact = malloc (n ? n : 1);
            memcpy (exact, bad, n);
            qfsm_t *copy = NULL;
            int rc = qfsm_restore (exact, n, &copy);
            cr_assert (rc == 0 || rc == WEFT_EINVAL, "rc %d", rc);
            if (rc == 0) {
                cr_assert_eq (qfsm_check (copy), 0, "a restored state is sound");
                qfsm_t *again = roundtrip (copy); //  and works
                feed (again, entries, sizes, 0, 5, out);
                qfsm_destroy (&again);
            } else {
                cr_assert_null (copy);
                refused++;
                unsealed += !sealed && changed;
            }
            tried++;
            changes += !sealed && changed;
            qfsm_destroy (&copy);
            free (exact);
            free (bad);
        }
        free (snap);
        qfsm_destroy (&fsm);
        for (size_t e = 0; e < ENTRIES; e++)
            free (entries[e]);
    }
    cr_log_info ("malformed snapshots: %zu of %zu refused", refused, tried);
    cr_assert_eq (unsealed, changes, "the checksum catches every unsealed change");
    cr_assert (changes > tried / 5);
    cr_assert (refused > tried / 2);
    qfsm_out_destroy (&out);
}

Test (qfsm, crafted_snapshots)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    for (int i = 0; i < 3; i++)
        cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq (NULL, 1, "abc", 0), out, NULL), 0);
    uint8_t *snap;
    size_t size;
    cr_assert_eq (qfsm_snapshot (fsm, (void **)&snap, &size), 0);
    const size_t count_at = 8 + 33 + 16 + 11 * 8; //  u64 message count
    cr_assert_eq (qget_u64 (snap + count_at), 3);
    cr_assert_eq (qget_u32 (snap + size - 12), 0, "no dedup ids");
    qfsm_t *copy = NULL;
    uint64_t counts[] = {UINT64_MAX, UINT64_MAX / 39, 4, 2};
    for (int i = 0; i < 4; i++) {
        qput_u64 (snap + count_at, counts[i]);
        reseal (snap, size);
        cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "count %d", i);
        cr_assert_null (copy);
    }
    qput_u64 (snap + count_at, 3);
    qput_u32 (snap + size - 12, UINT32_MAX);
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "a huge dedup count");
    qput_u32 (snap + size - 12, 0);
    uint8_t *first = snap + count_at + 8; //  the first message: seq 1
    qput_u64 (first, 2);
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "seqs out of order");
    qput_u64 (first, 99);
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "a seq past next_seq");
    qput_u64 (first, 1);
    first[36] = 10;
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "priority 10");
    first[36] = 1;
    uint8_t *third = first + 2 * (39 + 1 + 3);
    cr_assert_eq (qget_u64 (third), 3);
    third[36] = 0; //  priority 0 after priority 1: not the canonical order
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "lists out of order");
    third[36] = 1;
    third[38] = 1; //  parked, but a dead-letter queue parks only past every pending seq
    qput_u64 (third, 3);
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), 0, "parked after the pending ones");
    cr_assert_eq (qfsm_check (copy), 0);
    qfsm_destroy (&copy);
    uint8_t *second = first + 39 + 1 + 3;
    third[38] = 0;
    second[38] = 1; //  parked seq 2, then pending seq 3: out of order
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), WEFT_EINVAL, "pending after parked");
    second[38] = 0;
    third[38] = 0;
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), 0, "the original again");
    cr_assert (qfsm_equal (copy, fsm));
    qfsm_destroy (&copy);
    //  A state whose seqs ran out refuses new messages rather than reuse a seq.
    qput_u64 (snap + 8 + 33, UINT64_MAX);
    reseal (snap, size);
    cr_assert_eq (qfsm_restore (snap, size, &copy), 0);
    cr_assert_eq (qfh_apply1 (copy, 0, qfh_enq (NULL, 0, "x", 0), out, NULL), WEFT_EFULL);
    qfsm_destroy (&copy);
    free (snap);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}
