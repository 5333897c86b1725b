/*  tests/unit/test_wire.c - the header frame codec (node/wire.h).

    Round trips of every type at its edges, every malformed case the decoder
    must name, truncation at every length, and a bounded mutation fuzz that
    must never crash (run it under the ASan build too).
*/
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "node/wire/wire.h"
#include "weft.h"

/* ------------------------------------------------------------------------ */
/*  Helpers                                                                 */

//  Fills UUID with bytes derived from SEED.
static void fill_uuid (uint8_t *uuid, int seed)
{
    for (int i = 0; i < WIRE_UUID_SIZE; i++)
        uuid[i] = (uint8_t)(seed * 31 + i);
}

//  Fills OUT (LEN + 1 bytes) with LEN letters starting at C and a NUL.
static void fill_text (char *out, size_t len, char c)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(c + (char)(i % 26));
    out[len] = '\0';
}

//  A HELLO at its maximum: longest strings, largest integers.
static void hello_max (wire_hello_t *hello)
{
    memset (hello, 0, sizeof *hello);
    fill_uuid (hello->uuid, 1);
    hello->incarnation = UINT64_MAX;
    fill_text (hello->name, WIRE_NAME_MAX, 'a');
    hello->role = WIRE_ROLE_CLIENT;
    fill_text (hello->router_ep, WIRE_EP_MAX, 'A');
    fill_text (hello->pub_ep, WIRE_EP_MAX, 'a');
    hello->caps = UINT32_MAX;
    hello->capacity = UINT32_MAX;
    hello->flags = UINT32_MAX;
    hello->cluster = UINT64_MAX;
}

//  A peer entry number I.
static void peer_make (wire_peer_t *peer, int i)
{
    memset (peer, 0, sizeof *peer);
    fill_uuid (peer->uuid, i);
    peer->incarnation = (uint64_t)i * 0x0123456789ull;
    peer->role = (uint8_t)(i % 2);
    snprintf (peer->router_ep, sizeof peer->router_ep, "tcp://10.0.%d.%d:%d", i / 250, i % 250,
              40000 + i);
    snprintf (peer->pub_ep, sizeof peer->pub_ep, "tcp://10.0.%d.%d:%d", i / 250, i % 250,
              50000 + i);
}

//  Storage for the strings of up to 32 MSG headers.
typedef struct {
    char keys[WIRE_HEADERS_MAX][32];
    char values[WIRE_HEADERS_MAX][48];
} header_text_t;

//  A MSG with NHEADERS headers whose strings live in TEXT.
static void msg_make (wire_msg_t *msg, size_t nheaders, header_text_t *text)
{
    memset (msg, 0, sizeof *msg);
    fill_uuid (msg->sender, 7);
    msg->seq = 42;
    msg->time_us = 1700000000123456;
    msg->nheaders = nheaders;
    for (size_t i = 0; i < nheaders; i++) {
        snprintf (text->keys[i], sizeof text->keys[i], "key-%zu", i);
        snprintf (text->values[i], sizeof text->values[i], "value number %zu", i);
        msg->headers[i] = (wire_kv_t){text->keys[i], strlen (text->keys[i]), text->values[i],
                                      strlen (text->values[i])};
    }
}

//  Decodes SB with DEC, expecting success and TYPE.
static void decode_ok (wire_decoder_t *dec, const msgpack_sbuffer *sb, int type)
{
    int got = -1;
    int rc = wire_decode (dec, sb->data, sb->size, &got);
    cr_assert_eq (rc, 0, "decode: %s", wire_decoder_error (dec));
    cr_assert_eq (got, type);
    cr_assert_str_eq (wire_decoder_error (dec), "");
    cr_assert_eq (wire_decoder_fault (dec), WIRE_FAULT_NONE);
}

//  Asserts that the last call on DEC failed with a reason containing NEEDLE.
static void assert_reason (wire_decoder_t *dec, const char *needle)
{
    const char *reason = wire_decoder_error (dec);
    cr_assert (strstr (reason, needle), "reason \"%s\" lacks \"%s\"", reason, needle);
}

/* ------------------------------------------------------------------------ */
/*  Round trips                                                             */

Test (wire, hello_round_trip_max, .timeout = 10)
{
    wire_hello_t in, out;
    hello_max (&in);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_hello (&sb, &in), 0);
    wire_decoder_t *dec = wire_decoder_new (0);
    decode_ok (dec, &sb, WIRE_HELLO);
    memset (&out, 0xff, sizeof out);
    cr_assert_eq (wire_get_hello (dec, &out), 0, "%s", wire_decoder_error (dec));
    cr_assert_arr_eq (out.uuid, in.uuid, WIRE_UUID_SIZE);
    cr_assert_eq (out.incarnation, UINT64_MAX);
    cr_assert_str_eq (out.name, in.name);
    cr_assert_eq (strlen (out.name), WIRE_NAME_MAX);
    cr_assert_eq (out.role, WIRE_ROLE_CLIENT);
    cr_assert_str_eq (out.router_ep, in.router_ep);
    cr_assert_str_eq (out.pub_ep, in.pub_ep);
    cr_assert_eq (strlen (out.pub_ep), WIRE_EP_MAX);
    cr_assert_eq (out.caps, UINT32_MAX);
    cr_assert_eq (out.capacity, UINT32_MAX);
    cr_assert_eq (out.flags, UINT32_MAX);
    cr_assert_eq (out.cluster, UINT64_MAX);
    wire_decoder_destroy (&dec);
    cr_assert_null (dec);
    wire_decoder_destroy (&dec); //  idempotent
    msgpack_sbuffer_destroy (&sb);
}

Test (wire, hello_round_trip_min, .timeout = 10)
{
    wire_hello_t in, out;
    memset (&in, 0, sizeof in);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_hello (&sb, &in), 0);
    wire_decoder_t *dec = wire_decoder_new (0);
    decode_ok (dec, &sb, WIRE_HELLO);
    memset (&out, 0xff, sizeof out);
    cr_assert_eq (wire_get_hello (dec, &out), 0, "%s", wire_decoder_error (dec));
    cr_assert_eq (out.incarnation, 0);
    cr_assert_str_eq (out.name, "");
    cr_assert_str_eq (out.router_ep, "");
    cr_assert_str_eq (out.pub_ep, "");
    cr_assert_eq (out.role, WIRE_ROLE_MEMBER);
    cr_assert_eq (out.caps, 0);
    cr_assert_eq (out.flags, 0);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

//  A HELLO of a node from before field 10 (flags) asks for no answer; a
//  flags field of the wrong type is refused.
Test (wire, hello_without_flags_asks_nothing, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    uint8_t uuid[16] = {4, 5, 6};
    for (int round = 0; round < 2; round++) {
        msgpack_sbuffer_clear (&sb);
        msgpack_pack_array (&pk, round ? 11 : 10);
        msgpack_pack_uint8 (&pk, 1);
        msgpack_pack_uint8 (&pk, 1);
        msgpack_pack_bin_with_body (&pk, uuid, 16);
        msgpack_pack_uint8 (&pk, 7);
        msgpack_pack_str_with_body (&pk, "n", 1);
        msgpack_pack_uint8 (&pk, 0);
        msgpack_pack_str_with_body (&pk, "tcp://a:1", 9);
        msgpack_pack_str_with_body (&pk, "tcp://a:2", 9);
        msgpack_pack_uint8 (&pk, 3);
        msgpack_pack_uint8 (&pk, 2);
        if (round)
            msgpack_pack_str_with_body (&pk, "x", 1); //  flags as a string: refused
        decode_ok (dec, &sb, WIRE_HELLO);
        wire_hello_t hello;
        memset (&hello, 0xff, sizeof hello);
        int rc = wire_get_hello (dec, &hello);
        if (round)
            cr_assert_eq (rc, WEFT_EPROTO, "flags must be an integer");
        else {
            cr_assert_eq (rc, 0, "%s", wire_decoder_error (dec));
            cr_assert_eq (hello.flags, 0, "no field 10: no answer asked");
            cr_assert_eq (hello.cluster, 0, "no field 11: cluster not said");
            cr_assert_eq (hello.capacity, 2);
        }
    }
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

//  Encodes COUNT peers and checks they decode identically with DEC.
static void peers_round_trip (wire_decoder_t *dec, size_t count)
{
    wire_peer_t *in = calloc (WIRE_PEERS_MAX, sizeof *in);
    wire_peers_t *out = calloc (1, sizeof *out);
    for (size_t i = 0; i < count; i++)
        peer_make (&in[i], (int)i);
    if (count > 0)
        in[0].incarnation = UINT64_MAX;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_peers (&sb, in, count), 0);
    decode_ok (dec, &sb, WIRE_PEERS);
    cr_assert_eq (wire_get_peers (dec, out), 0, "%s", wire_decoder_error (dec));
    cr_assert_eq (out->count, count);
    for (size_t i = 0; i < count; i++) {
        cr_assert_arr_eq (out->peers[i].uuid, in[i].uuid, WIRE_UUID_SIZE);
        cr_assert_eq (out->peers[i].incarnation, in[i].incarnation);
        cr_assert_eq (out->peers[i].role, in[i].role);
        cr_assert_str_eq (out->peers[i].router_ep, in[i].router_ep);
        cr_assert_str_eq (out->peers[i].pub_ep, in[i].pub_ep);
    }
    msgpack_sbuffer_destroy (&sb);
    free (in);
    free (out);
}

Test (wire, peers_round_trip, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (1 << 20);
    peers_round_trip (dec, 0);
    peers_round_trip (dec, 1);
    peers_round_trip (dec, 15);
    peers_round_trip (dec, 16);
    peers_round_trip (dec, WIRE_PEERS_MAX);
    peers_round_trip (dec, 3); //  the zone shrinks back and still works
    wire_decoder_destroy (&dec);
}

Test (wire, peers_max_length_endpoints, .timeout = 10)
{
    wire_peer_t *in = calloc (WIRE_PEERS_MAX, sizeof *in);
    for (int i = 0; i < WIRE_PEERS_MAX; i++) {
        fill_uuid (in[i].uuid, i);
        in[i].incarnation = UINT64_MAX;
        fill_text (in[i].router_ep, WIRE_EP_MAX, 'a');
        fill_text (in[i].pub_ep, WIRE_EP_MAX, 'A');
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_peers (&sb, in, WIRE_PEERS_MAX), 0);
    //  too large for the default limit: the sender must split (wire_peers_fit)
    wire_decoder_t *small = wire_decoder_new (0);
    cr_assert_eq (wire_decode (small, sb.data, sb.size, NULL), WEFT_EPROTO);
    cr_assert_eq (wire_decoder_fault (small), WIRE_FAULT_OVERSIZED);
    wire_decoder_t *big = wire_decoder_new (sb.size);
    decode_ok (big, &sb, WIRE_PEERS);
    wire_peers_t *out = calloc (1, sizeof *out);
    cr_assert_eq (wire_get_peers (big, out), 0, "%s", wire_decoder_error (big));
    cr_assert_eq (out->count, WIRE_PEERS_MAX);
    cr_assert_str_eq (out->peers[255].pub_ep, in[255].pub_ep);
    free (out);
    free (in);
    wire_decoder_destroy (&small);
    wire_decoder_destroy (&big);
    msgpack_sbuffer_destroy (&sb);
}

Test (wire, peers_fit_splits_at_the_limit, .timeout = 10)
{
    wire_peer_t *peers = calloc (WIRE_PEERS_MAX, sizeof *peers);
    for (int i = 0; i < WIRE_PEERS_MAX; i++) {
        peer_make (&peers[i], i);
        peers[i].incarnation = 0x0123456789abcdefull; //  9 bytes, as a random one
        snprintf (peers[i].router_ep, sizeof peers[i].router_ep, "tcp://192.168.%d.%d:49152",
                  100 + i / 250, 100 + i % 100);
        snprintf (peers[i].pub_ep, sizeof peers[i].pub_ep, "tcp://192.168.%d.%d:49153",
                  100 + i / 250, 100 + i % 100);
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    size_t limits[] = {0, 100, 200, 1000, 4096, 8192, 65536, 1 << 20};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        size_t max = limits[l] ? limits[l] : WIRE_HEADER_MAX;
        size_t fit = wire_peers_fit (peers, WIRE_PEERS_MAX, limits[l]);
        cr_assert_eq (wire_encode_peers (&sb, peers, fit), 0);
        cr_assert_leq (sb.size, max, "limit %zu: %zu peers take %zu bytes", max, fit, sb.size);
        if (fit < WIRE_PEERS_MAX) {
            cr_assert_eq (wire_encode_peers (&sb, peers, fit + 1), 0);
            //  one more would not fit (3 bytes of slack for the list header)
            cr_assert_gt (sb.size + 3, max, "limit %zu: %zu peers should fit", max, fit + 1);
        }
        if (max == WIRE_HEADER_MAX)
            cr_assert (fit >= 80 && fit <= 110, "%zu typical peers fit in 8192 bytes", fit);
    }
    cr_assert_eq (wire_peers_fit (peers, 3, 1 << 20), 3);
    cr_assert_eq (wire_peers_fit (peers, 1000, 1 << 20), WIRE_PEERS_MAX);
    cr_assert_eq (wire_peers_fit (NULL, 0, 0), 0);
    msgpack_sbuffer_destroy (&sb);
    free (peers);
}

Test (wire, ping_bye_round_trip, .timeout = 10)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    wire_decoder_t *dec = wire_decoder_new (0);
    cr_assert_eq (wire_encode_ping (&sb), 0);
    cr_assert_eq (sb.size, 3);
    cr_assert_eq (memcmp (sb.data, "\x92\x01\x03", 3), 0);
    decode_ok (dec, &sb, WIRE_PING);
    cr_assert_eq (wire_encode_bye (&sb), 0);
    cr_assert_eq (memcmp (sb.data, "\x92\x01\x04", 3), 0);
    decode_ok (dec, &sb, WIRE_BYE);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

//  Encodes MSG, decodes it and checks every field, and that headers borrow
//  from the encoded buffer.
static void msg_round_trip (wire_decoder_t *dec, const wire_msg_t *in)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_msg (&sb, in), 0);
    decode_ok (dec, &sb, WIRE_MSG);
    wire_msg_t out;
    memset (&out, 0xff, sizeof out);
    cr_assert_eq (wire_get_msg (dec, &out), 0, "%s", wire_decoder_error (dec));
    cr_assert_arr_eq (out.sender, in->sender, WIRE_UUID_SIZE);
    cr_assert_eq (out.seq, in->seq);
    cr_assert_eq (out.time_us, in->time_us);
    cr_assert_eq (out.flags, in->flags);
    cr_assert_eq (out.nheaders, in->nheaders);
    for (size_t i = 0; i < in->nheaders; i++) {
        const wire_kv_t *kv = &out.headers[i];
        cr_assert_eq (kv->key_len, in->headers[i].key_len);
        cr_assert_eq (kv->value_len, in->headers[i].value_len);
        cr_assert_not_null (kv->key);
        cr_assert_not_null (kv->value);
        if (kv->key_len > 0) { //  borrowed from the frame, not copied
            cr_assert_eq (memcmp (kv->key, in->headers[i].key, kv->key_len), 0);
            cr_assert (kv->key >= sb.data && kv->key + kv->key_len <= sb.data + sb.size);
        }
        if (kv->value_len > 0) {
            cr_assert_eq (memcmp (kv->value, in->headers[i].value, kv->value_len), 0);
            cr_assert (kv->value >= sb.data && kv->value + kv->value_len <= sb.data + sb.size);
        }
    }
    msgpack_sbuffer_destroy (&sb);
}

Test (wire, msg_round_trip_edges, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    header_text_t text;
    wire_msg_t msg;
    msg_make (&msg, 0, &text);
    msg_round_trip (dec, &msg);
    int64_t times[] = {0, -1, 1, INT64_MIN, INT64_MAX, -129, 127, 128};
    uint64_t seqs[] = {0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        msg.time_us = times[i];
        msg_round_trip (dec, &msg);
    }
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        msg.seq = seqs[i];
        msg.flags = (uint32_t)seqs[i];
        msg_round_trip (dec, &msg);
    }
    msg_make (&msg, WIRE_HEADERS_MAX, &text);
    msg.flags = UINT32_MAX;
    msg_round_trip (dec, &msg);
    //  empty keys and values are allowed
    msg.headers[3] = (wire_kv_t){"", 0, NULL, 0};
    msg.headers[4] = (wire_kv_t){NULL, 0, "", 0};
    msg_round_trip (dec, &msg);
    wire_decoder_destroy (&dec);
}

Test (wire, status_round_trip, .timeout = 10)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    wire_decoder_t *dec = wire_decoder_new (0);
    int types[] = {WIRE_STATUS_REQ, WIRE_STATUS_REP};
    uint64_t ids[] = {0, 1, 1u << 31, UINT64_MAX};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 4; i++) {
            cr_assert_eq (wire_encode_status (&sb, types[t], ids[i]), 0);
            decode_ok (dec, &sb, types[t]);
            uint64_t id = 12345;
            cr_assert_eq (wire_get_status (dec, &id), 0, "%s", wire_decoder_error (dec));
            cr_assert_eq (id, ids[i]);
        }
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

/* ------------------------------------------------------------------------ */
/*  Encoder arguments                                                       */

Test (wire, encoders_reject_out_of_range, .timeout = 10)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    wire_hello_t hello;
    hello_max (&hello);
    memset (hello.name, 'x', sizeof hello.name); //  64 bytes, no NUL
    cr_assert_eq (wire_encode_hello (&sb, &hello), WEFT_EINVAL);
    hello_max (&hello);
    memset (hello.pub_ep, 'x', sizeof hello.pub_ep);
    cr_assert_eq (wire_encode_hello (&sb, &hello), WEFT_EINVAL);
    hello_max (&hello);
    hello.role = 2;
    cr_assert_eq (wire_encode_hello (&sb, &hello), WEFT_EINVAL);
    cr_assert_eq (wire_encode_hello (&sb, NULL), WEFT_EINVAL);
    cr_assert_eq (wire_encode_hello (NULL, &hello), WEFT_EINVAL);

    wire_peer_t *peers = calloc (WIRE_PEERS_MAX + 1, sizeof *peers);
    cr_assert_eq (wire_encode_peers (&sb, peers, WIRE_PEERS_MAX + 1), WEFT_EINVAL);
    cr_assert_eq (wire_encode_peers (&sb, NULL, 1), WEFT_EINVAL);
    cr_assert_eq (wire_encode_peers (&sb, NULL, 0), 0);
    peers[1].role = 9;
    cr_assert_eq (wire_encode_peers (&sb, peers, 2), WEFT_EINVAL);
    free (peers);

    header_text_t text;
    wire_msg_t msg;
    msg_make (&msg, WIRE_HEADERS_MAX, &text);
    msg.nheaders = WIRE_HEADERS_MAX + 1;
    cr_assert_eq (wire_encode_msg (&sb, &msg), WEFT_EINVAL);
    msg_make (&msg, 2, &text);
    msg.headers[1].key = NULL;
    cr_assert_eq (wire_encode_msg (&sb, &msg), WEFT_EINVAL);
    msg_make (&msg, 2, &text);
    msg.headers[0].value = "a\0b";
    msg.headers[0].value_len = 3;
    cr_assert_eq (wire_encode_msg (&sb, &msg), WEFT_EINVAL);

    cr_assert_eq (wire_encode_status (&sb, WIRE_PING, 1), WEFT_EINVAL);
    cr_assert_eq (wire_encode_status (&sb, 0, 1), WEFT_EINVAL);
    cr_assert_eq (wire_encode_ping (NULL), WEFT_EINVAL);
    cr_assert_eq (wire_encode_bye (NULL), WEFT_EINVAL);
    msgpack_sbuffer_destroy (&sb);
}

/* ------------------------------------------------------------------------ */
/*  Malformed frames                                                        */

//  Decodes the LEN bytes at RAW (copied to an exact-size heap block so ASan
//  sees any overread) and returns the result.
static int decode_raw (wire_decoder_t *dec, const void *raw, size_t len, int *type)
{
    void *copy = malloc (len ? len : 1);
    memcpy (copy, raw, len);
    int rc = wire_decode (dec, copy, len, type);
    free (copy);
    return rc;
}

//  Decoding the LEN bytes at RAW fails with EPROTO, FAULT and NEEDLE.
static void raw_rejected (const void *raw, size_t len, wire_fault_t fault, const char *needle)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    int type = -1;
    cr_assert_eq (decode_raw (dec, raw, len, &type), WEFT_EPROTO, "accepted (%s)", needle);
    cr_assert_eq (type, 0);
    cr_assert_eq (wire_decoder_fault (dec), fault, "fault for %s", needle);
    assert_reason (dec, needle);
    wire_decoder_destroy (&dec);
}

#define RAW_REJECTED(bytes, fault, needle) raw_rejected (bytes, sizeof bytes - 1, fault, needle)

Test (wire, decode_rejects_bad_structure, .timeout = 10)
{
    raw_rejected ("", 0, WIRE_FAULT_MALFORMED, "empty");
    RAW_REJECTED ("\x01", WIRE_FAULT_MALFORMED, "header is an unsigned integer, an array expected");
    RAW_REJECTED ("\x81\x01\x02", WIRE_FAULT_MALFORMED, "header is a map");
    RAW_REJECTED ("\xa3one", WIRE_FAULT_MALFORMED, "header is a string");
    RAW_REJECTED ("\x90", WIRE_FAULT_MALFORMED, "header array is empty");
    RAW_REJECTED ("\x91\x01", WIRE_FAULT_MALFORMED, "no type");
    RAW_REJECTED ("\x92\xa1\x31\x03", WIRE_FAULT_MALFORMED, "version is a string");
    RAW_REJECTED ("\x92\xff\x03", WIRE_FAULT_MALFORMED, "version is a negative integer");
    RAW_REJECTED ("\x92\x01\xff", WIRE_FAULT_MALFORMED, "type is a negative integer");
    RAW_REJECTED ("\x92\x01\xc0", WIRE_FAULT_MALFORMED, "type is nil");
    RAW_REJECTED ("\x92\x01\xce\x80\x00\x00\x00", WIRE_FAULT_MALFORMED, "type 2147483648 out");
    RAW_REJECTED ("\x92\x01\x03\x00", WIRE_FAULT_MALFORMED, "1 trailing bytes");
    RAW_REJECTED ("\x92\x01\x03\x92", WIRE_FAULT_MALFORMED, "trailing");
    RAW_REJECTED ("\x93\x01\x03\xc1", WIRE_FAULT_MALFORMED, "invalid msgpack byte 0xc1");
    //  a 5-byte frame declaring 2^32 - 1 elements: rejected before any allocation
    RAW_REJECTED ("\xdd\xff\xff\xff\xff", WIRE_FAULT_MALFORMED, "declares 4294967295 values");
    RAW_REJECTED ("\x93\x01\x03\xdf\xff\xff\xff\xff", WIRE_FAULT_MALFORMED,
                  "declares 8589934590 values");
    RAW_REJECTED ("\x93\x01\x03\xdb\xff\xff\xff\xff", WIRE_FAULT_MALFORMED, "truncated");
    RAW_REJECTED ("\x93\x01\x03\xc6\x00\x00\x00", WIRE_FAULT_MALFORMED, "truncated");
}

Test (wire, decode_rejects_other_versions, .timeout = 10)
{
    RAW_REJECTED ("\x92\x02\x03", WIRE_FAULT_VERSION, "unsupported protocol version 2");
    RAW_REJECTED ("\x91\x00", WIRE_FAULT_VERSION, "unsupported protocol version 0");
    //  another version's layout is not judged: only its version is read
    RAW_REJECTED ("\x93\xcd\x01\x00\xa1x\xc0", WIRE_FAULT_VERSION,
                  "unsupported protocol version 256");
    RAW_REJECTED ("\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", WIRE_FAULT_VERSION,
                  "unsupported protocol version 18446744073709551615");
}

Test (wire, decode_rejects_deep_nesting, .timeout = 10)
{
    //  [1, 3, [[[[...]]]]] 30 levels deep
    uint8_t frame[40];
    size_t len = 0;
    frame[len++] = 0x93;
    frame[len++] = 0x01;
    frame[len++] = 0x03;
    for (int i = 0; i < 30; i++)
        frame[len++] = 0x91;
    frame[len++] = 0xc0;
    raw_rejected (frame, len, WIRE_FAULT_MALFORMED, "nested deeper than");
    //  15 levels inside the header (16 in all) is accepted: trailing fields
    wire_decoder_t *dec = wire_decoder_new (0);
    len = 3;
    for (int i = 0; i < 15; i++)
        frame[len++] = 0x91;
    frame[len++] = 0xc0;
    int type;
    cr_assert_eq (decode_raw (dec, frame, len, &type), 0, "%s", wire_decoder_error (dec));
    cr_assert_eq (type, WIRE_PING);
    wire_decoder_destroy (&dec);
}

Test (wire, decode_rejects_oversized, .timeout = 10)
{
    wire_hello_t hello;
    hello_max (&hello);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_hello (&sb, &hello), 0);
    wire_decoder_t *dec = wire_decoder_new (64);
    cr_assert_eq (wire_decode (dec, sb.data, sb.size, NULL), WEFT_EPROTO);
    cr_assert_eq (wire_decoder_fault (dec), WIRE_FAULT_OVERSIZED);
    assert_reason (dec, "exceeds the limit of 64");
    wire_decoder_destroy (&dec);
    dec = wire_decoder_new (sb.size); //  exactly at the limit is fine
    decode_ok (dec, &sb, WIRE_HELLO);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

Test (wire, decode_rejects_short_known_types, .timeout = 10)
{
    //  each known type with one field fewer than it needs
    struct {
        const char *frame;
        size_t len;
        const char *reason;
    } cases[] = {
        {"\x98\x01\x01\xc0\xc0\xc0\xc0\xc0\xc0", 9, "HELLO has 8 fields, at least 9"},
        {"\x92\x01\x02", 3, "PEERS has 2 fields, at least 3"},
        {"\x96\x01\x05\xc0\xc0\xc0\xc0", 7, "MSG has 6 fields, at least 7"},
        {"\x92\x01\x06", 3, "STATUS_REQ has 2 fields"},
        {"\x92\x01\x07", 3, "STATUS_REP has 2 fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        raw_rejected (cases[i].frame, cases[i].len, WIRE_FAULT_MALFORMED, cases[i].reason);
}

Test (wire, unknown_type_decodes, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    int type = -1;
    cr_assert_eq (decode_raw (dec, "\x93\x01\x63\xa1x", 5, &type), 0);
    cr_assert_eq (type, 99);
    cr_assert_eq (decode_raw (dec, "\x92\x01\x00", 3, &type), 0);
    cr_assert_eq (type, 0);
    cr_assert_eq (decode_raw (dec, "\x92\x01\x63", 3, &type), 0);
    wire_hello_t hello;
    cr_assert_eq (wire_get_hello (dec, &hello), WEFT_EPROTO);
    assert_reason (dec, "unknown type 99");
    wire_decoder_destroy (&dec);
}

Test (wire, extra_trailing_fields_are_ignored, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    //  a future HELLO: [1, 1, uuid, inc, name, role, router, pub, caps, capacity,
    //  flags, cluster, {"x": 1.5}, nil]
    uint8_t uuid[16] = {1, 2, 3};
    msgpack_pack_array (&pk, 14);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_bin_with_body (&pk, uuid, 16);
    msgpack_pack_uint8 (&pk, 7);
    msgpack_pack_str_with_body (&pk, "n", 1);
    msgpack_pack_uint8 (&pk, 0);
    msgpack_pack_str_with_body (&pk, "tcp://a:1", 9);
    msgpack_pack_str_with_body (&pk, "tcp://a:2", 9);
    msgpack_pack_uint8 (&pk, 3);
    msgpack_pack_uint8 (&pk, 2);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint64 (&pk, 77);
    msgpack_pack_map (&pk, 1);
    msgpack_pack_str_with_body (&pk, "x", 1);
    msgpack_pack_double (&pk, 1.5);
    msgpack_pack_nil (&pk);
    decode_ok (dec, &sb, WIRE_HELLO);
    wire_hello_t hello;
    cr_assert_eq (wire_get_hello (dec, &hello), 0, "%s", wire_decoder_error (dec));
    cr_assert_eq (hello.incarnation, 7);
    cr_assert_str_eq (hello.pub_ep, "tcp://a:2");
    cr_assert_eq (hello.caps, 3);
    cr_assert_eq (hello.capacity, 2);
    cr_assert_eq (hello.flags, WIRE_HELLO_ANSWER);
    cr_assert_eq (hello.cluster, 77);
    //  a future PEERS entry with a sixth field, and a PEERS with a fourth
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_array (&pk, 4);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, 2);
    msgpack_pack_array (&pk, 1);
    msgpack_pack_array (&pk, 6);
    msgpack_pack_bin_with_body (&pk, uuid, 16);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "r", 1);
    msgpack_pack_str_with_body (&pk, "p", 1);
    msgpack_pack_true (&pk);
    msgpack_pack_str_with_body (&pk, "later", 5);
    decode_ok (dec, &sb, WIRE_PEERS);
    wire_peers_t *peers = calloc (1, sizeof *peers);
    cr_assert_eq (wire_get_peers (dec, peers), 0, "%s", wire_decoder_error (dec));
    cr_assert_eq (peers->count, 1);
    cr_assert_eq (peers->peers[0].role, 1);
    cr_assert_str_eq (peers->peers[0].pub_ep, "p");
    free (peers);
    //  a PING with a trailing field
    cr_assert_eq (decode_raw (dec, "\x93\x01\x03\xc3", 4, NULL), 0);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

Test (wire, getters_check_the_frame, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    wire_hello_t hello;
    wire_msg_t msg;
    uint64_t id;
    cr_assert_eq (wire_get_hello (dec, &hello), WEFT_EPROTO);
    assert_reason (dec, "no frame decoded");
    cr_assert_eq (decode_raw (dec, "\x92\x01\x03", 3, NULL), 0);
    cr_assert_eq (wire_get_hello (dec, &hello), WEFT_EPROTO);
    assert_reason (dec, "the frame is a PING, not a HELLO");
    cr_assert_eq (wire_get_msg (dec, &msg), WEFT_EPROTO);
    cr_assert_eq (wire_get_status (dec, &id), WEFT_EPROTO);
    assert_reason (dec, "not a STATUS_REQ");
    //  a failed decode forgets the previous frame
    cr_assert_eq (decode_raw (dec, "\x92\x02\x03", 3, NULL), WEFT_EPROTO);
    cr_assert_eq (wire_get_msg (dec, &msg), WEFT_EPROTO);
    assert_reason (dec, "no frame decoded");
    //  a success clears the error
    cr_assert_eq (decode_raw (dec, "\x92\x01\x04", 3, NULL), 0);
    cr_assert_str_eq (wire_decoder_error (dec), "");
    cr_assert_eq (wire_get_hello (NULL, &hello), WEFT_EINVAL);
    cr_assert_eq (wire_decode (NULL, "\x92\x01\x04", 3, NULL), WEFT_EINVAL);
    cr_assert_eq (wire_decode (dec, NULL, 3, NULL), WEFT_EPROTO);
    wire_decoder_destroy (&dec);
    wire_decoder_destroy (NULL);
}

/* ------------------------------------------------------------------------ */
/*  Malformed fields: a valid frame with one field replaced                  */

//  One way to write a bad field.
typedef void bad_fn (msgpack_packer *pk);

static void bad_nil (msgpack_packer *pk)
{
    msgpack_pack_nil (pk);
}
static void bad_negative (msgpack_packer *pk)
{
    msgpack_pack_int8 (pk, -1);
}
static void bad_two (msgpack_packer *pk)
{
    msgpack_pack_uint8 (pk, 2);
}
static void bad_u32_over (msgpack_packer *pk)
{
    msgpack_pack_uint64 (pk, (uint64_t)UINT32_MAX + 1);
}
static void bad_u64_max (msgpack_packer *pk)
{
    msgpack_pack_uint64 (pk, UINT64_MAX);
}
static void bad_float (msgpack_packer *pk)
{
    msgpack_pack_double (pk, 1.0);
}
static void bad_bin15 (msgpack_packer *pk)
{
    msgpack_pack_bin_with_body (pk, "0123456789abcde", 15);
}
static void bad_bin17 (msgpack_packer *pk)
{
    msgpack_pack_bin_with_body (pk, "0123456789abcdefg", 17);
}
static void bad_str16 (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "0123456789abcdef", 16);
}
static void bad_bin_text (msgpack_packer *pk)
{
    msgpack_pack_bin_with_body (pk, "name", 4);
}
static void bad_str64 (msgpack_packer *pk)
{
    char text[65];
    fill_text (text, 64, 'a');
    msgpack_pack_str_with_body (pk, text, 64);
}
static void bad_str128 (msgpack_packer *pk)
{
    char text[129];
    fill_text (text, 128, 'a');
    msgpack_pack_str_with_body (pk, text, 128);
}
static void bad_str_nul (msgpack_packer *pk)
{
    msgpack_pack_str_with_body (pk, "ab\0cd", 5);
}
static void bad_array (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 0);
}
static void bad_map (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 0);
}
static void bad_peer_not_array (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_uint8 (pk, 5);
}
static void bad_peer_short (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 1);
    msgpack_pack_array (pk, 4);
    msgpack_pack_bin_with_body (pk, "0123456789abcdef", 16);
    msgpack_pack_uint8 (pk, 1);
    msgpack_pack_uint8 (pk, 1);
    msgpack_pack_str_with_body (pk, "r", 1);
}
//  Packs a list of two peers whose second has field BAD replaced by FN.
static void peer_list_with (msgpack_packer *pk, int bad, bad_fn *fn)
{
    msgpack_pack_array (pk, 2);
    for (int entry = 0; entry < 2; entry++) {
        msgpack_pack_array (pk, 5);
        for (int i = 0; i < 5; i++) {
            if (entry == 1 && i == bad)
                fn (pk);
            else if (i == 0)
                msgpack_pack_bin_with_body (pk, "0123456789abcdef", 16);
            else if (i <= 2)
                msgpack_pack_uint8 (pk, 1);
            else
                msgpack_pack_str_with_body (pk, "tcp://x:1", 9);
        }
    }
}
static void bad_peer_uuid (msgpack_packer *pk)
{
    peer_list_with (pk, 0, bad_bin15);
}
static void bad_peer_incarnation (msgpack_packer *pk)
{
    peer_list_with (pk, 1, bad_negative);
}
static void bad_peer_role (msgpack_packer *pk)
{
    peer_list_with (pk, 2, bad_two);
}
static void bad_peer_router (msgpack_packer *pk)
{
    peer_list_with (pk, 3, bad_str128);
}
static void bad_peer_pub (msgpack_packer *pk)
{
    peer_list_with (pk, 4, bad_nil);
}
static void bad_peers_257 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, WIRE_PEERS_MAX + 1);
    for (int i = 0; i <= WIRE_PEERS_MAX; i++)
        msgpack_pack_nil (pk);
}
static void bad_headers_33 (msgpack_packer *pk)
{
    msgpack_pack_map (pk, WIRE_HEADERS_MAX + 1);
    for (int i = 0; i <= WIRE_HEADERS_MAX; i++) {
        msgpack_pack_str_with_body (pk, "k", 1);
        msgpack_pack_str_with_body (pk, "v", 1);
    }
}
static void bad_header_key (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    msgpack_pack_str_with_body (pk, "k", 1);
    msgpack_pack_str_with_body (pk, "v", 1);
    msgpack_pack_uint8 (pk, 1);
    msgpack_pack_str_with_body (pk, "v", 1);
}
static void bad_header_value (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "k", 1);
    msgpack_pack_bin_with_body (pk, "v", 1);
}
static void bad_header_nul (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    msgpack_pack_str_with_body (pk, "k\0", 2);
    msgpack_pack_str_with_body (pk, "v", 1);
}

//  Packs valid field I of a frame of TYPE.
static void good_field (msgpack_packer *pk, int type, int i)
{
    static const char uuid[16] = "0123456789abcdef";
    if (i == 0 || i == 1) {
        msgpack_pack_uint8 (pk, i == 0 ? WIRE_VERSION : (uint8_t)type);
        return;
    }
    switch (type) {
    case WIRE_HELLO:
        if (i == 2)
            msgpack_pack_bin_with_body (pk, uuid, 16);
        else if (i == 4 || i == 6 || i == 7)
            msgpack_pack_str_with_body (pk, "text", 4);
        else
            msgpack_pack_uint8 (pk, 1);
        break;
    case WIRE_PEERS:
        msgpack_pack_array (pk, 0);
        break;
    case WIRE_MSG:
        if (i == 2)
            msgpack_pack_bin_with_body (pk, uuid, 16);
        else if (i == 6)
            msgpack_pack_map (pk, 0);
        else
            msgpack_pack_uint8 (pk, 1);
        break;
    default: //  STATUS_*
        msgpack_pack_uint8 (pk, 1);
        break;
    }
}

typedef struct {
    int type;           //  frame type
    int nfields;        //  fields in the frame
    int field;          //  index of the bad one
    bad_fn *bad;        //  writes it
    const char *reason; //  expected in wire_decoder_error ()
} bad_case_t;

static const bad_case_t s_bad_cases[] = {
    {WIRE_HELLO, 9, 2, bad_bin15, "HELLO: uuid is 15 bytes, 16 expected"},
    {WIRE_HELLO, 9, 2, bad_bin17, "HELLO: uuid is 17 bytes, 16 expected"},
    {WIRE_HELLO, 9, 2, bad_str16, "HELLO: uuid is a string, a binary expected"},
    {WIRE_HELLO, 9, 3, bad_negative, "HELLO: incarnation is a negative integer"},
    {WIRE_HELLO, 9, 3, bad_float, "HELLO: incarnation is a float"},
    {WIRE_HELLO, 9, 4, bad_str64, "HELLO: name is 64 bytes, at most 63 allowed"},
    {WIRE_HELLO, 9, 4, bad_bin_text, "HELLO: name is a binary, a string expected"},
    {WIRE_HELLO, 9, 4, bad_str_nul, "HELLO: name holds a NUL byte"},
    {WIRE_HELLO, 9, 5, bad_two, "HELLO: role is 2, at most 1 allowed"},
    {WIRE_HELLO, 9, 5, bad_negative, "HELLO: role is a negative integer"},
    {WIRE_HELLO, 9, 6, bad_str128, "HELLO: router_ep is 128 bytes, at most 127 allowed"},
    {WIRE_HELLO, 9, 7, bad_str128, "HELLO: pub_ep is 128 bytes, at most 127 allowed"},
    {WIRE_HELLO, 9, 7, bad_nil, "HELLO: pub_ep is nil, a string expected"},
    {WIRE_HELLO, 9, 8, bad_u32_over, "HELLO: caps is 4294967296, at most 4294967295"},
    {WIRE_HELLO, 9, 8, bad_negative, "HELLO: caps is a negative integer"},
    {WIRE_PEERS, 3, 2, bad_map, "PEERS: peers is a map, an array expected"},
    {WIRE_PEERS, 3, 2, bad_peers_257, "PEERS lists 257 entries, at most 256 allowed"},
    {WIRE_PEERS, 3, 2, bad_peer_not_array, "PEERS entry 0 is an unsigned integer"},
    {WIRE_PEERS, 3, 2, bad_peer_short, "PEERS entry 0 has 4 fields, at least 5"},
    {WIRE_PEERS, 3, 2, bad_peer_uuid, "PEERS entry 1: uuid is 15 bytes"},
    {WIRE_PEERS, 3, 2, bad_peer_incarnation, "PEERS entry 1: incarnation is a negative"},
    {WIRE_PEERS, 3, 2, bad_peer_role, "PEERS entry 1: role is 2, at most 1"},
    {WIRE_PEERS, 3, 2, bad_peer_router, "PEERS entry 1: router_ep is 128 bytes"},
    {WIRE_PEERS, 3, 2, bad_peer_pub, "PEERS entry 1: pub_ep is nil"},
    {WIRE_MSG, 7, 2, bad_bin17, "MSG: sender is 17 bytes, 16 expected"},
    {WIRE_MSG, 7, 2, bad_nil, "MSG: sender is nil, a binary expected"},
    {WIRE_MSG, 7, 3, bad_negative, "MSG: seq is a negative integer"},
    {WIRE_MSG, 7, 3, bad_str16, "MSG: seq is a string"},
    {WIRE_MSG, 7, 4, bad_u64_max, "MSG: time_us is 18446744073709551615, at most"},
    {WIRE_MSG, 7, 4, bad_float, "MSG: time_us is a float"},
    {WIRE_MSG, 7, 5, bad_u32_over, "MSG: flags is 4294967296, at most 4294967295"},
    {WIRE_MSG, 7, 5, bad_negative, "MSG: flags is a negative integer"},
    {WIRE_MSG, 7, 6, bad_array, "MSG: headers is an array, a map expected"},
    {WIRE_MSG, 7, 6, bad_nil, "MSG: headers is nil, a map expected"},
    {WIRE_MSG, 7, 6, bad_headers_33, "MSG has 33 headers, at most 32 allowed"},
    {WIRE_MSG, 7, 6, bad_header_key, "MSG: a header key is an unsigned integer"},
    {WIRE_MSG, 7, 6, bad_header_value, "MSG: a header value is a binary"},
    {WIRE_MSG, 7, 6, bad_header_nul, "MSG: a header key holds a NUL byte"},
    {WIRE_STATUS_REQ, 3, 2, bad_negative, "STATUS_REQ: request_id is a negative integer"},
    {WIRE_STATUS_REP, 3, 2, bad_str16, "STATUS_REP: request_id is a string"},
};

//  Runs the getter of TYPE on DEC; returns its result.
static int get_any (wire_decoder_t *dec, int type)
{
    static wire_peers_t peers;
    wire_hello_t hello;
    wire_msg_t msg;
    uint64_t id;
    switch (type) {
    case WIRE_HELLO:
        return wire_get_hello (dec, &hello);
    case WIRE_PEERS:
        return wire_get_peers (dec, &peers);
    case WIRE_MSG:
        return wire_get_msg (dec, &msg);
    case WIRE_STATUS_REQ:
    case WIRE_STATUS_REP:
        return wire_get_status (dec, &id);
    default:
        return 0;
    }
}

Test (wire, getters_reject_bad_fields, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    for (size_t c = 0; c < sizeof s_bad_cases / sizeof s_bad_cases[0]; c++) {
        const bad_case_t *bad = &s_bad_cases[c];
        //  the same frame with every field valid is accepted...
        msgpack_sbuffer_clear (&sb);
        msgpack_pack_array (&pk, (size_t)bad->nfields);
        for (int i = 0; i < bad->nfields; i++)
            good_field (&pk, bad->type, i);
        decode_ok (dec, &sb, bad->type);
        cr_assert_eq (get_any (dec, bad->type), 0, "case %zu: %s", c, wire_decoder_error (dec));
        //  ...and rejected with the bad one
        msgpack_sbuffer_clear (&sb);
        msgpack_pack_array (&pk, (size_t)bad->nfields);
        for (int i = 0; i < bad->nfields; i++)
            if (i == bad->field)
                bad->bad (&pk);
            else
                good_field (&pk, bad->type, i);
        decode_ok (dec, &sb, bad->type); //  the structure is sound
        cr_assert_eq (get_any (dec, bad->type), WEFT_EPROTO, "case %zu accepted", c);
        cr_assert_eq (wire_decoder_fault (dec), WIRE_FAULT_MALFORMED);
        assert_reason (dec, bad->reason);
    }
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

/* ------------------------------------------------------------------------ */
/*  Truncation and fuzzing                                                  */

//  One valid frame of every type, for truncation and mutation.
typedef struct {
    msgpack_sbuffer frames[7];
    size_t count;
} corpus_t;

static void corpus_build (corpus_t *corpus)
{
    memset (corpus, 0, sizeof *corpus);
    for (int i = 0; i < 7; i++)
        msgpack_sbuffer_init (&corpus->frames[i]);
    wire_hello_t hello;
    hello_max (&hello);
    cr_assert_eq (wire_encode_hello (&corpus->frames[0], &hello), 0);
    wire_peer_t peers[4];
    for (int i = 0; i < 4; i++)
        peer_make (&peers[i], i + 300);
    cr_assert_eq (wire_encode_peers (&corpus->frames[1], peers, 4), 0);
    cr_assert_eq (wire_encode_ping (&corpus->frames[2]), 0);
    cr_assert_eq (wire_encode_bye (&corpus->frames[3]), 0);
    static header_text_t text;
    wire_msg_t msg;
    msg_make (&msg, 5, &text);
    msg.seq = UINT64_MAX;
    msg.time_us = -5;
    cr_assert_eq (wire_encode_msg (&corpus->frames[4], &msg), 0);
    cr_assert_eq (wire_encode_status (&corpus->frames[5], WIRE_STATUS_REQ, 77), 0);
    cr_assert_eq (wire_encode_status (&corpus->frames[6], WIRE_STATUS_REP, 1ull << 40), 0);
    corpus->count = 7;
}

static void corpus_destroy (corpus_t *corpus)
{
    for (size_t i = 0; i < 7; i++)
        msgpack_sbuffer_destroy (&corpus->frames[i]);
}

Test (wire, truncated_frames_rejected_at_every_length, .timeout = 30)
{
    corpus_t corpus;
    corpus_build (&corpus);
    wire_decoder_t *dec = wire_decoder_new (0);
    for (size_t f = 0; f < corpus.count; f++) {
        const msgpack_sbuffer *frame = &corpus.frames[f];
        for (size_t len = 0; len < frame->size; len++) {
            int type = -1;
            cr_assert_eq (decode_raw (dec, frame->data, len, &type), WEFT_EPROTO,
                          "frame %zu cut to %zu of %zu bytes accepted", f, len, frame->size);
            cr_assert_eq (type, 0);
            cr_assert_eq (wire_decoder_fault (dec), WIRE_FAULT_MALFORMED);
            cr_assert_neq (wire_decoder_error (dec)[0], '\0');
        }
        int type; //  the whole frame decodes (and stays alive for the getter)
        cr_assert_eq (wire_decode (dec, frame->data, frame->size, &type), 0);
        cr_assert_eq (get_any (dec, type), 0, "%s", wire_decoder_error (dec));
    }
    wire_decoder_destroy (&dec);
    corpus_destroy (&corpus);
}

//  xorshift64*: a deterministic generator, so a failure can be replayed.
static uint64_t fuzz_next (uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dull;
}

//  Mutates the LEN bytes at BUF in place: flips, random bytes, msgpack
//  format bytes, or a changed length. Returns the new length (<= CAP).
static size_t fuzz_mutate (uint8_t *buf, size_t len, size_t cap, uint64_t *state)
{
    static const uint8_t formats[] = {0xc0, 0xc1, 0xc4, 0xc6, 0xcf, 0xd3, 0xd9, 0xdb,
                                      0xdc, 0xdd, 0xde, 0xdf, 0x9f, 0x8f, 0xbf, 0xff};
    int edits = 1 + (int)(fuzz_next (state) % 4);
    for (int e = 0; e < edits && len > 0; e++) {
        uint64_t r = fuzz_next (state);
        size_t at = (size_t)(r >> 8) % len;
        switch (r % 6) {
        case 0:
            buf[at] ^= (uint8_t)(1u << ((r >> 4) % 8));
            break;
        case 1:
            buf[at] = (uint8_t)(r >> 32);
            break;
        case 2:
            buf[at] = formats[(r >> 40) % sizeof formats];
            break;
        case 3:
            buf[at] = 0xff;
            break;
        case 4:
            len = at + 1; //  truncate
            break;
        default:
            if (len < cap)
                buf[len++] = (uint8_t)(r >> 48); //  append
            break;
        }
    }
    return len;
}

Test (wire, mutation_fuzz_never_crashes, .timeout = 120)
{
    corpus_t corpus;
    corpus_build (&corpus);
    wire_decoder_t *dec = wire_decoder_new (0);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    size_t accepted = 0, rejected = 0, got = 0;
    for (int iter = 0; iter < 200000; iter++) {
        const msgpack_sbuffer *frame = &corpus.frames[fuzz_next (&state) % corpus.count];
        size_t cap = frame->size + 8;
        uint8_t *buf = malloc (cap);
        memcpy (buf, frame->data, frame->size);
        size_t len = fuzz_mutate (buf, frame->size, cap, &state);
        uint8_t *exact = malloc (len ? len : 1); //  exact size: ASan sees overreads
        memcpy (exact, buf, len);
        int type = -1;
        int rc = wire_decode (dec, exact, len, &type);
        if (rc == 0) {
            accepted++;
            //  every getter must answer cleanly whatever the type
            for (int t = WIRE_HELLO; t <= WIRE_STATUS_REP; t++)
                if (get_any (dec, t) == 0)
                    got++;
        } else {
            cr_assert_eq (rc, WEFT_EPROTO);
            cr_assert_neq (wire_decoder_error (dec)[0], '\0');
            rejected++;
        }
        free (exact);
        free (buf);
    }
    cr_log_info ("fuzz: %zu accepted, %zu rejected, %zu getters succeeded", accepted, rejected,
                 got);
    cr_assert_gt (accepted, 0);
    cr_assert_gt (rejected, 0);
    wire_decoder_destroy (&dec);
    corpus_destroy (&corpus);
}

Test (wire, queue_messages_round_trip_every_type, .timeout = 10)
{
    wire_decoder_t *dec = wire_decoder_new (0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    wire_queue_t *in = calloc (1, sizeof *in), *out = calloc (1, sizeof *out);
    snprintf (in->queue, sizeof in->queue, "orders.eu");
    snprintf (in->msg_id, sizeof in->msg_id, "id-42");
    snprintf (in->consumer, sizeof in->consumer, "0123456789abcdef0123456789abcdef/7");
    snprintf (in->reason, sizeof in->reason, "max_deliver");
    in->token = UINT64_MAX;
    in->seq = 1234567;
    in->deliveries = 5;
    in->priority = 9;
    in->kind = WIRE_SETTLE_REJECT;
    in->status = WEFT_ENOSPC;
    in->value = -77;
    in->replication = 3;
    in->acks = WIRE_ACKS_OWNER;
    in->nseqs = WIRE_SEQS_MAX;
    for (size_t i = 0; i < in->nseqs; i++)
        in->seqs[i] = i * 3;
    for (int type = WIRE_QSEND; type <= WIRE_QREDRIVE; type++) {
        cr_assert_eq (wire_encode_queue (&sb, type, in), 0, "type %d", type);
        int got = 0;
        cr_assert_eq (wire_decode (dec, sb.data, sb.size, &got), 0, "%s", wire_decoder_error (dec));
        cr_assert_eq (got, type);
        cr_assert_eq (wire_get_queue (dec, out), 0, "%s", wire_decoder_error (dec));
        const char *layout = wire_queue_layout (type);
        cr_assert_not_null (layout);
        cr_assert_str_eq (out->queue, strchr (layout, 'Q') ? in->queue : "");
        if (strchr (layout, 'I'))
            cr_assert_str_eq (out->msg_id, in->msg_id);
        if (strchr (layout, 'T'))
            cr_assert_eq (out->token, in->token);
        if (strchr (layout, 'S'))
            cr_assert_eq (out->seq, in->seq);
        if (strchr (layout, 'E'))
            cr_assert_eq (out->status, in->status);
        if (strchr (layout, 'V'))
            cr_assert_eq (out->value, in->value);
        if (strchr (layout, 'L')) {
            cr_assert_eq (out->nseqs, in->nseqs);
            cr_assert_eq (out->seqs[WIRE_SEQS_MAX - 1], in->seqs[WIRE_SEQS_MAX - 1]);
        }
    }
    cr_assert_null (wire_queue_layout (WIRE_HELLO));
    //  bad values are refused on both ends
    in->priority = 10;
    cr_assert_eq (wire_encode_queue (&sb, WIRE_QSEND, in), WEFT_EINVAL);
    in->priority = 1;
    in->replication = 0;
    cr_assert_eq (wire_encode_queue (&sb, WIRE_QSEND, in), WEFT_EINVAL);
    //  a QDELIVER whose priority says 12 is malformed
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_array (&pk, 10);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, WIRE_QDELIVER);
    msgpack_pack_str_with_body (&pk, "q", 1);
    msgpack_pack_str_with_body (&pk, "c", 1);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "i", 1);
    msgpack_pack_uint8 (&pk, 1);
    msgpack_pack_uint8 (&pk, 12);
    msgpack_pack_int8 (&pk, 0);
    msgpack_pack_str_with_body (&pk, "", 0);
    int got = 0;
    cr_assert_eq (wire_decode (dec, sb.data, sb.size, &got), 0);
    cr_assert_eq (wire_get_queue (dec, out), WEFT_EPROTO);
    cr_assert_not_null (strstr (wire_decoder_error (dec), "priority"), "%s",
                        wire_decoder_error (dec));
    free (in);
    free (out);
    msgpack_sbuffer_destroy (&sb);
    wire_decoder_destroy (&dec);
}
