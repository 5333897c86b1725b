/*  cli/json.c - the tools' JSON helpers over jansson (see json.h). */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  Returns the length of the valid UTF-8 sequence at P (LEFT bytes), or 0.
static size_t utf8_length (const unsigned char *p, size_t left)
{
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
               : (p[0] & 0xf0) == 0xe0        ? 3
               : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                              : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return 0; //  overlong, or a UTF-16 surrogate
    if (n == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return 0; //  overlong, or past U+10FFFF
    return n;
}

json_t *cli_json_bytes (const void *data, size_t len)
{
    json_t *string = json_stringn (data ? data : "", data ? len : 0);
    if (string)
        return string;
    //  not UTF-8: each byte that is not, read as Latin-1 (two bytes of UTF-8)
    const unsigned char *p = data;
    char *text = malloc (len * 2 + 1);
    size_t used = 0;
    for (size_t i = 0; text && i < len;) {
        size_t n = utf8_length (p + i, len - i);
        if (n) {
            memcpy (text + used, p + i, n);
            used += n;
            i += n;
        } else {
            text[used++] = (char)(0xc0 | p[i] >> 6);
            text[used++] = (char)(0x80 | (p[i++] & 0x3f));
        }
    }
    string = text ? json_stringn (text, used) : NULL;
    free (text);
    return string;
}

json_t *cli_json_str (const char *text)
{
    return cli_json_bytes (text, text ? strlen (text) : 0);
}

json_t *cli_json_parse (const char *text)
{
    json_t *json = text ? json_loads (text, 0, NULL) : NULL;
    if (json && !json_is_object (json)) {
        json_decref (json);
        return NULL;
    }
    return json;
}

int cli_json_print (FILE *out, const json_t *json, size_t flags)
{
    int rc = json ? json_dumpf (json, out, flags | JSON_ENCODE_ANY) : -1;
    if (rc == 0 && (fputc ('\n', out) == EOF || fflush (out)))
        rc = -1;
    return rc;
}

const char *cli_json_cell (const json_t *value, const char *fallback, char *buf, size_t cap)
{
    if (!value)
        snprintf (buf, cap, "%s", fallback);
    else if (json_is_string (value))
        snprintf (buf, cap, "%s", json_string_value (value));
    else if (json_is_integer (value))
        snprintf (buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
    else {
        char *text = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf (buf, cap, "%s", text ? text : "?");
        free (text);
    }
    return buf;
}

const char *cli_json_text (const json_t *object, const char *key, const char *fallback)
{
    const char *text = json_string_value (json_object_get (object, key));
    return text ? text : fallback;
}
