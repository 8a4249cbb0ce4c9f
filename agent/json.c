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

/* Bytes copied as they are: printable ASCII except '"' and '\\'. */
static const bool json_plain[256] = {
    [0x20 ... 0x21] = true,
    [0x23 ... 0x5b] = true,
    [0x5d ... 0x7e] = true,
};

static const char json_hex[] = "0123456789abcdef";

/* Written in place: the escape built on the stack and copied with
 * buf_append cost a store-forwarding stall (bytes stored, two read back as
 * one load) on every quote of a log line. */
static void write_escape(struct buf *out, unsigned char c)
{
    buf_reserve(out, 6);
    char *d = out->data + out->len;
    d[0] = '\\';
    switch (c) {
    case '"':
    case '\\':
        d[1] = (char)c;
        break;
    case '\b':
        d[1] = 'b';
        break;
    case '\f':
        d[1] = 'f';
        break;
    case '\n':
        d[1] = 'n';
        break;
    case '\r':
        d[1] = 'r';
        break;
    case '\t':
        d[1] = 't';
        break;
    default:
        d[1] = 'u';
        d[2] = '0';
        d[3] = '0';
        d[4] = json_hex[c >> 4];
        d[5] = json_hex[c & 0xf];
        out->len += 6;
        return;
    }
    out->len += 2;
}

/* Top bit set in each byte of `w` that equals `c` (and possibly in bytes
 * after one that does: a false alarm only sends the caller the slow way). */
static uint64_t bytes_equal(uint64_t w, unsigned char c)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t x = w ^ (ones * c);
    return (x - ones) & ~x;
}

/* True when none of the 8 bytes needs a look: no control character, no '"',
 * '\\' or DEL, no byte >= 0x80 (json_plain's bytes only). */
static bool json_word_plain(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, p, sizeof w);
    uint64_t special = ((w - ones * 0x20) & ~w) | bytes_equal(w, '"') | bytes_equal(w, '\\') |
                       bytes_equal(w, 0x7f) | w;
    return (special & highs) == 0;
}

/* 16 bytes, with GCC's vector extensions: SSE2 on x86-64, NEON on arm64. */
typedef unsigned char json_bytes16 __attribute__((vector_size(16)));
typedef signed char json_sbytes16 __attribute__((vector_size(16)));

/* Where the first of the 16 bytes at `p` that needs a look is (a byte not in
 * json_plain), or 16 if there is none. */
static unsigned json_block_first_special(const unsigned char *p)
{
    json_bytes16 v;
    memcpy(&v, p, 16);
    /* Signed, bytes from 0x80 on are negative: below 0x20 with the controls. */
    json_sbytes16 special = ((json_sbytes16)v < 0x20) | (v == '"') | (v == '\\') | (v == 0x7f);
    uint64_t halves[2];
    memcpy(halves, &special, 16);
    if ((halves[0] | halves[1]) == 0)
        return 16;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (halves[0])
        return (unsigned)__builtin_ctzll(halves[0]) / 8;
    return 8 + (unsigned)__builtin_ctzll(halves[1]) / 8;
#else
    unsigned k = 0;
    while (json_plain[p[k]])
        k++;
    return k;
#endif
}

/* Copies the plain ASCII bytes at the start of `s` to `to` (which has room
 * for `len`), 16 at a time, and returns how many: all of them, or a
 * multiple of 16 before the first block that holds a byte to look at. Most
 * log lines are plain ASCII, so most strings are written here, scanned and
 * copied in one go. */
static size_t copy_plain_blocks(char *to, const unsigned char *s, size_t len)
{
    size_t i = 0;
    for (; i + 16 <= len && json_block_first_special(s + i) == 16; i += 16)
        memcpy(to + i, s + i, 16);
    /* The tail, shorter than a block: the last 16 bytes, overlapping. */
    if (i < len && i + 16 > len && len >= 16 && json_block_first_special(s + len - 16) == 16) {
        memcpy(to + len - 16, s + len - 16, 16);
        i = len;
    }
    return i;
}

/* Runs of bytes that need no escaping (plain ASCII and valid UTF-8) are
 * appended with one copy each. Plain ASCII is copied or skipped 16 bytes at
 * a time, straight to the next byte that needs a look (a quote in a log
 * line costs one look, not a slow walk around it); the last few bytes go 8
 * and 1 at a time. */
void json_write_string(struct buf *out, const char *s, size_t len, struct json_stats *stats)
{
    const unsigned char *p = (const unsigned char *)s;
    buf_reserve(out, len + 2);
    out->data[out->len++] = '"';
    size_t i = copy_plain_blocks(out->data + out->len, p, len);
    out->len += i;
    size_t run = i;
    while (i < len) {
        if (i + 16 <= len) {
            unsigned k = json_block_first_special(p + i);
            i += k;
            if (k == 16)
                continue;
        } else if (i + 8 <= len && json_word_plain(p + i)) {
            i += 8;
            continue;
        } else if (json_plain[p[i]]) {
            i++;
            continue;
        }
        size_t n = 1;
        bool valid = false;
        if (p[i] >= 0x80) {
            n = utf8_sequence(p + i, len - i, &valid);
            if (valid) {
                i += n;
                continue;
            }
        }
        buf_append(out, s + run, i - run);
        if (p[i] < 0x80) {
            write_escape(out, p[i]);
        } else {
            buf_append(out, "\xef\xbf\xbd", 3);
            if (stats)
                stats->invalid_utf8++;
        }
        i += n;
        run = i;
    }
    buf_append(out, s + run, i - run);
    buf_append_byte(out, '"');
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

void json_write_time(struct buf *out, struct record_time t)
{
    t = time_clamp(t);
    int64_t days = t.sec / SEC_PER_DAY;
    int64_t secs = t.sec % SEC_PER_DAY;
    if (secs < 0) {
        days--;
        secs += SEC_PER_DAY;
    }
    int64_t year;
    unsigned month, day;
    timefmt_civil_from_days(days, &year, &month, &day);

    char text[32]; /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */
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
    p = put_digits(p, (uint64_t)secs % 60, 2);
    *p++ = '.';
    p = put_digits(p, t.nsec, 9);
    *p++ = 'Z';
    *p++ = '"';
    buf_append(out, text, (size_t)(p - text));
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
