/*  node/wire/wire_durable.c - the codec of durable-topic replays (see wire.h and
    docs/PROTOCOL.md, "Durable topics"). */
#include <string.h>

#include "node/wire/wire_int.h"
#include "weft.h"

int wire_encode_replay_req (msgpack_sbuffer *out, const wire_replay_req_t *req)
{
    size_t plen = req ? strnlen (req->pattern, sizeof req->pattern) : 0;
    if (!out || !req || plen == 0 || plen > WIRE_TOPIC_MAX || req->from_kind > WIRE_FROM_TIME ||
        req->ncursors > WIRE_CURSORS_MAX)
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_REPLAY_REQ, wire_min_fields[WIRE_REPLAY_REQ]);
    rc |= msgpack_pack_uint64 (&pk, req->id);
    rc |= wire_pack_str (&pk, req->pattern, plen);
    rc |= msgpack_pack_uint8 (&pk, req->from_kind);
    rc |= msgpack_pack_int64 (&pk, req->from_value);
    rc |= msgpack_pack_uint64 (&pk, req->to_seq);
    rc |= msgpack_pack_map (&pk, req->ncursors);
    for (size_t i = 0; i < req->ncursors; i++) {
        rc |= wire_pack_str (&pk, req->cursors[i].topic, req->cursors[i].topic_len);
        rc |= msgpack_pack_uint64 (&pk, req->cursors[i].next);
    }
    return wire_packed (rc);
}

//  Opens a replay answer of TYPE for request ID with NFIELDS fields in all.
static int begin_answer (msgpack_packer *pk, msgpack_sbuffer *out, int type, uint64_t id)
{
    int rc = wire_begin (pk, out, type, wire_min_fields[type]);
    return rc | msgpack_pack_uint64 (pk, id);
}

int wire_encode_replay_msg (msgpack_sbuffer *out, uint64_t id, const char *topic)
{
    size_t len = topic ? strlen (topic) : 0;
    if (!out || len == 0 || len > WIRE_TOPIC_MAX)
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = begin_answer (&pk, out, WIRE_REPLAY_MSG, id);
    rc |= wire_pack_str (&pk, topic, len);
    return wire_packed (rc);
}

int wire_encode_replay_end (msgpack_sbuffer *out, uint64_t id, int status, uint64_t sent)
{
    if (!out)
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = wire_begin (&pk, out, WIRE_REPLAY_END, wire_min_fields[WIRE_REPLAY_END] + 1);
    rc |= msgpack_pack_uint64 (&pk, id);
    rc |= msgpack_pack_int (&pk, status);
    rc |= msgpack_pack_uint64 (&pk, sent); //  field 4, appended within version 1
    return wire_packed (rc);
}

int wire_encode_replay_trunc (msgpack_sbuffer *out, uint64_t id, const char *topic,
                              uint64_t requested, uint64_t first)
{
    size_t len = topic ? strlen (topic) : 0;
    if (!out || len == 0 || len > WIRE_TOPIC_MAX)
        return WEFT_EINVAL;
    msgpack_packer pk;
    int rc = begin_answer (&pk, out, WIRE_REPLAY_TRUNC, id);
    rc |= wire_pack_str (&pk, topic, len);
    rc |= msgpack_pack_uint64 (&pk, requested);
    rc |= msgpack_pack_uint64 (&pk, first);
    return wire_packed (rc);
}

//  Reads the cursors map O of a REPLAY_REQ into OUT.
static int get_cursors (wire_decoder_t *self, const msgpack_object *o, wire_replay_req_t *out)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return wire_bad (self, "REPLAY_REQ: cursors is %s, a map expected", wire_kind (o));
    if (o->via.map.size > WIRE_CURSORS_MAX)
        return wire_bad (self, "REPLAY_REQ has %" PRIu32 " cursors, at most %d allowed",
                         o->via.map.size, WIRE_CURSORS_MAX);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        wire_cursor_t *c = &out->cursors[i];
        if (wire_str_ref (self, &o->via.map.ptr[i].key, "a cursor topic", WIRE_TOPIC_MAX, &c->topic,
                          &c->topic_len) ||
            wire_uint (self, &o->via.map.ptr[i].val, "a cursor", UINT64_MAX, &c->next))
            return WEFT_EPROTO;
    }
    out->ncursors = o->via.map.size;
    return 0;
}

int wire_get_replay_req (wire_decoder_t *self, wire_replay_req_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    out->ncursors = 0;
    if (wire_expect (self, WIRE_REPLAY_REQ, WIRE_REPLAY_REQ))
        return WEFT_EPROTO;
    const msgpack_object *f = self->field;
    uint64_t kind = 0;
    if (wire_uint (self, &f[2], "id", UINT64_MAX, &out->id) ||
        wire_text (self, &f[3], "pattern", WIRE_TOPIC_MAX, out->pattern) ||
        wire_uint (self, &f[4], "from_kind", WIRE_FROM_TIME, &kind) ||
        wire_int64 (self, &f[5], "from_value", &out->from_value) ||
        wire_uint (self, &f[6], "to_seq", UINT64_MAX, &out->to_seq) ||
        get_cursors (self, &f[7], out))
        return WEFT_EPROTO;
    out->from_kind = (uint8_t)kind;
    return 0;
}

//  Reads the request id and the topic (field 3) of a replay answer of TYPE.
static int get_answer (wire_decoder_t *self, int type, uint64_t *id, char *topic, size_t cap)
{
    if (!self || !id || (topic && cap < WIRE_TOPIC_MAX + 1))
        return WEFT_EINVAL;
    if (wire_expect (self, type, type) || wire_uint (self, &self->field[2], "id", UINT64_MAX, id))
        return WEFT_EPROTO;
    return topic ? wire_text (self, &self->field[3], "topic", WIRE_TOPIC_MAX, topic) : 0;
}

int wire_get_replay_msg (wire_decoder_t *self, uint64_t *id, char *topic, size_t cap)
{
    return get_answer (self, WIRE_REPLAY_MSG, id, topic, cap);
}

int wire_get_replay_end (wire_decoder_t *self, uint64_t *id, int *status, uint64_t *sent)
{
    int64_t value = 0;
    *sent = WIRE_SENT_UNKNOWN;
    int rc = get_answer (self, WIRE_REPLAY_END, id, NULL, 0);
    if (rc == 0 && (rc = wire_int64 (self, &self->field[3], "status", &value)) == 0)
        *status = value < -1000 || value > 0 ? WEFT_EPROTO : (int)value;
    if (rc == 0 && self->nfields > 4 &&
        wire_uint (self, &self->field[4], "sent", UINT64_MAX - 1, sent))
        rc = WEFT_EPROTO;
    return rc;
}

int wire_get_replay_trunc (wire_decoder_t *self, uint64_t *id, char *topic, size_t cap,
                           uint64_t *requested, uint64_t *first)
{
    int rc = get_answer (self, WIRE_REPLAY_TRUNC, id, topic, cap);
    if (rc == 0 && (wire_uint (self, &self->field[4], "requested", UINT64_MAX, requested) ||
                    wire_uint (self, &self->field[5], "first", UINT64_MAX, first)))
        rc = WEFT_EPROTO;
    return rc;
}
