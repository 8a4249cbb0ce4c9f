/* Unit tests for timestamp parsing: the RFC 3339 fast path (checked against
 * timegm) and compiled strptime-style formats, including the rules for
 * formats without a year or a date. Every text is parsed from an exact-size
 * heap copy, so that ASan catches a read past the end. */
#include "suites.h"

#include "timefmt.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAY_1_2024 1714521600LL /* 2024-05-01T00:00:00Z */
#define HOUR 3600
#define DAY 86400

static const struct record_time untouched = {-42, 42};

static bool time_eq(struct record_time a, int64_t sec, uint32_t nsec)
{
    return a.sec == sec && a.nsec == nsec;
}

static int rfc3339(const char *s, size_t len, struct record_time *out)
{
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, s, len);
    *out = untouched;
    int rc = timefmt_parse_rfc3339(copy, len, out);
    free(copy);
    return rc;
}

static void check_rfc(const char *s, int64_t sec, uint32_t nsec)
{
    struct record_time t;
    ck_assert_msg(rfc3339(s, strlen(s), &t) == 0, "%s: rejected", s);
    ck_assert_msg(time_eq(t, sec, nsec), "%s: got %lld.%09u, want %lld.%09u", s, (long long)t.sec,
                  t.nsec, (long long)sec, nsec);
}

static void check_rfc_bad(const char *s, size_t len)
{
    struct record_time t;
    ck_assert_msg(rfc3339(s, len, &t) == -1, "%.*s: accepted", (int)len, s);
    ck_assert_msg(time_eq(t, untouched.sec, untouched.nsec), "%.*s: output changed", (int)len, s);
}

static void check_rfc_bad_str(const char *s)
{
    check_rfc_bad(s, strlen(s));
}

START_TEST(test_rfc3339_fractions)
{
    check_rfc("2024-05-01T10:15:00Z", 1714558500, 0);
    check_rfc("2024-05-01T10:15:00.1Z", 1714558500, 100000000);
    check_rfc("2024-05-01T10:15:00.123Z", 1714558500, 123000000);
    check_rfc("2024-05-01T10:15:00.123456Z", 1714558500, 123456000);
    check_rfc("2024-05-01T10:15:00.123456789Z", 1714558500, 123456789);
    check_rfc("2024-05-01T10:15:00.000000001Z", 1714558500, 1);
    /* RFC 3339 allows any number of digits; past nine they are truncated. */
    check_rfc("2024-05-01T10:15:00.1234567899999Z", 1714558500, 123456789);
    check_rfc_bad_str("2024-05-01T10:15:00.Z");
    check_rfc_bad_str("2024-05-01T10:15:00,123Z");
}
END_TEST

START_TEST(test_rfc3339_separators_and_offsets)
{
    check_rfc("2024-05-01t10:15:00z", 1714558500, 0);
    check_rfc("2024-05-01 10:15:00Z", 1714558500, 0);
    check_rfc("2024-05-01T10:15:00+00:00", 1714558500, 0);
    check_rfc("2024-05-01T10:15:00-00:00", 1714558500, 0);
    check_rfc("2024-05-01T10:15:00+02:00", 1714558500 - 2 * HOUR, 0);
    check_rfc("2024-05-01T10:15:00+0200", 1714558500 - 2 * HOUR, 0);
    check_rfc("2024-05-01T10:15:00+02", 1714558500 - 2 * HOUR, 0);
    check_rfc("2024-05-01T10:15:00.5-0530", 1714578300, 500000000);
    check_rfc("2024-05-01T10:15:00-05:30", 1714578300, 0);
    check_rfc("2024-05-01T10:15:00+05:30", 1714538700, 0);
    check_rfc("2024-05-01T10:15:00+23:59", 1714558500 - 23 * HOUR - 59 * 60, 0);
    check_rfc_bad_str("2024-05-01T10:15:00");
    check_rfc_bad_str("2024-05-01T10:15:00+24:00");
    check_rfc_bad_str("2024-05-01T10:15:00+02:60");
    check_rfc_bad_str("2024-05-01T10:15:00+2:00");
    check_rfc_bad_str("2024-05-01T10:15:00+02:");
    check_rfc_bad_str("2024-05-01T10:15:00+020");
    check_rfc_bad_str("2024-05-01T10:15:00+02:000");
    check_rfc_bad_str("2024-05-01T10:15:00 +02:00");
    check_rfc_bad_str("2024-05-01T10:15:00ZZ");
    check_rfc_bad_str("2024-05-01_10:15:00Z");
    check_rfc_bad_str("2024-05-01T10:15Z");
    check_rfc_bad_str("24-05-01T10:15:00Z");
    check_rfc_bad_str("2024-5-01T10:15:00Z");
    check_rfc_bad_str(" 2024-05-01T10:15:00Z");
    check_rfc_bad_str("+2024-05-01T10:15:00Z");
    check_rfc_bad_str("");
}
END_TEST

START_TEST(test_rfc3339_offsets_cross_boundaries)
{
    /* Into the previous day, month and year. */
    check_rfc("2024-01-01T01:00:00+02:00", 1704063600, 0); /* 2023-12-31T23:00Z */
    /* Into the next year. */
    check_rfc("2023-12-31T23:30:00-01:00", 1704069000, 0); /* 2024-01-01T00:30Z */
    /* Back over a leap day. */
    check_rfc("2024-03-01T00:30:00+01:00", 1709249400, 0); /* 2024-02-29T23:30Z */
    check_rfc("2024-02-29T23:30:00Z", 1709249400, 0);
    check_rfc("1970-01-01T00:30:00+01:00", -1800, 0);
}
END_TEST

START_TEST(test_rfc3339_calendar)
{
    check_rfc("1970-01-01T00:00:00Z", 0, 0);
    check_rfc("1969-12-31T23:59:59.5Z", -1, 500000000);
    check_rfc("1969-12-31T23:59:59.999999999Z", -1, 999999999);
    check_rfc("0000-01-01T00:00:00Z", -62167219200LL, 0);
    check_rfc("9999-12-31T23:59:59.999999999Z", 253402300799LL, 999999999);
    check_rfc("2024-02-29T00:00:00Z", 1709164800, 0);
    check_rfc("2000-02-29T00:00:00Z", 951782400, 0);
    check_rfc_bad_str("2023-02-29T00:00:00Z");
    check_rfc_bad_str("1900-02-29T00:00:00Z");
    check_rfc_bad_str("2024-02-30T00:00:00Z");
    check_rfc_bad_str("2024-04-31T00:00:00Z");
    check_rfc_bad_str("2024-00-01T00:00:00Z");
    check_rfc_bad_str("2024-13-01T00:00:00Z");
    check_rfc_bad_str("2024-01-00T00:00:00Z");
    check_rfc_bad_str("2024-01-32T00:00:00Z");
    check_rfc_bad_str("2024-01-01T24:00:00Z");
    check_rfc_bad_str("2024-01-01T00:60:00Z");
    check_rfc_bad_str("2024-01-01T00:00:61Z");
    /* A leap second stays in its minute, after every other time in it. */
    check_rfc("2016-12-31T23:59:60Z", 1483228799, 999999999);
    check_rfc("2016-12-31T23:59:60.5Z", 1483228799, 999999999);
}
END_TEST

START_TEST(test_rfc3339_garbage_everywhere)
{
    const char *valid[] = {"2024-05-01T10:15:00.123456789Z", "2024-05-01T10:15:00-05:30"};
    const char junk[] = {'x', '/', ' ', '\0', '\xff', '+'};
    for (size_t v = 0; v < sizeof valid / sizeof *valid; v++) {
        size_t len = strlen(valid[v]);
        char text[64];
        for (size_t i = 0; i < len; i++) {
            for (size_t j = 0; j < sizeof junk; j++) {
                memcpy(text, valid[v], len);
                if (text[i] == junk[j])
                    continue;
                text[i] = junk[j];
                struct record_time t;
                /* A space may stand for the T, and "+" for the offset's "-". */
                bool still_valid =
                    (text[i] == ' ' && i == 10) || (v == 1 && text[i] == '+' && i == 19);
                ck_assert_msg((rfc3339(text, len, &t) == 0) == still_valid, "%s with %#x at %zu",
                              valid[v], junk[j], i);
            }
        }
    }
}
END_TEST

START_TEST(test_rfc3339_truncated)
{
    const char *full = "2024-05-01T10:15:00.123456789Z";
    for (size_t len = 0; len < strlen(full); len++)
        check_rfc_bad(full, len);
    /* With an offset, "+05" is itself complete; every other prefix is not. */
    const char *offset = "2024-05-01T10:15:00+05:30";
    for (size_t len = 0; len < strlen(offset); len++) {
        struct record_time t;
        int rc = rfc3339(offset, len, &t);
        ck_assert_msg(rc == (len == 22 ? 0 : -1), "prefix of %zu: %d", len, rc);
    }
}
END_TEST

START_TEST(test_rfc3339_against_timegm)
{
    srand(20240501);
    for (int n = 0; n < 5000; n++) {
        struct tm tm = {0};
        tm.tm_year = rand() % 10000 - 1900;
        tm.tm_mon = rand() % 12;
        tm.tm_mday = 1 + rand() % 31;
        tm.tm_hour = rand() % 24;
        tm.tm_min = rand() % 60;
        tm.tm_sec = rand() % 60;
        int offset_min = rand() % (24 * 60) - 12 * 60;
        unsigned digits = (unsigned)(rand() % 10);
        uint32_t nsec = (uint32_t)(rand() % 1000000000);
        for (unsigned i = digits; i < 9; i++)
            nsec /= 10;
        char fraction[16] = "";
        if (digits > 0)
            snprintf(fraction, sizeof fraction, ".%0*u", (int)digits, nsec);
        for (unsigned i = digits; i < 9; i++)
            nsec *= 10;
        char text[64];
        int year = tm.tm_year + 1900, mon = tm.tm_mon + 1, mday = tm.tm_mday;
        snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", year, mon, mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, fraction, offset_min < 0 ? '-' : '+',
                 abs(offset_min) / 60, abs(offset_min) % 60);
        int64_t want = (int64_t)timegm(&tm) - offset_min * 60;
        struct record_time t;
        int rc = rfc3339(text, strlen(text), &t);
        if (tm.tm_mday != mday) {
            /* timegm normalised a day the month lacks, such as April 31st. */
            ck_assert_msg(rc == -1, "%s: accepted", text);
            continue;
        }
        ck_assert_msg(rc == 0 && time_eq(t, want, nsec), "%s: got %lld.%09u, want %lld.%09u", text,
                      (long long)t.sec, t.nsec, (long long)want, nsec);
    }
}
END_TEST

static struct time_format *compile_ok(const char *format)
{
    char *error = NULL;
    struct time_format *fmt = timefmt_compile(format, &error);
    ck_assert_msg(fmt != NULL, "%s: %s", format, error ? error : "?");
    return fmt;
}

static int parse_at(const char *format, const char *s, int64_t offset, int64_t now,
                    struct record_time *out)
{
    struct time_format *fmt = compile_ok(format);
    size_t len = strlen(s);
    char *copy = xmalloc(len ? len : 1);
    memcpy(copy, s, len);
    *out = untouched;
    int rc = timefmt_parse_at(fmt, copy, len, out, offset, now);
    free(copy);
    timefmt_free(fmt);
    return rc;
}

static void check_fmt_at(const char *format, const char *s, int64_t offset, int64_t now,
                         int64_t sec, uint32_t nsec)
{
    struct record_time t;
    ck_assert_msg(parse_at(format, s, offset, now, &t) == 0, "%s with %s: rejected", s, format);
    ck_assert_msg(time_eq(t, sec, nsec), "%s with %s: got %lld.%09u, want %lld.%09u", s, format,
                  (long long)t.sec, t.nsec, (long long)sec, nsec);
}

static void check_fmt(const char *format, const char *s, int64_t sec, uint32_t nsec)
{
    check_fmt_at(format, s, 0, 0, sec, nsec);
}

static void check_fmt_bad_at(const char *format, const char *s, int64_t now)
{
    struct record_time t;
    ck_assert_msg(parse_at(format, s, 0, now, &t) == -1, "%s with %s: accepted", s, format);
    ck_assert_msg(time_eq(t, untouched.sec, untouched.nsec), "%s: output changed", s);
}

static void check_fmt_bad(const char *format, const char *s)
{
    check_fmt_bad_at(format, s, 0);
}

static void check_compile_error(const char *format, const char *want)
{
    char *error = NULL;
    struct time_format *fmt = timefmt_compile(format, &error);
    ck_assert_msg(fmt == NULL, "%s: compiled", format);
    ck_assert_str_eq(error, want);
    free(error);
}

START_TEST(test_format_iso)
{
    const char *f = "%Y-%m-%dT%H:%M:%S.%L%z";
    check_fmt(f, "2024-05-01T10:15:00.123+02:00", 1714558500 - 2 * HOUR, 123000000);
    check_fmt(f, "2024-05-01T10:15:00.5Z", 1714558500, 500000000);
    check_fmt(f, "2024-05-01T10:15:00.123456789-0530", 1714578300, 123456789);
    /* %L takes any number of digits, %N at most nine. */
    check_fmt(f, "2024-05-01T10:15:00.12345678912345Z", 1714558500, 123456789);
    check_fmt("%Y-%m-%dT%H:%M:%S.%N%z", "2024-05-01T10:15:00.000000001Z", 1714558500, 1);
    check_fmt_bad("%Y-%m-%dT%H:%M:%S.%N%z", "2024-05-01T10:15:00.0000000001Z");
    check_fmt_bad(f, "2024-05-01T10:15:00.Z");
    check_fmt_bad(f, "2024-05-01T10:15:00Z");
    check_fmt_bad(f, "2024-05-01T10:15:00.1");
    check_fmt_bad(f, "2024-05-01T10:15:00.1Z ");
    check_fmt_bad(f, "2024-02-30T10:15:00.1Z");
    check_fmt("%F %T", "2024-05-01 10:15:00", 1714558500, 0);
    check_fmt("%FT%R", "2024-05-01T10:15", 1714558500, 0);
    check_fmt("%D %T", "05/01/24 10:15:00", 1714558500, 0);
    check_fmt("%Y-%m-%dT%H:%M:%S%z", "2016-12-31T23:59:60Z", 1483228799, 999999999);
    check_fmt("%Y%m%d%H%M%S", "20240501101500", 1714558500, 0);
}
END_TEST

START_TEST(test_format_web_servers)
{
    const char *f = "%d/%b/%Y:%H:%M:%S %z";
    check_fmt(f, "01/May/2024:10:15:00 +0200", 1714558500 - 2 * HOUR, 0);
    check_fmt(f, "01/may/2024:10:15:00 -0000", 1714558500, 0);
    check_fmt(f, "01/MAY/2024:10:15:00 +0000", 1714558500, 0);
    check_fmt(f, "1/May/2024:10:15:00 +0000", 1714558500, 0);
    check_fmt("%d/%B/%Y", "01/May/2024", MAY_1_2024, 0);
    check_fmt("%d/%B/%Y", "01/december/2024", 1733011200, 0);
    check_fmt("%d/%b/%Y", "01/Dec/2024", 1733011200, 0);
    check_fmt_bad(f, "01/Mai/2024:10:15:00 +0200");
    check_fmt_bad(f, "01/Ma/2024:10:15:00 +0200");
    check_fmt_bad(f, "01/May/2024:10:15:00");
    check_fmt_bad(f, "01/May/2024 10:15:00 +0200");
    check_fmt_bad(f, "31/Apr/2024:10:15:00 +0200");
    /* RFC 1123, as in HTTP dates: the weekday is read, not checked. */
    const char *http = "%a, %d %b %Y %H:%M:%S %Z";
    check_fmt(http, "Wed, 01 May 2024 10:15:00 GMT", 1714558500, 0);
    check_fmt(http, "Wednesday, 01 May 2024 10:15:00 utc", 1714558500, 0);
    check_fmt(http, "Sun, 01 May 2024 10:15:00 Z", 1714558500, 0);
    check_fmt_bad(http, "Wed, 01 May 2024 10:15:00 CET");
    check_fmt_bad(http, "Wen, 01 May 2024 10:15:00 GMT");
}
END_TEST

START_TEST(test_format_log4j)
{
    const char *f = "%Y-%m-%d %H:%M:%S,%L";
    check_fmt(f, "2024-05-01 10:15:00,123", 1714558500, 123000000);
    /* Without %z the caller's offset applies. */
    check_fmt_at(f, "2024-05-01 10:15:00,123", 2 * HOUR, 0, 1714558500 - 2 * HOUR, 123000000);
    check_fmt_at(f, "2024-05-01 10:15:00,123", -5 * HOUR, 0, 1714558500 + 5 * HOUR, 123000000);
    check_fmt_bad(f, "2024-05-01 10:15:00.123");
    check_fmt_bad(f, "2024-05-01 10:15:00,");
    check_fmt_bad(f, "2024-05-01 10:15:00");
}
END_TEST

START_TEST(test_format_whitespace)
{
    /* Whitespace in the format matches any run, including none. */
    check_fmt("%Y %m %d", "2024 05 01", MAY_1_2024, 0);
    check_fmt("%Y %m %d", "2024\t\t05  \n01", MAY_1_2024, 0);
    check_fmt("%Y %m %d", "20240501", MAY_1_2024, 0);
    check_fmt(" %Y-%m-%d ", "  2024-05-01\t", MAY_1_2024, 0);
    check_fmt("%Y-%m-%d", "2024-05-01", MAY_1_2024, 0);
    check_fmt_bad("%Y-%m-%d", " 2024-05-01");
    check_fmt_bad("%Y-%m-%d", "2024-05-01 ");
    check_fmt_bad("%Y-%m-%d", "2024 -05-01");
    check_fmt("%Y-%m-%e", "2024-05- 1", MAY_1_2024, 0);
    check_fmt("100%% %Y", "100% 2024", 1704067200, 0);
}
END_TEST

START_TEST(test_format_syslog_year)
{
    const char *f = "%b %d %H:%M:%S";
    int64_t noon = MAY_1_2024 + 12 * HOUR;
    check_fmt_at(f, "May  1 10:15:00", 0, noon, 1714558500, 0);
    check_fmt_at("%b %e %H:%M:%S", "May  1 10:15:00", 0, noon, 1714558500, 0);
    check_fmt_at(f, "Jan  1 00:00:00", 0, noon, 1704067200, 0);
    /* Up to a day ahead of now stays this year (clocks and zones differ). */
    check_fmt_at(f, "May  2 10:15:00", 0, noon, 1714644900, 0);
    check_fmt_at(f, "May  3 10:15:00", 0, noon, 1683108900, 0);
    /* December read in January is last December. */
    check_fmt_at(f, "Dec 31 23:59:59", 0, 1735689610, 1735689599, 0);
    /* Feb 29th of a year that lacks it is the year before, if that has one. */
    check_fmt_at(f, "Feb 29 10:00:00", 0, 1736467200, 1709200800, 0);
    check_fmt_bad_at(f, "Feb 29 10:00:00", 1768003200);
    check_fmt_bad_at(f, "Feb 30 10:00:00", 1736467200);
    /* The year is the one at the text's offset: 23:30 UTC on Dec 31st is
     * already January at +01:00. */
    check_fmt_at(f, "Jan  1 00:10:00", HOUR, 1735687800, 1735686600, 0);
    /* A day of the year without a year follows the same rule. */
    check_fmt_at("%j %H", "122 10", 0, noon, MAY_1_2024 + 10 * HOUR, 0);
}
END_TEST

START_TEST(test_format_twelve_hour)
{
    const char *f = "%I:%M:%S %p";
    int64_t late = MAY_1_2024 + 23 * HOUR;
    check_fmt_at(f, "10:15:00 PM", 0, late, 1714601700, 0);
    check_fmt_at(f, "10:15:00 am", 0, late, MAY_1_2024 + 10 * HOUR + 15 * 60, 0);
    check_fmt_at(f, "12:00:00 AM", 0, late, MAY_1_2024, 0);
    check_fmt_at(f, "12:30:00 pm", 0, late, 1714566600, 0);
    check_fmt_at(f, "10:15:00PM", 0, late, 1714601700, 0);
    /* Without a date the time is today's, or yesterday's if that puts it
     * more than an hour ahead (read just after midnight). */
    check_fmt_at(f, "11:59:00 PM", 0, late, 1714607940, 0);
    check_fmt_at(f, "11:59:00 PM", 0, MAY_1_2024 + DAY + 30, 1714607940, 0);
    check_fmt_at(f, "12:30:00 AM", 0, MAY_1_2024 + 30, MAY_1_2024 + 1800, 0);
    check_fmt_at("%H:%M", "10:15", 2 * HOUR, late, 1714558500 - 2 * HOUR, 0);
    check_fmt_bad_at(f, "13:00:00 PM", late);
    check_fmt_bad_at(f, "00:00:00 AM", late);
    check_fmt_bad_at(f, "10:15:00 XM", late);
    check_fmt_bad_at(f, "10:15:00 P", late);
    check_fmt_bad_at(f, "10:15:00", late);
}
END_TEST

START_TEST(test_format_epoch)
{
    check_fmt("%s", "1714558500", 1714558500, 0);
    check_fmt("%s", "0", 0, 0);
    check_fmt("%s", "-1", -1, 0);
    check_fmt("%s", "253402300799", 253402300799LL, 0);
    check_fmt("%s", "-62167219200", -62167219200LL, 0);
    check_fmt("%s.%L", "1714558500.123", 1714558500, 123000000);
    check_fmt("%s.%N", "1714558500.123456789", 1714558500, 123456789);
    /* The fraction counts away from zero: -1.5 is 1.5 s before the epoch. */
    check_fmt("%s.%L", "-1.5", -2, 500000000);
    check_fmt("%s.%L", "-0.25", -1, 750000000);
    check_fmt("%s.%L", "-1.0", -1, 0);
    /* The epoch is absolute: a zone is read and ignored. */
    check_fmt("%s %z", "1714558500 +0200", 1714558500, 0);
    check_fmt_at("%s", "1714558500", 5 * HOUR, 0, 1714558500, 0);
    check_fmt_bad("%s", "253402300800");
    check_fmt_bad("%s", "-62167219201");
    check_fmt_bad("%s", "1714558500123");
    check_fmt_bad("%s", "");
    check_fmt_bad("%s", "-");
    check_fmt_bad("%s", "+1");
    check_fmt_bad("%s", "17145585OO");
    check_fmt_bad("%s.%L", "1714558500");
    check_fmt_bad("%s.%L", "1714558500.");
}
END_TEST

START_TEST(test_format_years_and_days)
{
    check_fmt("%y-%m-%d", "69-01-01", -31536000, 0);
    check_fmt("%y-%m-%d", "68-01-01", 3092601600LL, 0);
    check_fmt("%y-%m-%d", "24-05-01", MAY_1_2024, 0);
    check_fmt("%Y %j", "2024 060", 1709164800, 0);
    check_fmt("%Y %j", "2024 366", 1735603200, 0);
    check_fmt("%Y %j", "2024 1", 1704067200, 0);
    check_fmt_bad("%Y %j", "2023 366");
    check_fmt_bad("%Y %j", "2024 367");
    check_fmt_bad("%Y %j", "2024 000");
    /* Month and day win over a day of the year. */
    check_fmt("%Y-%m-%d %j", "2024-05-01 001", MAY_1_2024, 0);
    check_fmt("%Y", "2024", 1704067200, 0);
    check_fmt("%Y-%m", "2024-05", MAY_1_2024, 0);
    check_fmt("%Y", "0", -62167219200LL, 0);
    check_fmt_bad("%Y", "20245");
    check_fmt_bad("%Y-%m-%d", "2024-13-01");
    check_fmt_bad("%Y-%m-%d", "2024-00-01");
    check_fmt_bad("%Y-%m-%d", "2024-05-32");
    check_fmt_bad("%H:%M:%S", "24:00:00");
    check_fmt_bad("%H:%M:%S", "23:60:00");
    check_fmt_bad("%H:%M:%S", "23:59:61");
    check_fmt_bad("%Y-%m-%d", "2024-05-01x");
    check_fmt_bad("%Y-%m-%d", "2024-05");
    check_fmt_bad("%Y-%m-%d", "");
}
END_TEST

START_TEST(test_format_truncated_everywhere)
{
    const char *f = "%d/%b/%Y:%H:%M:%S.%L %z";
    const char *full = "01/May/2024:10:15:00.123 +02:00";
    struct time_format *fmt = compile_ok(f);
    for (size_t len = 0; len <= strlen(full); len++) {
        char *copy = xmalloc(len ? len : 1);
        memcpy(copy, full, len);
        struct record_time t;
        int rc = timefmt_parse_at(fmt, copy, len, &t, 0, 0);
        /* Only "+02", a whole offset, ends early. */
        bool complete = len == strlen(full) || len == strlen(full) - 3;
        ck_assert_msg((rc == 0) == complete, "prefix of %zu: %d", len, rc);
        free(copy);
    }
    timefmt_free(fmt);
}
END_TEST

START_TEST(test_format_errors)
{
    check_compile_error("%Y-%Q", "time format '%Y-%Q': unknown directive %Q at column 4");
    check_compile_error("%Y %", "time format '%Y %': trailing % at column 4");
    check_compile_error("%", "time format '%': trailing % at column 1");
    check_compile_error("%Y %E", "time format '%Y %E': unknown directive %E at column 4");
    check_compile_error("%Y %\xc3\xa9",
                        "time format '%Y %\xc3\xa9': unknown directive %\xc3 at column 4");
    check_compile_error("%s %Y", "time format '%s %Y': %Y cannot be combined with %s at column 4");
    check_compile_error("%s %T", "time format '%s %T': %T cannot be combined with %s at column 4");
    check_compile_error("%H %s",
                        "time format '%H %s': %s cannot be combined with date or time directives "
                        "at column 4");
    check_compile_error("", "time format '': no date or time directive");
    check_compile_error("%z %a", "time format '%z %a': no date or time directive");
    check_compile_error("%L", "time format '%L': no date or time directive");
}
END_TEST

START_TEST(test_parse_uses_clock)
{
    /* timefmt_parse fills a missing year from the real clock. */
    struct time_format *fmt = compile_ok("%m-%d");
    struct record_time t;
    time_t now = time(NULL);
    ck_assert_int_eq(timefmt_parse(fmt, "01-01", 5, &t, 0), 0);
    struct tm tm;
    gmtime_r(&now, &tm);
    int year = tm.tm_year + 1900;
    struct tm jan1 = {.tm_year = year - 1900, .tm_mday = 1};
    ck_assert_int_eq(t.sec, (int64_t)timegm(&jan1));
    timefmt_free(fmt);
}
END_TEST

Suite *timefmt_suite(void)
{
    Suite *s = suite_create("timefmt");
    TCase *rfc = tcase_create("rfc3339");
    tcase_add_test(rfc, test_rfc3339_fractions);
    tcase_add_test(rfc, test_rfc3339_separators_and_offsets);
    tcase_add_test(rfc, test_rfc3339_offsets_cross_boundaries);
    tcase_add_test(rfc, test_rfc3339_calendar);
    tcase_add_test(rfc, test_rfc3339_garbage_everywhere);
    tcase_add_test(rfc, test_rfc3339_truncated);
    tcase_add_test(rfc, test_rfc3339_against_timegm);
    suite_add_tcase(s, rfc);

    TCase *formats = tcase_create("format");
    tcase_add_test(formats, test_format_iso);
    tcase_add_test(formats, test_format_web_servers);
    tcase_add_test(formats, test_format_log4j);
    tcase_add_test(formats, test_format_whitespace);
    tcase_add_test(formats, test_format_syslog_year);
    tcase_add_test(formats, test_format_twelve_hour);
    tcase_add_test(formats, test_format_epoch);
    tcase_add_test(formats, test_format_years_and_days);
    tcase_add_test(formats, test_format_truncated_everywhere);
    tcase_add_test(formats, test_format_errors);
    tcase_add_test(formats, test_parse_uses_clock);
    suite_add_tcase(s, formats);
    return s;
}
