/* The redact scanner's anchors from the classes of 64 bytes (see
 * redact_anchor.h): plain 64-bit arithmetic, inlined into each
 * implementation's find function (redact_classify.c) so that the classes
 * stay in registers. Private to redact_classify.c. */
#ifndef SKIFF_REDACT_ANCHOR_MASK_H
#define SKIFF_REDACT_ANCHOR_MASK_H

#include "redact_anchor.h"

/* The class bits of the byte k after each (k <= REDACT_ANCHOR_AHEAD). */
static inline __attribute__((always_inline)) uint64_t ahead(const struct redact_anchor_classes *c,
                                                            enum redact_class cls, int k)
{
    return c->m[cls] >> k;
}

/* The class bits of the byte k before each; before the 64 bytes, every
 * byte counts as in the class (a loose anchor costs a look, nothing more). */
static inline __attribute__((always_inline)) uint64_t behind(const struct redact_anchor_classes *c,
                                                             enum redact_class cls, int k)
{
    return c->m[cls] << k | ((1ull << k) - 1);
}

/* Where a card may start: four digits, then four more, or one space or
 * dash (or other junk) and four more. */
static inline __attribute__((always_inline)) uint64_t
card_anchors(const struct redact_anchor_classes *c)
{
    uint64_t d = c->m[RC_DIGIT];
    uint64_t four = d & d >> 1 & d >> 2 & d >> 3;
    return four & (four >> 4 | (ahead(c, RC_KEY_JUNK, 4) & four >> 5));
}

/* The byte before a separator, where the key before it may end: the last
 * two letters of a secret's name (or its last and '_', '-' or '.', which
 * the name leaves out), then up to two bytes of junk (three: looked at). */
static inline __attribute__((always_inline)) uint64_t
key_anchors(const struct redact_anchor_classes *c)
{
    uint64_t before_separator = ahead(c, RC_SEPARATOR, 1);
    if (!before_separator)
        return 0;
    const uint64_t *m = c->m;
    uint64_t junk = m[RC_KEY_JUNK], junk_before = behind(c, RC_KEY_JUNK, 1);
    uint64_t inner_before = behind(c, RC_KEY_INNER, 1);
    uint64_t end = (m[RC_END_D] & (behind(c, RC_PRE_WR, 1) | inner_before)) |
                   (m[RC_END_E] & (behind(c, RC_PRE_S, 1) | inner_before)) |
                   (m[RC_END_TNY] & (behind(c, RC_END_E, 1) | inner_before));
    uint64_t end_before = end << 1 | 1, end_2_before = end << 2 | 3;
    uint64_t key = end | (junk & (end_before | (junk_before & (end_2_before | junk << 2 | 3))));
    uint64_t url = ahead(c, RC_SLASH, 2);
    return before_separator & (key | url);
}

/* The anchors of the 64 bytes classified in `c`. */
static inline __attribute__((always_inline)) uint64_t
anchor_mask(const struct redact_anchor_set *set, const struct redact_anchor_classes *c)
{
    const uint64_t *m = c->m;
    uint64_t upper = m[RC_UPPER], a_or_e = m[RC_E_OR_A] & upper;
    uint64_t anchors = m[RC_MARKER] & set->marker;
    if (set->card)
        anchors |= card_anchors(c);
    if (set->iban)
        anchors |= upper & upper >> 1 & ahead(c, RC_DIGIT, 2) & ahead(c, RC_DIGIT, 3);
    if (set->aws)
        anchors |= a_or_e & upper >> 1 & upper >> 2 & a_or_e >> 3;
    if (set->jwt)
        anchors |= m[RC_END_E] & ahead(c, RC_END_TNY, 1) & upper >> 2;
    if (set->pem) {
        uint64_t dash = m[RC_DASH];
        anchors |= dash & dash >> 1 & dash >> 2 & dash >> 3 & dash >> 4;
    }
    if (set->bearer)
        anchors |= m[RC_B] & ahead(c, RC_E_OR_A, 1);
    if (set->keys)
        anchors |= key_anchors(c);
    return anchors;
}

#endif
