/* UTF-8 validation, shared by the writers that must send valid text (JSON,
 * MessagePack str): one sequence at a time, checked against Unicode's table
 * of well-formed sequences. Inline: it sits on the hot path of every
 * string an output writes. */
#ifndef SKIFF_UTF8_H
#define SKIFF_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Checks the UTF-8 sequence starting with a byte >= 0x80 against Unicode's
 * table of well-formed sequences (no overlongs, surrogates or values above
 * U+10FFFF). Returns its length when *valid, otherwise the length of the
 * maximal subpart to replace by one U+FFFD (at least 1). */
static inline size_t utf8_sequence(const unsigned char *s, size_t n, bool *valid)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t tail;
    *valid = false;
    if (c >= 0xc2 && c <= 0xdf) {
        tail = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        tail = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        tail = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 1;
    }
    for (size_t i = 1; i <= tail; i++) {
        if (i >= n || s[i] < lo || s[i] > hi)
            return i;
        lo = 0x80;
        hi = 0xbf;
    }
    *valid = true;
    return tail + 1;
}

/* The length of the well-formed sequence at `s` (s[0] >= 0x80, at least 4
 * bytes readable), or 0 if there is none: the same sequences as
 * utf8_sequence's table, tested as whole code points with fewer branches,
 * for text where most sequences are valid. */
static inline size_t utf8_valid_length4(const unsigned char *s)
{
    unsigned c = s[0], c1 = s[1], c2 = s[2], c3 = s[3];
    if ((c1 & 0xc0) != 0x80)
        return 0;
    if (c < 0xe0)
        return c >= 0xc2 ? 2 : 0;
    if ((c2 & 0xc0) != 0x80)
        return 0;
    if (c < 0xf0) {
        unsigned cp = (c & 0x0f) << 12 | (c1 & 0x3f) << 6 | (c2 & 0x3f);
        return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
    }
    unsigned cp = (c & 0x07) << 18 | (c1 & 0x3f) << 12 | (c2 & 0x3f) << 6 | (c3 & 0x3f);
    return c <= 0xf4 && (c3 & 0xc0) == 0x80 && cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
}

#endif
