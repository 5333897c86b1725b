/*  node/wire/wire_msg.c - the MSG header frame of topic messages, the
    application's header frame ("k\0v\0..."), and MISSED (a subscriber's
    count of what it missed of a publisher). See wire.h. */
#include "node/wire/wire.h"
#include "node/wire/wire_int.h"

#include "weft.h"

#include <stdio.h>
#include <zmq.h>
#include <stdlib.h>
#include <string.h>

//  Encodes MSG: [1, 5, sender, seq, time_us, flags, {key: value, ...}].
int wire_encode_msg (msgpack_sbuffer *out, const wire_msg_t *msg)
{
    if (!out || !msg || msg->nheaders > WIRE_HEADERS_MAX)
        return WEFT_EINVAL;
    for (size_t i = 0; i < msg->nheaders; i++) {
        const wire_kv_t *kv = &msg->headers[i];
        if (!wire_bytes_ok (kv->key, kv->key_len) || !wire_bytes_ok (kv->value, kv->value_len))
            return WEFT_EINVAL;
    }
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_MSG, wire_min_fields[WIRE_MSG]);
    rc |= wire_pack_uuid (&pk, msg->sender);
    rc |= msgpack_pack_uint64 (&pk, msg->seq);
    rc |= msgpack_pack_int64 (&pk, msg->time_us);
    rc |= msgpack_pack_uint32 (&pk, msg->flags);
    rc |= msgpack_pack_map (&pk, msg->nheaders);
    for (size_t i = 0; i < msg->nheaders; i++) {
        rc |= wire_pack_str (&pk, msg->headers[i].key, msg->headers[i].key_len);
        rc |= wire_pack_str (&pk, msg->headers[i].value, msg->headers[i].value_len);
    }
    return wire_packed (rc);
}

//  Encodes MISSED: [1, 28, missed].
int wire_encode_missed (msgpack_sbuffer *out, uint64_t missed)
{
    if (!out)
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_MISSED, wire_min_fields[WIRE_MISSED]);
    rc |= msgpack_pack_uint64 (&pk, missed);
    return wire_packed (rc);
}

int wire_get_missed (wire_decoder_t *self, uint64_t *missed)
{
    if (!self || !missed)
        return WEFT_EINVAL;
    if (wire_expect (self, WIRE_MISSED, WIRE_MISSED))
        return WEFT_EPROTO;
    self->where = wire_type_names[self->type];
    return wire_uint (self, &self->field[2], "missed", UINT64_MAX, missed);
}

//  Reads the user headers of a MSG from map O into *OUT. Returns 0 or WEFT_EPROTO.
static int s_headers (wire_decoder_t *self, const msgpack_object *o, wire_msg_t *out)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return wire_bad (self, "MSG: headers is %s, a map expected", wire_kind (o));
    if (o->via.map.size > WIRE_HEADERS_MAX)
        return wire_bad (self, "MSG has %" PRIu32 " headers, at most %d allowed", o->via.map.size,
                         WIRE_HEADERS_MAX);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        wire_kv_t *header = &out->headers[i];
        if (wire_str_ref (self, &kv->key, "a header key", SIZE_MAX, &header->key,
                          &header->key_len) ||
            wire_str_ref (self, &kv->val, "a header value", SIZE_MAX, &header->value,
                          &header->value_len))
            return WEFT_EPROTO;
    }
    out->nheaders = o->via.map.size;
    return 0;
}

//  Extracts MSG fields 2..6; header strings borrow from the frame.
int wire_get_msg (wire_decoder_t *self, wire_msg_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    out->nheaders = 0;
    if (wire_expect (self, WIRE_MSG, WIRE_MSG))
        return WEFT_EPROTO;
    const msgpack_object *f = self->field;
    uint64_t flags = 0;
    if (wire_uuid (self, &f[2], "sender", out->sender) ||
        wire_uint (self, &f[3], "seq", UINT64_MAX, &out->seq) ||
        wire_int64 (self, &f[4], "time_us", &out->time_us) ||
        wire_uint (self, &f[5], "flags", UINT32_MAX, &flags) || s_headers (self, &f[6], out))
        return WEFT_EPROTO;
    out->flags = (uint32_t)flags;
    return 0;
}

void wire_pack_headers (const wire_msg_t *msg, zmq_msg_t *frame)
{
    size_t size = 0;
    for (size_t i = 0; i < msg->nheaders; i++)
        size += msg->headers[i].key_len + msg->headers[i].value_len + 2;
    zmq_msg_init_size (frame, size);
    char *p = zmq_msg_data (frame);
    for (size_t i = 0; i < msg->nheaders; i++) {
        memcpy (p, msg->headers[i].key, msg->headers[i].key_len);
        p += msg->headers[i].key_len;
        *p++ = 0;
        memcpy (p, msg->headers[i].value, msg->headers[i].value_len);
        p += msg->headers[i].value_len;
        *p++ = 0;
    }
}
