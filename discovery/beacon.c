/*  discovery/beacon.c - the UDP beacon: encode, decode, validate (see beacon.h).

    Every field is read and written byte by byte in network byte order, so the
    code depends neither on the host's endianness nor on struct layout, and a
    decoder reading hostile bytes never reads past LEN.
*/
#include "discovery/beacon.h"

#include <string.h>

#include "common/hash.h"

//  Byte offsets of the fields (the table in beacon.h).
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_FLAGS = 5,
    OFF_ROLE = 6,
    OFF_RESERVED = 7,
    OFF_CLUSTER = 8,
    OFF_UUID = 16,
    OFF_INCARNATION = 32,
    OFF_ROUTER_PORT = 40,
    OFF_PUB_PORT = 42
};

#define MAGIC_SIZE   4    //  "WEFT" without its NUL
#define FLAG_LEAVING 0x01 //  flags bit 0

//  Writes VALUE big-endian into the 2 bytes at P.
static void put16 (uint8_t *p, uint16_t value)
{
    p[0] = (uint8_t)(value >> 8);
    p[1] = (uint8_t)value;
}

//  Writes VALUE big-endian into the 8 bytes at P.
static void put64 (uint8_t *p, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)value;
        value >>= 8;
    }
}

//  Reads the big-endian 16-bit value at P.
static uint16_t get16 (const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

//  Reads the big-endian 64-bit value at P.
static uint64_t get64 (const uint8_t *p)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = value << 8 | p[i];
    return value;
}

//  True when the fields a receiver checks are in range: a known role and two
//  non-zero ports. Shared by encode and decode so both agree on "valid".
static bool fields_valid (uint8_t role, uint16_t router_port, uint16_t pub_port)
{
    return role <= BEACON_ROLE_CLIENT && router_port != 0 && pub_port != 0;
}

int beacon_encode (const beacon_t *beacon, uint8_t *buf, size_t cap)
{
    if (!beacon || !buf || cap < BEACON_SIZE || beacon->version == 0)
        return -1;
    if (!fields_valid (beacon->role, beacon->router_port, beacon->pub_port))
        return -1;
    memcpy (buf + OFF_MAGIC, BEACON_MAGIC, MAGIC_SIZE);
    buf[OFF_VERSION] = beacon->version;
    buf[OFF_FLAGS] = beacon->leaving ? FLAG_LEAVING : 0;
    buf[OFF_ROLE] = beacon->role;
    buf[OFF_RESERVED] = 0;
    put64 (buf + OFF_CLUSTER, beacon->cluster_id);
    memcpy (buf + OFF_UUID, beacon->uuid, sizeof beacon->uuid);
    put64 (buf + OFF_INCARNATION, beacon->incarnation);
    put16 (buf + OFF_ROUTER_PORT, beacon->router_port);
    put16 (buf + OFF_PUB_PORT, beacon->pub_port);
    return BEACON_SIZE;
}

//  Classifies the header of LEN bytes at BUF using only the bytes present:
//  bad magic, another version, or too short for a version-1 beacon. A prefix
//  of "WEFT" too short to hold the whole magic counts as truncated.
static beacon_result_t check_header (const uint8_t *buf, size_t len)
{
    size_t magic_len = len < MAGIC_SIZE ? len : MAGIC_SIZE;
    if (magic_len > 0 && memcmp (buf, BEACON_MAGIC, magic_len) != 0)
        return BEACON_BAD_MAGIC;
    //  The version is checked before the size: a beacon of another version
    //  may have another size, and is "another version", not "truncated".
    if (len > OFF_VERSION && buf[OFF_VERSION] != BEACON_VERSION)
        return BEACON_BAD_VERSION;
    if (len < BEACON_SIZE)
        return BEACON_TRUNCATED;
    return BEACON_OK;
}

beacon_result_t beacon_decode (const uint8_t *buf, size_t len, beacon_t *beacon)
{
    if (!buf)
        len = 0;
    beacon_result_t result = check_header (buf, len);
    if (result != BEACON_OK)
        return result;
    beacon_t b = {0};
    b.version = buf[OFF_VERSION];
    b.leaving = (buf[OFF_FLAGS] & FLAG_LEAVING) != 0; //  other bits reserved
    b.role = buf[OFF_ROLE];
    b.cluster_id = get64 (buf + OFF_CLUSTER);
    memcpy (b.uuid, buf + OFF_UUID, sizeof b.uuid);
    b.incarnation = get64 (buf + OFF_INCARNATION);
    b.router_port = get16 (buf + OFF_ROUTER_PORT);
    b.pub_port = get16 (buf + OFF_PUB_PORT);
    if (!fields_valid (b.role, b.router_port, b.pub_port))
        return BEACON_BAD_FIELD;
    if (beacon)
        *beacon = b;
    return BEACON_OK;
}

const char *beacon_result_str (beacon_result_t result)
{
    switch (result) {
    case BEACON_OK:
        return "ok";
    case BEACON_BAD_MAGIC:
        return "bad magic (not a Weft beacon)";
    case BEACON_BAD_VERSION:
        return "other beacon version";
    case BEACON_TRUNCATED:
        return "truncated beacon";
    case BEACON_BAD_FIELD:
        return "bad beacon field (role or port)";
    }
    return "unknown beacon result";
}

uint64_t beacon_cluster_id (const char *name)
{
    return hash64_str (name ? name : "");
}
