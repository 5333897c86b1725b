/*  tests/unit/test_status.c - the node's status document, built with jansson
    (node/core/status.c and each subsystem's status operation): valid JSON
    whatever bytes a name holds, the members in the order and with the types
    the CLI, the bindings and the scripts read (docs/CLI.md), and the
    strings of common/jout.h.
*/
#include <criterion/criterion.h>
#include <jansson.h>

#include "common/jout.h"
#include "fakecore.h"
#include "journal/store_mem.h"

//  Checks that jout_text () of the LEN bytes IN is the string WANT (WANT_LEN bytes).
static void expect_text (const char *in, size_t len, const char *want, size_t want_len)
{
    json_t *s = jout_text (in, len);
    cr_assert_not_null (s);
    cr_assert_eq (json_string_length (s), want_len, "%zu bytes", json_string_length (s));
    cr_assert_eq (memcmp (json_string_value (s), want, want_len), 0, "%s", json_string_value (s));
    json_decref (s);
}

Test (status, any_bytes_give_a_json_string)
{
    expect_text ("plain", 5, "plain", 5);
    expect_text ("caf\xc3\xa9", 5, "caf\xc3\xa9", 5);               //  UTF-8 as is
    expect_text ("caf\xe9", 4, "caf\xc3\xa9", 5);                   //  Latin-1 e-acute
    expect_text ("\xff\xc3", 2, "\xc3\xbf\xc3\x83", 4);             //  a cut sequence too
    expect_text ("a\0b", 3, "a\0b", 3);                             //  NUL is a character
    expect_text ("\xed\xa0\x80", 3, "\xc3\xad\xc2\xa0\xc2\x80", 6); //  no surrogates
    json_t *s = jout_str (NULL);
    cr_assert_str_eq (json_string_value (s), "");
    json_decref (s);
    json_t *o = json_object ();
    cr_assert_eq (jout_set_uint (o, "big", UINT64_MAX), 0);
    cr_assert_eq (json_integer_value (json_object_get (o, "big")), INT64_MAX, "clamped");
    json_decref (o);
}

//  The top-level members of a member's status, in order (journal, queues on).
static const char *const s_members[] = {
    "name",         "uuid",         "role",     "cluster",    "version", "incarnation",
    "router",       "pub",          "beacons",  "uptime_ms",  "peers",   "subscriptions",
    "counters",     "journal",      "pubsub",   "ring",       "queues",  "queue_counters",
    "queue_engine", "queue_groups", "raft_bad", "membership", NULL};

Test (status, the_document_keeps_its_members_order_and_types)
{
    static const char *const kv[] = {
        "journal.dir", "/fake/st", "durable.topics", "d.#", "cluster.name", "c\\\"l", NULL};
    jdisk_t *disk = jdisk_new ();
    fc_t *fc = fc_start_new ("we\"ird\xe9", 3, disk, kv);
    fc_publish (fc, "d.x", "one");
    char *text = fc_status (fc);
    json_error_t error;
    json_t *status = json_loads (text, 0, &error);
    cr_assert_not_null (status, "%s: %s", error.text, text);
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach (status, key, value)
    {
        cr_assert_not_null (s_members[i], "more members than expected: %s", key);
        cr_assert_str_eq (key, s_members[i], "member %zu", i);
        i++;
    }
    cr_assert_null (s_members[i], "%s missing: %s", s_members[i], text);
    cr_assert_str_eq (json_string_value (json_object_get (status, "name")), "we\"ird\xc3\xa9");
    cr_assert_str_eq (json_string_value (json_object_get (status, "cluster")), "c\\\"l");
    cr_assert (json_is_true (json_object_get (status, "beacons")) ||
               json_is_false (json_object_get (status, "beacons")));
    json_t *counters = json_object_get (status, "counters");
    cr_assert_eq (json_object_size (counters), 22, "%s", text);
    cr_assert_eq (json_integer_value (json_object_get (counters, "journaled")), 1);
    json_t *stream = json_array_get (json_object_get (status, "journal"), 0);
    cr_assert_str_eq (json_string_value (json_object_get (stream, "stream")), "t/d.x");
    cr_assert_eq (json_integer_value (json_object_get (stream, "count")), 1);
    cr_assert (json_is_integer (json_object_get (stream, "last_time_us")));
    cr_assert (json_is_array (json_object_get (json_object_get (status, "pubsub"), "peers")));
    json_t *ring = json_object_get (status, "ring");
    cr_assert_eq (strlen (json_string_value (json_object_get (ring, "epoch"))), 16);
    cr_assert (json_is_array (json_object_get (ring, "members")));
    cr_assert (json_is_integer (json_object_get (json_object_get (status, "membership"), "alive")));
    //  compact, as the node always wrote it: scripts and tests grep it so
    cr_assert (strstr (text, "{\"name\":\"we\\\"ird\xc3\xa9\",\"uuid\":\""), "%s", text);
    json_decref (status);
    free (text);
    fc_destroy (&fc);
    jdisk_destroy (&disk);
}
