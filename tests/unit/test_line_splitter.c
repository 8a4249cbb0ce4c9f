/* The tail input's line splitter: lines within and across reads, offsets, long
 * lines skipped or split, flush, reset, and the bound on carried-over bytes. */
#include "suites.h"

#include "plugins/in_tail/line_splitter.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct seen_line {
    char *data;
    size_t len;
    uint64_t end_offset;
    const char *at; /* where the callback's pointer pointed */
};

struct seen {
    struct seen_line *lines;
    size_t count;
    size_t cap;
};

static void collect(void *ctx, const char *line, size_t len, uint64_t end_offset)
{
    struct seen *seen = ctx;
    seen->lines = xgrow(seen->lines, &seen->cap, seen->count + 1, sizeof *seen->lines);
    struct seen_line *l = &seen->lines[seen->count++];
    l->data = xstrndup(line, len);
    l->len = len;
    l->end_offset = end_offset;
    l->at = line;
}

static void seen_free(struct seen *seen)
{
    for (size_t i = 0; i < seen->count; i++)
        free(seen->lines[i].data);
    free(seen->lines);
    memset(seen, 0, sizeof *seen);
}

static void assert_line(const struct seen *seen, size_t i, const char *text, uint64_t end_offset)
{
    ck_assert_uint_gt(seen->count, i);
    ck_assert_uint_eq(seen->lines[i].len, strlen(text));
    ck_assert_mem_eq(seen->lines[i].data, text, strlen(text));
    ck_assert_uint_eq(seen->lines[i].end_offset, end_offset);
}

static void feed_str(struct line_splitter *s, const char *text, uint64_t offset, struct seen *seen)
{
    line_splitter_feed(s, text, strlen(text), offset, collect, seen);
}

/* Feeds `text` from file offset `offset` in reads of `step` bytes. */
static void feed_in_steps(struct line_splitter *s, const char *text, uint64_t offset, size_t step,
                          struct seen *seen)
{
    size_t len = strlen(text);
    for (size_t pos = 0; pos < len; pos += step) {
        size_t n = len - pos < step ? len - pos : step;
        line_splitter_feed(s, text + pos, n, offset + pos, collect, seen);
    }
}

START_TEST(test_lines_in_one_block)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 100, true);
    const char block[] = "a\nbb\nccc\n";
    line_splitter_feed(&s, block, sizeof block - 1, 100, collect, &seen);
    ck_assert_uint_eq(seen.count, 3);
    assert_line(&seen, 0, "a", 102);
    assert_line(&seen, 1, "bb", 105);
    assert_line(&seen, 2, "ccc", 109);
    /* Handed on from the caller's block, not copied. */
    ck_assert_ptr_eq(seen.lines[0].at, block);
    ck_assert_ptr_eq(seen.lines[1].at, block + 2);
    ck_assert_ptr_eq(seen.lines[2].at, block + 5);
    ck_assert_uint_eq(s.lines, 3);
    ck_assert_uint_eq(line_splitter_pending(&s), 0);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_line_across_two_feeds)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 100, true);
    feed_str(&s, "hel", 50, &seen);
    ck_assert_uint_eq(seen.count, 0);
    ck_assert_uint_eq(line_splitter_pending(&s), 3);
    feed_str(&s, "lo\nwor", 53, &seen);
    ck_assert_uint_eq(seen.count, 1);
    assert_line(&seen, 0, "hello", 56);
    ck_assert_uint_eq(line_splitter_pending(&s), 3);
    feed_str(&s, "ld\n", 59, &seen);
    assert_line(&seen, 1, "world", 62);
    ck_assert_uint_eq(line_splitter_pending(&s), 0);
    ck_assert_uint_eq(s.lines, 2);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_one_byte_feeds)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 100, true);
    feed_in_steps(&s, "ab\n\ncde\nf", 0, 1, &seen);
    ck_assert_uint_eq(seen.count, 3);
    assert_line(&seen, 0, "ab", 3);
    assert_line(&seen, 1, "", 4);
    assert_line(&seen, 2, "cde", 8);
    ck_assert_uint_eq(line_splitter_pending(&s), 1);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_empty_lines)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 100, true);
    feed_str(&s, "\n\nx\n\n", 10, &seen);
    ck_assert_uint_eq(seen.count, 4);
    assert_line(&seen, 0, "", 11);
    assert_line(&seen, 1, "", 12);
    assert_line(&seen, 2, "x", 14);
    assert_line(&seen, 3, "", 15);
    ck_assert_uint_eq(s.lines, 4);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_crlf_kept)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 100, true);
    feed_str(&s, "a\r\nbc\r", 0, &seen);
    feed_str(&s, "\n", 6, &seen);
    ck_assert_uint_eq(seen.count, 2);
    assert_line(&seen, 0, "a\r", 3);
    assert_line(&seen, 1, "bc\r", 7);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_flush_final_line)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 100, true);
    feed_str(&s, "x\nlast", 0, &seen);
    ck_assert_uint_eq(seen.count, 1);
    ck_assert_uint_eq(line_splitter_pending(&s), 4);
    ck_assert(line_splitter_flush(&s, 6, collect, &seen));
    ck_assert_uint_eq(seen.count, 2);
    assert_line(&seen, 1, "last", 6);
    ck_assert_uint_eq(line_splitter_pending(&s), 0);
    ck_assert(!line_splitter_flush(&s, 6, collect, &seen));
    ck_assert_uint_eq(seen.count, 2);
    ck_assert_uint_eq(s.lines, 2);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_long_line_skipped_in_one_block)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 4, true);
    feed_str(&s, "ok\n0123456789\nnext\n", 0, &seen);
    ck_assert_uint_eq(seen.count, 2);
    assert_line(&seen, 0, "ok", 3);
    assert_line(&seen, 1, "next", 19);
    ck_assert_uint_eq(s.long_skipped, 1);
    ck_assert_uint_eq(s.long_split, 0);
    ck_assert_uint_eq(s.lines, 2);
    ck_assert(!s.skipping);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_long_line_skipped_across_feeds)
{
    const char *text = "ab\n0123456789abcdefghij\ntail\n";
    for (size_t step = 1; step <= 8; step++) {
        struct line_splitter s;
        struct seen seen = {0};
        line_splitter_init(&s, 4, true);
        feed_in_steps(&s, text, 1000, step, &seen);
        ck_assert_uint_eq(seen.count, 2);
        assert_line(&seen, 0, "ab", 1003);
        assert_line(&seen, 1, "tail", 1029);
        ck_assert_uint_eq(s.long_skipped, 1);
        ck_assert_uint_eq(s.lines, 2);
        ck_assert(!s.skipping);
        seen_free(&seen);
        line_splitter_free(&s);
    }
}
END_TEST

START_TEST(test_long_line_skipping_state)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 4, true);
    feed_str(&s, "abc", 0, &seen);
    feed_str(&s, "defg", 3, &seen);
    ck_assert(s.skipping);
    ck_assert_uint_eq(line_splitter_pending(&s), 0);
    feed_str(&s, "hijk", 7, &seen);
    ck_assert(s.skipping);
    ck_assert_uint_eq(s.long_skipped, 1);
    /* A flush while skipping hands nothing on and ends the skip. */
    ck_assert(!line_splitter_flush(&s, 11, collect, &seen));
    ck_assert(!s.skipping);
    feed_str(&s, "new\n", 11, &seen);
    ck_assert_uint_eq(seen.count, 1);
    assert_line(&seen, 0, "new", 15);
    ck_assert_uint_eq(s.long_skipped, 1);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_long_line_split)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 4, false);
    feed_str(&s, "0123456789\nok\n", 10, &seen);
    ck_assert_uint_eq(seen.count, 4);
    assert_line(&seen, 0, "0123", 14);
    assert_line(&seen, 1, "4567", 18);
    assert_line(&seen, 2, "89", 21);
    assert_line(&seen, 3, "ok", 24);
    ck_assert_uint_eq(s.long_split, 1);
    ck_assert_uint_eq(s.long_skipped, 0);
    ck_assert_uint_eq(s.lines, 4);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_long_line_split_across_feeds)
{
    /* Two long lines, one a multiple of max_line: its last piece is full. */
    const char *text = "0123456789\nabcdefgh\nok\n";
    for (size_t step = 1; step <= 12; step++) {
        struct line_splitter s;
        struct seen seen = {0};
        line_splitter_init(&s, 4, false);
        feed_in_steps(&s, text, 0, step, &seen);
        ck_assert_uint_eq(seen.count, 6);
        assert_line(&seen, 0, "0123", 4);
        assert_line(&seen, 1, "4567", 8);
        assert_line(&seen, 2, "89", 11);
        assert_line(&seen, 3, "abcd", 15);
        assert_line(&seen, 4, "efgh", 20);
        assert_line(&seen, 5, "ok", 23);
        ck_assert_uint_eq(s.long_split, 2);
        ck_assert_uint_eq(s.lines, 6);
        ck_assert_uint_eq(line_splitter_pending(&s), 0);
        seen_free(&seen);
        line_splitter_free(&s);
    }
}
END_TEST

START_TEST(test_long_line_split_then_flush)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 4, false);
    feed_str(&s, "0123456", 0, &seen);
    ck_assert_uint_eq(seen.count, 1);
    assert_line(&seen, 0, "0123", 4);
    ck_assert_uint_eq(line_splitter_pending(&s), 3);
    ck_assert(line_splitter_flush(&s, 7, collect, &seen));
    assert_line(&seen, 1, "456", 7);
    ck_assert_uint_eq(s.long_split, 1);
    /* The next line is a line of its own, not the rest of the long one. */
    feed_str(&s, "012345\n", 7, &seen);
    ck_assert_uint_eq(seen.count, 4);
    assert_line(&seen, 2, "0123", 11);
    assert_line(&seen, 3, "45", 14);
    ck_assert_uint_eq(s.long_split, 2);
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

START_TEST(test_line_of_exactly_max_line)
{
    for (int skip = 0; skip <= 1; skip++) {
        struct line_splitter s;
        struct seen seen = {0};
        line_splitter_init(&s, 4, skip);
        feed_str(&s, "abcd\n", 0, &seen);
        feed_str(&s, "efgh", 5, &seen);
        ck_assert_uint_eq(line_splitter_pending(&s), 4);
        feed_str(&s, "\n", 9, &seen);
        ck_assert_uint_eq(seen.count, 2);
        assert_line(&seen, 0, "abcd", 5);
        assert_line(&seen, 1, "efgh", 10);
        ck_assert_uint_eq(s.long_skipped, 0);
        ck_assert_uint_eq(s.long_split, 0);
        seen_free(&seen);
        line_splitter_free(&s);
    }
}
END_TEST

START_TEST(test_reset_forgets_partial)
{
    struct line_splitter s;
    struct seen seen = {0};
    line_splitter_init(&s, 4, true);
    feed_str(&s, "abc", 0, &seen);
    line_splitter_reset(&s);
    ck_assert_uint_eq(line_splitter_pending(&s), 0);
    feed_str(&s, "de\n", 0, &seen);
    ck_assert_uint_eq(seen.count, 1);
    assert_line(&seen, 0, "de", 3);
    /* Also in the middle of a skipped line. */
    feed_str(&s, "0123456", 3, &seen);
    ck_assert(s.skipping);
    line_splitter_reset(&s);
    ck_assert(!s.skipping);
    feed_str(&s, "fg\n", 0, &seen);
    assert_line(&seen, 1, "fg", 3);
    ck_assert(!line_splitter_flush(&s, 3, collect, &seen));
    seen_free(&seen);
    line_splitter_free(&s);
}
END_TEST

static void count_piece(void *ctx, const char *line, size_t len, uint64_t end_offset)
{
    struct seen *seen = ctx;
    seen->lines = xgrow(seen->lines, &seen->cap, seen->count + 1, sizeof *seen->lines);
    seen->lines[seen->count++] = (struct seen_line){NULL, len, end_offset, line};
}

/* A 5 MiB line read 4 KiB at a time never makes the splitter hold more than
 * max_line (1 MiB), whether it is skipped or split. */
START_TEST(test_memory_bound)
{
    const size_t mib = 1024 * 1024, line_len = 5 * mib, step = 4096;
    char *text = xmalloc(line_len + 6);
    memset(text, 'x', line_len);
    memcpy(text + line_len, "\nok\n", 4);
    size_t total = line_len + 4;
    for (int skip = 0; skip <= 1; skip++) {
        struct line_splitter s;
        struct seen seen = {0};
        line_splitter_init(&s, mib, skip);
        for (size_t pos = 0; pos < total; pos += step) {
            size_t n = total - pos < step ? total - pos : step;
            line_splitter_feed(&s, text + pos, n, pos, count_piece, &seen);
            ck_assert_uint_le(s.partial.len, mib);
        }
        ck_assert_uint_le(s.partial.cap, mib);
        if (skip) {
            ck_assert_uint_eq(seen.count, 1);
            ck_assert_uint_eq(s.long_skipped, 1);
        } else {
            ck_assert_uint_eq(seen.count, 6);
            for (size_t i = 0; i < 5; i++) {
                ck_assert_uint_eq(seen.lines[i].len, mib);
                ck_assert_uint_eq(seen.lines[i].end_offset, (i + 1) * mib + (i == 4));
            }
            ck_assert_uint_eq(s.long_split, 1);
        }
        struct seen_line *last = &seen.lines[seen.count - 1];
        ck_assert_uint_eq(last->len, 2);
        ck_assert_mem_eq(last->at, "ok", 2);
        ck_assert_uint_eq(last->end_offset, total);
        free(seen.lines);
        line_splitter_free(&s);
    }
    free(text);
}
END_TEST

Suite *line_splitter_suite(void)
{
    Suite *s = suite_create("line_splitter");
    TCase *tc = tcase_create("line_splitter");
    tcase_add_test(tc, test_lines_in_one_block);
    tcase_add_test(tc, test_line_across_two_feeds);
    tcase_add_test(tc, test_one_byte_feeds);
    tcase_add_test(tc, test_empty_lines);
    tcase_add_test(tc, test_crlf_kept);
    tcase_add_test(tc, test_flush_final_line);
    tcase_add_test(tc, test_long_line_skipped_in_one_block);
    tcase_add_test(tc, test_long_line_skipped_across_feeds);
    tcase_add_test(tc, test_long_line_skipping_state);
    tcase_add_test(tc, test_long_line_split);
    tcase_add_test(tc, test_long_line_split_across_feeds);
    tcase_add_test(tc, test_long_line_split_then_flush);
    tcase_add_test(tc, test_line_of_exactly_max_line);
    tcase_add_test(tc, test_reset_forgets_partial);
    tcase_add_test(tc, test_memory_bound);
    suite_add_tcase(s, tc);
    return s;
}
