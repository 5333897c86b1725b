/*  discovery/beacon.h - the UDP beacon: encode, decode, validate.

    A beacon announces a node to its LAN. It is encoded field by field in
    network byte order (never a C struct), BEACON_SIZE bytes:

      offset size field
           0    4 magic "WEFT"
           4    1 version (BEACON_VERSION)
           5    1 flags: bit 0 = leaving; other bits reserved, sent as 0, ignored
           6    1 role: 0 member, 1 client
           7    1 reserved, sent as 0, ignored
           8    8 cluster id (beacon_cluster_id () of the cluster name)
          16   16 node UUID
          32    8 incarnation (changes each time the node starts)
          40    2 ROUTER port (non-zero)
          42    2 PUB port (non-zero)

    A receiver accepts a longer datagram of the same version and ignores the
    bytes past BEACON_SIZE, so fields can be appended without a version bump.
    Thread: pure functions.
*/
#ifndef WEFT_DISCOVERY_BEACON_H
#define WEFT_DISCOVERY_BEACON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BEACON_MAGIC   "WEFT"
#define BEACON_VERSION 1
#define BEACON_SIZE    44

#define BEACON_ROLE_MEMBER 0
#define BEACON_ROLE_CLIENT 1

typedef struct {
    uint8_t version;      //  BEACON_VERSION when encoding
    bool leaving;         //  the node is stopping: drop it now
    uint8_t role;         //  BEACON_ROLE_*
    uint64_t cluster_id;  //  beacon_cluster_id (cluster name)
    uint8_t uuid[16];     //  node UUID
    uint64_t incarnation; //  node incarnation
    uint16_t router_port; //  ROUTER port on the sender's address
    uint16_t pub_port;    //  PUB port on the sender's address
} beacon_t;

//  Outcome of beacon_decode (); the receiver counts each kind.
typedef enum {
    BEACON_OK = 0,           //  valid
    BEACON_BAD_MAGIC = -1,   //  not a Weft beacon (someone else's traffic)
    BEACON_BAD_VERSION = -2, //  a Weft beacon of another version
    BEACON_TRUNCATED = -3,   //  shorter than BEACON_SIZE
    BEACON_BAD_FIELD = -4    //  role out of range or a zero port
} beacon_result_t;

//  Writes BEACON into BUF (CAP bytes). The version is written as given
//  (BEACON_VERSION for a real beacon; 0 is refused, so a zeroed beacon_t that
//  was never filled in is caught). Returns BEACON_SIZE, or -1 when an argument
//  is NULL, CAP is too small or a field is out of range (role, zero port).
int beacon_encode (const beacon_t *beacon, uint8_t *buf, size_t cap);

//  Parses LEN bytes of BUF into *BEACON; returns a beacon_result_t. Checks, in
//  order: magic, version, size, fields - so a short datagram of someone else is
//  BAD_MAGIC, a beacon of another version (whatever its size) is BAD_VERSION,
//  and a cut-off prefix of a version-1 beacon is TRUNCATED. *BEACON is
//  written only on BEACON_OK; BEACON may be NULL to validate only. Never reads
//  past LEN; safe on any bytes.
beacon_result_t beacon_decode (const uint8_t *buf, size_t len, beacon_t *beacon);

//  Returns a short description of RESULT for logs.
const char *beacon_result_str (beacon_result_t result);

//  The stable 64-bit cluster id of a cluster NAME: hash64_str (NAME), FNV-1a
//  with a finalizer (see common/hash.h). NULL counts as "".
uint64_t beacon_cluster_id (const char *name);

#endif
