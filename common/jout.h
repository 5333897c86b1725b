/*  common/jout.h - building JSON documents with jansson (the node's status):
    strings from any bytes, and object members whose failure is counted, so
    that a builder checks once at the end. Thread: pure.
*/
#ifndef WEFT_COMMON_JOUT_H
#define WEFT_COMMON_JOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

//  A new JSON string of the LEN bytes at DATA: the text as is when it is
//  valid UTF-8, else with each byte that is not read as Latin-1 (U+0080 to
//  U+00FF), so that any bytes (a peer's name) give a string. NULL only when
//  out of memory.
json_t *jout_text (const void *data, size_t len);

//  jout_text () of the C string TEXT (NULL: "").
json_t *jout_str (const char *text);

//  Sets member KEY of OBJECT to TEXT (jout_str), to the integer VALUE, or to
//  the unsigned VALUE (above INT64_MAX: INT64_MAX; json_int_t is signed).
//  Each returns 0, or -1 when out of memory (OBJECT is left without KEY).
int jout_set_str (json_t *object, const char *key, const char *text);
int jout_set_int (json_t *object, const char *key, int64_t value);
int jout_set_uint (json_t *object, const char *key, uint64_t value);

#endif
