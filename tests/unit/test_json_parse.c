/* Unit tests for the JSON parser: every type and escape, number edges, the
 * lenient choices, limits and errors at every truncation point. Deep and
 * large input and the round trip through the JSON writer are in
 * test_json_parse_large.c. */
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

static void check_error(const char *text, size_t len, const char *want)
{
    char *error = NULL;
    struct value v = value_int(7);
    ck_assert_msg(parse_exact(text, len, &v, FRESH(error)) == -1, "accepted: %s", text);
    ck_assert_int_eq(v.type, VALUE_NULL);
    ck_assert_str_eq(error, want);
    free(error);
}

#define CHECK_ERROR(text, want) check_error(text, sizeof(text) - 1, want)

static void check_rejected(const char *text)
{
    char *error = NULL;
    struct value v;
    ck_assert_msg(parse_exact(text, strlen(text), &v, FRESH(error)) == -1, "accepted: %s", text);
    ck_assert_int_eq(v.type, VALUE_NULL);
    ck_assert_msg(error && error[0] != '\0', "no message for %s", text);
    free(error);
}

/* Parses a one-string document and compares the decoded bytes. */
static void check_string(const char *text, size_t text_len, const char *want, size_t want_len)
{
    char *error = NULL;
    struct value v;
    ck_assert_msg(parse_exact(text, text_len, &v, FRESH(error)) == 0, "%s: %s", text, error);
    ck_assert_int_eq(v.type, VALUE_STRING);
    ck_assert_uint_eq(v.as.string.len, want_len);
    ck_assert_mem_eq(v.as.string.ptr, want, want_len);
    ck_assert_int_eq(v.as.string.ptr[want_len], '\0');
    value_free(&v);
    free(error);
}

#define CHECK_STRING(text, want) check_string(text, sizeof(text) - 1, want, sizeof(want) - 1)

static void check_int(const char *text, int64_t want)
{
    struct value v = parse_ok(text);
    ck_assert_msg(v.type == VALUE_INT, "%s: %s", text, value_type_name(v.type));
    ck_assert_int_eq(v.as.integer, want);
}

static void check_float(const char *text, double want)
{
    struct value v = parse_ok(text);
    ck_assert_msg(v.type == VALUE_FLOAT, "%s: %s", text, value_type_name(v.type));
    ck_assert_msg(v.as.real == want, "%s: %.17g, want %.17g", text, v.as.real, want);
}

static const struct value *get(const struct value *map, const char *key)
{
    ck_assert_int_eq(map->type, VALUE_MAP);
    const struct value *v = value_map_get(&map->as.map, key, strlen(key));
    ck_assert_msg(v != NULL, "no key %s", key);
    return v;
}

START_TEST(test_every_type)
{
    struct value v = parse_ok("{\"n\":null,\"t\":true,\"f\":false,\"i\":-42,\"x\":0.25,"
                              "\"s\":\"text\",\"m\":{},\"a\":[]}");
    ck_assert_uint_eq(v.as.map.count, 8);
    const char *order[] = {"n", "t", "f", "i", "x", "s", "m", "a"};
    for (int i = 0; i < 8; i++)
        ck_assert_str_eq(v.as.map.entries[i].key.ptr, order[i]);
    ck_assert_int_eq(get(&v, "n")->type, VALUE_NULL);
    ck_assert_int_eq(get(&v, "t")->type, VALUE_BOOL);
    ck_assert(get(&v, "t")->as.boolean);
    ck_assert_int_eq(get(&v, "f")->type, VALUE_BOOL);
    ck_assert(!get(&v, "f")->as.boolean);
    ck_assert_int_eq(get(&v, "i")->type, VALUE_INT);
    ck_assert_int_eq(get(&v, "i")->as.integer, -42);
    ck_assert_int_eq(get(&v, "x")->type, VALUE_FLOAT);
    ck_assert(get(&v, "x")->as.real == 0.25);
    ck_assert_int_eq(get(&v, "s")->type, VALUE_STRING);
    ck_assert_str_eq(get(&v, "s")->as.string.ptr, "text");
    ck_assert_int_eq(get(&v, "m")->type, VALUE_MAP);
    ck_assert_uint_eq(get(&v, "m")->as.map.count, 0);
    ck_assert_int_eq(get(&v, "a")->type, VALUE_ARRAY);
    ck_assert_uint_eq(get(&v, "a")->as.array.count, 0);
    value_free(&v);

    const char *scalars[] = {"null", "true", "false", "3", "\"\""};
    enum value_type types[] = {VALUE_NULL, VALUE_BOOL, VALUE_BOOL, VALUE_INT, VALUE_STRING};
    for (int i = 0; i < 5; i++) {
        v = parse_ok(scalars[i]);
        ck_assert_int_eq(v.type, types[i]);
        value_free(&v);
    }
}
END_TEST

START_TEST(test_nested)
{
    struct value v = parse_ok(" { \"req\" : { \"headers\" : { \"ua\" : \"curl\" } , \"ids\" : "
                              "[ 1 , [ 2 , { \"deep\" : [ ] } ] ] } } ");
    const struct value *req = get(&v, "req");
    ck_assert_str_eq(get(get(req, "headers"), "ua")->as.string.ptr, "curl");
    const struct value *ids = get(req, "ids");
    ck_assert_int_eq(ids->type, VALUE_ARRAY);
    ck_assert_uint_eq(ids->as.array.count, 2);
    ck_assert_int_eq(ids->as.array.items[0].as.integer, 1);
    const struct value *inner = &ids->as.array.items[1];
    ck_assert_uint_eq(inner->as.array.count, 2);
    ck_assert_int_eq(inner->as.array.items[0].as.integer, 2);
    ck_assert_int_eq(get(&inner->as.array.items[1], "deep")->type, VALUE_ARRAY);
    value_free(&v);
}
END_TEST

START_TEST(test_escapes)
{
    CHECK_STRING("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t");
    CHECK_STRING("\"a\\u0041\\u00e9\\u00E9\\u20ac\\uFFFF\"",
                 "aA\xc3\xa9\xc3\xa9\xe2\x82\xac\xef\xbf\xbf");
    CHECK_STRING("\"nul\\u0000inside\"", "nul\0inside");
    CHECK_STRING("\"\\\\\"", "\\");
    CHECK_STRING("\"\\\\\\\"\"", "\\\"");
    CHECK_STRING("\"end\\n\"", "end\n");
}
END_TEST

START_TEST(test_surrogates)
{
    CHECK_STRING("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    CHECK_STRING("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80");
    CHECK_STRING("\"\\ud800\\udc00\\udbff\\udfff\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    /* Lone or mismatched halves become U+FFFD; what follows is kept. */
    CHECK_STRING("\"\\ud83d\"", "\xef\xbf\xbd");
    CHECK_STRING("\"\\ude00\"", "\xef\xbf\xbd");
    CHECK_STRING("\"\\ud83dx\"", "\xef\xbf\xbdx");
    CHECK_STRING("\"\\ud83d\\u0041\"", "\xef\xbf\xbd"
                                       "A");
    CHECK_STRING("\"\\ud83d\\ud83d\\ude00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80");
    CHECK_STRING("\"\\ude00\\ud83d\"", "\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_STRING("\"\\ud83d\\n\"", "\xef\xbf\xbd\n");
}
END_TEST

START_TEST(test_bad_escapes)
{
    CHECK_ERROR("\"ab\\x\"", "invalid escape at byte 3");
    CHECK_ERROR("\"\\u12\"", "invalid \\u escape at byte 1");
    CHECK_ERROR("\"\\u12G4\"", "invalid \\u escape at byte 1");
    CHECK_ERROR("\"\\ud83d\\u12G4\"", "invalid \\u escape at byte 7");
    CHECK_ERROR("\"\\U0041\"", "invalid escape at byte 1");
    CHECK_ERROR("\"abc\\\"", "unterminated string at byte 0");
    CHECK_ERROR("\"abc", "unterminated string at byte 0");
    CHECK_ERROR("[\"a\\", "unterminated string at byte 1");
}
END_TEST

START_TEST(test_raw_bytes_kept)
{
    /* Control characters and invalid UTF-8 pass through unchanged. */
    CHECK_STRING("\"tab\there\x01\x1f\"", "tab\there\x01\x1f");
    CHECK_STRING("\"line\nbreak\"", "line\nbreak");
    CHECK_STRING("\"a\0b\"", "a\0b");
    CHECK_STRING("\"\xff\xfe\xc0\xaf\xed\xa0\x80\"", "\xff\xfe\xc0\xaf\xed\xa0\x80");
    CHECK_STRING("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    CHECK_ERROR("\x01", "expected a value at byte 0");
}
END_TEST

START_TEST(test_integers)
{
    check_int("0", 0);
    check_int("-0", 0);
    check_int("7", 7);
    check_int("-7", -7);
    check_int("1234567890", 1234567890);
    check_int("9223372036854775807", INT64_MAX);
    check_int("-9223372036854775808", INT64_MIN);
    check_int("-9223372036854775807", -INT64_MAX);
    check_int(" 12 ", 12);
}
END_TEST

START_TEST(test_floats)
{
    check_float("9223372036854775808", 9223372036854775808.0);
    check_float("-9223372036854775809", -9223372036854775809.0);
    check_float("18446744073709551616", 18446744073709551616.0);
    check_float("123456789012345678901234567890", 123456789012345678901234567890.0);
    check_float("1e3", 1000.0);
    check_float("1E3", 1000.0);
    check_float("1e+3", 1000.0);
    check_float("1.5", 1.5);
    check_float("-2.5e-3", -2.5e-3);
    check_float("0.1", 0.1);
    check_float("0e0", 0.0);
    check_float("1.0", 1.0);
    check_float("1.7976931348623157e308", 1.7976931348623157e308);
    check_float("1e-400", 0.0);
    check_float("4.9e-324", 4.9e-324);
    /* Longer than the stack copy for strtod. */
    check_float("0.000000000000000000000000000000000000000000000000000000000000000000000000000000"
                "00000000000000000000001",
                1e-101);
    struct value v = parse_ok("-0.0");
    ck_assert_int_eq(v.type, VALUE_FLOAT);
    ck_assert(v.as.real == 0.0 && signbit(v.as.real));
}
END_TEST

START_TEST(test_bad_numbers)
{
    CHECK_ERROR("01", "leading zero in number at byte 1");
    CHECK_ERROR("-01", "leading zero in number at byte 2");
    CHECK_ERROR("1.", "expected a digit at end of input (byte 2)");
    CHECK_ERROR("1.e5", "expected a digit at byte 2");
    CHECK_ERROR("-", "expected a digit at end of input (byte 1)");
    CHECK_ERROR("-x", "expected a digit at byte 1");
    CHECK_ERROR(".5", "expected a value at byte 0");
    CHECK_ERROR("+1", "expected a value at byte 0");
    CHECK_ERROR("1e", "expected a digit at end of input (byte 2)");
    CHECK_ERROR("1e+", "expected a digit at end of input (byte 3)");
    CHECK_ERROR("1e400", "number out of range at byte 0");
    CHECK_ERROR("[-1e400]", "number out of range at byte 1");
    CHECK_ERROR("0x10", "unexpected data after the value at byte 1");
    CHECK_ERROR("1.5.2", "unexpected data after the value at byte 3");
    check_rejected("Infinity");
    check_rejected("NaN");
    check_rejected("-Infinity");
}
END_TEST

START_TEST(test_literals)
{
    CHECK_ERROR("tru", "invalid literal at byte 0");
    CHECK_ERROR("nul", "invalid literal at byte 0");
    CHECK_ERROR("True", "expected a value at byte 0");
    CHECK_ERROR("[fals]", "invalid literal at byte 1");
    CHECK_ERROR("truex", "unexpected data after the value at byte 4");
    CHECK_ERROR("nulll", "unexpected data after the value at byte 4");
}
END_TEST

START_TEST(test_structure_errors)
{
    CHECK_ERROR("{\"a\" 1}", "expected ':' at byte 5");
    CHECK_ERROR("{\"a\":1 \"b\":2}", "expected ',' or '}' at byte 7");
    CHECK_ERROR("{\"a\":1,}", "expected a string key at byte 7");
    CHECK_ERROR("{a:1}", "expected a string key at byte 1");
    CHECK_ERROR("{,}", "expected a string key at byte 1");
    CHECK_ERROR("[1 2]", "expected ',' or ']' at byte 3");
    CHECK_ERROR("[1,]", "expected a value at byte 3");
    CHECK_ERROR("[,1]", "expected a value at byte 1");
    CHECK_ERROR("{\"a\":}", "expected a value at byte 5");
    CHECK_ERROR("[1", "expected ',' or ']' at end of input (byte 2)");
    CHECK_ERROR("{\"a\":1", "expected ',' or '}' at end of input (byte 6)");
    CHECK_ERROR("{\"a\"", "expected ':' at end of input (byte 4)");
    CHECK_ERROR("]", "expected a value at byte 0");
}
END_TEST

START_TEST(test_trailing_and_empty)
{
    CHECK_ERROR("{} x", "unexpected data after the value at byte 3");
    CHECK_ERROR("1 2", "unexpected data after the value at byte 2");
    CHECK_ERROR("[]]", "unexpected data after the value at byte 2");
    CHECK_ERROR("\"a\"\"b\"", "unexpected data after the value at byte 3");
    CHECK_ERROR("{}\0", "unexpected data after the value at byte 2");
    CHECK_ERROR("\xef\xbb\xbf{}", "expected a value at byte 0");
    CHECK_ERROR("", "expected a value at end of input (byte 0)");
    CHECK_ERROR(" \t\r\n", "expected a value at end of input (byte 4)");
    CHECK_ERROR("\f1", "expected a value at byte 0");
    struct value v = parse_ok(" \t\r\n{ }\n");
    ck_assert_int_eq(v.type, VALUE_MAP);
    value_free(&v);

    char *error = NULL;
    ck_assert_int_eq(json_parse(NULL, 0, &v, FRESH(error)), -1);
    ck_assert_int_eq(json_parse("1", 1, &v, NULL), 0);
    ck_assert_int_eq(json_parse("x", 1, &v, NULL), -1);
    free(error);
}
END_TEST

START_TEST(test_length_bounds_input)
{
    /* Bytes past `len` are not part of the text. */
    const char *text = "12345";
    struct value v;
    ck_assert_int_eq(json_parse(text, 2, &v, NULL), 0);
    ck_assert_int_eq(v.as.integer, 12);
    ck_assert_int_eq(json_parse("true", 3, &v, NULL), -1);
    ck_assert_int_eq(json_parse("\"ab\"", 3, &v, NULL), -1);
    ck_assert_int_eq(json_parse("\"a\\\"\"", 4, &v, NULL), -1);
    ck_assert_int_eq(json_parse("\"\\u0041\"", 6, &v, NULL), -1);
    ck_assert_int_eq(json_parse("1.5e3", 4, &v, NULL), -1);
}
END_TEST

static const char complex_doc[] =
    "{\"log\":\"2024-05-01 ERROR \\\"quoted\\\" caf\\u00e9 \\ud83d\\ude00 tab\\tend\\n\","
    "\"stream\":\"stderr\",\"time\":\"2024-05-01T10:15:00.123456789Z\","
    "\"n\":[0,-1,9223372036854775807,-9223372036854775808,1.5e-3,-0.0,true,false,null],"
    "\"ctx\":{\"user\":{\"id\":42,\"roles\":[\"a\",\"b\"]},\"empty\":{},\"list\":[[],[{}]]},"
    "\"raw\":\"\x01\xff\",\"k\\u0000\":\"\\/\"}";

START_TEST(test_truncated_everywhere)
{
    size_t len = sizeof complex_doc - 1;
    struct value whole = parse_ok(complex_doc);
    ck_assert_uint_eq(whole.as.map.count, 7);
    value_free(&whole);
    for (size_t n = 0; n < len; n++) {
        char *error = NULL;
        struct value v;
        ck_assert_msg(parse_exact(complex_doc, n, &v, FRESH(error)) == -1, "prefix %zu accepted",
                      n);
        ck_assert_int_eq(v.type, VALUE_NULL);
        ck_assert_msg(error && error[0] != '\0', "prefix %zu: no message", n);
        free(error);
    }
}
END_TEST

START_TEST(test_object_into_truncated)
{
    size_t len = sizeof complex_doc - 1;
    for (size_t n = 0; n < len; n++) {
        struct value map = value_map_new();
        struct value keep = value_cstring("kept");
        value_map_set(&map.as.map, "log", 3, &keep);
        char *copy = xmalloc(n + 1);
        memcpy(copy, complex_doc, n);
        ck_assert_int_eq(json_parse_object_into(copy, n, &map.as.map, NULL), -1);
        free(copy);
        ck_assert_uint_eq(map.as.map.count, 1);
        ck_assert_str_eq(get(&map, "log")->as.string.ptr, "kept");
        value_free(&map);
    }
}
END_TEST

Suite *json_parse_suite(void)
{
    Suite *s = suite_create("json_parse");
    TCase *values = tcase_create("values");
    tcase_add_test(values, test_every_type);
    tcase_add_test(values, test_nested);
    tcase_add_test(values, test_escapes);
    tcase_add_test(values, test_surrogates);
    tcase_add_test(values, test_bad_escapes);
    tcase_add_test(values, test_raw_bytes_kept);
    tcase_add_test(values, test_integers);
    tcase_add_test(values, test_floats);
    tcase_add_test(values, test_bad_numbers);
    tcase_add_test(values, test_literals);
    suite_add_tcase(s, values);

    TCase *errors = tcase_create("errors");
    tcase_add_test(errors, test_structure_errors);
    tcase_add_test(errors, test_trailing_and_empty);
    tcase_add_test(errors, test_length_bounds_input);
    tcase_add_test(errors, test_truncated_everywhere);
    tcase_add_test(errors, test_object_into_truncated);
    suite_add_tcase(s, errors);

    return s;
}
