/* Unit tests for the binary record encoding, above all that the decoder
 * rejects truncated and corrupt input without reading past it. */
#include "suites.h"

#include "buf.h"
#include "codec.h"
#include "record.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void put(struct value_map *map, const char *key, struct value v)
{
    value_map_set(map, key, strlen(key), &v);
}

static struct value every_type(void)
{
    struct value root = value_map_new();
    struct value_map *m = &root.as.map;
    put(m, "null", value_null());
    put(m, "true", value_bool(true));
    put(m, "false", value_bool(false));
    put(m, "zero", value_int(0));
    put(m, "neg", value_int(-1));
    put(m, "neg64", value_int(-64));
    put(m, "pos64", value_int(64));
    put(m, "min", value_int(INT64_MIN));
    put(m, "max", value_int(INT64_MAX));
    put(m, "float", value_float(-1.25e300));
    put(m, "negzero", value_float(-0.0));
    put(m, "inf", value_float(INFINITY));
    put(m, "nul", value_string("a\0b", 3));
    put(m, "bad utf8", value_string("\xff\xc0\xaf\xed\xa0\x80", 6));
    put(m, "", value_string("", 0));
    put(m, "empty map", value_map_new());
    put(m, "empty array", value_array_new());

    struct value arr = value_array_new();
    struct value items[] = {value_int(1), value_cstring("two"), value_null(), value_map_new()};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        value_array_push(&arr.as.array, &items[i]);
    struct value inner = value_map_new();
    put(&inner.as.map, "list", arr);
    struct value deeper = value_map_new();
    put(&deeper.as.map, "k", value_cstring("v"));
    put(&inner.as.map, "deeper", deeper);
    put(m, "nested", inner);
    return root;
}

static void check_bytes(const struct buf *b, const char *want, size_t want_len)
{
    ck_assert_uint_eq(b->len, want_len);
    ck_assert_int_eq(memcmp(b->data, want, want_len), 0);
}

static void check_value_bytes(struct value v, const char *want, size_t want_len)
{
    struct buf b = BUF_INIT;
    codec_encode_value(&b, &v);
    check_bytes(&b, want, want_len);
    value_free(&v);
    buf_free(&b);
}

START_TEST(test_value_bytes)
{
    check_value_bytes(value_null(), "\x00", 1);
    check_value_bytes(value_bool(false), "\x01", 1);
    check_value_bytes(value_bool(true), "\x02", 1);
    check_value_bytes(value_int(0), "\x03\x00", 2);
    check_value_bytes(value_int(-1), "\x03\x01", 2);
    check_value_bytes(value_int(1), "\x03\x02", 2);
    check_value_bytes(value_int(-64), "\x03\x7f", 2);
    check_value_bytes(value_int(64), "\x03\x80\x01", 3);
    check_value_bytes(value_int(INT64_MIN), "\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    check_value_bytes(value_float(1.0), "\x04\x00\x00\x00\x00\x00\x00\xf0\x3f", 9);
    check_value_bytes(value_string("a\0", 2),
                      "\x05\x02"
                      "a\0",
                      4);

    struct value map = value_map_new();
    put(&map.as.map, "a", value_bool(true));
    check_value_bytes(map,
                      "\x06\x01\x01"
                      "a\x02",
                      5);
    struct value arr = value_array_new();
    struct value n = value_null();
    value_array_push(&arr.as.array, &n);
    check_value_bytes(arr, "\x07\x01\x00", 3);
}
END_TEST

START_TEST(test_value_round_trip)
{
    struct value v = every_type();
    struct buf b = BUF_INIT;
    codec_encode_value(&b, &v);
    size_t pos = 0;
    struct value back;
    ck_assert_int_eq(codec_decode_value((const uint8_t *)b.data, b.len, &pos, &back), 0);
    ck_assert_uint_eq(pos, b.len);
    ck_assert(value_equal(&v, &back));

    const struct value *negzero = value_map_get(&back.as.map, "negzero", 7);
    ck_assert(signbit(negzero->as.real));
    const struct value *nul = value_map_get(&back.as.map, "nul", 3);
    ck_assert_int_eq(memcmp(nul->as.string.ptr, "a\0b\0", 4), 0);
    value_free(&v);
    value_free(&back);
    buf_free(&b);
}
END_TEST

START_TEST(test_nan_round_trip)
{
    struct value v = value_float(NAN);
    struct buf b = BUF_INIT;
    codec_encode_value(&b, &v);
    size_t pos = 0;
    struct value back;
    ck_assert_int_eq(codec_decode_value((const uint8_t *)b.data, b.len, &pos, &back), 0);
    ck_assert_int_eq(back.type, VALUE_FLOAT);
    ck_assert(isnan(back.as.real));
    buf_free(&b);
}
END_TEST

static void make_record(struct record *rec, int64_t sec, uint32_t nsec, int64_t n)
{
    record_init(rec);
    rec->time = (struct record_time){sec, nsec};
    rec->origin = (struct record_origin){.source_id = 0x1122334455667788u, .offset = 1000 + n};
    struct value msg = value_cstring("hello");
    struct value num = value_int(n);
    value_map_set(&rec->fields, "msg", 3, &msg);
    value_map_set(&rec->fields, "n", 1, &num);
}

START_TEST(test_record_bytes)
{
    struct record rec;
    record_init(&rec);
    rec.time = (struct record_time){-2, 7};
    rec.origin = (struct record_origin){.source_id = 3, .offset = 0x0102};
    struct value one = value_int(1);
    struct attachment *a = attachment_new("k", &one);
    record_attach(&rec, a);
    uint16_t index[] = {0x0201};
    struct buf b = BUF_INIT;
    ck_assert_uint_eq(codec_encode_record(&b, &rec, index), 36);
    const char want[] = "\x20\x00\x00\x00"                 /* body_len 32 */
                        "\xfe\xff\xff\xff\xff\xff\xff\xff" /* sec -2 */
                        "\x07\x00\x00\x00"                 /* nsec */
                        "\x03\x00\x00\x00\x00\x00\x00\x00" /* source_id */
                        "\x02\x01\x00\x00\x00\x00\x00\x00" /* offset */
                        "\x01\x01\x02"                     /* one attachment, index 0x0201 */
                        "\x00";                            /* no fields */
    check_bytes(&b, want, sizeof want - 1);

    struct record_view view;
    size_t pos = 0;
    ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, b.len, &pos, &view), 1);
    ck_assert_uint_eq(pos, b.len);
    ck_assert_int_eq(view.time.sec, -2);
    ck_assert_uint_eq(view.time.nsec, 7);
    ck_assert_uint_eq(view.origin.source_id, 3);
    ck_assert_uint_eq(view.origin.offset, 0x0102);
    ck_assert_uint_eq(view.attachment_count, 1);
    ck_assert_uint_eq(view.attachment_index[0], 0x0201);
    ck_assert_uint_eq(view.fields_len, 1);
    ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, b.len, &pos, &view), 0);
    record_free(&rec);
    attachment_unref(a);
    buf_free(&b);
}
END_TEST

START_TEST(test_record_round_trip)
{
    struct record rec;
    record_init(&rec);
    rec.time = (struct record_time){1714558500, 123456789};
    struct value all = every_type();
    rec.fields = all.as.map;

    struct buf b = BUF_INIT;
    size_t n = codec_encode_record(&b, &rec, NULL);
    ck_assert_uint_eq(n, b.len);
    struct record_view view;
    size_t pos = 0;
    ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, b.len, &pos, &view), 1);
    ck_assert_int_eq(view.time.sec, 1714558500);
    ck_assert_uint_eq(view.time.nsec, 123456789);

    struct value back = value_map_new();
    ck_assert_int_eq(codec_decode_fields(view.fields, view.fields_len, &back.as.map), 0);
    struct value orig = {.type = VALUE_MAP, .as.map = rec.fields};
    ck_assert(value_equal(&orig, &back));
    value_free(&back);
    record_free(&rec);
    buf_free(&b);
}
END_TEST

START_TEST(test_several_records)
{
    struct buf b = BUF_INIT;
    size_t total = 0;
    for (int i = 0; i < 3; i++) {
        struct record rec;
        make_record(&rec, 100 + i, (uint32_t)i, i);
        total += codec_encode_record(&b, &rec, NULL);
        record_free(&rec);
    }
    ck_assert_uint_eq(total, b.len);

    size_t pos = 0;
    struct record_view view;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, b.len, &pos, &view), 1);
        ck_assert_int_eq(view.time.sec, 100 + i);
        ck_assert_uint_eq(view.origin.offset, 1000u + (unsigned)i);
        struct value_map fields;
        ck_assert_int_eq(codec_decode_fields(view.fields, view.fields_len, &fields), 0);
        ck_assert_int_eq(value_map_get(&fields, "n", 1)->as.integer, i);
        ck_assert_str_eq(value_map_get(&fields, "msg", 3)->as.string.ptr, "hello");
        value_map_free(&fields);
    }
    ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, b.len, &pos, &view), 0);
    ck_assert_uint_eq(pos, b.len);
    buf_free(&b);
}
END_TEST

/* Every proper prefix of a record is torn: -1 and *pos untouched, also when
 * only the header is read or the record skipped. The prefix is copied to its
 * own allocation so ASan catches any read past it. */
START_TEST(test_truncated_everywhere)
{
    struct record rec;
    record_init(&rec);
    struct value all = every_type();
    rec.fields = all.as.map;
    rec.time.sec = 5;
    struct buf b = BUF_INIT;
    codec_encode_record(&b, &rec, NULL);
    record_free(&rec);

    for (size_t cut = 1; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, b.data, cut);
        size_t pos = 0;
        struct record_view view;
        ck_assert_int_eq(codec_next_record(copy, cut, &pos, &view), -1);
        ck_assert_int_eq(codec_next_record_header(copy, cut, &pos, &view), -1);
        ck_assert_int_eq(codec_skip_record(copy, cut, &pos), -1);
        ck_assert_uint_eq(pos, 0);
        free(copy);
    }
    buf_free(&b);
}
END_TEST

START_TEST(test_truncated_second_record)
{
    struct buf b = BUF_INIT;
    struct record rec;
    make_record(&rec, 1, 0, 1);
    size_t first = codec_encode_record(&b, &rec, NULL);
    codec_encode_record(&b, &rec, NULL);
    record_free(&rec);

    for (size_t cut = first + 1; cut < b.len; cut++) {
        size_t pos = 0;
        struct record_view view;
        ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, cut, &pos, &view), 1);
        ck_assert_uint_eq(pos, first);
        ck_assert_int_eq(codec_next_record((const uint8_t *)b.data, cut, &pos, &view), -1);
        ck_assert_uint_eq(pos, first);
    }
    buf_free(&b);
}
END_TEST

static int next_of(const char *data, size_t len)
{
    size_t pos = 0;
    struct record_view view;
    return codec_next_record((const uint8_t *)data, len, &pos, &view);
}

/* A record of `fields` (an encoded map) with no attachments. */
static void wrap_fields(struct buf *b, const char *fields, size_t len)
{
    uint32_t body = 29 + (uint32_t)len;
    const char header[4] = {(char)body, (char)(body >> 8), (char)(body >> 16), (char)(body >> 24)};
    buf_append(b, header, 4);
    char zeros[29] = {0};
    buf_append(b, zeros, sizeof zeros);
    buf_append(b, fields, len);
}

START_TEST(test_corrupt_tags)
{
    struct buf b = BUF_INIT;
    struct record rec;
    make_record(&rec, 1, 0, 7);
    codec_encode_record(&b, &rec, NULL);
    record_free(&rec);
    /* fields: 02 | 03 "msg" 05 05 "hello" | 01 "n" 03 0e */
    size_t msg_tag = 4 + 29 + 1 + 4;
    size_t n_tag = b.len - 2;
    ck_assert_uint_eq((uint8_t)b.data[msg_tag], CODEC_STRING);
    ck_assert_uint_eq((uint8_t)b.data[n_tag], CODEC_INT);

    const uint8_t bad[] = {8, 9, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        b.data[msg_tag] = (char)bad[i];
        ck_assert_int_eq(next_of(b.data, b.len), -1);
        b.data[msg_tag] = CODEC_STRING;
        b.data[n_tag] = (char)bad[i];
        ck_assert_int_eq(next_of(b.data, b.len), -1);
        b.data[n_tag] = CODEC_INT;
    }
    ck_assert_int_eq(next_of(b.data, b.len), 1);

    size_t pos = 0;
    struct value v;
    const uint8_t unknown[] = {9};
    ck_assert_int_eq(codec_decode_value(unknown, 1, &pos, &v), -1);
    ck_assert_uint_eq(pos, 0);
    ck_assert_int_eq(v.type, VALUE_NULL);
    buf_free(&b);
}
END_TEST

START_TEST(test_bad_header)
{
    struct buf b = BUF_INIT;
    struct record rec;
    make_record(&rec, 1, 999999999, 7);
    codec_encode_record(&b, &rec, NULL);
    record_free(&rec);
    ck_assert_int_eq(next_of(b.data, b.len), 1);

    memcpy(b.data + 4 + 8, "\x00\xca\x9a\x3b", 4); /* nsec = 1e9 */
    ck_assert_int_eq(next_of(b.data, b.len), -1);
    memcpy(b.data + 4 + 8, "\xff\xc9\x9a\x3b", 4); /* back to 1e9 - 1 */
    ck_assert_int_eq(next_of(b.data, b.len), 1);

    b.data[4 + 28] = RECORD_MAX_ATTACHMENTS + 1;
    ck_assert_int_eq(next_of(b.data, b.len), -1);
    b.data[4 + 28] = 1; /* the index eats two bytes of the fields */
    ck_assert_int_eq(next_of(b.data, b.len), -1);
    b.data[4 + 28] = 0;

    b.data[0] = (char)(b.data[0] + 1); /* body longer than the buffer */
    ck_assert_int_eq(next_of(b.data, b.len), -1);
    buf_append_byte(&b, 0); /* now a trailing byte after the map */
    ck_assert_int_eq(next_of(b.data, b.len), -1);
    b.data[0] = (char)(b.data[0] - 1);
    ck_assert_int_eq(next_of(b.data, b.len - 1), 1);

    /* A body too short for the fixed header. */
    ck_assert_int_eq(next_of("\x03\x00\x00\x00\x00\x00\x00", 7), -1);
    buf_free(&b);
}
END_TEST

START_TEST(test_oversized_counts)
{
    /* Counts and lengths far beyond the remaining bytes. */
    const char *cases[] = {
        "\x06\xff\xff\xff\xff\x0f",                     /* map of 2^32-1 entries */
        "\x07\xff\xff\xff\xff\xff\xff\xff\xff\x7f",     /* array of 2^63-1 items */
        "\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", /* string of 2^64-1 bytes */
        "\x06\x02\x01k\x00",                            /* map of 2, one present */
        "\x07\x03\x00\x00",                             /* array of 3, two present */
        "\x05\x04\x61\x62\x63",                         /* string of 4, three present */
    };
    const size_t lens[] = {6, 10, 11, 5, 4, 5};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t pos = 0;
        struct value v;
        ck_assert_msg(codec_decode_value((const uint8_t *)cases[i], lens[i], &pos, &v) == -1,
                      "case %zu", i);
        ck_assert_uint_eq(pos, 0);

        struct buf b = BUF_INIT;
        char fields[16] = "\x01\x01k";
        memcpy(fields + 3, cases[i], lens[i]);
        wrap_fields(&b, fields, 3 + lens[i]);
        ck_assert_int_eq(next_of(b.data, b.len), -1);
        buf_free(&b);
    }
}
END_TEST

START_TEST(test_varint_limits)
{
    uint64_t v;
    size_t pos = 0;
    const uint8_t max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(codec_read_varint(max, sizeof max, &pos, &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_uint_eq(pos, 10);

    pos = 0;
    const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    ck_assert_int_eq(codec_read_varint(overflow, sizeof overflow, &pos, &v), -1);
    const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_int_eq(codec_read_varint(too_long, sizeof too_long, &pos, &v), -1);
    ck_assert_int_eq(codec_read_varint(too_long, 3, &pos, &v), -1);
    ck_assert_uint_eq(pos, 0);

    const char *s;
    size_t slen;
    const uint8_t str[] = {0x03, 'a', 'b', 'c', 'd'};
    ck_assert_int_eq(codec_read_string(str, sizeof str, &pos, &s, &slen), 0);
    ck_assert_uint_eq(pos, 4);
    ck_assert_uint_eq(slen, 3);
    ck_assert_int_eq(memcmp(s, "abc", 3), 0);
    pos = 0;
    ck_assert_int_eq(codec_read_string(str, 3, &pos, &s, &slen), -1);
    ck_assert_uint_eq(pos, 0);
}
END_TEST

/* The inline path (a one-byte varint) and the long one meet at 0x80: the
 * same values and bounds either way; nothing is read at or past `len`. */
START_TEST(test_varint_one_byte_boundary)
{
    static const uint8_t bytes[] = {0x00, 0x7f, 0x80, 0x01, 0x81, 0x00, 0x80};
    static const uint64_t values[] = {0x7f, 0x80, 1}; /* 1: not the shortest form, still read */
    static const size_t ends[] = {2, 4, 6};
    uint64_t v;
    size_t pos = 1;
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(codec_read_varint(bytes, sizeof bytes, &pos, &v), 0);
        ck_assert_uint_eq(v, values[i]);
        ck_assert_uint_eq(pos, ends[i]);
    }
    ck_assert_int_eq(codec_read_varint(bytes, sizeof bytes, &pos, &v), -1); /* cut short */
    ck_assert_uint_eq(pos, 6);
    pos = 2;
    ck_assert_int_eq(codec_read_varint(bytes, 2, &pos, &v), -1); /* at the end */
    ck_assert_int_eq(codec_read_varint(bytes, 1, &pos, &v), -1); /* past it */
    ck_assert_uint_eq(pos, 2);
    /* Strings of 127 and 128 bytes: one and two length bytes. */
    uint8_t str[2 + 128] = {0x7f};
    const char *s;
    size_t slen;
    pos = 0;
    ck_assert_int_eq(codec_read_string(str, 127, &pos, &s, &slen), -1);
    ck_assert_int_eq(codec_read_string(str, 1 + 127, &pos, &s, &slen), 0);
    ck_assert_uint_eq(slen, 127);
    ck_assert_uint_eq(pos, 128);
    memcpy(str, "\x80\x01", 2);
    pos = 0;
    ck_assert_int_eq(codec_read_string(str, sizeof str - 1, &pos, &s, &slen), -1);
    ck_assert_uint_eq(pos, 0);
    ck_assert_int_eq(codec_read_string(str, sizeof str, &pos, &s, &slen), 0);
    ck_assert_uint_eq(slen, 128);
    ck_assert_ptr_eq(s, (const char *)str + 2);
}
END_TEST

/* `levels` arrays nested inside each other around a null. */
static void nested_arrays(struct buf *b, int levels)
{
    for (int i = 0; i < levels; i++)
        buf_append(b, "\x07\x01", 2);
    buf_append_byte(b, CODEC_NULL);
}

START_TEST(test_depth_limit)
{
    struct buf b = BUF_INIT;
    struct value v;
    size_t pos = 0;
    nested_arrays(&b, CODEC_MAX_DEPTH);
    ck_assert_int_eq(codec_decode_value((const uint8_t *)b.data, b.len, &pos, &v), 0);
    ck_assert_uint_eq(pos, b.len);
    value_free(&v);

    buf_reset(&b);
    pos = 0;
    nested_arrays(&b, CODEC_MAX_DEPTH + 1);
    ck_assert_int_eq(codec_decode_value((const uint8_t *)b.data, b.len, &pos, &v), -1);
    ck_assert_uint_eq(pos, 0);

    /* In a record the fields map is the first level. */
    struct buf fields = BUF_INIT;
    struct buf rec = BUF_INIT;
    buf_append(&fields, "\x01\x01k", 3);
    nested_arrays(&fields, CODEC_MAX_DEPTH - 1);
    wrap_fields(&rec, fields.data, fields.len);
    ck_assert_int_eq(next_of(rec.data, rec.len), 1);

    buf_reset(&fields);
    buf_reset(&rec);
    buf_append(&fields, "\x01\x01k", 3);
    nested_arrays(&fields, CODEC_MAX_DEPTH);
    wrap_fields(&rec, fields.data, fields.len);
    ck_assert_int_eq(next_of(rec.data, rec.len), -1);
    struct value_map map;
    ck_assert_int_eq(codec_decode_fields((const uint8_t *)fields.data, fields.len, &map), -1);
    ck_assert_uint_eq(map.count, 0);
    ck_assert_ptr_null(map.entries);

    buf_free(&fields);
    buf_free(&rec);
    buf_free(&b);
}
END_TEST

START_TEST(test_decode_fields_exact)
{
    struct value_map map;
    const uint8_t ok[] = {0x01, 0x01, 'k', CODEC_TRUE};
    ck_assert_int_eq(codec_decode_fields(ok, sizeof ok, &map), 0);
    ck_assert_uint_eq(map.count, 1);
    value_map_free(&map);

    const uint8_t trailing[] = {0x01, 0x01, 'k', CODEC_TRUE, 0x00};
    ck_assert_int_eq(codec_decode_fields(trailing, sizeof trailing, &map), -1);
    ck_assert_uint_eq(map.count, 0);
    const uint8_t partial[] = {0x02, 0x01, 'k', CODEC_TRUE, 0x01, 'j', CODEC_STRING, 0x05, 'x'};
    ck_assert_int_eq(codec_decode_fields(partial, sizeof partial, &map), -1);
    ck_assert_uint_eq(map.count, 0);
    ck_assert_int_eq(codec_decode_fields(ok, 0, &map), -1);
}
END_TEST

/* Flipping bits anywhere must never crash, and whatever the validator accepts
 * must decode. */
START_TEST(test_bit_flips)
{
    struct record rec;
    record_init(&rec);
    struct value all = every_type();
    rec.fields = all.as.map;
    struct buf b = BUF_INIT;
    codec_encode_record(&b, &rec, NULL);
    record_free(&rec);

    const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xff};
    for (size_t i = 0; i < b.len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            uint8_t *copy = malloc(b.len);
            memcpy(copy, b.data, b.len);
            copy[i] ^= masks[m];
            size_t pos = 0;
            struct record_view view;
            int rc = codec_next_record(copy, b.len, &pos, &view);
            ck_assert_int_ne(rc, 0);
            if (rc == 1) {
                struct value_map fields;
                ck_assert_int_eq(codec_decode_fields(view.fields, view.fields_len, &fields), 0);
                value_map_free(&fields);
            }
            free(copy);
        }
    }
    buf_free(&b);
}
END_TEST

Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *encode = tcase_create("encode");
    tcase_add_test(encode, test_value_bytes);
    tcase_add_test(encode, test_value_round_trip);
    tcase_add_test(encode, test_nan_round_trip);
    tcase_add_test(encode, test_record_bytes);
    tcase_add_test(encode, test_record_round_trip);
    tcase_add_test(encode, test_several_records);
    suite_add_tcase(s, encode);

    TCase *decode = tcase_create("malformed");
    tcase_add_test(decode, test_truncated_everywhere);
    tcase_add_test(decode, test_truncated_second_record);
    tcase_add_test(decode, test_corrupt_tags);
    tcase_add_test(decode, test_bad_header);
    tcase_add_test(decode, test_oversized_counts);
    tcase_add_test(decode, test_varint_limits);
    tcase_add_test(decode, test_varint_one_byte_boundary);
    tcase_add_test(decode, test_depth_limit);
    tcase_add_test(decode, test_decode_fields_exact);
    tcase_add_test(decode, test_bit_flips);
    suite_add_tcase(s, decode);
    return s;
}
