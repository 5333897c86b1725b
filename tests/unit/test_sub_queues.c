/*  tests/unit/test_sub_queues.c - the queues subsystem through the fake core
    (tests/support/fakecore.h), with journals on memory disks: confirm after
    the commit, deliveries, acks, nacks, dead letters, replication with
    acks=all, and ownership moving when a member leaves.

    A node's queue traffic with itself goes through its own ROUTER (the fake
    world loops a WORLD_SELF link back), so a send takes a few turns:
    fc_run () turns until nothing waits. Commands are framed exactly as
    node/api/api_queue.c frames them (node/queues/queue_cmd.h). Which member
    owns a queue is found by where the node sends a consumer's registration.
*/
#include <criterion/criterion.h>

#include "fakecore.h"
#include "node/queues/queue_cmd.h"

//  A single member: replication 1, so acks=all needs nobody else.
static const char *const s_alone[] = {
    "journal.dir", "/fake/q", "queues.replication", "1", "queues.max_deliver", "2", NULL};
//  A member of two: replication 2 (the default), acks=all (the default).
static const char *const s_pair[] = {"journal.dir", "/fake/q", NULL};

//  QSEND of BODY to QUEUE with TOKEN, message id ID ("" to generate one),
//  REPLICATION copies (0: the node's default) and acks=all.
static void qsend_r (fc_t *fc, const char *queue, const char *body, uint64_t token, const char *id,
                     uint8_t replication)
{
    queue_args_t args = {
        .token = token, .type = WIRE_QSEND, .acks = WIRE_ACKS_ALL, .replication = replication};
    snprintf (args.queue, sizeof args.queue, "%s", queue);
    snprintf (args.msg_id, sizeof args.msg_id, "%s", id);
    void *pipe = zsock_resolve (fc_pipe (fc));
    zmq_send (pipe, "QSEND", 5, ZMQ_SNDMORE);
    zmq_send (pipe, &args, sizeof args, ZMQ_SNDMORE);
    zmq_send (pipe, body, strlen (body), 0);
    board_enter (fc_node (fc)->board, NULL); //  a place in the send window, as api_queue.c takes
}

//  QSEND with the node's default replication.
static void qsend (fc_t *fc, const char *queue, const char *body, uint64_t token, const char *id)
{
    qsend_r (fc, queue, body, token, id, 0);
}

//  SETTLE of delivery E with KIND, as api_queue.c frames it.
static void settle (fc_t *fc, const fc_event_t *e, int kind)
{
    const char *deliveries = fc_event_header (e, "deliveries");
    queue_settle_args_t args = {.seq = e->ev.seq, .kind = kind};
    args.deliveries = deliveries ? (uint32_t)strtoul (deliveries, NULL, 10) : 0;
    snprintf (args.owner, sizeof args.owner, "%s", e->ev.sender);
    snprintf (args.queue, sizeof args.queue, "%s", e->topic);
    void *pipe = zsock_resolve (fc_pipe (fc));
    zmq_send (pipe, "SETTLE", 6, ZMQ_SNDMORE);
    zmq_send (pipe, &args, sizeof args, 0);
    fc_run (fc);
}

static int consume (fc_t *fc, const char *queue, int prefetch)
{
    return fc_command_int (fc, "ssi", "CONSUME", queue, prefetch);
}

//  Takes the CONFIRM event of TOKEN; checks its status.
static void expect_confirm (fc_t *fc, uint64_t token, int status)
{
    fc_event_t e;
    cr_assert (fc_event (fc, WEFT_MSG_CONFIRM, &e), "a confirm of token %" PRIu64, token);
    cr_assert_eq (e.ev.seq, token);
    const char *s = fc_event_header (&e, "status");
    cr_assert_not_null (s);
    cr_assert_eq (atoi (s), status, "status %s", s);
}

//  Takes the next DELIVERY event into E; checks its queue, body and delivery count.
static void expect_delivery (fc_t *fc, const char *queue, const char *body, int deliveries,
                             fc_event_t *e)
{
    cr_assert (fc_event (fc, WEFT_MSG_DELIVERY, e), "a delivery of %s", body);
    cr_assert_str_eq (e->topic, queue);
    cr_assert_str_eq (e->body, body);
    const char *d = fc_event_header (e, "deliveries");
    cr_assert_not_null (d);
    cr_assert_eq (atoi (d), deliveries, "deliveries %s", d);
}

//  The value of "KEY": in the status JSON object of queue NAME; -1 if absent.
static int64_t queue_stat (fc_t *fc, const char *name, const char *key)
{
    char *json = fc_status (fc);
    char needle[300];
    snprintf (needle, sizeof needle, "{\"name\":\"%s\",", name);
    const char *at = strstr (json, needle);
    const char *end = at ? strchr (at, '}') : NULL;
    snprintf (needle, sizeof needle, "\"%s\":", key);
    const char *field = at ? strstr (at, needle) : NULL;
    int64_t value = field && field < end ? strtoll (field + strlen (needle), NULL, 10) : -1;
    free (json);
    return value;
}

Test (sub_queues, a_send_is_confirmed_after_the_commit)
{
    jdisk_t *disk = jdisk_new ();
    fc_t *fc = fc_start_new ("q", 1, disk, s_alone);
    int64_t commits = fc_status_int (fc, "commits");
    qsend (fc, "jobs", "hello", 1, "id-1");
    fc_run (fc);
    expect_confirm (fc, 1, 0);
    cr_assert_gt (fc_status_int (fc, "commits"), commits, "journaled first");
    cr_assert_eq (queue_stat (fc, "jobs", "stored"), 1);
    cr_assert_eq (queue_stat (fc, "jobs", "depth"), 1);
    cr_assert_eq (board_in_flight (fc_node (fc)->board), 0, "the send window has room again");

    qsend (fc, "jobs", "hello again", 2, "id-1"); //  the same id: a duplicate
    fc_run (fc);
    fc_event_t e;
    cr_assert (fc_event (fc, WEFT_MSG_CONFIRM, &e));
    cr_assert_str_eq (fc_event_header (&e, "duplicate"), "yes");
    cr_assert_eq (queue_stat (fc, "jobs", "stored"), 1, "not stored twice");

    jdisk_fail_writes (disk, WEFT_EIO); //  a failed commit confirms nothing
    qsend (fc, "jobs", "lost", 3, "id-3");
    fc_run (fc);
    cr_assert (fc_event (fc, WEFT_MSG_CONFIRM, &e));
    cr_assert_eq (e.ev.seq, 3);
    cr_assert_neq (atoi (fc_event_header (&e, "status")), 0, "an error, not a confirm");
    jdisk_fail_writes (disk, 0);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_queues, a_consumer_gets_it_and_an_ack_removes_it)
{
    jdisk_t *disk = jdisk_new ();
    fc_t *fc = fc_start_new ("q", 2, disk, s_alone);
    qsend (fc, "jobs", "work", 1, "");
    fc_run (fc);
    expect_confirm (fc, 1, 0);
    cr_assert_eq (consume (fc, "jobs", 10), 0);
    fc_run (fc);
    fc_event_t e;
    expect_delivery (fc, "jobs", "work", 1, &e);
    cr_assert_str_eq (e.ev.sender, fc_node (fc)->uuid_hex, "we own it");
    cr_assert_not_null (fc_event_header (&e, "msg_id"));
    cr_assert_eq (queue_stat (fc, "jobs", "in_flight"), 1);
    settle (fc, &e, WIRE_SETTLE_ACK);
    cr_assert_eq (queue_stat (fc, "jobs", "in_flight"), 0);
    cr_assert_eq (queue_stat (fc, "jobs", "acked"), 1);
    cr_assert_eq (queue_stat (fc, "jobs", "stored"), 0, "gone from the journal");
    settle (fc, &e, WIRE_SETTLE_ACK); //  again: unknown, ignored
    cr_assert_eq (queue_stat (fc, "jobs", "acked"), 1);

    qsend (fc, "jobs", "more", 2, "");
    fc_run (fc);
    expect_delivery (fc, "jobs", "more", 1, &e);
    cr_assert_eq (fc_command_int (fc, "ss", "CANCEL", "jobs"), 0);
    cr_assert_eq (fc_command_int (fc, "ss", "CANCEL", "jobs"), WEFT_ENOTFOUND);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_queues, a_nack_redelivers_and_max_deliver_dead_letters)
{
    jdisk_t *disk = jdisk_new ();
    fc_t *fc = fc_start_new ("q", 3, disk, s_alone); //  max_deliver 2
    qsend (fc, "jobs", "poison", 1, "p-1");
    fc_run (fc);
    expect_confirm (fc, 1, 0);
    cr_assert_eq (consume (fc, "jobs", 10), 0);
    fc_run (fc);
    fc_event_t e;
    expect_delivery (fc, "jobs", "poison", 1, &e);
    settle (fc, &e, WIRE_SETTLE_NACK);
    expect_delivery (fc, "jobs", "poison", 2, &e);
    settle (fc, &e, WIRE_SETTLE_NACK); //  out of deliveries
    fc_advance (fc, 200);              //  the owner's tick hands it to the dead-letter queue
    fc_run (fc);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_DELIVERY), 0, "not delivered a third time");
    cr_assert_eq (queue_stat (fc, "jobs", "dead"), 1);
    cr_assert_eq (queue_stat (fc, "jobs", "stored"), 0, "moved, not copied");
    cr_assert_eq (queue_stat (fc, "jobs.dlq", "stored"), 1);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_CONFIRM), 0, "an internal transfer: no confirm");

    cr_assert_eq (consume (fc, "jobs.dlq", 1), 0);
    fc_run (fc);
    expect_delivery (fc, "jobs.dlq", "poison", 1, &e);
    cr_assert_str_eq (fc_event_header (&e, "msg_id"), "p-1");
    cr_assert_not_null (fc_event_header (&e, "reason"));
    cr_assert_str_eq (fc_event_header (&e, "dead_deliveries"), "2");
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_queues, a_reject_dead_letters_at_once)
{
    jdisk_t *disk = jdisk_new ();
    fc_t *fc = fc_start_new ("q", 4, disk, s_alone);
    qsend (fc, "jobs", "bad", 1, "");
    cr_assert_eq (consume (fc, "jobs", 10), 0);
    fc_run (fc);
    fc_event_t e;
    expect_delivery (fc, "jobs", "bad", 1, &e);
    settle (fc, &e, WIRE_SETTLE_REJECT);
    fc_run (fc);
    cr_assert_eq (queue_stat (fc, "jobs", "dead"), 1);
    cr_assert_eq (queue_stat (fc, "jobs.dlq", "stored"), 1);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

//  Whether fake peer P owns QUEUE as the node sees it: where it registers a consumer.
static bool owned_by (fc_t *fc, const fc_peer_t *p, const char *queue)
{
    fc_world_clear (fc_world (fc));
    cr_assert_eq (consume (fc, queue, 1), 0);
    bool theirs = fc_count (fc, p->router_ep, WIRE_QCONSUME) == 1;
    bool ours = fc_count (fc, WORLD_SELF, WIRE_QCONSUME) == 1;
    cr_assert (theirs != ours, "registered with exactly one owner");
    cr_assert_eq (fc_command_int (fc, "ss", "CANCEL", queue), 0);
    fc_run (fc); //  what it sent stays recorded: a QSYNC_REQ of a queue it activated
    return theirs;
}

//  A queue name (in NAME, 32 bytes) that P owns (THEIRS) or we own.
static const char *find_queue (fc_t *fc, const fc_peer_t *p, bool theirs, char *name)
{
    for (int i = 0; i < 64; i++) {
        snprintf (name, 32, "%s-%d", theirs ? "theirs" : "ours", i);
        if (owned_by (fc, p, name) == theirs)
            return name;
    }
    cr_assert_fail ("no queue of 64 is %s", theirs ? "theirs" : "ours");
    return NULL;
}

//  A node of two members: fake peer 1 joined with capacity 1.
static fc_t *start_pair (uint64_t seed, jdisk_t *disk, fc_peer_t *p)
{
    fc_t *fc = fc_start_new ("q", seed, disk, s_pair);
    *p = fc_peer (1);
    p->capacity = 1;
    fc_inject_hello (fc, p);
    fc_run (fc);
    char *json = fc_status (fc);
    cr_assert (strstr (json, p->hex), "the fake member is in the ring: %s", json);
    free (json);
    fc_world_clear (fc_world (fc));
    fc_events_clear (fc);
    return fc;
}

//  Injects from P a queue message of TYPE with MSG's fields (and BODY, or none).
static void inject_queue (fc_t *fc, const fc_peer_t *p, int type, const wire_queue_t *msg,
                          const char *body)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_queue (&sbuf, type, msg), 0);
    fc_inject_router (fc, p->uuid, &sbuf, body, body ? strlen (body) : 0);
    msgpack_sbuffer_destroy (&sbuf);
}

//  The fake member answers every QSYNC_REQ sent to it with QSYNC_END: it holds nothing.
static void answer_syncs (fc_t *fc, const fc_peer_t *p)
{
    zmsg_t *m;
    wire_queue_t *q = calloc (1, sizeof *q);
    while ((m = fc_take (fc, p->router_ep, WIRE_QSYNC_REQ))) {
        cr_assert_eq (wire_get_queue (fc_decoder (fc), q), 0);
        zmsg_destroy (&m);
        inject_queue (fc, p, WIRE_QSYNC_END, q, NULL);
    }
    free (q);
    fc_run (fc);
}

Test (sub_queues, acks_all_waits_for_the_replica)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = start_pair (5, disk, &p);
    char name[32];
    find_queue (fc, &p, false, name);
    answer_syncs (fc, &p);
    qsend (fc, name, "copied", 1, "c-1");
    fc_run (fc);
    answer_syncs (fc, &p);
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_QREPL);
    cr_assert_not_null (m, "a copy sent to the replica");
    wire_queue_t *repl = calloc (1, sizeof *repl);
    cr_assert_eq (wire_get_queue (fc_decoder (fc), repl), 0);
    cr_assert_str_eq (repl->queue, name);
    cr_assert_str_eq (repl->msg_id, "c-1");
    cr_assert_eq (zmsg_size (m), 2);
    zmsg_first (m);
    cr_assert (zframe_streq (zmsg_next (m), "copied"));
    zmsg_destroy (&m);
    fc_advance (fc, 500);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_CONFIRM), 0, "acks=all: not before the replica");

    wire_queue_t *ack = calloc (1, sizeof *ack);
    snprintf (ack->queue, sizeof ack->queue, "%s", name);
    ack->seq = repl->seq;
    inject_queue (fc, &p, WIRE_QREPL_ACK, ack, NULL);
    fc_run (fc);
    fc_run (fc);
    expect_confirm (fc, 1, 0);
    free (ack);
    free (repl);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_queues, a_replica_leaving_releases_the_confirm)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = start_pair (6, disk, &p);
    char name[32];
    find_queue (fc, &p, false, name);
    answer_syncs (fc, &p);
    qsend (fc, name, "copied", 1, "");
    fc_run (fc);
    answer_syncs (fc, &p);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_QREPL), 1);
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_CONFIRM), 0);
    fc_inject_simple (fc, &p, WIRE_BYE);
    fc_run (fc);
    fc_run (fc);
    expect_confirm (fc, 1, 0);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_queues, the_owner_changes_when_the_member_leaves)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = start_pair (7, disk, &p);
    char name[32];
    find_queue (fc, &p, true, name);
    fc_world_clear (fc_world (fc)); //  the probe's registrations
    //  one copy: with acks=all, two would need two members once it has gone
    qsend_r (fc, name, "to them", 1, "t-1", 1);
    cr_assert_eq (consume (fc, name, 5), 0);
    fc_run (fc);
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_QSEND);
    cr_assert_not_null (m, "sent to its owner");
    wire_queue_t *q = calloc (1, sizeof *q);
    cr_assert_eq (wire_get_queue (fc_decoder (fc), q), 0);
    cr_assert_str_eq (q->msg_id, "t-1");
    cr_assert_eq (q->token, 1);
    zmsg_destroy (&m);
    cr_assert_eq (fc_count (fc, p.router_ep, WIRE_QCONSUME), 1, "the consumer registers there");
    cr_assert_eq (fc_event_count (fc, WEFT_MSG_CONFIRM), 0, "it never answered");

    fc_inject_simple (fc, &p, WIRE_BYE); //  it goes: the queue is ours now
    fc_run (fc);
    fc_run (fc);
    expect_confirm (fc, 1, 0);
    fc_event_t e;
    expect_delivery (fc, name, "to them", 1, &e);
    cr_assert_str_eq (e.ev.sender, fc_node (fc)->uuid_hex);
    cr_assert_eq (queue_stat (fc, name, "stored"), 1);
    free (q);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}

Test (sub_queues, the_owner_answers_a_fake_producer)
{
    jdisk_t *disk = jdisk_new ();
    fc_peer_t p;
    fc_t *fc = start_pair (8, disk, &p);
    char name[32];
    find_queue (fc, &p, false, name);
    answer_syncs (fc, &p);
    wire_queue_t *q = calloc (1, sizeof *q);
    snprintf (q->queue, sizeof q->queue, "%s", name);
    snprintf (q->msg_id, sizeof q->msg_id, "from-fake");
    q->token = 77;
    q->replication = 1;
    q->acks = WIRE_ACKS_OWNER;
    inject_queue (fc, &p, WIRE_QSEND, q, "payload");
    fc_run (fc);
    zmsg_t *m = fc_take (fc, p.router_ep, WIRE_QCONFIRM);
    cr_assert_not_null (m, "confirmed to the producer");
    cr_assert_eq (wire_get_queue (fc_decoder (fc), q), 0);
    cr_assert_eq (q->token, 77);
    cr_assert_eq (q->status, 0);
    zmsg_destroy (&m);
    cr_assert_eq (queue_stat (fc, name, "stored"), 1);
    free (q);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}
