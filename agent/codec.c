/* The binary encoding of records and values inside chunks (format in codec.h).
 * The decoder trusts nothing: chunk files may be torn or corrupt, so every read
 * is checked against the buffer's end, and so is every read of the walkers
 * that start where codec_next_record_header stops. Not the chunk layout or its
 * CRC (chunk.c). */
#include "codec.h"

#include <stdbool.h>
#include <string.h>

/* sec, nsec, source_id, offset, attachment_count */
#define BODY_HEADER_LEN (8 + 4 + 8 + 8 + 1)
#define NSEC_PER_SEC 1000000000u
#define VARINT_MAX_LEN 10

static void put_le(struct buf *out, uint64_t v, size_t bytes)
{
    uint8_t b[8];
    for (size_t i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    buf_append(out, b, bytes);
}

static uint64_t get_le(const uint8_t *p, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_varint(struct buf *out, uint64_t v)
{
    uint8_t b[VARINT_MAX_LEN];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    buf_append(out, b, n);
}

static uint64_t zigzag_encode(int64_t i)
{
    return ((uint64_t)i << 1) ^ (i < 0 ? UINT64_MAX : 0);
}

static int64_t zigzag_decode(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static void put_tag(struct buf *out, enum codec_tag tag)
{
    buf_append_byte(out, (char)tag);
}

static void put_string(struct buf *out, const char *s, size_t len)
{
    put_varint(out, len);
    buf_append(out, s, len);
}

static void put_double(struct buf *out, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    put_le(out, bits, 8);
}

static void put_map(struct buf *out, const struct value_map *map)
{
    put_varint(out, map->count);
    for (uint32_t i = 0; i < map->count; i++) {
        put_string(out, map->entries[i].key.ptr, map->entries[i].key.len);
        codec_encode_value(out, &map->entries[i].value);
    }
}

static void put_array(struct buf *out, const struct value_array *array)
{
    put_varint(out, array->count);
    for (uint32_t i = 0; i < array->count; i++)
        codec_encode_value(out, &array->items[i]);
}

void codec_encode_value(struct buf *out, const struct value *v)
{
    switch (v->type) {
    case VALUE_NULL:
        put_tag(out, CODEC_NULL);
        break;
    case VALUE_BOOL:
        put_tag(out, v->as.boolean ? CODEC_TRUE : CODEC_FALSE);
        break;
    case VALUE_INT:
        put_tag(out, CODEC_INT);
        put_varint(out, zigzag_encode(v->as.integer));
        break;
    case VALUE_FLOAT:
        put_tag(out, CODEC_FLOAT);
        put_double(out, v->as.real);
        break;
    case VALUE_STRING:
        put_tag(out, CODEC_STRING);
        put_string(out, v->as.string.ptr, v->as.string.len);
        break;
    case VALUE_MAP:
        put_tag(out, CODEC_MAP);
        put_map(out, &v->as.map);
        break;
    case VALUE_ARRAY:
        put_tag(out, CODEC_ARRAY);
        put_array(out, &v->as.array);
        break;
    }
}

size_t codec_encode_record(struct buf *out, const struct record *rec,
                           const uint16_t *attachment_index)
{
    size_t start = out->len;
    put_le(out, 0, 4); /* body_len, patched below */
    put_le(out, (uint64_t)rec->time.sec, 8);
    put_le(out, rec->time.nsec, 4);
    put_le(out, rec->origin.source_id, 8);
    put_le(out, rec->origin.offset, 8);
    buf_append_byte(out, (char)rec->attachment_count);
    for (uint8_t i = 0; i < rec->attachment_count; i++)
        put_le(out, attachment_index[i], 2);
    put_map(out, &rec->fields);

    uint64_t body_len = out->len - start - 4;
    for (size_t i = 0; i < 4; i++)
        out->data[start + i] = (char)(body_len >> (8 * i));
    return out->len - start;
}

int codec_read_varint_long(const uint8_t *data, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    size_t p = *pos;
    for (unsigned shift = 0; shift < 7 * VARINT_MAX_LEN; shift += 7) {
        if (p >= len)
            return -1;
        uint8_t b = data[p++];
        if (shift == 63 && b > 1)
            return -1; /* would overflow 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pos = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads an element count and rejects one that the remaining bytes could not
 * hold at `min_size` bytes per element, so garbage never drives an allocation
 * or a long loop. */
static int read_count(const uint8_t *data, size_t len, size_t *pos, size_t min_size,
                      uint64_t *count)
{
    if (codec_read_varint(data, len, pos, count) < 0)
        return -1;
    return *count <= (len - *pos) / min_size ? 0 : -1;
}

/* A map entry is at least a one-byte key length and a one-byte tag. */
#define MAP_ENTRY_MIN 2
#define ARRAY_ITEM_MIN 1

static int skip_value(const uint8_t *data, size_t len, size_t *pos, int depth);

static int skip_map(const uint8_t *data, size_t len, size_t *pos, int depth)
{
    uint64_t count;
    if (depth > CODEC_MAX_DEPTH || read_count(data, len, pos, MAP_ENTRY_MIN, &count) < 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        const char *key;
        size_t key_len;
        if (codec_read_string(data, len, pos, &key, &key_len) < 0 ||
            skip_value(data, len, pos, depth) < 0)
            return -1;
    }
    return 0;
}

static int skip_array(const uint8_t *data, size_t len, size_t *pos, int depth)
{
    uint64_t count;
    if (depth > CODEC_MAX_DEPTH || read_count(data, len, pos, ARRAY_ITEM_MIN, &count) < 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        if (skip_value(data, len, pos, depth) < 0)
            return -1;
    }
    return 0;
}

/* `depth` counts the maps and arrays around the value. */
static int skip_value(const uint8_t *data, size_t len, size_t *pos, int depth)
{
    if (*pos >= len)
        return -1;
    uint64_t integer;
    const char *s;
    size_t slen;
    switch (data[(*pos)++]) {
    case CODEC_NULL:
    case CODEC_FALSE:
    case CODEC_TRUE:
        return 0;
    case CODEC_INT:
        return codec_read_varint(data, len, pos, &integer);
    case CODEC_FLOAT:
        if (len - *pos < 8)
            return -1;
        *pos += 8;
        return 0;
    case CODEC_STRING:
        return codec_read_string(data, len, pos, &s, &slen);
    case CODEC_MAP:
        return skip_map(data, len, pos, depth + 1);
    case CODEC_ARRAY:
        return skip_array(data, len, pos, depth + 1);
    default:
        return -1;
    }
}

int codec_skip_value(const uint8_t *data, size_t len, size_t *pos)
{
    return skip_value(data, len, pos, 0);
}

static int parse_body(const uint8_t *body, size_t len, struct record_view *view)
{
    if (len < BODY_HEADER_LEN)
        return -1;
    view->time.sec = (int64_t)get_le(body, 8);
    view->time.nsec = (uint32_t)get_le(body + 8, 4);
    view->origin.source_id = get_le(body + 12, 8);
    view->origin.offset = get_le(body + 20, 8);
    view->attachment_count = body[28];
    if (view->time.nsec >= NSEC_PER_SEC || view->attachment_count > RECORD_MAX_ATTACHMENTS)
        return -1;

    size_t pos = BODY_HEADER_LEN;
    if (len - pos < 2u * view->attachment_count)
        return -1;
    for (uint8_t i = 0; i < view->attachment_count; i++, pos += 2)
        view->attachment_index[i] = (uint16_t)get_le(body + pos, 2);

    view->fields = body + pos;
    view->fields_len = len - pos;
    return 0;
}

/* The whole encoded map, to its last byte, is well formed. */
static int fields_ok(const struct record_view *view)
{
    size_t end = 0;
    if (skip_map(view->fields, view->fields_len, &end, 1) < 0 || end != view->fields_len)
        return -1;
    return 0;
}

/* Finds the body of the record at *pos: 1 with *body at its first byte and
 * *body_len its length, 0 at the clean end, -1 if its length runs past `len`. */
static int record_body(const uint8_t *data, size_t len, size_t pos, size_t *body, size_t *body_len)
{
    if (pos == len)
        return 0;
    if (pos > len || len - pos < 4)
        return -1;
    uint64_t n = get_le(data + pos, 4);
    if (n > len - pos - 4)
        return -1;
    *body = pos + 4;
    *body_len = (size_t)n;
    return 1;
}

static int next_record(const uint8_t *data, size_t len, size_t *pos, struct record_view *view,
                       bool check_fields)
{
    size_t body, body_len;
    int rc = record_body(data, len, *pos, &body, &body_len);
    if (rc <= 0)
        return rc;
    struct record_view parsed = {0};
    if (parse_body(data + body, body_len, &parsed) < 0 || (check_fields && fields_ok(&parsed) < 0))
        return -1;
    *view = parsed;
    *pos = body + body_len;
    return 1;
}

int codec_next_record(const uint8_t *data, size_t len, size_t *pos, struct record_view *view)
{
    return next_record(data, len, pos, view, true);
}

int codec_next_record_header(const uint8_t *data, size_t len, size_t *pos, struct record_view *view)
{
    return next_record(data, len, pos, view, false);
}

int codec_skip_record(const uint8_t *data, size_t len, size_t *pos)
{
    size_t body, body_len;
    int rc = record_body(data, len, *pos, &body, &body_len);
    if (rc == 1)
        *pos = body + body_len;
    return rc;
}

static int decode_value(const uint8_t *data, size_t len, size_t *pos, int depth, struct value *out);

static int decode_map(const uint8_t *data, size_t len, size_t *pos, int depth,
                      struct value_map *out)
{
    uint64_t count;
    if (depth > CODEC_MAX_DEPTH || read_count(data, len, pos, MAP_ENTRY_MIN, &count) < 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        const char *key;
        size_t key_len;
        struct value v;
        if (codec_read_string(data, len, pos, &key, &key_len) < 0 ||
            decode_value(data, len, pos, depth, &v) < 0)
            return -1;
        value_map_set(out, key, key_len, &v);
    }
    return 0;
}

static int decode_array(const uint8_t *data, size_t len, size_t *pos, int depth,
                        struct value_array *out)
{
    uint64_t count;
    if (depth > CODEC_MAX_DEPTH || read_count(data, len, pos, ARRAY_ITEM_MIN, &count) < 0)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        struct value v;
        if (decode_value(data, len, pos, depth, &v) < 0)
            return -1;
        value_array_push(out, &v);
    }
    return 0;
}

static int decode_scalar(const uint8_t *data, size_t len, size_t *pos, uint8_t tag,
                         struct value *out)
{
    uint64_t u;
    const char *s;
    size_t slen;
    switch (tag) {
    case CODEC_NULL:
        *out = value_null();
        return 0;
    case CODEC_FALSE:
    case CODEC_TRUE:
        *out = value_bool(tag == CODEC_TRUE);
        return 0;
    case CODEC_INT:
        if (codec_read_varint(data, len, pos, &u) < 0)
            return -1;
        *out = value_int(zigzag_decode(u));
        return 0;
    case CODEC_FLOAT: {
        if (len - *pos < 8)
            return -1;
        double d;
        u = get_le(data + *pos, 8);
        memcpy(&d, &u, sizeof d);
        *pos += 8;
        *out = value_float(d);
        return 0;
    }
    case CODEC_STRING:
        if (codec_read_string(data, len, pos, &s, &slen) < 0)
            return -1;
        *out = value_string(s, slen);
        return 0;
    default:
        return -1;
    }
}

/* Maps and arrays are decoded in place; on failure what was built so far is
 * freed and *out is VALUE_NULL. */
static int decode_value(const uint8_t *data, size_t len, size_t *pos, int depth, struct value *out)
{
    *out = value_null();
    if (*pos >= len)
        return -1;
    uint8_t tag = data[(*pos)++];
    int rc;
    if (tag == CODEC_MAP) {
        *out = value_map_new();
        rc = decode_map(data, len, pos, depth + 1, &out->as.map);
    } else if (tag == CODEC_ARRAY) {
        *out = value_array_new();
        rc = decode_array(data, len, pos, depth + 1, &out->as.array);
    } else {
        rc = decode_scalar(data, len, pos, tag, out);
    }
    if (rc < 0)
        value_free(out);
    return rc;
}

int codec_decode_value(const uint8_t *data, size_t len, size_t *pos, struct value *out)
{
    size_t p = *pos;
    if (decode_value(data, len, &p, 0, out) < 0)
        return -1;
    *pos = p;
    return 0;
}

int codec_decode_fields(const uint8_t *data, size_t len, struct value_map *out)
{
    *out = (struct value_map){0};
    size_t pos = 0;
    if (decode_map(data, len, &pos, 1, out) < 0 || pos != len) {
        value_map_free(out);
        return -1;
    }
    return 0;
}
