/* Unit tests for IANA time zones read from the system's zoneinfo: offsets
 * checked against the C library's localtime_r in the same zone over two
 * centuries (the transition table and, past it, the footer's POSIX rule),
 * wall-clock times in the skipped and the repeated hour, formats parsed in a
 * zone, and zones that do not exist. */
#include "suites.h"

#include "timefmt.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR 3600

static struct time_zone *load(const char *name)
{
    char *error = NULL;
    struct time_zone *zone = timefmt_zone_load(name, &error);
    ck_assert_msg(zone, "%s: %s", name, error ? error : "?");
    return zone;
}

/* The offset the C library gives at `t` (in the zone TZ names). */
static long libc_offset(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

/* Between `from` and `to` the offset changed: both agree on the second. */
static void check_change(const struct time_zone *zone, int64_t from, int64_t to)
{
    while (to - from > 1) {
        int64_t mid = from + (to - from) / 2;
        if (timefmt_zone_offset(zone, mid) == timefmt_zone_offset(zone, from))
            from = mid;
        else
            to = mid;
    }
    ck_assert_int_eq(timefmt_zone_offset(zone, from), libc_offset((time_t)from));
    ck_assert_int_eq(timefmt_zone_offset(zone, to), libc_offset((time_t)to));
}

START_TEST(test_offsets_match_libc)
{
    static const char *const zones[] = {"Europe/Paris",      "America/New_York", "Australia/Sydney",
                                        "Asia/Kolkata",      "America/Santiago", "Pacific/Chatham",
                                        "Africa/Casablanca", "America/St_Johns", "UTC"};
    char *saved = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        struct time_zone *zone = load(zones[i]);
        setenv("TZ", zones[i], 1);
        tzset();
        /* 1970 to 2100, every 55 hours and 13 minutes (so every hour of
         * the day and every season), and far past the last transition in
         * the table; and to the second at each change seen. */
        int32_t last = timefmt_zone_offset(zone, 0);
        for (int64_t t = 0; t < 4102444800LL; t += 55 * HOUR + 13 * 60) {
            int32_t now = timefmt_zone_offset(zone, t);
            if (now != last)
                check_change(zone, t - 55 * HOUR - 13 * 60, t);
            last = now;
            long want = libc_offset((time_t)t);
            ck_assert_msg(timefmt_zone_offset(zone, t) == want, "%s at %lld: %d, libc %ld",
                          zones[i], (long long)t, timefmt_zone_offset(zone, t), want);
        }
        timefmt_zone_free(zone);
    }
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}
END_TEST

START_TEST(test_wall_clock_to_utc)
{
    struct time_zone *paris = load("Europe/Paris");
    /* 2024-07-01 12:00 in Paris is summer time, UTC+2; January is UTC+1. */
    ck_assert_int_eq(timefmt_zone_to_utc(paris, 1719835200LL), 1719835200LL - 2 * HOUR);
    ck_assert_int_eq(timefmt_zone_to_utc(paris, 1704110400LL), 1704110400LL - HOUR);
    /* 2024-03-31 02:30 does not exist (02:00 -> 03:00): the offset from
     * before the change, +1, gives 01:30Z, which reads 03:30 there. */
    ck_assert_int_eq(timefmt_zone_to_utc(paris, 1711852200LL), 1711852200LL - HOUR);
    /* 2024-10-27 02:30 happens twice: the first, in summer time (00:30Z). */
    ck_assert_int_eq(timefmt_zone_to_utc(paris, 1729996200LL), 1729996200LL - 2 * HOUR);
    /* 2060, past the table: the footer's rule still gives summer time. */
    ck_assert_int_eq(timefmt_zone_to_utc(paris, 2855995200LL), 2855995200LL - 2 * HOUR);
    timefmt_zone_free(paris);
}
END_TEST

START_TEST(test_parse_in_zone)
{
    char *error = NULL;
    struct time_format *fmt = timefmt_compile("%Y-%m-%d %H:%M:%S", &error);
    struct time_format *zoned = timefmt_compile("%Y-%m-%d %H:%M:%S %z", &error);
    struct time_format *yearless = timefmt_compile("%b %d %H:%M:%S", &error);
    ck_assert_ptr_nonnull(fmt);
    struct time_zone *ny = load("America/New_York");
    struct record_time t;
    const char *summer = "2024-07-01 08:00:00";
    ck_assert_int_eq(timefmt_parse_in(fmt, summer, strlen(summer), &t, ny), 0);
    ck_assert_int_eq(t.sec, 1719835200LL); /* 12:00Z: EDT is UTC-4 */
    const char *winter = "2024-01-01 07:00:00";
    ck_assert_int_eq(timefmt_parse_in(fmt, winter, strlen(winter), &t, ny), 0);
    ck_assert_int_eq(t.sec, 1704110400LL); /* 12:00Z: EST is UTC-5 */
    /* An offset in the text wins over the zone. */
    const char *given = "2024-07-01 12:00:00 +0000";
    ck_assert_int_eq(timefmt_parse_in(zoned, given, strlen(given), &t, ny), 0);
    ck_assert_int_eq(t.sec, 1719835200LL);
    /* No zone: UTC. */
    ck_assert_int_eq(timefmt_parse_in(fmt, summer, strlen(summer), &t, NULL), 0);
    ck_assert_int_eq(t.sec, 1719835200LL - 4 * HOUR);
    /* Without a year, "today" is New York's: at 2024-01-01 03:00Z it is
     * still Dec 31 there, so Dec 31 22:00 is last year's, not next. */
    const char *dec = "Dec 31 22:00:00";
    ck_assert_int_eq(timefmt_parse_in_at(yearless, dec, strlen(dec), &t, ny, 1704078000LL), 0);
    ck_assert_int_eq(t.sec, 1704078000LL);
    timefmt_zone_free(ny);
    timefmt_free(fmt);
    timefmt_free(zoned);
    timefmt_free(yearless);
}
END_TEST

START_TEST(test_unknown_zones)
{
    static const char *const bad[] = {
        "Mars/Olympus_Mons", "", "/etc/passwd", "../zoneinfo/UTC", "Europe/Paris\n", "Europe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *error = NULL;
        ck_assert_ptr_null(timefmt_zone_load(bad[i], &error));
        ck_assert_ptr_nonnull(error);
        free(error);
    }
}
END_TEST

Suite *timefmt_zone_suite(void)
{
    Suite *s = suite_create("timefmt_zone");
    TCase *tc = tcase_create("zones");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_offsets_match_libc);
    tcase_add_test(tc, test_wall_clock_to_utc);
    tcase_add_test(tc, test_parse_in_zone);
    tcase_add_test(tc, test_unknown_zones);
    suite_add_tcase(s, tc);
    return s;
}
