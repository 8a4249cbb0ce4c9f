/* Unit tests for JSON output: escaping, UTF-8 repair, numbers, times and the
 * writer that walks encoded records. */
#include "suites.h"

#include "buf.h"
#include "codec.h"
#include "json.h"
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Output of the helpers below, valid until the next call. */
static struct buf scratch = BUF_INIT;

static void scratch_free(void)
{
    buf_free(&scratch);
}

/* The JSON for `len` bytes of `s`, and how many replacements it made. */
static const char *escaped(const char *s, size_t len, uint64_t *replaced)
{
    struct json_stats stats = {0};
    buf_reset(&scratch);
    json_write_string(&scratch, s, len, &stats);
    *replaced = stats.invalid_utf8;
    return buf_cstr(&scratch);
}

static void check_string(const char *in, size_t len, const char *want, uint64_t want_replaced)
{
    uint64_t replaced;
    ck_assert_str_eq(escaped(in, len, &replaced), want);
    ck_assert_msg(replaced == want_replaced, "%s: %llu replacements, want %llu", want,
                  (unsigned long long)replaced, (unsigned long long)want_replaced);
}

#define CHECK_STRING(in, want, n) check_string(in, sizeof(in) - 1, want, n)

static const char *value_json(const struct value *v)
{
    buf_reset(&scratch);
    json_write_value(&scratch, v, NULL);
    return buf_cstr(&scratch);
}

static const char *time_json(int64_t sec, uint32_t nsec)
{
    buf_reset(&scratch);
    json_write_time(&scratch, (struct record_time){sec, nsec});
    return buf_cstr(&scratch);
}

START_TEST(test_escape_basics)
{
    CHECK_STRING("", "\"\"", 0);
    CHECK_STRING("plain text", "\"plain text\"", 0);
    CHECK_STRING("a\"b\\c", "\"a\\\"b\\\\c\"", 0);
    CHECK_STRING("/", "\"/\"", 0);
    CHECK_STRING("\x7f", "\"\\u007f\"", 0);
    CHECK_STRING("a\0b", "\"a\\u0000b\"", 0);
}
END_TEST

START_TEST(test_escape_controls)
{
    char in[32];
    for (int i = 0; i < 32; i++)
        in[i] = (char)i;
    const char *want = "\""
                       "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                       "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
                       "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
                       "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
                       "\"";
    check_string(in, sizeof in, want, 0);
}
END_TEST

START_TEST(test_valid_utf8)
{
    const char *valid[] = {
        "\xc3\xa9",                                       /* é */
        "\xe2\x82\xac",                                   /* € */
        "\xf0\x9d\x84\x9e",                               /* 𝄞 */
        "\xc2\x80",                                       /* U+0080 */
        "\xdf\xbf",                                       /* U+07FF */
        "\xe0\xa0\x80",                                   /* U+0800 */
        "\xed\x9f\xbf",                                   /* U+D7FF */
        "\xee\x80\x80",                                   /* U+E000 */
        "\xef\xbf\xbf",                                   /* U+FFFF */
        "\xf0\x90\x80\x80",                               /* U+10000 */
        "\xf4\x8f\xbf\xbf",                               /* U+10FFFF */
        "caf\xc3\xa9 \xe2\x82\xac\x35 \xf0\x9f\x98\x80!", /* \x35 is '5' */
    };
    char want[64];
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        snprintf(want, sizeof want, "\"%s\"", valid[i]);
        check_string(valid[i], strlen(valid[i]), want, 0);
    }
}
END_TEST

#define FFFD "\xef\xbf\xbd"

START_TEST(test_invalid_utf8)
{
    CHECK_STRING("a\x80"
                 "b",
                 "\"a" FFFD "b\"", 1);                                  /* lone continuation */
    CHECK_STRING("\xe2\x82", "\"" FFFD "\"", 1);                        /* truncated at the end */
    CHECK_STRING("\xe2\x82x", "\"" FFFD "x\"", 1);                      /* truncated before ASCII */
    CHECK_STRING("\xf0\x9f\x98", "\"" FFFD "\"", 1);                    /* truncated 4-byte */
    CHECK_STRING("\xc0\xaf", "\"" FFFD FFFD "\"", 2);                   /* overlong '/' */
    CHECK_STRING("\xe0\x80\xaf", "\"" FFFD FFFD FFFD "\"", 3);          /* overlong 3-byte */
    CHECK_STRING("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"", 3);          /* surrogate U+D800 */
    CHECK_STRING("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", 4); /* > U+10FFFF */
    CHECK_STRING("\xf5\x80", "\"" FFFD FFFD "\"", 2);
    CHECK_STRING("\xff", "\"" FFFD "\"", 1);
    CHECK_STRING("\xfe\xff", "\"" FFFD FFFD "\"", 2);
    CHECK_STRING("\xe2\x82\n", "\"" FFFD "\\n\"", 1);
    CHECK_STRING("\xc3\xa9\x80\xc3\xa9", "\"\xc3\xa9" FFFD "\xc3\xa9\"", 1);
    CHECK_STRING("\xe2\xc3\xa9", "\"" FFFD "\xc3\xa9\"", 1);

    struct buf out = BUF_INIT;
    json_write_string(&out, "\xff", 1, NULL);
    ck_assert_str_eq(buf_cstr(&out), "\"" FFFD "\"");
    buf_free(&out);
}
END_TEST

START_TEST(test_long_runs)
{
    struct buf in = BUF_INIT;
    struct buf want = BUF_INIT;
    buf_append_byte(&want, '"');
    for (int i = 0; i < 500; i++) {
        buf_append_str(&in, "abc\xc3\xa9");
        buf_append_str(&want, "abc\xc3\xa9");
        if (i % 7 == 0) {
            buf_append(&in, "\t\xff", 2);
            buf_append_str(&want, "\\t" FFFD);
        }
    }
    buf_append_byte(&want, '"');
    check_string(in.data, in.len, buf_cstr(&want), 72);
    buf_free(&in);
    buf_free(&want);
}
END_TEST

/* The 8-bytes-at-a-time path must agree with escaping byte by byte: every
 * byte value below 0x80, at every offset of a 40-byte ASCII string. */
START_TEST(test_word_path_matches_bytes)
{
    for (int c = 0; c < 0x80; c++) {
        for (size_t at = 0; at < 40; at++) {
            char text[40];
            memset(text, 'a', sizeof text);
            text[at] = (char)c;
            struct buf whole = BUF_INIT, bytes = BUF_INIT, one = BUF_INIT;
            json_write_string(&whole, text, sizeof text, NULL);
            buf_append_byte(&bytes, '"');
            for (size_t i = 0; i < sizeof text; i++) {
                buf_reset(&one);
                json_write_string(&one, text + i, 1, NULL);
                buf_append(&bytes, one.data + 1, one.len - 2);
            }
            buf_append_byte(&bytes, '"');
            ck_assert_msg(whole.len == bytes.len && memcmp(whole.data, bytes.data, whole.len) == 0,
                          "byte 0x%02x at %zu: %s", c, at, buf_cstr(&whole));
            buf_free(&whole);
            buf_free(&bytes);
            buf_free(&one);
        }
    }
}
END_TEST

START_TEST(test_numbers)
{
    struct value v = value_int(0);
    ck_assert_str_eq(value_json(&v), "0");
    v = value_int(-1);
    ck_assert_str_eq(value_json(&v), "-1");
    v = value_int(INT64_MIN);
    ck_assert_str_eq(value_json(&v), "-9223372036854775808");
    v = value_int(INT64_MAX);
    ck_assert_str_eq(value_json(&v), "9223372036854775807");

    v = value_float(1.5);
    ck_assert_str_eq(value_json(&v), "1.5");
    v = value_float(0.1);
    ck_assert_str_eq(value_json(&v), "0.1");
    v = value_float(0.1 + 0.2);
    ck_assert_str_eq(value_json(&v), "0.30000000000000004");
    v = value_float(1.0);
    ck_assert_str_eq(value_json(&v), "1.0"); /* stays a float for Elasticsearch */
    v = value_float(-0.0);
    ck_assert_str_eq(value_json(&v), "-0.0");
    v = value_float(1e300);
    ck_assert_str_eq(value_json(&v), "1e+300");
    v = value_float(5e-324);
    ck_assert_str_eq(value_json(&v), "4.94065645841247e-324");
    v = value_float(NAN);
    ck_assert_str_eq(value_json(&v), "null");
    v = value_float(INFINITY);
    ck_assert_str_eq(value_json(&v), "null");
    v = value_float(-INFINITY);
    ck_assert_str_eq(value_json(&v), "null");
}
END_TEST

static void put(struct value_map *map, const char *key, struct value v)
{
    value_map_set(map, key, strlen(key), &v);
}

static struct value sample(void)
{
    struct value root = value_map_new();
    put(&root.as.map, "k\"ey\n", value_cstring("v\x01"));
    put(&root.as.map, "n", value_null());
    put(&root.as.map, "t", value_bool(true));
    put(&root.as.map, "f", value_bool(false));
    struct value arr = value_array_new();
    struct value items[] = {value_int(1), value_float(2.5), value_map_new(), value_array_new()};
    for (size_t i = 0; i < 4; i++)
        value_array_push(&arr.as.array, &items[i]);
    put(&root.as.map, "a", arr);
    return root;
}

#define SAMPLE_MEMBERS                                                                             \
    "\"k\\\"ey\\n\":\"v\\u0001\",\"n\":null,\"t\":true,\"f\":false,\"a\":[1,2.5,{},[]]"

START_TEST(test_values)
{
    struct value v = sample();
    ck_assert_str_eq(value_json(&v), "{" SAMPLE_MEMBERS "}");
    value_free(&v);
    v = value_map_new();
    ck_assert_str_eq(value_json(&v), "{}");
    v = value_string("\xff", 1);
    ck_assert_str_eq(value_json(&v), "\"" FFFD "\"");
    value_free(&v);
}
END_TEST

START_TEST(test_time)
{
    ck_assert_str_eq(time_json(0, 0), "\"1970-01-01T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_json(1714558500, 123456789), "\"2024-05-01T10:15:00.123456789Z\"");
    ck_assert_str_eq(time_json(-1, 500000000), "\"1969-12-31T23:59:59.500000000Z\"");
    ck_assert_str_eq(time_json(-86400, 1), "\"1969-12-31T00:00:00.000000001Z\"");
    ck_assert_str_eq(time_json(951782400, 0), "\"2000-02-29T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_json(-2203891200, 0), "\"1900-03-01T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_json(4107542400, 0), "\"2100-03-01T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_json(-11676096000, 0), "\"1600-01-01T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_json(-62167219200, 0), "\"0000-01-01T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_json(253402300799, 999999999), "\"9999-12-31T23:59:59.999999999Z\"");
    /* Out of RFC 3339's range: clamped. */
    ck_assert_str_eq(time_json(INT64_MAX, 0), "\"9999-12-31T23:59:59.999999999Z\"");
    ck_assert_str_eq(time_json(INT64_MIN, 5), "\"0000-01-01T00:00:00.000000000Z\"");
}
END_TEST

/* The calendar arithmetic agrees with the C library across the whole range. */
START_TEST(test_time_against_gmtime)
{
    char want[96];
    for (int64_t sec = -62167219200; sec <= 253402300799; sec += 7777777) {
        time_t t = (time_t)sec;
        struct tm tm;
        ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
        snprintf(want, sizeof want, "\"%04d-%02d-%02dT%02d:%02d:%02d.000000042Z\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        ck_assert_str_eq(time_json(sec, 42), want);
    }
}
END_TEST

START_TEST(test_encoded_members)
{
    struct value v = sample();
    struct buf enc = BUF_INIT;
    codec_encode_value(&enc, &v);
    value_free(&v);
    const uint8_t *map = (const uint8_t *)enc.data + 1; /* past the map tag */
    size_t map_len = enc.len - 1;

    struct buf out = BUF_INIT;
    ck_assert_int_eq(json_write_encoded_members(&out, map, map_len, NULL, NULL), 5);
    ck_assert_str_eq(buf_cstr(&out), SAMPLE_MEMBERS);

    buf_reset(&out);
    ck_assert_int_eq(json_write_encoded_members(&out, map, map_len, "k\"ey\n", NULL), 4);
    ck_assert_str_eq(buf_cstr(&out), "\"n\":null,\"t\":true,\"f\":false,\"a\":[1,2.5,{},[]]");
    buf_reset(&out);
    ck_assert_int_eq(json_write_encoded_members(&out, map, map_len, "a", NULL), 4);
    ck_assert_str_eq(buf_cstr(&out), "\"k\\\"ey\\n\":\"v\\u0001\",\"n\":null,\"t\":true,"
                                     "\"f\":false");

    for (size_t cut = 0; cut < map_len; cut++) {
        buf_reset(&out);
        ck_assert_int_eq(json_write_encoded_members(&out, map, cut, NULL, NULL), -1);
    }
    buf_reset(&out);
    ck_assert_int_eq(json_write_encoded_members(&out, (const uint8_t *)"\x00", 1, NULL, NULL), 0);
    ck_assert_uint_eq(out.len, 0);
    buf_free(&out);
    buf_free(&enc);
}
END_TEST

START_TEST(test_encoded_values_match)
{
    const struct value values[] = {
        value_int(INT64_MIN), value_int(INT64_MAX), value_int(-300),  value_float(0.1),
        value_float(NAN),     value_float(-1e-7),   value_bool(true), value_null(),
    };
    struct buf enc = BUF_INIT;
    struct buf direct = BUF_INIT;
    struct buf walked = BUF_INIT;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        buf_reset(&enc);
        buf_append(&enc, "\x01\x01x", 3);
        codec_encode_value(&enc, &values[i]);
        buf_reset(&direct);
        buf_append_str(&direct, "\"x\":");
        json_write_value(&direct, &values[i], NULL);
        buf_reset(&walked);
        ck_assert_int_eq(
            json_write_encoded_members(&walked, (const uint8_t *)enc.data, enc.len, NULL, NULL), 1);
        ck_assert_str_eq(buf_cstr(&walked), buf_cstr(&direct));
    }
    buf_free(&enc);
    buf_free(&direct);
    buf_free(&walked);
}
END_TEST

struct encoded {
    struct buf data;
    struct record_view view;
    struct attachment *table[2];
};

/* A record with `fields` and, if `attached`, the table's second entry. */
static void encode(struct encoded *e, struct value fields, bool attached)
{
    struct value meta = value_map_new();
    put(&meta.as.map, "pod", value_cstring("web-1"));
    e->table[0] = NULL;
    e->table[1] = attachment_new("kubernetes", &meta);

    struct record rec;
    record_init(&rec);
    rec.time = (struct record_time){1714558500, 5};
    rec.fields = fields.as.map;
    if (attached)
        record_attach(&rec, e->table[1]);
    const uint16_t index[] = {1};
    e->data = (struct buf)BUF_INIT;
    codec_encode_record(&e->data, &rec, index);
    record_free(&rec);
    size_t pos = 0;
    ck_assert_int_eq(codec_next_record((const uint8_t *)e->data.data, e->data.len, &pos, &e->view),
                     1);
}

static void encoded_free(struct encoded *e)
{
    attachment_unref(e->table[1]);
    buf_free(&e->data);
}

static const char *record_json(struct encoded *e)
{
    buf_reset(&scratch);
    ck_assert_int_eq(json_write_record(&scratch, &e->view, e->table, "@timestamp", NULL), 0);
    return buf_cstr(&scratch);
}

#define TS "\"@timestamp\":\"2024-05-01T10:15:00.000000005Z\""

START_TEST(test_record)
{
    struct value fields = value_map_new();
    put(&fields.as.map, "log", value_cstring("hello\n"));
    put(&fields.as.map, "@timestamp", value_cstring("from the line"));
    put(&fields.as.map, "level", value_int(3));
    struct encoded e;
    encode(&e, fields, true);
    ck_assert_str_eq(record_json(&e),
                     "{" TS
                     ",\"log\":\"hello\\n\",\"level\":3,\"kubernetes\":{\"pod\":\"web-1\"}}");
    encoded_free(&e);
}
END_TEST

START_TEST(test_record_without_fields)
{
    struct encoded e;
    encode(&e, value_map_new(), true);
    ck_assert_str_eq(record_json(&e), "{" TS ",\"kubernetes\":{\"pod\":\"web-1\"}}");
    encoded_free(&e);

    struct value only_time = value_map_new();
    put(&only_time.as.map, "@timestamp", value_int(1));
    encode(&e, only_time, false);
    ck_assert_str_eq(record_json(&e), "{" TS "}");
    encoded_free(&e);

    encode(&e, value_map_new(), false);
    ck_assert_str_eq(record_json(&e), "{" TS "}");
    encoded_free(&e);
}
END_TEST

START_TEST(test_record_malformed)
{
    struct value fields = value_map_new();
    put(&fields.as.map, "log", value_cstring("x"));
    struct encoded e;
    encode(&e, fields, false);
    struct buf out = BUF_INIT;
    buf_append_str(&out, "keep");
    struct record_view torn = e.view;
    torn.fields_len--;
    ck_assert_int_eq(json_write_record(&out, &torn, e.table, "@timestamp", NULL), -1);
    ck_assert_uint_eq(out.len, 4);
    buf_free(&out);
    encoded_free(&e);
}
END_TEST

START_TEST(test_stats_counted)
{
    struct value fields = value_map_new();
    put(&fields.as.map, "bad\xff", value_string("\xc0\xaf", 2));
    put(&fields.as.map, "@timestamp", value_string("\xff", 1)); /* skipped, not counted */
    struct encoded e;
    encode(&e, fields, false);
    struct buf out = BUF_INIT;
    struct json_stats stats = {0};
    ck_assert_int_eq(json_write_record(&out, &e.view, e.table, "@timestamp", &stats), 0);
    ck_assert_str_eq(buf_cstr(&out), "{" TS ",\"bad" FFFD "\":\"" FFFD FFFD "\"}");
    ck_assert_uint_eq(stats.invalid_utf8, 3);
    buf_free(&out);
    encoded_free(&e);
}
END_TEST

/* json_write_record_own_time: the same output as json_write_record, and
 * where the value of the first top-level member named time_key is (one
 * nested deeper is not the record's own); none: SIZE_MAX. */
START_TEST(test_record_own_time)
{
    static const uint8_t fields[] = "\x03"
                                    "\x0a@timestamp\x05\x05"
                                    "first"
                                    "\x01x\x06\x01\x0a@timestamp\x03\x02"
                                    "\x0a@timestamp\x05\x06second";
    struct record_view view = {
        .time = {1714558500, 5}, .fields = fields, .fields_len = sizeof fields - 1};
    struct buf out = BUF_INIT;
    size_t own = 0;
    ck_assert_int_eq(json_write_record_own_time(&out, &view, NULL, "@timestamp", NULL, &own), 0);
    ck_assert_str_eq(buf_cstr(&out), "{" TS ",\"x\":{\"@timestamp\":1}}");
    ck_assert_uint_eq(own, 12);
    struct value v;
    size_t pos = own;
    ck_assert_int_eq(codec_decode_value(fields, sizeof fields - 1, &pos, &v), 0);
    ck_assert_str_eq(value_json(&v), "\"first\"");
    value_free(&v);

    buf_reset(&out);
    own = 0;
    ck_assert_int_eq(json_write_record_own_time(&out, &view, NULL, "ts", NULL, &own), 0);
    ck_assert_uint_eq(own, SIZE_MAX);
    ck_assert_str_eq(buf_cstr(&out), "{\"ts\":\"2024-05-01T10:15:00.000000005Z\","
                                     "\"@timestamp\":\"first\",\"x\":{\"@timestamp\":1},"
                                     "\"@timestamp\":\"second\"}");

    /* Malformed: -1 and *own_time untouched. */
    view.fields_len--;
    own = 7;
    ck_assert_int_eq(json_write_record_own_time(&out, &view, NULL, "@timestamp", NULL, &own), -1);
    ck_assert_uint_eq(own, 7);
    buf_free(&out);
}
END_TEST

Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *strings = tcase_create("string");
    tcase_add_test(strings, test_escape_basics);
    tcase_add_test(strings, test_escape_controls);
    tcase_add_test(strings, test_valid_utf8);
    tcase_add_test(strings, test_invalid_utf8);
    tcase_add_test(strings, test_long_runs);
    tcase_add_test(strings, test_word_path_matches_bytes);
    tcase_add_checked_fixture(strings, NULL, scratch_free);
    suite_add_tcase(s, strings);

    TCase *values = tcase_create("value");
    tcase_add_test(values, test_numbers);
    tcase_add_test(values, test_values);
    tcase_add_test(values, test_time);
    tcase_add_test(values, test_time_against_gmtime);
    tcase_add_checked_fixture(values, NULL, scratch_free);
    suite_add_tcase(s, values);

    TCase *records = tcase_create("record");
    tcase_add_test(records, test_encoded_members);
    tcase_add_test(records, test_encoded_values_match);
    tcase_add_test(records, test_record);
    tcase_add_test(records, test_record_without_fields);
    tcase_add_test(records, test_record_malformed);
    tcase_add_test(records, test_stats_counted);
    tcase_add_test(records, test_record_own_time);
    tcase_add_checked_fixture(records, NULL, scratch_free);
    suite_add_tcase(s, records);
    return s;
}
