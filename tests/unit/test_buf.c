/* The growable byte buffer's growth policy: small buffers double, large ones
 * grow by half, so a large buffer still filling holds at most half again
 * its content and never more than doubling gave; and buf_capacity_bound is
 * the most any growth gives. */
#include "suites.h"

#include "buf.h"

#include <stdlib.h>
#include <string.h>

START_TEST(test_small_buffers_double)
{
    struct buf b = BUF_INIT;
    buf_append_byte(&b, 'x');
    ck_assert_uint_eq(b.cap, 64);
    char piece[100] = {0};
    buf_append(&b, piece, sizeof piece);
    ck_assert_uint_eq(b.cap, 128);
    buf_reserve(&b, 40000);
    ck_assert_uint_eq(b.cap, 65536);
    buf_free(&b);
}
END_TEST

/* A buffer filled record by record past 64 KiB (an open chunk) never holds
 * more than half again its content, plus a page. */
START_TEST(test_large_buffers_grow_by_half)
{
    struct buf b = BUF_INIT;
    char record[1237];
    memset(record, 'r', sizeof record);
    size_t grows = 0, cap = 0;
    while (b.len < (size_t)3 << 20) {
        buf_append(&b, record, sizeof record);
        if (b.cap != cap) {
            grows++;
            cap = b.cap;
        }
        size_t doubled = 64;
        while (doubled < b.len)
            doubled *= 2;
        ck_assert_uint_le(b.cap, doubled); /* never more than doubling gave */
        if (b.cap > BUF_DOUBLING_LIMIT) {
            ck_assert_uint_le(b.cap, b.len + b.len / 2 + 4096);
            ck_assert_uint_eq(b.cap % 4096, 0);
        }
    }
    ck_assert_uint_le(grows, 20); /* still geometric: 11 doublings, 9 steps of 1.5x */
    buf_free(&b);
}
END_TEST

START_TEST(test_capacity_bound_covers_every_growth)
{
    size_t sizes[] = {1, 64, 65, 4096, 65536, 65537, 100000, 5 << 20, (5 << 20) + 1};
    size_t steps[] = {1, 1237, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (size_t j = 0; j < sizeof steps / sizeof *steps; j++) {
            struct buf b = BUF_INIT;
            size_t step = steps[j] < sizes[i] ? steps[j] : sizes[i];
            while (b.len + step <= sizes[i]) {
                buf_reserve(&b, step);
                b.len += step;
            }
            ck_assert_uint_le(b.cap, buf_capacity_bound(sizes[i]));
            buf_free(&b);
        }
        ck_assert_uint_ge(buf_capacity_bound(sizes[i]), sizes[i]);
        ck_assert_uint_le(buf_capacity_bound(sizes[i]), sizes[i] + sizes[i] / 2 + 4096);
    }
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_small_buffers_double);
    tcase_add_test(tc, test_large_buffers_grow_by_half);
    tcase_add_test(tc, test_capacity_bound_covers_every_growth);
    suite_add_tcase(s, tc);
    return s;
}
