/*  tests/unit/test_qfsm_size.c - the replicated queue state machine
    (node/qfsm/qfsm.h) holding 1,000,000 pending messages: the time to apply,
    snapshot, digest and restore them, and the memory they take. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/qfsm/qfsm.h"
#include "qfsm_helpers.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ------------------------------------------------------------------------ */
/*  Size: 1,000,000 pending 64-byte messages                                 */

//  Seconds on the monotonic clock (measuring only).
static double s_seconds (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

//  Bytes malloc holds now (0 under ASan, whose allocator mallinfo2 does not see).
static size_t s_heap_bytes (void)
{
    struct mallinfo2 mi = mallinfo2 ();
    return mi.uordblks + mi.hblkhd;
}

Test (qfsm, a_million_messages, .timeout = 300)
{
    const size_t total = SANITIZED ? 100000 : 1000000, per_entry = 1000;
    qfsm_config_t config = qfh_config ();
    config.max_messages = 0;
    config.max_bytes = 0;
    size_t heap0 = s_heap_bytes ();
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    char body[65], id[32];
    memset (body, 'b', 64);
    body[64] = 0;
    double t0 = s_seconds ();
    for (size_t e = 0; e < total / per_entry; e++) {
        qfsm_batch_t *batch = qfsm_batch_new ((int64_t)e);
        for (size_t i = 0; i < per_entry; i++) {
            snprintf (id, sizeof id, "m%zu", e * per_entry + i);
            qfsm_cmd_t cmd = qfh_enq (id, (uint8_t)(i % 10), body, 0);
            cmd.headers_len = 0;
            cr_assert_eq (qfsm_batch_add (batch, &cmd), 0);
        }
        size_t size;
        const void *data = qfsm_batch_data (batch, &size);
        qfsm_out_reset (out);
        cr_assert_eq (qfsm_apply (fsm, data, size, out), 0);
        qfsm_batch_destroy (&batch);
    }
    double t_apply = s_seconds () - t0;
    size_t heap1 = s_heap_bytes ();
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.pending, total);
    cr_assert_eq (stats.dedup_ids, QFSM_DEFAULT_DEDUP_MAX);
    void *snap;
    size_t size;
    t0 = s_seconds ();
    cr_assert_eq (qfsm_snapshot (fsm, &snap, &size), 0);
    double t_snap = s_seconds () - t0;
    t0 = s_seconds ();
    uint64_t digest = qfsm_digest (fsm);
    double t_digest = s_seconds () - t0;
    size_t heap2 = s_heap_bytes ();
    qfsm_t *copy = NULL;
    t0 = s_seconds ();
    cr_assert_eq (qfsm_restore (snap, size, &copy), 0);
    double t_restore = s_seconds () - t0;
    size_t heap3 = s_heap_bytes ();
    cr_assert_eq (qfsm_digest (copy), digest);
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (copy, total, &info), 0);
    cr_assert_eq (info.body_len, 64);
    fprintf (stderr,
             "qfsm %zu x 64-byte messages (ids m0.., dedup %u ids): apply %.3f s, "
             "snapshot %.3f s (%zu bytes, %.1f per message), digest %.3f s, restore %.3f s; "
             "memory %.1f bytes per message live, %.1f after restore\n",
             total, QFSM_DEFAULT_DEDUP_MAX, t_apply, t_snap, size, (double)size / total, t_digest,
             t_restore, (double)(heap1 - heap0) / total, (double)(heap3 - heap2) / total);
    if (!SANITIZED)
        cr_assert_lt (t_restore, 5.0, "goal < 1 s; 5 s allows for a loaded machine");
    free (snap);
    qfsm_destroy (&copy);
    qfsm_destroy (&fsm);
    qfsm_out_destroy (&out);
}
