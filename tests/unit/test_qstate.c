/*  tests/unit/test_qstate.c - the queue state machine (node/qstate.h). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/queues/qstate.h"
#include "weft.h"

/* ------------------------------------------------------------------------ */
/*  Helpers                                                                  */

//  Payloads are addresses of bytes in freed[]; payload_free increments the
//  byte, so each payload's free count can be checked.
typedef struct {
    unsigned char *freed; //  times payload i was freed, one byte each
    size_t size;          //  number of payloads
    size_t calls;         //  payload_free calls
} tracker_t;

//  Creates a tracker for SIZE payloads.
static tracker_t *tracker_new (size_t size)
{
    tracker_t *tracker = calloc (1, sizeof *tracker);
    cr_assert_not_null (tracker);
    tracker->freed = calloc (size, 1);
    cr_assert_not_null (tracker->freed);
    tracker->size = size;
    return tracker;
}

//  Destroys a tracker.
static void tracker_destroy (tracker_t **tracker_p)
{
    free ((*tracker_p)->freed);
    free (*tracker_p);
    *tracker_p = NULL;
}

//  The payload number I of TRACKER.
static void *payload (tracker_t *tracker, size_t i)
{
    return &tracker->freed[i];
}

//  The payload_free callback: counts the free.
static void tracker_free (void *item, void *arg)
{
    tracker_t *tracker = arg;
    unsigned char *byte = item;
    cr_assert (byte >= tracker->freed && byte < tracker->freed + tracker->size);
    (*byte)++;
    tracker->calls++;
}

//  Asserts that each of the first COUNT payloads was freed exactly once.
static void tracker_assert_once (const tracker_t *tracker, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cr_assert_eq (tracker->freed[i], 1, "payload %zu freed %d times", i, tracker->freed[i]);
}

//  A queue with MAX_DELIVER, ACK_TIMEOUT and payloads freed through TRACKER (may be NULL).
static qstate_t *queue_new (uint32_t max_deliver, int64_t ack_timeout, tracker_t *tracker)
{
    qstate_options_t opts;
    qstate_options_init (&opts);
    opts.max_deliver = max_deliver;
    opts.ack_timeout_ms = ack_timeout;
    if (tracker) {
        opts.payload_free = tracker_free;
        opts.payload_free_arg = tracker;
    }
    qstate_t *queue = qstate_new ("orders", &opts);
    cr_assert_not_null (queue);
    return queue;
}

//  Enqueues SEQ with id "m<seq>", PRIORITY and no payload; asserts success.
static void put (qstate_t *queue, uint64_t seq, uint8_t priority)
{
    char id[32];
    snprintf (id, sizeof id, "m%llu", (unsigned long long)seq);
    cr_assert_eq (qstate_enqueue (queue, seq, id, priority, 0, NULL), 0, "enqueue %llu",
                  (unsigned long long)seq);
}

//  Dispatches one message at NOW; asserts there is one and returns it.
static qstate_delivery_t take (qstate_t *queue, int64_t now)
{
    qstate_delivery_t out;
    cr_assert_eq (qstate_next (queue, now, &out), 1, "nothing to dispatch");
    return out;
}

//  Asserts that nothing can be dispatched at NOW.
static void none (qstate_t *queue, int64_t now)
{
    qstate_delivery_t out;
    cr_assert_eq (qstate_next (queue, now, &out), 0, "dispatched seq %llu",
                  (unsigned long long)out.seq);
}

//  The state of SEQ, or -1 when it is not held.
static int state_of (qstate_t *queue, uint64_t seq)
{
    qstate_info_t info;
    return qstate_find (queue, seq, &info) == 0 ? (int)info.state : -1;
}

//  Dead letters collected by an on_dead callback.
typedef struct {
    qstate_dead_t items[64]; //  copies, oldest first
    size_t count;            //  how many
    tracker_t *tracker;      //  frees their payloads when set
} graveyard_t;

//  The on_dead callback: keeps a copy and frees the payload it now owns.
static void bury (qstate_dead_t *dead, void *arg)
{
    graveyard_t *yard = arg;
    cr_assert_lt (yard->count, 64);
    yard->items[yard->count++] = *dead;
    if (yard->tracker && dead->payload)
        tracker_free (dead->payload, yard->tracker);
}

/* ------------------------------------------------------------------------ */
/*  Ordering                                                                 */

Test (qstate, fifo_within_priority, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    for (uint64_t seq = 1; seq <= 100; seq++)
        put (queue, seq, 4);
    cr_assert_eq (qstate_consumer_add (queue, "n1/1", 1000), 0);
    for (uint64_t seq = 1; seq <= 100; seq++) {
        qstate_delivery_t out = take (queue, 0);
        char id[32];
        snprintf (id, sizeof id, "m%llu", (unsigned long long)seq);
        cr_assert_eq (out.seq, seq);
        cr_assert_str_eq (out.msg_id, id);
        cr_assert_eq (out.priority, 4);
        cr_assert_eq (out.deliveries, 1);
        cr_assert_str_eq (out.consumer, "n1/1");
        cr_assert_eq (out.deadline, 1000);
    }
    none (queue, 0);
    qstate_destroy (&queue);
    cr_assert_null (queue);
}

Test (qstate, priorities_highest_first_fifo_inside, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    int seen[QSTATE_PRIORITIES] = {0};
    for (uint64_t seq = 1; seq <= 1000; seq++)
        put (queue, seq, (uint8_t)((seq * 7919) % 10));
    cr_assert_eq (qstate_consumer_add (queue, "n1/1", 5000), 0);
    int last_priority = 9;
    uint64_t last_seq = 0;
    for (int i = 0; i < 1000; i++) {
        qstate_delivery_t out = take (queue, 0);
        cr_assert_leq (out.priority, last_priority, "priority went up");
        if (out.priority == last_priority)
            cr_assert_gt (out.seq, last_seq, "FIFO broken within priority %d", out.priority);
        last_priority = out.priority;
        last_seq = out.seq;
        seen[out.priority]++;
    }
    for (int p = 0; p < QSTATE_PRIORITIES; p++)
        cr_assert_eq (seen[p], 100, "priority %d", p);
    none (queue, 0);
    //  a priority out of range is refused, never clamped
    cr_assert_eq (qstate_enqueue (queue, 5000, "x", 10, 0, NULL), WEFT_EINVAL);
    cr_assert_eq (qstate_enqueue (queue, 5000, "x", 255, 0, NULL), WEFT_EINVAL);
    qstate_destroy (&queue);
}

Test (qstate, fewer_priority_levels, .timeout = 10)
{
    qstate_options_t opts;
    qstate_options_init (&opts);
    opts.priorities = 3;
    qstate_t *queue = qstate_new ("q", &opts);
    cr_assert_not_null (queue);
    cr_assert_eq (qstate_enqueue (queue, 1, NULL, 2, 0, NULL), 0);
    cr_assert_eq (qstate_enqueue (queue, 2, NULL, 3, 0, NULL), WEFT_EINVAL);
    cr_assert_eq (qstate_enqueue (queue, 3, NULL, 0, 0, NULL), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (take (queue, 0).seq, 3);
    qstate_destroy (&queue);
}

Test (qstate, restored_out_of_order_come_out_in_seq_order, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    uint64_t seqs[] = {50, 10, 40, 20, 30};
    uint32_t deliveries[] = {1, 0, 3, 2, 0};
    for (int i = 0; i < 5; i++)
        cr_assert_eq (qstate_enqueue (queue, seqs[i], NULL, 5, deliveries[i], NULL), 0);
    put (queue, 60, 5); //  new messages come after, with higher seqs
    cr_assert_eq (qstate_consumer_add (queue, "c", 100), 0);
    uint64_t want[] = {10, 20, 30, 40, 50, 60};
    uint32_t want_deliveries[] = {1, 3, 1, 4, 2, 1};
    for (int i = 0; i < 6; i++) {
        qstate_delivery_t out = take (queue, 0);
        cr_assert_eq (out.seq, want[i]);
        cr_assert_eq (out.deliveries, want_deliveries[i], "seq %llu", (unsigned long long)out.seq);
        cr_assert_str_eq (out.msg_id, i == 5 ? "m60" : "");
    }
    qstate_destroy (&queue);
}

/* ------------------------------------------------------------------------ */
/*  Consumers and flow control                                               */

Test (qstate, round_robin_between_consumers, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    for (uint64_t seq = 1; seq <= 12; seq++)
        put (queue, seq, 0);
    cr_assert_eq (qstate_consumer_add (queue, "a/1", 100), 0);
    cr_assert_eq (qstate_consumer_add (queue, "b/1", 100), 0);
    for (uint64_t seq = 1; seq <= 6; seq++) {
        qstate_delivery_t out = take (queue, 0);
        cr_assert_eq (out.seq, seq);
        cr_assert_str_eq (out.consumer, seq % 2 ? "a/1" : "b/1");
    }
    //  a newcomer joins the rotation at its end
    cr_assert_eq (qstate_consumer_add (queue, "c/1", 100), 0);
    const char *order[] = {"a/1", "b/1", "c/1", "a/1", "b/1", "c/1"};
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq (take (queue, 0).consumer, order[i]);
    qstate_destroy (&queue);
}

Test (qstate, round_robin_skips_full_consumers, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    for (uint64_t seq = 1; seq <= 10; seq++)
        put (queue, seq, 0);
    cr_assert_eq (qstate_consumer_add (queue, "a/1", 1), 0);
    cr_assert_eq (qstate_consumer_add (queue, "b/1", 100), 0);
    cr_assert_str_eq (take (queue, 0).consumer, "a/1");
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq (take (queue, 0).consumer, "b/1");
    qstate_destroy (&queue);
}

Test (qstate, credits_and_prefetch, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    for (uint64_t seq = 1; seq <= 20; seq++)
        put (queue, seq, 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 2), 0); //  2 credits, at most 2 unacked
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (take (queue, 0).seq, 2);
    none (queue, 0); //  no credit, prefetch full
    cr_assert_eq (qstate_ack (queue, 1, "c"), 0);
    none (queue, 0); //  room again, but no credit: acks do not grant credits
    cr_assert_eq (qstate_consumer_credit (queue, "c", 5), 0);
    cr_assert_eq (take (queue, 0).seq, 3);
    none (queue, 0); //  credits left (4), but 2 in flight = prefetch
    cr_assert_eq (qstate_ack (queue, 2, "c"), 0);
    cr_assert_eq (qstate_ack (queue, 3, "c"), 0);
    cr_assert_eq (take (queue, 0).seq, 4);
    cr_assert_eq (take (queue, 0).seq, 5);
    none (queue, 0);
    cr_assert_eq (qstate_ack (queue, 4, "c"), 0);
    cr_assert_eq (qstate_ack (queue, 5, "c"), 0);
    cr_assert_eq (take (queue, 0).seq, 6);
    cr_assert_eq (take (queue, 0).seq, 7);
    cr_assert_eq (qstate_ack (queue, 6, "c"), 0);
    none (queue, 0); //  the 5 credits are spent
    //  credits saturate instead of wrapping
    cr_assert_eq (qstate_consumer_credit (queue, "c", UINT32_MAX), 0);
    cr_assert_eq (qstate_consumer_credit (queue, "c", UINT32_MAX), 0);
    cr_assert_eq (take (queue, 0).seq, 8);
    cr_assert_eq (qstate_consumer_credit (queue, "nobody", 1), WEFT_ENOTFOUND);
    cr_assert_eq (qstate_consumer_credit (queue, NULL, 1), WEFT_EINVAL);
    cr_assert_eq (qstate_check (queue), 0);
    qstate_destroy (&queue);
}

Test (qstate, no_consumer_no_dispatch, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    none (queue, 0); //  empty
    put (queue, 1, 0);
    none (queue, 0); //  no consumer
    cr_assert_eq (qstate_consumer_add (queue, "c", 1), 0);
    cr_assert_eq (take (queue, 0).seq, 1);
    qstate_delivery_t out;
    cr_assert_eq (qstate_next (NULL, 0, &out), WEFT_EINVAL);
    cr_assert_eq (qstate_next (queue, 0, NULL), WEFT_EINVAL);
    qstate_destroy (&queue);
}

Test (qstate, consumer_removed_in_flight_back_at_once, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 30000, NULL);
    for (uint64_t seq = 1; seq <= 5; seq++)
        put (queue, seq, 0);
    cr_assert_eq (qstate_consumer_add (queue, "dead/1", 3), 0);
    for (uint64_t seq = 1; seq <= 3; seq++)
        cr_assert_eq (take (queue, 0).seq, seq);
    cr_assert_eq (qstate_consumer_add (queue, "live/1", 10), 0);
    cr_assert_eq (take (queue, 10).seq, 4); //  live/1 gets what is ready
    cr_assert_eq (qstate_consumer_remove (queue, "dead/1", 20), 3);
    cr_assert_not (qstate_consumer_exists (queue, "dead/1"));
    qstate_stats_t stats;
    cr_assert_eq (qstate_stats (queue, &stats), 0);
    cr_assert_eq (stats.ready, 4);
    cr_assert_eq (stats.in_flight, 1);
    cr_assert_eq (stats.consumers, 1);
    //  back in FIFO position, before 5, with their delivery count kept
    for (uint64_t seq = 1; seq <= 3; seq++) {
        qstate_delivery_t out = take (queue, 30);
        cr_assert_eq (out.seq, seq);
        cr_assert_eq (out.deliveries, 2);
        cr_assert_str_eq (out.consumer, "live/1");
    }
    cr_assert_eq (take (queue, 30).seq, 5);
    //  a late ack from the removed consumer is refused
    cr_assert_eq (qstate_ack (queue, 1, "dead/1"), WEFT_ENOTFOUND);
    cr_assert_eq (qstate_consumer_remove (queue, "dead/1", 40), WEFT_ENOTFOUND);
    cr_assert_eq (qstate_consumer_remove (queue, NULL, 40), WEFT_EINVAL);
    cr_assert_eq (qstate_check (queue), 0);
    qstate_destroy (&queue);
}

Test (qstate, remove_every_consumer_of_a_node, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 30000, NULL);
    for (uint64_t seq = 1; seq <= 6; seq++)
        put (queue, seq, 0);
    const char *names[] = {"n1/1", "n2/1", "n1/2", "n10/1"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq (qstate_consumer_add (queue, names[i], 10), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq (take (queue, 0).consumer, names[i]);
    cr_assert_eq (qstate_consumer_remove_prefix (queue, "n1/", 5), 2);
    cr_assert_not (qstate_consumer_exists (queue, "n1/1"));
    cr_assert_not (qstate_consumer_exists (queue, "n1/2"));
    cr_assert (qstate_consumer_exists (queue, "n2/1"));
    cr_assert (qstate_consumer_exists (queue, "n10/1"));
    cr_assert_eq (state_of (queue, 1), QSTATE_READY);
    cr_assert_eq (state_of (queue, 3), QSTATE_READY);
    cr_assert_eq (state_of (queue, 2), QSTATE_IN_FLIGHT);
    cr_assert_eq (qstate_consumer_remove_prefix (queue, "n1/", 5), 0);
    cr_assert_eq (qstate_consumer_remove_prefix (queue, "", 5), WEFT_EINVAL);
    cr_assert_eq (qstate_consumer_remove_prefix (queue, NULL, 5), WEFT_EINVAL);
    cr_assert_eq (qstate_check (queue), 0);
    qstate_destroy (&queue);
}

/* ------------------------------------------------------------------------ */
/*  Outcomes                                                                 */

Test (qstate, ack_removes_and_checks_the_holder, .timeout = 10)
{
    tracker_t *tracker = tracker_new (4);
    qstate_t *queue = queue_new (5, 1000, tracker);
    cr_assert_eq (qstate_enqueue (queue, 1, "a", 0, 0, payload (tracker, 0)), 0);
    cr_assert_eq (qstate_enqueue (queue, 2, "b", 0, 0, payload (tracker, 1)), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c1", 10), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c2", 10), 0);
    cr_assert_eq (qstate_ack (queue, 1, "c1"), WEFT_ENOTFOUND); //  ready, not in flight
    cr_assert_eq (take (queue, 0).consumer[1], '1');
    cr_assert_eq (qstate_ack (queue, 1, "c2"), WEFT_ENOTFOUND);  //  wrong consumer
    cr_assert_eq (state_of (queue, 1), QSTATE_IN_FLIGHT);        //  ... and nothing changed
    cr_assert_eq (qstate_ack (queue, 99, "c1"), WEFT_ENOTFOUND); //  unknown seq
    cr_assert_eq (qstate_ack (queue, 1, NULL), WEFT_EINVAL);
    cr_assert_eq (qstate_ack (NULL, 1, "c1"), WEFT_EINVAL);
    cr_assert_eq (qstate_ack (queue, 1, "c1"), 0);
    cr_assert_eq (tracker->freed[0], 1);
    cr_assert_eq (state_of (queue, 1), -1);
    qstate_info_t info;
    cr_assert_eq (qstate_find_id (queue, "a", &info), WEFT_ENOTFOUND);
    cr_assert_eq (qstate_ack (queue, 1, "c1"), WEFT_ENOTFOUND); //  double ack
    cr_assert_eq (tracker->freed[0], 1);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.acked, 1);
    cr_assert_eq (stats.ready, 1);
    cr_assert_eq (stats.in_flight, 0);
    //  the id can be used again once the message is gone
    cr_assert_eq (qstate_enqueue (queue, 3, "a", 0, 0, payload (tracker, 2)), 0);
    qstate_destroy (&queue);
    tracker_assert_once (tracker, 3);
    tracker_destroy (&tracker);
}

Test (qstate, nack_immediate_keeps_fifo_position, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    for (uint64_t seq = 1; seq <= 3; seq++)
        put (queue, seq, 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (qstate_nack (queue, 1, "x", 0, 5), WEFT_ENOTFOUND);
    cr_assert_eq (qstate_nack (queue, 1, "c", 0, 5), 0);
    cr_assert_eq (qstate_nack (queue, 1, "c", 0, 5), WEFT_ENOTFOUND); //  no longer in flight
    qstate_delivery_t out = take (queue, 6);
    cr_assert_eq (out.seq, 1);
    cr_assert_eq (out.deliveries, 2);
    cr_assert_eq (take (queue, 6).seq, 2);
    cr_assert_eq (qstate_nack (queue, 1, "c", -50, 7), 0); //  a negative delay is no delay
    cr_assert_eq (take (queue, 7).seq, 1);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.nacked, 2);
    cr_assert_eq (stats.redelivered, 2);
    cr_assert_eq (stats.delivered, 4);
    qstate_destroy (&queue);
}

Test (qstate, nack_delayed_not_before_its_time, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 10000, NULL);
    put (queue, 1, 0);
    put (queue, 2, 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    cr_assert_eq (take (queue, 1000).seq, 1);
    cr_assert_eq (qstate_nack (queue, 1, "c", 500, 1000), 0);
    cr_assert_eq (state_of (queue, 1), QSTATE_DELAYED);
    cr_assert_eq (take (queue, 1000).seq, 2); //  1 is not ready
    cr_assert_eq (qstate_ack (queue, 2, "c"), 0);
    cr_assert_eq (qstate_next_deadline (queue), 1500);
    cr_assert_eq (qstate_tick (queue, 1499, NULL, NULL), 0);
    none (queue, 1499);
    cr_assert_eq (state_of (queue, 1), QSTATE_DELAYED);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.delayed, 1);
    cr_assert_eq (qstate_tick (queue, 1500, NULL, NULL), 1);
    cr_assert_eq (qstate_next_deadline (queue), INT64_MAX);
    qstate_delivery_t out = take (queue, 1500);
    cr_assert_eq (out.seq, 1);
    cr_assert_eq (out.deliveries, 2);
    cr_assert_eq (qstate_next_deadline (queue), 11500);
    qstate_destroy (&queue);
}

Test (qstate, ack_timeout_redelivers_in_fifo_position, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    for (uint64_t seq = 1; seq <= 3; seq++)
        put (queue, seq, 0);
    cr_assert_eq (qstate_consumer_add (queue, "a", 1), 0); //  one credit
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (qstate_next_deadline (queue), 1000);
    cr_assert_eq (qstate_tick (queue, 999, NULL, NULL), 0);
    cr_assert_eq (state_of (queue, 1), QSTATE_IN_FLIGHT);
    cr_assert_eq (qstate_tick (queue, 1000, NULL, NULL), 1);
    cr_assert_eq (state_of (queue, 1), QSTATE_READY);
    cr_assert_eq (qstate_consumer_add (queue, "b", 5), 0);
    qstate_delivery_t out = take (queue, 1001);
    cr_assert_eq (out.seq, 1); //  before 2 and 3
    cr_assert_eq (out.deliveries, 2);
    cr_assert_str_eq (out.consumer, "b");
    cr_assert_eq (qstate_ack (queue, 1, "a"), WEFT_ENOTFOUND); //  too late: b holds it
    cr_assert_eq (qstate_ack (queue, 1, "b"), 0);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.timeouts, 1);
    cr_assert_eq (stats.redelivered, 1);
    qstate_destroy (&queue);
}

Test (qstate, reject_is_a_dead_letter, .timeout = 10)
{
    tracker_t *tracker = tracker_new (2);
    qstate_t *queue = queue_new (5, 1000, tracker);
    cr_assert_eq (qstate_enqueue (queue, 7, "poison", 3, 1, payload (tracker, 0)), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    cr_assert_eq (take (queue, 0).seq, 7);
    qstate_dead_t dead;
    memset (&dead, 0, sizeof dead);
    cr_assert_eq (qstate_reject (queue, 7, "other", &dead), WEFT_ENOTFOUND);
    cr_assert_eq (dead.seq, 0); //  untouched on error
    cr_assert_eq (qstate_reject (queue, 7, "c", NULL), WEFT_EINVAL);
    cr_assert_eq (qstate_reject (queue, 7, "c", &dead), 0);
    cr_assert_eq (dead.seq, 7);
    cr_assert_str_eq (dead.msg_id, "poison");
    cr_assert_eq (dead.priority, 3);
    cr_assert_eq (dead.deliveries, 2);
    cr_assert_str_eq (dead.reason, "rejected");
    cr_assert_eq (dead.payload, payload (tracker, 0));
    cr_assert_eq (tracker->freed[0], 0); //  the caller owns it now
    cr_assert_eq (qstate_reject (queue, 7, "c", &dead), WEFT_ENOTFOUND);
    cr_assert_eq (state_of (queue, 7), -1);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.rejected, 1);
    cr_assert_eq (stats.dead, 1);
    cr_assert_eq (qstate_size (queue), 0);
    qstate_destroy (&queue);
    cr_assert_eq (tracker->calls, 0);
    tracker_destroy (&tracker);
}

/* ------------------------------------------------------------------------ */
/*  max_deliver                                                              */

Test (qstate, max_deliver_by_timeout, .timeout = 10)
{
    tracker_t *tracker = tracker_new (1);
    graveyard_t yard = {.tracker = tracker};
    qstate_t *queue = queue_new (3, 100, tracker);
    cr_assert_eq (qstate_enqueue (queue, 1, "m1", 0, 0, payload (tracker, 0)), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 1000), 0);
    int64_t now = 0;
    for (uint32_t round = 1; round <= 3; round++) {
        qstate_delivery_t out = take (queue, now);
        cr_assert_eq (out.deliveries, round);
        now += 100;
        cr_assert_eq (qstate_tick (queue, now, bury, &yard), 1);
    }
    cr_assert_eq (yard.count, 1);
    cr_assert_eq (yard.items[0].seq, 1);
    cr_assert_str_eq (yard.items[0].msg_id, "m1");
    cr_assert_str_eq (yard.items[0].reason, "max_deliver");
    cr_assert_eq (yard.items[0].deliveries, 3);
    none (queue, now); //  never a 4th delivery
    cr_assert_eq (state_of (queue, 1), -1);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.delivered, 3);
    cr_assert_eq (stats.dead, 1);
    cr_assert_eq (stats.timeouts, 3);
    qstate_destroy (&queue);
    tracker_assert_once (tracker, 1);
    tracker_destroy (&tracker);
}

Test (qstate, max_deliver_by_nack_and_consumer_loss, .timeout = 10)
{
    graveyard_t yard = {0};
    qstate_t *queue = queue_new (2, 1000, NULL);
    put (queue, 1, 0);
    put (queue, 2, 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 1000), 0);
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (qstate_nack (queue, 1, "c", 0, 0), 0);
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (qstate_nack (queue, 1, "c", 50, 10), 0); //  2nd delivery used: dying, not delayed
    cr_assert_eq (state_of (queue, 1), QSTATE_DYING);
    cr_assert_eq (qstate_next_deadline (queue), 10);
    cr_assert_eq (take (queue, 10).seq, 2); //  1 is never dispatched again
    cr_assert_eq (qstate_nack (queue, 2, "c", 0, 10), 0);
    cr_assert_eq (take (queue, 11).seq, 2);
    cr_assert_eq (qstate_consumer_remove (queue, "c", 12), 1); //  2nd delivery of 2 lost
    cr_assert_eq (state_of (queue, 2), QSTATE_DYING);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.dying, 2);
    cr_assert_eq (qstate_tick (queue, 12, bury, &yard), 2);
    cr_assert_eq (yard.count, 2);
    cr_assert_eq (yard.items[0].seq, 1); //  in the order they died
    cr_assert_eq (yard.items[1].seq, 2);
    cr_assert_eq (yard.items[1].deliveries, 2);
    cr_assert_eq (qstate_next_deadline (queue), INT64_MAX);
    cr_assert_eq (qstate_size (queue), 0);
    qstate_destroy (&queue);
}

Test (qstate, max_deliver_restored_exhausted, .timeout = 10)
{
    graveyard_t yard = {0};
    qstate_t *queue = queue_new (3, 1000, NULL);
    cr_assert_eq (qstate_enqueue (queue, 5, "old", 0, 3, NULL), 0);
    cr_assert_eq (qstate_enqueue (queue, 6, "ok", 0, 2, NULL), 0);
    cr_assert_eq (state_of (queue, 5), QSTATE_DYING);
    cr_assert_eq (qstate_next_deadline (queue), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    qstate_delivery_t out = take (queue, 100);
    cr_assert_eq (out.seq, 6);
    cr_assert_eq (out.deliveries, 3); //  its last one
    none (queue, 100);
    cr_assert_eq (qstate_tick (queue, 100, bury, &yard), 1);
    cr_assert_eq (yard.count, 1);
    cr_assert_eq (yard.items[0].seq, 5);
    cr_assert_eq (yard.items[0].deliveries, 3);
    qstate_destroy (&queue);
}

Test (qstate, max_deliver_zero_is_unlimited, .timeout = 10)
{
    qstate_t *queue = queue_new (0, 1000, NULL);
    put (queue, 1, 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    cr_assert_eq (qstate_consumer_credit (queue, "c", 100), 0);
    for (uint32_t round = 1; round <= 50; round++) {
        cr_assert_eq (take (queue, round).deliveries, round);
        cr_assert_eq (qstate_nack (queue, 1, "c", 0, round), 0);
    }
    cr_assert_eq (state_of (queue, 1), QSTATE_READY);
    qstate_destroy (&queue);
}

Test (qstate, dead_letters_without_callback_are_freed, .timeout = 10)
{
    tracker_t *tracker = tracker_new (1);
    qstate_t *queue = queue_new (1, 100, tracker);
    cr_assert_eq (qstate_enqueue (queue, 1, NULL, 0, 0, payload (tracker, 0)), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    take (queue, 0);
    cr_assert_eq (qstate_tick (queue, 100, NULL, NULL), 1);
    cr_assert_eq (tracker->freed[0], 1);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.dead, 1);
    qstate_destroy (&queue);
    tracker_assert_once (tracker, 1);
    tracker_destroy (&tracker);
}

/* ------------------------------------------------------------------------ */
/*  Payload ownership                                                        */

Test (qstate, payload_freed_exactly_once, .timeout = 10)
{
    enum { N = 60 };
    tracker_t *tracker = tracker_new (N + 1);
    graveyard_t yard = {.tracker = tracker};
    qstate_t *queue = queue_new (2, 100, tracker);
    for (uint64_t i = 0; i < N; i++)
        cr_assert_eq (qstate_enqueue (queue, i, NULL, (uint8_t)(i % 10), 0, payload (tracker, i)),
                      0);
    cr_assert_eq (qstate_enqueue (queue, N, NULL, 0, 0, NULL), 0); //  no payload: nothing to free
    cr_assert_eq (qstate_consumer_add (queue, "c", 100), 0);
    qstate_delivery_t out[N];
    for (int i = 0; i < 40; i++)
        out[i] = take (queue, 0);
    for (int i = 0; i < 40; i++) {
        uint64_t seq = out[i].seq;
        cr_assert_eq (out[i].payload, seq < N ? payload (tracker, seq) : NULL);
        if (i < 10)
            cr_assert_eq (qstate_ack (queue, seq, "c"), 0);
        else if (i < 15) {
            qstate_dead_t dead;
            cr_assert_eq (qstate_reject (queue, seq, "c", &dead), 0);
            if (dead.payload) //  the caller owns it: free it the same way
                tracker_free (dead.payload, tracker);
        } else if (i < 20)
            cr_assert_eq (qstate_nack (queue, seq, "c", 1000, 0), 0); //  delayed at destroy
        else if (i < 30)
            cr_assert_eq (qstate_nack (queue, seq, "c", 0, 0), 0); //  ready again
    } //  the last 10 stay in flight, then time out
    cr_assert_eq (qstate_tick (queue, 100, bury, &yard), 10);
    for (int i = 0; i < 5; i++) { //  second deliveries: dead by timeout
        qstate_delivery_t again = take (queue, 100);
        cr_assert_eq (again.deliveries, 2);
    }
    qstate_tick (queue, 200, bury, &yard);
    cr_assert_eq (yard.count, 5);
    //  replacing a cached payload frees the old one, not the same pointer twice
    qstate_info_t info;
    cr_assert_eq (qstate_find (queue, out[35].seq, &info), 0);
    void *cached = info.payload;
    cr_assert_eq (qstate_set_payload (queue, out[35].seq, cached), 0);
    cr_assert_eq (qstate_set_payload (queue, out[35].seq, NULL), 0);
    if (cached)
        cr_assert_eq (*(unsigned char *)cached, 1);
    cr_assert_eq (qstate_set_payload (queue, 999, NULL), WEFT_ENOTFOUND);
    cr_assert_eq (qstate_check (queue), 0);
    qstate_destroy (&queue); //  frees the rest: ready, delayed, in flight
    tracker_assert_once (tracker, N);
    cr_assert_eq (tracker->freed[N], 0);
    tracker_destroy (&tracker);
}

/* ------------------------------------------------------------------------ */
/*  Arguments, limits and introspection                                      */

Test (qstate, bad_options_and_names, .timeout = 10)
{
    qstate_options_t opts;
    qstate_options_init (&opts);
    cr_assert_eq (opts.max_deliver, 5);
    cr_assert_eq (opts.ack_timeout_ms, 30000);
    cr_assert_eq (opts.priorities, 10);
    cr_assert_null (qstate_new (NULL, NULL));
    cr_assert_null (qstate_new ("", NULL));
    char name[QSTATE_NAME_MAX + 2];
    memset (name, 'q', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    cr_assert_null (qstate_new (name, NULL));
    name[QSTATE_NAME_MAX] = '\0';
    qstate_t *queue = qstate_new (name, NULL);
    cr_assert_not_null (queue);
    cr_assert_str_eq (qstate_name (queue), name);
    qstate_destroy (&queue);
    qstate_destroy (&queue); //  idempotent
    qstate_destroy (NULL);
    opts.ack_timeout_ms = 0;
    cr_assert_null (qstate_new ("q", &opts));
    qstate_options_init (&opts);
    opts.priorities = 0;
    cr_assert_null (qstate_new ("q", &opts));
    opts.priorities = 11;
    cr_assert_null (qstate_new ("q", &opts));
}

Test (qstate, enqueue_errors_leave_payload_to_caller, .timeout = 10)
{
    tracker_t *tracker = tracker_new (8);
    qstate_options_t opts;
    qstate_options_init (&opts);
    opts.max_messages = 3;
    opts.payload_free = tracker_free;
    opts.payload_free_arg = tracker;
    qstate_t *queue = qstate_new ("q", &opts);
    cr_assert_eq (qstate_enqueue (queue, 1, "a", 0, 0, payload (tracker, 0)), 0);
    cr_assert_eq (qstate_enqueue (queue, 1, "b", 0, 0, payload (tracker, 1)), WEFT_EINVAL);
    cr_assert_eq (qstate_enqueue (queue, 2, "a", 0, 0, payload (tracker, 1)), WEFT_EINVAL);
    char id[QSTATE_MSG_ID_MAX + 2];
    memset (id, 'i', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    cr_assert_eq (qstate_enqueue (queue, 2, id, 0, 0, payload (tracker, 1)), WEFT_EMSGSIZE);
    id[QSTATE_MSG_ID_MAX] = '\0';
    cr_assert_eq (qstate_enqueue (queue, 2, id, 0, 0, payload (tracker, 1)), 0);
    cr_assert_eq (qstate_enqueue (queue, 3, "", 0, 0, payload (tracker, 2)), 0);
    cr_assert_eq (qstate_enqueue (queue, 4, "d", 0, 0, payload (tracker, 3)), WEFT_EAGAIN);
    cr_assert_eq (qstate_enqueue (NULL, 4, "d", 0, 0, NULL), WEFT_EINVAL);
    cr_assert_eq (tracker->calls, 0);
    qstate_info_t info;
    cr_assert_eq (qstate_find_id (queue, id, &info), 0);
    cr_assert_eq (info.seq, 2);
    cr_assert_eq (qstate_find_id (queue, "", &info), WEFT_ENOTFOUND);
    //  room again after an ack
    cr_assert_eq (qstate_consumer_add (queue, "c", 1), 0);
    cr_assert_eq (take (queue, 0).seq, 1);
    cr_assert_eq (qstate_ack (queue, 1, "c"), 0);
    cr_assert_eq (qstate_enqueue (queue, 4, "d", 0, 0, payload (tracker, 3)), 0);
    qstate_destroy (&queue);
    tracker_assert_once (tracker, 4);
    tracker_destroy (&tracker);
}

Test (qstate, consumer_errors, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    cr_assert_eq (qstate_consumer_add (queue, "c", 1), 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 1), WEFT_EINVAL);
    cr_assert_eq (qstate_consumer_add (queue, "d", 0), WEFT_EINVAL);
    cr_assert_eq (qstate_consumer_add (queue, "", 1), WEFT_EINVAL);
    cr_assert_eq (qstate_consumer_add (queue, NULL, 1), WEFT_EINVAL);
    cr_assert_eq (qstate_consumer_add (NULL, "e", 1), WEFT_EINVAL);
    char name[QSTATE_CONSUMER_MAX + 2];
    memset (name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    cr_assert_eq (qstate_consumer_add (queue, name, 1), WEFT_EMSGSIZE);
    cr_assert_eq (qstate_ack (queue, 1, name), WEFT_ENOTFOUND);
    name[QSTATE_CONSUMER_MAX] = '\0';
    cr_assert_eq (qstate_consumer_add (queue, name, 1), 0);
    cr_assert (qstate_consumer_exists (queue, name));
    cr_assert_not (qstate_consumer_exists (queue, NULL));
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.consumers, 2);
    qstate_destroy (&queue);
}

//  Counts messages per state and checks the walk sees sane records.
static int count_states (const qstate_info_t *info, void *arg)
{
    size_t *counts = arg;
    cr_assert_leq (info->state, QSTATE_DYING);
    cr_assert_eq (info->state == QSTATE_IN_FLIGHT, info->consumer != NULL);
    counts[info->state]++;
    return 0;
}

//  Stops the walk at once.
static int stop_walk (const qstate_info_t *info, void *arg)
{
    (void)info;
    (*(int *)arg)++;
    return 42;
}

Test (qstate, foreach_and_stats, .timeout = 10)
{
    qstate_t *queue = queue_new (1, 100, NULL);
    cr_assert_eq (qstate_next_deadline (queue), INT64_MAX);
    for (uint64_t seq = 1; seq <= 10; seq++)
        put (queue, seq, (uint8_t)(seq % 3));
    cr_assert_eq (qstate_consumer_add (queue, "c", 4), 0);
    for (int i = 0; i < 4; i++)
        take (queue, 0);
    qstate_info_t info;
    cr_assert_eq (qstate_find (queue, 2, &info), 0); //  priority 2: among the first four
    cr_assert_eq (info.state, QSTATE_IN_FLIGHT);
    cr_assert_str_eq (info.consumer, "c");
    cr_assert_eq (info.deadline, 100);
    cr_assert_eq (info.deliveries, 1);
    cr_assert_str_eq (info.msg_id, "m2");
    cr_assert_eq (qstate_nack (queue, 2, "c", 0, 0), 0); //  out of deliveries: dying
    cr_assert_eq (qstate_consumer_credit (queue, "c", 10), 0);
    size_t counts[4] = {0};
    cr_assert_eq (qstate_foreach (queue, count_states, counts), 0);
    cr_assert_eq (counts[QSTATE_READY], 6);
    cr_assert_eq (counts[QSTATE_IN_FLIGHT], 3);
    cr_assert_eq (counts[QSTATE_DYING], 1);
    qstate_stats_t stats;
    cr_assert_eq (qstate_stats (queue, &stats), 0);
    cr_assert_eq (stats.ready, 6);
    cr_assert_eq (stats.in_flight, 3);
    cr_assert_eq (stats.dying, 1);
    cr_assert_eq (stats.enqueued, 10);
    cr_assert_eq (stats.delivered, 4);
    cr_assert_eq (stats.nacked, 1);
    cr_assert_eq (qstate_size (queue), 10);
    int calls = 0;
    cr_assert_eq (qstate_foreach (queue, stop_walk, &calls), 42);
    cr_assert_eq (calls, 1);
    cr_assert_eq (qstate_foreach (queue, NULL, NULL), WEFT_EINVAL);
    cr_assert_eq (qstate_stats (NULL, &stats), WEFT_EINVAL);
    cr_assert_str_eq (qstate_state_name (QSTATE_READY), "ready");
    cr_assert_str_eq (qstate_state_name (QSTATE_DELAYED), "delayed");
    cr_assert_str_eq (qstate_state_name (QSTATE_IN_FLIGHT), "in_flight");
    cr_assert_str_eq (qstate_state_name (QSTATE_DYING), "dying");
    cr_assert_str_eq (qstate_state_name (-1), "unknown");
    cr_assert_eq (qstate_check (queue), 0);
    cr_assert_eq (qstate_tick (NULL, 0, NULL, NULL), WEFT_EINVAL);
    cr_assert_eq (qstate_next_deadline (NULL), INT64_MAX);
    cr_assert_eq (qstate_size (NULL), 0);
    qstate_destroy (&queue);
}

Test (qstate, deadlines_saturate, .timeout = 10)
{
    qstate_t *queue = queue_new (5, 1000, NULL);
    put (queue, 1, 0);
    put (queue, 2, 0);
    cr_assert_eq (qstate_consumer_add (queue, "c", 10), 0);
    cr_assert_eq (take (queue, INT64_MAX - 10).deadline, INT64_MAX);
    cr_assert_eq (take (queue, 0).seq, 2);
    cr_assert_eq (qstate_nack (queue, 2, "c", INT64_MAX, 5), 0);
    cr_assert_eq (qstate_find (queue, 2, &(qstate_info_t){0}), 0);
    cr_assert_eq (qstate_tick (queue, INT64_MAX - 1, NULL, NULL), 0);
    cr_assert_eq (qstate_check (queue), 0);
    qstate_destroy (&queue);
}

/* ------------------------------------------------------------------------ */
/*  Scale                                                                    */

//  Milliseconds on the monotonic clock (tests may read it; the module may not).
static double clock_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Test (qstate, million_enqueue_dispatch_ack, .timeout = 300)
{
    enum { N = 1000000 };
    tracker_t *tracker = tracker_new (N);
    qstate_options_t opts;
    qstate_options_init (&opts);
    opts.max_messages = N;
    opts.payload_free = tracker_free;
    opts.payload_free_arg = tracker;
    qstate_t *queue = qstate_new ("big", &opts);
    cr_assert_not_null (queue);
    double start = clock_ms ();
    char id[32];
    for (uint32_t i = 0; i < N; i++) {
        snprintf (id, sizeof id, "id-%u", i);
        if (qstate_enqueue (queue, i, id, (uint8_t)(i % 10), 0, payload (tracker, i)))
            cr_assert_fail ("enqueue %u", i);
    }
    double enqueued = clock_ms ();
    cr_assert_eq (qstate_enqueue (queue, N, "over", 0, 0, NULL), WEFT_EAGAIN);
    cr_assert_eq (qstate_consumer_add (queue, "node/1", 1000), 0);
    int last_priority = 9;
    qstate_delivery_t out;
    for (uint32_t i = 0; i < N; i++) {
        if (qstate_next (queue, i, &out) != 1)
            cr_assert_fail ("dispatch %u", i);
        if (out.priority > last_priority)
            cr_assert_fail ("priority order broken at %u", i);
        last_priority = out.priority;
        if (qstate_ack (queue, out.seq, "node/1") || qstate_consumer_credit (queue, "node/1", 1))
            cr_assert_fail ("ack %u", i);
    }
    double done = clock_ms ();
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.acked, N);
    cr_assert_eq (qstate_size (queue), 0);
    fprintf (stderr, "qstate: 1M enqueue %.0f ms, dispatch+ack %.0f ms, total %.0f ms\n",
             enqueued - start, done - enqueued, done - start);
    qstate_destroy (&queue);
    tracker_assert_once (tracker, N);
    tracker_destroy (&tracker);
}

/* ------------------------------------------------------------------------ */
/*  Randomized model test                                                    */

enum {
    M_OPS = 200000,    //  random operations
    M_SEQS = 120000,   //  seq space (enqueues are ~1/4 of the operations)
    M_HELD = 256,      //  max_messages
    M_CONSUMERS = 6,   //  consumer slots
    M_MAX_DELIVER = 3, //  max_deliver
    M_TIMEOUT = 1000,  //  ack_timeout_ms
    M_GONE = 10,       //  a model state: acked, rejected or dead
    M_NEW = 11         //  a model state: never enqueued
};

//  The reference model of one message.
typedef struct {
    int state;           //  qstate_state_t, M_GONE or M_NEW
    uint8_t priority;    //  priority
    uint32_t deliveries; //  deliveries so far
    int consumer;        //  slot of its holder when in flight
    int64_t deadline;    //  in flight or delayed: when the timer fires
    int slot;            //  index in model.held
} m_msg_t;

//  The reference model of one consumer slot.
typedef struct {
    bool present;      //  registered
    char name[32];     //  "node<k>/<slot>"
    uint32_t prefetch; //  limit
    uint32_t credits;  //  credits left
    uint32_t flight;   //  messages in flight to it
} m_consumer_t;

//  The whole reference model.
typedef struct {
    m_msg_t *msgs;                       //  by seq
    uint64_t held[M_HELD];               //  seqs held, unordered
    int held_count;                      //  size of held
    m_consumer_t consumers[M_CONSUMERS]; //  consumer slots
    uint64_t next_seq;                   //  next block of seqs to hand out
    uint64_t block[8];                   //  a block of seqs, shuffled
    int block_left;                      //  seqs left in block
    int64_t now;                         //  model time
    uint64_t rng;                        //  xorshift state
    uint64_t dead;                       //  dead letters expected so far
    uint64_t dead_seen;                  //  dead letters received
    uint64_t acked;                      //  acks done
} model_t;

//  A pseudo-random number below N (xorshift64*).
static uint32_t m_rand (model_t *m, uint32_t n)
{
    m->rng ^= m->rng >> 12;
    m->rng ^= m->rng << 25;
    m->rng ^= m->rng >> 27;
    return (uint32_t)(((m->rng * 0x2545F4914F6CDD1DULL) >> 32) % n);
}

//  Adds SEQ to the held list.
static void m_hold (model_t *m, uint64_t seq)
{
    m->msgs[seq].slot = m->held_count;
    m->held[m->held_count++] = seq;
}

//  Marks SEQ gone and takes it off the held list.
static void m_gone (model_t *m, uint64_t seq)
{
    int slot = m->msgs[seq].slot;
    uint64_t last = m->held[--m->held_count];
    m->held[slot] = last;
    m->msgs[last].slot = slot;
    m->msgs[seq].state = M_GONE;
}

//  The next seq to enqueue: seqs come in blocks of 8 in shuffled order, so
//  they are not always increasing (like a restore).
static uint64_t m_next_seq (model_t *m)
{
    if (m->block_left == 0) {
        for (int i = 0; i < 8; i++)
            m->block[i] = m->next_seq + (uint64_t)i;
        for (int i = 7; i > 0; i--) {
            int j = (int)m_rand (m, (uint32_t)i + 1);
            uint64_t swap = m->block[i];
            m->block[i] = m->block[j];
            m->block[j] = swap;
        }
        m->next_seq += 8;
        m->block_left = 8;
    }
    return m->block[--m->block_left];
}

//  The on_dead callback of the model test: the message must be dying in the model.
static void m_bury (qstate_dead_t *dead, void *arg)
{
    model_t *m = arg;
    cr_assert_lt (dead->seq, M_SEQS);
    m_msg_t *msg = &m->msgs[dead->seq];
    cr_assert_eq (msg->state, QSTATE_DYING, "seq %llu dead while %d", (unsigned long long)dead->seq,
                  msg->state);
    cr_assert_eq (dead->deliveries, msg->deliveries);
    cr_assert_str_eq (dead->reason, "max_deliver");
    cr_assert_eq (dead->payload, NULL);
    m_gone (m, dead->seq);
    m->dead_seen++;
}

//  Enqueues a new message, sometimes a restored one with deliveries.
static void m_op_enqueue (model_t *m, qstate_t *queue)
{
    if (m->next_seq + 8 >= M_SEQS)
        return;
    uint64_t seq = m_next_seq (m);
    uint8_t priority = (uint8_t)m_rand (m, 10);
    uint32_t deliveries = m_rand (m, 20) == 0 ? m_rand (m, M_MAX_DELIVER + 2) : 0;
    char id[32];
    snprintf (id, sizeof id, "id-%llu", (unsigned long long)seq);
    int rc = qstate_enqueue (queue, seq, id, priority, deliveries, NULL);
    if (m->held_count == M_HELD) {
        cr_assert_eq (rc, WEFT_EAGAIN);
        m->block[m->block_left++] = seq; //  try it again later
        return;
    }
    cr_assert_eq (rc, 0);
    m_msg_t *msg = &m->msgs[seq];
    *msg = (m_msg_t){.priority = priority, .deliveries = deliveries, .consumer = -1};
    msg->state = deliveries >= M_MAX_DELIVER ? QSTATE_DYING : QSTATE_READY;
    m_hold (m, seq);
}

//  The seq the model says must go next (highest priority, lowest seq), or M_SEQS.
static uint64_t m_best_ready (const model_t *m)
{
    uint64_t best = M_SEQS;
    for (int i = 0; i < m->held_count; i++) {
        uint64_t seq = m->held[i];
        const m_msg_t *msg = &m->msgs[seq];
        if (msg->state != QSTATE_READY)
            continue;
        if (best == M_SEQS || msg->priority > m->msgs[best].priority ||
            (msg->priority == m->msgs[best].priority && seq < best))
            best = seq;
    }
    return best;
}

//  The slot of consumer NAME.
static int m_slot_of (const model_t *m, const char *name)
{
    for (int c = 0; c < M_CONSUMERS; c++)
        if (m->consumers[c].present && strcmp (m->consumers[c].name, name) == 0)
            return c;
    cr_assert_fail ("unknown consumer %s", name);
    return -1;
}

//  True when some consumer has room in the model.
static bool m_any_room (const model_t *m)
{
    for (int c = 0; c < M_CONSUMERS; c++) {
        const m_consumer_t *consumer = &m->consumers[c];
        if (consumer->present && consumer->credits > 0 && consumer->flight < consumer->prefetch)
            return true;
    }
    return false;
}

//  Dispatches and checks the choice of message and consumer against the model.
static void m_op_next (model_t *m, qstate_t *queue)
{
    uint64_t best = m_best_ready (m);
    qstate_delivery_t out;
    int rc = qstate_next (queue, m->now, &out);
    if (best == M_SEQS || !m_any_room (m)) {
        cr_assert_eq (rc, 0);
        return;
    }
    cr_assert_eq (rc, 1);
    cr_assert_eq (out.seq, best, "got %llu, want %llu", (unsigned long long)out.seq,
                  (unsigned long long)best);
    m_msg_t *msg = &m->msgs[best];
    int c = m_slot_of (m, out.consumer);
    m_consumer_t *consumer = &m->consumers[c];
    cr_assert (consumer->credits > 0 && consumer->flight < consumer->prefetch);
    msg->deliveries++;
    cr_assert_eq (out.deliveries, msg->deliveries);
    cr_assert_leq (out.deliveries, M_MAX_DELIVER);
    msg->state = QSTATE_IN_FLIGHT;
    msg->consumer = c;
    msg->deadline = m->now + M_TIMEOUT;
    consumer->credits--;
    consumer->flight++;
}

//  A random held message in flight, or M_SEQS.
static uint64_t m_pick_in_flight (model_t *m)
{
    for (int tries = 0; tries < 8 && m->held_count; tries++) {
        uint64_t seq = m->held[m_rand (m, (uint32_t)m->held_count)];
        if (m->msgs[seq].state == QSTATE_IN_FLIGHT)
            return seq;
    }
    return M_SEQS;
}

//  Puts in-flight SEQ back in the model: dying, delayed or ready.
static void m_requeue (model_t *m, uint64_t seq, int64_t delay)
{
    m_msg_t *msg = &m->msgs[seq];
    m->consumers[msg->consumer].flight--;
    msg->consumer = -1;
    if (msg->deliveries >= M_MAX_DELIVER)
        msg->state = QSTATE_DYING;
    else if (delay > 0) {
        msg->state = QSTATE_DELAYED;
        msg->deadline = m->now + delay;
    } else
        msg->state = QSTATE_READY;
}

//  Acks, nacks or rejects a random in-flight message; sometimes with the wrong consumer.
static void m_op_outcome (model_t *m, qstate_t *queue, int kind)
{
    uint64_t seq = m_pick_in_flight (m);
    if (seq == M_SEQS) {
        cr_assert_eq (qstate_ack (queue, M_SEQS + 1, "node0/0"), WEFT_ENOTFOUND);
        return;
    }
    m_msg_t *msg = &m->msgs[seq];
    const char *holder = m->consumers[msg->consumer].name;
    if (m_rand (m, 10) == 0) {
        cr_assert_eq (qstate_ack (queue, seq, "node9/9"), WEFT_ENOTFOUND);
        cr_assert_eq (qstate_nack (queue, seq, "node9/9", 0, m->now), WEFT_ENOTFOUND);
        return;
    }
    if (kind == 0) {
        cr_assert_eq (qstate_ack (queue, seq, holder), 0);
        m->consumers[msg->consumer].flight--;
        m_gone (m, seq);
        m->acked++;
        cr_assert_eq (qstate_ack (queue, seq, holder), WEFT_ENOTFOUND);
    } else if (kind == 1) {
        int64_t delay = m_rand (m, 2) ? 0 : (int64_t)m_rand (m, 300) + 1;
        cr_assert_eq (qstate_nack (queue, seq, holder, delay, m->now), 0);
        m_requeue (m, seq, delay);
    } else {
        qstate_dead_t dead;
        cr_assert_eq (qstate_reject (queue, seq, holder, &dead), 0);
        cr_assert_eq (dead.seq, seq);
        cr_assert_eq (dead.deliveries, msg->deliveries);
        m->consumers[msg->consumer].flight--;
        m_gone (m, seq);
    }
}

//  Advances time and ticks; the model applies the same timers.
static void m_op_tick (model_t *m, qstate_t *queue)
{
    m->now += m_rand (m, 400);
    for (int i = 0; i < m->held_count; i++) {
        uint64_t seq = m->held[i];
        m_msg_t *msg = &m->msgs[seq];
        if (msg->state == QSTATE_DELAYED && msg->deadline <= m->now)
            msg->state = QSTATE_READY;
        else if (msg->state == QSTATE_IN_FLIGHT && msg->deadline <= m->now)
            m_requeue (m, seq, 0);
    }
    for (int i = 0; i < m->held_count; i++)
        m->dead += m->msgs[m->held[i]].state == QSTATE_DYING;
    cr_assert_geq (qstate_tick (queue, m->now, m_bury, m), 0);
    cr_assert_eq (m->dead_seen, m->dead);
}

//  Adds, removes or credits consumers.
static void m_op_consumer (model_t *m, qstate_t *queue, int kind)
{
    int c = (int)m_rand (m, M_CONSUMERS);
    m_consumer_t *consumer = &m->consumers[c];
    if (kind == 0 && !consumer->present) {
        snprintf (consumer->name, sizeof consumer->name, "node%d/%d", c / 2, c);
        consumer->prefetch = 1 + m_rand (m, 8);
        consumer->credits = consumer->prefetch;
        consumer->flight = 0;
        cr_assert_eq (qstate_consumer_add (queue, consumer->name, consumer->prefetch), 0);
        consumer->present = true;
    } else if (kind == 1 && consumer->present) {
        int back = 0;
        for (int i = 0; i < m->held_count; i++) {
            m_msg_t *msg = &m->msgs[m->held[i]];
            if (msg->state == QSTATE_IN_FLIGHT && msg->consumer == c) {
                m_requeue (m, m->held[i], 0);
                back++;
            }
        }
        cr_assert_eq (qstate_consumer_remove (queue, consumer->name, m->now), back);
        consumer->present = false;
    } else if (kind == 2 && consumer->present) {
        uint32_t n = m_rand (m, 12);
        cr_assert_eq (qstate_consumer_credit (queue, consumer->name, n), 0);
        consumer->credits += n;
    }
}

//  Compares one message as the queue describes it with the model.
static int m_compare (const qstate_info_t *info, void *arg)
{
    model_t *m = arg;
    cr_assert_lt (info->seq, M_SEQS);
    const m_msg_t *msg = &m->msgs[info->seq];
    cr_assert_eq ((int)info->state, msg->state, "seq %llu", (unsigned long long)info->seq);
    cr_assert_eq (info->deliveries, msg->deliveries);
    cr_assert_eq (info->priority, msg->priority);
    if (msg->state == QSTATE_IN_FLIGHT)
        cr_assert_str_eq (info->consumer, m->consumers[msg->consumer].name);
    if (msg->state == QSTATE_IN_FLIGHT || msg->state == QSTATE_DELAYED)
        cr_assert_eq (info->deadline, msg->deadline);
    return 0;
}

//  Checks every message and count of the queue against the model.
static void m_verify (model_t *m, qstate_t *queue)
{
    cr_assert_eq (qstate_check (queue), 0);
    cr_assert_eq (qstate_foreach (queue, m_compare, m), 0);
    size_t counts[4] = {0}, consumers = 0;
    for (int i = 0; i < m->held_count; i++)
        counts[m->msgs[m->held[i]].state]++;
    for (int c = 0; c < M_CONSUMERS; c++)
        consumers += m->consumers[c].present;
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    cr_assert_eq (stats.ready, counts[QSTATE_READY]);
    cr_assert_eq (stats.delayed, counts[QSTATE_DELAYED]);
    cr_assert_eq (stats.in_flight, counts[QSTATE_IN_FLIGHT]);
    cr_assert_eq (stats.dying, counts[QSTATE_DYING]);
    cr_assert_eq (stats.consumers, consumers);
    cr_assert_eq (stats.acked, m->acked);
    cr_assert_eq (qstate_size (queue), (size_t)m->held_count);
    //  spot-check: every seq is held (once) or gone, as the model says
    for (int i = 0; i < 20; i++) {
        uint64_t seq = m_rand (m, (uint32_t)m->next_seq + 1);
        int state = state_of (queue, seq);
        int want = m->msgs[seq].state;
        cr_assert_eq (state, want >= M_GONE ? -1 : want, "seq %llu", (unsigned long long)seq);
    }
}

Test (qstate, randomized_against_model, .timeout = 300)
{
    model_t *m = calloc (1, sizeof *m);
    cr_assert_not_null (m);
    m->msgs = calloc (M_SEQS + 1, sizeof *m->msgs);
    cr_assert_not_null (m->msgs);
    for (size_t i = 0; i <= M_SEQS; i++)
        m->msgs[i].state = M_NEW;
    m->rng = 0x9E3779B97F4A7C15ULL;
    m->now = 1000;
    qstate_options_t opts;
    qstate_options_init (&opts);
    opts.max_deliver = M_MAX_DELIVER;
    opts.ack_timeout_ms = M_TIMEOUT;
    opts.max_messages = M_HELD;
    qstate_t *queue = qstate_new ("model", &opts);
    cr_assert_not_null (queue);
    for (int op = 0; op < M_OPS; op++) {
        uint32_t r = m_rand (m, 100);
        if (r < 25)
            m_op_enqueue (m, queue);
        else if (r < 50)
            m_op_next (m, queue);
        else if (r < 62)
            m_op_outcome (m, queue, 0);
        else if (r < 70)
            m_op_outcome (m, queue, 1);
        else if (r < 72)
            m_op_outcome (m, queue, 2);
        else if (r < 80)
            m_op_tick (m, queue);
        else if (r < 90)
            m_op_consumer (m, queue, 2);
        else if (r < 95)
            m_op_consumer (m, queue, 0);
        else if (r < 99)
            m_op_consumer (m, queue, 1);
        else {
            int removed = qstate_consumer_remove_prefix (queue, "node1/", m->now);
            int want = 0;
            for (int c = 2; c < 4; c++) {
                if (!m->consumers[c].present)
                    continue;
                for (int i = 0; i < m->held_count; i++) {
                    m_msg_t *msg = &m->msgs[m->held[i]];
                    if (msg->state == QSTATE_IN_FLIGHT && msg->consumer == c)
                        m_requeue (m, m->held[i], 0);
                }
                m->consumers[c].present = false;
                want++;
            }
            cr_assert_eq (removed, want);
        }
        if (op % 997 == 0)
            m_verify (m, queue);
    }
    m_verify (m, queue);
    qstate_stats_t stats;
    qstate_stats (queue, &stats);
    fprintf (stderr,
             "qstate model: %llu enqueued, %llu delivered, %llu redelivered, %llu acked, "
             "%llu nacked, %llu rejected, %llu timeouts, %llu dead\n",
             (unsigned long long)stats.enqueued, (unsigned long long)stats.delivered,
             (unsigned long long)stats.redelivered, (unsigned long long)stats.acked,
             (unsigned long long)stats.nacked, (unsigned long long)stats.rejected,
             (unsigned long long)stats.timeouts, (unsigned long long)stats.dead);
    cr_assert_gt (stats.timeouts, 100);
    cr_assert_gt (stats.dead, 100);
    cr_assert_gt (stats.acked, 1000);
    qstate_destroy (&queue);
    free (m->msgs);
    free (m);
}
