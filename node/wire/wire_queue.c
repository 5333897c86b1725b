/*  node/wire/wire_queue.c - the codec of queue messages (see wire.h and
    docs/PROTOCOL.md, "Queues").

    Every queue message is a wire_queue_t; a type carries the fields its
    layout names, in order, after [version, type]. One letter per field:
      T token     uint64        Q queue     str <= 255   I msg_id   str <= 128
      C consumer  str <= 64     R reason    str <= 63    S seq      uint64
      D deliveries uint32       P priority  uint 0..9    K kind     uint8
      E status    int32         V value     int64        N replication uint 1..9
      A acks      uint 0..1     L seqs      array of uint64, <= 1024
    The table below is the single source of truth for both directions.
*/
#include <string.h>

#include "node/wire/wire_int.h"
#include "weft.h"

static const char *const s_layouts[] = {
    [WIRE_QSEND] = "TQIPDRNAV", [WIRE_QCONFIRM] = "TESK", [WIRE_QREPL] = "QSIPDVR",
    [WIRE_QREPL_ACK] = "QS",    [WIRE_QREPL_DEL] = "QL",  [WIRE_QREPL_RESET] = "Q",
    [WIRE_QCONSUME] = "QCV",    [WIRE_QCANCEL] = "QC",    [WIRE_QDELIVER] = "QCSIDPVR",
    [WIRE_QSETTLE] = "QCSKV",   [WIRE_QSYNC_REQ] = "Q",   [WIRE_QSYNC_MSG] = "QIPDVR",
    [WIRE_QSYNC_END] = "QV",    [WIRE_QSYNC_DONE] = "Q",  [WIRE_QOFFER] = "Q",
    [WIRE_QREDRIVE] = "TQ",     [WIRE_QRAFT] = "QS",      [WIRE_QLEADER] = "QCKSL",
};

const char *wire_queue_layout (int type)
{
    bool queue = (type >= WIRE_QSEND && type <= WIRE_QREDRIVE) || type == WIRE_QRAFT ||
                 type == WIRE_QLEADER;
    return queue ? s_layouts[type] : NULL;
}

//  Packs string TEXT (NUL-terminated within MAX bytes) or fails.
static int pack_text (msgpack_packer *pk, const char *text, size_t max)
{
    size_t len = strnlen (text, max + 1);
    return len > max ? -1 : wire_pack_str (pk, text, len);
}

//  Packs field LETTER of MSG.
static int pack_field (msgpack_packer *pk, char letter, const wire_queue_t *msg)
{
    switch (letter) {
    case 'T':
        return msgpack_pack_uint64 (pk, msg->token);
    case 'Q':
        return strlen (msg->queue) ? pack_text (pk, msg->queue, WIRE_TOPIC_MAX) : -1;
    case 'I':
        return pack_text (pk, msg->msg_id, WIRE_MSG_ID_MAX);
    case 'C':
        return pack_text (pk, msg->consumer, WIRE_CONSUMER_MAX);
    case 'R':
        return pack_text (pk, msg->reason, WIRE_REASON_MAX);
    case 'S':
        return msgpack_pack_uint64 (pk, msg->seq);
    case 'D':
        return msgpack_pack_uint32 (pk, msg->deliveries);
    case 'P':
        return msg->priority > 9 ? -1 : msgpack_pack_uint8 (pk, msg->priority);
    case 'K':
        return msgpack_pack_uint8 (pk, msg->kind);
    case 'E':
        return msgpack_pack_int32 (pk, msg->status);
    case 'V':
        return msgpack_pack_int64 (pk, msg->value);
    case 'N':
        return msg->replication < 1 || msg->replication > 9
                   ? -1
                   : msgpack_pack_uint8 (pk, msg->replication);
    case 'A':
        return msg->acks > WIRE_ACKS_OWNER ? -1 : msgpack_pack_uint8 (pk, msg->acks);
    case 'L': {
        if (msg->nseqs > WIRE_SEQS_MAX)
            return -1;
        int rc = msgpack_pack_array (pk, msg->nseqs);
        for (size_t i = 0; i < msg->nseqs; i++)
            rc |= msgpack_pack_uint64 (pk, msg->seqs[i]);
        return rc;
    }
    }
    return -1;
}

int wire_encode_queue (msgpack_sbuffer *out, int type, const wire_queue_t *msg)
{
    const char *layout = wire_queue_layout (type);
    if (!out || !msg || !layout)
        return WEFT_EINVAL;
    msgpack_packer pk;
    if (wire_begin (&pk, out, type, (uint32_t)(2 + strlen (layout))))
        return WEFT_ENOMEM;
    for (const char *f = layout; *f; f++)
        if (pack_field (&pk, *f, msg))
            return WEFT_EINVAL;
    return 0;
}

//  Reads the seqs array O into OUT.
static int get_seqs (wire_decoder_t *self, const msgpack_object *o, wire_queue_t *out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return wire_bad (self, "%s: seqs is %s, an array expected", self->where, wire_kind (o));
    if (o->via.array.size > WIRE_SEQS_MAX)
        return wire_bad (self, "%s has %" PRIu32 " seqs, at most %d allowed", self->where,
                         o->via.array.size, WIRE_SEQS_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++)
        if (wire_uint (self, &o->via.array.ptr[i], "a seq", UINT64_MAX, &out->seqs[i]))
            return WEFT_EPROTO;
    out->nseqs = o->via.array.size;
    return 0;
}

//  Reads field LETTER from O into OUT.
static int get_field (wire_decoder_t *self, char letter, const msgpack_object *o, wire_queue_t *out)
{
    uint64_t u = 0;
    int64_t i = 0;
    int rc = 0;
    switch (letter) {
    case 'T':
        return wire_uint (self, o, "token", UINT64_MAX, &out->token);
    case 'Q':
        rc = wire_text (self, o, "queue", WIRE_TOPIC_MAX, out->queue);
        return rc ? rc : out->queue[0] ? 0 : wire_bad (self, "%s: empty queue name", self->where);
    case 'I':
        return wire_text (self, o, "msg_id", WIRE_MSG_ID_MAX, out->msg_id);
    case 'C':
        return wire_text (self, o, "consumer", WIRE_CONSUMER_MAX, out->consumer);
    case 'R':
        return wire_text (self, o, "reason", WIRE_REASON_MAX, out->reason);
    case 'S':
        return wire_uint (self, o, "seq", UINT64_MAX, &out->seq);
    case 'D':
        rc = wire_uint (self, o, "deliveries", UINT32_MAX, &u), out->deliveries = (uint32_t)u;
        return rc;
    case 'P':
        rc = wire_uint (self, o, "priority", 9, &u), out->priority = (uint8_t)u;
        return rc;
    case 'K':
        rc = wire_uint (self, o, "kind", UINT8_MAX, &u), out->kind = (uint8_t)u;
        return rc;
    case 'E':
        rc = wire_int64 (self, o, "status", &i);
        if (!rc && (i < INT32_MIN || i > INT32_MAX))
            return wire_bad (self, "%s: status out of range", self->where);
        out->status = (int32_t)i;
        return rc;
    case 'V':
        return wire_int64 (self, o, "value", &out->value);
    case 'N':
        rc = wire_uint (self, o, "replication", 9, &u);
        if (!rc && u == 0)
            return wire_bad (self, "%s: replication 0", self->where);
        out->replication = (uint8_t)u;
        return rc;
    case 'A':
        rc = wire_uint (self, o, "acks", WIRE_ACKS_OWNER, &u), out->acks = (uint8_t)u;
        return rc;
    case 'L':
        return get_seqs (self, o, out);
    }
    return wire_bad (self, "unknown field letter");
}

int wire_get_queue (wire_decoder_t *self, wire_queue_t *out)
{
    if (!self || !out)
        return WEFT_EINVAL;
    memset (out, 0, offsetof (wire_queue_t, seqs));
    const char *layout = self->field ? wire_queue_layout (self->type) : NULL;
    if (!layout) {
        wire_expect (self, WIRE_QSEND, WIRE_QSEND); //  records why
        return WEFT_EPROTO;
    }
    if (wire_expect (self, self->type, self->type))
        return WEFT_EPROTO;
    for (size_t f = 0; layout[f]; f++)
        if (get_field (self, layout[f], &self->field[2 + f], out))
            return WEFT_EPROTO;
    return 0;
}
