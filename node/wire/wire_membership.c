/*  node/wire/wire_membership.c - HELLO, PEERS, PING (with its SWIM fields:
    alive number, indirect probes, gossiped records), BYE and STATUS header
    frames (docs/PROTOCOL.md, "Membership"). See wire.h. */
#include "node/wire/wire.h"
#include "node/wire/wire_int.h"

#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Fields of one PEERS entry.
#define WIRE_PEER_FIELDS 5

//  Encodes HELLO: [1, 1, uuid, incarnation, name, role, router_ep, pub_ep, caps].
int wire_encode_hello (msgpack_sbuffer *out, const wire_hello_t *msg)
{
    size_t name_len, router_len, pub_len;
    if (!out || !msg || msg->role > WIRE_ROLE_CLIENT ||
        wire_text_len (msg->name, WIRE_NAME_MAX, &name_len) ||
        wire_text_len (msg->router_ep, WIRE_EP_MAX, &router_len) ||
        wire_text_len (msg->pub_ep, WIRE_EP_MAX, &pub_len))
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_HELLO, wire_min_fields[WIRE_HELLO] + 3);
    rc |= wire_pack_uuid (&pk, msg->uuid);
    rc |= msgpack_pack_uint64 (&pk, msg->incarnation);
    rc |= wire_pack_str (&pk, msg->name, name_len);
    rc |= msgpack_pack_uint8 (&pk, msg->role);
    rc |= wire_pack_str (&pk, msg->router_ep, router_len);
    rc |= wire_pack_str (&pk, msg->pub_ep, pub_len);
    rc |= msgpack_pack_uint32 (&pk, msg->caps);
    rc |= msgpack_pack_uint32 (&pk, msg->capacity); //  field 9, added within version 1
    rc |= msgpack_pack_uint32 (&pk, msg->flags);    //  field 10, likewise
    rc |= msgpack_pack_uint64 (&pk, msg->cluster);  //  field 11, likewise
    return wire_packed (rc);
}

//  Checks one PEERS entry and stores its endpoints' lengths. Returns 0 or -1.
static int s_peer_check (const wire_peer_t *peer, size_t *router_len, size_t *pub_len)
{
    if (peer->role > WIRE_ROLE_CLIENT || wire_text_len (peer->router_ep, WIRE_EP_MAX, router_len) ||
        wire_text_len (peer->pub_ep, WIRE_EP_MAX, pub_len))
        return -1;
    return 0;
}

//  Encodes PEERS: [1, 2, [[uuid, incarnation, role, router_ep, pub_ep], ...]].
int wire_encode_peers (msgpack_sbuffer *out, const wire_peer_t *peers, size_t count)
{
    if (!out || count > WIRE_PEERS_MAX || (count > 0 && !peers))
        return WEFT_EINVAL;
    size_t router_len, pub_len;
    for (size_t i = 0; i < count; i++)
        if (s_peer_check (&peers[i], &router_len, &pub_len))
            return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_PEERS, wire_min_fields[WIRE_PEERS]);
    rc |= msgpack_pack_array (&pk, count);
    for (size_t i = 0; i < count; i++) {
        const wire_peer_t *peer = &peers[i];
        s_peer_check (peer, &router_len, &pub_len);
        rc |= msgpack_pack_array (&pk, WIRE_PEER_FIELDS);
        rc |= wire_pack_uuid (&pk, peer->uuid);
        rc |= msgpack_pack_uint64 (&pk, peer->incarnation);
        rc |= msgpack_pack_uint8 (&pk, peer->role);
        rc |= wire_pack_str (&pk, peer->router_ep, router_len);
        rc |= wire_pack_str (&pk, peer->pub_ep, pub_len);
    }
    return wire_packed (rc);
}

//  Encodes PING: [1, 3].
int wire_encode_ping (msgpack_sbuffer *out)
{
    if (!out)
        return WEFT_EINVAL;
    msgpack_packer pk;
    return wire_packed (wire_begin (&pk, out, WIRE_PING, wire_min_fields[WIRE_PING]));
}

//  Fields of one PING record.
#define WIRE_RECORD_FIELDS 4

//  Encodes PING with fields 2..6: [1, 3, alive, probe, probe_id, target, [records]].
int wire_encode_ping_full (msgpack_sbuffer *out, const wire_ping_t *ping)
{
    if (!out || !ping || ping->probe > WIRE_PROBE_RELAY || ping->nrecords > WIRE_RECORDS_MAX)
        return WEFT_EINVAL;
    for (size_t i = 0; i < ping->nrecords; i++)
        if (ping->records[i].state > WIRE_MEMBER_DEAD)
            return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_PING, wire_min_fields[WIRE_PING] + 5);
    rc |= msgpack_pack_uint64 (&pk, ping->alive);
    rc |= msgpack_pack_uint8 (&pk, ping->probe);
    rc |= msgpack_pack_uint64 (&pk, ping->probe_id);
    rc |= wire_pack_uuid (&pk, ping->target);
    rc |= msgpack_pack_array (&pk, ping->nrecords);
    for (size_t i = 0; i < ping->nrecords; i++) {
        const wire_record_t *r = &ping->records[i];
        rc |= msgpack_pack_array (&pk, WIRE_RECORD_FIELDS);
        rc |= wire_pack_uuid (&pk, r->uuid);
        rc |= msgpack_pack_uint64 (&pk, r->incarnation);
        rc |= msgpack_pack_uint64 (&pk, r->alive);
        rc |= msgpack_pack_uint8 (&pk, r->state);
    }
    return wire_packed (rc);
}

//  Encodes BYE: [1, 4].
int wire_encode_bye (msgpack_sbuffer *out)
{
    if (!out)
        return WEFT_EINVAL;
    msgpack_packer pk;
    return wire_packed (wire_begin (&pk, out, WIRE_BYE, wire_min_fields[WIRE_BYE]));
}

//  Encodes STATUS_REQ or STATUS_REP: [1, 6 or 7, request_id].
int wire_encode_status (msgpack_sbuffer *out, int type, uint64_t request_id)
{
    if (!out || (type != WIRE_STATUS_REQ && type != WIRE_STATUS_REP))
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, type, wire_min_fields[type]);
    rc |= msgpack_pack_uint64 (&pk, request_id);
    return wire_packed (rc);
}

//  Bytes msgpack needs for unsigned integer VALUE.
static size_t s_uint_size (uint64_t value)
{
    return value < 128           ? 1
           : value <= UINT8_MAX  ? 2
           : value <= UINT16_MAX ? 3
           : value <= UINT32_MAX ? 5
                                 : 9;
}

//  Bytes msgpack needs for a str of LEN bytes.
static size_t s_str_size (size_t len)
{
    return len + (len < 32 ? 1 : len <= UINT8_MAX ? 2 : len <= UINT16_MAX ? 3 : 5);
}

//  Bytes msgpack needs for the header of an array of COUNT elements.
static size_t s_array_size (size_t count)
{
    return count < 16 ? 1 : count <= UINT16_MAX ? 3 : 5;
}

//  Adds up the encoded size of PEERS entries until MAX_HEADER would be passed.
size_t wire_peers_fit (const wire_peer_t *peers, size_t count, size_t max_header)
{
    if (!max_header)
        max_header = WIRE_HEADER_MAX;
    if (count > WIRE_PEERS_MAX)
        count = WIRE_PEERS_MAX;
    //  [version, type, [entries]]: the list's header grows with its count,
    //  so the worst case (3 bytes, count >= 16) is reserved up front
    size_t used = 1 + 1 + 1 + s_array_size (WIRE_PEERS_MAX);
    size_t fit = 0;
    for (; fit < count && peers; fit++) {
        const wire_peer_t *peer = &peers[fit];
        size_t entry = 1 + 2 + WIRE_UUID_SIZE + s_uint_size (peer->incarnation) + 1 +
                       s_str_size (strnlen (peer->router_ep, WIRE_EP_MAX + 1)) +
                       s_str_size (strnlen (peer->pub_ep, WIRE_EP_MAX + 1));
        if (used + entry > max_header)
            break;
        used += entry;
    }
    return fit;
}

//  Extracts HELLO fields 2..8; strings are copied.
int wire_get_hello (wire_decoder_t *self, wire_hello_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    if (wire_expect (self, WIRE_HELLO, WIRE_HELLO))
        return WEFT_EPROTO;
    const msgpack_object *f = self->field;
    uint64_t role = 0, caps = 0;
    if (wire_uuid (self, &f[2], "uuid", out->uuid) ||
        wire_uint (self, &f[3], "incarnation", UINT64_MAX, &out->incarnation) ||
        wire_text (self, &f[4], "name", WIRE_NAME_MAX, out->name) ||
        wire_uint (self, &f[5], "role", WIRE_ROLE_CLIENT, &role) ||
        wire_text (self, &f[6], "router_ep", WIRE_EP_MAX, out->router_ep) ||
        wire_text (self, &f[7], "pub_ep", WIRE_EP_MAX, out->pub_ep) ||
        wire_uint (self, &f[8], "caps", UINT32_MAX, &caps))
        return WEFT_EPROTO;
    out->role = (uint8_t)role;
    out->caps = (uint32_t)caps;
    out->capacity = 1; //  senders before field 9 own queues with weight 1
    uint64_t capacity = 1;
    if (self->nfields > 9 && wire_uint (self, &f[9], "capacity", UINT32_MAX, &capacity))
        return WEFT_EPROTO;
    out->capacity = (uint32_t)capacity;
    uint64_t flags = 0; //  senders before field 10 ask for nothing
    if (self->nfields > 10 && wire_uint (self, &f[10], "flags", UINT32_MAX, &flags))
        return WEFT_EPROTO;
    out->flags = (uint32_t)flags;
    out->cluster = 0; //  senders before field 11 do not say
    if (self->nfields > 11 && wire_uint (self, &f[11], "cluster", UINT64_MAX, &out->cluster))
        return WEFT_EPROTO;
    return 0;
}

//  Reads PEERS entry INDEX, O, into *OUT. Returns 0 or WEFT_EPROTO.
static int s_peer (wire_decoder_t *self, const msgpack_object *o, size_t index, wire_peer_t *out)
{
    snprintf (self->where_buf, sizeof self->where_buf, "PEERS entry %zu", index);
    self->where = self->where_buf;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return wire_bad (self, "%s is %s, an array expected", self->where, wire_kind (o));
    if (o->via.array.size < WIRE_PEER_FIELDS)
        return wire_bad (self, "%s has %" PRIu32 " fields, at least %d expected", self->where,
                         o->via.array.size, WIRE_PEER_FIELDS);
    const msgpack_object *f = o->via.array.ptr;
    uint64_t role = 0;
    if (wire_uuid (self, &f[0], "uuid", out->uuid) ||
        wire_uint (self, &f[1], "incarnation", UINT64_MAX, &out->incarnation) ||
        wire_uint (self, &f[2], "role", WIRE_ROLE_CLIENT, &role) ||
        wire_text (self, &f[3], "router_ep", WIRE_EP_MAX, out->router_ep) ||
        wire_text (self, &f[4], "pub_ep", WIRE_EP_MAX, out->pub_ep))
        return WEFT_EPROTO;
    out->role = (uint8_t)role;
    return 0;
}

//  Extracts the PEERS list, entry by entry; strings are copied.
int wire_get_peers (wire_decoder_t *self, wire_peers_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    out->count = 0;
    if (wire_expect (self, WIRE_PEERS, WIRE_PEERS))
        return WEFT_EPROTO;
    const msgpack_object *list = &self->field[2];
    if (list->type != MSGPACK_OBJECT_ARRAY)
        return wire_bad (self, "PEERS: peers is %s, an array expected", wire_kind (list));
    if (list->via.array.size > WIRE_PEERS_MAX)
        return wire_bad (self, "PEERS lists %" PRIu32 " entries, at most %d allowed",
                         list->via.array.size, WIRE_PEERS_MAX);
    for (uint32_t i = 0; i < list->via.array.size; i++)
        if (s_peer (self, &list->via.array.ptr[i], i, &out->peers[i]))
            return WEFT_EPROTO;
    out->count = list->via.array.size;
    return 0;
}

//  Extracts the request id of STATUS_REQ or STATUS_REP.
int wire_get_status (wire_decoder_t *self, uint64_t *request_id)
{
    if (!self || !request_id)
        return WEFT_EINVAL;
    if (wire_expect (self, WIRE_STATUS_REQ, WIRE_STATUS_REP))
        return WEFT_EPROTO;
    self->where = wire_type_names[self->type];
    return wire_uint (self, &self->field[2], "request_id", UINT64_MAX, request_id);
}

//  Reads PING record INDEX, O, into *OUT. Returns 0 or WEFT_EPROTO.
static int s_record (wire_decoder_t *self, const msgpack_object *o, size_t index,
                     wire_record_t *out)
{
    snprintf (self->where_buf, sizeof self->where_buf, "PING record %zu", index);
    self->where = self->where_buf;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return wire_bad (self, "%s is %s, an array expected", self->where, wire_kind (o));
    if (o->via.array.size < WIRE_RECORD_FIELDS)
        return wire_bad (self, "%s has %" PRIu32 " fields, at least %d expected", self->where,
                         o->via.array.size, WIRE_RECORD_FIELDS);
    const msgpack_object *f = o->via.array.ptr;
    uint64_t state = 0;
    if (wire_uuid (self, &f[0], "uuid", out->uuid) ||
        wire_uint (self, &f[1], "incarnation", UINT64_MAX, &out->incarnation) ||
        wire_uint (self, &f[2], "alive", UINT64_MAX, &out->alive) ||
        wire_uint (self, &f[3], "state", WIRE_MEMBER_DEAD, &state))
        return WEFT_EPROTO;
    out->state = (uint8_t)state;
    return 0;
}

//  Extracts PING fields 2..6, each optional (a sender may stop after any).
int wire_get_ping (wire_decoder_t *self, wire_ping_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    memset (out, 0, sizeof *out);
    if (wire_expect (self, WIRE_PING, WIRE_PING))
        return WEFT_EPROTO;
    self->where = "PING";
    const msgpack_object *f = self->field;
    uint32_t n = self->nfields;
    uint64_t probe = 0;
    if ((n > 2 && wire_uint (self, &f[2], "alive", UINT64_MAX, &out->alive)) ||
        (n > 3 && wire_uint (self, &f[3], "probe", WIRE_PROBE_RELAY, &probe)) ||
        (n > 4 && wire_uint (self, &f[4], "probe_id", UINT64_MAX, &out->probe_id)) ||
        (n > 5 && wire_uuid (self, &f[5], "target", out->target)))
        return WEFT_EPROTO;
    out->probe = (uint8_t)probe;
    if (n <= 6)
        return 0;
    const msgpack_object *list = &f[6];
    if (list->type != MSGPACK_OBJECT_ARRAY)
        return wire_bad (self, "PING: records is %s, an array expected", wire_kind (list));
    if (list->via.array.size > WIRE_RECORDS_MAX)
        return wire_bad (self, "PING carries %" PRIu32 " records, at most %d allowed",
                         list->via.array.size, WIRE_RECORDS_MAX);
    for (uint32_t i = 0; i < list->via.array.size; i++)
        if (s_record (self, &list->via.array.ptr[i], i, &out->records[i]))
            return WEFT_EPROTO;
    out->nrecords = list->via.array.size;
    return 0;
}
