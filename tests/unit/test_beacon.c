/*  tests/unit/test_beacon.c - the UDP beacon codec (discovery/beacon.h):
    round trip, every malformed case, the cluster id, and a bounded fuzz loop.
    Pure functions: nothing here touches the network. */
#include <criterion/criterion.h>
#include <string.h>

#include "discovery/beacon.h"
#include "testutil.h"

//  A valid beacon with a distinct value in every byte of every field, so a
//  swapped or misplaced field shows up in the round trip.
static beacon_t sample (void)
{
    beacon_t b = {
        .version = BEACON_VERSION,
        .leaving = false,
        .role = BEACON_ROLE_CLIENT,
        .cluster_id = 0x0102030405060708ULL,
        .incarnation = 0xa1b2c3d4e5f60718ULL,
        .router_port = 0xbeef,
        .pub_port = 0x1234,
    };
    for (int i = 0; i < 16; i++)
        b.uuid[i] = (uint8_t)(0xf0 + i);
    return b;
}

//  Encodes SAMPLE into BUF (BEACON_SIZE bytes at least), asserting success.
static void encode_sample (uint8_t *buf, size_t cap)
{
    beacon_t b = sample ();
    cr_assert_eq (beacon_encode (&b, buf, cap), BEACON_SIZE);
}

//  Asserts that every field of A equals the same field of B.
static void assert_same (const beacon_t *a, const beacon_t *b)
{
    cr_assert_eq (a->version, b->version);
    cr_assert_eq (a->leaving, b->leaving);
    cr_assert_eq (a->role, b->role);
    cr_assert_eq (a->cluster_id, b->cluster_id);
    cr_assert_arr_eq (a->uuid, b->uuid, 16);
    cr_assert_eq (a->incarnation, b->incarnation);
    cr_assert_eq (a->router_port, b->router_port);
    cr_assert_eq (a->pub_port, b->pub_port);
}

Test (beacon, round_trip_every_field, .timeout = 10)
{
    beacon_t in = sample (), out;
    uint8_t buf[BEACON_SIZE];
    cr_assert_eq (beacon_encode (&in, buf, sizeof buf), BEACON_SIZE);
    cr_assert_eq (beacon_decode (buf, sizeof buf, &out), BEACON_OK);
    assert_same (&in, &out);
}

Test (beacon, wire_layout_is_big_endian, .timeout = 10)
{
    //  The exact bytes of the table in beacon.h, so the layout cannot drift.
    static const uint8_t expected[BEACON_SIZE] = {
        'W',  'E',  'F',  'T',  1,    0,    1,    0,    1,    2,    3,    4,    5,    6,    7,
        8,    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
        0xfe, 0xff, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0xbe, 0xef, 0x12, 0x34};
    uint8_t buf[BEACON_SIZE];
    encode_sample (buf, sizeof buf);
    cr_assert_arr_eq (buf, expected, BEACON_SIZE);
}

Test (beacon, leaving_flag_and_member_role, .timeout = 10)
{
    beacon_t in = sample (), out;
    in.leaving = true;
    in.role = BEACON_ROLE_MEMBER;
    uint8_t buf[BEACON_SIZE];
    cr_assert_eq (beacon_encode (&in, buf, sizeof buf), BEACON_SIZE);
    cr_assert_eq (buf[5], 0x01, "leaving is flags bit 0");
    cr_assert_eq (beacon_decode (buf, sizeof buf, &out), BEACON_OK);
    cr_assert (out.leaving);
    cr_assert_eq (out.role, BEACON_ROLE_MEMBER);
}

Test (beacon, reserved_bits_ignored, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE];
    beacon_t out;
    encode_sample (buf, sizeof buf);
    buf[5] = 0xfe; //  every flag but "leaving"
    buf[7] = 0xff; //  the reserved byte
    cr_assert_eq (beacon_decode (buf, sizeof buf, &out), BEACON_OK);
    cr_assert_not (out.leaving);
}

Test (beacon, truncated_at_every_length, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE];
    encode_sample (buf, sizeof buf);
    for (size_t len = 0; len < BEACON_SIZE; len++)
        cr_assert_eq (beacon_decode (buf, len, NULL), BEACON_TRUNCATED, "length %zu", len);
    cr_assert_eq (beacon_decode (NULL, 0, NULL), BEACON_TRUNCATED);
}

Test (beacon, bad_magic, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE];
    for (int i = 0; i < 4; i++) {
        encode_sample (buf, sizeof buf);
        buf[i] ^= 0x20;
        cr_assert_eq (beacon_decode (buf, sizeof buf, NULL), BEACON_BAD_MAGIC, "byte %d", i);
    }
    //  someone else's short datagram is not "truncated"
    cr_assert_eq (beacon_decode ((const uint8_t *)"hi", 2, NULL), BEACON_BAD_MAGIC);
    cr_assert_eq (beacon_decode ((const uint8_t *)"WEFX", 4, NULL), BEACON_BAD_MAGIC);
}

Test (beacon, other_version, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE + 16] = {0};
    encode_sample (buf, sizeof buf);
    const uint8_t versions[] = {0, 2, 0xff};
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[4] = versions[i];
        cr_assert_eq (beacon_decode (buf, BEACON_SIZE, NULL), BEACON_BAD_VERSION);
        //  another version may have another size: still "other version"
        cr_assert_eq (beacon_decode (buf, 5, NULL), BEACON_BAD_VERSION);
        cr_assert_eq (beacon_decode (buf, sizeof buf, NULL), BEACON_BAD_VERSION);
    }
}

Test (beacon, bad_fields, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE];
    encode_sample (buf, sizeof buf);
    buf[6] = 2; //  role
    cr_assert_eq (beacon_decode (buf, sizeof buf, NULL), BEACON_BAD_FIELD, "role 2");
    encode_sample (buf, sizeof buf);
    buf[40] = buf[41] = 0; //  ROUTER port
    cr_assert_eq (beacon_decode (buf, sizeof buf, NULL), BEACON_BAD_FIELD, "router port 0");
    encode_sample (buf, sizeof buf);
    buf[42] = buf[43] = 0; //  PUB port
    cr_assert_eq (beacon_decode (buf, sizeof buf, NULL), BEACON_BAD_FIELD, "pub port 0");
}

Test (beacon, failed_decode_leaves_output_alone, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE];
    encode_sample (buf, sizeof buf);
    buf[6] = 7;
    beacon_t out, before;
    memset (&out, 0x5a, sizeof out);
    memcpy (&before, &out, sizeof out);
    cr_assert_eq (beacon_decode (buf, sizeof buf, &out), BEACON_BAD_FIELD);
    cr_assert_arr_eq (&out, &before, sizeof out);
}

Test (beacon, longer_datagram_accepted, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE + 20];
    memset (buf, 0xee, sizeof buf);
    encode_sample (buf, sizeof buf);
    beacon_t in = sample (), out;
    cr_assert_eq (beacon_decode (buf, sizeof buf, &out), BEACON_OK);
    assert_same (&in, &out);
}

Test (beacon, encode_refuses_bad_input, .timeout = 10)
{
    uint8_t buf[BEACON_SIZE];
    beacon_t b = sample ();
    cr_assert_eq (beacon_encode (&b, buf, BEACON_SIZE - 1), -1, "short buffer");
    cr_assert_eq (beacon_encode (&b, NULL, BEACON_SIZE), -1);
    cr_assert_eq (beacon_encode (NULL, buf, BEACON_SIZE), -1);
    b.role = 2;
    cr_assert_eq (beacon_encode (&b, buf, sizeof buf), -1, "role 2");
    b = sample ();
    b.router_port = 0;
    cr_assert_eq (beacon_encode (&b, buf, sizeof buf), -1, "router port 0");
    b = sample ();
    b.pub_port = 0;
    cr_assert_eq (beacon_encode (&b, buf, sizeof buf), -1, "pub port 0");
    b = sample ();
    b.version = 0;
    cr_assert_eq (beacon_encode (&b, buf, sizeof buf), -1, "version 0 (never filled in)");
}

Test (beacon, result_strings, .timeout = 10)
{
    const beacon_result_t all[] = {BEACON_OK,        BEACON_BAD_MAGIC, BEACON_BAD_VERSION,
                                   BEACON_TRUNCATED, BEACON_BAD_FIELD, (beacon_result_t)-99};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *text = beacon_result_str (all[i]);
        cr_assert (text && *text);
    }
    cr_assert_str_neq (beacon_result_str (BEACON_TRUNCATED), beacon_result_str (BEACON_BAD_MAGIC));
}

Test (beacon, cluster_id_stable, .timeout = 10)
{
    //  Fixed values (checked against an independent implementation of
    //  common/hash.h): a change of hash would split every mixed-version cluster.
    cr_assert_eq (beacon_cluster_id ("weft"), 0x6ae65afecbe8478dULL);
    cr_assert_eq (beacon_cluster_id ("default"), 0xf109ada1b3dd278eULL);
    cr_assert_eq (beacon_cluster_id (""), 0xf52a15e9a9b5e89bULL);
    cr_assert_eq (beacon_cluster_id (NULL), beacon_cluster_id (""));
    cr_assert_eq (beacon_cluster_id ("weft"), beacon_cluster_id ("weft"));
    cr_assert_neq (beacon_cluster_id ("weft"), beacon_cluster_id ("weft2"));
    cr_assert_neq (beacon_cluster_id ("a"), beacon_cluster_id ("b"));
}

//  xorshift64: a fixed-seed generator, so a fuzz failure reproduces.
static uint64_t next_random (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

//  Fills BUF (LEN bytes) with random bytes; when SEEDED, starts it with a
//  valid magic and version so that the field checks are reached too.
static void random_datagram (uint64_t *state, uint8_t *buf, size_t len, bool seeded)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)next_random (state);
    if (seeded)
        memcpy (buf, "WEFT\x01", len < 5 ? len : 5);
}

//  Asserts that a datagram that decoded OK is valid: magic, version, size,
//  fields, and that re-encoding it gives back its bytes (bar ignored bits).
static void assert_really_valid (const uint8_t *buf, size_t len, const beacon_t *b)
{
    cr_assert_geq (len, BEACON_SIZE);
    cr_assert_arr_eq (buf, "WEFT", 4);
    cr_assert_eq (buf[4], BEACON_VERSION);
    cr_assert (b->role <= BEACON_ROLE_CLIENT && b->router_port && b->pub_port);
    uint8_t again[BEACON_SIZE], masked[BEACON_SIZE];
    cr_assert_eq (beacon_encode (b, again, sizeof again), BEACON_SIZE);
    memcpy (masked, buf, BEACON_SIZE);
    masked[5] &= 0x01;
    masked[7] = 0;
    cr_assert_arr_eq (again, masked, BEACON_SIZE);
}

Test (beacon, fuzz_random_bytes, .timeout = 60)
{
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[BEACON_SIZE + 20];
    int64_t deadline = tu_now_ms () + 30000;
    int ok = 0;
    for (int i = 0; i < 100000 && tu_now_ms () < deadline; i++) {
        size_t len = (size_t)(next_random (&state) % (sizeof buf + 1));
        random_datagram (&state, buf, len, i % 2 == 0);
        beacon_t b;
        beacon_result_t r = beacon_decode (buf, len, &b);
        cr_assert (r >= BEACON_BAD_FIELD && r <= BEACON_OK, "result %d", (int)r);
        if (r == BEACON_OK) {
            assert_really_valid (buf, len, &b);
            ok++;
        }
    }
    cr_assert_gt (ok, 0, "the seeded half should produce some valid beacons");
}
