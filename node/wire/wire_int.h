/*  node/wire/wire_int.h - what the codec's files share (wire.c, wire_durable.c):
    the decoder's state and the field readers and writers. Not for other modules. */
#ifndef WEFT_NODE_WIRE_INT_H
#define WEFT_NODE_WIRE_INT_H

#include <inttypes.h>

#include "node/wire/wire.h"

#define WIRE_ERROR_MAX 160         //  room for a failure reason
#define WIRE_TYPE_LAST WIRE_QLEADER //  highest type number known

struct wire_decoder {
    msgpack_zone zone;           //  object tree of the last frame; cleared per frame
    size_t max_header;           //  frames over this many bytes are rejected
    const msgpack_object *field; //  the top array's elements; NULL if no frame decoded
    uint32_t nfields;            //  number of them
    int type;                    //  type of the last decoded frame, 0 if none
    wire_fault_t fault;          //  kind of the last failure
    const char *where;           //  what is being read, for errors: "HELLO", "PEERS entry 3"
    char where_buf[32];          //  storage for a composed WHERE
    char error[WIRE_ERROR_MAX];  //  why the last call failed, "" if it did not
};

//  Fields of each known type, version and type included; names for errors.
extern const uint32_t wire_min_fields[];
extern const char *const wire_type_names[];

//  Encoding: clear OUT, point PK at it and open a header of TYPE with NFIELDS
//  elements in all; pack a string; map a packer result to 0 or WEFT_ENOMEM.
int wire_begin (msgpack_packer *pk, msgpack_sbuffer *out, int type, uint32_t nfields);
int wire_pack_str (msgpack_packer *pk, const char *text, size_t len);
int wire_pack_uuid (msgpack_packer *pk, const uint8_t *uuid);
//  Stores the length of TEXT (at most MAX bytes) in *LEN: 0, or -1 when TEXT is
//  NULL or longer. wire_bytes_ok: LEN bytes at TEXT may travel as a header
//  key or value (not NULL unless empty, no NUL byte).
int wire_text_len (const char *text, size_t max, size_t *len);
bool wire_bytes_ok (const char *text, size_t len);
//  Decodes a 16-byte UUID field NAME from O into OUT.
int wire_uuid (wire_decoder_t *self, const msgpack_object *o, const char *name, uint8_t *out);
int wire_packed (int rc);

//  Decoding: record a failure (returns WEFT_EPROTO, or WEFT_ENOMEM for
//  WIRE_FAULT_NOMEM); check the decoded frame's type; read one field.
int wire_fail (wire_decoder_t *self, wire_fault_t kind, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
#define wire_bad(self, ...) wire_fail ((self), WIRE_FAULT_MALFORMED, __VA_ARGS__)
const char *wire_kind (const msgpack_object *o);
//  Forgets the decoder's last error (a field read succeeded).
void wire_clear_error (wire_decoder_t *self);
int wire_expect (wire_decoder_t *self, int type, int alt_type);
int wire_uint (wire_decoder_t *self, const msgpack_object *o, const char *name, uint64_t max,
               uint64_t *out);
int wire_int64 (wire_decoder_t *self, const msgpack_object *o, const char *name, int64_t *out);
int wire_str_ref (wire_decoder_t *self, const msgpack_object *o, const char *name, size_t max,
                  const char **text, size_t *len);
int wire_text (wire_decoder_t *self, const msgpack_object *o, const char *name, size_t max,
               char *out);

#endif
