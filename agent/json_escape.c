/* json_write_string (json.h): RFC 8259 escapes and strict UTF-8 checks, the
 * bytes that need neither found a block at a time by one of the
 * implementations of json_escape.h, chosen from the CPU. The rest of the JSON
 * writer is json.c. */
#include "json.h"
#include "json_escape.h"

#include "utf8.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define JSON_HAVE_SSE2 1
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define JSON_HAVE_AVX2 1
#define TARGET_AVX2 __attribute__((target("avx2")))
#endif

#define ALWAYS_INLINE inline __attribute__((always_inline))

static const char json_hex[] = "0123456789abcdef";

/* Bytes that need a look: controls, '"', '\\', DEL and every byte >= 0x80
 * (the start or middle of a UTF-8 sequence, to validate). Everything else is
 * printable ASCII and copied as it is. */

/* Escapes of the ASCII bytes that need one, written straight into room the
 * caller reserved; returns where the escape ends. */
static ALWAYS_INLINE char *write_escape(char *d, unsigned char c)
{
    d[0] = '\\';
    switch (c) {
    case '"':
    case '\\':
        d[1] = (char)c;
        return d + 2;
    case '\b':
        d[1] = 'b';
        return d + 2;
    case '\f':
        d[1] = 'f';
        return d + 2;
    case '\n':
        d[1] = 'n';
        return d + 2;
    case '\r':
        d[1] = 'r';
        return d + 2;
    case '\t':
        d[1] = 't';
        return d + 2;
    default:
        d[1] = 'u';
        d[2] = '0';
        d[3] = '0';
        d[4] = json_hex[c >> 4];
        d[5] = json_hex[c & 0xf];
        return d + 6;
    }
}

/* Bytes >= 0x80 from p[*at] on, as long as they last (and *at < end):
 * valid sequences copied, each invalid one (its maximal subpart) replaced by
 * one U+FFFD and counted. A sequence may run past `end`, never past `len`. */
static ALWAYS_INLINE char *write_non_ascii(char *d, const unsigned char *p, size_t *at, size_t end,
                                           size_t len, struct json_stats *stats)
{
    size_t i = *at;
    do {
        size_t n = len - i >= 4 ? utf8_valid_length4(p + i) : 0;
        if (n) {
            memcpy(d, p + i, 4); /* the bytes past n are written over or not kept */
            d += n;
            i += n;
            continue;
        }
        bool valid;
        n = utf8_sequence(p + i, len - i, &valid);
        if (valid) {
            memcpy(d, p + i, n);
            d += n;
        } else {
            memcpy(d, "\xef\xbf\xbd", 3);
            d += 3;
            if (stats)
                stats->invalid_utf8++;
        }
        i += n;
    } while (i < end && p[i] >= 0x80);
    *at = i;
    return d;
}

/* The byte at p[*at] needs a look: its escape, or the UTF-8 from it on. */
static ALWAYS_INLINE char *write_special(char *d, const unsigned char *p, size_t *at, size_t end,
                                         size_t len, struct json_stats *stats)
{
    if (p[*at] < 0x80)
        return write_escape(d, p[(*at)++]);
    return write_non_ascii(d, p, at, end, len, stats);
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static ALWAYS_INLINE uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static ALWAYS_INLINE uint32_t load32(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* The last n < 16 bytes of a span as two little-endian words, followed by
 * zero bytes (controls: the scan stops on them, at n). Assembled from loads
 * that stay inside the n bytes, overlapping where n is not a power of two,
 * without a round trip through memory (a store forwarding stall). */
static ALWAYS_INLINE void tail_words(const unsigned char *p, size_t n, uint64_t *lo, uint64_t *hi)
{
    *lo = 0;
    *hi = 0;
    if (n >= 8) {
        *lo = load64(p);
        if (n > 8)
            *hi = load64(p + n - 8) >> (8 * (16 - n));
    } else if (n >= 4) {
        *lo = load32(p) | (uint64_t)load32(p + n - 4) << (8 * (n - 4));
    } else if (n > 0) {
        *lo = p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
    }
}
#endif

/* The portable scan: GCC's vector extensions, the mask read back as two
 * 64-bit halves. */
typedef unsigned char block16 __attribute__((vector_size(16)));
typedef signed char sblock16 __attribute__((vector_size(16)));

/* Where the first byte of v that needs a look is, or 16 if none does. */
static ALWAYS_INLINE unsigned first_special_portable(block16 v)
{
    sblock16 special = ((sblock16)v < 0x20) | (v == '"') | (v == '\\') | (v == 0x7f);
    uint64_t halves[2];
    memcpy(halves, &special, sizeof halves);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (halves[0])
        return (unsigned)__builtin_ctzll(halves[0]) / 8;
    return halves[1] ? 8 + (unsigned)__builtin_ctzll(halves[1]) / 8 : 16;
#else
    if (halves[0])
        return (unsigned)__builtin_clzll(halves[0]) / 8;
    return halves[1] ? 8 + (unsigned)__builtin_clzll(halves[1]) / 8 : 16;
#endif
}

static ALWAYS_INLINE block16 tail_portable(const unsigned char *p, size_t n)
{
    block16 v;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t words[2];
    tail_words(p, n, &words[0], &words[1]);
    memcpy(&v, words, sizeof v);
#else
    unsigned char bytes[16] = {0};
    memcpy(bytes, p, n);
    memcpy(&v, bytes, sizeof v);
#endif
    return v;
}

/* Copies the longest prefix of p[0..n) that needs nothing to d and returns
 * its length. Every block is stored whole (up to 16 bytes past the prefix,
 * into room the caller reserved). Clean blocks move on by a constant, so the
 * next load does not wait for this block's compare (the branch is
 * predicted); moving on by the compare's result would chain them. */
static ALWAYS_INLINE size_t clean_run_portable(char *d, const unsigned char *p, size_t n)
{
    size_t i = 0;
    block16 v;
    for (; n - i >= 16; i += 16) {
        memcpy(&v, p + i, sizeof v);
        memcpy(d + i, &v, sizeof v);
        unsigned k = first_special_portable(v);
        if (k < 16)
            return i + k;
    }
    if (i == n)
        return n;
    v = tail_portable(p + i, n - i);
    memcpy(d + i, &v, sizeof v);
    return i + first_special_portable(v);
}

#ifdef JSON_HAVE_SSE2
/* SSE2: a byte mask from movemask. Signed compares: bytes from 0x80 on are
 * negative, below 0x20 with the controls. */
static ALWAYS_INLINE unsigned special_mask_sse2(__m128i v)
{
    __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
    return (unsigned)_mm_movemask_epi8(special);
}

static ALWAYS_INLINE unsigned first_special_sse2(__m128i v)
{
    return (unsigned)__builtin_ctz(special_mask_sse2(v) | 0x10000u);
}

static ALWAYS_INLINE __m128i tail_sse2(const unsigned char *p, size_t n)
{
    uint64_t lo, hi;
    tail_words(p, n, &lo, &hi);
    /* from registers: _mm_set_epi64x went through the stack here */
    return _mm_unpacklo_epi64(_mm_cvtsi64_si128((long long)lo), _mm_cvtsi64_si128((long long)hi));
}

/* As clean_run_portable (the SSE2 and AVX2 scans' tails). */
static ALWAYS_INLINE size_t clean_run_sse2(char *d, const unsigned char *p, size_t n)
{
    size_t i = 0;
    __m128i v;
    for (; n - i >= 16; i += 16) {
        v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        _mm_storeu_si128((__m128i *)(void *)(d + i), v);
        unsigned k = first_special_sse2(v);
        if (k < 16)
            return i + k;
    }
    if (i == n)
        return n;
    v = tail_sse2(p + i, n - i);
    _mm_storeu_si128((__m128i *)(void *)(d + i), v);
    return i + first_special_sse2(v);
}

/* One block of an implementation: loads the block at p, stores it whole at
 * d and returns its mask of the bytes that need a look (bit k: p[k]). */
typedef unsigned store_block_fn(char *d, const unsigned char *p);

static ALWAYS_INLINE unsigned store_block_sse2(char *d, const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    _mm_storeu_si128((__m128i *)(void *)d, v);
    return special_mask_sse2(v);
}

#ifdef JSON_HAVE_AVX2
TARGET_AVX2 static ALWAYS_INLINE unsigned store_block_avx2(char *d, const unsigned char *p)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    _mm256_storeu_si256((__m256i *)(void *)d, v);
    __m256i special =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v),
                                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8('"'))),
                        _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')),
                                        _mm256_cmpeq_epi8(v, _mm256_set1_epi8(0x7f))));
    return (unsigned)_mm256_movemask_epi8(special);
}
#endif

/* Escapes p[*at..end) a block of `width` bytes at a time while that many
 * are left (store_block inlined: called through a constant). A clean block
 * costs one load, one compare and one store. In a block with bytes that
 * need a look, the ASCII ones are escaped from its mask, without a scan
 * each: the bytes before one are in place already, its escape is written
 * over the copy, and the rest of the block is stored again after the escape
 * (its mask unused). After the block's last escape the next block starts at
 * a constant offset, so its load does not wait for this block's mask. A
 * byte >= 0x80 is left to write_non_ascii (its sequence may run into the
 * next blocks), and the scan goes on from where that stops.
 *
 * Room: every store through d stays inside the 6 * (end - i0) bytes
 * reserved for the span p[i0..end), starting at d0. Each byte kept so far
 * gave at most 6 output bytes (an escape 2 or 6, a valid sequence its own
 * length, a replaced one 3 for 1 to 4 bytes), so d <= d0 + 6 * (i - i0);
 * a block is stored only while end - i >= width, so d + width <= d0 +
 * 6 * (i - i0) + 6 * (end - i). The loads stay inside the span too. The
 * last bytes (fewer than width) are the tail scan's, with JSON_SLACK. */
static ALWAYS_INLINE char *escape_blocks(char *d, const unsigned char *p, size_t *at, size_t width,
                                         store_block_fn *store_block, size_t end, size_t len,
                                         struct json_stats *stats)
{
    size_t i = *at;
    while (i < end && end - i >= width) {
        unsigned mask = store_block(d, p + i);
        if (!mask) {
            d += width;
            i += width;
            continue;
        }
        size_t block = i;
        for (;;) {
            size_t k = block + (unsigned)__builtin_ctz(mask);
            d += k - i;
            i = k;
            if (p[i] >= 0x80) {
                d = write_non_ascii(d, p, &i, end, len, stats);
                break;
            }
            d = write_escape(d, p[i++]);
            mask &= mask - 1;
            if (end - i < width)
                break;
            store_block(d, p + i);
            if (!mask) {
                d += block + width - i;
                i = block + width;
                break;
            }
        }
    }
    *at = i;
    return d;
}
#endif

/* Escapes p[*at..end) into d, which has room for 6 bytes per input byte
 * plus JSON_SLACK. One function per implementation, each with its scans
 * inlined. The portable one scans a clean run per byte that needs a look:
 * escape_blocks with a mask gathered from the vector compare (a multiply per
 * half) was no faster on x86-64, and it is not measured on arm64. */
typedef char *escape_span_fn(char *d, const unsigned char *p, size_t *at, size_t end, size_t len,
                             struct json_stats *stats);

static char *escape_span_portable(char *d, const unsigned char *p, size_t *at, size_t end,
                                  size_t len, struct json_stats *stats)
{
    size_t i = *at; /* not *at: the stores through d could change it */
    while (i < end) {
        size_t k = clean_run_portable(d, p + i, end - i);
        d += k;
        i += k;
        if (i < end)
            d = write_special(d, p, &i, end, len, stats);
    }
    *at = i;
    return d;
}

#ifdef JSON_HAVE_SSE2
/* Blocks of 16, then the tail. Inlined into the AVX2 scan for what its
 * 32-byte blocks leave too (compiled there with VEX encodings). */
static ALWAYS_INLINE char *escape_rest_sse2(char *d, const unsigned char *p, size_t *at, size_t end,
                                            size_t len, struct json_stats *stats)
{
    size_t i = *at;
    d = escape_blocks(d, p, &i, 16, store_block_sse2, end, len, stats);
    while (i < end) {
        size_t k = clean_run_sse2(d, p + i, end - i);
        d += k;
        i += k;
        if (i < end)
            d = write_special(d, p, &i, end, len, stats);
    }
    *at = i;
    return d;
}

static char *escape_span_sse2(char *d, const unsigned char *p, size_t *at, size_t end, size_t len,
                              struct json_stats *stats)
{
    size_t i = *at; /* not *at: the stores through d could change it */
    d = escape_rest_sse2(d, p, &i, end, len, stats);
    *at = i;
    return d;
}
#endif

#ifdef JSON_HAVE_AVX2
TARGET_AVX2 static char *escape_span_avx2(char *d, const unsigned char *p, size_t *at, size_t end,
                                          size_t len, struct json_stats *stats)
{
    size_t i = *at; /* not *at: the stores through d could change it */
    d = escape_blocks(d, p, &i, 32, store_block_avx2, end, len, stats);
    d = escape_rest_sse2(d, p, &i, end, len, stats);
    *at = i;
    return d;
}
#endif

static escape_span_fn *const impl_span[JSON_ESCAPE_IMPL_COUNT] = {
    [JSON_ESCAPE_PORTABLE] = escape_span_portable,
#ifdef JSON_HAVE_SSE2
    [JSON_ESCAPE_SSE2] = escape_span_sse2,
#endif
#ifdef JSON_HAVE_AVX2
    [JSON_ESCAPE_AVX2] = escape_span_avx2,
#endif
};

static const char *const impl_names[JSON_ESCAPE_IMPL_COUNT] = {
    [JSON_ESCAPE_PORTABLE] = "portable",
    [JSON_ESCAPE_SSE2] = "sse2",
    [JSON_ESCAPE_AVX2] = "avx2",
};

const char *json_escape_impl_name(enum json_escape_impl impl)
{
    return impl < JSON_ESCAPE_IMPL_COUNT ? impl_names[impl] : "?";
}

bool json_escape_impl_available(enum json_escape_impl impl)
{
    if (impl >= JSON_ESCAPE_IMPL_COUNT || !impl_span[impl])
        return false;
#ifdef JSON_HAVE_AVX2
    if (impl == JSON_ESCAPE_AVX2)
        return __builtin_cpu_supports("avx2");
#endif
    return true;
}

/* The implementation in use; 0 (portable) until chosen, which the first
 * json_write_string does (-1: not chosen yet). Atomic because outputs write
 * on their own threads: they may choose at once, and choose the same. */
static _Atomic int current_impl = -1;

static enum json_escape_impl impl_best(void)
{
    static const enum json_escape_impl preferred[] = {JSON_ESCAPE_AVX2, JSON_ESCAPE_SSE2};
    for (size_t i = 0; i < sizeof preferred / sizeof preferred[0]; i++)
        if (json_escape_impl_available(preferred[i]))
            return preferred[i];
    return JSON_ESCAPE_PORTABLE;
}

int json_escape_impl_force(enum json_escape_impl impl)
{
    if (!json_escape_impl_available(impl))
        return -1;
    atomic_store_explicit(&current_impl, (int)impl, memory_order_relaxed);
    return 0;
}

enum json_escape_impl json_escape_impl_current(void)
{
    int impl = atomic_load_explicit(&current_impl, memory_order_relaxed);
    if (impl < 0) {
        impl = (int)impl_best();
        atomic_store_explicit(&current_impl, impl, memory_order_relaxed);
    }
    return (enum json_escape_impl)impl;
}

/* Input bytes escaped per reservation: the room for the worst case (6 output
 * bytes per input byte) is reserved once per span, not once per escape, but
 * a long string must not grow the buffer to 6 times its size. */
#define JSON_SPAN 4096
/* A block store and a UTF-8 sequence running past its span write up to 16
 * bytes beyond the worst case of the bytes they keep (32-byte stores are only
 * made of 32 bytes of the span). */
#define JSON_SLACK 16

/* Keys and short values, fewer than 32 bytes, that need no escape: checked
 * and stored in one or two blocks, without the loop or a call. Returns
 * false, having written nothing, when a byte needs a look. */
#define JSON_SHORT 32

#ifdef JSON_HAVE_SSE2
/* The string quoted, after the byte `before` and followed by `after` (0:
 * none), for an object's keys: ,"key": */
static ALWAYS_INLINE bool write_clean_short(struct buf *out, const unsigned char *p, size_t len,
                                            char before, char after)
{
    __m128i lo, hi = _mm_setzero_si128();
    if (len <= 16) {
        lo = tail_sse2(p, len);
    } else {
        lo = _mm_loadu_si128((const __m128i *)(const void *)p);
        hi = tail_sse2(p + 16, len - 16);
    }
    /* the zero bytes after the string count as special: only its own matter */
    unsigned mask = special_mask_sse2(lo) | special_mask_sse2(hi) << 16;
    if (mask & ((1u << len) - 1))
        return false;
    /* as much as json_write_string reserves, so that the buffer grows alike */
    buf_reserve(out, 6 * len + JSON_SLACK + 4);
    char *d = out->data + out->len;
    if (before)
        *d++ = before;
    d[0] = '"';
    _mm_storeu_si128((__m128i *)(void *)(d + 1), lo);
    if (len > 16)
        _mm_storeu_si128((__m128i *)(void *)(d + 17), hi);
    d[1 + len] = '"';
    d += len + 2;
    if (after)
        *d++ = after;
    out->len = (size_t)(d - out->data);
    return true;
}

/* SSE2 and AVX2 (which scans fewer than 32 bytes with SSE2) are in use: not
 * a forced portable scan, nor one not chosen yet (-1). */
static ALWAYS_INLINE bool short_path_on(size_t len)
{
    return len < JSON_SHORT &&
           atomic_load_explicit(&current_impl, memory_order_relaxed) > JSON_ESCAPE_PORTABLE;
}
#endif

/* Out of line: json_write_string's short path saves no registers. */
__attribute__((noinline)) static void write_string_spans(struct buf *out, const unsigned char *p,
                                                         size_t len, struct json_stats *stats)
{
    escape_span_fn *escape_span = impl_span[json_escape_impl_current()];
    size_t i = 0;
    bool first = true;
    do {
        size_t end = len - i > JSON_SPAN ? i + JSON_SPAN : len;
        /* + 2 for the quotes */
        buf_reserve(out, 6 * (end - i) + JSON_SLACK + 2);
        char *d = out->data + out->len;
        if (first)
            *d++ = '"';
        first = false;
        d = escape_span(d, p, &i, end, len, stats);
        out->len = (size_t)(d - out->data);
    } while (i < len);
    out->data[out->len++] = '"';
}

void json_write_string(struct buf *out, const char *s, size_t len, struct json_stats *stats)
{
    const unsigned char *p = (const unsigned char *)s;
#ifdef JSON_HAVE_SSE2
    if (short_path_on(len) && write_clean_short(out, p, len, 0, 0))
        return;
#endif
    write_string_spans(out, p, len, stats);
}

void json_write_key(struct buf *out, const char *key, size_t len, bool comma,
                    struct json_stats *stats)
{
    const unsigned char *p = (const unsigned char *)key;
#ifdef JSON_HAVE_SSE2
    if (short_path_on(len) && write_clean_short(out, p, len, comma ? ',' : 0, ':'))
        return;
#endif
    if (comma)
        buf_append_byte(out, ',');
    write_string_spans(out, p, len, stats);
    buf_append_byte(out, ':');
}
