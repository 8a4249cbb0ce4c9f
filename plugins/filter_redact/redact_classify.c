/* The implementations of the redact scanner's byte classes (see
 * redact_anchor.h), each with the anchors computed from them:
 *
 * - tables: each byte's low and high nibble index a 16-byte table each; a
 *   class is a set of low nibbles times a set of high nibbles, so the AND of
 *   the two lookups has a bit for each class the byte is in: eight classes
 *   a pair of tables. AVX2 (vpshufb, 32 bytes at a time), SSSE3 (pshufb),
 *   NEON (tbl) and portable (the lookups in plain C, what any other target
 *   runs) share the tables; the last three share the code.
 * - compares: SSE2 alone (an x86-64 without SSSE3) has no byte shuffle, and
 *   compares the bytes with each class's members instead.
 *
 * Every implementation is checked against redact_class_has for every byte
 * (tests/unit/test_redact_anchor.c). */
#include "redact_anchor.h"
#include "redact_anchor_mask.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86 1
#include <immintrin.h>
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#define HAVE_NEON 1
#include <arm_neon.h>
#endif

typedef uint8_t bytes16 __attribute__((vector_size(16)));

/* The tables (high nibbles x low nibbles of each class):
 *   a: 0 digit (3 x 0-9), 1 A-O (4 x 1-f), 2 P-Z (5 x 0-a), 3 d D (4,6 x 4),
 *      4 e E (4,6 x 5), 5 = : (3 x a d), 6 blank " ' - . (2 x 0 2 7 d e),
 *      7 \ _ (5 x c f)
 *   b: 0 - (2 x d), 1 b B (4,6 x 2), 2 e a E A (4,6 x 1 5), 3 / (2 x f),
 *      4 tab (0 x 9), 5 _ (5 x f), 6 . (2 x e)
 *   c: 0 n N (4,6 x e), 1 t y T Y (5,7 x 4 9), 2 w r W R (5,7 x 2 7),
 *      3 s S (5,7 x 3)
 * [table][0] is indexed by the low nibble, [table][1] by the high one.
 * Bytes of 0x80 and up (high nibble 8-f) are in none. */
static const bytes16 tables[3][2] = {
    {{0x45, 0x07, 0x47, 0x07, 0x0f, 0x17, 0x07, 0x47, 0x07, 0x07, 0x26, 0x02, 0x82, 0x62, 0x42,
      0x82},
     {0, 0, 0x40, 0x21, 0x1a, 0x84, 0x18, 0}},
    {{0, 0x04, 0x02, 0, 0, 0x04, 0, 0, 0, 0x10, 0, 0, 0, 0x01, 0x40, 0x28},
     {0x10, 0, 0x49, 0, 0x06, 0x20, 0x06, 0}},
    {{0, 0, 0x04, 0x08, 0x02, 0, 0, 0x04, 0, 0x02, 0, 0, 0, 0, 0x01, 0},
     {0, 0, 0, 0, 0x01, 0x0e, 0x01, 0x0e}},
};

/* The class bits of a table lookup, as a 16-bit mask per class (byte i ->
 * bit i), through `bits` (the high bit of each byte, gathered). */
#define BIT16(bits, x, k) bits((bytes16)((x) << (7 - (k))))

/* Tables, 16 bytes: `lookup(table, index)` is the byte shuffle. A macro
 * rather than a function so that it expands inside each implementation's
 * target (SSSE3, NEON) with its own lookup. */
#define CLASSIFY16_TABLES(p, c, shift, lookup, bits)                                               \
    do {                                                                                           \
        bytes16 v_, lo_, hi_;                                                                      \
        memcpy(&v_, (p), 16);                                                                      \
        lo_ = v_ & 0x0f;                                                                           \
        hi_ = v_ >> 4;                                                                             \
        bytes16 a = lookup(tables[0][0], lo_) & lookup(tables[0][1], hi_);                         \
        bytes16 b = lookup(tables[1][0], lo_) & lookup(tables[1][1], hi_);                         \
        bytes16 cc = lookup(tables[2][0], lo_) & lookup(tables[2][1], hi_);                        \
        bytes16 a_pairs = a | a << 1, b_pairs = b | b << 1, c_pairs = cc | cc << 1;                \
        uint64_t *m = (c)->m;                                                                      \
        uint64_t dash = BIT16(bits, b, 0);                                                         \
        m[RC_DIGIT] |= BIT16(bits, a, 0) << (shift);                                               \
        m[RC_UPPER] |= BIT16(bits, a_pairs, 2) << (shift);                                         \
        m[RC_END_D] |= BIT16(bits, a, 3) << (shift);                                               \
        m[RC_END_E] |= BIT16(bits, a, 4) << (shift);                                               \
        m[RC_END_TNY] |= BIT16(bits, c_pairs, 1) << (shift);                                       \
        m[RC_PRE_WR] |= BIT16(bits, cc, 2) << (shift);                                             \
        m[RC_PRE_S] |= BIT16(bits, cc, 3) << (shift);                                              \
        m[RC_SEPARATOR] |= BIT16(bits, a, 5) << (shift);                                           \
        m[RC_KEY_JUNK] |= (BIT16(bits, a_pairs, 7) | BIT16(bits, b, 4)) << (shift);                \
        m[RC_KEY_INNER] |= (BIT16(bits, b_pairs, 6) | dash) << (shift);                            \
        m[RC_DASH] |= dash << (shift);                                                             \
        m[RC_B] |= BIT16(bits, b, 1) << (shift);                                                   \
        m[RC_E_OR_A] |= BIT16(bits, b, 2) << (shift);                                              \
        m[RC_SLASH] |= BIT16(bits, b, 3) << (shift);                                               \
        m[RC_MARKER] |= bits((bytes16)(v_ == (c)->marker_byte)) << (shift);                        \
    } while (0)

/* The high bit of each byte, gathered into 16 bits (byte k -> bit k), with
 * a multiply: each 0x80 lands on its own bit of the top byte. */
static inline uint64_t bits_portable(bytes16 m)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
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

/* The byte shuffle in plain C. */
static inline bytes16 lookup_portable(bytes16 table, bytes16 index)
{
    uint8_t t[16], i[16], o[16];
    memcpy(t, &table, 16);
    memcpy(i, &index, 16);
    for (int k = 0; k < 16; k++)
        o[k] = t[i[k] & 15];
    bytes16 out;
    memcpy(&out, o, 16);
    return out;
}

/* What classify and find need of the set, with the marker byte. */
struct classes_marker {
    uint64_t m[RC_COUNT];
    uint8_t marker_byte;
};

static inline __attribute__((always_inline)) void classes_out(const struct classes_marker *k,
                                                              struct redact_anchor_classes *c)
{
    memcpy(c->m, k->m, sizeof c->m);
}

static void classify_portable(const struct redact_anchor_set *set, const char *p,
                              struct redact_anchor_classes *out)
{
    struct classes_marker c = {.marker_byte = set->marker_byte};
    for (int q = 0; q < 4; q++)
        CLASSIFY16_TABLES(p + 16 * q, &c, 16 * q, lookup_portable, bits_portable);
    classes_out(&c, out);
}

static uint64_t find_portable(const struct redact_anchor_set *set, const char *p)
{
    struct redact_anchor_classes c;
    classify_portable(set, p, &c);
    return anchor_mask(set, &c);
}

#if HAVE_NEON
static inline bytes16 lookup_neon(bytes16 table, bytes16 index)
{
    return (bytes16)vqtbl1q_u8((uint8x16_t)table, (uint8x16_t)index);
}

static inline __attribute__((always_inline)) void
classify_neon(const struct redact_anchor_set *set, const char *p, struct redact_anchor_classes *out)
{
    struct classes_marker c = {.marker_byte = set->marker_byte};
    for (int q = 0; q < 4; q++)
        CLASSIFY16_TABLES(p + 16 * q, &c, 16 * q, lookup_neon, bits_portable);
    classes_out(&c, out);
}

static uint64_t find_neon(const struct redact_anchor_set *set, const char *p)
{
    struct redact_anchor_classes c;
    classify_neon(set, p, &c);
    return anchor_mask(set, &c);
}
#endif

#if HAVE_X86
static inline uint64_t bits_sse2(bytes16 m)
{
    return (uint64_t)(uint32_t)_mm_movemask_epi8((__m128i)m);
}

__attribute__((target("ssse3"))) static inline bytes16 lookup_ssse3(bytes16 table, bytes16 index)
{
    return (bytes16)_mm_shuffle_epi8((__m128i)table, (__m128i)index);
}

__attribute__((target("ssse3"), always_inline)) static inline void
classify_ssse3(const struct redact_anchor_set *set, const char *p,
               struct redact_anchor_classes *out)
{
    struct classes_marker c = {.marker_byte = set->marker_byte};
    for (int q = 0; q < 4; q++)
        CLASSIFY16_TABLES(p + 16 * q, &c, 16 * q, lookup_ssse3, bits_sse2);
    classes_out(&c, out);
}

__attribute__((target("ssse3"))) static uint64_t find_ssse3(const struct redact_anchor_set *set,
                                                            const char *p)
{
    struct redact_anchor_classes c;
    classify_ssse3(set, p, &c);
    return anchor_mask(set, &c);
}

__attribute__((target("ssse3"))) static void classify_ssse3_out(const struct redact_anchor_set *set,
                                                                const char *p,
                                                                struct redact_anchor_classes *out)
{
    classify_ssse3(set, p, out);
}

/* SSE2 alone: compares. */
static inline bytes16 eq(bytes16 v, uint8_t c)
{
    return (bytes16)(v == c);
}

/* 0xff where the byte is in lo..hi. */
static inline bytes16 in(bytes16 v, uint8_t lo, uint8_t hi)
{
    return (bytes16)((bytes16)(v - lo) <= (uint8_t)(hi - lo));
}

static inline __attribute__((always_inline)) void
classify16_sse2(const struct redact_anchor_set *set, const char *p, struct redact_anchor_classes *c,
                int shift)
{
    bytes16 v, lower;
    memcpy(&v, p, sizeof v);
    lower = v | 0x20;
    bytes16 dash = eq(v, '-'), end_e = eq(lower, 'e'), inner = eq(v, '_') | dash | eq(v, '.');
    uint64_t *m = c->m;
    m[RC_DIGIT] |= bits_sse2(in(v, '0', '9')) << shift;
    m[RC_UPPER] |= bits_sse2(in(v, 'A', 'Z')) << shift;
    m[RC_END_D] |= bits_sse2(eq(lower, 'd')) << shift;
    m[RC_END_E] |= bits_sse2(end_e) << shift;
    m[RC_END_TNY] |= bits_sse2(eq(lower, 't') | eq(lower, 'n') | eq(lower, 'y')) << shift;
    m[RC_PRE_WR] |= bits_sse2(eq(lower, 'w') | eq(lower, 'r')) << shift;
    m[RC_PRE_S] |= bits_sse2(eq(lower, 's')) << shift;
    m[RC_SEPARATOR] |= bits_sse2(eq(v, '=') | eq(v, ':')) << shift;
    m[RC_KEY_JUNK] |=
        bits_sse2(eq(v, '"') | eq(v, '\'') | eq(v, ' ') | eq(v, '\t') | eq(v, '\\') | inner)
        << shift;
    m[RC_KEY_INNER] |= bits_sse2(inner) << shift;
    m[RC_DASH] |= bits_sse2(dash) << shift;
    m[RC_B] |= bits_sse2(eq(lower, 'b')) << shift;
    m[RC_E_OR_A] |= bits_sse2(end_e | eq(lower, 'a')) << shift;
    m[RC_SLASH] |= bits_sse2(eq(v, '/')) << shift;
    m[RC_MARKER] |= bits_sse2(eq(v, set->marker_byte)) << shift;
}

static void classify_sse2(const struct redact_anchor_set *set, const char *p,
                          struct redact_anchor_classes *c)
{
    memset(c, 0, sizeof *c);
    for (int q = 0; q < 4; q++)
        classify16_sse2(set, p + 16 * q, c, 16 * q);
}

static uint64_t find_sse2(const struct redact_anchor_set *set, const char *p)
{
    struct redact_anchor_classes c;
    classify_sse2(set, p, &c);
    return anchor_mask(set, &c);
}

/* AVX2: the tables twice (one per 128-bit lane), 32 bytes at a time. */
struct classes32 {
    __m256i a, b, c, a_pairs, b_pairs, c_pairs, marker;
};

__attribute__((target("avx2"), always_inline)) static inline __m256i table256(bytes16 t)
{
    return _mm256_broadcastsi128_si256((__m128i)t);
}

__attribute__((target("avx2"), always_inline)) static inline struct classes32
classify32_avx2(const char *p, __m256i marker)
{
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i lo = _mm256_and_si256(v, nibble);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    __m256i t[3];
    for (int k = 0; k < 3; k++)
        t[k] = _mm256_and_si256(_mm256_shuffle_epi8(table256(tables[k][0]), lo),
                                _mm256_shuffle_epi8(table256(tables[k][1]), hi));
    struct classes32 c = {.a = t[0], .b = t[1], .c = t[2]};
    /* bit k of a_pairs: a's bit k or k - 1 (A-O or P-Z; the two kinds of
     * junk); bit 6 of b_pairs: _ or .; bit 1 of c_pairs: n N or t y T Y */
    c.a_pairs = _mm256_or_si256(c.a, _mm256_slli_epi16(c.a, 1));
    c.b_pairs = _mm256_or_si256(c.b, _mm256_slli_epi16(c.b, 1));
    c.c_pairs = _mm256_or_si256(c.c, _mm256_slli_epi16(c.c, 1));
    c.marker = _mm256_cmpeq_epi8(v, marker);
    return c;
}

/* Bit `k` of each byte of x, of both halves, as 64 bits (byte i -> bit i). */
#define BIT32(x, k) ((uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16((x), 7 - (k))))
#define BITS64(x, k) (BIT32(lo.x, k) | (uint64_t)BIT32(hi.x, k) << 32)

__attribute__((target("avx2"), always_inline)) static inline void
classify_avx2(const struct redact_anchor_set *set, const char *p, struct redact_anchor_classes *c)
{
    const __m256i marker = _mm256_set1_epi8((char)set->marker_byte);
    struct classes32 lo = classify32_avx2(p, marker), hi = classify32_avx2(p + 32, marker);
    c->m[RC_DIGIT] = BITS64(a, 0);
    c->m[RC_UPPER] = BITS64(a_pairs, 2);
    c->m[RC_END_D] = BITS64(a, 3);
    c->m[RC_END_E] = BITS64(a, 4);
    c->m[RC_END_TNY] = BITS64(c_pairs, 1);
    c->m[RC_PRE_WR] = BITS64(c, 2);
    c->m[RC_PRE_S] = BITS64(c, 3);
    c->m[RC_SEPARATOR] = BITS64(a, 5);
    c->m[RC_KEY_JUNK] = BITS64(a_pairs, 7) | BITS64(b, 4);
    c->m[RC_DASH] = BITS64(b, 0);
    c->m[RC_KEY_INNER] = BITS64(b_pairs, 6) | c->m[RC_DASH];
    c->m[RC_B] = BITS64(b, 1);
    c->m[RC_E_OR_A] = BITS64(b, 2);
    c->m[RC_SLASH] = BITS64(b, 3);
    c->m[RC_MARKER] = BITS64(marker, 7);
}

__attribute__((target("avx2"))) static uint64_t find_avx2(const struct redact_anchor_set *set,
                                                          const char *p)
{
    struct redact_anchor_classes c;
    classify_avx2(set, p, &c);
    return anchor_mask(set, &c);
}

__attribute__((target("avx2"))) static void classify_avx2_out(const struct redact_anchor_set *set,
                                                              const char *p,
                                                              struct redact_anchor_classes *c)
{
    classify_avx2(set, p, c);
}
#endif

bool redact_classify_built(enum redact_anchor_impl impl)
{
    switch (impl) {
    case REDACT_ANCHOR_PORTABLE:
        return true;
#if HAVE_X86
    case REDACT_ANCHOR_SSE2:
    case REDACT_ANCHOR_SSSE3:
    case REDACT_ANCHOR_AVX2:
        return true;
#endif
#if HAVE_NEON
    case REDACT_ANCHOR_NEON:
        return true;
#endif
    default:
        return false;
    }
}

redact_anchor_fn *redact_classify_find_fn(enum redact_anchor_impl impl)
{
    switch (impl) {
#if HAVE_X86
    case REDACT_ANCHOR_SSE2:
        return find_sse2;
    case REDACT_ANCHOR_SSSE3:
        return find_ssse3;
    case REDACT_ANCHOR_AVX2:
        return find_avx2;
#endif
#if HAVE_NEON
    case REDACT_ANCHOR_NEON:
        return find_neon;
#endif
    default:
        return find_portable;
    }
}

void redact_anchor_classify(enum redact_anchor_impl impl, const struct redact_anchor_set *set,
                            const char *p, struct redact_anchor_classes *classes)
{
    switch (impl) {
#if HAVE_X86
    case REDACT_ANCHOR_SSE2:
        classify_sse2(set, p, classes);
        return;
    case REDACT_ANCHOR_SSSE3:
        classify_ssse3_out(set, p, classes);
        return;
    case REDACT_ANCHOR_AVX2:
        classify_avx2_out(set, p, classes);
        return;
#endif
#if HAVE_NEON
    case REDACT_ANCHOR_NEON:
        classify_neon(set, p, classes);
        return;
#endif
    default:
        classify_portable(set, p, classes);
        return;
    }
}
