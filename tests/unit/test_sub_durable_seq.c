/*  tests/unit/test_sub_durable_seq.c - no sequence reuse on durable topics,
    through the fake core (tests/support/fakecore.h) with journals on memory
    disks that model what a crash keeps (journal/store_mem.h).

    A publisher with asynchronous durability reserves its sequence numbers
    in synced blocks (node/durable/reserve.c): after a power cut that loses
    its unsynced writes it restarts above every number it ever sent; the
    range the crash skipped is answered as known empty (REPLAY_TRUNC), its
    HEAD is announced again, and a subscriber moves past the range instead
    of asking for it forever.
*/
#include <criterion/criterion.h>

#include "fc_durable.h"

//  An asynchronous publisher that reserves 4 numbers at a time.
static const char *const s_async_pub[] = {"journal.dir",
                                          "/fake/pub",
                                          "durable.topics",
                                          "d.#",
                                          "journal.sync",
                                          "async",
                                          "durable.seq_block",
                                          "4",
                                          NULL};

//  Publishes BODY on d.x (one turn, one commit) and returns the seq it went out with.
static uint64_t publish (fc_t *fc, const char *body)
{
    fc_publish (fc, "d.x", body);
    wire_msg_t msg;
    zmsg_t *m = fc_take_published (fc, &msg);
    cr_assert_not_null (m, "%s published after its commit", body);
    cr_assert_eq (msg.flags & WIRE_FLAG_HEAD, 0);
    zmsg_destroy (&m);
    return msg.seq;
}

//  After a crash: P said HELLO again, the start-up traffic is forgotten.
static void rejoin (fc_t *fc, const fc_peer_t *p)
{
    fc_inject_hello (fc, p);
    fc_turn (fc);
    fc_world_clear (fc_world (fc));
    fc_events_clear (fc);
}

//  The type of the next message the node sent P, and (REPLAY_MSG) its seq
//  in *SEQ or (REPLAY_TRUNC) its requested and first in *SEQ and *FIRST.
static int next_answer (fc_t *fc, const fc_peer_t *p, uint64_t *seq, uint64_t *first)
{
    zmsg_t *m = fc_take (fc, p->router_ep, -1);
    cr_assert_not_null (m, "an answer to the replay");
    int type = fc_decode (fc, zmsg_first (m));
    uint64_t id = 0;
    char topic[TOPIC_MAX + 1];
    if (type == WIRE_REPLAY_TRUNC)
        cr_assert_eq (wire_get_replay_trunc (fc_decoder (fc), &id, topic, sizeof topic, seq, first),
                      0);
    else if (type == WIRE_REPLAY_MSG) {
        wire_msg_t msg;
        cr_assert_eq (fc_decode (fc, zmsg_next (m)), WIRE_MSG);
        cr_assert_eq (wire_get_msg (fc_decoder (fc), &msg), 0);
        *seq = msg.seq;
    }
    zmsg_destroy (&m);
    return type;
}

Test (sub_durable_seq, a_power_cut_never_makes_a_publisher_reuse_a_number)
{
    //  every way a crash can end an asynchronous run: a power cut that
    //  keeps none, some, or all of the unsynced batches, run after run
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 10, disk, s_async_pub, &p);
    uint64_t sent = 0;
    for (uint64_t run = 0; run < 14; run++) {
        uint64_t keep = run % 7;
        for (int i = 0; i < 7; i++) {
            uint64_t seq = publish (fc, "m");
            cr_assert_gt (seq, sent, "run %" PRIu64 ": seq %" PRIu64 " after %" PRIu64 " was sent",
                          run, seq, sent);
            sent = seq;
        }
        cr_assert_gt (jdisk_unsynced (disk), 0, "the journal is asynchronous");
        fc_crash (fc, keep);
        rejoin (fc, &p);
    }
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable_seq, the_reservation_is_synced_once_per_block)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 20, disk, s_async_pub, &p);
    cr_assert_eq (publish (fc, "m1"), 1);
    cr_assert_eq (jdisk_unsynced (disk), 0, "the first block's reservation was synced");
    for (int i = 2; i <= 4; i++)
        publish (fc, "m");
    cr_assert_eq (jdisk_unsynced (disk), 3, "the rest of the block is not synced");
    cr_assert_eq (publish (fc, "m5"), 5);
    cr_assert_eq (jdisk_unsynced (disk), 0, "the next block's reservation synced it all");
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable_seq, a_failed_commit_does_not_count_its_reservation)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 21, disk, s_async_pub, &p);
    for (int i = 1; i <= 4; i++)
        publish (fc, "m");
    jdisk_fail_writes (disk, WEFT_ENOSPC); //  the batch with the next reservation fails
    fc_publish (fc, "d.x", "lost");
    cr_assert_null (fc_take_published (fc, NULL));
    jdisk_fail_writes (disk, 0);
    fc_advance (fc, 1000); //  the failure probe commits again
    fc_world_clear (fc_world (fc));
    uint64_t seq = publish (fc, "m5");
    cr_assert_eq (seq, 5, "the number of a batch that failed was never sent");
    fc_crash (fc, 0);
    rejoin (fc, &p);
    cr_assert_gt (publish (fc, "after"), seq, "the reservation was made again, and synced");
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable_seq, a_clean_restart_leaves_no_gap)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 22, disk, s_async_pub, &p);
    for (int i = 1; i <= 2; i++)
        publish (fc, "m");
    fc_restart (fc); //  a clean stop gives the rest of the block back
    rejoin (fc, &p);
    cr_assert_eq (publish (fc, "m3"), 3);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable_seq, a_synced_publisher_reserves_nothing_and_leaves_no_gap)
{
    static const char *const kv[] = {
        "journal.dir", "/fake/pub", "durable.topics", "d.#", "durable.seq_block", "4", NULL};
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 26, disk, kv, &p);
    for (int i = 1; i <= 6; i++)
        publish (fc, "m");
    fc_crash (fc, 0); //  every commit was synced: nothing is lost
    rejoin (fc, &p);
    cr_assert_eq (publish (fc, "m7"), 7, "a synced stream goes on right after its last entry");
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable_seq, a_crash_skipped_range_is_answered_as_known_empty)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 23, disk, s_async_pub, &p);
    for (int i = 1; i <= 6; i++)
        publish (fc, "m"); //  1..4 synced with the reservation of 5..8; 6 is not
    fc_crash (fc, 0);      //  the journal has 1..5, the ceiling is 8
    rejoin (fc, &p);

    //  a subscriber that saw 6 asks for what follows: nothing is there
    uint64_t a = 0, b = 0;
    fcd_ask_replay (fc, &p, 1, "d.x", WIRE_FROM_SEQ, 7);
    fc_turn (fc);
    cr_assert_eq (next_answer (fc, &p, &a, &b), WIRE_REPLAY_TRUNC);
    cr_assert_eq (a, 7);
    cr_assert_eq (b, 9, "the stream goes on above the ceiling");
    cr_assert_eq (next_answer (fc, &p, &a, &b), WIRE_REPLAY_END);
    cr_assert_eq (fc_count (fc, p.router_ep, -1), 0);

    cr_assert_eq (publish (fc, "m9"), 9);
    //  from the start: the entries, the skipped range in its place, the rest
    fcd_ask_replay (fc, &p, 2, "d.x", WIRE_FROM_EARLIEST, 0);
    fc_turn (fc);
    for (uint64_t seq = 1; seq <= 5; seq++) {
        cr_assert_eq (next_answer (fc, &p, &a, &b), WIRE_REPLAY_MSG);
        cr_assert_eq (a, seq);
    }
    cr_assert_eq (next_answer (fc, &p, &a, &b), WIRE_REPLAY_TRUNC);
    cr_assert_eq (a, 6);
    cr_assert_eq (b, 9);
    cr_assert_eq (next_answer (fc, &p, &a, &b), WIRE_REPLAY_MSG);
    cr_assert_eq (a, 9);
    cr_assert_eq (next_answer (fc, &p, &a, &b), WIRE_REPLAY_END);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable_seq, the_head_is_announced_again_after_a_crash)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 24, disk, s_async_pub, &p);
    uint64_t sent = 0;
    for (int i = 1; i <= 6; i++)
        sent = publish (fc, "m");
    fc_crash (fc, 0);
    rejoin (fc, &p);
    fc_advance (fc, 1000);
    wire_msg_t msg;
    zmsg_t *m = fc_take_published (fc, &msg);
    cr_assert_not_null (m, "a HEAD without a publish since the restart");
    cr_assert_eq (msg.flags, WIRE_FLAG_DURABLE | WIRE_FLAG_HEAD);
    cr_assert_geq (msg.seq, sent, "at or above everything that was sent");
    zmsg_destroy (&m);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

//  P answers request ID with REPLAY_TRUNC (REQUESTED, FIRST) of d.x.
static void inject_trunc (fc_t *fc, const fc_peer_t *p, uint64_t id, uint64_t requested,
                          uint64_t first)
{
    msgpack_sbuffer hdr;
    msgpack_sbuffer_init (&hdr);
    cr_assert_eq (wire_encode_replay_trunc (&hdr, id, "d.x", requested, first), 0);
    fcd_inject3 (fc, p, &hdr, NULL, NULL);
    msgpack_sbuffer_destroy (&hdr);
}

//  Takes the REPLAY_REQ the node sent P; stores its id, from and to.
static void take_request (fc_t *fc, const fc_peer_t *p, uint64_t *id, uint64_t *from, uint64_t *to)
{
    zmsg_t *m = fc_take (fc, p->router_ep, WIRE_REPLAY_REQ);
    cr_assert_not_null (m, "a REPLAY_REQ");
    wire_replay_req_t *req = calloc (1, sizeof *req);
    cr_assert_eq (wire_get_replay_req (fc_decoder (fc), req), 0);
    *id = req->id;
    *from = (uint64_t)req->from_value;
    *to = req->to_seq;
    free (req);
    zmsg_destroy (&m);
}

Test (sub_durable_seq, a_subscriber_moves_past_a_skipped_range)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 25, NULL, NULL, &p);
    cr_assert_eq (fc_subscribe (fc, "d.#"), 0);
    for (uint64_t seq = 1; seq <= 3; seq++)
        fc_inject_topic (fc, &p, "d.x", seq, WIRE_FLAG_DURABLE, "m");
    fc_inject_topic (fc, &p, "d.x", 11, WIRE_FLAG_DURABLE, "m11"); //  the publisher restarted
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_MESSAGE), 3, "11 is held");
    fc_events_clear (fc);
    uint64_t id, from, to;
    take_request (fc, &p, &id, &from, &to);
    cr_assert_eq (from, 4);
    cr_assert_eq (to, 10);

    inject_trunc (fc, &p, id, 6, 11); //  overtook a message of the range: not taken
    inject_trunc (fc, &p, id, 4, 11); //  nothing from 4 to 10 is there
    fcd_replay_end (fc, &p, id, 0);
    fc_turn (fc);
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_TRUNCATED, "the jump is said, not counted as lost");
    cr_assert_eq (e.ev.seq, 11);
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_MESSAGE);
    cr_assert_eq (e.ev.seq, 11);
    cr_assert_eq (fc_event_count (fc, 0), 0, "no GAP");
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_REQ), 0, "the range is not asked again");
    fc_advance (fc, 11000);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_REQ), 0, "nor later");
    fc_inject_topic (fc, &p, "d.x", 12, WIRE_FLAG_DURABLE, "m12");
    fc_turn (fc);
    cr_assert (fc_event (fc, WEFT_MSG_MESSAGE, &e));
    cr_assert_eq (e.ev.seq, 12);
    fc_destroy (&fc);
}
