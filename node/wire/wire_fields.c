/*  node/wire/wire_fields.c - typed, bounds-checked reads of the fields of a
    decoded header frame, shared by every message's decoder. See wire_int.h. */
#include "node/wire/wire.h"
#include "node/wire/wire_int.h"

#include "weft.h"

#include <inttypes.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/*  Typed fields                                                            */

//  Checks that the last decoded frame is of TYPE and clears the last error.
//  Returns 0 or WEFT_EPROTO.
int wire_expect (wire_decoder_t *self, int type, int alt_type)
{
    wire_clear_error (self);
    self->where = wire_type_names[type];
    if (!self->field)
        return wire_bad (self, "no frame decoded");
    if (self->type == type || self->type == alt_type)
        return 0;
    if (self->type >= WIRE_HELLO && self->type <= WIRE_TYPE_LAST)
        return wire_bad (self, "the frame is a %s, not a %s", wire_type_names[self->type],
                         wire_type_names[type]);
    return wire_bad (self, "the frame is of unknown type %d, not a %s", self->type,
                     wire_type_names[type]);
}

//  Reads unsigned integer O, the field NAME, at most MAX. Returns 0 or WEFT_EPROTO.
int wire_uint (wire_decoder_t *self, const msgpack_object *o, const char *name, uint64_t max,
               uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wire_bad (self, "%s: %s is %s, an unsigned integer expected", self->where, name,
                         wire_kind (o));
    if (o->via.u64 > max)
        return wire_bad (self, "%s: %s is %" PRIu64 ", at most %" PRIu64 " allowed", self->where,
                         name, o->via.u64, max);
    *out = o->via.u64;
    return 0;
}

//  Reads signed 64-bit integer O, the field NAME. Returns 0 or WEFT_EPROTO.
int wire_int64 (wire_decoder_t *self, const msgpack_object *o, const char *name, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    uint64_t value = 0;
    if (wire_uint (self, o, name, INT64_MAX, &value))
        return WEFT_EPROTO;
    *out = (int64_t)value;
    return 0;
}

//  Reads UUID O, the field NAME: a bin of exactly 16 bytes. Returns 0 or WEFT_EPROTO.
int wire_uuid (wire_decoder_t *self, const msgpack_object *o, const char *name, uint8_t *out)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return wire_bad (self, "%s: %s is %s, a binary expected", self->where, name, wire_kind (o));
    if (o->via.bin.size != WIRE_UUID_SIZE)
        return wire_bad (self, "%s: %s is %" PRIu32 " bytes, %d expected", self->where, name,
                         o->via.bin.size, WIRE_UUID_SIZE);
    memcpy (out, o->via.bin.ptr, WIRE_UUID_SIZE);
    return 0;
}

//  Points *TEXT and *LEN at string O, the field NAME, of at most MAX bytes
//  and without NUL bytes. Returns 0 or WEFT_EPROTO.
int wire_str_ref (wire_decoder_t *self, const msgpack_object *o, const char *name, size_t max,
                  const char **text, size_t *len)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return wire_bad (self, "%s: %s is %s, a string expected", self->where, name, wire_kind (o));
    if (o->via.str.size > max)
        return wire_bad (self, "%s: %s is %" PRIu32 " bytes, at most %zu allowed", self->where,
                         name, o->via.str.size, max);
    if (o->via.str.size > 0 && memchr (o->via.str.ptr, 0, o->via.str.size))
        return wire_bad (self, "%s: %s holds a NUL byte", self->where, name);
    *text = o->via.str.size > 0 ? o->via.str.ptr : "";
    *len = o->via.str.size;
    return 0;
}

//  Copies string O, the field NAME, of at most MAX bytes, into OUT (MAX + 1
//  bytes) with a NUL. Returns 0 or WEFT_EPROTO.
int wire_text (wire_decoder_t *self, const msgpack_object *o, const char *name, size_t max,
               char *out)
{
    const char *text;
    size_t len;
    if (wire_str_ref (self, o, name, max, &text, &len))
        return WEFT_EPROTO;
    memcpy (out, text, len);
    out[len] = '\0';
    return 0;
}
