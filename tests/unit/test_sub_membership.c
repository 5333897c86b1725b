/*  tests/unit/test_sub_membership.c - the membership subsystem through the
    fake core (tests/support/fakecore.h): HELLO, PEERS, BYE, evasive and
    expired peers, forged HELLOs, foreign beacons, status requests, the
    cluster a HELLO says. SWIM (node/membership/swim.c) is tested in
    test_sub_membership_swim.c; the helpers both share are in
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
#include "node/core/config.h"

Test (sub_membership, hello_from_unknown_adds_and_joins_once)
{
    fc_t *fc = fcm_start (1, NULL);
    node_t *node = fc_node (fc);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);

    cr_assert_eq (fc_world_links_open (fc_world (fc), p.router_ep), 1, "a link to its ROUTER");
    cr_assert (fc_world_sub_connected (fc_world (fc), p.pub_ep), "our SUB on its PUB");
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_HELLO);
    cr_assert_not_null (m, "our HELLO sent to it");
    wire_hello_t ours;
    cr_assert_eq (wire_get_hello (fc_decoder (fc), &ours), 0);
    cr_assert_eq (memcmp (ours.uuid, node->uuid, WIRE_UUID_SIZE), 0);
    cr_assert_str_eq (ours.router_ep, "tcp://" FC_ADDR ":5000");
    cr_assert_str_eq (ours.name, "m");
    zmsg_destroy (&m);
    m = fc_take (fc, p.router_ep, WIRE_PEERS);
    cr_assert_not_null (m, "our PEERS sent to it");
    zmsg_destroy (&m);

    fc_event_t e;
    cr_assert (fc_event (fc, WEFT_MSG_JOIN, &e));
    cr_assert_str_eq (e.ev.sender, p.hex);
    cr_assert_str_eq (e.ev.sender_name, "fake-1");
    peer_t *peer = node_peer_find (node, p.uuid);
    cr_assert_not_null (peer);
    cr_assert (peer->joined);

    fcm_hello (fc, &p); //  the same run again: known, no second JOIN
    cr_assert_eq (fc_event_count (fc, 0), 0);
    cr_assert_eq (fc_world_links_open (fc_world (fc), p.router_ep), 1);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_PEERS), 1, "a known peer is sent PEERS again");
    cr_assert_eq (fc_status_int (fc, "joins"), 1);
    cr_assert_eq (fc_status_int (fc, "peers"), 1);
    node_peer_info_t row;
    cr_assert (fc_peer_row (fc, &p, &row));
    cr_assert_str_eq (row.state, "alive");
    cr_assert_str_eq (row.source, "hello");
    cr_assert_str_eq (row.endpoint, p.router_ep);
    fc_destroy (&fc);
}

Test (sub_membership, new_incarnation_is_leave_then_join)
{
    fc_t *fc = fcm_start (2, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);
    fcm_expect_event (fc, WEFT_MSG_JOIN, &p);
    p.incarnation = 2; //  it restarted
    fcm_hello (fc, &p);
    fcm_expect_event (fc, WEFT_MSG_LEAVE, &p);
    fcm_expect_event (fc, WEFT_MSG_JOIN, &p);
    cr_assert_eq (fc_event_count (fc, 0), 0);
    cr_assert_eq (node_peer_find (fc_node (fc), p.uuid)->incarnation, 2);
    cr_assert_eq (fc_world_links_open (fc_world (fc), p.router_ep), 1, "the old link is closed");
    cr_assert_eq (fc_status_int (fc, "leaves"), 1);
    cr_assert_eq (fc_status_int (fc, "joins"), 2);
    fc_destroy (&fc);
}

Test (sub_membership, silence_makes_evasive_then_expired)
{
    fc_t *fc = fcm_start (3, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);
    fcm_expect_event (fc, WEFT_MSG_JOIN, &p);

    fc_advance (fc, 1400);
    cr_assert_eq (fc_event_count (fc, 0), 0, "not evasive before 1500 ms");
    cr_assert_geq (fc_count (fc, p.router_ep, WIRE_PING), 1, "pinged every interval");
    fc_advance (fc, 200);
    fcm_expect_event (fc, WEFT_MSG_EVASIVE, &p);
    node_peer_info_t row;
    cr_assert (fc_peer_row (fc, &p, &row));
    cr_assert_str_eq (row.state, "evasive");

    fc_advance (fc, 800); //  2400 ms of silence
    cr_assert_eq (fc_event_count (fc, 0), 0, "not expired before 2500 ms");
    cr_assert_not_null (node_peer_find (fc_node (fc), p.uuid));
    fc_advance (fc, 200);
    fcm_expect_event (fc, WEFT_MSG_EXPIRED, &p);
    cr_assert_null (node_peer_find (fc_node (fc), p.uuid));
    cr_assert_eq (fc_world_links_open (fc_world (fc), p.router_ep), 0);
    cr_assert_eq (fc_status_int (fc, "expiries"), 1);
    cr_assert_eq (fc_status_int (fc, "peers"), 0);
    fc_destroy (&fc);
}

Test (sub_membership, any_message_refreshes_an_evasive_peer)
{
    fc_t *fc = fcm_start (4, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);
    fc_advance (fc, 1600);
    cr_assert (fc_event (fc, WEFT_MSG_EVASIVE, NULL));
    fc_inject_simple (fc, &p, WIRE_PING);
    fc_turn (fc);
    node_peer_info_t row;
    cr_assert (fc_peer_row (fc, &p, &row));
    cr_assert_str_eq (row.state, "alive");
    fc_advance (fc, 2000); //  2000 ms since the PING: evasive again, not expired
    cr_assert (fc_event (fc, WEFT_MSG_EVASIVE, NULL));
    cr_assert_not_null (node_peer_find (fc_node (fc), p.uuid));
    fc_destroy (&fc);
}

Test (sub_membership, bye_is_leave)
{
    fc_t *fc = fcm_start (5, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);
    fcm_expect_event (fc, WEFT_MSG_JOIN, &p);
    fc_inject_simple (fc, &p, WIRE_BYE);
    fc_turn (fc);
    fcm_expect_event (fc, WEFT_MSG_LEAVE, &p);
    cr_assert_null (node_peer_find (fc_node (fc), p.uuid));
    cr_assert_eq (fc_world_links_open (fc_world (fc), p.router_ep), 0);
    cr_assert_eq (fc_status_int (fc, "leaves"), 1);
    fc_inject_simple (fc, &p, WIRE_BYE); //  from a stranger now: ignored
    fc_turn (fc);
    cr_assert_eq (fc_event_count (fc, 0), 0);
    fc_destroy (&fc);
}

Test (sub_membership, peers_gossip_adds_the_listed_peers)
{
    fc_t *fc = fcm_start (6, NULL);
    node_t *node = fc_node (fc);
    fc_peer_t p1 = fc_peer (1), list[3] = {fc_peer (2), fc_peer (3), fc_peer (9)};
    memcpy (list[2].uuid, node->uuid, WIRE_UUID_SIZE); //  ourselves: never added
    fcm_hello (fc, &p1);
    fc_events_clear (fc);
    fc_inject_peers (fc, &p1, list, 3);
    fc_turn (fc);
    for (int i = 0; i < 2; i++) {
        cr_assert_not_null (node_peer_find (node, list[i].uuid), "gossiped peer %d added", i);
        cr_assert_eq (fc_world_links_open (fc_world (fc), list[i].router_ep), 1);
        cr_assert_eq (fc_count (fc, list[i].router_ep, WIRE_HELLO), 1, "greeted");
        node_peer_info_t row;
        cr_assert (fc_peer_row (fc, &list[i], &row));
        cr_assert_str_eq (row.source, "gossip");
        cr_assert_str_eq (row.state, "connecting");
    }
    cr_assert_eq (fc_world_links_open (fc_world (fc), list[2].router_ep), 0);
    cr_assert_eq (node_peer_count (node), 3);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_JOIN), 0, "joined only when its HELLO comes");
    fcm_hello (fc, &list[0]);
    fcm_expect_event (fc, WEFT_MSG_JOIN, &list[0]);
    fc_destroy (&fc);
}

Test (sub_membership, hello_claiming_another_uuid_is_dropped)
{
    fc_t *fc = fcm_start (7, NULL);
    fc_world_t *w = fc_world (fc);
    fc_peer_t liar = fc_peer (1), victim = fc_peer (2);
    //  VICTIM's HELLO, sent from LIAR's routing id
    wire_hello_t h = {.incarnation = 1, .role = WIRE_ROLE_MEMBER};
    memcpy (h.uuid, victim.uuid, WIRE_UUID_SIZE);
    snprintf (h.name, sizeof h.name, "victim");
    snprintf (h.router_ep, sizeof h.router_ep, "%s", victim.router_ep);
    snprintf (h.pub_ep, sizeof h.pub_ep, "%s", victim.pub_ep);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_hello (&sbuf, &h), 0);
    fc_inject_router (fc, liar.uuid, &sbuf, NULL, 0);
    msgpack_sbuffer_destroy (&sbuf);
    int64_t before = fc_status_int (fc, "bad_frames");
    fc_turn (fc);
    cr_assert_null (node_peer_find (fc_node (fc), victim.uuid));
    cr_assert_null (node_peer_find (fc_node (fc), liar.uuid));
    cr_assert_eq (fc_status_int (fc, "bad_frames"), before + 1);
    cr_assert_eq (fc_event_count (fc, 0), 0);
    cr_assert_eq (fc_world_sent_count (w, NULL), 0, "nothing sent to anyone");
    fc_destroy (&fc);
}

Test (sub_membership, messages_of_strangers_are_ignored)
{
    fc_t *fc = fcm_start (8, NULL);
    fc_peer_t p = fc_peer (1);
    fc_inject_simple (fc, &p, WIRE_PING);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_status (&sbuf, WIRE_STATUS_REQ, 5), 0);
    fc_inject_router (fc, p.uuid, &sbuf, NULL, 0);
    msgpack_sbuffer_destroy (&sbuf);
    fc_turn (fc);
    cr_assert_eq (node_peer_count (fc_node (fc)), 0);
    cr_assert_eq (fc_world_sent_count (fc_world (fc), NULL), 0);
    fc_destroy (&fc);
}

//  A beacon of UUID for CLUSTER, ports 4000 / 4001.
static void beacon (fc_t *fc, const fc_peer_t *p, const char *cluster, const char *from)
{
    beacon_t b = {.version = BEACON_VERSION,
                  .cluster_id = beacon_cluster_id (cluster),
                  .incarnation = p->incarnation,
                  .router_port = 4000,
                  .pub_port = 4001};
    memcpy (b.uuid, p->uuid, WIRE_UUID_SIZE);
    uint8_t buf[BEACON_SIZE];
    cr_assert_eq (beacon_encode (&b, buf, sizeof buf), BEACON_SIZE);
    fc_inject_beacon (fc, buf, sizeof buf, from);
}

Test (sub_membership, beacons_of_another_cluster_are_foreign)
{
    const char *kv[] = {"discovery.enabled", "true", "cluster.name", "ours", NULL};
    fc_t *fc = fcm_start (9, kv);
    fc_peer_t stranger = fc_peer (1), neighbour = fc_peer (2);
    beacon (fc, &stranger, "theirs", "198.18.0.9");
    fc_inject_beacon (fc, "not a beacon at all, but long enough to be read as one.", 44,
                      "198.18.0.30");
    fc_turn (fc);
    cr_assert_eq (fc_status_int (fc, "foreign_beacons"), 2, "another cluster, another magic");
    cr_assert_eq (node_peer_count (fc_node (fc)), 0);

    beacon (fc, &neighbour, "ours", "198.18.0.10");
    fc_turn (fc);
    cr_assert_not_null (node_peer_find (fc_node (fc), neighbour.uuid));
    cr_assert_eq (fc_world_links_open (fc_world (fc), "tcp://198.18.0.10:4000"), 1);
    cr_assert (fc_world_sub_connected (fc_world (fc), "tcp://198.18.0.10:4001"));
    cr_assert_eq (fc_count (fc, "tcp://198.18.0.10:4000", WIRE_HELLO), 1);
    fc_advance (fc, 1000);
    cr_assert_geq (fc_world_beacons_sent (fc_world (fc)), 1, "our own beacon each interval");
    fc_destroy (&fc);
}

Test (sub_membership, status_req_is_answered_with_status_rep)
{
    fc_t *fc = fcm_start (10, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);
    fc_world_clear (fc_world (fc));
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_status (&sbuf, WIRE_STATUS_REQ, 42), 0);
    fc_inject_router (fc, p.uuid, &sbuf, NULL, 0);
    msgpack_sbuffer_destroy (&sbuf);
    fc_turn (fc);
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_STATUS_REP);
    cr_assert_not_null (m);
    uint64_t id = 0;
    cr_assert_eq (wire_get_status (fc_decoder (fc), &id), 0);
    cr_assert_eq (id, 42);
    cr_assert_eq (zmsg_size (m), 2, "a JSON body");
    zmsg_first (m);
    char *json = zframe_strdup (zmsg_next (m));
    cr_assert (strstr (json, fc_node (fc)->uuid_hex), "%s", json);
    free (json);
    zmsg_destroy (&m);
    fc_destroy (&fc);
}

Test (sub_membership, peer_status_is_asked_and_answered_or_times_out)
{
    fc_t *fc = fcm_start (11, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p);
    zsock_send (fc_pipe (fc), "ssi", "PSTATUS", p.hex, 500);
    fc_turn (fc);
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_STATUS_REQ);
    cr_assert_not_null (m);
    uint64_t id = 0;
    cr_assert_eq (wire_get_status (fc_decoder (fc), &id), 0);
    zmsg_destroy (&m);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_status (&sbuf, WIRE_STATUS_REP, id), 0);
    fc_inject_router (fc, p.uuid, &sbuf, "{\"fake\":1}", 10);
    fc_turn (fc);
    int rc = -1;
    char *json = NULL;
    cr_assert_eq (zsock_recv (fc_pipe (fc), "is", &rc, &json), 0);
    cr_assert_eq (rc, 0);
    cr_assert_str_eq (json, "{\"fake\":1}");
    zstr_free (&json);

    zsock_send (fc_pipe (fc), "ssi", "PSTATUS", p.hex, 500); //  never answered
    fc_advance (fc, 600);
    cr_assert_eq (zsock_recv (fc_pipe (fc), "is", &rc, &json), 0);
    cr_assert_eq (rc, WEFT_ETIMEDOUT);
    zstr_free (&json);
    msgpack_sbuffer_destroy (&sbuf);
    fc_destroy (&fc);
}

Test (sub_membership, seeds_are_said_hello_every_interval)
{
    const char *kv[] = {"discovery.seeds", "tcp://198.18.0.50:4000", NULL};
    fc_t *fc = fcm_start (12, kv);
    cr_assert_eq (fc_world_links_open (fc_world (fc), "tcp://198.18.0.50:4000"), 1);
    fc_advance (fc, 2000);
    cr_assert_geq (fc_count (fc, "tcp://198.18.0.50:4000", WIRE_HELLO), 2);
    cr_assert_eq (node_peer_count (fc_node (fc)), 0, "a seed is no peer until it answers");
    fc_destroy (&fc);
}

//  A stranger's HELLO naming an endpoint we cannot connect to makes no peer,
//  no link and no leak (it used to leak the half-made peer: found in review,
//  500 HELLOs here would show under the sanitizer build).
Test (sub_membership, hello_with_a_bad_endpoint_adds_nothing)
{
    fc_t *fc = fcm_start (1, NULL);
    const char *bad[] = {"tcp://no-port-here",     "tcp://198.18.0.9:",    "tcp://198.18.0.9:0",
                         "tcp://198.18.0.9:70000", "tcp://*:4000",         "tcp://[::1]:4000",
                         "ipc:///tmp/x",           "tcp://198.18.0.9:40x0"};
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            fc_peer_t p = fc_peer (1 + (int)i);
            snprintf (p.router_ep, sizeof p.router_ep, "%s", bad[i]);
            fcm_hello (fc, &p);
            cr_assert_eq (fc_world_links_open (fc_world (fc), bad[i]), 0, "%s: no link", bad[i]);
        }
    cr_assert_eq (fc_status_int (fc, "peers"), 0, "no peer from a bad endpoint");
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_JOIN), 0);
    fc_peer_t good = fc_peer (20);
    fcm_hello (fc, &good); //  and a good one still gets in
    cr_assert_eq (fc_status_int (fc, "peers"), 1);
    fc_destroy (&fc);
}

//  A peer that expired us and adds us again says HELLO with ANSWER: a node
//  that still knows it answers with its own HELLO, which asks for none (so
//  two nodes never bounce HELLOs); a HELLO without ANSWER gets PEERS only.
Test (sub_membership, hello_asking_an_answer_is_answered_once)
{
    fc_t *fc = fcm_start (1, NULL);
    fc_peer_t p = fc_peer (1);
    fcm_hello (fc, &p); //  first contact: we add it and greet it (asking for an answer)
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_HELLO);
    cr_assert_not_null (m);
    wire_hello_t ours;
    cr_assert_eq (wire_get_hello (fc_decoder (fc), &ours), 0);
    cr_assert_eq (ours.flags & WIRE_HELLO_ANSWER, WIRE_HELLO_ANSWER, "a new peer is asked");
    zmsg_destroy (&m);

    fcm_hello (fc, &p); //  known, no ANSWER: nothing but PEERS
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_HELLO), 0, "no HELLO back without ANSWER");

    p.hello_flags = WIRE_HELLO_ANSWER; //  it had expired us and added us again
    fcm_hello (fc, &p);
    m = fc_take (fc, p.router_ep, WIRE_HELLO);
    cr_assert_not_null (m, "answered with our HELLO");
    cr_assert_eq (wire_get_hello (fc_decoder (fc), &ours), 0);
    cr_assert_eq (ours.flags & WIRE_HELLO_ANSWER, 0u, "the answer asks for none");
    zmsg_destroy (&m);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_JOIN), 1, "still one JOIN: it never left our view");
    fc_destroy (&fc);
}

//  A member of another cluster (it took over the port of one of ours, or a
//  seed list names it) is never a peer: its HELLO is refused and counted;
//  one of ours that says its cluster is let in, and so is a client of any
//  cluster (clusters partition the members, who own and copy queues).
Test (sub_membership, hello_of_another_cluster_is_refused)
{
    fc_t *fc = fcm_start (1, NULL);
    fc_peer_t stranger = fc_peer (1), friend = fc_peer (2);
    stranger.cluster = beacon_cluster_id ("beta");
    friend.cluster = beacon_cluster_id (config_value (fc_node (fc)->cfg, CFG_CLUSTER_NAME));
    fcm_hello (fc, &stranger);
    cr_assert_eq (fc_status_int (fc, "foreign_hellos"), 1);
    cr_assert_eq (fc_status_int (fc, "peers"), 0, "no peer from another cluster");
    cr_assert_eq (fc_world_links_open (fc_world (fc), stranger.router_ep), 0, "no link either");
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_JOIN), 0);
    fcm_hello (fc, &friend);
    cr_assert_eq (fc_status_int (fc, "peers"), 1, "its own cluster gets in");
    fc_peer_t tool = fc_peer (3); //  the weft tool given --node, of another cluster
    tool.cluster = beacon_cluster_id ("beta");
    tool.role = WIRE_ROLE_CLIENT;
    fcm_hello (fc, &tool);
    cr_assert_eq (fc_status_int (fc, "peers"), 2, "a client may talk to any cluster");
    cr_assert_eq (fc_status_int (fc, "foreign_hellos"), 1);
    fc_destroy (&fc);
}

//  A client (the weft tool) belongs to the cluster of the first member it
//  takes, whatever its own cluster.name says: another cluster's member that
//  gossip leads it to afterwards (a port taken over) is refused.
Test (sub_membership, a_client_keeps_to_the_cluster_of_its_first_member)
{
    const char *kv[] = {"node.role", "client", NULL};
    fc_t *fc = fcm_start (1, kv);
    fc_peer_t seed = fc_peer (1), intruder = fc_peer (2), other = fc_peer (3);
    seed.cluster = other.cluster = beacon_cluster_id ("alpha"); //  not our cluster.name
    intruder.cluster = beacon_cluster_id ("beta");
    fcm_hello (fc, &seed);
    cr_assert_eq (fc_status_int (fc, "peers"), 1, "the first member is taken, any cluster");
    fcm_hello (fc, &intruder);
    cr_assert_eq (fc_status_int (fc, "foreign_hellos"), 1);
    cr_assert_eq (fc_status_int (fc, "peers"), 1, "another cluster's member is not");
    fcm_hello (fc, &other);
    cr_assert_eq (fc_status_int (fc, "peers"), 2, "its cluster's members are");
    fc_destroy (&fc);
}
