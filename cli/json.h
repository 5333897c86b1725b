/*  cli/json.h - the little JSON the tools need: writing strings, reading
    the top-level fields of an object such as weft_status () returns, and
    the items of an array (its "journal").
    Thread: pure functions (the writers write to the given stream).
*/
#ifndef WEFT_CLI_JSON_H
#define WEFT_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

//  Writes DATA (LEN bytes) as a quoted JSON string: control characters,
//  quotes and backslashes escaped, bytes that are not valid UTF-8 written as
//  \u00XX (read as Latin-1), so any body gives valid JSON.
void json_write_string (FILE *out, const void *data, size_t len);

//  Called by json_fields () with a field's KEY and its VALUE: the unescaped
//  text of a string, or the raw text of a number, true, false, null, object
//  or array; IS_STRING says which. Both borrowed for the call only.
typedef void (json_field_fn) (const char *key, const char *value, bool is_string, void *arg);

//  Calls FN for each top-level field of the JSON object JSON, in order.
//  Returns 0, or -1 when JSON is not an object (FN may have been called).
int json_fields (const char *json, json_field_fn *fn, void *arg);

//  Stores the value of top-level field KEY of object JSON in BUF (CAP bytes,
//  as json_fields () gives it). Returns true when found.
bool json_get (const char *json, const char *key, char *buf, size_t cap);

//  Returns a malloc'ed copy of the value of top-level field KEY of object
//  JSON (as json_fields () gives it), or NULL when absent or out of memory.
char *json_get_dup (const char *json, const char *key);

//  Called by json_items () with the raw text of one item of an array
//  (borrowed for the call only).
typedef void (json_item_fn) (const char *item, void *arg);

//  Calls FN for each item of the JSON array JSON, in order. Returns 0, or -1
//  when JSON is not an array (FN may have been called).
int json_items (const char *json, json_item_fn *fn, void *arg);

#endif
