/*  common/hex.h - lower-case hexadecimal text of bytes (node UUIDs in logs,
    tables and keys). Thread: pure. */
#ifndef WEFT_COMMON_HEX_H
#define WEFT_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

//  Writes the 2 * LEN hex digits of DATA and a NUL into OUT (2 * LEN + 1 bytes).
void hex_encode (const void *data, size_t len, char *out);

#endif
