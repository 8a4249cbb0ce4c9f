/* The redact scanner's anchors, 64 bytes at a time: see redact_anchor.h.
 * Each 16 bytes are classified with the compiler's vector types (an
 * instruction or two per byte class on SSE2 or NEON), each class becomes a
 * bit per byte, and the anchors are combinations of those bits shifted by a
 * byte or three, in plain 64-bit arithmetic. */
#include "redact_anchor.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef uint8_t bytes16 __attribute__((vector_size(16)));

static inline bytes16 load(const char *p)
{
    bytes16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 0xff where the byte is `c`, else 0. */
static inline bytes16 eq(bytes16 v, uint8_t c)
{
    return (bytes16)(v == c);
}

/* 0xff where the byte is in lo..hi. */
static inline bytes16 in(bytes16 v, uint8_t lo, uint8_t hi)
{
    return (bytes16)((bytes16)(v - lo) <= (uint8_t)(hi - lo));
}

/* The high bit of each byte, gathered into 16 bits (byte k -> bit k). */
static inline uint64_t bits(bytes16 m)
{
#if defined(__SSE2__)
    __m128i x;
    memcpy(&x, &m, sizeof x);
    return (uint64_t)(uint32_t)_mm_movemask_epi8(x);
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t lo, hi;
    memcpy(&lo, &m, 8);
    memcpy(&hi, (const char *)&m + 8, 8);
    const uint64_t gather = 0x0002040810204081ull;
    lo = ((lo & 0x8080808080808080ull) * gather) >> 56;
    hi = ((hi & 0x8080808080808080ull) * gather) >> 56;
    return lo | hi << 8;
#else
    uint64_t b = 0;
    for (int k = 0; k < 16; k++)
        b |= (uint64_t)(m[k] >> 7) << k;
    return b;
#endif
}

static void classify16(const struct redact_anchor_set *set, const char *p,
                       struct redact_anchor_classes *c, int shift)
{
    bytes16 v = load(p), lower = v | 0x20;
    c->marker |= bits(eq(v, set->marker_byte)) << shift;
    c->digit |= bits(in(v, '0', '9')) << shift;
    c->upper |= bits(in(v, 'A', 'Z')) << shift;
    c->e |= bits(eq(v, 'e')) << shift;
    c->y |= bits(eq(v, 'y')) << shift;
    c->dash |= bits(eq(v, '-')) << shift;
    c->b |= bits(eq(lower, 'b')) << shift;
    c->e_or_a |= bits(eq(lower, 'e') | eq(lower, 'a')) << shift;
    c->separator |= bits(eq(v, '=') | eq(v, ':')) << shift;
}

void redact_anchor_classify(const struct redact_anchor_set *set, const char *p,
                            struct redact_anchor_classes *c)
{
    memset(c, 0, sizeof *c);
    for (int q = 0; q < 4; q++)
        classify16(set, p + 16 * q, c, 16 * q);
}

/* The class bits of the byte k after each, for the 64 bytes of `now`,
 * taking the bytes after them from `next`. */
static inline uint64_t ahead(uint64_t now, uint64_t next, int k)
{
    return now >> k | next << (64 - k);
}

uint64_t redact_anchor_mask(const struct redact_anchor_set *set,
                            const struct redact_anchor_classes *now,
                            const struct redact_anchor_classes *next)
{
    uint64_t digit_or_upper = now->digit | now->upper;
    uint64_t number = digit_or_upper & ahead(digit_or_upper, next->digit | next->upper, 1) &
                      ahead(now->digit, next->digit, 2) & ahead(now->digit, next->digit, 3);
    uint64_t aws = now->upper & ahead(now->upper, next->upper, 1) &
                   ahead(now->upper, next->upper, 2) & ahead(now->upper, next->upper, 3);
    uint64_t jwt = now->e & ahead(now->y, next->y, 1);
    uint64_t pem = now->dash & ahead(now->dash, next->dash, 1);
    uint64_t bearer = now->b & ahead(now->e_or_a, next->e_or_a, 1);
    uint64_t keys = ahead(now->separator, next->separator, 1);
    return (number & set->number) | (aws & set->aws) | (jwt & set->jwt) | (pem & set->pem) |
           (bearer & set->bearer) | (keys & set->keys) | (now->marker & set->marker);
}
