/*  tests/unit/test_entry.c - the framing of journal entries (node/wire/entry.h).

    Round trips at the edges (empty header, empty body), the refusal of every
    entry too short for its prefix or whose stored header length runs past
    its end, and a sweep over every truncation and every prefix byte of a
    valid entry that must never yield a view outside it (run it under ASan).
*/
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/wire/entry.h"
#include "weft.h"

//  Packs HEADER and BODY into a new entry (caller frees); its size in *SIZE.
static uint8_t *pack (const char *header, const char *body, size_t *size)
{
    size_t hlen = strlen (header), blen = strlen (body);
    *size = wire_entry_size (hlen, blen);
    cr_assert_eq (*size, 4 + hlen + blen);
    uint8_t *entry = malloc (*size);
    cr_assert_not_null (entry);
    cr_assert_eq (wire_entry_pack (header, hlen, body, blen, entry), 0);
    return entry;
}

Test (entry, round_trip, .timeout = 10)
{
    size_t size;
    uint8_t *entry = pack ("head", "the body", &size);
    cr_assert_eq (memcmp (entry, "\0\0\0\4head", 8), 0, "big-endian length, then the header");
    const void *header, *body;
    size_t hlen, blen;
    cr_assert_eq (wire_entry_split (entry, size, &header, &hlen, &body, &blen), 0);
    cr_assert_eq (hlen, 4);
    cr_assert_eq (memcmp (header, "head", 4), 0);
    cr_assert_eq (blen, 8);
    cr_assert_eq (memcmp (body, "the body", 8), 0);
    cr_assert_eq ((const uint8_t *)body, entry + 8);
    free (entry);
}

Test (entry, empty_parts, .timeout = 10)
{
    const char *cases[][2] = {{"", ""}, {"h", ""}, {"", "b"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        uint8_t *entry = pack (cases[i][0], cases[i][1], &size);
        const void *header, *body;
        size_t hlen, blen;
        cr_assert_eq (wire_entry_split (entry, size, &header, &hlen, &body, &blen), 0);
        cr_assert_eq (hlen, strlen (cases[i][0]));
        cr_assert_eq (blen, strlen (cases[i][1]));
        free (entry);
    }
    uint8_t out[4] = {0xff, 0xff, 0xff, 0xff};
    cr_assert_eq (wire_entry_pack (NULL, 0, NULL, 0, out), 0, "NULL parts of no bytes");
    cr_assert_eq (memcmp (out, "\0\0\0\0", 4), 0);
}

Test (entry, large_header_length_is_big_endian, .timeout = 10)
{
    size_t hlen = 0x010203;
    uint8_t *header = calloc (1, hlen);
    uint8_t *entry = malloc (wire_entry_size (hlen, 1));
    cr_assert (header && entry);
    cr_assert_eq (wire_entry_pack (header, hlen, "x", 1, entry), 0);
    cr_assert (entry[0] == 0 && entry[1] == 1 && entry[2] == 2 && entry[3] == 3);
    const void *h, *b;
    size_t hl, bl;
    cr_assert_eq (wire_entry_split (entry, wire_entry_size (hlen, 1), &h, &hl, &b, &bl), 0);
    cr_assert_eq (hl, hlen);
    cr_assert_eq (bl, 1);
    cr_assert_eq (*(const char *)b, 'x');
    free (header);
    free (entry);
}

Test (entry, short_entries_refused, .timeout = 10)
{
    const uint8_t data[4] = {0, 0, 0, 0};
    const void *header = (void *)1, *body = (void *)1;
    size_t hlen = 7, blen = 7;
    for (size_t len = 0; len < 4; len++)
        cr_assert_eq (wire_entry_split (data, len, &header, &hlen, &body, &blen), WEFT_ECORRUPT,
                      "%zu bytes cannot hold the prefix", len);
    cr_assert_eq (wire_entry_split (NULL, 8, &header, &hlen, &body, &blen), WEFT_ECORRUPT);
    cr_assert (hlen == 7 && blen == 7, "outputs untouched on failure");
    cr_assert_eq (wire_entry_split (data, 4, &header, &hlen, &body, &blen), 0, "empty is valid");
    cr_assert (hlen == 0 && blen == 0);
}

Test (entry, stored_length_never_trusted, .timeout = 10)
{
    //  a length past the end, by one byte and by everything
    uint8_t one[9] = {0, 0, 0, 6, 'a', 'b', 'c', 'd', 'e'};
    uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'};
    const void *header, *body;
    size_t hlen, blen;
    cr_assert_eq (wire_entry_split (one, sizeof one, &header, &hlen, &body, &blen), WEFT_ECORRUPT);
    cr_assert_eq (wire_entry_split (huge, sizeof huge, &header, &hlen, &body, &blen),
                  WEFT_ECORRUPT);
    one[3] = 5; //  exactly the rest: a header and no body
    cr_assert_eq (wire_entry_split (one, sizeof one, &header, &hlen, &body, &blen), 0);
    cr_assert (hlen == 5 && blen == 0);
}

Test (entry, every_truncation_and_prefix_stays_in_bounds, .timeout = 30)
{
    size_t size;
    uint8_t *entry = pack ("0123456789", "abcdefghij", &size);
    for (size_t len = 0; len <= size; len++) {
        //  a copy of exactly LEN bytes, so ASan sees any read past it
        uint8_t *copy = malloc (len ? len : 1);
        cr_assert_not_null (copy);
        memcpy (copy, entry, len);
        for (int byte = 0; byte < 4 && byte < (int)len; byte++)
            for (int v = 0; v < 256; v += 17) {
                copy[byte] = (uint8_t)v;
                const void *header, *body;
                size_t hlen, blen;
                if (wire_entry_split (copy, len, &header, &hlen, &body, &blen) == 0) {
                    cr_assert_eq ((const uint8_t *)header, copy + 4);
                    cr_assert_eq (4 + hlen + blen, len);
                    cr_assert_eq ((const uint8_t *)body, copy + 4 + hlen);
                }
                copy[byte] = entry[byte];
            }
        free (copy);
    }
    free (entry);
}

Test (entry, unframeable_sizes_refused, .timeout = 10)
{
    cr_assert_eq (wire_entry_size (0, SIZE_MAX), 0, "the sum overflows");
    cr_assert_eq (wire_entry_size (SIZE_MAX - 10, 5), 0);
    cr_assert_eq (wire_entry_size ((size_t)UINT32_MAX + 1, 0), 0, "over the u32 prefix");
    cr_assert_eq (wire_entry_size (UINT32_MAX, 0), (size_t)UINT32_MAX + 4);
    uint8_t out[4] = {9, 9, 9, 9};
    cr_assert_eq (wire_entry_pack (NULL, (size_t)UINT32_MAX + 1, NULL, 0, out), WEFT_EINVAL);
    cr_assert_eq (out[0], 9, "OUT untouched");
}
