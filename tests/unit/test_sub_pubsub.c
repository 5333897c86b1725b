/*  tests/unit/test_sub_pubsub.c - the pubsub subsystem (volatile topics)
    through the fake core (tests/support/fakecore.h): publish sequences,
    delivery of subscribed topics from known peers, gaps, malformed frames,
    readiness markers, the SUB following the peer table, stream heads (tail
    gaps) and drop counts (MISSED).
*/
#include <criterion/criterion.h>

#include "fakecore.h"

//  A started node "ps" (no journal) that knows fake peer 1 (joined), with
//  its start-up traffic and events forgotten.
static fc_t *start (uint64_t seed, fc_peer_t *p)
{
    fc_t *fc = fc_start_new ("ps", seed, NULL, NULL);
    *p = fc_peer (1);
    fc_inject_hello (fc, p);
    fc_turn (fc);
    fc_world_clear (fc_world (fc));
    fc_events_clear (fc);
    return fc;
}

//  Takes the next publish; checks its topic, sequence and body.
static void expect_published (fc_t *fc, const char *topic, uint64_t seq, const char *body)
{
    wire_msg_t msg;
    zmsg_t *m = fc_take_published (fc, &msg);
    cr_assert_not_null (m, "a publish of %s #%" PRIu64, topic, seq);
    cr_assert_eq (zmsg_size (m), 3);
    char *t = zframe_strdup (zmsg_first (m));
    zmsg_next (m);
    char *b = zframe_strdup (zmsg_next (m));
    cr_assert_str_eq (t, topic);
    cr_assert_str_eq (b, body);
    cr_assert_eq (msg.seq, seq);
    cr_assert_eq (msg.flags, 0);
    cr_assert_eq (memcmp (msg.sender, fc_node (fc)->uuid, WIRE_UUID_SIZE), 0);
    free (t);
    free (b);
    zmsg_destroy (&m);
}

//  Takes the next event; fails unless it is a MESSAGE of TOPIC, SEQ, BODY from P.
static void expect_message (fc_t *fc, const fc_peer_t *p, const char *topic, uint64_t seq,
                            const char *body)
{
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e), "no event (expected %s #%" PRIu64 ")", topic, seq);
    cr_assert_eq (e.ev.kind, WEFT_MSG_MESSAGE, "kind %d", e.ev.kind);
    cr_assert_str_eq (e.topic, topic);
    cr_assert_eq (e.ev.seq, seq);
    cr_assert_str_eq (e.body, body);
    cr_assert_str_eq (e.ev.sender, p->hex);
    cr_assert_str_eq (e.ev.sender_name, p->name);
}

Test (sub_pubsub, publish_goes_out_with_increasing_sequences)
{
    fc_peer_t p;
    fc_t *fc = start (1, &p);
    fc_publish (fc, "a.b", "one");
    fc_publish (fc, "a.b", "two");
    fc_publish (fc, "c", "three");
    fc_publish (fc, "a.b", "four");
    expect_published (fc, "a.b", 1, "one");
    expect_published (fc, "a.b", 2, "two");
    expect_published (fc, "c", 1, "three"); //  sequences are per topic
    expect_published (fc, "a.b", 3, "four");
    cr_assert_null (fc_take_published (fc, NULL));
    cr_assert_eq (fc_status_int (fc, "published"), 4);
    fc_destroy (&fc);
}

Test (sub_pubsub, publish_carries_headers)
{
    fc_peer_t p;
    fc_t *fc = start (2, &p);
    zsock_send (fc_pipe (fc), "ssbb", "PUB", "h", "body", (size_t)4, "k\0v\0", (size_t)4);
    fc_turn (fc);
    wire_msg_t msg;
    zmsg_t *m = fc_take_published (fc, &msg);
    cr_assert_not_null (m);
    cr_assert_eq (msg.nheaders, 1);
    cr_assert_eq (msg.headers[0].key_len, 1);
    cr_assert_eq (memcmp (msg.headers[0].key, "k", 1), 0);
    cr_assert_eq (memcmp (msg.headers[0].value, "v", 1), 0);
    zmsg_destroy (&m);
    fc_destroy (&fc);
}

Test (sub_pubsub, subscribed_topic_from_a_peer_is_delivered)
{
    fc_peer_t p;
    fc_t *fc = start (3, &p);
    cr_assert_eq (fc_subscribe (fc, "news.*"), 0);
    cr_assert_eq (fc_world_sub_filter (fc_world (fc), "news.", 5), 1, "the SUB filters news.");
    cr_assert_eq (fc_subscribe (fc, "bad..pattern"), WEFT_EINVAL);
    fc_inject_topic (fc, &p, "news.today", 1, 0, "hello");
    fc_inject_topic (fc, &p, "news.today", 2, 0, "again");
    fc_turn (fc);
    expect_message (fc, &p, "news.today", 1, "hello");
    expect_message (fc, &p, "news.today", 2, "again");
    cr_assert_eq (fc_event_count (fc, 0), 0);
    cr_assert_eq (fc_status_int (fc, "delivered"), 2);
    cr_assert_eq (fc_status_int (fc, "gaps"), 0);

    cr_assert_eq (fc_command_int (fc, "ss", "UNSUB", "news.*"), 0);
    cr_assert_eq (fc_world_sub_filter (fc_world (fc), "news.", 5), 0);
    fc_inject_topic (fc, &p, "news.today", 3, 0, "gone");
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0, "unsubscribed: not delivered");
    fc_destroy (&fc);
}

Test (sub_pubsub, a_sequence_jump_is_a_gap)
{
    fc_peer_t p;
    fc_t *fc = start (4, &p);
    cr_assert_eq (fc_subscribe (fc, "t"), 0);
    fc_inject_topic (fc, &p, "t", 10, 0, "first"); //  a stream joined late: no gap
    fc_inject_topic (fc, &p, "t", 11, 0, "next");
    fc_inject_topic (fc, &p, "t", 15, 0, "jump");
    fc_turn (fc);
    expect_message (fc, &p, "t", 10, "first");
    expect_message (fc, &p, "t", 11, "next");
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_GAP);
    cr_assert_eq (e.ev.seq, 3, "12, 13 and 14 were lost");
    cr_assert_str_eq (e.topic, "t");
    cr_assert_str_eq (e.ev.sender, p.hex);
    expect_message (fc, &p, "t", 15, "jump");
    cr_assert_eq (fc_status_int (fc, "gaps"), 3);

    fc_inject_topic (fc, &p, "t", 1, 0, "restarted"); //  a lower seq: its count restarted
    fc_inject_topic (fc, &p, "t", 2, 0, "on");
    fc_turn (fc);
    expect_message (fc, &p, "t", 1, "restarted");
    expect_message (fc, &p, "t", 2, "on");
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_GAP), 0);
    fc_destroy (&fc);
}

Test (sub_pubsub, gaps_are_per_publisher_and_topic)
{
    fc_peer_t p, q = fc_peer (2);
    fc_t *fc = start (5, &p);
    fc_inject_hello (fc, &q);
    fc_turn (fc);
    fc_events_clear (fc);
    cr_assert_eq (fc_subscribe (fc, "#"), 0);
    fc_inject_topic (fc, &p, "x", 1, 0, "p1");
    fc_inject_topic (fc, &q, "x", 7, 0, "q7");
    fc_inject_topic (fc, &p, "y", 4, 0, "p-y4");
    fc_inject_topic (fc, &p, "x", 2, 0, "p2");
    fc_inject_topic (fc, &q, "x", 8, 0, "q8");
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_MESSAGE), 5);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_GAP), 0);
    fc_destroy (&fc);
}

Test (sub_pubsub, a_topic_not_subscribed_is_not_delivered)
{
    fc_peer_t p;
    fc_t *fc = start (6, &p);
    cr_assert_eq (fc_subscribe (fc, "a.*.c"), 0);
    fc_inject_topic (fc, &p, "a.b", 1, 0, "prefix only"); //  passes "a." but not the pattern
    fc_inject_topic (fc, &p, "other", 1, 0, "nothing to do with it"); //  the fake SUB lets it in
    fc_inject_topic (fc, &p, "a.b.c", 1, 0, "yes");
    fc_turn (fc);
    expect_message (fc, &p, "a.b.c", 1, "yes");
    cr_assert_eq (fc_event_count (fc, 0), 0);
    cr_assert_eq (fc_status_int (fc, "received"), 3);
    cr_assert_eq (fc_status_int (fc, "delivered"), 1);
    fc_destroy (&fc);
}

//  A publisher not in our table (not met yet, or expired) is still named by
//  its UUID; its name is unknown, and no gap is counted for it.
Test (sub_pubsub, a_message_of_an_unknown_publisher_names_its_uuid)
{
    fc_peer_t p, stranger = fc_peer (7);
    fc_t *fc = start (7, &p);
    cr_assert_eq (fc_subscribe (fc, "t"), 0);
    fc_inject_topic (fc, &stranger, "t", 3, 0, "who");
    fc_inject_topic (fc, &stranger, "t", 9, 0, "knows");
    fc_turn (fc);
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_MESSAGE);
    cr_assert_str_eq (e.ev.sender, stranger.hex);
    cr_assert_str_eq (e.ev.sender_name, "");
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_MESSAGE, "no gap check without a known sender");
    fc_destroy (&fc);
}

//  Injects a SUB message of COUNT frames (topic, header, body).
static void inject_sub (fc_t *fc, const char *const *frames, const size_t *lens, int count)
{
    zmsg_t *m = zmsg_new ();
    for (int i = 0; i < count; i++)
        zmsg_addmem (m, frames[i], lens[i]);
    fc_world_inject (fc_world (fc), WORLD_SUB, &m, NULL);
}

Test (sub_pubsub, malformed_frames_are_counted)
{
    fc_peer_t p;
    fc_t *fc = start (8, &p);
    cr_assert_eq (fc_subscribe (fc, "#"), 0);
    int64_t before = fc_status_int (fc, "bad_frames");
    const char *garbage[] = {"t", "\xc1\xc1\xc1", "body"};
    const size_t garbage_lens[] = {1, 3, 4};
    inject_sub (fc, garbage, garbage_lens, 3); //  a header that is not msgpack
    inject_sub (fc, garbage, garbage_lens, 2); //  two frames
    const char *bad_topic[] = {"no..dots", "", ""};
    const size_t bad_topic_lens[] = {8, 0, 0};
    inject_sub (fc, bad_topic, bad_topic_lens, 3); //  an invalid topic
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_ping (&sbuf), 0);
    const char *ping[] = {"t", sbuf.data, "x"};
    const size_t ping_lens[] = {1, sbuf.size, 1};
    inject_sub (fc, ping, ping_lens, 3); //  a header of the wrong type
    //  on the ROUTER: garbage from a known peer, and a short routing id
    zmsg_t *m = zmsg_new ();
    zmsg_addmem (m, p.uuid, WIRE_UUID_SIZE);
    zmsg_addmem (m, "\x93\x01", 2);
    fc_world_inject (fc_world (fc), WORLD_ROUTER, &m, NULL);
    m = zmsg_new ();
    zmsg_addmem (m, "abc", 3);
    zmsg_addmem (m, sbuf.data, sbuf.size);
    fc_world_inject (fc_world (fc), WORLD_ROUTER, &m, NULL);
    m = zmsg_new ();
    for (int i = 0; i < 5; i++) //  more frames than any message has
        zmsg_addmem (m, p.uuid, WIRE_UUID_SIZE);
    fc_world_inject (fc_world (fc), WORLD_ROUTER, &m, NULL);
    msgpack_sbuffer_destroy (&sbuf);
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0);
    cr_assert_eq (fc_status_int (fc, "bad_frames"), before + 7);
    fc_inject_topic (fc, &p, "t", 1, 0, "still alive");
    fc_turn (fc);
    expect_message (fc, &p, "t", 1, "still alive");
    fc_destroy (&fc);
}

Test (sub_pubsub, a_message_type_nobody_owns_is_counted)
{
    fc_peer_t p;
    fc_t *fc = start (9, &p);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_uint8 (&pk, WIRE_VERSION);
    msgpack_pack_uint8 (&pk, 99);
    fc_inject_router (fc, p.uuid, &sbuf, NULL, 0);
    msgpack_sbuffer_destroy (&sbuf);
    fc_turn (fc);
    cr_assert_eq (fc_status_int (fc, "unknown_type"), 1);
    fc_destroy (&fc);
}

//  PEERS' "ready" column for P.
static const char *ready_of (fc_t *fc, const fc_peer_t *p, node_peer_info_t *row)
{
    cr_assert (fc_peer_row (fc, p, row), "%s in the table", p->name);
    return row->ready;
}

Test (sub_pubsub, the_readiness_marker_marks_the_peer_ready)
{
    fc_peer_t p, early = fc_peer (2);
    fc_t *fc = start (10, &p);
    node_peer_info_t row;
    uint8_t marker[1 + WIRE_UUID_SIZE] = {0xFF};
    memcpy (marker + 1, fc_node (fc)->uuid, WIRE_UUID_SIZE);
    cr_assert_eq (fc_world_sub_filter (fc_world (fc), marker, sizeof marker), 1,
                  "our SUB subscribes to our own marker");
    cr_assert_str_eq (ready_of (fc, &p, &row), "no");
    fc_inject_xpub (fc, true, "news", 4); //  a user subscription: nothing to do
    fc_inject_ready (fc, &p);
    fc_turn (fc);
    cr_assert_str_eq (ready_of (fc, &p, &row), "yes");
    memcpy (marker + 1, p.uuid, WIRE_UUID_SIZE);
    fc_inject_xpub (fc, false, marker, sizeof marker); //  its SUB went away
    fc_turn (fc);
    cr_assert_str_eq (ready_of (fc, &p, &row), "no");

    fc_inject_ready (fc, &early); //  before we know it
    fc_turn (fc);
    fc_inject_hello (fc, &early);
    fc_turn (fc);
    cr_assert_str_eq (ready_of (fc, &early, &row), "yes", "an early marker is remembered");
    fc_destroy (&fc);
}

Test (sub_pubsub, the_sub_follows_the_peer_table)
{
    fc_peer_t p;
    fc_t *fc = start (11, &p);
    cr_assert (fc_world_sub_connected (fc_world (fc), p.pub_ep));
    fc_inject_simple (fc, &p, WIRE_BYE);
    fc_turn (fc);
    cr_assert (fc_world_sub_connected (fc_world (fc), p.pub_ep),
               "what it sent last may still be queued: not disconnected at once");
    fc_advance (fc, 9000);
    cr_assert (fc_world_sub_connected (fc_world (fc), p.pub_ep));
    fc_advance (fc, 1100);
    cr_assert_not (fc_world_sub_connected (fc_world (fc), p.pub_ep), "disconnected after 10 s");
    fc_destroy (&fc);
}

Test (sub_pubsub, a_peer_back_before_the_disconnect_keeps_its_connection)
{
    fc_peer_t p;
    fc_t *fc = start (12, &p);
    fc_inject_simple (fc, &p, WIRE_BYE);
    fc_turn (fc);
    p.incarnation = 2;
    fc_inject_hello (fc, &p);
    fc_turn (fc);
    fc_advance (fc, 11000);
    cr_assert (fc_world_sub_connected (fc_world (fc), p.pub_ep), "its new life uses it");
    cr_assert_eq (fc_subscribe (fc, "t"), 0);
    fc_inject_topic (fc, &p, "t", 1, 0, "back");
    fc_turn (fc);
    fc_event_t e;
    cr_assert (fc_event (fc, WEFT_MSG_MESSAGE, &e));
    cr_assert_str_eq (e.body, "back");
    fc_destroy (&fc);
}

//  Lets MS of virtual time pass while peer P keeps talking (PING), so that
//  it stays in the table.
static void advance_alive (fc_t *fc, const fc_peer_t *p, int64_t ms)
{
    for (int64_t t = 0; t < ms; t += 250) {
        fc_inject_simple (fc, p, WIRE_PING);
        fc_advance (fc, 250);
    }
}

//  Publishes of HEADs waiting: how many; the last one's seq in *SEQ.
static size_t take_heads (fc_t *fc, const char *topic, uint64_t *seq)
{
    size_t heads = 0;
    wire_msg_t msg;
    zmsg_t *m;
    while ((m = fc_take_published (fc, &msg))) {
        cr_assert_eq (msg.flags, WIRE_FLAG_HEAD, "a volatile HEAD has no DURABLE flag");
        char *t = zframe_strdup (zmsg_first (m));
        cr_assert_str_eq (t, topic);
        zmsg_next (m);
        cr_assert_eq (zframe_size (zmsg_next (m)), 0, "a HEAD has an empty body");
        free (t);
        *seq = msg.seq;
        heads++;
        zmsg_destroy (&m);
    }
    return heads;
}

Test (sub_pubsub, the_head_of_a_recent_stream_is_announced_for_ten_intervals)
{
    fc_peer_t p;
    fc_t *fc = start (20, &p);
    for (int i = 0; i < 3; i++)
        fc_publish (fc, "a", "x");
    for (int i = 0; i < 3; i++)
        zmsg_destroy (&(zmsg_t *){fc_take_published (fc, NULL)});
    uint64_t seq = 0;
    advance_alive (fc, &p, 1500);
    cr_assert_geq (take_heads (fc, "a", &seq), 1, "a HEAD within one interval");
    cr_assert_eq (seq, 3);
    advance_alive (fc, &p, 12000);
    size_t later = take_heads (fc, "a", &seq);
    cr_assert (later >= 7 && later <= 9, "%zu more HEADs: 10 in all", later);
    advance_alive (fc, &p, 3000);
    cr_assert_eq (take_heads (fc, "a", &seq), 0, "a quiet stream is announced no more");
    fc_destroy (&fc);
}

Test (sub_pubsub, no_heads_while_a_peer_cannot_take_them)
{
    fc_peer_t p;
    fc_t *fc = start (21, &p);
    fc_peer_t old = fc_peer (2);
    old.caps = WIRE_CAP_PUBSUB; //  an older node: it would deliver a HEAD
    fc_inject_hello (fc, &old);
    fc_publish (fc, "a", "x");
    zmsg_destroy (&(zmsg_t *){fc_take_published (fc, NULL)});
    for (int i = 0; i < 8; i++) {
        fc_inject_simple (fc, &old, WIRE_PING);
        advance_alive (fc, &p, 250);
    }
    uint64_t seq = 0;
    cr_assert_eq (take_heads (fc, "a", &seq), 0);
    fc_destroy (&fc);
}

Test (sub_pubsub, a_head_past_the_last_message_is_a_tail_gap_told_to_the_publisher)
{
    fc_peer_t p;
    fc_t *fc = start (22, &p);
    cr_assert_eq (fc_subscribe (fc, "#"), 0);
    fc_inject_topic (fc, &p, "t", 1, 0, "one");
    fc_inject_topic (fc, &p, "t", 2, 0, "two");
    fc_inject_topic (fc, &p, "t", 5, WIRE_FLAG_HEAD, ""); //  3..5 never came
    fc_inject_topic (fc, &p, "t", 5, WIRE_FLAG_HEAD, ""); //  the next interval's: nothing new
    fc_inject_topic (fc, &p, "u", 9, WIRE_FLAG_HEAD, ""); //  a stream we never saw: no gap
    fc_inject_topic (fc, &p, "u", 10, 0, "ten");
    fc_turn (fc);
    expect_message (fc, &p, "t", 1, "one");
    expect_message (fc, &p, "t", 2, "two");
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e));
    cr_assert_eq (e.ev.kind, WEFT_MSG_GAP);
    cr_assert_eq (e.ev.seq, 3, "3, 4 and 5 were lost");
    cr_assert_str_eq (e.topic, "t");
    expect_message (fc, &p, "u", 10, "ten");
    cr_assert_eq (fc_event_count (fc, 0), 0, "a HEAD is never delivered");
    cr_assert_eq (fc_status_int (fc, "gaps"), 3);

    //  the publisher hears of it once per change
    fc_world_clear (fc_world (fc));
    advance_alive (fc, &p, 1100);
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_MISSED);
    cr_assert_not_null (m, "MISSED went to the publisher");
    uint64_t missed = 0;
    cr_assert_eq (wire_get_missed (fc_decoder (fc), &missed), 0);
    cr_assert_eq (missed, 3);
    zmsg_destroy (&m);
    advance_alive (fc, &p, 2100);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_MISSED), 0, "unchanged: not said again");
    char *status = fc_status (fc);
    cr_assert (strstr (status, "\"missed\":3,\"dropped\":0"), "%s", status);
    free (status);
    fc_destroy (&fc);
}

Test (sub_pubsub, a_subscribers_missed_count_shows_in_the_publishers_status)
{
    fc_peer_t p;
    fc_t *fc = start (23, &p);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_missed (&sbuf, 7), 0);
    fc_inject_router (fc, p.uuid, &sbuf, NULL, 0);
    fc_turn (fc);
    char *status = fc_status (fc);
    char expect[128];
    snprintf (expect, sizeof expect, "{\"uuid\":\"%s\",\"missed\":0,\"dropped\":7}", p.hex);
    cr_assert (strstr (status, expect), "%s", status);
    free (status);
    //  a truncated MISSED is counted, not believed
    msgpack_sbuffer_clear (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, WIRE_MISSED);
    int64_t bad = fc_status_int (fc, "bad_frames");
    fc_inject_router (fc, p.uuid, &sbuf, NULL, 0);
    fc_turn (fc);
    cr_assert_eq (fc_status_int (fc, "bad_frames"), bad + 1);
    msgpack_sbuffer_destroy (&sbuf);
    fc_destroy (&fc);
}
