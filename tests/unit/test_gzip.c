/* gzip_compress_append: what it writes inflates, with zlib (another
 * implementation than the compressor's), to exactly the input; it stays
 * within gzip_compress_bound for input that does not compress; it appends
 * after what the buffer held; and one compressor serves many bodies. */
#include "suites.h"

#include "buf.h"
#include "gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Inflates one gzip member with zlib; returns its length, checks that the
 * member is all of `gz` and that zlib checked its CRC-32 and size. */
static size_t inflate_gzip(const uint8_t *gz, size_t gz_len, uint8_t *out, size_t cap)
{
    z_stream zs = {0};
    ck_assert_int_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
    ck_assert_uint_eq(zs.avail_in, 0);
    size_t n = zs.total_out;
    inflateEnd(&zs);
    return n;
}

static void check_round_trip(struct gzip_compressor *gz, const uint8_t *data, size_t len)
{
    struct buf out = BUF_INIT;
    size_t n = gzip_compress_append(gz, data, len, &out);
    ck_assert_uint_eq(n, out.len);
    ck_assert_uint_le(n, gzip_compress_bound(len));
    ck_assert_mem_eq(out.data, "\x1f\x8b\x08", 3); /* gzip, deflate */
    uint8_t *back = malloc(len + 1);
    ck_assert_uint_eq(inflate_gzip((const uint8_t *)out.data, out.len, back, len + 1), len);
    if (len)
        ck_assert_int_eq(memcmp(back, data, len), 0);
    free(back);
    buf_free(&out);
}

static uint8_t *random_bytes(size_t len, uint64_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(seed >> 56);
    }
    return p;
}

START_TEST(empty_input_is_a_valid_member)
{
    struct gzip_compressor *gz = gzip_compressor_new();
    check_round_trip(gz, (const uint8_t *)"", 0);
    gzip_compressor_free(gz);
}
END_TEST

/* Random bytes do not compress: they must fit the bound at sizes around the
 * 65,535-byte stored block and at a whole batch (5 MiB). */
START_TEST(incompressible_input_fits_the_bound)
{
    static const size_t sizes[] = {1, 100, 65534, 65535, 65536, 131071, 131072, 5u << 20};
    struct gzip_compressor *gz = gzip_compressor_new();
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint8_t *data = random_bytes(sizes[i], i + 1);
        check_round_trip(gz, data, sizes[i]);
        free(data);
    }
    gzip_compressor_free(gz);
}
END_TEST

/* A _bulk body of repeated documents compresses well, and the compressor
 * keeps nothing between bodies: the second body's bytes are the same as
 * a fresh compressor's. */
START_TEST(bulk_bodies_compress_and_inflate)
{
    struct buf body = BUF_INIT;
    for (int i = 0; i < 5000; i++)
        buf_printf(&body,
                   "{\"create\":{\"_index\":\"logs\",\"_id\":\"%08d\"}}\n"
                   "{\"@timestamp\":\"2026-12-05T05:00:%02d.%06dZ\",\"log\":\"GET /cart/%d 200\","
                   "\"kubernetes\":{\"pod_name\":\"cart-7d9f8c6b5-x2k4q\",\"namespace_name\":"
                   "\"shop\"}}\n",
                   i, i % 60, i * 7, i % 97);
    struct gzip_compressor *gz = gzip_compressor_new();
    check_round_trip(gz, (const uint8_t *)body.data, body.len);
    struct buf first = BUF_INIT, again = BUF_INIT;
    gzip_compress_append(gz, body.data, body.len, &first);
    ck_assert_uint_lt(first.len * 5, body.len);
    struct gzip_compressor *fresh = gzip_compressor_new();
    gzip_compress_append(fresh, body.data, body.len, &again);
    ck_assert_uint_eq(first.len, again.len);
    ck_assert_mem_eq(first.data, again.data, first.len);
    gzip_compressor_free(fresh);
    gzip_compressor_free(gz);
    buf_free(&first);
    buf_free(&again);
    buf_free(&body);
}
END_TEST

START_TEST(appends_after_what_the_buffer_holds)
{
    struct gzip_compressor *gz = gzip_compressor_new();
    struct buf out = BUF_INIT;
    buf_append_str(&out, "prefix");
    size_t n = gzip_compress_append(gz, "hello, world", 12, &out);
    ck_assert_uint_eq(out.len, 6 + n);
    ck_assert_mem_eq(out.data, "prefix", 6);
    uint8_t back[32];
    ck_assert_uint_eq(inflate_gzip((const uint8_t *)out.data + 6, n, back, sizeof back), 12);
    ck_assert_mem_eq(back, "hello, world", 12);
    buf_free(&out);
    gzip_compressor_free(gz);
}
END_TEST

Suite *gzip_suite(void)
{
    Suite *s = suite_create("gzip");
    TCase *tc = tcase_create("gzip");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, empty_input_is_a_valid_member);
    tcase_add_test(tc, incompressible_input_fits_the_bound);
    tcase_add_test(tc, bulk_bodies_compress_and_inflate);
    tcase_add_test(tc, appends_after_what_the_buffer_holds);
    suite_add_tcase(s, tc);
    return s;
}
