/*  node/wire/topic.c - topic names, subscription patterns and pattern sets (see topic.h).

    Matching walks the pattern and the topic segment by segment, once, with
    no recursion and no allocation: '*' takes exactly one segment and '#' can
    only be last, so there is never anything to backtrack.
    A topic_set keeps exact patterns (no wildcard) in a CZMQ zhashx keyed by
    the pattern, for O(1) lookup, and wildcard patterns in a small array
    scanned in order; both hold a reference count per pattern.
*/
#include "node/wire/topic.h"

#include "weft.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  True when C may appear in a topic segment: [A-Za-z0-9_:-].
static bool s_segment_char (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':' || c == '-';
}

//  Checks length, characters and segments in one pass.
int topic_validate (const char *topic, size_t len)
{
    if (!topic || len == 0 || len > TOPIC_MAX)
        return WEFT_EINVAL;
    size_t segment = 0; //  length of the segment read so far
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)topic[i];
        if (c == '.') {
            if (segment == 0)
                return WEFT_EINVAL; //  leading '.' or ".."
            segment = 0;
        } else if (s_segment_char (c))
            segment++;
        else
            return WEFT_EINVAL;
    }
    return segment > 0 ? 0 : WEFT_EINVAL; //  no trailing '.'
}

//  Length of the segment starting at TEXT, up to '.' or the end of the string.
static size_t s_segment_len (const char *text)
{
    return strcspn (text, ".");
}

//  True when the LEN bytes at SEGMENT are the wildcard WILD ('*' or '#').
static bool s_is_wild (const char *segment, size_t len, char wild)
{
    return len == 1 && segment[0] == wild;
}

//  Checks each segment: '*', '#' (last only) or topic characters.
int pattern_validate (const char *pattern)
{
    if (!pattern)
        return WEFT_EINVAL;
    size_t total = strnlen (pattern, TOPIC_MAX + 1);
    if (total == 0 || total > TOPIC_MAX)
        return WEFT_EINVAL;
    const char *segment = pattern;
    while (true) {
        size_t len = s_segment_len (segment);
        bool last = segment[len] == '\0';
        if (len == 0)
            return WEFT_EINVAL; //  empty segment
        if (s_is_wild (segment, len, '#')) {
            if (!last)
                return WEFT_EINVAL; //  '#' only as the last segment
        } else if (!s_is_wild (segment, len, '*')) {
            for (size_t i = 0; i < len; i++)
                if (!s_segment_char ((unsigned char)segment[i]))
                    return WEFT_EINVAL;
        }
        if (last)
            return 0;
        segment += len + 1;
    }
}

//  Walks pattern and topic segment by segment.
bool pattern_match (const char *pattern, const char *topic, size_t len)
{
    if (!pattern || (!topic && len > 0))
        return false;
    const char *p = pattern;
    const char *t = topic;
    const char *end = topic + len;
    bool topic_left = len > 0; //  a topic segment remains to be matched
    while (true) {
        size_t plen = s_segment_len (p);
        if (s_is_wild (p, plen, '#'))
            return true; //  takes whatever is left, even nothing
        if (!topic_left)
            return false;
        const char *dot = memchr (t, '.', (size_t)(end - t));
        size_t tlen = dot ? (size_t)(dot - t) : (size_t)(end - t);
        bool same = s_is_wild (p, plen, '*') ? tlen > 0 : plen == tlen && memcmp (p, t, plen) == 0;
        if (!same)
            return false;
        topic_left = dot != NULL;
        if (p[plen] == '\0')
            return !topic_left; //  pattern done: so must the topic be
        p += plen + 1;
        t = topic_left ? dot + 1 : end;
    }
}

//  Copies the pattern up to its first wildcard segment.
size_t pattern_prefix (const char *pattern, char *out, size_t cap)
{
    if (!pattern || !out || cap == 0)
        return 0;
    size_t len = 0; //  the literal prefix is PATTERN's first LEN bytes
    const char *segment = pattern;
    while (true) {
        size_t slen = s_segment_len (segment);
        if (s_is_wild (segment, slen, '*')) {
            len = (size_t)(segment - pattern); //  "a.*" -> "a.", keeping the '.'
            break;
        }
        if (s_is_wild (segment, slen, '#')) {
            //  "a.#" matches "a" too, so the '.' before '#' is not in the prefix
            len = segment == pattern ? 0 : (size_t)(segment - pattern) - 1;
            break;
        }
        if (segment[slen] == '\0') {
            len = (size_t)(segment + slen - pattern); //  no wildcard: all of it
            break;
        }
        segment += slen + 1;
    }
    if (len > cap - 1)
        len = cap - 1; //  a shorter prefix is still a correct, wider filter
    memcpy (out, pattern, len);
    out[len] = '\0';
    return len;
}

/* ------------------------------------------------------------------------ */
/*  Pattern sets                                                            */

//  A wildcard pattern and its reference count.
typedef struct {
    char *pattern; //  owned copy
    int count;     //  references, at least 1
} s_wild_t;

struct topic_set {
    zhashx_t *exact; //  exact pattern -> int * count (owned)
    s_wild_t *wild;  //  wildcard patterns, in insertion order
    size_t nwild;    //  entries used in WILD
    size_t capwild;  //  entries allocated in WILD
};

//  zhashx destructor for the counts stored as items.
static void s_count_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Creates an empty set: a hash for exact patterns, no wildcard array yet.
topic_set_t *topic_set_new (void)
{
    topic_set_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->exact = zhashx_new ();
    if (!self->exact) {
        free (self);
        return NULL;
    }
    zhashx_set_destructor (self->exact, s_count_free);
    return self;
}

//  Frees the hash, the wildcard copies and the set; nulls *SELF_P.
void topic_set_destroy (topic_set_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    topic_set_t *self = *self_p;
    zhashx_destroy (&self->exact);
    for (size_t i = 0; i < self->nwild; i++)
        free (self->wild[i].pattern);
    free (self->wild);
    free (self);
    *self_p = NULL;
}

//  True when PATTERN has a '*' or '#' segment.
static bool s_has_wildcard (const char *pattern)
{
    const char *segment = pattern;
    while (true) {
        size_t len = s_segment_len (segment);
        if (s_is_wild (segment, len, '*') || s_is_wild (segment, len, '#'))
            return true;
        if (segment[len] == '\0')
            return false;
        segment += len + 1;
    }
}

//  Returns the index of wildcard PATTERN in SELF, or -1.
static ssize_t s_wild_find (const topic_set_t *self, const char *pattern)
{
    for (size_t i = 0; i < self->nwild; i++)
        if (strcmp (self->wild[i].pattern, pattern) == 0)
            return (ssize_t)i;
    return -1;
}

//  Adds a reference to exact PATTERN. Returns the new count or WEFT_ENOMEM.
static int s_exact_add (topic_set_t *self, const char *pattern)
{
    int *count = zhashx_lookup (self->exact, pattern);
    if (count)
        return ++*count;
    count = malloc (sizeof *count);
    if (!count)
        return WEFT_ENOMEM;
    *count = 1;
    if (zhashx_insert (self->exact, pattern, count) != 0) {
        free (count);
        return WEFT_ENOMEM;
    }
    return 1;
}

//  Adds a reference to wildcard PATTERN. Returns the new count or WEFT_ENOMEM.
static int s_wild_add (topic_set_t *self, const char *pattern)
{
    ssize_t index = s_wild_find (self, pattern);
    if (index >= 0)
        return ++self->wild[index].count;
    if (self->nwild == self->capwild) {
        size_t cap = self->capwild ? 2 * self->capwild : 8;
        s_wild_t *wild = realloc (self->wild, cap * sizeof *wild);
        if (!wild)
            return WEFT_ENOMEM;
        self->wild = wild;
        self->capwild = cap;
    }
    char *copy = strdup (pattern);
    if (!copy)
        return WEFT_ENOMEM;
    self->wild[self->nwild++] = (s_wild_t){copy, 1};
    return 1;
}

//  Validates PATTERN and counts it in the hash or the wildcard array.
int topic_set_add (topic_set_t *self, const char *pattern)
{
    if (!self || pattern_validate (pattern) != 0)
        return WEFT_EINVAL;
    return s_has_wildcard (pattern) ? s_wild_add (self, pattern) : s_exact_add (self, pattern);
}

//  Drops one reference, deleting the pattern when none is left.
int topic_set_remove (topic_set_t *self, const char *pattern)
{
    if (!self || !pattern)
        return WEFT_EINVAL;
    int *count = zhashx_lookup (self->exact, pattern);
    if (count) {
        int left = --*count;
        if (left == 0)
            zhashx_delete (self->exact, pattern);
        return left;
    }
    ssize_t index = s_wild_find (self, pattern);
    if (index < 0)
        return WEFT_ENOTFOUND;
    int left = --self->wild[index].count;
    if (left == 0) {
        free (self->wild[index].pattern);
        memmove (&self->wild[index], &self->wild[index + 1],
                 (self->nwild - (size_t)index - 1) * sizeof *self->wild);
        self->nwild--;
    }
    return left;
}

//  One hash lookup for exact patterns, then each wildcard pattern.
bool topic_set_match (const topic_set_t *self, const char *topic, size_t len)
{
    if (!self || (!topic && len > 0))
        return false;
    //  a NUL inside TOPIC would make the key a shorter, different topic
    if (len > 0 && len <= TOPIC_MAX && zhashx_size (self->exact) > 0 &&
        !memchr (topic, '\0', len)) {
        char key[TOPIC_MAX + 1]; //  zhashx keys are NUL-terminated
        memcpy (key, topic, len);
        key[len] = '\0';
        if (zhashx_lookup (self->exact, key))
            return true;
    }
    for (size_t i = 0; i < self->nwild; i++)
        if (pattern_match (self->wild[i].pattern, topic, len))
            return true;
    return false;
}

//  Exact plus wildcard patterns.
size_t topic_set_size (const topic_set_t *self)
{
    return self ? zhashx_size (self->exact) + self->nwild : 0;
}
