/* Unit tests for the cache of timefmt_parse_rfc3339 (the last
 * "YYYY-MM-DDThh:mm:ss" parsed on the thread, and its date): whatever was
 * parsed before, every text gives what it gives with a cold cache, valid or
 * not; the cache never accepts a text that parsing rejects. Texts are parsed
 * from exact-size heap copies, so that ASan catches a read past the end. */
#include "suites.h"

#include "timefmt.h"
#include "xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parsed {
    int rc;
    struct record_time t;
};

static struct parsed parse(const char *s, size_t len)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, s, len);
    struct parsed p = {0, {-42, 42}};
    p.rc = timefmt_parse_rfc3339(copy, len, &p.t);
    free(copy);
    return p;
}

static void prime(const char *s)
{
    parse(s, strlen(s));
}

/* A date no test text has: what follows it is a miss of head and date. */
static const char other_date[] = "1111-11-11T11:11:11Z";

/* `s` parsed after texts that leave the cache cold, holding its date,
 * holding its head, and holding `s` itself: all four must agree. */
static void check_cache_states(const char *s, size_t len)
{
    prime(other_date);
    struct parsed cold = parse(s, len);

    char primer[32];
    const struct {
        const char *name;
        size_t keep; /* bytes of `s` the primer starts with */
        const char *rest;
    } states[] = {
        {"date", 10, "T00:00:00Z"},
        {"date, other separator", 10, " 23:59:59+01:00"},
        {"head", 19, "Z"},
        {"head, other suffix", 19, ".5-05:30"},
    };
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        if (len < states[i].keep)
            continue;
        prime(other_date);
        snprintf(primer, sizeof primer, "%.*s%s", (int)states[i].keep, s, states[i].rest);
        prime(primer);
        struct parsed warm = parse(s, len);
        ck_assert_msg(warm.rc == cold.rc, "%.*s after %s (%s): %d, cold %d", (int)len, s, primer,
                      states[i].name, warm.rc, cold.rc);
        ck_assert_msg(warm.t.sec == cold.t.sec && warm.t.nsec == cold.t.nsec,
                      "%.*s after %s: %lld.%09u, cold %lld.%09u", (int)len, s, primer,
                      (long long)warm.t.sec, warm.t.nsec, (long long)cold.t.sec, cold.t.nsec);
    }
    prime(other_date);
    parse(s, len);
    struct parsed again = parse(s, len);
    ck_assert_msg(again.rc == cold.rc && again.t.sec == cold.t.sec && again.t.nsec == cold.t.nsec,
                  "%.*s twice", (int)len, s);
}

static const char *const texts[] = {
    "2024-05-01T10:15:00.123456789Z",
    "2024-05-01T10:15:00Z",
    "2024-05-01t10:15:00z",
    "2024-05-01 10:15:00.5+02:00",
    "2024-05-01T10:15:00-0530",
    "2024-05-01T10:15:00+23",
    "2024-02-29T23:59:59.999999999999Z", /* leap year */
    "2000-02-29T00:00:00Z",              /* leap year by 400 */
    "1900-02-28T12:00:00Z",
    "0000-01-01T00:00:00+00:00",
    "9999-12-31T23:59:60Z", /* leap second */
    "2016-12-31T23:59:60.5+01:00",
    "1969-12-31T23:59:59.5Z",
    /* rejected */
    "2023-02-29T10:15:00Z", /* not a leap year */
    "1900-02-29T10:15:00Z", /* not a leap year by 100 */
    "2024-04-31T10:15:00Z",
    "2024-13-01T10:15:00Z",
    "2024-00-01T10:15:00Z",
    "2024-05-00T10:15:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T23:60:00Z",
    "2024-05-01T23:59:61Z",
    "2024-05-01T10:15:00",
    "2024-05-01T10:15:00.Z",
    "2024-05-01T10:15:00+24:00",
    "2024-05-01T10:15:00+05:60",
    "2024-05-01T10:15:00Zx",
    "2024-05-01X10:15:00Z",
    "2024-05-01T10:15",
    "2024-05-01",
    "",
};

START_TEST(test_cache_states_agree)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        check_cache_states(texts[i], strlen(texts[i]));
}
END_TEST

/* Every byte of every text replaced by each of a set of bytes, and every
 * text cut at every length: the cache never changes an answer. */
START_TEST(test_cache_mutations_agree)
{
    static const char bytes[] = "0123456789-:T t.Z+x\0";
    char text[64];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t len = strlen(texts[i]);
        for (size_t at = 0; at < len; at++) {
            for (size_t b = 0; b < sizeof bytes - 1; b++) {
                memcpy(text, texts[i], len);
                text[at] = bytes[b];
                check_cache_states(text, len);
            }
            check_cache_states(texts[i], at);
        }
    }
}
END_TEST

/* Absolute answers through each cache state: same head, same date, new
 * date, leap days. */
START_TEST(test_cache_values)
{
    prime(other_date);
    struct parsed p = parse("2024-02-29T10:00:00.25+01:00", 28);
    ck_assert_int_eq(p.rc, 0);
    ck_assert_int_eq(p.t.sec, 1709197200LL);
    ck_assert_uint_eq(p.t.nsec, 250000000);
    p = parse("2024-02-29T10:00:00Z", 20); /* same head, another offset */
    ck_assert_int_eq(p.t.sec, 1709200800LL);
    ck_assert_uint_eq(p.t.nsec, 0);
    p = parse("2024-02-29T10:00:01Z", 20); /* same date */
    ck_assert_int_eq(p.t.sec, 1709200801LL);
    p = parse("2024-02-29T10:00:60Z", 20); /* same date, a leap second */
    ck_assert_int_eq(p.t.sec, 1709200859LL);
    ck_assert_uint_eq(p.t.nsec, 999999999);
    p = parse("2024-02-29T10:00:60.5Z", 22); /* the same head again */
    ck_assert_int_eq(p.t.sec, 1709200859LL);
    ck_assert_uint_eq(p.t.nsec, 999999999);
    p = parse("2023-02-29T10:00:00Z", 20); /* only the year differs */
    ck_assert_int_eq(p.rc, -1);
    ck_assert_int_eq(p.t.sec, -42);        /* untouched */
    p = parse("2024-02-29T10:00:00Z", 20); /* the cache still holds 2024-02-29 */
    ck_assert_int_eq(p.t.sec, 1709200800LL);
    p = parse("2024-03-01T00:00:00Z", 20);
    ck_assert_int_eq(p.t.sec, 1709251200LL);
}
END_TEST

Suite *timefmt_cache_suite(void)
{
    Suite *s = suite_create("timefmt_cache");
    TCase *tc = tcase_create("rfc3339");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cache_states_agree);
    tcase_add_test(tc, test_cache_mutations_agree);
    tcase_add_test(tc, test_cache_values);
    suite_add_tcase(s, tc);
    return s;
}
