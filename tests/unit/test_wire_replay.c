/*  tests/unit/test_wire_replay.c - the fields appended within version 1 to
    the durable and pubsub messages (node/wire/wire.h): REPLAY_END's count
    of what a replay sent, with and without it (older publishers), and
    MISSED, a subscriber's count of what it missed of a publisher. The byte
    vectors are those of docs/PROTOCOL.md §13.
*/
#include <criterion/criterion.h>
#include <string.h>

#include "node/wire/wire.h"
#include "weft.h"

//  Decodes the LEN bytes RAW with DEC; returns the type (fails on error).
static int decode (wire_decoder_t *dec, const void *raw, size_t len)
{
    int type = -1;
    cr_assert_eq (wire_decode (dec, raw, len, &type), 0, "%s", wire_decoder_error (dec));
    return type;
}

Test (wire_replay, replay_end_says_how_many_it_sent, .timeout = 10)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_replay_end (&sb, 9, 0, 0), 0);
    const unsigned char vector[] = {0x95, 0x01, 0x0a, 0x09, 0x00, 0x00};
    cr_assert_eq (sb.size, sizeof vector);
    cr_assert_eq (memcmp (sb.data, vector, sizeof vector), 0, "the vector of PROTOCOL.md §13");
    wire_decoder_t *dec = wire_decoder_new (0);
    cr_assert_eq (wire_encode_replay_end (&sb, 7, WEFT_EIO, 123456), 0);
    cr_assert_eq (decode (dec, sb.data, sb.size), WIRE_REPLAY_END);
    uint64_t id = 0, sent = 0;
    int status = 0;
    cr_assert_eq (wire_get_replay_end (dec, &id, &status, &sent), 0);
    cr_assert_eq (id, 7);
    cr_assert_eq (status, WEFT_EIO);
    cr_assert_eq (sent, 123456);

    //  an older publisher: four fields, no count
    const unsigned char old[] = {0x94, 0x01, 0x0a, 0x09, 0x00};
    cr_assert_eq (decode (dec, old, sizeof old), WIRE_REPLAY_END);
    cr_assert_eq (wire_get_replay_end (dec, &id, &status, &sent), 0);
    cr_assert_eq (id, 9);
    cr_assert_eq (sent, WIRE_SENT_UNKNOWN);

    //  a count that is not an unsigned integer, or the reserved maximum: refused
    const unsigned char neg[] = {0x95, 0x01, 0x0a, 0x09, 0x00, 0xff};
    cr_assert_eq (decode (dec, neg, sizeof neg), WIRE_REPLAY_END);
    cr_assert_eq (wire_get_replay_end (dec, &id, &status, &sent), WEFT_EPROTO);
    const unsigned char max[] = {0x95, 0x01, 0x0a, 0x09, 0x00, 0xcf, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    cr_assert_eq (decode (dec, max, sizeof max), WIRE_REPLAY_END);
    cr_assert_eq (wire_get_replay_end (dec, &id, &status, &sent), WEFT_EPROTO);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}

Test (wire_replay, missed_round_trip_and_refusals, .timeout = 10)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (wire_encode_missed (&sb, 42), 0);
    const unsigned char vector[] = {0x93, 0x01, 0x1c, 0x2a};
    cr_assert_eq (sb.size, sizeof vector);
    cr_assert_eq (memcmp (sb.data, vector, sizeof vector), 0, "the vector of PROTOCOL.md §13");
    wire_decoder_t *dec = wire_decoder_new (0);
    cr_assert_eq (decode (dec, sb.data, sb.size), WIRE_MISSED);
    uint64_t missed = 0;
    cr_assert_eq (wire_get_missed (dec, &missed), 0);
    cr_assert_eq (missed, 42);
    //  a string where the count should be
    const unsigned char bad[] = {0x93, 0x01, 0x1c, 0xa1, 0x78};
    cr_assert_eq (decode (dec, bad, sizeof bad), WIRE_MISSED);
    cr_assert_eq (wire_get_missed (dec, &missed), WEFT_EPROTO);
    //  another type asked for as MISSED
    cr_assert_eq (wire_encode_ping (&sb), 0);
    cr_assert_eq (decode (dec, sb.data, sb.size), WIRE_PING);
    cr_assert_eq (wire_get_missed (dec, &missed), WEFT_EPROTO);
    wire_decoder_destroy (&dec);
    msgpack_sbuffer_destroy (&sb);
}
