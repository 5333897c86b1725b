/*  node/wire/entry.c - the framing of a journal entry (see entry.h). */
#include "node/wire/entry.h"

#include <stdint.h>
#include <string.h>

#include "weft.h"

size_t wire_entry_size (size_t hlen, size_t blen)
{
    if (hlen > UINT32_MAX || blen > SIZE_MAX - WIRE_ENTRY_PREFIX - hlen)
        return 0;
    return WIRE_ENTRY_PREFIX + hlen + blen;
}

int wire_entry_pack (const void *header, size_t hlen, const void *body, size_t blen, void *out)
{
    if (wire_entry_size (hlen, blen) == 0)
        return WEFT_EINVAL;
    uint8_t *p = out;
    p[0] = (uint8_t)(hlen >> 24);
    p[1] = (uint8_t)(hlen >> 16);
    p[2] = (uint8_t)(hlen >> 8);
    p[3] = (uint8_t)hlen;
    if (hlen)
        memcpy (p + WIRE_ENTRY_PREFIX, header, hlen);
    if (blen)
        memcpy (p + WIRE_ENTRY_PREFIX + hlen, body, blen);
    return 0;
}

int wire_entry_split (const void *data, size_t len, const void **header, size_t *hlen,
                      const void **body, size_t *blen)
{
    const uint8_t *p = data;
    if (!p || len < WIRE_ENTRY_PREFIX)
        return WEFT_ECORRUPT;
    size_t size = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (size > len - WIRE_ENTRY_PREFIX)
        return WEFT_ECORRUPT;
    *header = p + WIRE_ENTRY_PREFIX;
    *hlen = size;
    *body = p + WIRE_ENTRY_PREFIX + size;
    *blen = len - WIRE_ENTRY_PREFIX - size;
    return 0;
}
