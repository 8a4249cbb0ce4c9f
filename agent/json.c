/* JSON output (see json.h): escaping with strict UTF-8 validation, numbers,
 * RFC 3339 times, and the walker that turns encoded records straight into
 * JSON without decoding them. Not a JSON parser. */
#include "json.h"

#include "timefmt.h"
#include "utf8.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEC_PER_SEC 1000000000u
#define SEC_PER_DAY 86400
/* RFC 3339 years are 0000-9999; times outside are clamped to these. */
#define TIME_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

static const char json_hex[] = "0123456789abcdef";

/* Bytes that need a look: controls, '"', '\\', DEL and every byte >= 0x80
 * (the start or middle of a UTF-8 sequence, to validate). Everything else is
 * printable ASCII and copied as it is. */

/* Escapes of the ASCII bytes that need one, written straight into room the
 * caller reserved; returns where the escape ends. */
static char *write_escape(char *d, unsigned char c)
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

/* 16 bytes at a time. On x86-64 with SSE2 (always there): a byte mask from
 * movemask. Elsewhere GCC's vector extensions (NEON on arm64), the mask read
 * back as two 64-bit halves. Chosen at compile time; -DSKIFF_JSON_PORTABLE
 * forces the second for tests on x86-64. */
#if defined(__SSE2__) && !defined(SKIFF_JSON_PORTABLE)
#include <emmintrin.h>

typedef __m128i json_block;

static inline json_block block_from_words(uint64_t lo, uint64_t hi)
{
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* Where the first byte that needs a look is, or 16 if none does. */
static unsigned block_first_special(json_block v)
{
    /* Signed: bytes from 0x80 on are negative, below 0x20 with the controls. */
    __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
    return (unsigned)__builtin_ctz((unsigned)_mm_movemask_epi8(special) | 0x10000u);
}
#else
typedef unsigned char json_block __attribute__((vector_size(16)));
typedef signed char json_sblock __attribute__((vector_size(16)));

static inline json_block block_from_words(uint64_t lo, uint64_t hi)
{
    uint64_t words[2] = {lo, hi};
    json_block v;
    memcpy(&v, words, sizeof v);
    return v;
}

static unsigned block_first_special(json_block v)
{
    json_sblock special = ((json_sblock)v < 0x20) | (v == '"') | (v == '\\') | (v == 0x7f);
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
#endif

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static inline uint32_t load32(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static json_block block_load(const unsigned char *p)
{
    json_block v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The last n < 16 bytes of a span, followed by zero bytes (controls: the
 * scan stops on them, at n). Assembled from loads that stay inside the n
 * bytes, overlapping where n is not a power of two, without a round trip
 * through memory (a store forwarding stall). */
static json_block block_load_tail(const unsigned char *p, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t lo = 0, hi = 0;
    if (n >= 8) {
        lo = load64(p);
        if (n > 8)
            hi = load64(p + n - 8) >> (8 * (16 - n));
    } else if (n >= 4) {
        lo = load32(p) | (uint64_t)load32(p + n - 4) << (8 * (n - 4));
    } else if (n > 0) {
        lo = p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) | (uint64_t)p[n - 1] << (8 * (n - 1));
    }
    return block_from_words(lo, hi);
#else
    unsigned char bytes[16] = {0};
    memcpy(bytes, p, n);
    return block_load(bytes);
#endif
}

static void block_store(char *d, json_block v)
{
    memcpy(d, &v, sizeof v);
}

/* Bytes >= 0x80 from p[*at] on, as long as they last (and *at < end):
 * valid sequences copied, each invalid one (its maximal subpart) replaced by
 * one U+FFFD and counted. A sequence may run past `end`, never past `len`. */
static char *write_non_ascii(char *d, const unsigned char *p, size_t *at, size_t end, size_t len,
                             struct json_stats *stats)
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

/* Escapes p[*at..end) into d, which has room for 6 bytes per input byte
 * plus JSON_SLACK: every block is stored whole (16 bytes) and the output
 * moves on by the bytes that needed nothing, so a clean run costs one load,
 * one compare and one store per 16 bytes. */
static char *escape_span(char *d, const unsigned char *p, size_t *at, size_t end, size_t len,
                         struct json_stats *stats)
{
    size_t i = *at;
    while (i < end) {
        /* Whole blocks that need nothing: i moves on by a constant, so the
         * next load does not wait for this block's compare (the branch is
         * predicted); moving on by the compare's result would chain them. */
        unsigned k = 16;
        while (end - i >= 16) {
            json_block v = block_load(p + i);
            block_store(d, v);
            k = block_first_special(v);
            if (k < 16)
                break;
            i += 16;
            d += 16;
        }
        if (k == 16) {
            if (i >= end)
                break;
            json_block v = block_load_tail(p + i, end - i);
            block_store(d, v);
            k = block_first_special(v);
        }
        d += k;
        i += k;
        if (i >= end)
            break;
        if (p[i] < 0x80)
            d = write_escape(d, p[i++]);
        else
            d = write_non_ascii(d, p, &i, end, len, stats);
    }
    *at = i;
    return d;
}

/* Input bytes escaped per reservation: the room for the worst case (6 output
 * bytes per input byte) is reserved once per span, not once per escape, but
 * a long string must not grow the buffer to 6 times its size. */
#define JSON_SPAN 4096
/* A block store and a UTF-8 sequence running past its span write up to 16
 * bytes beyond the worst case of the bytes they keep. */
#define JSON_SLACK 16

void json_write_string(struct buf *out, const char *s, size_t len, struct json_stats *stats)
{
    const unsigned char *p = (const unsigned char *)s;
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

static void write_int(struct buf *out, int64_t i)
{
    char digits[24];
    char *end = digits + sizeof digits;
    char *p = end;
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        *--p = '-';
    buf_append(out, p, (size_t)(end - p));
}

/* The shortest of %.15g and %.17g that reads back as the same double, with
 * ".0" added to integral values so that Elasticsearch maps the field as a
 * float from its first document on. */
static void write_float(struct buf *out, double d)
{
    if (!isfinite(d)) {
        buf_append(out, "null", 4);
        return;
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%.15g", d);
    if (strtod(text, NULL) != d)
        n = snprintf(text, sizeof text, "%.17g", d);
    buf_append(out, text, (size_t)n);
    if (!strpbrk(text, ".eE"))
        buf_append(out, ".0", 2);
}

static void write_map(struct buf *out, const struct value_map *map, struct json_stats *stats)
{
    buf_append_byte(out, '{');
    for (uint32_t i = 0; i < map->count; i++) {
        if (i)
            buf_append_byte(out, ',');
        json_write_string(out, map->entries[i].key.ptr, map->entries[i].key.len, stats);
        buf_append_byte(out, ':');
        json_write_value(out, &map->entries[i].value, stats);
    }
    buf_append_byte(out, '}');
}

static void write_array(struct buf *out, const struct value_array *array, struct json_stats *stats)
{
    buf_append_byte(out, '[');
    for (uint32_t i = 0; i < array->count; i++) {
        if (i)
            buf_append_byte(out, ',');
        json_write_value(out, &array->items[i], stats);
    }
    buf_append_byte(out, ']');
}

void json_write_value(struct buf *out, const struct value *v, struct json_stats *stats)
{
    switch (v->type) {
    case VALUE_NULL:
        buf_append(out, "null", 4);
        break;
    case VALUE_BOOL:
        buf_append_str(out, v->as.boolean ? "true" : "false");
        break;
    case VALUE_INT:
        write_int(out, v->as.integer);
        break;
    case VALUE_FLOAT:
        write_float(out, v->as.real);
        break;
    case VALUE_STRING:
        json_write_string(out, v->as.string.ptr, v->as.string.len, stats);
        break;
    case VALUE_MAP:
        write_map(out, &v->as.map, stats);
        break;
    case VALUE_ARRAY:
        write_array(out, &v->as.array, stats);
        break;
    }
}

static char *put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

static struct record_time time_clamp(struct record_time t)
{
    if (t.sec < TIME_MIN)
        return (struct record_time){TIME_MIN, 0};
    if (t.sec > TIME_MAX)
        return (struct record_time){TIME_MAX, NSEC_PER_SEC - 1};
    if (t.nsec >= NSEC_PER_SEC)
        t.nsec = NSEC_PER_SEC - 1;
    return t;
}

/* The text of the last second json_write_time wrote on this thread, up to
 * the seconds: `"YYYY-MM-DDTHH:MM:SS`. The records of a chunk are seconds
 * apart at most, so most times only need their fraction written. Per thread
 * because outputs write on their own worker threads; thread-local rather
 * than passed in so that json_write_record and its callers keep their
 * signatures, at the cost of one TLS access (local-exec in the skiff
 * binary). */
struct time_text_cache {
    int64_t sec; /* INT64_MIN: none yet (clamped times never are) */
    char text[20];
};

static _Thread_local struct time_text_cache last_time_text = {.sec = INT64_MIN};

static void render_second(int64_t sec, char *text)
{
    int64_t days = sec / SEC_PER_DAY;
    int64_t secs = sec % SEC_PER_DAY;
    if (secs < 0) {
        days--;
        secs += SEC_PER_DAY;
    }
    int64_t year;
    unsigned month, day;
    timefmt_civil_from_days(days, &year, &month, &day);
    char *p = text;
    *p++ = '"';
    p = put_digits(p, (uint64_t)year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, (uint64_t)secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, (uint64_t)secs / 60 % 60, 2);
    *p++ = ':';
    put_digits(p, (uint64_t)secs % 60, 2);
}

void json_write_time(struct buf *out, struct record_time t)
{
    t = time_clamp(t);
    struct time_text_cache *cache = &last_time_text;
    if (cache->sec != t.sec) {
        render_second(t.sec, cache->text);
        cache->sec = t.sec;
    }
    /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" quoted */
    buf_reserve(out, sizeof cache->text + 12);
    char *p = out->data + out->len;
    memcpy(p, cache->text, sizeof cache->text);
    p += sizeof cache->text;
    *p++ = '.';
    p = put_digits(p, t.nsec, 9);
    *p++ = 'Z';
    *p++ = '"';
    out->len = (size_t)(p - out->data);
}

static int write_encoded_value(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                               int depth, struct json_stats *stats);

static bool key_is(const char *key, size_t key_len, const char *name)
{
    return name && strlen(name) == key_len && memcmp(key, name, key_len) == 0;
}

/* Writes the members of the encoded map at *pos; `depth` as in codec.c. */
static int write_encoded_members(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                                 int depth, const char *skip_key, struct json_stats *stats)
{
    uint64_t count;
    if (depth > CODEC_MAX_DEPTH || codec_read_varint(data, len, pos, &count) < 0 ||
        count > (len - *pos) / 2)
        return -1;
    int written = 0;
    for (uint64_t i = 0; i < count; i++) {
        const char *key;
        size_t key_len;
        if (codec_read_string(data, len, pos, &key, &key_len) < 0)
            return -1;
        if (key_is(key, key_len, skip_key)) {
            /* Walk the value to find its end, then take the output back. */
            size_t mark = out->len;
            int rc = write_encoded_value(out, data, len, pos, depth, NULL);
            out->len = mark;
            if (rc < 0)
                return -1;
            continue;
        }
        if (written++)
            buf_append_byte(out, ',');
        json_write_string(out, key, key_len, stats);
        buf_append_byte(out, ':');
        if (write_encoded_value(out, data, len, pos, depth, stats) < 0)
            return -1;
    }
    return written;
}

static int write_encoded_array(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                               int depth, struct json_stats *stats)
{
    uint64_t count;
    if (depth > CODEC_MAX_DEPTH || codec_read_varint(data, len, pos, &count) < 0 ||
        count > len - *pos)
        return -1;
    buf_append_byte(out, '[');
    for (uint64_t i = 0; i < count; i++) {
        if (i)
            buf_append_byte(out, ',');
        if (write_encoded_value(out, data, len, pos, depth, stats) < 0)
            return -1;
    }
    buf_append_byte(out, ']');
    return 0;
}

static int write_encoded_scalar(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                                uint8_t tag, struct json_stats *stats)
{
    uint64_t u;
    const char *s;
    size_t slen;
    switch (tag) {
    case CODEC_NULL:
        buf_append(out, "null", 4);
        return 0;
    case CODEC_FALSE:
        buf_append(out, "false", 5);
        return 0;
    case CODEC_TRUE:
        buf_append(out, "true", 4);
        return 0;
    case CODEC_INT:
        if (codec_read_varint(data, len, pos, &u) < 0)
            return -1;
        write_int(out, (int64_t)((u >> 1) ^ (0 - (u & 1)))); /* zigzag */
        return 0;
    case CODEC_FLOAT: {
        if (len - *pos < 8)
            return -1;
        u = 0;
        for (int i = 7; i >= 0; i--)
            u = u << 8 | data[*pos + (size_t)i];
        *pos += 8;
        double d;
        memcpy(&d, &u, sizeof d);
        write_float(out, d);
        return 0;
    }
    case CODEC_STRING:
        if (codec_read_string(data, len, pos, &s, &slen) < 0)
            return -1;
        json_write_string(out, s, slen, stats);
        return 0;
    default:
        return -1;
    }
}

static int write_encoded_value(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                               int depth, struct json_stats *stats)
{
    if (*pos >= len)
        return -1;
    uint8_t tag = data[(*pos)++];
    if (tag == CODEC_ARRAY)
        return write_encoded_array(out, data, len, pos, depth + 1, stats);
    if (tag != CODEC_MAP)
        return write_encoded_scalar(out, data, len, pos, tag, stats);
    buf_append_byte(out, '{');
    if (write_encoded_members(out, data, len, pos, depth + 1, NULL, stats) < 0)
        return -1;
    buf_append_byte(out, '}');
    return 0;
}

int json_write_encoded_members(struct buf *out, const uint8_t *data, size_t len,
                               const char *skip_key, struct json_stats *stats)
{
    size_t pos = 0;
    int written = write_encoded_members(out, data, len, &pos, 1, skip_key, stats);
    return pos == len ? written : -1;
}

static void write_attachment(struct buf *out, const struct attachment *a, struct json_stats *stats)
{
    buf_append_byte(out, ',');
    json_write_string(out, a->key.ptr, a->key.len, stats);
    buf_append_byte(out, ':');
    buf_append(out, a->json, a->json_len); /* rendered once, when it was made */
}

int json_write_record(struct buf *out, const struct record_view *view,
                      struct attachment *const *attachments, const char *time_key,
                      struct json_stats *stats)
{
    size_t start = out->len;
    buf_append_byte(out, '{');
    json_write_string(out, time_key, strlen(time_key), stats);
    buf_append_byte(out, ':');
    json_write_time(out, view->time);

    size_t before_fields = out->len;
    buf_append_byte(out, ',');
    int written = json_write_encoded_members(out, view->fields, view->fields_len, time_key, stats);
    if (written < 0) {
        out->len = start;
        return -1;
    }
    if (written == 0)
        out->len = before_fields;

    for (uint8_t i = 0; i < view->attachment_count; i++) {
        const struct attachment *a = attachments[view->attachment_index[i]];
        if (!key_is(a->key.ptr, a->key.len, time_key))
            write_attachment(out, a, stats);
    }
    buf_append_byte(out, '}');
    return 0;
}
