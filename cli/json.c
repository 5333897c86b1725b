/*  cli/json.c - JSON string writer and flat-object reader (see json.h). */
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

void json_write_string (FILE *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    fputc ('"', out);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = utf8_length (p + i, len - i);
        if (c == '"' || c == '\\')
            fprintf (out, "\\%c", c);
        else if (c == '\n')
            fputs ("\\n", out);
        else if (c == '\t')
            fputs ("\\t", out);
        else if (c == '\r')
            fputs ("\\r", out);
        else if (c < 0x20 || c == 0x7f || n == 0)
            fprintf (out, "\\u%04x", c);
        else
            fwrite (p + i, 1, n, out);
        i += n ? n : 1;
    }
    fputc ('"', out);
}

//  Returns P past any white space.
static const char *skip_space (const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

//  Returns P (at '"') past the closing quote of its string, or NULL.
static const char *skip_string (const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && !*++p)
            return NULL;
    return *p == '"' ? p + 1 : NULL;
}

//  Returns P past one value (string, object, array or scalar), or NULL.
static const char *skip_value (const char *p)
{
    if (*p == '"')
        return skip_string (p);
    int depth = 0;
    const char *start = p;
    while (*p) {
        if (*p == '"') {
            if (!(p = skip_string (p)))
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (depth == 0)
                break;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (*p == ',' || *p == ' ' || *p == '\n' || *p == '\t'))
            break;
        p++;
    }
    return depth == 0 && p > start ? p : NULL;
}

//  Writes code point CP (below 0x10000) as UTF-8 at OUT; returns the bytes.
static size_t utf8_put (char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

//  Returns the character that escape letter C stands for (\n -> newline).
static char escaped (char c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c; //  '"', '\\', '/'
    }
}

//  Decodes the \uXXXX escape whose 'u' is at P (with 4 hex digits before
//  END) into OUT; returns the bytes written. Surrogates come out as '?'.
static size_t unicode_escape (const char *p, const char *end, char *out)
{
    char hex[5] = {0};
    if (end - p <= 4)
        return 0;
    memcpy (hex, p + 1, 4);
    unsigned cp = (unsigned)strtoul (hex, NULL, 16);
    return utf8_put (out, cp >= 0xd800 && cp < 0xe000 ? '?' : cp);
}

//  Returns a malloc'ed, unescaped copy of the string P..END (quotes at both
//  ends), or NULL when out of memory.
static char *unescape (const char *p, const char *end)
{
    char *out = malloc ((size_t)(end - p) + 1);
    size_t n = 0;
    for (p++, end--; out && p < end; p++) {
        if (*p != '\\')
            out[n++] = *p;
        else if (*++p == 'u') {
            n += unicode_escape (p, end, out + n);
            p += end - p > 4 ? 4 : 0;
        } else
            out[n++] = escaped (*p);
    }
    if (out)
        out[n] = 0;
    return out;
}

//  Calls FN for the field at P (a key string); returns P past its value.
static const char *one_field (const char *p, json_field_fn *fn, void *arg)
{
    const char *key_end = *p == '"' ? skip_string (p) : NULL;
    const char *colon = key_end ? skip_space (key_end) : NULL;
    if (!colon || *colon != ':')
        return NULL;
    const char *value = skip_space (colon + 1);
    const char *value_end = skip_value (value);
    if (!value_end)
        return NULL;
    char *key = unescape (p, key_end);
    bool is_string = *value == '"';
    char *text =
        is_string ? unescape (value, value_end) : strndup (value, (size_t)(value_end - value));
    if (key && text)
        fn (key, text, is_string, arg);
    free (key);
    free (text);
    return value_end;
}

int json_fields (const char *json, json_field_fn *fn, void *arg)
{
    const char *p = skip_space (json ? json : "");
    if (*p++ != '{')
        return -1;
    p = skip_space (p);
    if (*p == '}')
        return 0;
    for (;;) {
        if (!(p = one_field (skip_space (p), fn, arg)))
            return -1;
        p = skip_space (p);
        if (*p == '}')
            return 0;
        if (*p++ != ',')
            return -1;
    }
}

//  What json_get () looks for and where it puts it.
typedef struct {
    const char *key; //  the field wanted
    char *buf;       //  where its value goes (NULL: a malloc'ed copy in dup)
    size_t cap;      //  size of buf
    char *dup;       //  json_get_dup (): the copy
    bool found;      //  seen
} json_probe_t;

//  json_field_fn of json_get (): keeps the first field named probe->key.
static void probe_field (const char *key, const char *value, bool is_string, void *arg)
{
    json_probe_t *probe = arg;
    if (probe->found || strcmp (key, probe->key) != 0)
        return;
    if (probe->buf)
        snprintf (probe->buf, probe->cap, "%s", value);
    else
        probe->dup = strdup (value);
    probe->found = true;
}

bool json_get (const char *json, const char *key, char *buf, size_t cap)
{
    json_probe_t probe = {key, buf, cap, NULL, false};
    json_fields (json, probe_field, &probe);
    return probe.found;
}

char *json_get_dup (const char *json, const char *key)
{
    json_probe_t probe = {key, NULL, 0, NULL, false};
    json_fields (json, probe_field, &probe);
    return probe.dup;
}

int json_items (const char *json, json_item_fn *fn, void *arg)
{
    const char *p = skip_space (json ? json : "");
    if (*p++ != '[')
        return -1;
    p = skip_space (p);
    if (*p == ']')
        return 0;
    for (;;) {
        const char *end = skip_value (p);
        if (!end)
            return -1;
        char *item = strndup (p, (size_t)(end - p));
        if (item)
            fn (item, arg);
        free (item);
        p = skip_space (end);
        if (*p == ']')
            return 0;
        if (*p++ != ',')
            return -1;
        p = skip_space (p);
    }
}
