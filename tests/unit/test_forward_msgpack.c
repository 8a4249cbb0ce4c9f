/* The forward output's MessagePack (fw_msgpack.c): each value written as
 * the byte string the MessagePack specification's "Formats" section gives
 * for it, read back to the same value, EventTime as Fluentd's ext type 0,
 * invalid UTF-8 replaced, and the reader's bounds: truncated input is
 * "incomplete", never read past; 0xc1 and deep nesting are malformed. */
#include "suites.h"

#include "plugins/out_forward/fw_msgpack.h"

#include <stdlib.h>
#include <string.h>

static struct buf out;

static void setup(void)
{
    out = (struct buf)BUF_INIT;
}

static void teardown(void)
{
    buf_free(&out);
}

static void assert_bytes(const char *expected, size_t len)
{
    ck_assert_uint_eq(out.len, len);
    ck_assert_mem_eq(out.data, expected, len);
}

#define ASSERT_BYTES(lit) assert_bytes(lit, sizeof lit - 1)

static struct fw_mp_item read_one(size_t *pos)
{
    struct fw_mp_item item;
    ck_assert_int_eq(fw_mp_read((const uint8_t *)out.data, out.len, pos, &item), FW_MP_OK);
    return item;
}

START_TEST(integers_in_their_shortest_form)
{
    static const struct {
        int64_t value;
        const char *bytes;
        size_t len;
    } cases[] = {
        {0, "\x00", 1},
        {127, "\x7f", 1},                                        /* positive fixint */
        {128, "\xcc\x80", 2},                                    /* uint 8 */
        {256, "\xcd\x01\x00", 3},                                /* uint 16 */
        {65536, "\xce\x00\x01\x00\x00", 5},                      /* uint 32 */
        {4294967296, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9}, /* uint 64 */
        {-1, "\xff", 1},                                         /* negative fixint */
        {-32, "\xe0", 1},
        {-33, "\xd0\xdf", 2},                /* int 8 */
        {-129, "\xd1\xff\x7f", 3},           /* int 16 */
        {-32769, "\xd2\xff\xff\x7f\xff", 5}, /* int 32 */
        {INT64_MIN, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&out);
        fw_mp_write_int(&out, cases[i].value);
        assert_bytes(cases[i].bytes, cases[i].len);
        size_t pos = 0;
        struct fw_mp_item item = read_one(&pos);
        ck_assert_uint_eq(pos, cases[i].len);
        if (cases[i].value < 0) {
            ck_assert_int_eq(item.type, FW_MP_INT);
            ck_assert_int_eq(item.integer, cases[i].value);
        } else {
            ck_assert_int_eq(item.type, FW_MP_UINT);
            ck_assert_uint_eq(item.uinteger, (uint64_t)cases[i].value);
        }
    }
    buf_reset(&out);
    fw_mp_write_uint(&out, UINT64_MAX);
    ASSERT_BYTES("\xcf\xff\xff\xff\xff\xff\xff\xff\xff");
}
END_TEST

START_TEST(nil_booleans_and_floats)
{
    fw_mp_write_nil(&out);
    fw_mp_write_bool(&out, false);
    fw_mp_write_bool(&out, true);
    fw_mp_write_double(&out, 1.5);
    ASSERT_BYTES("\xc0\xc2\xc3\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00");
    size_t pos = 0;
    ck_assert_int_eq(read_one(&pos).type, FW_MP_NIL);
    struct fw_mp_item b = read_one(&pos);
    ck_assert(b.type == FW_MP_BOOL && !b.boolean);
    b = read_one(&pos);
    ck_assert(b.type == FW_MP_BOOL && b.boolean);
    struct fw_mp_item f = read_one(&pos);
    ck_assert_int_eq(f.type, FW_MP_FLOAT);
    ck_assert(f.real == 1.5);
    /* float 32, which a server may send: 0.25 */
    static const uint8_t f32[] = {0xca, 0x3e, 0x80, 0x00, 0x00};
    pos = 0;
    struct fw_mp_item item;
    ck_assert_int_eq(fw_mp_read(f32, sizeof f32, &pos, &item), FW_MP_OK);
    ck_assert(item.type == FW_MP_FLOAT && item.real == 0.25);
}
END_TEST

START_TEST(strings_and_bin_by_length)
{
    fw_mp_write_str(&out, "a", 1);
    ASSERT_BYTES("\xa1"
                 "a");
    char text[70000];
    memset(text, 'x', sizeof text);
    static const struct {
        size_t len;
        const char *head;
        size_t head_len;
    } cases[] = {
        {31, "\xbf", 1},
        {32, "\xd9\x20", 2},
        {256, "\xda\x01\x00", 3},
        {65536, "\xdb\x00\x01\x00\x00", 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&out);
        fw_mp_write_str(&out, text, cases[i].len);
        ck_assert_uint_eq(out.len, cases[i].head_len + cases[i].len);
        ck_assert_mem_eq(out.data, cases[i].head, cases[i].head_len);
        size_t pos = 0;
        struct fw_mp_item item = read_one(&pos);
        ck_assert_int_eq(item.type, FW_MP_STR);
        ck_assert_uint_eq(item.len, cases[i].len);
        ck_assert_uint_eq(pos, out.len);
    }
    buf_reset(&out);
    fw_mp_write_bin_header(&out, 3);
    buf_append(&out, "\x00\x01\x02", 3);
    ASSERT_BYTES("\xc4\x03\x00\x01\x02");
    buf_reset(&out);
    fw_mp_write_bin_header(&out, 300);
    ASSERT_BYTES("\xc5\x01\x2c");
    buf_reset(&out);
    size_t at = fw_mp_write_bin32_placeholder(&out);
    buf_append(&out, "zz", 2);
    fw_mp_patch_bin32(&out, at, 2);
    ASSERT_BYTES("\xc6\x00\x00\x00\x02zz");
    size_t pos = 0;
    struct fw_mp_item bin = read_one(&pos);
    ck_assert(bin.type == FW_MP_BIN && bin.len == 2 && memcmp(bin.bytes, "zz", 2) == 0);
}
END_TEST

START_TEST(arrays_and_maps)
{
    fw_mp_write_array_header(&out, 2);
    fw_mp_write_int(&out, 1);
    fw_mp_write_map_header(&out, 1);
    fw_mp_write_str(&out, "a", 1);
    fw_mp_write_int(&out, 2);
    ASSERT_BYTES("\x92\x01\x81\xa1"
                 "a\x02");
    buf_reset(&out);
    fw_mp_write_array_header(&out, 16);
    fw_mp_write_map_header(&out, 16);
    fw_mp_write_array_header(&out, 70000);
    fw_mp_write_map_header(&out, 70000);
    ASSERT_BYTES("\xdc\x00\x10\xde\x00\x10\xdd\x00\x01\x11\x70\xdf\x00\x01\x11\x70");
    size_t pos = 0;
    ck_assert_uint_eq(read_one(&pos).count, 16);
    struct fw_mp_item map = read_one(&pos);
    ck_assert(map.type == FW_MP_MAP && map.count == 16);
}
END_TEST

START_TEST(event_time_is_ext_zero_with_seconds_and_nanoseconds)
{
    fw_mp_write_event_time(&out, 1700000000, 123456789);
    /* 1700000000 = 0x6553f100, 123456789 = 0x075bcd15 */
    ASSERT_BYTES("\xd7\x00\x65\x53\xf1\x00\x07\x5b\xcd\x15");
    size_t pos = 0;
    struct fw_mp_item item = read_one(&pos);
    ck_assert_int_eq(item.type, FW_MP_EXT);
    ck_assert_int_eq(item.ext_type, 0);
    ck_assert_uint_eq(item.len, 8);
    buf_reset(&out);
    fw_mp_write_event_time(&out, -5, 1); /* before 1970: clamped to 0 */
    ASSERT_BYTES("\xd7\x00\x00\x00\x00\x00\x00\x00\x00\x01");
    buf_reset(&out);
    fw_mp_write_event_time(&out, (int64_t)1 << 40, 0);
    ASSERT_BYTES("\xd7\x00\xff\xff\xff\xff\x00\x00\x00\x00");
    /* ext 8 with length 8, as the specification also allows */
    static const uint8_t ext8[] = {0xc7, 0x08, 0x00, 0, 0, 0, 1, 0, 0, 0, 2};
    pos = 0;
    ck_assert_int_eq(fw_mp_read(ext8, sizeof ext8, &pos, &item), FW_MP_OK);
    ck_assert(item.type == FW_MP_EXT && item.ext_type == 0 && item.len == 8);
}
END_TEST

START_TEST(text_replaces_invalid_utf8)
{
    uint64_t invalid = 0;
    fw_mp_write_text(&out, "h\xc3\xa9", 3, &invalid);
    ASSERT_BYTES("\xa3h\xc3\xa9");
    ck_assert_uint_eq(invalid, 0);
    buf_reset(&out);
    /* a lone continuation byte, an overlong, a surrogate: one U+FFFD per
     * maximal ill-formed subpart */
    fw_mp_write_text(&out,
                     "a\x80"
                     "b\xc0\xaf"
                     "c\xed\xa0\x80",
                     9, &invalid);
    ck_assert_uint_eq(invalid, 6);
    size_t pos = 0;
    struct fw_mp_item item = read_one(&pos);
    ck_assert_int_eq(item.type, FW_MP_STR);
    static const char expected[] = "a\xef\xbf\xbd"
                                   "b\xef\xbf\xbd\xef\xbf\xbd"
                                   "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
    ck_assert_uint_eq(item.len, sizeof expected - 1);
    ck_assert_mem_eq(item.bytes, expected, sizeof expected - 1);
}
END_TEST

START_TEST(truncated_values_are_incomplete_never_read_past)
{
    fw_mp_write_array_header(&out, 3);
    fw_mp_write_str(&out, "tag", 3);
    fw_mp_write_map_header(&out, 1);
    fw_mp_write_str(&out, "k", 1);
    fw_mp_write_event_time(&out, 1, 2);
    fw_mp_write_double(&out, 2.0);
    size_t size = 0;
    ck_assert_int_eq(fw_mp_measure((const uint8_t *)out.data, out.len, &size), FW_MP_OK);
    ck_assert_uint_eq(size, out.len);
    for (size_t n = 0; n < out.len; n++) {
        /* each prefix copied alone, so that ASan sees a read past it */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, out.data, n);
        ck_assert_int_eq(fw_mp_measure(copy, n, &size), FW_MP_INCOMPLETE);
        free(copy);
    }
    /* a count no data could hold is incomplete, not a long loop */
    static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(fw_mp_measure(huge, sizeof huge, &size), FW_MP_INCOMPLETE);
}
END_TEST

START_TEST(malformed_bytes_and_deep_nesting)
{
    static const uint8_t never_used[] = {0xc1};
    size_t size;
    ck_assert_int_eq(fw_mp_measure(never_used, 1, &size), FW_MP_MALFORMED);
    uint8_t nested[FW_MP_MAX_DEPTH + 2];
    memset(nested, 0x91, sizeof nested); /* [[[[...]]]] */
    nested[sizeof nested - 1] = 0x01;
    ck_assert_int_eq(fw_mp_measure(nested, sizeof nested, &size), FW_MP_MALFORMED);
    /* as deep as allowed passes */
    ck_assert_int_eq(fw_mp_measure(nested + 2, sizeof nested - 2, &size), FW_MP_OK);
    ck_assert_uint_eq(size, sizeof nested - 2);
}
END_TEST

START_TEST(item_is_compares_strings_and_bin)
{
    fw_mp_write_str(&out, "ack", 3);
    size_t pos = 0;
    struct fw_mp_item item = read_one(&pos);
    ck_assert(fw_mp_item_is(&item, "ack"));
    ck_assert(!fw_mp_item_is(&item, "ac"));
    ck_assert(!fw_mp_item_is(&item, "acks"));
}
END_TEST

Suite *forward_msgpack_suite(void)
{
    Suite *s = suite_create("forward_msgpack");
    TCase *tc = tcase_create("msgpack");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, integers_in_their_shortest_form);
    tcase_add_test(tc, nil_booleans_and_floats);
    tcase_add_test(tc, strings_and_bin_by_length);
    tcase_add_test(tc, arrays_and_maps);
    tcase_add_test(tc, event_time_is_ext_zero_with_seconds_and_nanoseconds);
    tcase_add_test(tc, text_replaces_invalid_utf8);
    tcase_add_test(tc, truncated_values_are_incomplete_never_read_past);
    tcase_add_test(tc, malformed_bytes_and_deep_nesting);
    tcase_add_test(tc, item_is_compares_strings_and_bin);
    suite_add_tcase(s, tc);
    return s;
}
