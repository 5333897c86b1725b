/*  tests/unit/test_sub_durable.c - the durable-topics subsystem through the
    fake core (tests/support/fakecore.h), with journals on memory disks
    (journal/store_mem.h): journal-then-publish, HEAD announcements, serving
    replays, repairing gaps, and named subscriptions whose cursors survive a
    restart.

    A fake peer plays the other side: its REPLAY_MSG / REPLAY_END and live
    messages are injected, and what the node asks of it is read back.
*/
#include <criterion/criterion.h>

#include "fc_durable.h"

static const char *const s_publisher[] = {"journal.dir", "/fake/pub", "durable.topics", "d.#",
                                          NULL};
static const char *const s_subscriber[] = {"journal.dir", "/fake/sub", NULL};

//  P replays, for request ID, message SEQ of TOPIC with BODY.
static void replay_msg (fc_t *fc, const fc_peer_t *p, uint64_t id, const char *topic, uint64_t seq,
                        const char *body)
{
    msgpack_sbuffer hdr, msg;
    msgpack_sbuffer_init (&hdr);
    msgpack_sbuffer_init (&msg);
    wire_msg_t m = {.seq = seq, .time_us = 1, .flags = WIRE_FLAG_DURABLE};
    memcpy (m.sender, p->uuid, WIRE_UUID_SIZE);
    cr_assert_eq (wire_encode_replay_msg (&hdr, id, topic), 0);
    cr_assert_eq (wire_encode_msg (&msg, &m), 0);
    fcd_inject3 (fc, p, &hdr, &msg, body);
    msgpack_sbuffer_destroy (&hdr);
    msgpack_sbuffer_destroy (&msg);
}

//  Takes the REPLAY_REQ the node sent P, into *REQ (allocated; caller frees).
static wire_replay_req_t *take_request (fc_t *fc, const fc_peer_t *p)
{
    zmsg_t *m = fc_take (fc, p->router_ep, WIRE_REPLAY_REQ);
    cr_assert_not_null (m, "a REPLAY_REQ to %s", p->name);
    wire_replay_req_t *req = calloc (1, sizeof *req);
    cr_assert_eq (wire_get_replay_req (fc_decoder (fc), req), 0);
    //  cursor topics point into the frame: copy what the tests read
    static char topics[4][TOPIC_MAX + 1];
    for (size_t i = 0; i < req->ncursors && i < 4; i++) {
        snprintf (topics[i], sizeof topics[i], "%.*s", (int)req->cursors[i].topic_len,
                  req->cursors[i].topic);
        req->cursors[i].topic = topics[i];
    }
    zmsg_destroy (&m);
    return req;
}

//  Takes the next event; fails unless it is MESSAGE SEQ with BODY.
static void expect_message (fc_t *fc, uint64_t seq, const char *body)
{
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e), "no event (expected #%" PRIu64 ")", seq);
    cr_assert_eq (e.ev.kind, WEFT_MSG_MESSAGE, "kind %d, expected a message #%" PRIu64, e.ev.kind,
                  seq);
    cr_assert_eq (e.ev.seq, seq);
    cr_assert_str_eq (e.body, body);
}

Test (sub_durable, a_durable_publish_is_journaled_then_published)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 1, disk, s_publisher, &p);
    uint64_t keys = jdisk_keys (disk);
    fc_publish (fc, "d.x", "one");
    wire_msg_t msg;
    zmsg_t *m = fc_take_published (fc, &msg);
    cr_assert_not_null (m, "published after the turn's commit");
    cr_assert_eq (msg.seq, 1);
    cr_assert (msg.flags & WIRE_FLAG_DURABLE);
    zmsg_destroy (&m);
    cr_assert_gt (jdisk_keys (disk), keys, "on the disk");
    cr_assert_eq (fc_status_int (fc, "journaled"), 1);
    char *json = fc_status (fc);
    cr_assert (strstr (json, "\"stream\":\"t/d.x\",\"count\":1"), "%s", json);
    free (json);

    fc_publish (fc, "v", "volatile"); //  not declared durable: straight out
    m = fc_take_published (fc, &msg);
    cr_assert_not_null (m);
    cr_assert_eq (msg.flags & WIRE_FLAG_DURABLE, 0);
    zmsg_destroy (&m);

    jdisk_fail_writes (disk, WEFT_ENOSPC); //  the commit fails: nothing may go out
    fc_publish (fc, "d.x", "lost");
    cr_assert_null (fc_take_published (fc, NULL), "not published without its commit");
    cr_assert_eq (fc_status_int (fc, "journal_errors"), 1);
    cr_assert_geq (fc_status_int (fc, "commit_failures"), 1);
    jdisk_fail_writes (disk, 0);
    fc_advance (fc, 1000); //  the failure probe commits again
    fc_world_clear (fc_world (fc));
    fc_publish (fc, "d.x", "two");
    m = fc_take_published (fc, &msg);
    cr_assert_not_null (m);
    cr_assert_geq (msg.seq, 2);
    zmsg_destroy (&m);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable, heads_are_announced_each_interval)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 2, disk, s_publisher, &p);
    fc_publish (fc, "d.x", "a");
    fc_publish (fc, "d.x", "b");
    fc_world_clear (fc_world (fc));
    fc_advance (fc, 1000);
    wire_msg_t msg;
    zmsg_t *m = fc_take_published (fc, &msg);
    cr_assert_not_null (m, "a HEAD");
    cr_assert_eq (msg.flags, WIRE_FLAG_DURABLE | WIRE_FLAG_HEAD);
    cr_assert_eq (msg.seq, 2);
    zmsg_destroy (&m);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

//  Takes the next REPLAY_MSG of request ID to P; checks its topic, seq and body.
static void expect_replayed (fc_t *fc, const fc_peer_t *p, uint64_t id, const char *topic,
                             uint64_t seq, const char *body)
{
    zmsg_t *m = fc_take (fc, p->router_ep, -1);
    cr_assert_not_null (m, "REPLAY_MSG #%" PRIu64, seq);
    cr_assert_eq (fc_decode (fc, zmsg_first (m)), WIRE_REPLAY_MSG);
    uint64_t got = 0;
    char name[TOPIC_MAX + 1];
    cr_assert_eq (wire_get_replay_msg (fc_decoder (fc), &got, name, sizeof name), 0);
    cr_assert_eq (got, id);
    cr_assert_str_eq (name, topic);
    cr_assert_eq (zmsg_size (m), 3);
    wire_msg_t msg;
    cr_assert_eq (fc_decode (fc, zmsg_next (m)), WIRE_MSG);
    cr_assert_eq (wire_get_msg (fc_decoder (fc), &msg), 0);
    cr_assert_eq (msg.seq, seq);
    char *b = zframe_strdup (zmsg_next (m));
    cr_assert_str_eq (b, body);
    free (b);
    zmsg_destroy (&m);
}

Test (sub_durable, a_replay_request_is_served)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("pub", 3, disk, s_publisher, &p);
    fc_publish (fc, "d.x", "x1");
    fc_publish (fc, "d.y", "y1");
    fc_publish (fc, "d.x", "x2");
    fc_publish (fc, "d.x", "x3");
    fc_world_clear (fc_world (fc));
    fcd_ask_replay (fc, &p, 7, "d.x", WIRE_FROM_SEQ, 2);
    fc_turn (fc);
    expect_replayed (fc, &p, 7, "d.x", 2, "x2");
    expect_replayed (fc, &p, 7, "d.x", 3, "x3");
    zmsg_t *m = fc_take (fc, p.router_ep, -1);
    cr_assert_not_null (m);
    cr_assert_eq (fc_decode (fc, zmsg_first (m)), WIRE_REPLAY_END);
    uint64_t id = 0, sent = 0;
    int status = -1;
    cr_assert_eq (wire_get_replay_end (fc_decoder (fc), &id, &status, &sent), 0);
    cr_assert_eq (id, 7);
    cr_assert_eq (status, 0);
    cr_assert_eq (sent, 2, "the END says how many it sent");
    zmsg_destroy (&m);
    cr_assert_eq (fc_status_int (fc, "replayed"), 2);

    fcd_ask_replay (fc, &p, 8, "d.#", WIRE_FROM_EARLIEST, 0);
    fc_turn (fc);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_MSG), 4, "both streams from the start");
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_END), 1);
    fc_world_clear (fc_world (fc));
    fcd_ask_replay (fc, &p, 9, "d.x", WIRE_FROM_LATEST, 0);
    fc_turn (fc);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_MSG), 0, "nothing from the past");
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_END), 1);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable, a_gap_is_repaired_and_held_messages_follow_in_order)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 4, disk, s_subscriber, &p);
    cr_assert_eq (fc_subscribe (fc, "d.#"), 0);
    fc_inject_topic (fc, &p, "d.x", 1, WIRE_FLAG_DURABLE, "m1");
    fc_turn (fc);
    expect_message (fc, 1, "m1");
    fc_inject_topic (fc, &p, "d.x", 4, WIRE_FLAG_DURABLE, "m4"); //  2 and 3 lost
    fc_inject_topic (fc, &p, "d.x", 5, WIRE_FLAG_DURABLE, "m5");
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0, "held until the replay");
    wire_replay_req_t *req = take_request (fc, &p);
    cr_assert_str_eq (req->pattern, "d.x");
    cr_assert_eq (req->from_kind, WIRE_FROM_SEQ);
    cr_assert_eq (req->from_value, 2);
    cr_assert_eq (req->to_seq, 3);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_REQ), 0, "asked once");

    replay_msg (fc, &p, req->id, "d.x", 2, "m2");
    replay_msg (fc, &p, req->id, "d.x", 3, "m3");
    fcd_replay_end (fc, &p, req->id, 2);
    fc_turn (fc);
    expect_message (fc, 2, "m2");
    expect_message (fc, 3, "m3");
    expect_message (fc, 4, "m4");
    expect_message (fc, 5, "m5");
    cr_assert_eq (fc_event_count (fc, 0), 0, "no gap, no duplicate");
    cr_assert_eq (fc_status_int (fc, "repaired"), 2);
    fc_inject_topic (fc, &p, "d.x", 5, WIRE_FLAG_DURABLE, "again"); //  a duplicate
    fc_inject_topic (fc, &p, "d.x", 6, WIRE_FLAG_DURABLE, "m6");
    fc_turn (fc);
    expect_message (fc, 6, "m6");
    free (req);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable, a_head_past_the_last_message_asks_for_the_tail)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 5, NULL, NULL, &p); //  repair needs no journal
    cr_assert_eq (fc_subscribe (fc, "d.#"), 0);
    fc_inject_topic (fc, &p, "d.x", 1, WIRE_FLAG_DURABLE, "m1");
    fc_inject_topic (fc, &p, "d.x", 3, WIRE_FLAG_DURABLE | WIRE_FLAG_HEAD, "");
    fc_turn (fc);
    expect_message (fc, 1, "m1");
    wire_replay_req_t *req = take_request (fc, &p);
    cr_assert_eq (req->from_value, 2);
    cr_assert_eq (req->to_seq, 3);
    replay_msg (fc, &p, req->id, "d.x", 2, "m2");
    replay_msg (fc, &p, req->id, "d.x", 3, "m3");
    fcd_replay_end (fc, &p, req->id, 2);
    fc_turn (fc);
    expect_message (fc, 2, "m2");
    expect_message (fc, 3, "m3");
    free (req);
    fc_destroy (&fc);
}

Test (sub_durable, an_unanswered_replay_times_out_and_is_asked_again)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 6, NULL, NULL, &p);
    cr_assert_eq (fc_subscribe (fc, "d.#"), 0);
    fc_inject_topic (fc, &p, "d.x", 1, WIRE_FLAG_DURABLE, "m1");
    fc_inject_topic (fc, &p, "d.x", 3, WIRE_FLAG_DURABLE, "m3");
    fc_turn (fc);
    expect_message (fc, 1, "m1");
    free (take_request (fc, &p));
    fc_inject_hello (fc, &p); //  keep it alive meanwhile
    fc_advance (fc, 1000);
    for (int i = 0; i < 9; i++) {
        fc_inject_hello (fc, &p);
        fc_advance (fc, 1000);
    }
    fc_advance (fc, 100);
    //  given up: the held message goes, its gap is asked for again
    wire_replay_req_t *req = take_request (fc, &p);
    cr_assert_eq (req->from_value, 2);
    cr_assert_eq (req->to_seq, 2);
    free (req);
    fc_destroy (&fc);
}

//  RSUB PATTERN as durable subscription NAME from earliest, acks by the application.
static void durable_subscribe (fc_t *fc, const char *pattern, const char *name)
{
    cr_assert_eq (
        fc_command_int (fc, "sssi8i", "RSUB", pattern, name, WIRE_FROM_EARLIEST, (uint64_t)0, 0),
        0);
}

Test (sub_durable, a_named_cursor_survives_a_restart)
{
    jdisk_t *disk = jdisk_new ();
    fc_t *fc = fc_start_new ("sub", 7, disk, s_subscriber);
    char uuid[WIRE_UUID_SIZE * 2 + 1];
    snprintf (uuid, sizeof uuid, "%s", fc_node (fc)->uuid_hex);
    fc_peer_t p = fc_peer (1);
    durable_subscribe (fc, "d.#", "app");
    fc_inject_hello (fc, &p);
    fc_turn (fc);
    wire_replay_req_t *req = take_request (fc, &p);
    cr_assert_eq (req->from_kind, WIRE_FROM_EARLIEST);
    cr_assert_eq (req->ncursors, 0);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        char body[8];
        snprintf (body, sizeof body, "m%" PRIu64, seq);
        replay_msg (fc, &p, req->id, "d.x", seq, body);
    }
    fcd_replay_end (fc, &p, req->id, 3);
    fc_turn (fc);
    free (req);
    cr_assert (fc_event (fc, WEFT_MSG_JOIN, NULL));
    expect_message (fc, 1, "m1");
    expect_message (fc, 2, "m2");
    expect_message (fc, 3, "m3");
    cr_assert_eq (fc_command_int (fc, "sss8", "ACK", p.hex, "d.x", (uint64_t)2), 0);

    fc_restart (fc); //  the same disk
    cr_assert_str_eq (fc_node (fc)->uuid_hex, uuid, "the identity is kept in the journal");
    durable_subscribe (fc, "d.#", "app");
    fc_inject_hello (fc, &p);
    fc_turn (fc);
    req = take_request (fc, &p);
    cr_assert_eq (req->ncursors, 1, "the cursor came back from the journal");
    cr_assert_str_eq (req->cursors[0].topic, "d.x");
    cr_assert_eq (req->cursors[0].next, 3, "resume after what was acked");
    replay_msg (fc, &p, req->id, "d.x", 2, "m2"); //  a publisher replaying too much
    replay_msg (fc, &p, req->id, "d.x", 3, "m3");
    fcd_replay_end (fc, &p, req->id, 2);
    fc_turn (fc);
    cr_assert (fc_event (fc, WEFT_MSG_JOIN, NULL));
    expect_message (fc, 3, "m3");
    cr_assert_eq (fc_event_count (fc, 0), 0, "what was acked is not delivered again");
    free (req);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_durable, a_named_subscription_needs_a_journal)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 8, NULL, NULL, &p);
    cr_assert_eq (
        fc_command_int (fc, "sssi8i", "RSUB", "d.#", "app", WIRE_FROM_EARLIEST, (uint64_t)0, 0),
        WEFT_ESTATE);
    cr_assert_eq (fc_command_int (fc, "sss8", "ACK", p.hex, "d.x", (uint64_t)1), WEFT_ESTATE);
    fc_destroy (&fc);
}

//  A publisher that leaves our table (we expired it: a pause, a partition)
//  keeps its streams here: while it is away what follows in order is
//  delivered, what comes past a gap is held, repeats are dropped; when it is
//  back the gap is asked for and the stream goes on - never from scratch.
Test (sub_durable, a_publisher_away_and_back_goes_on_where_it_was)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 6, disk, s_subscriber, &p);
    cr_assert_eq (fc_subscribe (fc, "d.#"), 0);
    for (uint64_t seq = 1; seq <= 3; seq++)
        fc_inject_topic (fc, &p, "d.x", seq, WIRE_FLAG_DURABLE, "in");
    fc_turn (fc);
    for (uint64_t seq = 1; seq <= 3; seq++)
        expect_message (fc, seq, "in");
    fc_inject_simple (fc, &p, WIRE_BYE); //  it leaves our table
    fc_turn (fc);
    fc_events_clear (fc);
    cr_assert_eq (fc_status_int (fc, "peers"), 0);

    fc_inject_topic (fc, &p, "d.x", 3, WIRE_FLAG_DURABLE, "repeat"); //  dropped
    fc_inject_topic (fc, &p, "d.x", 4, WIRE_FLAG_DURABLE, "away");   //  follows: delivered
    fc_inject_topic (fc, &p, "d.x", 7, WIRE_FLAG_DURABLE, "later");  //  past a gap: held
    fc_turn (fc);
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.seq, 4, "delivered in order while it is away, not from scratch");
    cr_assert_str_eq (e.ev.sender, p.hex, "and still named by its UUID");
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_MESSAGE), 0, "7 waits for 5 and 6");

    fc_inject_hello (fc, &p); //  it is back: the gap 5..6 is asked for
    fc_turn (fc);
    fc_events_clear (fc);
    wire_replay_req_t *req = take_request (fc, &p);
    cr_assert_eq (req->from_value, 5);
    cr_assert_eq (req->to_seq, 6);
    replay_msg (fc, &p, req->id, "d.x", 5, "m5");
    replay_msg (fc, &p, req->id, "d.x", 6, "m6");
    fcd_replay_end (fc, &p, req->id, 2);
    fc_turn (fc);
    expect_message (fc, 5, "m5");
    expect_message (fc, 6, "m6");
    expect_message (fc, 7, "later");
    cr_assert_eq (fc_event_count (fc, 0), 0, "no gap, no duplicate");
    free (req);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

//  A replayed message lost on the way is asked for again - never taken for
//  one the publisher no longer has - and a complete replay that skips a seq
//  (the END says how many it sent, and all of them came) is a gap.
Test (sub_durable, a_replay_lost_on_the_way_is_asked_again_a_complete_one_skips)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 9, NULL, NULL, &p);
    cr_assert_eq (fc_subscribe (fc, "d.#"), 0);
    fc_inject_topic (fc, &p, "d.x", 1, WIRE_FLAG_DURABLE, "m1");
    fc_inject_topic (fc, &p, "d.x", 4, WIRE_FLAG_DURABLE, "m4"); //  2 and 3 lost
    fc_turn (fc);
    expect_message (fc, 1, "m1");
    wire_replay_req_t *req = take_request (fc, &p);
    replay_msg (fc, &p, req->id, "d.x", 3, "m3"); //  m2 lost on the way back
    fcd_replay_end (fc, &p, req->id, 2);
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0, "neither a gap nor m3 before m2");
    free (req);
    req = take_request (fc, &p);
    cr_assert_eq (req->from_value, 2);
    cr_assert_eq (req->to_seq, 2);
    replay_msg (fc, &p, req->id, "d.x", 2, "m2");
    fcd_replay_end (fc, &p, req->id, 1);
    fc_turn (fc);
    expect_message (fc, 2, "m2");
    expect_message (fc, 3, "m3");
    expect_message (fc, 4, "m4");
    free (req);

    fc_inject_topic (fc, &p, "d.x", 7, WIRE_FLAG_DURABLE, "m7"); //  5 and 6 lost
    fc_turn (fc);
    req = take_request (fc, &p);
    replay_msg (fc, &p, req->id, "d.x", 6, "m6"); //  the publisher has no 5
    fcd_replay_end (fc, &p, req->id, 1);
    fc_turn (fc);
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_GAP);
    cr_assert_eq (e.ev.seq, 1, "5 is not kept");
    expect_message (fc, 6, "m6");
    expect_message (fc, 7, "m7");
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_REPLAY_REQ), 0, "not asked again");
    free (req);
    fc_destroy (&fc);
}

//  A subscription from earliest whose replay was answered before the stream
//  was born: live messages held while that replay was out start the stream
//  only after what came before them is asked for (the start is 1, not the
//  first message seen).
Test (sub_durable, a_stream_born_during_an_earliest_replay_is_fetched_from_its_start)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 10, NULL, NULL, &p);
    cr_assert_eq (
        fc_command_int (fc, "sssi8i", "RSUB", "d.#", "", WIRE_FROM_EARLIEST, (uint64_t)0, 0), 0);
    fc_turn (fc);
    wire_replay_req_t *req = take_request (fc, &p);
    cr_assert_eq (req->from_kind, WIRE_FROM_EARLIEST);
    fc_inject_topic (fc, &p, "d.x", 34, WIRE_FLAG_DURABLE, "m34"); //  1..33 not seen live
    fc_inject_topic (fc, &p, "d.x", 35, WIRE_FLAG_DURABLE, "m35");
    fc_turn (fc); //  held: the replay is out
    cr_assert_eq (fc_event_count (fc, 0), 0);
    fcd_replay_end (fc, &p, req->id, 0); //  answered when d.x did not exist yet
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0, "34 does not start the stream");
    free (req);
    req = take_request (fc, &p);
    cr_assert_eq (req->from_value, 1);
    cr_assert_eq (req->to_seq, 33);
    for (uint64_t seq = 1; seq <= 33; seq++)
        replay_msg (fc, &p, req->id, "d.x", seq, "old");
    fcd_replay_end (fc, &p, req->id, 33);
    fc_turn (fc);
    for (uint64_t seq = 1; seq <= 33; seq++)
        expect_message (fc, seq, "old");
    expect_message (fc, 34, "m34");
    expect_message (fc, 35, "m35");
    free (req);
    fc_destroy (&fc);
}

//  A publisher we expired before its stream started here (still on our SUB
//  for a while): what it sent then is held, not delivered from the middle,
//  and when it is back the stream is fetched from its start.
Test (sub_durable, a_stream_begun_while_its_publisher_is_away_starts_at_its_start)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 11, NULL, NULL, &p);
    cr_assert_eq (
        fc_command_int (fc, "sssi8i", "RSUB", "d.#", "", WIRE_FROM_EARLIEST, (uint64_t)0, 0), 0);
    wire_replay_req_t *req = take_request (fc, &p);
    fcd_replay_end (fc, &p, req->id, 0); //  nothing of d.# yet
    fc_turn (fc);
    free (req);
    fc_inject_simple (fc, &p, WIRE_BYE); //  out of our table
    fc_turn (fc);
    fc_inject_topic (fc, &p, "d.x", 188, WIRE_FLAG_DURABLE, "m188"); //  from a non-peer
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_MESSAGE), 0, "188 is not delivered first");
    fc_events_clear (fc);
    fc_world_clear (fc_world (fc));
    fc_inject_hello (fc, &p); //  back: its parked stream resumes
    fc_turn (fc);
    wire_replay_req_t *range = NULL;
    for (int i = 0; i < 3 && (req = take_request (fc, &p)); i++) {
        if (req->from_kind == WIRE_FROM_SEQ && !range)
            range = req;
        else
            free (req);
        if (fc_count (fc, p.router_ep, WIRE_REPLAY_REQ) == 0)
            break;
    }
    cr_assert_not_null (range, "the start of d.x is asked for");
    fc_events_clear (fc); //  its JOIN
    cr_assert_eq (range->from_value, 1);
    cr_assert_eq (range->to_seq, 187);
    for (uint64_t seq = 1; seq <= 187; seq++)
        replay_msg (fc, &p, range->id, "d.x", seq, "old");
    fcd_replay_end (fc, &p, range->id, 187);
    fc_turn (fc);
    for (uint64_t seq = 1; seq <= 187; seq++)
        expect_message (fc, seq, "old");
    expect_message (fc, 188, "m188");
    free (range);
    fc_destroy (&fc);
}

//  Live messages held while an earliest replay is out may begin the stream;
//  the replay's copies of them are dropped, and what it sends after them
//  must not start the stream later (CI: "got seq 331, expected 1").
Test (sub_durable, replayed_copies_of_held_messages_do_not_move_the_start)
{
    fc_peer_t p;
    fc_t *fc = fcd_start ("sub", 12, NULL, NULL, &p);
    cr_assert_eq (
        fc_command_int (fc, "sssi8i", "RSUB", "d.#", "", WIRE_FROM_EARLIEST, (uint64_t)0, 0), 0);
    wire_replay_req_t *req = take_request (fc, &p);
    for (uint64_t seq = 1; seq <= 3; seq++)
        fc_inject_topic (fc, &p, "d.x", seq, WIRE_FLAG_DURABLE, "live"); //  held: replay out
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0);
    for (uint64_t seq = 1; seq <= 5; seq++)
        replay_msg (fc, &p, req->id, "d.x", seq, seq <= 3 ? "live" : "old");
    fcd_replay_end (fc, &p, req->id, 5);
    fc_turn (fc);
    for (uint64_t seq = 1; seq <= 5; seq++)
        expect_message (fc, seq, seq <= 3 ? "live" : "old");
    cr_assert_eq (fc_event_count (fc, 0), 0, "no gap, no duplicate");
    free (req);
    fc_destroy (&fc);
}
