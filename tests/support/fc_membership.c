/*  tests/support/fc_membership.c - see fc_membership.h. */
#include "fc_membership.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fc_t *fcm_start (uint64_t seed, const char *const *kv)
{
    fc_t *fc = fc_start_new ("m", seed, NULL, kv);
    fc_world_clear (fc_world (fc));
    return fc;
}

void fcm_expect_event (fc_t *fc, int kind, const fc_peer_t *peer)
{
    fc_event_t e;
    cr_assert (fc_event (fc, 0, &e), "no event (expected kind %d)", kind);
    cr_assert_eq (e.ev.kind, kind, "event kind %d, expected %d", e.ev.kind, kind);
    cr_assert_str_eq (e.ev.sender, peer->hex);
}

void fcm_hello (fc_t *fc, const fc_peer_t *peer)
{
    fc_inject_hello (fc, peer);
    fc_turn (fc);
}

void fcm_inject_ping (fc_t *fc, const fc_peer_t *from, const wire_ping_t *ping)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    cr_assert_eq (wire_encode_ping_full (&sbuf, ping), 0);
    fc_inject_router (fc, from->uuid, &sbuf, NULL, 0);
    msgpack_sbuffer_destroy (&sbuf);
}

wire_ping_t fcm_probe_ping (uint8_t probe, uint64_t id, const uint8_t *target)
{
    wire_ping_t ping = {.probe = probe, .probe_id = id};
    memcpy (ping.target, target, WIRE_UUID_SIZE);
    return ping;
}

wire_ping_t fcm_record_ping (const uint8_t *uuid, uint64_t incarnation, uint64_t alive,
                             uint8_t state)
{
    wire_ping_t ping = {.nrecords = 1};
    memcpy (ping.records[0].uuid, uuid, WIRE_UUID_SIZE);
    ping.records[0].incarnation = incarnation;
    ping.records[0].alive = alive;
    ping.records[0].state = state;
    return ping;
}

bool fcm_take_ping (fc_t *fc, const char *ep, uint8_t probe, const uint8_t *uuid, int state,
                    wire_ping_t *out)
{
    for (size_t n = fc_count (fc, ep, WIRE_PING); n > 0; n--) {
        zmsg_t *m = fc_take (fc, ep, WIRE_PING);
        cr_assert_not_null (m);
        wire_ping_t ping;
        int rc = wire_get_ping (fc_decoder (fc), &ping);
        zmsg_destroy (&m);
        cr_assert_eq (rc, 0, "%s", wire_decoder_error (fc_decoder (fc)));
        bool match = probe != WIRE_PROBE_NONE && ping.probe == probe;
        for (size_t i = 0; probe == WIRE_PROBE_NONE && i < ping.nrecords; i++)
            match |= memcmp (ping.records[i].uuid, uuid, WIRE_UUID_SIZE) == 0 &&
                     ping.records[i].state == state;
        if (match) {
            if (out)
                *out = ping;
            return true;
        }
    }
    return false;
}

void fcm_advance_with (fc_t *fc, int64_t ms, const fc_peer_t *alive, size_t n)
{
    for (int64_t t = 0; t < ms; t += 100) {
        for (size_t i = 0; i < n; i++)
            fc_inject_simple (fc, &alive[i], WIRE_PING);
        fc_turn (fc);
        fc_advance (fc, 100);
    }
}

int64_t fcm_swim_int (fc_t *fc, const char *key)
{
    char *json = fc_status (fc);
    char *part = strstr (json, "\"membership\":{");
    cr_assert_not_null (part, "%s", json);
    char pattern[64];
    snprintf (pattern, sizeof pattern, "\"%s\":", key);
    char *at = strstr (part, pattern);
    int64_t value = at ? strtoll (at + strlen (pattern), NULL, 10) : -1;
    free (json);
    return value;
}
