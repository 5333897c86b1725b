/*  node/wire/wire.c - the msgpack codec for Weft header frames (see wire.h and
    docs/PROTOCOL.md).

    Encoding packs straight into the caller's sbuffer. Decoding takes two
    passes over the frame. s_scan () walks the bytes without allocating and
    proves the frame is exactly one well-formed msgpack value, every element
    it declares present, nested at most WIRE_DEPTH_MAX deep; only then does
    msgpack_unpack () build the object tree, in the decoder's zone, which is
    cleared (its first chunk kept) rather than freed between frames. The scan
    is needed because msgpack-c reserves an array's or map's elements as soon
    as it reads their count: a 5-byte frame declaring 2^32 elements would
    otherwise ask for 96 GiB. After the scan the tree is at most
    sizeof (msgpack_object) times the frame length.
    msgpack_unpack () is marked obsolete in msgpack-c 4 but is the one C entry
    point that takes a caller's zone (msgpack_unpack_next () frees and mallocs
    a zone on every call). Strings and binaries in the tree point into the
    frame: msgpack-c never copies them in this mode.
*/
#include "node/wire/wire.h"
#include "node/wire/wire_int.h"

#include "weft.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_DEPTH_MAX  16   //  nesting accepted in a header frame (ours use 3)
#define WIRE_ZONE_CHUNK 8192 //  first zone chunk: holds a MSG with 32 headers

//  Fields of each known type, version and type included.
const uint32_t wire_min_fields[] = {
    [WIRE_HELLO] = 9,
    [WIRE_PEERS] = 3,
    [WIRE_PING] = 2,
    [WIRE_BYE] = 2,
    [WIRE_MSG] = 7,
    [WIRE_STATUS_REQ] = 3,
    [WIRE_STATUS_REP] = 3,
    [WIRE_REPLAY_REQ] = 8,
    [WIRE_REPLAY_MSG] = 4,
    [WIRE_REPLAY_END] = 4,
    [WIRE_REPLAY_TRUNC] = 6,
    //  queue messages: 2 + the letters of their layout (wire_queue.c)
    [WIRE_QSEND] = 11,
    [WIRE_QCONFIRM] = 6,
    [WIRE_QREPL] = 9,
    [WIRE_QREPL_ACK] = 4,
    [WIRE_QREPL_DEL] = 4,
    [WIRE_QREPL_RESET] = 3,
    [WIRE_QCONSUME] = 5,
    [WIRE_QCANCEL] = 4,
    [WIRE_QDELIVER] = 10,
    [WIRE_QSETTLE] = 7,
    [WIRE_QSYNC_REQ] = 3,
    [WIRE_QSYNC_MSG] = 8,
    [WIRE_QSYNC_END] = 4,
    [WIRE_QSYNC_DONE] = 3,
    [WIRE_QOFFER] = 3,
    [WIRE_QREDRIVE] = 4,
    [WIRE_MISSED] = 3,
    [WIRE_QRAFT] = 4,
    [WIRE_QLEADER] = 7,
};

//  Names of the known types, for error messages.
const char *const wire_type_names[] = {
    [WIRE_HELLO] = "HELLO",
    [WIRE_PEERS] = "PEERS",
    [WIRE_PING] = "PING",
    [WIRE_BYE] = "BYE",
    [WIRE_MSG] = "MSG",
    [WIRE_STATUS_REQ] = "STATUS_REQ",
    [WIRE_STATUS_REP] = "STATUS_REP",
    [WIRE_REPLAY_REQ] = "REPLAY_REQ",
    [WIRE_REPLAY_MSG] = "REPLAY_MSG",
    [WIRE_REPLAY_END] = "REPLAY_END",
    [WIRE_REPLAY_TRUNC] = "REPLAY_TRUNC",
    [WIRE_QSEND] = "QSEND",
    [WIRE_QCONFIRM] = "QCONFIRM",
    [WIRE_QREPL] = "QREPL",
    [WIRE_QREPL_ACK] = "QREPL_ACK",
    [WIRE_QREPL_DEL] = "QREPL_DEL",
    [WIRE_QREPL_RESET] = "QREPL_RESET",
    [WIRE_QCONSUME] = "QCONSUME",
    [WIRE_QCANCEL] = "QCANCEL",
    [WIRE_QDELIVER] = "QDELIVER",
    [WIRE_QSETTLE] = "QSETTLE",
    [WIRE_QSYNC_REQ] = "QSYNC_REQ",
    [WIRE_QSYNC_MSG] = "QSYNC_MSG",
    [WIRE_QSYNC_END] = "QSYNC_END",
    [WIRE_QSYNC_DONE] = "QSYNC_DONE",
    [WIRE_QOFFER] = "QOFFER",
    [WIRE_QREDRIVE] = "QREDRIVE",
    [WIRE_MISSED] = "MISSED",
    [WIRE_QRAFT] = "QRAFT",
    [WIRE_QLEADER] = "QLEADER",
};

/* ------------------------------------------------------------------------ */
/*  Encoding                                                                */

//  Stores in *LEN the length of TEXT, a NUL-terminated string of at most MAX
//  bytes. Returns 0, or -1 when TEXT is NULL or longer than MAX.
int wire_text_len (const char *text, size_t max, size_t *len)
{
    if (!text)
        return -1;
    *len = strnlen (text, max + 1);
    return *len > max ? -1 : 0;
}

//  True when the LEN bytes at TEXT can travel as a header key or value: not
//  NULL unless empty, and free of NUL bytes (receivers hand out C strings).
bool wire_bytes_ok (const char *text, size_t len)
{
    if (len == 0)
        return true;
    return text != NULL && memchr (text, 0, len) == NULL;
}

//  Packs a msgpack str of LEN bytes at TEXT. Returns 0 or non-zero on failure.
int wire_pack_str (msgpack_packer *pk, const char *text, size_t len)
{
    int rc = msgpack_pack_str (pk, len);
    if (rc == 0 && len > 0)
        rc = msgpack_pack_str_body (pk, text, len);
    return rc;
}

//  Packs a 16-byte UUID as a msgpack bin. Returns 0 or non-zero on failure.
int wire_pack_uuid (msgpack_packer *pk, const uint8_t *uuid)
{
    int rc = msgpack_pack_bin (pk, WIRE_UUID_SIZE);
    if (rc == 0)
        rc = msgpack_pack_bin_body (pk, uuid, WIRE_UUID_SIZE);
    return rc;
}

//  Clears OUT, points PK at it and opens a header of TYPE with NFIELDS
//  elements in all. Returns 0 or non-zero when OUT cannot grow.
int wire_begin (msgpack_packer *pk, msgpack_sbuffer *out, int type, uint32_t nfields)
{
    msgpack_sbuffer_clear (out);
    msgpack_packer_init (pk, out, msgpack_sbuffer_write);
    int rc = msgpack_pack_array (pk, nfields);
    rc |= msgpack_pack_uint8 (pk, WIRE_VERSION);
    rc |= msgpack_pack_uint8 (pk, (uint8_t)type);
    return rc;
}

//  Maps the accumulated packer result RC to 0 or WEFT_ENOMEM.
int wire_packed (int rc)
{
    return rc ? WEFT_ENOMEM : 0;
}

/* ------------------------------------------------------------------------ */
/*  Decoder context and errors                                              */

//  Creates a decoder with its zone (one chunk, reused for every frame).
wire_decoder_t *wire_decoder_new (size_t max_header)
{
    wire_decoder_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (!msgpack_zone_init (&self->zone, WIRE_ZONE_CHUNK)) {
        free (self);
        return NULL;
    }
    self->max_header = max_header ? max_header : WIRE_HEADER_MAX;
    self->where = "";
    return self;
}

//  Frees the zone and the decoder; nulls *SELF_P.
void wire_decoder_destroy (wire_decoder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    msgpack_zone_destroy (&(*self_p)->zone);
    free (*self_p);
    *self_p = NULL;
}

//  Returns the reason of the last failure, "" after a success.
const char *wire_decoder_error (const wire_decoder_t *self)
{
    return self ? self->error : "no decoder";
}

//  Returns the kind of the last failure.
wire_fault_t wire_decoder_fault (const wire_decoder_t *self)
{
    return self ? self->fault : WIRE_FAULT_MALFORMED;
}

//  Records a failure of KIND with a printf-style reason; returns WEFT_EPROTO
//  (WEFT_ENOMEM for WIRE_FAULT_NOMEM).
int wire_fail (wire_decoder_t *self, wire_fault_t kind, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (self->error, sizeof self->error, fmt, args);
    va_end (args);
    self->fault = kind;
    return kind == WIRE_FAULT_NOMEM ? WEFT_ENOMEM : WEFT_EPROTO;
}

//  Shorthand for the common case: a malformed frame.

//  Forgets the last call's outcome.
void wire_clear_error (wire_decoder_t *self)
{
    self->error[0] = '\0';
    self->fault = WIRE_FAULT_NONE;
}

//  Describes the msgpack type of O with an article, for error messages.
const char *wire_kind (const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "an unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "a float";
    case MSGPACK_OBJECT_STR:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "a map";
    case MSGPACK_OBJECT_BIN:
        return "a binary";
    case MSGPACK_OBJECT_EXT:
        return "an extension";
    }
    return "of an unknown type";
}

/* ------------------------------------------------------------------------ */
/*  Scanning: prove the frame is one well-formed msgpack value              */

//  How a msgpack format byte in 0xc0..0xdf is laid out.
typedef enum { F_BAD, F_FIXED, F_VAR, F_ARRAY, F_MAP } s_layout_t;

typedef struct {
    uint8_t layout;   //  s_layout_t
    uint8_t lenbytes; //  big-endian length or count bytes after the format byte
    uint8_t extra;    //  F_FIXED: payload bytes; F_VAR: bytes between length and payload
} s_format_t;

//  Formats 0xc0..0xdf, indexed by byte - 0xc0 (msgpack spec, "formats").
static const s_format_t s_formats[32] = {
    [0x00] = {F_FIXED, 0, 0},  //  nil
    [0x01] = {F_BAD, 0, 0},    //  never used
    [0x02] = {F_FIXED, 0, 0},  //  false
    [0x03] = {F_FIXED, 0, 0},  //  true
    [0x04] = {F_VAR, 1, 0},    //  bin 8
    [0x05] = {F_VAR, 2, 0},    //  bin 16
    [0x06] = {F_VAR, 4, 0},    //  bin 32
    [0x07] = {F_VAR, 1, 1},    //  ext 8 (length, type byte, data)
    [0x08] = {F_VAR, 2, 1},    //  ext 16
    [0x09] = {F_VAR, 4, 1},    //  ext 32
    [0x0a] = {F_FIXED, 0, 4},  //  float 32
    [0x0b] = {F_FIXED, 0, 8},  //  float 64
    [0x0c] = {F_FIXED, 0, 1},  //  uint 8
    [0x0d] = {F_FIXED, 0, 2},  //  uint 16
    [0x0e] = {F_FIXED, 0, 4},  //  uint 32
    [0x0f] = {F_FIXED, 0, 8},  //  uint 64
    [0x10] = {F_FIXED, 0, 1},  //  int 8
    [0x11] = {F_FIXED, 0, 2},  //  int 16
    [0x12] = {F_FIXED, 0, 4},  //  int 32
    [0x13] = {F_FIXED, 0, 8},  //  int 64
    [0x14] = {F_FIXED, 0, 2},  //  fixext 1 (type byte, data)
    [0x15] = {F_FIXED, 0, 3},  //  fixext 2
    [0x16] = {F_FIXED, 0, 5},  //  fixext 4
    [0x17] = {F_FIXED, 0, 9},  //  fixext 8
    [0x18] = {F_FIXED, 0, 17}, //  fixext 16
    [0x19] = {F_VAR, 1, 0},    //  str 8
    [0x1a] = {F_VAR, 2, 0},    //  str 16
    [0x1b] = {F_VAR, 4, 0},    //  str 32
    [0x1c] = {F_ARRAY, 2, 0},  //  array 16
    [0x1d] = {F_ARRAY, 4, 0},  //  array 32
    [0x1e] = {F_MAP, 2, 0},    //  map 16
    [0x1f] = {F_MAP, 4, 0},    //  map 32
};

//  Result of s_token ().
enum { TOKEN_OK = 0, TOKEN_BAD = -1, TOKEN_CUT = -2 };

//  Measures the msgpack token at P (AVAIL bytes left, at least 1): stores its
//  length (header and payload; the payload may run past AVAIL, the caller
//  checks) in *SIZE and the number of values it opens (array elements, or
//  keys plus values of a map) in *CHILDREN. Returns a TOKEN_* code.
static int s_token (const uint8_t *p, size_t avail, uint64_t *size, uint64_t *children)
{
    uint8_t b = p[0];
    *children = 0;
    *size = 1;
    if (b <= 0x7f || b >= 0xe0) //  positive / negative fixint
        return TOKEN_OK;
    if (b <= 0x8f) { //  fixmap
        *children = 2u * (b & 0x0fu);
        return TOKEN_OK;
    }
    if (b <= 0x9f) { //  fixarray
        *children = b & 0x0fu;
        return TOKEN_OK;
    }
    if (b <= 0xbf) { //  fixstr
        *size = 1 + (b & 0x1fu);
        return TOKEN_OK;
    }
    const s_format_t *f = &s_formats[b - 0xc0];
    if (f->layout == F_BAD)
        return TOKEN_BAD;
    if (avail < 1u + f->lenbytes)
        return TOKEN_CUT;
    uint64_t n = 0;
    for (int i = 1; i <= f->lenbytes; i++)
        n = (n << 8) | p[i];
    *size = 1u + f->lenbytes;
    if (f->layout == F_FIXED)
        *size += f->extra;
    else if (f->layout == F_VAR)
        *size += f->extra + n;
    else
        *children = f->layout == F_MAP ? 2 * n : n;
    return TOKEN_OK;
}

//  Checks that the LEN bytes at DATA are exactly one msgpack value, complete,
//  every declared element present and nested at most WIRE_DEPTH_MAX deep.
//  Allocates nothing. Returns 0 or WEFT_EPROTO with the reason recorded.
static int s_scan (wire_decoder_t *self, const uint8_t *data, size_t len)
{
    uint64_t left[WIRE_DEPTH_MAX + 1]; //  values still expected at each open level
    size_t top = 1;                    //  open levels; level 0 is the frame itself
    size_t pos = 0;
    left[0] = 1;
    while (top > 0) {
        if (left[top - 1] == 0) {
            top--;
            continue;
        }
        left[top - 1]--;
        if (pos == len)
            return wire_bad (self, "frame truncated: %zu bytes, a value is missing", len);
        uint64_t size, children;
        int rc = s_token (data + pos, len - pos, &size, &children);
        if (rc == TOKEN_BAD)
            return wire_bad (self, "invalid msgpack byte 0x%02x at offset %zu", data[pos], pos);
        if (rc == TOKEN_CUT || size > len - pos)
            return wire_bad (self, "frame truncated: %zu bytes, the value at offset %zu is cut",
                             len, pos);
        pos += size;
        if (children == 0)
            continue;
        if (children > len - pos)
            return wire_bad (self,
                             "the container at offset %zu declares %" PRIu64
                             " values but only %zu bytes follow",
                             pos - size, children, len - pos);
        if (top > WIRE_DEPTH_MAX)
            return wire_bad (self, "values nested deeper than %d levels", WIRE_DEPTH_MAX);
        left[top++] = children;
    }
    if (pos < len)
        return wire_bad (self, "%zu trailing bytes after the header array", len - pos);
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  Decoding a frame                                                        */

//  Checks the top value TOP: an array starting with version and a type, and
//  holding at least the fields of a known type. Returns 0 or WEFT_EPROTO.
static int s_check_top (wire_decoder_t *self, const msgpack_object *top)
{
    if (top->type != MSGPACK_OBJECT_ARRAY)
        return wire_bad (self, "header is %s, an array expected", wire_kind (top));
    const msgpack_object *field = top->via.array.ptr;
    uint32_t nfields = top->via.array.size;
    if (nfields == 0)
        return wire_bad (self, "header array is empty");
    if (field[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wire_bad (self, "version is %s, an unsigned integer expected",
                         wire_kind (&field[0]));
    if (field[0].via.u64 != WIRE_VERSION)
        return wire_fail (self, WIRE_FAULT_VERSION, "unsupported protocol version %" PRIu64,
                          field[0].via.u64);
    if (nfields < 2)
        return wire_bad (self, "header has no type field");
    if (field[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return wire_bad (self, "type is %s, an unsigned integer expected", wire_kind (&field[1]));
    if (field[1].via.u64 > INT_MAX)
        return wire_bad (self, "type %" PRIu64 " out of range", field[1].via.u64);
    int type = (int)field[1].via.u64;
    if (type >= WIRE_HELLO && type <= WIRE_TYPE_LAST && nfields < wire_min_fields[type])
        return wire_bad (self, "%s has %" PRIu32 " fields, at least %" PRIu32 " expected",
                         wire_type_names[type], nfields, wire_min_fields[type]);
    self->field = field;
    self->nfields = nfields;
    self->type = type;
    return 0;
}

//  Checks the size, scans the bytes, unpacks into the zone and checks the
//  version, the type and the field count.
int wire_decode (wire_decoder_t *self, const void *data, size_t len, int *type)
{
    if (type)
        *type = 0;
    if (!self)
        return WEFT_EINVAL;
    wire_clear_error (self);
    self->field = NULL;
    self->nfields = 0;
    self->type = 0;
    if (len > self->max_header)
        return wire_fail (self, WIRE_FAULT_OVERSIZED,
                          "header frame of %zu bytes exceeds the limit of %zu", len,
                          self->max_header);
    if (len == 0 || !data)
        return wire_bad (self, "empty header frame");
    int rc = s_scan (self, data, len);
    if (rc)
        return rc;
    msgpack_zone_clear (&self->zone);
    msgpack_object top;
    size_t offset = 0;
    msgpack_unpack_return ret = msgpack_unpack (data, len, &offset, &self->zone, &top);
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
        return wire_fail (self, WIRE_FAULT_NOMEM, "out of memory decoding a %zu-byte frame", len);
    if (ret != MSGPACK_UNPACK_SUCCESS)
        return wire_bad (self, "msgpack rejected the frame (code %d)", (int)ret);
    if ((rc = s_check_top (self, &top)) != 0)
        return rc;
    if (type)
        *type = self->type;
    return 0;
}
