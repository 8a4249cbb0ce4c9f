/* The tail input's checkpoints: the file format and its strict decoder. The
 * in-memory store, and saving and opening on disk (corrupt files, failed
 * saves, missing folders), are in test_tail_checkpoint_store.c. */
#include "suites.h"
#include "checkpoint_fixture.h"
#include "temp_dir.h"

#include "plugins/in_tail/tail_checkpoint.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ---- */

/* `body` (header and entry lines) followed by an end line with the given count
 * and the right CRC. */
static char *with_end(const char *body, size_t count)
{
    uint32_t crc = (uint32_t)crc32(0, (const Bytef *)body, (uInt)strlen(body));
    return xasprintf("%send %zu %08" PRIx32 "\n", body, count, crc);
}

static void assert_decode_error(const char *data, const char *expected)
{
    struct checkpoint_entry *entries = (void *)1;
    size_t count = 99;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(data, strlen(data), &entries, &count, &error), -1);
    ck_assert_ptr_null(entries);
    ck_assert_uint_eq(count, 0);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error, expected);
    free(error);
}

/* Decodes `body` closed by a correct end line for `count` entries. */
static void assert_body_error(const char *body, size_t count, const char *expected)
{
    char *data = with_end(body, count);
    assert_decode_error(data, expected);
    free(data);
}

/* ---- format ---- */

START_TEST(test_encode_appends)
{
    struct checkpoint_entry e = {{2049, 131, 64, 0xdeadbeef}, 4096, "/a b%\t\xc3\xa9"};
    struct buf out = BUF_INIT;
    buf_append_str(&out, "kept");
    checkpoint_encode(&e, 1, &out);
    char *expected = with_end(HEADER "2049 131 64 deadbeef 4096 /a%20b%25%09\xc3\xa9\n", 1);
    ck_assert_uint_eq(out.len, 4 + strlen(expected));
    ck_assert_mem_eq(out.data, "kept", 4);
    ck_assert_mem_eq(out.data + 4, expected, strlen(expected));
    free(expected);
    buf_free(&out);
}
END_TEST

START_TEST(test_encode_empty)
{
    struct buf out = BUF_INIT;
    checkpoint_encode(NULL, 0, &out);
    char *expected = with_end(HEADER, 0);
    ck_assert_str_eq(buf_cstr(&out), expected);
    struct checkpoint_entry *entries;
    size_t count = 99;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(out.data, out.len, &entries, &count, &error), 0);
    ck_assert_uint_eq(count, 0);
    free(entries);
    free(expected);
    buf_free(&out);
}
END_TEST

START_TEST(test_round_trip)
{
    struct buf out = BUF_INIT;
    checkpoint_encode(sample, SAMPLE_COUNT, &out);
    struct checkpoint_entry *entries;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(out.data, out.len, &entries, &count, &error), 0);
    ck_assert_ptr_null(error);
    ck_assert_uint_eq(count, SAMPLE_COUNT);
    for (size_t i = 0; i < count; i++)
        assert_entries_equal(&entries[i], &sample[i]);
    /* Re-encoding gives the same bytes. */
    struct buf again = BUF_INIT;
    checkpoint_encode(entries, count, &again);
    ck_assert_uint_eq(again.len, out.len);
    ck_assert_mem_eq(again.data, out.data, out.len);
    free_entries(entries, count);
    buf_free(&again);
    buf_free(&out);
}
END_TEST

START_TEST(test_decode_accepts_limits)
{
    char *data = with_end(HEADER "18446744073709551615 0 64 ABCDEF01 18446744073709551615 "
                                 "%2f%41\n",
                          1);
    struct checkpoint_entry *entries;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(data, strlen(data), &entries, &count, &error), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(entries[0].id.dev, UINT64_MAX);
    ck_assert_uint_eq(entries[0].id.fp_len, 64);
    ck_assert_uint_eq(entries[0].id.fp_crc, 0xabcdef01);
    ck_assert_uint_eq(entries[0].offset, UINT64_MAX);
    ck_assert_str_eq(entries[0].path, "/A");
    free_entries(entries, count);
    free(data);
}
END_TEST

START_TEST(test_decode_header_errors)
{
    assert_body_error("skiff-tail-checkpoint 1\n", 0, "line 1: not a skiff tail checkpoint file");
    assert_body_error("skiff-tail-checkpoints 1 x\n", 0,
                      "line 1: not a skiff tail checkpoint file");
    assert_body_error("\n", 0, "line 1: not a skiff tail checkpoint file");
    assert_body_error("skiff-tail-checkpoints 2\n", 0, "line 1: unsupported version 2");
    assert_body_error("skiff-tail-checkpoints v1\n", 0, "line 1: version is not a number");
    assert_body_error("skiff-tail-checkpoints 99999999999999999999\n", 0,
                      "line 1: version is out of range");
    assert_decode_error("", "truncated (no end line)");
    struct checkpoint_entry *entries;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(NULL, 0, &entries, &count, &error), -1);
    ck_assert_str_eq(error, "truncated (no end line)");
    free(error);
    assert_decode_error("skiff-tail-checkpoints 1", "truncated (no end line)");
}
END_TEST

START_TEST(test_decode_number_errors)
{
    assert_body_error(HEADER "1 2 3 0000000a x /p\n", 1, "line 2: offset is not a number");
    assert_body_error(HEADER "-1 2 3 0000000a 5 /p\n", 1, "line 2: dev is not a number");
    assert_body_error(HEADER "1 +2 3 0000000a 5 /p\n", 1, "line 2: ino is not a number");
    assert_body_error(HEADER "1 2 3 0000000a 5\t /p\n", 1, "line 2: offset is not a number");
    assert_body_error(HEADER "1 2 3 0000000a 0x5 /p\n", 1, "line 2: offset is not a number");
    assert_body_error(HEADER "1 2  0000000a 5 /p\n", 1, "line 2: fp_len is not a number");
    assert_body_error(HEADER "1 2 3 0000000a 5\n", 1, "line 2: expected 6 fields, found 5");
    assert_body_error(HEADER "1 2 3 0000000a 5 /a b\n", 1, "line 2: expected 6 fields, found 7");
    assert_body_error(HEADER "\n", 1, "line 2: expected 6 fields, found 1");
}
END_TEST

START_TEST(test_decode_range_errors)
{
    assert_body_error(HEADER "18446744073709551616 2 3 0000000a 5 /p\n", 1,
                      "line 2: dev is out of range");
    assert_body_error(HEADER "1 99999999999999999999 3 0000000a 5 /p\n", 1,
                      "line 2: ino is out of range");
    assert_body_error(HEADER "1 2 3 0000000a 18446744073709551616 /p\n", 1,
                      "line 2: offset is out of range");
    assert_body_error(HEADER "1 2 4294967296 0000000a 5 /p\n", 1, "line 2: fp_len is out of range");
    assert_body_error(HEADER "1 2 4294967295 0000000a 5 /p\n", 1,
                      "line 2: fp_len 4294967295 is more than 64");
    assert_body_error(HEADER "1 2 65 0000000a 5 /p\n", 1, "line 2: fp_len 65 is more than 64");
}
END_TEST

START_TEST(test_decode_hex_errors)
{
    assert_body_error(HEADER "1 2 3 0000000g 5 /p\n", 1, "line 2: fp_crc is not 8 hex digits");
    assert_body_error(HEADER "1 2 3 000000a 5 /p\n", 1, "line 2: fp_crc is not 8 hex digits");
    assert_body_error(HEADER "1 2 3 00000000a 5 /p\n", 1, "line 2: fp_crc is not 8 hex digits");
    assert_body_error(HEADER "1 2 3 -0000000 5 /p\n", 1, "line 2: fp_crc is not 8 hex digits");
    assert_decode_error(HEADER "end 0 1234567\n", "line 2: CRC is not 8 hex digits");
    assert_decode_error(HEADER "end 0 1234567x\n", "line 2: CRC is not 8 hex digits");
}
END_TEST

START_TEST(test_decode_path_errors)
{
    assert_body_error(HEADER "1 2 3 0000000a 5 /a%2\n", 1,
                      "line 2: path has a bad escape at byte 3");
    assert_body_error(HEADER "1 2 3 0000000a 5 /a%\n", 1,
                      "line 2: path has a bad escape at byte 3");
    assert_body_error(HEADER "1 2 3 0000000a 5 %zz\n", 1,
                      "line 2: path has a bad escape at byte 1");
    assert_body_error(HEADER "1 2 3 0000000a 5 %2g\n", 1,
                      "line 2: path has a bad escape at byte 1");
    assert_body_error(HEADER "1 2 3 0000000a 5 /a%00b\n", 1,
                      "line 2: path has a bad escape at byte 3");
    assert_body_error(HEADER "1 2 3 0000000a 5 /a\tb\n", 1,
                      "line 2: path has an unescaped byte 0x09");
    assert_body_error(HEADER "1 2 3 0000000a 5 /a\r\n", 1,
                      "line 2: path has an unescaped byte 0x0d");
    assert_body_error(HEADER "1 2 3 0000000a 5 /a\x7f\n", 1,
                      "line 2: path has an unescaped byte 0x7f");
    const char nul_path[] = HEADER "1 2 3 0000000a 5 /a\0b\n";
    struct checkpoint_entry *entries;
    size_t count;
    char *error = NULL;
    ck_assert_int_eq(checkpoint_decode(nul_path, sizeof nul_path - 1, &entries, &count, &error),
                     -1);
    ck_assert_str_eq(error, "line 2: path has an unescaped byte 0x00");
    free(error);
}
END_TEST

START_TEST(test_decode_end_errors)
{
    /* Missing end line. */
    assert_decode_error(HEADER "1 2 3 0000000a 5 /p\n", "truncated (no end line)");
    /* Wrong count, right CRC. */
    assert_body_error(HEADER "1 2 3 0000000a 5 /p\n", 2,
                      "line 3: end line counts 2 entries, found 1");
    assert_body_error(HEADER "1 2 3 0000000a 5 /p\n", 0,
                      "line 3: end line counts 0 entries, found 1");
    /* Right count, wrong CRC. */
    char *valid = with_end(HEADER "1 2 3 0000000a 5 /p\n", 1);
    char *wrong = xstrdup(valid);
    size_t len = strlen(wrong);
    memcpy(wrong + len - 9, "00000000", 8);
    char *expected =
        xasprintf("line 3: CRC mismatch: file says 00000000, content has %.8s", valid + len - 9);
    assert_decode_error(wrong, expected);
    free(expected);
    /* The end line's shape. */
    assert_decode_error(HEADER "end 0\n", "line 2: end line: expected 3 fields, found 2");
    assert_decode_error(HEADER "end\n", "line 2: end line: expected 3 fields, found 1");
    assert_decode_error(HEADER "end x 00000000\n", "line 2: entry count is not a number");
    /* Nothing may follow the end line, and its '\n' is required. */
    char *trailing = xasprintf("%s\n", valid);
    assert_decode_error(trailing, "line 4: data after the end line");
    free(trailing);
    trailing = xasprintf("%sx", valid);
    assert_decode_error(trailing, "line 4: data after the end line");
    free(trailing);
    trailing = xasprintf("%send 1 00000000\n", valid);
    assert_decode_error(trailing, "line 4: data after the end line");
    free(trailing);
    valid[len - 1] = '\0';
    assert_decode_error(valid, "truncated (no end line)");
    free(wrong);
    free(valid);
}
END_TEST

START_TEST(test_decode_duplicate)
{
    assert_body_error(HEADER "1 2 3 0000000a 5 /a\n"
                             "1 3 3 0000000a 5 /b\n"
                             "1 2 4 0000000b 6 /c\n",
                      3, "line 4: duplicate entry for dev 1 ino 2 (first on line 2)");
}
END_TEST

START_TEST(test_decode_every_truncation_fails)
{
    struct buf out = BUF_INIT;
    checkpoint_encode(sample, SAMPLE_COUNT, &out);
    for (size_t len = 0; len < out.len; len++) {
        /* A copy of exactly `len` bytes, so ASan sees any read past the end. */
        char *copy = xmalloc(len ? len : 1);
        memcpy(copy, out.data, len);
        struct checkpoint_entry *entries = (void *)1;
        size_t count = 99;
        char *error = NULL;
        ck_assert_int_eq(checkpoint_decode(copy, len, &entries, &count, &error), -1);
        ck_assert_ptr_null(entries);
        ck_assert_uint_eq(count, 0);
        ck_assert_ptr_nonnull(error);
        free(error);
        free(copy);
    }
    buf_free(&out);
}
END_TEST

START_TEST(test_decode_every_byte_flip_fails)
{
    struct buf out = BUF_INIT;
    checkpoint_encode(sample, SAMPLE_COUNT, &out);
    for (size_t i = 0; i < out.len; i++) {
        out.data[i] ^= 1;
        struct checkpoint_entry *entries;
        size_t count;
        char *error = NULL;
        ck_assert_int_eq(checkpoint_decode(out.data, out.len, &entries, &count, &error), -1);
        free(error);
        out.data[i] ^= 1;
    }
    buf_free(&out);
}
END_TEST

Suite *tail_checkpoint_suite(void)
{
    Suite *s = suite_create("tail_checkpoint");
    TCase *format = tcase_create("format");
    tcase_add_test(format, test_encode_appends);
    tcase_add_test(format, test_encode_empty);
    tcase_add_test(format, test_round_trip);
    tcase_add_test(format, test_decode_accepts_limits);
    tcase_add_test(format, test_decode_header_errors);
    tcase_add_test(format, test_decode_number_errors);
    tcase_add_test(format, test_decode_range_errors);
    tcase_add_test(format, test_decode_hex_errors);
    tcase_add_test(format, test_decode_path_errors);
    tcase_add_test(format, test_decode_end_errors);
    tcase_add_test(format, test_decode_duplicate);
    tcase_add_test(format, test_decode_every_truncation_fails);
    tcase_add_test(format, test_decode_every_byte_flip_fails);
    suite_add_tcase(s, format);
    return s;
}
