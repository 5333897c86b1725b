/*  node/wire/topic.h - topic names, subscription patterns and pattern sets.

    A topic is 1..TOPIC_MAX bytes of non-empty segments separated by '.',
    each segment made of [A-Za-z0-9_:-]. A pattern is a topic whose segments
    may also be '*' (exactly one segment) or, as the last segment only, '#'
    (zero or more segments): "a.*.c" matches "a.b.c"; "a.#" matches "a",
    "a.b" and "a.b.c"; "#" matches everything.
    Thread: a topic_set_t belongs to one thread; the rest is pure.
*/
#ifndef WEFT_NODE_TOPIC_H
#define WEFT_NODE_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_MAX 255

//  Returns 0 if TOPIC (LEN bytes, not necessarily NUL-terminated) is a valid
//  topic, WEFT_EINVAL otherwise.
int topic_validate (const char *topic, size_t len);

//  Returns 0 if PATTERN (NUL-terminated) is a valid pattern, WEFT_EINVAL otherwise.
int pattern_validate (const char *pattern);

//  True when valid PATTERN matches TOPIC (LEN bytes). '*' needs a non-empty
//  segment; '#' takes the rest of the topic, possibly nothing ("a.#" matches
//  "a" but not "ab"). Linear in the two lengths, no recursion, no allocation;
//  safe (false or true, never a crash) on any TOPIC bytes.
bool pattern_match (const char *pattern, const char *topic, size_t len);

//  Writes into OUT (CAP bytes, NUL-terminated) the longest literal prefix that
//  every topic matched by PATTERN starts with - the ZeroMQ SUB filter for it:
//  "a.b" -> "a.b", "a.*.c" -> "a.", "a.#" -> "a", "#" -> "". Returns its length.
//  A CAP under TOPIC_MAX + 1 may truncate it: still a correct, wider filter.
size_t pattern_prefix (const char *pattern, char *out, size_t cap);

//  A set of patterns with a count each; matches a topic against all of them.
//  Exact patterns are found by one hash lookup; wildcard patterns are tried
//  one by one. The set owns copies of its patterns.
typedef struct topic_set topic_set_t;

//  Creates an empty set; NULL when out of memory.
topic_set_t *topic_set_new (void);
//  Destroys the set and nulls *SELF_P. NULL-safe.
void topic_set_destroy (topic_set_t **self_p);

//  Adds one reference to PATTERN. Returns the new count (1 when the pattern
//  is new), WEFT_EINVAL when PATTERN is not a valid pattern, or WEFT_ENOMEM.
int topic_set_add (topic_set_t *self, const char *pattern);

//  Drops one reference. Returns the remaining count (0: the pattern is gone)
//  or WEFT_ENOTFOUND when PATTERN is not in the set.
int topic_set_remove (topic_set_t *self, const char *pattern);

//  True when any pattern in the set matches TOPIC (LEN bytes).
bool topic_set_match (const topic_set_t *self, const char *topic, size_t len);

//  Number of distinct patterns.
size_t topic_set_size (const topic_set_t *self);

#endif
