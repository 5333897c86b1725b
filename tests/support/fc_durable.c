/*  tests/support/fc_durable.c - see fc_durable.h. */
#include "fc_durable.h"

#include <criterion/criterion.h>
#include <stdlib.h>

fc_t *fcd_start (const char *name, uint64_t seed, jdisk_t *disk, const char *const *kv,
                 fc_peer_t *p)
{
    fc_t *fc = fc_start_new (name, seed, disk, kv);
    *p = fc_peer (1);
    fc_inject_hello (fc, p);
    fc_turn (fc);
    fc_world_clear (fc_world (fc));
    fc_events_clear (fc);
    return fc;
}

void fcd_inject3 (fc_t *fc, const fc_peer_t *p, const msgpack_sbuffer *hdr,
                  const msgpack_sbuffer *frame2, const char *frame3)
{
    zmsg_t *m = zmsg_new ();
    zmsg_addmem (m, p->uuid, WIRE_UUID_SIZE);
    zmsg_addmem (m, hdr->data, hdr->size);
    if (frame2)
        zmsg_addmem (m, frame2->data, frame2->size);
    if (frame3)
        zmsg_addstr (m, frame3);
    fc_world_inject (fc_world (fc), WORLD_ROUTER, &m, NULL);
}

void fcd_ask_replay (fc_t *fc, const fc_peer_t *p, uint64_t id, const char *pattern, int kind,
                     int64_t from)
{
    wire_replay_req_t *req = calloc (1, sizeof *req);
    cr_assert_not_null (req);
    req->id = id;
    snprintf (req->pattern, sizeof req->pattern, "%s", pattern);
    req->from_kind = (uint8_t)kind;
    req->from_value = from;
    msgpack_sbuffer hdr;
    msgpack_sbuffer_init (&hdr);
    cr_assert_eq (wire_encode_replay_req (&hdr, req), 0);
    fcd_inject3 (fc, p, &hdr, NULL, NULL);
    msgpack_sbuffer_destroy (&hdr);
    free (req);
}

void fcd_replay_end (fc_t *fc, const fc_peer_t *p, uint64_t id, uint64_t sent)
{
    msgpack_sbuffer hdr;
    msgpack_sbuffer_init (&hdr);
    cr_assert_eq (wire_encode_replay_end (&hdr, id, 0, sent), 0);
    fcd_inject3 (fc, p, &hdr, NULL, NULL);
    msgpack_sbuffer_destroy (&hdr);
}
