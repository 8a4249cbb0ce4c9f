/* Unit tests for the block-at-a-time JSON string escaper (json_escape.c):
 * with each implementation (AVX2, SSE2, portable: forced in turn), its
 * output and its count of invalid UTF-8 must be those of escaping one byte
 * at a time, whatever the length and wherever the bytes that need a look
 * fall against the 16- and 32-byte blocks and the reserved spans, however
 * many fall in one block. Also the cache of json_write_time's second. */
#include "suites.h"

#include "buf.h"
#include "json.h"
#include "json_escape.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The reference: one byte at a time, RFC 8259's escapes, UTF-8 checked by
 * utf8_sequence and each invalid maximal subpart replaced by one U+FFFD. */
static void reference_escape(struct buf *out, const unsigned char *p, size_t len, uint64_t *bad)
{
    static const char hex[] = "0123456789abcdef";
    buf_append_byte(out, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            bool valid;
            size_t n = utf8_sequence(p + i, len - i, &valid);
            if (valid) {
                buf_append(out, p + i, n);
            } else {
                buf_append(out, "\xef\xbf\xbd", 3);
                (*bad)++;
            }
            i += n;
            continue;
        }
        const char *short_escape = c == '"'    ? "\\\""
                                   : c == '\\' ? "\\\\"
                                   : c == '\b' ? "\\b"
                                   : c == '\f' ? "\\f"
                                   : c == '\n' ? "\\n"
                                   : c == '\r' ? "\\r"
                                   : c == '\t' ? "\\t"
                                               : NULL;
        if (short_escape) {
            buf_append_str(out, short_escape);
        } else if (c < 0x20 || c == 0x7f) {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf], 0};
            buf_append_str(out, u);
        } else {
            buf_append_byte(out, (char)c);
        }
        i++;
    }
    buf_append_byte(out, '"');
}

/* Escapes `s` both ways with the escaper's current implementation, after
 * some bytes already in the buffer (as in a bulk body), and fails with
 * `what` if they differ. */
static void check_one_implementation(const unsigned char *s, size_t len, const char *what,
                                     const struct buf *want, uint64_t want_bad)
{
    const char *impl = json_escape_impl_name(json_escape_impl_current());
    struct buf got = BUF_INIT;
    struct json_stats stats = {0};
    buf_append_str(&got, "{\"k\":");
    json_write_string(&got, (const char *)s, len, &stats);
    ck_assert_msg(got.len == want->len && memcmp(got.data, want->data, got.len) == 0,
                  "%s, %s (length %zu): got %s, want %.*s", impl, what, len, buf_cstr(&got),
                  (int)want->len, want->data);
    ck_assert_msg(stats.invalid_utf8 == want_bad,
                  "%s, %s (length %zu): %llu replacements, want %llu", impl, what, len,
                  (unsigned long long)stats.invalid_utf8, (unsigned long long)want_bad);
    /* Without stats: the same text. */
    buf_reset(&got);
    buf_append_str(&got, "{\"k\":");
    json_write_string(&got, (const char *)s, len, NULL);
    ck_assert_msg(got.len == want->len && memcmp(got.data, want->data, got.len) == 0,
                  "%s, %s (length %zu), without stats", impl, what, len);
    buf_free(&got);
}

/* The same with every implementation this machine runs (json_escape.h),
 * forced one after the other; the best is in use again afterwards. */
static void check_against_reference(const unsigned char *s, size_t len, const char *what)
{
    struct buf want = BUF_INIT;
    uint64_t want_bad = 0;
    buf_append_str(&want, "{\"k\":");
    reference_escape(&want, s, len, &want_bad);
    enum json_escape_impl best = json_escape_impl_current();
    for (int impl = 0; impl < JSON_ESCAPE_IMPL_COUNT; impl++) {
        if (json_escape_impl_force((enum json_escape_impl)impl) == 0)
            check_one_implementation(s, len, what, &want, want_bad);
    }
    ck_assert_int_eq(json_escape_impl_force(best), 0);
    buf_free(&want);
}

/* Sequences that need a look: ASCII to escape, valid UTF-8 of each length,
 * invalid and truncated UTF-8. */
static const struct {
    const char *bytes;
    size_t len;
} specials[] = {
    {"\0", 1},           {"\x01", 1},
    {"\x1f", 1},         {"\"", 1},
    {"\\", 1},           {"\n", 1},
    {"\t", 1},           {"\x7f", 1},
    {"\x80", 1},         {"\xbf", 1},
    {"\xc0", 1},         {"\xc1\xbf", 2},
    {"\xc3\xa9", 2},     {"\xdf\xbf", 2},
    {"\xe2\x82\xac", 3}, {"\xe2\x82", 2},
    {"\xe0\x80\xaf", 3}, {"\xed\xa0\x80", 3},
    {"\xef\xbf\xbf", 3}, {"\xf0\x9f\x98\x80", 4},
    {"\xf0\x9f\x98", 3}, {"\xf4\x90\x80\x80", 4},
    {"\xf5", 1},         {"\xff", 1},
    {"~ !", 3}, /* the plain bytes next to the special ones */
};
enum { SPECIAL_COUNT = sizeof specials / sizeof specials[0] };

/* Every length 0..80 of plain text with each special sequence at every
 * position (cut short at the end of the string). */
START_TEST(test_every_length_and_position)
{
    unsigned char text[80];
    char what[64];
    for (size_t len = 0; len <= sizeof text; len++) {
        memset(text, 'a', len);
        check_against_reference(text, len, "plain");
        for (size_t k = 0; k < SPECIAL_COUNT; k++) {
            for (size_t at = 0; at < len; at++) {
                memset(text, 'a', len);
                size_t n = specials[k].len < len - at ? specials[k].len : len - at;
                memcpy(text + at, specials[k].bytes, n);
                snprintf(what, sizeof what, "special %zu at %zu", k, at);
                check_against_reference(text, len, what);
            }
        }
    }
}
END_TEST

/* Two sequences around each 16-byte boundary: one ending, one starting, in
 * any pair, at every offset of the first within 12 bytes of the boundary. */
START_TEST(test_sequences_across_blocks)
{
    unsigned char text[48];
    char what[64];
    for (size_t a = 0; a < SPECIAL_COUNT; a++) {
        for (size_t b = 0; b < SPECIAL_COUNT; b++) {
            for (size_t at = 4; at <= 18; at++) {
                memset(text, 'x', sizeof text);
                memcpy(text + at, specials[a].bytes, specials[a].len);
                memcpy(text + at + specials[a].len, specials[b].bytes, specials[b].len);
                snprintf(what, sizeof what, "%zu then %zu at %zu", a, b, at);
                check_against_reference(text, sizeof text, what);
                check_against_reference(text, at + specials[a].len + 1, what);
            }
        }
    }
}
END_TEST

/* Several bytes that need a look in one block, escaped from its mask: each
 * group at every offset 0..70 (across the 16- and 32-byte blocks, up to the
 * last byte of one), in strings that end right after it, at 40 and at 100
 * bytes (spans shorter than a block, a block and a tail, several blocks). */
START_TEST(test_specials_within_one_block)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *what;
    } groups[] = {
        {"a\"b\\c\"d\"", 8, "several apart"},
        {"\"\"\"\\\"", 5, "next to each other"},
        {"\"\x01\"\x1f\"\x7f\"", 7, "controls among quotes"},
        {"\"\xc3\xa9\"", 4, "UTF-8 after a quote"},
        {"\"\xe2\x82\"x\xff\"", 7, "invalid UTF-8 after a quote"},
        {"\"\xf0\x9f\x98\x80\"", 6, "a sequence after a quote"},
        {"x=\"y\" z=\"\\n\"", 12, "a log line's quotes"},
    };
    unsigned char text[100 + 16];
    char what[96];
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        for (size_t at = 0; at <= 70; at++) {
            size_t lens[] = {at + groups[g].len, 40, 100};
            for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
                size_t len = lens[l];
                memset(text, 'm', sizeof text);
                memcpy(text + at, groups[g].bytes, groups[g].len);
                if (len < at + groups[g].len)
                    continue;
                snprintf(what, sizeof what, "%s at %zu", groups[g].what, at);
                check_against_reference(text, len, what);
            }
        }
    }
}
END_TEST

/* A byte to escape at the last byte of every 16- and 32-byte block, with
 * one earlier in the same block or not, and quote-dense text: a quote every
 * `gap` bytes for gaps 1 to 40, strings of 1 to 130 bytes. */
START_TEST(test_specials_at_block_ends)
{
    unsigned char text[130];
    char what[64];
    for (size_t earlier = 0; earlier <= 16; earlier++) {
        memset(text, 'e', sizeof text);
        for (size_t last = 15; last < sizeof text; last += 16) {
            text[last] = last % 32 == 31 ? '"' : '\n';
            if (earlier < 16)
                text[last - 15 + earlier] = earlier % 2 ? '\\' : 0x02;
        }
        for (size_t len = 1; len <= sizeof text; len++) {
            snprintf(what, sizeof what, "block ends, earlier at %zu", earlier);
            check_against_reference(text, len, what);
        }
    }
    for (size_t gap = 1; gap <= 40; gap++) {
        for (size_t i = 0; i < sizeof text; i++)
            text[i] = (unsigned char)(i % gap == gap - 1 ? '"' : 'q');
        for (size_t len = 1; len <= sizeof text; len++) {
            snprintf(what, sizeof what, "a quote every %zu", gap);
            check_against_reference(text, len, what);
        }
    }
}
END_TEST

static uint64_t rng_state;

static uint32_t rng_next(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* The implementations this machine should run are there: portable always,
 * SSE2 on every x86-64, AVX2 where the CPU has it; one that is not is
 * refused and changes nothing. */
START_TEST(test_implementations_available)
{
    ck_assert(json_escape_impl_available(JSON_ESCAPE_PORTABLE));
#if defined(__x86_64__)
    ck_assert(json_escape_impl_available(JSON_ESCAPE_SSE2));
    ck_assert_int_eq(json_escape_impl_available(JSON_ESCAPE_AVX2),
                     __builtin_cpu_supports("avx2") != 0);
    ck_assert_int_eq(json_escape_impl_current(),
                     __builtin_cpu_supports("avx2") ? JSON_ESCAPE_AVX2 : JSON_ESCAPE_SSE2);
#endif
    enum json_escape_impl before = json_escape_impl_current();
    ck_assert_int_eq(json_escape_impl_force(JSON_ESCAPE_IMPL_COUNT), -1);
    ck_assert_int_eq(json_escape_impl_current(), before);
    ck_assert_str_eq(json_escape_impl_name(JSON_ESCAPE_AVX2), "avx2");
}
END_TEST

/* Runs of 0 to 100 clean bytes between specials, at every offset against
 * the 32-byte blocks of the AVX2 scan and the 16-byte ones of the others,
 * and clean strings of every length to 200 (whole blocks, then a tail). */
START_TEST(test_runs_across_wide_blocks)
{
    unsigned char text[240];
    char what[64];
    for (size_t len = 0; len <= 200; len++) {
        memset(text, 'b', len);
        check_against_reference(text, len, "clean");
    }
    for (size_t run = 0; run <= 100; run++) {
        for (size_t lead = 0; lead < 33; lead += 4) {
            size_t len = 0;
            memset(text, 'c', lead);
            len = lead;
            while (len + run + 2 <= sizeof text) {
                memset(text + len, 'z', run);
                len += run;
                text[len++] = (unsigned char)(run % 3 == 0 ? '"' : run % 3 == 1 ? '\n' : 0xc3);
                if (run % 3 == 2)
                    text[len++] = 0xa9;
            }
            snprintf(what, sizeof what, "runs of %zu after %zu", run, lead);
            check_against_reference(text, len, what);
        }
    }
}
END_TEST

/* json_write_key: the string's JSON between an optional comma and a colon,
 * with each implementation, for keys short and long, clean or not. */
START_TEST(test_keys)
{
    unsigned char key[48];
    struct buf got = BUF_INIT, want = BUF_INIT;
    enum json_escape_impl best = json_escape_impl_current();
    for (int impl = 0; impl < JSON_ESCAPE_IMPL_COUNT; impl++) {
        if (json_escape_impl_force((enum json_escape_impl)impl) < 0)
            continue;
        for (size_t len = 0; len <= sizeof key; len++) {
            for (size_t at = 0; at <= len; at++) { /* at == len: clean */
                memset(key, 'k', len);
                if (at < len)
                    key[at] = at % 2 ? '"' : 0xff;
                for (int comma = 0; comma < 2; comma++) {
                    uint64_t bad = 0;
                    struct json_stats stats = {0};
                    buf_reset(&got);
                    buf_reset(&want);
                    buf_append_str(&want, comma ? "{\"a\":1," : "{");
                    reference_escape(&want, key, len, &bad);
                    buf_append_byte(&want, ':');
                    buf_append_str(&got, comma ? "{\"a\":1" : "{");
                    json_write_key(&got, (const char *)key, len, comma, &stats);
                    ck_assert_str_eq(buf_cstr(&got), buf_cstr(&want));
                    ck_assert_uint_eq(stats.invalid_utf8, bad);
                }
            }
        }
    }
    ck_assert_int_eq(json_escape_impl_force(best), 0);
    buf_free(&got);
    buf_free(&want);
}
END_TEST

/* Random strings: mostly printable ASCII with quotes, controls, valid UTF-8
 * and raw bytes mixed in at several densities (fixed seed). */
START_TEST(test_random_strings)
{
    rng_state = 20241205;
    unsigned char text[700];
    for (int round = 0; round < 3000; round++) {
        size_t len = rng_next() % sizeof text;
        uint32_t density = 1 + rng_next() % 64; /* one special in `density` bytes */
        size_t i = 0;
        while (i < len) {
            if (rng_next() % density) {
                text[i++] = (unsigned char)(0x20 + rng_next() % 0x5f);
                continue;
            }
            uint32_t pick = rng_next() % 3;
            if (pick == 0) {
                text[i++] = (unsigned char)(rng_next() & 0xff); /* any byte */
            } else {
                size_t k = rng_next() % SPECIAL_COUNT;
                for (size_t j = 0; j < specials[k].len && i < len; j++)
                    text[i++] = (unsigned char)specials[k].bytes[j];
            }
        }
        check_against_reference(text, len, "random");
    }
}
END_TEST

/* Longer than one reserved span (4096 bytes): multi-byte sequences and
 * escapes at every phase against the span boundaries, and the buffer grows
 * to what the output needs, not six times the input. */
START_TEST(test_long_strings)
{
    static unsigned char text[3 * 4096 + 100];
    static const char *const units[] = {"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\"",
                                        "\xe2\x82",     "\xc3\xa9",         "\n"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        for (size_t phase = 0; phase < 5; phase++) {
            size_t len = 0;
            memset(text, 'a', phase);
            len = phase;
            while (len + 4 <= sizeof text) {
                memcpy(text + len, units[u], strlen(units[u]));
                len += strlen(units[u]);
            }
            check_against_reference(text, len, units[u]);
        }
    }
    memset(text, 'a', sizeof text);
    struct buf out = BUF_INIT;
    json_write_string(&out, (const char *)text, sizeof text, NULL);
    ck_assert_uint_eq(out.len, sizeof text + 2);
    ck_assert_uint_le(out.cap, 2 * (sizeof text + 6 * 4096));
    buf_free(&out);
}
END_TEST

static const char *time_text(struct buf *out, int64_t sec, uint32_t nsec)
{
    buf_reset(out);
    json_write_time(out, (struct record_time){sec, nsec});
    return buf_cstr(out);
}

/* The second is rendered once and reused: times in the same second, in the
 * one after, going back, and around clamping give what a cold cache gives. */
START_TEST(test_time_cache)
{
    struct buf out = BUF_INIT, cold = BUF_INIT;
    static const int64_t secs[] = {
        1714558500,
        1714558500,
        1714558501,
        1714558500,
        951782399,
        951782400,
        951868800,
        -1,
        -1,
        0,
        -86400,
        INT64_MIN,
        INT64_MIN,
        INT64_MAX,
        INT64_MAX,
        253402300799LL,
        -62167219200LL,
        -62167219201LL,
    };
    static const uint32_t nsecs[] = {0, 1, 999999999, 123456789, 1000000000, 4000000000u};
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        for (size_t j = 0; j < sizeof nsecs / sizeof nsecs[0]; j++) {
            time_text(&cold, 1000000000, 0); /* another second: a cache miss next */
            time_text(&cold, secs[i], nsecs[j]);
            /* The second time: a hit; the third after another nsec: a hit. */
            ck_assert_str_eq(time_text(&out, secs[i], nsecs[j]), buf_cstr(&cold));
            time_text(&out, secs[i], 5);
            ck_assert_str_eq(time_text(&out, secs[i], nsecs[j]), buf_cstr(&cold));
        }
    }
    ck_assert_str_eq(time_text(&out, 1714558500, 7), "\"2024-05-01T10:15:00.000000007Z\"");
    ck_assert_str_eq(time_text(&out, 1714558500, 8), "\"2024-05-01T10:15:00.000000008Z\"");
    ck_assert_str_eq(time_text(&out, 1714558501, 8), "\"2024-05-01T10:15:01.000000008Z\"");
    ck_assert_str_eq(time_text(&out, INT64_MIN, 8), "\"0000-01-01T00:00:00.000000000Z\"");
    ck_assert_str_eq(time_text(&out, INT64_MAX, 8), "\"9999-12-31T23:59:59.999999999Z\"");
    ck_assert_str_eq(time_text(&out, 253402300799LL, 8), "\"9999-12-31T23:59:59.000000008Z\"");
    buf_free(&out);
    buf_free(&cold);
}
END_TEST

Suite *json_escape_suite(void)
{
    Suite *s = suite_create("json_escape");
    TCase *tc = tcase_create("escape");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_implementations_available);
    tcase_add_test(tc, test_every_length_and_position);
    tcase_add_test(tc, test_runs_across_wide_blocks);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_sequences_across_blocks);
    tcase_add_test(tc, test_specials_within_one_block);
    tcase_add_test(tc, test_specials_at_block_ends);
    tcase_add_test(tc, test_random_strings);
    tcase_add_test(tc, test_long_strings);
    tcase_add_test(tc, test_time_cache);
    suite_add_tcase(s, tc);
    return s;
}
