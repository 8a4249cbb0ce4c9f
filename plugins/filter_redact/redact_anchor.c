/* The redact scanner's anchors, 64 bytes at a time: see redact_anchor.h.
 * The bytes are classified (a bit per byte for each class) by one of three
 * implementations, and the anchors are combinations of those bits shifted
 * by a few bytes, in plain 64-bit arithmetic. */
#include "redact_anchor.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__SSE2__)
#define HAVE_SSE2 1
#include <emmintrin.h>
#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_AVX2 1
#include <immintrin.h>
#endif
#endif

bool redact_class_has(const struct redact_anchor_set *set, enum redact_class cls, unsigned char c)
{
    unsigned char lower = (unsigned char)(c | 0x20);
    bool letter = lower >= 'a' && lower <= 'z';
    switch (cls) {
    case RC_DIGIT:
        return c >= '0' && c <= '9';
    case RC_UPPER:
        return c >= 'A' && c <= 'Z';
    case RC_END_D:
        return lower == 'd';
    case RC_END_E:
        return lower == 'e';
    case RC_END_TNY:
        return letter && strchr("tny", lower) != NULL;
    case RC_PRE_WR:
        return lower == 'w' || lower == 'r';
    case RC_PRE_S:
        return lower == 's';
    case RC_SEPARATOR:
        return c == '=' || c == ':';
    case RC_KEY_JUNK:
        return c && strchr("\"' \t\\_-.", c) != NULL;
    case RC_KEY_INNER:
        return c == '_' || c == '-' || c == '.';
    case RC_DASH:
        return c == '-';
    case RC_B:
        return lower == 'b';
    case RC_E_OR_A:
        return lower == 'e' || lower == 'a';
    case RC_SLASH:
        return c == '/';
    case RC_MARKER:
        return c == set->marker_byte;
    default:
        return false;
    }
}

/* SSE2 and portable: the compiler's 16-byte vectors (SSE2 on x86, NEON on
 * arm64, scalar code elsewhere), one compare or two per class. */

typedef uint8_t bytes16 __attribute__((vector_size(16)));

static inline bytes16 eq(bytes16 v, uint8_t c)
{
    return (bytes16)(v == c);
}

/* 0xff where the byte is in lo..hi. */
static inline bytes16 in(bytes16 v, uint8_t lo, uint8_t hi)
{
    return (bytes16)((bytes16)(v - lo) <= (uint8_t)(hi - lo));
}

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

#if HAVE_SSE2
static inline uint64_t bits_sse2(bytes16 m)
{
    __m128i x;
    memcpy(&x, &m, sizeof x);
    return (uint64_t)(uint32_t)_mm_movemask_epi8(x);
}
#endif

static inline __attribute__((always_inline)) void classify16(const struct redact_anchor_set *set,
                                                             const char *p,
                                                             struct redact_anchor_classes *c,
                                                             int shift, uint64_t (*bits)(bytes16))
{
    bytes16 v, lower;
    memcpy(&v, p, sizeof v);
    lower = v | 0x20;
    bytes16 dash = eq(v, '-'), end_e = eq(lower, 'e');
    uint64_t *m = c->m;
    m[RC_DIGIT] |= bits(in(v, '0', '9')) << shift;
    m[RC_UPPER] |= bits(in(v, 'A', 'Z')) << shift;
    m[RC_END_D] |= bits(eq(lower, 'd')) << shift;
    m[RC_END_E] |= bits(end_e) << shift;
    m[RC_END_TNY] |= bits(eq(lower, 't') | eq(lower, 'n') | eq(lower, 'y')) << shift;
    m[RC_PRE_WR] |= bits(eq(lower, 'w') | eq(lower, 'r')) << shift;
    m[RC_PRE_S] |= bits(eq(lower, 's')) << shift;
    m[RC_SEPARATOR] |= bits(eq(v, '=') | eq(v, ':')) << shift;
    m[RC_KEY_JUNK] |= bits(eq(v, '"') | eq(v, '\'') | eq(v, ' ') | eq(v, '\t') | eq(v, '\\') |
                           eq(v, '_') | dash | eq(v, '.'))
                      << shift;
    m[RC_KEY_INNER] |= bits(eq(v, '_') | dash | eq(v, '.')) << shift;
    m[RC_DASH] |= bits(dash) << shift;
    m[RC_B] |= bits(eq(lower, 'b')) << shift;
    m[RC_E_OR_A] |= bits(end_e | eq(lower, 'a')) << shift;
    m[RC_SLASH] |= bits(eq(v, '/')) << shift;
    m[RC_MARKER] |= bits(eq(v, set->marker_byte)) << shift;
}

static inline __attribute__((always_inline)) void
classify_vector(const struct redact_anchor_set *set, const char *p, struct redact_anchor_classes *c,
                uint64_t (*bits)(bytes16))
{
    memset(c, 0, sizeof *c);
    for (int q = 0; q < 4; q++)
        classify16(set, p + 16 * q, c, 16 * q, bits);
}

#if HAVE_AVX2
/* AVX2: each byte's low and high nibble index a table each (vpshufb); a
 * class is a set of low nibbles times a set of high nibbles, so the AND of
 * the two lookups has a bit for each class the byte is in: up to eight
 * classes a pair of tables, for 32 bytes in three instructions. Bytes of
 * 0x80 and up are in none. The classes (high nibbles x low nibbles):
 *   a: 0 digit (3 x 0-9), 1 A-O (4 x 1-f), 2 P-Z (5 x 0-a), 3 d D (4,6 x 4),
 *      4 e E (4,6 x 5), 5 = : (3 x a d), 6 blank " ' - . (2 x 0 2 7 d e),
 *      7 \ _ (5 x c f)
 *   b: 0 - (2 x d), 1 b B (4,6 x 2), 2 e a E A (4,6 x 1 5), 3 / (2 x f),
 *      4 tab (0 x 9), 5 _ (5 x f), 6 . (2 x e)
 *   c: 0 n N (4,6 x e), 1 t y T Y (5,7 x 4 9), 2 w r W R (5,7 x 2 7),
 *      3 s S (5,7 x 3) */
#define NIBBLES(...) _mm256_setr_epi8(__VA_ARGS__, __VA_ARGS__)

/* Bit `k` of each byte, gathered (byte i -> bit i). */
#define BIT(x, k) ((uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16((x), 7 - (k))))

/* The class bytes of p[0..32) (see the tables above): a, b, c, and the
 * bytes equal to the marker's. */
struct classes32 {
    __m256i a, b, c, a_pairs, b_pairs, c_pairs, marker;
};

__attribute__((target("avx2"), always_inline)) static inline struct classes32
classify32_avx2(const char *p, __m256i marker)
{
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const __m256i lo_a = NIBBLES(0x45, 0x07, 0x47, 0x07, 0x0f, 0x17, 0x07, 0x47, 0x07, 0x07, 0x26,
                                 0x02, (char)0x82, 0x62, 0x42, (char)0x82);
    const __m256i hi_a =
        NIBBLES(0, 0, 0x40, 0x21, 0x1a, (char)0x84, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i lo_b =
        NIBBLES(0, 0x04, 0x02, 0, 0, 0x04, 0, 0, 0, 0x10, 0, 0, 0, 0x01, 0x40, 0x28);
    const __m256i hi_b = NIBBLES(0x10, 0, 0x49, 0, 0x06, 0x20, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i lo_c = NIBBLES(0, 0, 0x04, 0x08, 0x02, 0, 0, 0x04, 0, 0x02, 0, 0, 0, 0, 0x01, 0);
    const __m256i hi_c = NIBBLES(0, 0, 0, 0, 0x01, 0x0e, 0x01, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0);
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i lo = _mm256_and_si256(v, nibble);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    struct classes32 k;
    k.a = _mm256_and_si256(_mm256_shuffle_epi8(lo_a, lo), _mm256_shuffle_epi8(hi_a, hi));
    k.b = _mm256_and_si256(_mm256_shuffle_epi8(lo_b, lo), _mm256_shuffle_epi8(hi_b, hi));
    k.c = _mm256_and_si256(_mm256_shuffle_epi8(lo_c, lo), _mm256_shuffle_epi8(hi_c, hi));
    /* bit k of a_pairs: a's bit k or k - 1 (A-O or P-Z; the two kinds of
     * junk); bit 6 of b_pairs: _ or .; bit 1 of c_pairs: n N or t y T Y */
    k.a_pairs = _mm256_or_si256(k.a, _mm256_slli_epi16(k.a, 1));
    k.b_pairs = _mm256_or_si256(k.b, _mm256_slli_epi16(k.b, 1));
    k.c_pairs = _mm256_or_si256(k.c, _mm256_slli_epi16(k.c, 1));
    k.marker = _mm256_cmpeq_epi8(v, marker);
    return k;
}

/* Bit `k` of vector `x` of both halves, as 64 bits. */
#define BITS64(x, k) (BIT(lo.x, k) | (uint64_t)BIT(hi.x, k) << 32)

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
#endif

/* The class bits of the byte k after each (k <= REDACT_ANCHOR_AHEAD). */
static inline uint64_t ahead(const struct redact_anchor_classes *c, enum redact_class cls, int k)
{
    return c->m[cls] >> k;
}

/* The class bits of the byte k before each; before the 64 bytes, every
 * byte counts as in the class (a loose anchor costs a look, nothing more). */
static inline uint64_t behind(const struct redact_anchor_classes *c, enum redact_class cls, int k)
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

static uint64_t find_portable(const struct redact_anchor_set *set, const char *p)
{
    struct redact_anchor_classes c;
    classify_vector(set, p, &c, bits_portable);
    return anchor_mask(set, &c);
}

#if HAVE_SSE2
static uint64_t find_sse2(const struct redact_anchor_set *set, const char *p)
{
    struct redact_anchor_classes c;
    classify_vector(set, p, &c, bits_sse2);
    return anchor_mask(set, &c);
}
#endif

#if HAVE_AVX2
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

void redact_anchor_classify(enum redact_anchor_impl impl, const struct redact_anchor_set *set,
                            const char *p, struct redact_anchor_classes *classes)
{
    switch (impl) {
#if HAVE_AVX2
    case REDACT_ANCHOR_AVX2:
        classify_avx2_out(set, p, classes);
        return;
#endif
#if HAVE_SSE2
    case REDACT_ANCHOR_SSE2:
        classify_vector(set, p, classes, bits_sse2);
        return;
#endif
    default:
        classify_vector(set, p, classes, bits_portable);
        return;
    }
}

static const char *const impl_names[] = {
    [REDACT_ANCHOR_PORTABLE] = "portable",
    [REDACT_ANCHOR_SSE2] = "sse2",
    [REDACT_ANCHOR_AVX2] = "avx2",
};

static redact_anchor_fn *const impl_fns[] = {
    [REDACT_ANCHOR_PORTABLE] = find_portable,
#if HAVE_SSE2
    [REDACT_ANCHOR_SSE2] = find_sse2,
#endif
#if HAVE_AVX2
    [REDACT_ANCHOR_AVX2] = find_avx2,
#endif
};

const char *redact_anchor_impl_name(enum redact_anchor_impl impl)
{
    return impl < REDACT_ANCHOR_IMPL_COUNT ? impl_names[impl] : "?";
}

bool redact_anchor_impl_available(enum redact_anchor_impl impl)
{
    if (impl >= REDACT_ANCHOR_IMPL_COUNT || !impl_fns[impl])
        return false;
#if HAVE_AVX2
    if (impl == REDACT_ANCHOR_AVX2)
        return __builtin_cpu_supports("avx2");
#endif
    return true;
}

enum redact_anchor_impl redact_anchor_impl_best(void)
{
    if (redact_anchor_impl_available(REDACT_ANCHOR_AVX2))
        return REDACT_ANCHOR_AVX2;
    if (redact_anchor_impl_available(REDACT_ANCHOR_SSE2))
        return REDACT_ANCHOR_SSE2;
    return REDACT_ANCHOR_PORTABLE;
}

/* -1: not chosen yet (the best, on first use). Set on the pipeline thread
 * when filters start, or by a test before. */
static int current_impl = -1;

int redact_anchor_impl_force(enum redact_anchor_impl impl)
{
    if (!redact_anchor_impl_available(impl))
        return -1;
    current_impl = (int)impl;
    return 0;
}

enum redact_anchor_impl redact_anchor_impl_current(void)
{
    if (current_impl < 0)
        current_impl = (int)redact_anchor_impl_best();
    return (enum redact_anchor_impl)current_impl;
}

void redact_anchor_set_impl(struct redact_anchor_set *set)
{
    set->find = impl_fns[redact_anchor_impl_current()];
}
