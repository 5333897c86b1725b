/*  tests/unit/test_sub_membership_swim.c - SWIM in the membership subsystem
    (node/membership/swim.c) through the fake core (tests/support/fakecore.h):
    the PING fields on the wire, indirect probes, suspicion and refutation,
    the dead list that gossip respects, HELLOs repeated until a peer joins,
    the caps (docs/MEMBERSHIP.md). The rest of membership is tested in
    test_sub_membership.c; the helpers both share are in
    tests/support/fc_membership.h.

    Fake peers exist only as the messages the test injects; what the node
    sends them is read back from the fake world's record of its links. The
    clock moves only when a test advances it. Default timings: interval
    1000 ms, evasive 1500 ms, expired 2500 ms, liveness checked every 100 ms.
*/
#include <criterion/criterion.h>

#include "discovery/beacon.h"
#include "fakecore.h"
#include "fc_membership.h"

//  The caps of node/membership/membership.h, as documented in docs/MEMBERSHIP.md.
#define SERVE_MAX 64  //  probe messages served per interval
#define DEAD_MAX  128 //  dead members remembered

//  The wire: PING's optional fields round-trip; a bare PING reads as a heartbeat.
Test (sub_membership, ping_fields_round_trip)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    wire_decoder_t *dec = wire_decoder_new (0);
    fc_peer_t a = fc_peer (1), b = fc_peer (2);
    wire_ping_t in = fcm_record_ping (a.uuid, 7, 3, WIRE_MEMBER_SUSPECT), out;
    in.alive = 1ull << 40;
    in.probe = WIRE_PROBE_RELAY;
    in.probe_id = 99;
    memcpy (in.target, b.uuid, WIRE_UUID_SIZE);
    cr_assert_eq (wire_encode_ping_full (&sb, &in), 0);
    int type = 0;
    cr_assert_eq (wire_decode (dec, sb.data, sb.size, &type), 0);
    cr_assert_eq (type, WIRE_PING);
    cr_assert_eq (wire_get_ping (dec, &out), 0, "%s", wire_decoder_error (dec));
    cr_assert_eq (out.alive, 1ull << 40);
    cr_assert_eq (out.probe, WIRE_PROBE_RELAY);
    cr_assert_eq (out.probe_id, 99);
    cr_assert_eq (memcmp (out.target, b.uuid, WIRE_UUID_SIZE), 0);
    cr_assert_eq (out.nrecords, 1);
    cr_assert_eq (out.records[0].incarnation, 7);
    cr_assert_eq (out.records[0].alive, 3);
    cr_assert_eq (out.records[0].state, WIRE_MEMBER_SUSPECT);
    cr_assert_eq (wire_encode_ping (&sb), 0); //  a node before these fields
    cr_assert_eq (wire_decode (dec, sb.data, sb.size, &type), 0);
    cr_assert_eq (wire_get_ping (dec, &out), 0);
    cr_assert_eq (out.alive, 0);
    cr_assert_eq (out.probe, WIRE_PROBE_NONE);
    cr_assert_eq (out.nrecords, 0);
    in.probe = 5; //  out of range
    cr_assert_eq (wire_encode_ping_full (&sb, &in), WEFT_EINVAL);
    in.probe = 0;
    in.nrecords = WIRE_RECORDS_MAX + 1;
    cr_assert_eq (wire_encode_ping_full (&sb, &in), WEFT_EINVAL);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

//  P1 is silent to us but alive for P2: at the evasive time we ask P2 to
//  probe it; P2 relays its answer and P1 stays a peer, never suspected.
Test (sub_membership, indirect_probe_saves_a_peer_heard_through_another)
{
    fc_t *fc = fcm_start (21, NULL);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fc_world_clear (fc_world (fc));
    fcm_advance_with (fc, 1400, &p2, 1);
    cr_assert_not (fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_REQ, NULL, 0, NULL), "too early");
    fcm_advance_with (fc, 300, &p2, 1);
    wire_ping_t req;
    cr_assert (fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_REQ, NULL, 0, &req),
               "P2 asked to probe");
    cr_assert_eq (memcmp (req.target, p1.uuid, WIRE_UUID_SIZE), 0);
    cr_assert_eq (fc_count (fc, p1.router_ep, WIRE_PING) > 0, true, "P1 still pinged directly");
    wire_ping_t relay = fcm_probe_ping (WIRE_PROBE_RELAY, req.probe_id, p1.uuid);
    fcm_inject_ping (fc, &p2, &relay);
    fc_turn (fc);
    node_peer_info_t row;
    cr_assert (fc_peer_row (fc, &p1, &row));
    cr_assert_str_eq (row.state, "alive", "heard through P2");
    cr_assert_eq (fcm_swim_int (fc, "probes_saved"), 1);
    fcm_advance_with (fc, 1000, &p2, 1); //  2700 ms since P1 last spoke itself
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_EXPIRED), 0);
    cr_assert_not_null (node_peer_find (fc_node (fc), p1.uuid));
    cr_assert_eq (fcm_swim_int (fc, "suspicions"), 0);
    fc_destroy (&fc);
}

//  As a helper we probe the target for the origin and relay its answer; as
//  a target we answer the helper. A request about a stranger does nothing.
Test (sub_membership, probe_requests_are_served_and_relayed)
{
    fc_t *fc = fcm_start (22, NULL);
    fc_peer_t origin = fc_peer (1), target = fc_peer (2), stranger = fc_peer (3);
    fcm_hello (fc, &origin);
    fcm_hello (fc, &target);
    fc_world_clear (fc_world (fc));
    wire_ping_t ping = fcm_probe_ping (WIRE_PROBE_REQ, 7, target.uuid);
    fcm_inject_ping (fc, &origin, &ping);
    fc_turn (fc);
    wire_ping_t got;
    cr_assert (fcm_take_ping (fc, target.router_ep, WIRE_PROBE, NULL, 0, &got), "target probed");
    cr_assert_eq (got.probe_id, 7);
    cr_assert_eq (memcmp (got.target, origin.uuid, WIRE_UUID_SIZE), 0, "names the origin");
    ping = fcm_probe_ping (WIRE_PROBE_ACK, 7, origin.uuid);
    fcm_inject_ping (fc, &target, &ping);
    fc_turn (fc);
    cr_assert (fcm_take_ping (fc, origin.router_ep, WIRE_PROBE_RELAY, NULL, 0, &got), "relayed");
    cr_assert_eq (got.probe_id, 7);
    cr_assert_eq (memcmp (got.target, target.uuid, WIRE_UUID_SIZE), 0, "names who answered");
    ping = fcm_probe_ping (WIRE_PROBE, 8, target.uuid); //  we are probed for TARGET by ORIGIN
    fcm_inject_ping (fc, &origin, &ping);
    fc_turn (fc);
    cr_assert (fcm_take_ping (fc, origin.router_ep, WIRE_PROBE_ACK, NULL, 0, &got), "answered");
    cr_assert_eq (got.probe_id, 8);
    ping = fcm_probe_ping (WIRE_PROBE_REQ, 9, stranger.uuid);
    fcm_inject_ping (fc, &origin, &ping);
    fc_turn (fc);
    cr_assert_eq (fc_world_links_open (fc_world (fc), stranger.router_ep), 0);
    cr_assert_eq (fc_world_sent_count (fc_world (fc), stranger.router_ep), 0);
    fc_destroy (&fc);
}

//  Nobody hears P1: it is suspected, the suspicion is gossiped; a record
//  with a higher alive number (P1 refuted, through P2) clears it for good.
Test (sub_membership, suspicion_is_refuted_by_a_higher_alive_number)
{
    fc_t *fc = fcm_start (23, NULL);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fc_world_clear (fc_world (fc));
    fcm_advance_with (fc, 2200, &p2, 1);
    cr_assert (
        fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_NONE, p1.uuid, WIRE_MEMBER_SUSPECT, NULL),
        "the suspicion is gossiped");
    node_peer_info_t row;
    cr_assert (fc_peer_row (fc, &p1, &row));
    cr_assert_str_eq (row.state, "suspect");
    cr_assert_eq (fcm_swim_int (fc, "suspicions"), 1);
    wire_ping_t stale =
        fcm_record_ping (p1.uuid, 1, 0, WIRE_MEMBER_ALIVE); //  not higher: no effect
    fcm_inject_ping (fc, &p2, &stale);
    fc_turn (fc);
    cr_assert (fc_peer_row (fc, &p1, &row));
    cr_assert_str_eq (row.state, "suspect", "an alive record must be higher to refute");
    wire_ping_t other_run = fcm_record_ping (p1.uuid, 9, 5, WIRE_MEMBER_ALIVE);
    fcm_inject_ping (fc, &p2, &other_run);
    fc_turn (fc);
    cr_assert (fc_peer_row (fc, &p1, &row));
    cr_assert_str_eq (row.state, "suspect", "another incarnation's record does not refute");
    wire_ping_t refuted = fcm_record_ping (p1.uuid, 1, 1, WIRE_MEMBER_ALIVE);
    fcm_inject_ping (fc, &p2, &refuted);
    fc_turn (fc);
    cr_assert (fc_peer_row (fc, &p1, &row));
    cr_assert_str_eq (row.state, "alive");
    cr_assert_eq (fcm_swim_int (fc, "refuted"), 1);
    fcm_advance_with (fc, 600, &p2, 1); //  2800 ms since P1 itself spoke
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_EXPIRED), 0, "refuted: not expired");
    cr_assert_not_null (node_peer_find (fc_node (fc), p1.uuid));
    fc_destroy (&fc);
}

//  A suspicion nobody refutes expires the peer at the expiry, and its death
//  is gossiped (so that it learns it, through whoever still hears it).
Test (sub_membership, unrefuted_suspicion_expires)
{
    fc_t *fc = fcm_start (24, NULL);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fc_events_clear (fc);
    fc_world_clear (fc_world (fc));
    fcm_advance_with (fc, 2300, &p2, 1);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_EXPIRED), 0, "not before the expiry");
    cr_assert (
        fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_NONE, p1.uuid, WIRE_MEMBER_SUSPECT, NULL));
    fcm_advance_with (fc, 300, &p2, 1);
    fcm_expect_event (fc, WEFT_MSG_EVASIVE, &p1);
    fcm_expect_event (fc, WEFT_MSG_EXPIRED, &p1);
    cr_assert_null (node_peer_find (fc_node (fc), p1.uuid));
    fcm_advance_with (fc, 200, &p2, 1);
    cr_assert (fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_NONE, p1.uuid, WIRE_MEMBER_DEAD, NULL),
               "its death is gossiped");
    cr_assert_eq (fcm_swim_int (fc, "dead_remembered"), 1);
    fc_destroy (&fc);
}

//  We hear ourselves suspected: we raise our alive number and say so; we
//  hear ourselves declared dead: we also say HELLO (asking an answer) to all.
Test (sub_membership, we_refute_a_suspicion_and_a_death_of_ourselves)
{
    fc_t *fc = fcm_start (25, NULL);
    node_t *node = fc_node (fc);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fc_world_clear (fc_world (fc));
    wire_ping_t ping = fcm_record_ping (node->uuid, node->incarnation, 0, WIRE_MEMBER_SUSPECT);
    fcm_inject_ping (fc, &p1, &ping);
    fc_turn (fc);
    wire_ping_t got;
    cr_assert (
        fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_NONE, node->uuid, WIRE_MEMBER_ALIVE, &got),
        "our refutation is pushed at once");
    cr_assert_eq (got.alive, 1);
    cr_assert_eq (got.records[0].alive, 1);
    cr_assert_eq (fcm_swim_int (fc, "refutations"), 1);
    fcm_inject_ping (fc, &p1, &ping); //  the same suspicion again: already refuted
    fc_turn (fc);
    cr_assert_eq (fcm_swim_int (fc, "refutations"), 1);
    ping = fcm_record_ping (node->uuid, node->incarnation + 1, 5, WIRE_MEMBER_DEAD); //  not our run
    fcm_inject_ping (fc, &p1, &ping);
    fc_turn (fc);
    cr_assert_eq (fcm_swim_int (fc, "refutations"), 1);
    fc_world_clear (fc_world (fc));
    ping = fcm_record_ping (node->uuid, node->incarnation, 1, WIRE_MEMBER_DEAD);
    fcm_inject_ping (fc, &p1, &ping);
    fc_turn (fc);
    cr_assert_eq (fcm_swim_int (fc, "alive"), 2);
    cr_assert_eq (fcm_swim_int (fc, "expired_learned"), 1);
    for (int i = 0; i < 2; i++) {
        const fc_peer_t *p = i ? &p2 : &p1;
        zmsg_t *m = fc_take (fc, p->router_ep, WIRE_HELLO);
        cr_assert_not_null (m, "HELLO to peer %d", i);
        wire_hello_t h;
        cr_assert_eq (wire_get_hello (fc_decoder (fc), &h), 0);
        cr_assert_eq (h.flags, WIRE_HELLO_ANSWER | WIRE_HELLO_AGAIN);
        zmsg_destroy (&m);
    }
    fc_destroy (&fc);
}

//  A peer we had joined says HELLO asking an answer: it had dropped us. We
//  answer, learn it, and raise our alive number; not so when it only says
//  it is back (AGAIN: it was declared dead, we had not dropped it).
Test (sub_membership, hello_of_a_peer_that_dropped_us_is_learned)
{
    fc_t *fc = fcm_start (29, NULL);
    fc_peer_t p1 = fc_peer (1);
    fcm_hello (fc, &p1);
    fc_world_clear (fc_world (fc));
    p1.hello_flags = WIRE_HELLO_ANSWER | WIRE_HELLO_AGAIN;
    fcm_hello (fc, &p1);
    cr_assert_eq (fc_count (fc, p1.router_ep, WIRE_HELLO), 1, "answered");
    cr_assert_eq (fcm_swim_int (fc, "expired_learned"), 0);
    cr_assert_eq (fcm_swim_int (fc, "alive"), 0);
    p1.hello_flags = WIRE_HELLO_ANSWER;
    fcm_hello (fc, &p1);
    cr_assert_eq (fc_count (fc, p1.router_ep, WIRE_HELLO), 2, "answered");
    cr_assert_eq (fcm_swim_int (fc, "expired_learned"), 1);
    cr_assert_eq (fcm_swim_int (fc, "alive"), 1, "refuted, for whoever suspected us");
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_JOIN), 1, "no second JOIN");
    fc_destroy (&fc);
}

//  P1 expired: PEERS naming the same run of it is not believed (its port may
//  be another process's now), a new run of it is; P1 speaking to us (a
//  PING: it still counts us as its peer) takes it back.
Test (sub_membership, gossip_does_not_resurrect_a_dead_endpoint)
{
    fc_t *fc = fcm_start (26, NULL);
    node_t *node = fc_node (fc);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fcm_advance_with (fc, 2700, &p2, 1);
    cr_assert_null (node_peer_find (node, p1.uuid), "expired");
    fc_world_clear (fc_world (fc));
    fc_inject_peers (fc, &p2, &p1, 1);
    fc_turn (fc);
    cr_assert_null (node_peer_find (node, p1.uuid), "gossip of a dead run is not believed");
    cr_assert_eq (fc_world_links_open (fc_world (fc), p1.router_ep), 0);
    cr_assert_eq (fcm_swim_int (fc, "gossip_ignored"), 1);

    fc_inject_simple (fc, &p1, WIRE_PING); //  it is alive after all, and says so
    fc_turn (fc);
    cr_assert_not_null (node_peer_find (node, p1.uuid), "taken back");
    cr_assert_eq (fc_world_links_open (fc_world (fc), p1.router_ep), 1);
    zmsg_t *m = fc_take (fc, p1.router_ep, WIRE_HELLO);
    cr_assert_not_null (m);
    wire_hello_t h;
    cr_assert_eq (wire_get_hello (fc_decoder (fc), &h), 0);
    cr_assert_eq (h.flags & WIRE_HELLO_ANSWER, WIRE_HELLO_ANSWER, "asking it to answer");
    zmsg_destroy (&m);
    fc_events_clear (fc);
    fcm_hello (fc, &p1);
    fcm_expect_event (fc, WEFT_MSG_JOIN, &p1);
    cr_assert_eq (fcm_swim_int (fc, "readmits"), 1);

    fc_inject_simple (fc, &p1, WIRE_BYE); //  it leaves: a new run of it is believed
    fc_turn (fc);
    cr_assert_null (node_peer_find (node, p1.uuid));
    fc_inject_simple (fc, &p1, WIRE_PING); //  a late PING of the run that left: ignored
    fc_turn (fc);
    cr_assert_null (node_peer_find (node, p1.uuid));
    p1.incarnation = 2;
    fc_inject_peers (fc, &p2, &p1, 1);
    fc_turn (fc);
    cr_assert_not_null (node_peer_find (node, p1.uuid), "a new run is gossiped in");
    fc_destroy (&fc);
}

//  A peer we added whose answer never comes is said HELLO again every
//  interval until it joins (a lost HELLO left such pairs half-joined).
Test (sub_membership, hello_is_repeated_until_the_peer_joins)
{
    fc_t *fc = fcm_start (27, NULL);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fc_inject_peers (fc, &p1, &p2, 1);
    fc_turn (fc);
    cr_assert_eq (fc_count (fc, p2.router_ep, WIRE_HELLO), 1);
    fcm_advance_with (fc, 1000, NULL, 0);
    cr_assert_geq (fc_count (fc, p2.router_ep, WIRE_HELLO), 2, "said again");
    cr_assert_eq (fc_count (fc, p1.router_ep, WIRE_HELLO), 1, "not to a joined peer");
    fcm_hello (fc, &p2);
    fc_world_clear (fc_world (fc));
    fcm_advance_with (fc, 1000, &p2, 1);
    cr_assert_eq (fc_count (fc, p2.router_ep, WIRE_HELLO), 0, "joined: no more");
    fc_destroy (&fc);
}

//  What a peer can make us keep or do is bounded: probe requests served per
//  interval, records about strangers (none kept), dead members remembered.
Test (sub_membership, caps_hold_under_a_flood)
{
    fc_t *fc = fcm_start (28, NULL);
    node_t *node = fc_node (fc);
    fc_peer_t origin = fc_peer (1), target = fc_peer (2);
    fcm_hello (fc, &origin);
    fcm_hello (fc, &target);
    fc_world_clear (fc_world (fc));
    for (int i = 0; i < 1000; i++) {
        wire_ping_t ping = fcm_probe_ping (WIRE_PROBE_REQ, (uint64_t)i, target.uuid);
        fcm_inject_ping (fc, &origin, &ping);
        if (i % 50 == 49)
            fc_run (fc);
    }
    fc_run (fc);
    cr_assert_eq (fc_count (fc, target.router_ep, WIRE_PING), SERVE_MAX,
                  "at most %d probes per interval", SERVE_MAX);
    cr_assert_eq (fcm_swim_int (fc, "probes_refused"), 1000 - SERVE_MAX);

    for (int i = 0; i < 500; i++) { //  records about strangers: nothing is made of them
        fc_peer_t s = fc_peer (3 + i % 190);
        s.uuid[15] ^= (uint8_t)(i / 190 + 1);
        wire_ping_t ping = fcm_record_ping (s.uuid, 1, 1, (uint8_t)(i % 3));
        fcm_inject_ping (fc, &origin, &ping);
        if (i % 50 == 49)
            fc_run (fc);
    }
    fc_run (fc);
    cr_assert_eq (node_peer_count (node), 2);

    for (int n = 3; n <= 200; n++) { //  198 members that all die: 128 remembered
        fc_peer_t p = fc_peer (n);
        fcm_hello (fc, &p);
    }
    fcm_advance_with (fc, 3000, &origin, 1);
    cr_assert_eq (node_peer_count (node), 1, "all expired but the origin (%zu left)",
                  node_peer_count (node));
    cr_assert_eq (fcm_swim_int (fc, "dead_remembered"), DEAD_MAX);
    fc_destroy (&fc);
}

//  A suspicion of P2 said by P1 is relayed once to everyone (so that P2
//  hears it and refutes), not adopted: we still hear P2 ourselves.
Test (sub_membership, suspicions_of_others_are_relayed_once_not_adopted)
{
    fc_t *fc = fcm_start (30, NULL);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fc_world_clear (fc_world (fc));
    wire_ping_t ping = fcm_record_ping (p2.uuid, 1, 0, WIRE_MEMBER_SUSPECT);
    fcm_inject_ping (fc, &p1, &ping);
    fc_turn (fc);
    cr_assert (
        fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_NONE, p2.uuid, WIRE_MEMBER_SUSPECT, NULL),
        "P2 is told it is suspected");
    node_peer_info_t row;
    cr_assert (fc_peer_row (fc, &p2, &row));
    cr_assert_str_eq (row.state, "alive", "not adopted");
    fc_world_clear (fc_world (fc));
    fcm_inject_ping (fc, &p1, &ping); //  the same again: not news
    fc_turn (fc);
    cr_assert_eq (fc_count (fc, p2.router_ep, WIRE_PING), 0, "relayed once");
    ping = fcm_record_ping (p2.uuid, 1, 0, WIRE_MEMBER_DEAD); //  a death: relayed too
    fcm_inject_ping (fc, &p1, &ping);
    fc_turn (fc);
    cr_assert (fcm_take_ping (fc, p2.router_ep, WIRE_PROBE_NONE, p2.uuid, WIRE_MEMBER_DEAD, NULL));
    cr_assert_not_null (node_peer_find (fc_node (fc), p2.uuid), "still our peer");
    fc_destroy (&fc);
}

//  P1 expired here; a record saying it is alive at a higher alive number
//  (it refuted, somewhere else) overrides our verdict: it is taken back.
Test (sub_membership, a_refutation_takes_a_dead_member_back)
{
    fc_t *fc = fcm_start (31, NULL);
    node_t *node = fc_node (fc);
    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2);
    fcm_hello (fc, &p1);
    fcm_hello (fc, &p2);
    fcm_advance_with (fc, 2700, &p2, 1);
    cr_assert_null (node_peer_find (node, p1.uuid), "expired");
    fc_world_clear (fc_world (fc));
    wire_ping_t ping = fcm_record_ping (p1.uuid, 1, 0, WIRE_MEMBER_ALIVE); //  not higher
    fcm_inject_ping (fc, &p2, &ping);
    fc_turn (fc);
    cr_assert_null (node_peer_find (node, p1.uuid));
    ping = fcm_record_ping (p1.uuid, 1, 1, WIRE_MEMBER_ALIVE);
    fcm_inject_ping (fc, &p2, &ping);
    fc_turn (fc);
    cr_assert_not_null (node_peer_find (node, p1.uuid), "taken back");
    cr_assert_eq (fc_count (fc, p1.router_ep, WIRE_HELLO), 1, "and greeted");
    cr_assert_eq (fcm_swim_int (fc, "readmits"), 1);
    fc_destroy (&fc);
}

//  Every join path says or checks the cluster: the HELLO to a seed carries
//  our cluster id (the seed refuses it if it is another cluster's), and
//  PEERS is only taken from a peer whose HELLO (and cluster) we checked.
Test (sub_membership, seeds_hear_our_cluster_and_gossip_needs_a_checked_peer)
{
    const char *kv[] = {"discovery.seeds", "tcp://198.18.0.50:4000", "cluster.name", "ours", NULL};
    fc_t *fc = fcm_start (32, kv);
    fc_advance (fc, 1000);
    zmsg_t *m = fc_take (fc, "tcp://198.18.0.50:4000", WIRE_HELLO);
    cr_assert_not_null (m);
    wire_hello_t h;
    cr_assert_eq (wire_get_hello (fc_decoder (fc), &h), 0);
    cr_assert_eq (h.cluster, beacon_cluster_id ("ours"));
    zmsg_destroy (&m);

    fc_peer_t p1 = fc_peer (1), p2 = fc_peer (2), p3 = fc_peer (3);
    fcm_hello (fc, &p1);
    fc_inject_peers (fc, &p1, &p2, 1); //  P1 gossips P2: added (connecting, not joined)
    fc_turn (fc);
    cr_assert_not_null (node_peer_find (fc_node (fc), p2.uuid));
    fc_inject_peers (fc, &p2, &p3, 1); //  P2 has not said HELLO: its gossip is not taken
    fc_turn (fc);
    cr_assert_null (node_peer_find (fc_node (fc), p3.uuid));
    fcm_hello (fc, &p2);
    fc_inject_peers (fc, &p2, &p3, 1);
    fc_turn (fc);
    cr_assert_not_null (node_peer_find (fc_node (fc), p3.uuid), "now it is");
    fc_destroy (&fc);
}
