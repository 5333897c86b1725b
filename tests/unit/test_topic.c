/*  tests/unit/test_topic.c - topic names, patterns and pattern sets (node/topic.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "node/wire/topic.h"
#include "weft.h"

//  A string of LEN copies of C (LEN < 300), for length limits.
static const char *repeat (char c, size_t len)
{
    static char text[300];
    memset (text, c, len);
    text[len] = '\0';
    return text;
}

Test (topic, valid_topics, .timeout = 10)
{
    const char *valid[] = {"a",   "abc", "a.b",   "a.b.c",   "A-Z_0:9", "orders.eu-west.new",
                           "1.2", "_",   "-.:.-", "x:y.z_w", "a.b1.c2"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        cr_assert_eq (topic_validate (valid[i], strlen (valid[i])), 0, "\"%s\" rejected", valid[i]);
    cr_assert_eq (topic_validate (repeat ('a', TOPIC_MAX), TOPIC_MAX), 0);
    //  only LEN bytes count: what follows is not read
    cr_assert_eq (topic_validate ("a.b..", 3), 0);
}

Test (topic, invalid_topics, .timeout = 10)
{
    const char *invalid[] = {"",    ".",   "a.",  ".a",    "a..b",   "a b",  "a/b",  "a*",
                             "*",   "#",   "a.#", "a.*.c", "é",      "a\tb", "a.b.", "..",
                             "a,b", "a+b", "a$",  "\x7f",  "a.b.c.", "a\xff"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        cr_assert_eq (topic_validate (invalid[i], strlen (invalid[i])), WEFT_EINVAL,
                      "\"%s\" accepted", invalid[i]);
    cr_assert_eq (topic_validate (repeat ('a', TOPIC_MAX + 1), TOPIC_MAX + 1), WEFT_EINVAL);
    cr_assert_eq (topic_validate ("a\0b", 3), WEFT_EINVAL);
    cr_assert_eq (topic_validate ("\0a", 2), WEFT_EINVAL); //  the readiness marker's first byte
    cr_assert_eq (topic_validate (NULL, 0), WEFT_EINVAL);
    cr_assert_eq (topic_validate (NULL, 3), WEFT_EINVAL);
}

Test (topic, valid_patterns, .timeout = 10)
{
    const char *valid[] = {"a",   "a.b", "*",   "#",     "a.*",       "*.a",      "a.*.c",
                           "a.#", "*.#", "*.*", "a.*.#", "x-1:y_2.*", "*.b.*.d.#"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        cr_assert_eq (pattern_validate (valid[i]), 0, "\"%s\" rejected", valid[i]);
    cr_assert_eq (pattern_validate (repeat ('b', TOPIC_MAX)), 0);
}

Test (topic, invalid_patterns, .timeout = 10)
{
    const char *invalid[] = {"",     ".",   "a.",  ".a",    "a..b", "a*",   "*a",   "a*.b",
                             "**",   "##",  "#.a", "a.#.b", "#.#",  "a#",   "a.b#", "a. b",
                             "a.*.", "a/b", "*.",  ".#",    "a.**", "a.#a", "é"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        cr_assert_eq (pattern_validate (invalid[i]), WEFT_EINVAL, "\"%s\" accepted", invalid[i]);
    cr_assert_eq (pattern_validate (repeat ('b', TOPIC_MAX + 1)), WEFT_EINVAL);
    cr_assert_eq (pattern_validate (NULL), WEFT_EINVAL);
}

Test (topic, match_table, .timeout = 10)
{
    struct {
        const char *pattern;
        const char *topic;
        bool match;
    } cases[] = {
        {"a.*.c", "a.b.c", true},
        {"a.*.c", "a.b.b.c", false},
        {"a.*.c", "a.c", false},
        {"a.*.c", "a.b.d", false},
        {"a.*.c", "a.bbb.c", true},
        {"a.#", "a", true},
        {"a.#", "a.b", true},
        {"a.#", "a.b.c.d", true},
        {"a.#", "ab", false},
        {"a.#", "b.a", false},
        {"a.#", "ab.c", false},
        {"#", "a", true},
        {"#", "a.b.c", true},
        {"*", "a", true},
        {"*", "abc", true},
        {"*", "a.b", false},
        {"*.*", "a.b", true},
        {"*.*", "a", false},
        {"*.#", "a", true},
        {"*.#", "a.b.c", true},
        {"a.*.#", "a", false},
        {"a.*.#", "a.b", true},
        {"a.*.#", "a.b.c.d", true},
        {"a.b", "a.b", true},
        {"a.b", "a.bc", false},
        {"a.b", "a.b.c", false},
        {"a.b", "a", false},
        {"a.b", "ab", false},
        {"a.b.c", "a.b.c", true},
        {"*.b.*.d.#", "a.b.c.d", true},
        {"*.b.*.d.#", "a.b.c.d.e.f", true},
        {"*.b.*.d.#", "a.x.c.d", false},
        {"abc", "ab", false},
        {"ab", "abc", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq (pattern_validate (cases[i].pattern), 0);
        bool got = pattern_match (cases[i].pattern, cases[i].topic, strlen (cases[i].topic));
        cr_assert_eq (got, cases[i].match, "\"%s\" vs \"%s\": %d", cases[i].pattern, cases[i].topic,
                      got);
    }
}

Test (topic, match_uses_len_and_survives_bad_topics, .timeout = 10)
{
    //  only LEN bytes of the topic count
    cr_assert (pattern_match ("a.b", "a.b.c", 3));
    cr_assert_not (pattern_match ("a.b", "a.b.c", 2));
    cr_assert (pattern_match ("a.*", "a.bzzz", 3));
    //  topics that fail validation do not crash anything; '*' needs a segment
    cr_assert_not (pattern_match ("a", "", 0));
    cr_assert_not (pattern_match ("a.*", "a.", 2));
    cr_assert_not (pattern_match ("*.a", ".a", 2));
    cr_assert_not (pattern_match ("a.*.c", "a..c", 4));
    cr_assert_not (pattern_match ("a", "a\0", 2));
    cr_assert_not (pattern_match (NULL, "a", 1));
    cr_assert_not (pattern_match ("a", NULL, 1));
    //  long topics: linear, no recursion
    static char topic[TOPIC_MAX + 1];
    for (size_t i = 0; i < TOPIC_MAX; i++)
        topic[i] = i % 2 ? '.' : 'x';
    cr_assert (pattern_match ("#", topic, TOPIC_MAX));
    cr_assert (pattern_match ("x.#", topic, TOPIC_MAX));
    cr_assert (pattern_match ("*.*.*.#", topic, TOPIC_MAX));
    cr_assert_not (pattern_match ("*.*.*", topic, TOPIC_MAX));
}

Test (topic, prefix_table, .timeout = 10)
{
    struct {
        const char *pattern;
        const char *prefix;
    } cases[] = {
        {"a.b", "a.b"},    {"a.*.c", "a."},  {"a.#", "a"},
        {"#", ""},         {"*", ""},        {"*.a", ""},
        {"a.b.*", "a.b."}, {"a.b.#", "a.b"}, {"a.b.c.*.#", "a.b.c."},
        {"abc", "abc"},    {"a.*.#", "a."},  {"*.#", ""},
    };
    char out[TOPIC_MAX + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset (out, 'z', sizeof out);
        size_t len = pattern_prefix (cases[i].pattern, out, sizeof out);
        cr_assert_str_eq (out, cases[i].prefix, "prefix of \"%s\"", cases[i].pattern);
        cr_assert_eq (len, strlen (cases[i].prefix));
    }
    //  a small buffer truncates (a wider filter, still correct)
    char small[3];
    cr_assert_eq (pattern_prefix ("abcdef", small, sizeof small), 2);
    cr_assert_str_eq (small, "ab");
    cr_assert_eq (pattern_prefix ("abcdef", small, 0), 0);
    cr_assert_eq (pattern_prefix (repeat ('q', TOPIC_MAX), out, sizeof out), TOPIC_MAX);
}

Test (topic, prefix_is_a_prefix_of_every_match, .timeout = 10)
{
    const char *patterns[] = {"a.*.c", "a.#", "a.b", "*", "#", "a.b.*.#"};
    const char *topics[] = {"a", "a.b", "a.b.c", "a.x.c", "a.b.c.d", "b", "ab", "a.bc"};
    char prefix[TOPIC_MAX + 1];
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        size_t len = pattern_prefix (patterns[p], prefix, sizeof prefix);
        for (size_t t = 0; t < sizeof topics / sizeof topics[0]; t++)
            if (pattern_match (patterns[p], topics[t], strlen (topics[t])))
                cr_assert_eq (strncmp (topics[t], prefix, len), 0, "\"%s\" matches \"%s\"",
                              topics[t], patterns[p]);
    }
}

Test (topic, set_counts_references, .timeout = 10)
{
    topic_set_t *set = topic_set_new ();
    cr_assert_not_null (set);
    cr_assert_eq (topic_set_size (set), 0);
    cr_assert_eq (topic_set_add (set, "a.b"), 1);
    cr_assert_eq (topic_set_add (set, "a.b"), 2);
    cr_assert_eq (topic_set_add (set, "a.*"), 1);
    cr_assert_eq (topic_set_add (set, "a.*"), 2);
    cr_assert_eq (topic_set_add (set, "#"), 1);
    cr_assert_eq (topic_set_size (set), 3);
    cr_assert_eq (topic_set_remove (set, "a.b"), 1);
    cr_assert_eq (topic_set_size (set), 3);
    cr_assert_eq (topic_set_remove (set, "a.b"), 0);
    cr_assert_eq (topic_set_size (set), 2);
    cr_assert_eq (topic_set_remove (set, "a.b"), WEFT_ENOTFOUND);
    cr_assert_eq (topic_set_remove (set, "a.*"), 1);
    cr_assert_eq (topic_set_remove (set, "#"), 0);
    cr_assert_eq (topic_set_remove (set, "#"), WEFT_ENOTFOUND);
    cr_assert_eq (topic_set_remove (set, "a.*"), 0);
    cr_assert_eq (topic_set_size (set), 0);
    cr_assert_eq (topic_set_remove (set, "never.added"), WEFT_ENOTFOUND);
    cr_assert_eq (topic_set_remove (set, "x.*"), WEFT_ENOTFOUND);
    cr_assert_eq (topic_set_add (set, "bad..pattern"), WEFT_EINVAL);
    cr_assert_eq (topic_set_add (set, NULL), WEFT_EINVAL);
    cr_assert_eq (topic_set_size (set), 0);
    //  many wildcard patterns (the array grows) and removal from the middle
    char pattern[32];
    for (int i = 0; i < 40; i++) {
        snprintf (pattern, sizeof pattern, "w%d.*", i);
        cr_assert_eq (topic_set_add (set, pattern), 1);
    }
    cr_assert_eq (topic_set_remove (set, "w7.*"), 0);
    cr_assert_not (topic_set_match (set, "w7.x", 4));
    cr_assert (topic_set_match (set, "w8.x", 4));
    cr_assert (topic_set_match (set, "w39.x", 5));
    cr_assert_eq (topic_set_size (set), 39);
    topic_set_destroy (&set);
    cr_assert_null (set);
    topic_set_destroy (&set);
    topic_set_destroy (NULL);
}

Test (topic, set_matches_exact_and_wildcards, .timeout = 10)
{
    topic_set_t *set = topic_set_new ();
    cr_assert_not (topic_set_match (set, "a.b", 3));
    topic_set_add (set, "orders.eu.new");
    topic_set_add (set, "metrics.*.cpu");
    topic_set_add (set, "logs.#");
    struct {
        const char *topic;
        bool match;
    } cases[] = {
        {"orders.eu.new", true},  {"orders.eu", false},     {"orders.eu.new.x", false},
        {"orders.us.new", false}, {"metrics.h1.cpu", true}, {"metrics.h1.mem", false},
        {"metrics.cpu", false},   {"logs", true},           {"logs.app.err", true},
        {"logsx", false},         {"other", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq (topic_set_match (set, cases[i].topic, strlen (cases[i].topic)),
                      cases[i].match, "\"%s\"", cases[i].topic);
    //  exact lookups honour LEN and ignore what follows
    cr_assert (topic_set_match (set, "orders.eu.new.more", 13));
    cr_assert_not (topic_set_match (set, "orders.eu.new\0x", 15));
    cr_assert_not (topic_set_match (set, "", 0));
    cr_assert_not (topic_set_match (set, repeat ('o', TOPIC_MAX + 5), TOPIC_MAX + 5));
    //  after the last reference goes, the pattern stops matching
    cr_assert_eq (topic_set_remove (set, "orders.eu.new"), 0);
    cr_assert_not (topic_set_match (set, "orders.eu.new", 13));
    cr_assert_eq (topic_set_remove (set, "logs.#"), 0);
    cr_assert_not (topic_set_match (set, "logs.app", 8));
    topic_set_add (set, "#");
    cr_assert (topic_set_match (set, "anything.at.all", 15));
    topic_set_destroy (&set);
    cr_assert_not (topic_set_match (NULL, "a", 1));
    cr_assert_eq (topic_set_size (NULL), 0);
}
