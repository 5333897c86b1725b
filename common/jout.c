/*  common/jout.c - JSON building helpers over jansson (see jout.h). */
#include "common/jout.h"

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

json_t *jout_text (const void *data, size_t len)
{
    json_t *string = json_stringn (data, len);
    if (string || !data)
        return string;
    //  not UTF-8: each byte that is not, read as Latin-1 (two bytes at most)
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

json_t *jout_str (const char *text)
{
    return jout_text (text ? text : "", text ? strlen (text) : 0);
}

int jout_set_str (json_t *object, const char *key, const char *text)
{
    return json_object_set_new (object, key, jout_str (text));
}

int jout_set_int (json_t *object, const char *key, int64_t value)
{
    return json_object_set_new (object, key, json_integer ((json_int_t)value));
}

int jout_set_uint (json_t *object, const char *key, uint64_t value)
{
    return jout_set_int (object, key, value > INT64_MAX ? INT64_MAX : (int64_t)value);
}
