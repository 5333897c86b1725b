/*  tests/unit/test_cli_json.c - the JSON helpers of weftd and weft over
    jansson (cli/json.h): bodies of any bytes as strings, the separators of
    the --json outputs, table cells from values, a status parsed. cli/json.c
    needs only jansson, so it is compiled into this test as is. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/json.c"

//  The text cli_json_print () writes of JSON with FLAGS (static buffer).
static const char *printed (const json_t *json, size_t flags)
{
    static char text[1024];
    FILE *out = fmemopen (text, sizeof text, "w");
    cr_assert_not_null (out);
    cr_assert_eq (cli_json_print (out, json, flags), 0);
    fclose (out);
    return text;
}

Test (cli_json, bodies_of_any_bytes_are_strings)
{
    json_t *o = json_pack ("{s:o, s:o, s:o}", "body", cli_json_bytes ("a\"b\\\n\xe9\x01", 7),
                           "utf8", cli_json_str ("caf\xc3\xa9"), "none", cli_json_str (NULL));
    cr_assert_not_null (o);
    //  an invalid byte is read as Latin-1 (U+00E9), a control one escaped
    cr_assert_str_eq (printed (o, CLI_JSON_SPACED),
                      "{\"body\": \"a\\\"b\\\\\\n\xc3\xa9\\u0001\", \"utf8\": \"caf\xc3\xa9\", "
                      "\"none\": \"\"}\n");
    json_decref (o);
    json_t *nul = cli_json_bytes ("x\0y", 3);
    cr_assert_eq (json_string_length (nul), 3);
    cr_assert_str_eq (printed (nul, CLI_JSON_SPACED), "\"x\\u0000y\"\n");
    json_decref (nul);
}

Test (cli_json, outputs_keep_their_separators)
{
    json_t *o =
        json_pack ("{s:I, s:[s, s], s:b}", "sent", (json_int_t)3, "owns", "a", "b", "ok", 1);
    cr_assert_str_eq (printed (o, CLI_JSON_SPACED),
                      "{\"sent\": 3, \"owns\": [\"a\", \"b\"], \"ok\": true}\n");
    cr_assert_str_eq (printed (o, CLI_JSON_COMPACT),
                      "{\"sent\":3,\"owns\":[\"a\",\"b\"],\"ok\":true}\n");
    json_decref (o);
    cr_assert_eq (cli_json_print (stdout, NULL, 0), -1, "nothing to print is a failure");
}

Test (cli_json, cells_and_status)
{
    json_t *status = cli_json_parse ("{\"name\":\"n1\",\"peers\":2,\"beacons\":true,"
                                     "\"ring\":{\"epoch\":\"00ff\"},\"gone\":null}");
    cr_assert_not_null (status);
    char cell[64];
    cr_assert_str_eq (cli_json_cell (json_object_get (status, "name"), "-", cell, sizeof cell),
                      "n1");
    cr_assert_str_eq (cli_json_cell (json_object_get (status, "peers"), "-", cell, sizeof cell),
                      "2");
    cr_assert_str_eq (cli_json_cell (json_object_get (status, "beacons"), "-", cell, sizeof cell),
                      "true");
    cr_assert_str_eq (cli_json_cell (json_object_get (status, "gone"), "-", cell, sizeof cell),
                      "null");
    cr_assert_str_eq (cli_json_cell (json_object_get (status, "none"), "-", cell, sizeof cell),
                      "-");
    cr_assert_str_eq (cli_json_cell (json_object_get (status, "ring"), "-", cell, sizeof cell),
                      "{\"epoch\":\"00ff\"}");
    cr_assert_str_eq (cli_json_text (status, "name", "?"), "n1");
    cr_assert_str_eq (cli_json_text (status, "peers", "?"), "?", "not a string");
    json_decref (status);
    cr_assert_null (cli_json_parse ("[1, 2]"), "not an object");
    cr_assert_null (cli_json_parse ("{\"a\": "), "cut");
    cr_assert_null (cli_json_parse (NULL));
}
