/*  tests/unit/test_qfsm.c - the replicated queue state machine (node/qfsm/qfsm.h):
    command semantics, dedup, limits, dead letters, dispatch order, and the
    encoding of commands. Replicas, snapshots and malformed input are in
    test_qfsm_snapshots.c, the figures for 1,000,000 pending messages in
    test_qfsm_size.c; the helpers they share in tests/support/qfsm_helpers.h. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "node/qfsm/qfsm.h"
#include "node/qfsm/qfsm_int.h" //  the broken flag
#include "qfsm_helpers.h"
#include "weft.h"

/* ------------------------------------------------------------------------ */
/*  Helpers                                                                  */

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
        cr_assert_eq (qfh_apply1 (fsm, 10, qfh_enq (id, 4, "body", 0), out, &seq), 0);
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
    cr_assert_eq (qfh_apply1 (fsm, 11, qfh_on (QFSM_ACK, 2, 0), out, &seq), 0);
    cr_assert_eq (seq, 2);
    cr_assert_eq (qfsm_find (fsm, 2, &info), WEFT_ENOTFOUND);
    cr_assert_eq (qfh_apply1 (fsm, 12, qfh_on (QFSM_ACK, 2, 0), out, NULL), WEFT_EINVAL,
                  "acked twice");
    cr_assert_eq (qfh_apply1 (fsm, 12, qfh_on (QFSM_ACK, 99, 0), out, NULL), WEFT_EINVAL,
                  "unknown");
    cr_assert_eq (qfh_apply1 (fsm, 12, qfh_on (QFSM_NACK, 99, 0), out, NULL), WEFT_EINVAL);
    cr_assert_eq (qfh_apply1 (fsm, 12, qfh_on (QFSM_DELIVERED, 99, 1), out, NULL), WEFT_EINVAL);
    cr_assert_eq (qfh_apply1 (fsm, 12, qfh_on (QFSM_DEAD, 99, 0), out, NULL), WEFT_EINVAL);
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
        cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq (NULL, prios[i], "x", 0), out, NULL), 0);
    uint64_t seqs[16];
    uint64_t want[] = {2, 5, 6, 1, 3, 7, 4};
    cr_assert_eq (walk (fsm, 0, seqs, 16), 7);
    for (int i = 0; i < 7; i++)
        cr_assert_eq (seqs[i], want[i], "position %d", i);
    //  A nack keeps the seq position: FIFO survives redelivery and leader changes.
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_DELIVERED, 1, 1), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_NACK, 1, 0), out, NULL), 0);
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
    cr_assert_eq (qfh_apply1 (fsm, 1000, qfh_enq (NULL, 0, "later", 5000), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 1000, qfh_enq (NULL, 0, "now", 0), out, NULL), 0);
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
    cr_assert_eq (qfh_apply1 (fsm, 10, qfh_on (QFSM_NACK, 2, 300), out, NULL), 0);
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (fsm, 2, &info), 0);
    cr_assert_eq (info.not_before_ms, 1300, "clock 1000 + delay 300");
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.clock, 1000);
    cr_assert_eq (stats.delayed, 2);
    cr_assert_eq (qfsm_next_due (fsm), 1300);
    //  An entry at 5000 makes both due.
    qfh_apply_n (fsm, 5000, NULL, 0, out);
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
    qfsm_config_t config = qfh_config ();
    config.max_deliver = 2;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("a", 3, "payload", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 1, qfh_on (QFSM_DELIVERED, 1, 1), out, NULL), 0);
    cr_assert_eq (qfsm_out_result (out, 0)->count, 1);
    cr_assert_eq (qfh_apply1 (fsm, 2, qfh_on (QFSM_NACK, 1, 0), out, NULL), 0);
    qfsm_info_t info;
    cr_assert_eq (qfsm_find (fsm, 1, &info), 0);
    cr_assert_eq (info.deliveries, 1);
    cr_assert (!info.exhausted);
    cr_assert_eq (qfh_apply1 (fsm, 3, qfh_on (QFSM_DELIVERED, 1, 2), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 3, qfh_on (QFSM_DELIVERED, 1, 1), out, NULL), 0,
                  "a stale count");
    cr_assert_eq (qfsm_out_result (out, 0)->count, 2, "counts never go down");
    cr_assert_eq (qfsm_find (fsm, 1, &info), 0);
    cr_assert (info.exhausted, "a new leader must not hand it out again");
    cr_assert_eq (qfh_apply1 (fsm, 4, qfh_on (QFSM_NACK, 1, 0), out, NULL), QFSM_DEADLETTERED);
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
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("x", 0, "bad", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_DEAD, 1, 0), out, NULL), QFSM_DEADLETTERED);
    qfsm_info_t info;
    cr_assert_eq (qfsm_out_letter (out, 0, &info), 0);
    cr_assert_str_eq (info.reason, "rejected");
    cr_assert_eq (info.seq, 1);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_ACK, 1, 0), out, NULL), WEFT_EINVAL);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, dedup_window_and_count)
{
    qfsm_config_t config = qfh_config ();
    config.dedup_window_ms = 1000;
    config.dedup_max = 3;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    uint64_t seq;
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("a", 0, "1", 0), out, &seq), 0);
    cr_assert_eq (qfh_apply1 (fsm, 10, qfh_on (QFSM_ACK, 1, 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 999, qfh_enq ("a", 0, "1", 0), out, &seq), QFSM_DUPLICATE,
                  "inside the window, even acked");
    cr_assert_eq (seq, 1);
    cr_assert_eq (qfh_apply1 (fsm, 1000, qfh_enq ("a", 0, "1", 0), out, &seq), 0, "outside");
    cr_assert_eq (seq, 2);
    //  Eviction by count, oldest first: b, c, d push "a" (seq 2) out.
    cr_assert_eq (qfh_apply1 (fsm, 1001, qfh_enq ("b", 0, "", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 1002, qfh_enq ("c", 0, "", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 1003, qfh_enq ("b", 0, "", 0), out, &seq), QFSM_DUPLICATE);
    cr_assert_eq (seq, 3);
    cr_assert_eq (qfh_apply1 (fsm, 1004, qfh_enq ("d", 0, "", 0), out, NULL), 0);
    qfsm_stats_t stats;
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.dedup_ids, 3);
    cr_assert_eq (stats.duplicates, 2);
    cr_assert_eq (qfh_apply1 (fsm, 1005, qfh_enq ("a", 0, "", 0), out, &seq), 0,
                  "evicted by count");
    cr_assert_eq (qfh_apply1 (fsm, 1006, qfh_enq ("c", 0, "", 0), out, NULL), QFSM_DUPLICATE);
    //  Empty ids are never deduplicated.
    cr_assert_eq (qfh_apply1 (fsm, 1007, qfh_enq (NULL, 0, "", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 1007, qfh_enq (NULL, 0, "", 0), out, NULL), 0);
    //  A CONFIG that shrinks the table trims it at once.
    qfsm_cmd_t cmd = {.op = QFSM_CONFIG, .config = config};
    cmd.config.dedup_max = 1;
    cr_assert_eq (qfh_apply1 (fsm, 1008, cmd, out, NULL), 0);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.dedup_ids, 1);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, limits_refuse_with_efull)
{
    qfsm_config_t config = qfh_config ();
    config.max_messages = 2;
    config.max_bytes = 100;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("1", 0, "a", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("2", 0, "b", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("3", 0, "c", 0), out, NULL), WEFT_EFULL);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("1", 0, "a", 0), out, NULL), QFSM_DUPLICATE,
                  "a duplicate is a duplicate, full or not");
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_ACK, 1, 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("3", 0, "c", 0), out, NULL), 0,
                  "refused: not recorded");
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_ACK, 2, 0), out, NULL), 0);
    char big[100];
    memset (big, 'z', 99);
    big[99] = 0;
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("4", 0, big, 0), out, NULL), WEFT_EFULL, "bytes");
    big[97] = 0; //  97 + 1 header byte = 98, plus 2 held = 100
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("4", 0, big, 0), out, NULL), 0);
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
    qfsm_config_t config = qfh_config ();
    config.max_messages = 2;
    config.dlq = true;
    qfsm_t *fsm = qfsm_new (&config);
    qfsm_out_t *out = qfsm_out_new ();
    uint64_t seq;
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("1", 0, "a", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("2", 0, "b", 0), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("3", 9, "c", 0), out, &seq), QFSM_PARKED);
    cr_assert_eq (seq, 3);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("4", 0, "d", 0), out, NULL), QFSM_PARKED);
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
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_DEAD, 1, 0), out, NULL), WEFT_EINVAL,
                  "a dead-letter queue has nowhere to send a letter");
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_ACK, 3, 0), out, NULL), WEFT_EINVAL, "parked");
    //  max_deliver does not apply in a dead-letter queue.
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_DELIVERED, 1, 50), out, NULL), 0);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_NACK, 1, 0), out, NULL), 0);
    //  An ack makes room: the oldest parked letter joins the queue.
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_on (QFSM_ACK, 1, 0), out, NULL), 0);
    cr_assert_eq (qfsm_find (fsm, 3, &info), 0);
    cr_assert (!info.parked);
    cr_assert_eq (walk (fsm, 0, seqs, 8), 2);
    cr_assert_eq (seqs[0], 3, "priority 9 first");
    cr_assert_eq (seqs[1], 2);
    //  While letters are parked, new ones park behind them, even with room.
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("5", 0, "e", 0), out, NULL), QFSM_PARKED);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.parked, 2);
    cr_assert_eq (stats.enqueued, 5);
    //  A purge removes everything, parked letters too.
    qfsm_cmd_t purge = {.op = QFSM_PURGE};
    cr_assert_eq (qfh_apply1 (fsm, 0, purge, out, NULL), 0);
    cr_assert_eq (qfsm_out_result (out, 0)->count, 4);
    qfsm_stats (fsm, &stats);
    cr_assert_eq (stats.pending + stats.parked + stats.bytes + stats.parked_bytes, 0);
    cr_assert_eq (stats.purged, 4);
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("6", 0, "f", 0), out, &seq), 0);
    cr_assert_eq (seq, 6);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
}

Test (qfsm, batches_give_one_result_per_command)
{
    qfsm_t *fsm = qfsm_new (NULL);
    qfsm_out_t *out = qfsm_out_new ();
    qfsm_cmd_t cmds[] = {qfh_enq ("a", 0, "1", 0), qfh_enq ("b", 0, "2", 0),
                         qfh_enq ("a", 0, "1", 0), qfh_on (QFSM_ACK, 1, 0),
                         qfh_on (QFSM_ACK, 2, 0),  qfh_on (QFSM_ACK, 7, 0),
                         qfh_enq ("c", 2, "3", 0)};
    qfsm_batch_t *batch = qfh_encode (5, cmds, 7);
    size_t size;
    qfsm_batch_data (batch, &size);
    //  16 header + 3 ENQUEUEs of 27 + 1 + 1 + 1 + one ACK record of 1 + 4 + 3 x 8 + 1 more.
    cr_assert_eq (size, 16 + 3 * 30 + 29 + 30, "the three ACKs share one record");
    cr_assert_eq (qfsm_batch_count (batch), 7);
    qfsm_batch_destroy (&batch);
    qfh_apply_n (fsm, 5, cmds, 7, out);
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
    qfsm_cmd_t cmd = qfh_enq ("a", 10, "x", 0);
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "priority 10");
    cmd = qfh_enq ("a\0b", 0, "x", 0);
    cmd.id_len = 3;
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "a NUL in the id");
    cmd = qfh_on (QFSM_DELIVERED, 1, 0);
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "count 0");
    cmd = qfh_on (QFSM_NACK, 1, -1);
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "negative delay");
    cmd = (qfsm_cmd_t){.op = (qfsm_op_t)42};
    cr_assert_eq (qfsm_batch_add (batch, &cmd), WEFT_EINVAL, "unknown op");
    cr_assert_eq (qfsm_batch_count (batch), 0);
    qfsm_batch_destroy (&batch);
    qfsm_batch_destroy (&batch);
}

Test (qfsm, commands_decode_as_encoded)
{
    qfsm_cmd_t cmds[] = {qfh_enq ("id-1", 7, "body", 12345),
                         qfh_on (QFSM_ACK, 5, 0),
                         qfh_on (QFSM_ACK, 6, 0),
                         qfh_on (QFSM_DELIVERED, 7, 3),
                         qfh_on (QFSM_NACK, 8, 250),
                         qfh_on (QFSM_DEAD, 9, 0),
                         {.op = QFSM_PURGE},
                         {.op = QFSM_CONFIG}};
    cmds[0].token = 0x0102030405060708ULL;
    qfsm_config_init (&cmds[7].config);
    cmds[7].config.dlq = true;
    cmds[7].config.max_bytes = 77;
    qfsm_batch_t *batch = qfh_encode (-42, cmds, 8);
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
    cr_assert_eq (qfh_apply1 (fsm, 0, qfh_enq ("a", 0, "x", 0), out, NULL), 0);
    fsm->broken = true; //  what a failed allocation in the middle of an apply leaves
    qfsm_batch_t *batch = qfh_encode (1, NULL, 0);
    size_t size;
    const void *data = qfsm_batch_data (batch, &size);
    cr_assert_eq (qfsm_apply (fsm, data, size, out), WEFT_ESTATE);
    void *snap = NULL;
    cr_assert_eq (qfsm_snapshot (fsm, &snap, &size), WEFT_ESTATE);
    cr_assert_null (snap);
    qfsm_batch_destroy (&batch);
    qfsm_out_destroy (&out);
    qfsm_destroy (&fsm);
    qfsm_config_t config = qfh_config ();
    config.dedup_window_ms = -1;
    cr_assert_null (qfsm_new (&config), "an invalid configuration");
}
