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

#endif
