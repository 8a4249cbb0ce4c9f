/* Unit tests for json_parse.c on large and deep input: nesting depth, duplicate
 * and many keys, parsing into a record, huge strings, round trips. */
#include "error_slot.h"
#include "json_parse_helpers.h"
#include "suites.h"

#include "buf.h"
#include "codec.h"
#include "json.h"
#include "json_parse.h"
#include "xalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The writer's canonical form of what `text` parses to. */
static void check_round_trip(const char *text, const char *want)
{
    struct value v = parse_ok(text);
    struct buf out = BUF_INIT;
    json_write_value(&out, &v, NULL);
    ck_assert_str_eq(buf_cstr(&out), want);
    struct value again = parse_ok(buf_cstr(&out));
    ck_assert(value_equal(&v, &again));
    value_free(&again);
    value_free(&v);
    buf_free(&out);
}

static const struct value *get(const struct value *map, const char *key)
{
    ck_assert_int_eq(map->type, VALUE_MAP);
    const struct value *v = value_map_get(&map->as.map, key, strlen(key));
    ck_assert_msg(v != NULL, "no key %s", key);
    return v;
}

/* `n` nested arrays, or objects {"a":...} when `objects`. */
static char *nested(int n, bool objects)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < n; i++)
        buf_append_str(&b, objects ? "{\"a\":" : "[");
    buf_append_str(&b, "1");
    for (int i = 0; i < n; i++)
        buf_append_byte(&b, objects ? '}' : ']');
    buf_cstr(&b);
    return b.data;
}

static int parse_nested(int n, bool objects, char **error)
{
    char *text = nested(n, objects);
    struct value v;
    int rc = json_parse(text, strlen(text), &v, error);
    value_free(&v);
    free(text);
    return rc;
}

/* The value at `depth` levels down a nested() document (arrays: item 0,
 * objects: member "a"). */
static const struct value *level(const struct value *v, int depth)
{
    for (int i = 0; i < depth; i++) {
        if (v->type == VALUE_ARRAY)
            v = &v->as.array.items[0];
        else
            v = value_map_get(&v->as.map, "a", 1);
    }
    return v;
}

/* A part deeper than 64 levels is kept as the string of its JSON text; the
 * levels above it keep their members. */
START_TEST(test_too_deep_part_kept_as_text)
{
    char *error = NULL;
    for (int objects = 0; objects <= 1; objects++) {
        char *text = nested(70, objects);
        struct value v;
        ck_assert_int_eq(json_parse(text, strlen(text), &v, FRESH(error)), 0);
        const struct value *deep = level(&v, 64);
        ck_assert_int_eq(deep->type, VALUE_STRING);
        size_t start = objects ? 64 * 5 : 64; /* past 64 openings */
        ck_assert_uint_eq(deep->as.string.len, strlen(text) - start - 64);
        ck_assert(memcmp(deep->as.string.ptr, text + start, deep->as.string.len) == 0);
        value_free(&v);
        free(text);
    }

    /* Siblings after the deep part are read as usual; strings inside it may
     * hold brackets and escaped quotes. */
    const char *mixed = "{\"top\":1,\"obj\":" /* then 64 more levels */;
    struct buf b = BUF_INIT;
    buf_append_str(&b, mixed);
    for (int i = 0; i < 64; i++)
        buf_append_str(&b, "[");
    buf_append_str(&b, "\"a]\\\"}\",{\"k\":[]}");
    for (int i = 0; i < 64; i++)
        buf_append_str(&b, "]");
    buf_append_str(&b, ",\"after\":true}");
    struct value v;
    ck_assert_int_eq(json_parse(b.data, b.len, &v, FRESH(error)), 0);
    ck_assert_int_eq(value_map_get(&v.as.map, "top", 3)->as.integer, 1);
    ck_assert(value_map_get(&v.as.map, "after", 5)->as.boolean);
    const struct value *raw = level(value_map_get(&v.as.map, "obj", 3), 63);
    ck_assert_int_eq(raw->type, VALUE_STRING);
    ck_assert_str_eq(raw->as.string.ptr, "[\"a]\\\"}\",{\"k\":[]}]");
    value_free(&v);

    /* Inside the deep part, brackets must match and strings end. */
    static const char *const bad[] = {"[}]", "{]", "\"open", ""};
    static const char *const want[] = {"expected ']' at byte", "expected '}' at byte",
                                       "unterminated string at byte",
                                       "unterminated map or array at end of input"};
    for (size_t k = 0; k < 4; k++) {
        b.len = 0;
        for (int i = 0; i < 65; i++)
            buf_append_str(&b, "[");
        buf_append_str(&b, bad[k]);
        ck_assert_int_eq(json_parse(b.data, b.len, &v, FRESH(error)), -1);
        ck_assert_msg(strstr(error, want[k]) == error, "%s: %s", bad[k], error);
    }
    buf_free(&b);
    free(error);
}
END_TEST

START_TEST(test_depth)
{
    char *error = NULL;
    ck_assert_int_eq(CODEC_MAX_DEPTH, 64);
    ck_assert_int_eq(parse_nested(64, false, FRESH(error)), 0);
    ck_assert_int_eq(parse_nested(64, true, FRESH(error)), 0);
    ck_assert_int_eq(parse_nested(100000, false, FRESH(error)), -1);
    ck_assert_str_eq(error, "maps and arrays nested deeper than 8192 at byte 8256");

    /* The encoded value of the 64-deep document decodes again. */
    char *text = nested(64, true);
    struct value v;
    ck_assert_int_eq(json_parse(text, strlen(text), &v, FRESH(error)), 0);
    struct buf encoded = BUF_INIT;
    codec_encode_value(&encoded, &v);
    struct value decoded;
    size_t pos = 0;
    ck_assert_int_eq(codec_decode_value((const uint8_t *)encoded.data, encoded.len, &pos, &decoded),
                     0);
    ck_assert(value_equal(&v, &decoded));
    value_free(&decoded);
    buf_free(&encoded);
    value_free(&v);

    /* Into a map, the top-level object is the first level. */
    struct value_map map = {0};
    ck_assert_int_eq(json_parse_object_into(text, strlen(text), &map, FRESH(error)), 0);
    value_map_free(&map);
    free(text);
    free(error);
}
END_TEST

START_TEST(test_duplicate_keys)
{
    struct value v =
        parse_ok("{\"a\":1,\"b\":2,\"a\":{\"x\":[1]},\"c\":3,\"a\":\"last\",\"b\":null}");
    ck_assert_uint_eq(v.as.map.count, 3);
    ck_assert_str_eq(v.as.map.entries[0].key.ptr, "a");
    ck_assert_str_eq(v.as.map.entries[0].value.as.string.ptr, "last");
    ck_assert_str_eq(v.as.map.entries[1].key.ptr, "b");
    ck_assert_int_eq(v.as.map.entries[1].value.type, VALUE_NULL);
    ck_assert_str_eq(v.as.map.entries[2].key.ptr, "c");
    value_free(&v);

    /* Keys that differ only after an escape or a NUL are distinct. */
    v = parse_ok("{\"k\\u0000a\":1,\"k\\u0000b\":2,\"k\":3,\"\\u006b\":4}");
    ck_assert_uint_eq(v.as.map.count, 3);
    ck_assert_int_eq(get(&v, "k")->as.integer, 4);
    value_free(&v);
}
END_TEST

/* {"k0":0,"k1":1,...} with `n` keys, then `extra` verbatim before '}'. */
static char *many_keys(int n, const char *extra)
{
    struct buf b = BUF_INIT;
    buf_append_byte(&b, '{');
    for (int i = 0; i < n; i++)
        buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    buf_append_str(&b, extra);
    buf_append_byte(&b, '}');
    buf_cstr(&b);
    return b.data;
}

START_TEST(test_duplicate_keys_large)
{
    char *text = many_keys(1000, ",\"k5\":\"again\",\"k999\":-1,\"k5\":\"third\",\"new\":true");
    struct value v = parse_ok(text);
    free(text);
    ck_assert_uint_eq(v.as.map.count, 1001);
    for (uint32_t i = 0; i < 1000; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%u", i);
        ck_assert_str_eq(v.as.map.entries[i].key.ptr, key);
    }
    ck_assert_str_eq(v.as.map.entries[5].value.as.string.ptr, "third");
    ck_assert_int_eq(v.as.map.entries[999].value.as.integer, -1);
    ck_assert_int_eq(v.as.map.entries[4].value.as.integer, 4);
    ck_assert_str_eq(v.as.map.entries[1000].key.ptr, "new");
    value_free(&v);
}
END_TEST

START_TEST(test_many_keys_fast)
{
    /* A pairwise duplicate check would take minutes here. */
    char *text = many_keys(200000, "");
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct value v = parse_ok(text);
    clock_gettime(CLOCK_MONOTONIC, &end);
    free(text);
    ck_assert_uint_eq(v.as.map.count, 200000);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    ck_assert_msg(seconds < 5.0, "200,000 keys took %.1f s", seconds);
    value_free(&v);
}
END_TEST

START_TEST(test_object_into)
{
    struct value map = value_map_new();
    struct value log = value_cstring("{...}");
    struct value stream = value_cstring("stdout");
    value_map_set(&map.as.map, "log", 3, &log);
    value_map_set(&map.as.map, "stream", 6, &stream);
    const char *text = " {\"level\":\"info\",\"stream\":\"stderr\",\"level\":\"warn\",\"n\":1} ";
    char *error = NULL;
    ck_assert_int_eq(json_parse_object_into(text, strlen(text), &map.as.map, FRESH(error)), 0);
    ck_assert_uint_eq(map.as.map.count, 4);
    ck_assert_str_eq(map.as.map.entries[0].key.ptr, "log");
    ck_assert_str_eq(map.as.map.entries[1].key.ptr, "stream");
    ck_assert_str_eq(map.as.map.entries[1].value.as.string.ptr, "stderr");
    ck_assert_str_eq(map.as.map.entries[2].key.ptr, "level");
    ck_assert_str_eq(map.as.map.entries[2].value.as.string.ptr, "warn");
    ck_assert_str_eq(map.as.map.entries[3].key.ptr, "n");

    /* Errors leave the map as it was. */
    const char *bad[] = {"[1]", "\"s\"", "", "{\"level\":\"x\",\"stream\":}", "{} {}"};
    const char *messages[] = {"expected an object at byte 0", "expected an object at byte 0",
                              "expected an object at end of input (byte 0)",
                              "expected a value at byte 22",
                              "unexpected data after the value at byte 3"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(json_parse_object_into(bad[i], strlen(bad[i]), &map.as.map, FRESH(error)),
                         -1);
        ck_assert_str_eq(error, messages[i]);
        ck_assert_uint_eq(map.as.map.count, 4);
        ck_assert_str_eq(get(&map, "level")->as.string.ptr, "warn");
    }
    value_free(&map);

    struct value_map empty = {0};
    ck_assert_int_eq(json_parse_object_into("{\"a\":[1]}", 9, &empty, FRESH(error)), 0);
    ck_assert_uint_eq(empty.count, 1);
    value_map_free(&empty);

    /* Large on both sides: the sorted merge. */
    char *first = many_keys(100, "");
    char *second = many_keys(50, ",\"z\":0");
    ck_assert_int_eq(json_parse_object_into(first, strlen(first), &empty, FRESH(error)), 0);
    ck_assert_int_eq(json_parse_object_into(second, strlen(second), &empty, FRESH(error)), 0);
    ck_assert_uint_eq(empty.count, 101);
    ck_assert_str_eq(empty.entries[100].key.ptr, "z");
    free(first);
    free(second);
    value_map_free(&empty);
    free(error);
}
END_TEST

/* A string of `n` bytes of text with an escape every 1,000 bytes or none. */
static void check_huge_string(size_t n, bool escapes)
{
    struct buf text = BUF_INIT;
    struct buf want = BUF_INIT;
    buf_append_byte(&text, '"');
    for (size_t i = 0; i < n; i++) {
        bool escape = escapes && i % 1000 == 999;
        char c = escape ? '\n' : (char)('a' + i % 26);
        buf_append(&text, escape ? "\\n" : &c, escape ? 2 : 1);
        buf_append_byte(&want, c);
    }
    buf_append_byte(&text, '"');
    struct value v;
    char *error = NULL;
    ck_assert_int_eq(json_parse(text.data, text.len, &v, FRESH(error)), 0);
    ck_assert_int_eq(v.type, VALUE_STRING);
    ck_assert_uint_eq(v.as.string.len, n);
    ck_assert_int_eq(memcmp(v.as.string.ptr, want.data, n), 0);
    value_free(&v);
    buf_free(&text);
    buf_free(&want);
    free(error);
}

START_TEST(test_huge_strings)
{
    check_huge_string(5u << 20, false);
    check_huge_string(5u << 20, true);
}
END_TEST

START_TEST(test_round_trip)
{
    check_round_trip(" { \"msg\" : \"caf\\u00e9 \\ud83d\\ude00\\n\\u001f\\/\" ,\n"
                     "\"n\": [1, -0, 1.5e0, 1E2, -2.5e-3, true, null],\t"
                     "\"o\": {\"a\":{}} , \"b\":[ ] , \"big\": 9223372036854775808 }",
                     "{\"msg\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\\n\\u001f/\","
                     "\"n\":[1,0,1.5,100.0,-0.0025,true,null],"
                     "\"o\":{\"a\":{}},\"b\":[],\"big\":9.2233720368547758e+18}");
    check_round_trip("[\"\\\"\\\\\\b\\f\\r\\t\"]", "[\"\\\"\\\\\\b\\f\\r\\t\"]");
    check_round_trip("{\"a\":1,\"a\":2}", "{\"a\":2}");
    check_round_trip("\"\\ud83d\"", "\"\xef\xbf\xbd\"");
    check_round_trip("-9223372036854775808", "-9223372036854775808");
}
END_TEST

Suite *json_parse_large_suite(void)
{
    Suite *s = suite_create("json_parse_large");
    TCase *values = tcase_create("values");
    tcase_add_test(values, test_round_trip);
    suite_add_tcase(s, values);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_depth);
    tcase_add_test(limits, test_too_deep_part_kept_as_text);
    tcase_add_test(limits, test_duplicate_keys);
    tcase_add_test(limits, test_duplicate_keys_large);
    tcase_add_test(limits, test_many_keys_fast);
    tcase_add_test(limits, test_object_into);
    tcase_add_test(limits, test_huge_strings);
    tcase_set_timeout(limits, 60);
    suite_add_tcase(s, limits);
    return s;
}
