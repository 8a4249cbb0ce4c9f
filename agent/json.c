/* JSON output (see json.h): values, numbers, RFC 3339 times, and the walker
 * that turns encoded records straight into JSON without decoding them. The
 * string escaper is json_escape.c. Not a JSON parser. */
#include "json.h"

#include "timefmt.h"

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
        json_write_key(out, map->entries[i].key.ptr, map->entries[i].key.len, i > 0, stats);
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

/* A top-level member to leave out, and where the value of the first one
 * left out starts (SIZE_MAX: none was). */
struct skipped_member {
    const char *key; /* NULL: none to leave out */
    size_t key_len;
    size_t value_pos;
};

static bool key_is(const char *key, size_t key_len, const char *name, size_t name_len)
{
    /* the first byte before memcmp: "kubernetes" is as long as "@timestamp" */
    return name && name_len == key_len && (key_len == 0 || key[0] == name[0]) &&
           memcmp(key, name, key_len) == 0;
}

/* Leaves out the value at *pos: walked to find its end (and checked as the
 * others are), the output taken back. */
static int skip_member_value(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                             int depth, struct skipped_member *skip)
{
    if (skip->value_pos == SIZE_MAX)
        skip->value_pos = *pos;
    size_t mark = out->len;
    int rc = write_encoded_value(out, data, len, pos, depth, NULL);
    out->len = mark;
    return rc;
}

/* Writes the members of the encoded map at *pos; `depth` as in codec.c;
 * `skip` (top level only, may be NULL) as above. */
static int write_encoded_members(struct buf *out, const uint8_t *data, size_t len, size_t *pos,
                                 int depth, struct skipped_member *skip, struct json_stats *stats)
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
        if (skip && key_is(key, key_len, skip->key, skip->key_len)) {
            if (skip_member_value(out, data, len, pos, depth, skip) < 0)
                return -1;
            continue;
        }
        json_write_key(out, key, key_len, written++ > 0, stats);
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
    if (tag == CODEC_STRING) { /* most values: the switch below is for the others */
        const char *s;
        size_t slen;
        if (codec_read_string(data, len, pos, &s, &slen) < 0)
            return -1;
        json_write_string(out, s, slen, stats);
        return 0;
    }
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

/* The members of a record's fields (the whole of data[0..len)). */
static int write_top_members(struct buf *out, const uint8_t *data, size_t len,
                             struct skipped_member *skip, struct json_stats *stats)
{
    size_t pos = 0;
    int written = write_encoded_members(out, data, len, &pos, 1, skip, stats);
    return pos == len ? written : -1;
}

int json_write_encoded_members(struct buf *out, const uint8_t *data, size_t len,
                               const char *skip_key, struct json_stats *stats)
{
    struct skipped_member skip = {skip_key, skip_key ? strlen(skip_key) : 0, SIZE_MAX};
    return write_top_members(out, data, len, &skip, stats);
}

static void write_attachment(struct buf *out, const struct attachment *a, struct json_stats *stats)
{
    json_write_key(out, a->key.ptr, a->key.len, true, stats);
    buf_append(out, a->json, a->json_len); /* rendered once, when it was made */
}

int json_write_record_own_time(struct buf *out, const struct record_view *view,
                               struct attachment *const *attachments, const char *time_key,
                               struct json_stats *stats, size_t *own_time)
{
    size_t start = out->len;
    size_t time_key_len = strlen(time_key);
    buf_append_byte(out, '{');
    json_write_key(out, time_key, time_key_len, false, stats);
    json_write_time(out, view->time);

    size_t before_fields = out->len;
    buf_append_byte(out, ',');
    struct skipped_member skip = {time_key, time_key_len, SIZE_MAX};
    int written = write_top_members(out, view->fields, view->fields_len, &skip, stats);
    if (written < 0) {
        out->len = start;
        return -1;
    }
    if (written == 0)
        out->len = before_fields;

    for (uint8_t i = 0; i < view->attachment_count; i++) {
        const struct attachment *a = attachments[view->attachment_index[i]];
        if (!key_is(a->key.ptr, a->key.len, time_key, time_key_len))
            write_attachment(out, a, stats);
    }
    buf_append_byte(out, '}');
    if (own_time)
        *own_time = skip.value_pos;
    return 0;
}

int json_write_record(struct buf *out, const struct record_view *view,
                      struct attachment *const *attachments, const char *time_key,
                      struct json_stats *stats)
{
    return json_write_record_own_time(out, view, attachments, time_key, stats, NULL);
}
