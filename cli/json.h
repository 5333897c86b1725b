/*  cli/json.h - the JSON of the tools, on jansson: strings from any bytes
    (message bodies), a node's status parsed, table cells from values, and
    documents printed (every --json output goes through cli_json_print ()).
    Thread: pure functions (the printer writes to the given stream).
*/
#ifndef WEFT_CLI_JSON_H
#define WEFT_CLI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

//  Separators of the --json outputs: the tools' own documents put a space
//  after ',' and ':' ({"sent": 1, "confirmed": 1}); status and journal print
//  the node's status compact, as the node writes it ({"name":"edge-1",...}).
#define CLI_JSON_SPACED  0
#define CLI_JSON_COMPACT JSON_COMPACT

//  A new JSON string of the LEN bytes at DATA: as is when they are valid
//  UTF-8, else with each byte that is not read as Latin-1 (U+0080 to U+00FF),
//  so that any body gives a string. NULL only when out of memory.
json_t *cli_json_bytes (const void *data, size_t len);

//  cli_json_bytes () of the C string TEXT (NULL: "").
json_t *cli_json_str (const char *text);

//  Parses TEXT (a node's status): a new object, or NULL when TEXT is not a
//  JSON object.
json_t *cli_json_parse (const char *text);

//  Writes JSON to OUT with FLAGS (CLI_JSON_*), then a newline, and flushes.
//  Returns 0, or -1 when JSON is NULL (it could not be built: out of memory)
//  or writing failed.
int cli_json_print (FILE *out, const json_t *json, size_t flags);

//  Writes the text of VALUE for a table cell into BUF (CAP bytes) and returns
//  BUF: a string as is, an integer in decimal, true, false, null; an array or
//  an object as compact JSON; FALLBACK when VALUE is NULL (a missing member).
const char *cli_json_cell (const json_t *value, const char *fallback, char *buf, size_t cap);

//  The string member KEY of OBJECT, or FALLBACK when it is missing or not a
//  string (borrowed from OBJECT).
const char *cli_json_text (const json_t *object, const char *key, const char *fallback);

#endif
