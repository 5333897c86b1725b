/*  tests/unit/test_qfsm.c - the replicated queue state machine (node/qfsm/qfsm.h):
    command semantics, dedup, limits, dead letters, dispatch order, replicas that
    stay equal, snapshots at any point, malformed entries and snapshots, and the
    figures for 1,000,000 pending messages. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/qfsm/qfsm.h"
#include "node/qfsm/qfsm_int.h" //  qhash_*, to re-seal mutated snapshots
#include "weft.h"

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
/*  Helpers                                                                  */

//  A deterministic generator (splitmix64).
static uint64_t s_rand (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

//  An ENQUEUE of ID (may be NULL), PRIORITY, BODY (a string), NOT_BEFORE.
static qfsm_cmd_t enq (const char *id, uint8_t priority, const char *body, int64_t not_before)
{
    qfsm_cmd_t cmd = {.op = QFSM_ENQUEUE, .priority = priority, .not_before_ms = not_before};
    cmd.id = id;
    cmd.id_len = id ? (uint8_t)strlen (id) : 0;
    cmd.body = body;
    cmd.body_len = body ? (uint32_t)strlen (body) : 0;
    cmd.headers = "h";
    cmd.headers_len = 1;
    cmd.token = 1000 + priority;
    return cmd;
}

//  A command on SEQ: ACK, DELIVERED (ARG = count), NACK (ARG = delay) or DEAD.
static qfsm_cmd_t on (qfsm_op_t op, uint64_t seq, int64_t arg)
{
    qfsm_cmd_t cmd = {.op = op, .seq = seq};
    if (op == QFSM_DELIVERED)
        cmd.count = (uint32_t)arg;
    if (op == QFSM_NACK)
        cmd.delay_ms = arg;
    if (op == QFSM_DEAD) {
        cmd.reason = "rejected";
        cmd.reason_len = 8;
    }
    return cmd;
}

//  Encodes CMDS[0 .. N) stamped NOW into a new batch.
static qfsm_batch_t *encode (int64_t now, const qfsm_cmd_t *cmds, size_t n)
{
    qfsm_batch_t *batch = qfsm_batch_new (now);
    cr_assert_not_null (batch);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (qfsm_batch_add (batch, &cmds[i]), 0, "command %zu", i);
    return batch;
}

//  Applies CMDS[0 .. N) as one entry stamped NOW; OUT is reset first.
static void apply_n (qfsm_t *fsm, int64_t now, const qfsm_cmd_t *cmds, size_t n, qfsm_out_t *out)
{
    qfsm_batch_t *batch = encode (now, cmds, n);
    size_t size;
    const void *data = qfsm_batch_data (batch, &size);
    qfsm_out_reset (out);
    cr_assert_eq (qfsm_apply (fsm, data, size, out), 0);
    cr_assert_eq (qfsm_out_results (out), n);
    qfsm_batch_destroy (&batch);
    cr_assert_eq (qfsm_check (fsm), 0);
}

//  Applies CMD alone at NOW; returns its status, its seq in *SEQ (if not NULL).
static int apply1 (qfsm_t *fsm, int64_t now, qfsm_cmd_t cmd, qfsm_out_t *out, uint64_t *seq)
{
    apply_n (fsm, now, &cmd, 1, out);
    const qfsm_result_t *res = qfsm_out_result (out, 0);
    cr_assert_eq (res->op, cmd.op);
    if (seq)
        *seq = res->seq;
    return res->status;
}

//  The seqs of the walk in dispatch order at NOW, into SEQS (room N); returns how many.
static size_t walk (qfsm_t *fsm, int64_t now, uint64_t *seqs, size_t n)
{
    qfsm_iter_t iter;
    qfsm_info_t info;
    size_t i = 0;
    for (int more = qfsm_iter_first (fsm, now, &iter, &info); more && i < n;
         more = qfsm_iter_next (fsm, &iter, &info))
        seqs[i++] = info.seq;
    return i;
}

//  A state with CONFIG tweaked by the caller.
static qfsm_config_t config_default (void)
{
    qfsm_config_t config;
    qfsm_config_init (&config);
    return config;
}

/* ------------------------------------------------------------------------ */
/*  Semantics                                                                */

Test (qfsm, enqueue_find_ack)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    uint64_t seq;
    for (int i = 1; i <= 3; i++) {
        char id[8];
        snprintf (id, sizeof id, "m%d", i);
        cr_assert_eq (apply1 (fsm, 10, enq (id, 4, "body", 0), out, &seq), 0);
        cr_assert_eq (seq, (uint64_t)i, "seqs are assigned at apply, from 1");
        cr_assert_eq (qfsm_out_result (out, 0)->token, 1004);
    }
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (fsm, 2, &info), 0);
    cr_assert_str_eq (info.id, "m2");
    cr_assert_eq (info.body_len, 4);
    cr_assert_eq (memcmp (info.body, "body", 4), 0);
    cr_assert_eq (info.headers_len, 1);
    cr_assert_eq (*(const char *)info.headers, 'h');
    cr_assert_eq (apply1 (fsm, 11, on (QFSM_ACK, 2, 0), out, &seq), 0);
    cr_assert_eq (seq, 2);
    cr_assert_eq (qfsm_find (fsm, 2, &info), WEFT_ENOTFOUND);
    cr_assert_eq (apply1 (fsm, 12, on (QFSM_ACK, 2, 0), out, NULL), WEFT_EINVAL, "acked twice");
    cr_assert_eq (apply1 (fsm, 12, on (QFSM_ACK, 99, 0), out, NULL), WEFT_EINVAL, "unknown");
    cr_assert_eq (apply1 (fsm, 12, on (QFSM_NACK, 99, 0), out, NULL), WEFT_EINVAL);
    cr_assert_eq (apply1 (fsm, 12, on (QFSM_DELIVERED, 99, 1), out, NULL), WEFT_EINVAL);
    cr_assert_eq (apply1 (fsm, 12, on (QFSM_DEAD, 99, 0), out, NULL), WEFT_EINVAL);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.pending, 2);
    cr_assert_eq (stats.ready, 2);
    cr_assert_eq (stats.enqueued, 3);
    cr_assert_eq (stats.acked, 1);
    cr_assert_eq (stats.invalid, 5);
    cr_assert_eq (stats.bytes, 2 * 5);
    cr_assert_eq (stats.next_seq, 4);
    cr_assert_eq (stats.entries, 9);
    cr_assert_eq (stats.clock, 12);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
    qfsm_destroy (&fsm); //  idempotent
}

Test (qfsm, priority_then_fifo)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    uint8_t prios[] = {1, 9, 1, 0, 9, 5, 1};
    for (size_t i = 0; i < sizeof prios; i++)
        cr_assert_eq (apply1 (fsm, 0, enq (NULL, prios[i], "x", 0), out, NULL), 0);
    uint64_t seqs[16];
    uint64_t want[] = {2, 5, 6, 1, 3, 7, 4};
    cr_assert_eq (walk (fsm, 0, seqs, 16), 7);
    for (int i = 0; i < 7; i++)
        cr_assert_eq (seqs[i], want[i], "position %d", i);
    //  A nack keeps the seq position: FIFO survives redelivery and leader changes.
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_DELIVERED, 1, 1), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_NACK, 1, 0), out, NULL), 0);
    cr_assert_eq (walk (fsm, 0, seqs, 16), 7);
    for (int i = 0; i < 7; i++)
        cr_assert_eq (seqs[i], want[i], "after nack, position %d", i);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, delays_use_the_log_clock)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (apply1 (fsm, 1000, enq (NULL, 0, "later", 5000), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 1000, enq (NULL, 0, "now", 0), out, NULL), 0);
    uint64_t seqs[4];
    cr_assert_eq (walk (fsm, 1000, seqs, 4), 1);
    cr_assert_eq (seqs[0], 2);
    cr_assert_eq (walk (fsm, 5000, seqs, 4), 2, "due by the leader's now");
    cr_assert_eq (qfsm_next_due (fsm), 5000);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.delayed, 1);
    cr_assert_eq (stats.ready, 1);
    //  A leader with a clock behind does not move the state clock back.
    cr_assert_eq (apply1 (fsm, 10, on (QFSM_NACK, 2, 300), out, NULL), 0);
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (fsm, 2, &info), 0);
    cr_assert_eq (info.not_before_ms, 1300, "clock 1000 + delay 300");
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.clock, 1000);
    cr_assert_eq (stats.delayed, 2);
    cr_assert_eq (qfsm_next_due (fsm), 1300);
    //  An entry at 5000 makes both due.
    apply_n (fsm, 5000, NULL, 0, out);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.delayed, 0);
    cr_assert_eq (stats.ready, 2);
    cr_assert_eq (qfsm_next_due (fsm), INT64_MAX);
    cr_assert_eq (walk (fsm, 5000, seqs, 4), 2);
    cr_assert_eq (seqs[0], 1, "back in seq order");
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, delivery_counts_and_max_deliver)
{
    qfsm_config_t config = config_default ();
    config.max_deliver = 2;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (apply1 (fsm, 0, enq ("a", 3, "payload", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 1, on (QFSM_DELIVERED, 1, 1), out, NULL), 0);
    cr_assert_eq (qfsm_out_result (out, 0)->count, 1);
    cr_assert_eq (apply1 (fsm, 2, on (QFSM_NACK, 1, 0), out, NULL), 0);
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (fsm, 1, &info), 0);
    cr_assert_eq (info.deliveries, 1);
    cr_assert (!info.exhausted);
    cr_assert_eq (apply1 (fsm, 3, on (QFSM_DELIVERED, 1, 2), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 3, on (QFSM_DELIVERED, 1, 1), out, NULL), 0, "a stale count");
    cr_assert_eq (qfsm_out_result (out, 0)->count, 2, "counts never go down");
    cr_assert_eq (qfsm_find (fsm, 1, &info), 0);
    cr_assert (info.exhausted, "a new leader must not hand it out again");
    cr_assert_eq (apply1 (fsm, 4, on (QFSM_NACK, 1, 0), out, NULL), QFSM_DEADLETTERED);
    cr_assert_eq (qfsm_out_letters (out), 1);
    cr_assert_eq (qfsm_out_letter (out, 0, &info), 0);
    cr_assert_str_eq (info.reason, "max_deliver");
    cr_assert_str_eq (info.id, "a");
    cr_assert_eq (info.deliveries, 2);
    cr_assert_eq (info.priority, 3);
    cr_assert_eq (info.body_len, 7);
    cr_assert_eq (memcmp (info.body, "payload", 7), 0);
    cr_assert_eq (qfsm_out_letter (out, 1, &info), WEFT_EINVAL);
    cr_assert_eq (qfsm_find (fsm, 1, &info), WEFT_ENOTFOUND);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.dead, 1);
    cr_assert_eq (stats.nacked, 1);
    cr_assert_eq (stats.delivered, 3);
    cr_assert_eq (stats.pending, 0);
    qfsm_out_destroy (&out); //  frees the letter
    qfsm_destroy (&fsm);
}

Test (qfsm, dead_letters_are_handed_out)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (apply1 (fsm, 0, enq ("x", 0, "bad", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_DEAD, 1, 0), out, NULL), QFSM_DEADLETTERED);
    qfsm_info_t info;
    cr_assert_eq (qfsm_out_letter (out, 0, &info), 0);
    cr_assert_str_eq (info.reason, "rejected");
    cr_assert_eq (info.seq, 1);
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_ACK, 1, 0), out, NULL), WEFT_EINVAL);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, dedup_window_and_count)
{
    qfsm_config_t config = config_default ();
    config.dedup_window_ms = 1000;
    config.dedup_max = 3;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    uint64_t seq;
    cr_assert_eq (apply1 (fsm, 0, enq ("a", 0, "1", 0), out, &seq), 0);
    cr_assert_eq (apply1 (fsm, 10, on (QFSM_ACK, 1, 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 999, enq ("a", 0, "1", 0), out, &seq), QFSM_DUPLICATE,
                  "inside the window, even acked");
    cr_assert_eq (seq, 1);
    cr_assert_eq (apply1 (fsm, 1000, enq ("a", 0, "1", 0), out, &seq), 0, "outside");
    cr_assert_eq (seq, 2);
    //  Eviction by count, oldest first: b, c, d push "a" (seq 2) out.
    cr_assert_eq (apply1 (fsm, 1001, enq ("b", 0, "", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 1002, enq ("c", 0, "", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 1003, enq ("b", 0, "", 0), out, &seq), QFSM_DUPLICATE);
    cr_assert_eq (seq, 3);
    cr_assert_eq (apply1 (fsm, 1004, enq ("d", 0, "", 0), out, NULL), 0);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.dedup_ids, 3);
    cr_assert_eq (stats.duplicates, 2);
    cr_assert_eq (apply1 (fsm, 1005, enq ("a", 0, "", 0), out, &seq), 0, "evicted by count");
    cr_assert_eq (apply1 (fsm, 1006, enq ("c", 0, "", 0), out, NULL), QFSM_DUPLICATE);
    //  Empty ids are never deduplicated.
    cr_assert_eq (apply1 (fsm, 1007, enq (NULL, 0, "", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 1007, enq (NULL, 0, "", 0), out, NULL), 0);
    //  A CONFIG that shrinks the table trims it at once.
    qfsm_cmd_t cmd = {.op = QFSM_CONFIG, .config = config};
    cmd.config.dedup_max = 1;
    cr_assert_eq (apply1 (fsm, 1008, cmd, out, NULL), 0);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.dedup_ids, 1);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, limits_refuse_with_efull)
{
    qfsm_config_t config = config_default ();
    config.max_messages = 2;
    config.max_bytes = 100;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (apply1 (fsm, 0, enq ("1", 0, "a", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, enq ("2", 0, "b", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, enq ("3", 0, "c", 0), out, NULL), WEFT_EFULL);
    cr_assert_eq (apply1 (fsm, 0, enq ("1", 0, "a", 0), out, NULL), QFSM_DUPLICATE,
                  "a duplicate is a duplicate, full or not");
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_ACK, 1, 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, enq ("3", 0, "c", 0), out, NULL), 0, "refused: not recorded");
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_ACK, 2, 0), out, NULL), 0);
    char big[100];
    memset (big, 'z', 99);
    big[99] = 0;
    cr_assert_eq (apply1 (fsm, 0, enq ("4", 0, big, 0), out, NULL), WEFT_EFULL, "bytes");
    big[97] = 0; //  97 + 1 header byte = 98, plus 2 held = 100
    cr_assert_eq (apply1 (fsm, 0, enq ("4", 0, big, 0), out, NULL), 0);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.refused, 2);
    cr_assert_eq (stats.bytes, 100);
    cr_assert_str_eq (weft_errname (WEFT_EFULL), "WEFT_EFULL");
    cr_assert_str_eq (weft_strerror (WEFT_EFULL), "queue is full");
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, dead_letter_queue_parks)
{
    qfsm_config_t config = config_default ();
    config.max_messages = 2;
    config.dlq = true;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    uint64_t seq;
    cr_assert_eq (apply1 (fsm, 0, enq ("1", 0, "a", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, enq ("2", 0, "b", 0), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, enq ("3", 9, "c", 0), out, &seq), QFSM_PARKED);
    cr_assert_eq (seq, 3);
    cr_assert_eq (apply1 (fsm, 0, enq ("4", 0, "d", 0), out, NULL), QFSM_PARKED);
    uint64_t seqs[8];
    cr_assert_eq (walk (fsm, 0, seqs, 8), 2, "parked letters are not dispatched");
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (fsm, 3, &info), 0);
    cr_assert (info.parked);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.parked, 2);
    cr_assert_eq (stats.parked_total, 2);
    cr_assert_eq (stats.pending, 2);
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_DEAD, 1, 0), out, NULL), WEFT_EINVAL,
                  "a dead-letter queue has nowhere to send a letter");
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_ACK, 3, 0), out, NULL), WEFT_EINVAL, "parked");
    //  max_deliver does not apply in a dead-letter queue.
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_DELIVERED, 1, 50), out, NULL), 0);
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_NACK, 1, 0), out, NULL), 0);
    //  An ack makes room: the oldest parked letter joins the queue.
    cr_assert_eq (apply1 (fsm, 0, on (QFSM_ACK, 1, 0), out, NULL), 0);
    cr_assert_eq (qfsm_find (fsm, 3, &info), 0);
    cr_assert (!info.parked);
    cr_assert_eq (walk (fsm, 0, seqs, 8), 2);
    cr_assert_eq (seqs[0], 3, "priority 9 first");
    cr_assert_eq (seqs[1], 2);
    //  While letters are parked, new ones park behind them, even with room.
    cr_assert_eq (apply1 (fsm, 0, enq ("5", 0, "e", 0), out, NULL), QFSM_PARKED);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.parked, 2);
    cr_assert_eq (stats.enqueued, 5);
    //  A purge removes everything, parked letters too.
    qfsm_cmd_t purge = {.op = QFSM_PURGE};
    cr_assert_eq (apply1 (fsm, 0, purge, out, NULL), 0);
    cr_assert_eq (qfsm_out_result (out, 0)->count, 4);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.pending + stats.parked + stats.bytes + stats.parked_bytes, 0);
    cr_assert_eq (stats.purged, 4);
    cr_assert_eq (apply1 (fsm, 0, enq ("6", 0, "f", 0), out, &seq), 0);
    cr_assert_eq (seq, 6);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, batches_give_one_result_per_command)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    qfsm_cmd_t cmds[] = {enq ("a", 0, "1", 0), enq ("b", 0, "2", 0), enq ("a", 0, "1", 0),
                         on (QFSM_ACK, 1, 0),  on (QFSM_ACK, 2, 0),  on (QFSM_ACK, 7, 0),
                         enq ("c", 2, "3", 0)};
    qfsm_batch_t *batch = encode (5, cmds, 7);
    size_t size;
    qfsm_batch_data (batch, &size);
    //  16 header + 3 ENQUEUEs of 27 + 1 + 1 + 1 + one ACK record of 1 + 4 + 3 x 8 + 1 more.
    cr_assert_eq (size, 16 + 3 * 30 + 29 + 30, "the three ACKs share one record");
    cr_assert_eq (qfsm_batch_count (batch), 7);
    qfsm_batch_destroy (&batch);
    apply_n (fsm, 5, cmds, 7, out);
    int want[] = {0, 0, QFSM_DUPLICATE, 0, 0, WEFT_EINVAL, 0};
    uint64_t seqs[] = {1, 2, 1, 1, 2, 7, 3};
    for (int i = 0; i < 7; i++) {
        cr_assert_eq (qfsm_out_result (out, i)->status, want[i], "command %d", i);
        cr_assert_eq (qfsm_out_result (out, i)->seq, seqs[i], "command %d", i);
    }
    cr_assert_null (qfsm_out_result (out, 7));
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, encoder_refuses_bad_commands)
{
    qfsm_batch_t *batch = qfsm_batch_new (0);
    qfsm_cmd_t cmd = enq ("a", 10, "x", 0);
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "priority 10");
    cmd = enq ("a\0b", 0, "x", 0);
    cmd.id_len = 3;
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "a NUL in the id");
    cmd = on (QFSM_DELIVERED, 1, 0);
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "count 0");
    cmd = on (QFSM_NACK, 1, -1);
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "negative delay");
    cmd = (qfsm_cmd_t){.op = (qfsm_op_t)42};
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "unknown op");
    cr_assert_eq (qfsm_batch_count (batch), 0);
    qfsm_batch_destroy (&batch);
    qfsm_batch_destroy (&batch);
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
                cmd = enq (r & 64 ? id : NULL, (uint8_t)(r >> 8) % 10, body,
                           r & 128 ? now + (int64_t)(r >> 20) % 3000 : 0);
                next++;
                break;
            case 6:
            case 7:
            case 8:
                cmd = on (QFSM_ACK, seq, 0);
                break;
            case 9:
            case 10:
                cmd = on (QFSM_DELIVERED, seq, 1 + (int64_t)(r >> 8) % 6);
                break;
            case 11:
            case 12:
                cmd = on (QFSM_NACK, seq, (int64_t)(r >> 8) % 2000);
                break;
            case 13:
                cmd = on (QFSM_DEAD, seq, 0);
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
                cmd = (r >> 8) % 8 == 0 ? (qfsm_cmd_t){.op = QFSM_PURGE} : on (QFSM_ACK, seq, 0);
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
    qfsm_config_t config = config_default ();
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
            qfsm_cmd_t cmd = enq (id, (uint8_t)(i % 10), body, 0);
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

Test (qfsm, crafted_snapshots)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    for (int i = 0; i < 3; i++)
        cr_assert_eq (apply1 (fsm, 0, enq (NULL, 1, "abc", 0), out, NULL), 0);
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
    cr_assert_eq (apply1 (copy, 0, enq (NULL, 0, "x", 0), out, NULL), WEFT_EFULL);
    qfsm_destroy (&copy);
    free (snap);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, commands_decode_as_encoded)
{
    qfsm_cmd_t cmds[] = {enq ("id-1", 7, "body", 12345),
                         on (QFSM_ACK, 5, 0),
                         on (QFSM_ACK, 6, 0),
                         on (QFSM_DELIVERED, 7, 3),
                         on (QFSM_NACK, 8, 250),
                         on (QFSM_DEAD, 9, 0),
                         {.op = QFSM_PURGE},
                         {.op = QFSM_CONFIG}};
    cmds[0].token = 0x0102030405060708ULL;
    qfsm_config_init (&cmds[7].config);
    cmds[7].config.dlq = true;
    cmds[7].config.max_bytes = 77;
    qfsm_batch_t *batch = encode (-42, cmds, 8);
    size_t size;
    const void *data = qfsm_batch_data (batch, &size);
    qfsm_reader_t reader;
    cr_assert_eq (qfsm_reader_init (&reader, data, size), 0);
    cr_assert_eq (reader.now_ms, -42);
    cr_assert_eq (reader.commands, 8);
    qfsm_cmd_t got;
    for (int i = 0; i < 8; i++) {
        cr_assert_eq (qfsm_reader_next (&reader, &got), 1, "command %d", i);
        cr_assert_eq (got.op, cmds[i].op, "command %d", i);
        cr_assert_eq (got.seq, cmds[i].seq, "command %d", i);
    }
    cr_assert_eq (qfsm_reader_next (&reader, &got), 0);
    cr_assert_eq (qfsm_reader_init (&reader, data, size), 0);
    qfsm_reader_next (&reader, &got);
    cr_assert_eq (got.priority, 7);
    cr_assert_eq (got.token, 0x0102030405060708ULL);
    cr_assert_eq (got.not_before_ms, 12345);
    cr_assert_eq (got.id_len, 4);
    cr_assert_eq (memcmp (got.id, "id-1", 4), 0);
    cr_assert_eq (got.body_len, 4);
    cr_assert_eq (memcmp (got.body, "body", 4), 0);
    for (int i = 1; i < 8; i++)
        qfsm_reader_next (&reader, &got);
    cr_assert (got.config.dlq);
    cr_assert_eq (got.config.max_bytes, 77);
    cr_assert_eq (got.config.dedup_window_ms, QFSM_DEFAULT_DEDUP_WINDOW_MS);
    qfsm_batch_destroy (&batch);
}

Test (qfsm, a_broken_state_refuses_everything)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (apply1 (fsm, 0, enq ("a", 0, "x", 0), out, NULL), 0);
    fsm->broken = true; //  what a failed allocation in the middle of an apply leaves
    qfsm_batch_t *batch = encode (1, NULL, 0);
    size_t size;
    const void *data = qfsm_batch_data (batch, &size);
    cr_assert_eq (qfsm_apply (fsm, data, size, out), WEFT_ESTATE);
    void *snap = NULL;
    cr_assert_eq (qfsm_snapshot (fsm, &snap, &size), WEFT_ESTATE);
    cr_assert_null (snap);
    qfsm_batch_destroy (&batch);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
    qfsm_config_t config = config_default ();
    config.dedup_window_ms = -1;
    cr_assert_null (qfsm_new (&config), "an invalid configuration");
}
