/* Unit tests for the option values' units (options_units.c): sizes, durations,
 * booleans and integers as YAML writes them. */
#include "suites.h"

#include "cfg_node.h"
#include "diag.h"
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static int64_t size_of(const char *text)
{
    int64_t bytes = -42;
    ck_assert_msg(options_parse_size(text, &bytes) == 0, "size '%s' rejected", text);
    return bytes;
}

static int size_error(const char *text)
{
    int64_t bytes = -42;
    errno = 0;
    ck_assert_msg(options_parse_size(text, &bytes) == -1, "size '%s' accepted", text);
    ck_assert_int_eq(bytes, -42);
    return errno;
}

START_TEST(test_parse_size)
{
    ck_assert_int_eq(size_of("512KiB"), 524288);
    ck_assert_int_eq(size_of("8MiB"), 8388608);
    ck_assert_int_eq(size_of("1.5MiB"), 1572864);
    ck_assert_int_eq(size_of("1GB"), 1000000000);
    ck_assert_int_eq(size_of("1GiB"), 1073741824);
    ck_assert_int_eq(size_of("2TiB"), 2199023255552);
    ck_assert_int_eq(size_of("1K"), 1000);
    ck_assert_int_eq(size_of("3KB"), 3000);
    ck_assert_int_eq(size_of("0"), 0);
    ck_assert_int_eq(size_of("4096"), 4096);
    ck_assert_int_eq(size_of("10B"), 10);
    ck_assert_int_eq(size_of("10b"), 10);
    ck_assert_int_eq(size_of("0.5KiB"), 512);
    ck_assert_int_eq(size_of("9223372036854775807"), INT64_MAX);

    ck_assert_int_eq(size_error("99999999999TiB"), ERANGE);
    ck_assert_int_eq(size_error("9223372036854775808"), ERANGE);
    ck_assert_int_eq(size_error("8388608TiB"), ERANGE);
    ck_assert_int_eq(size_error("32XB"), EINVAL);
    ck_assert_int_eq(size_error("lots"), EINVAL);
    ck_assert_int_eq(size_error(""), EINVAL);
    ck_assert_int_eq(size_error("-1"), EINVAL);
    ck_assert_int_eq(size_error("MiB"), EINVAL);
    ck_assert_int_eq(size_error("1."), EINVAL);
    ck_assert_int_eq(size_error(".5MiB"), EINVAL);
    ck_assert_int_eq(size_error("1.5.5MiB"), EINVAL);
    ck_assert_int_eq(size_error("8 MiB"), EINVAL);
    ck_assert_int_eq(size_error("8mib"), EINVAL);
}
END_TEST

static int64_t duration_of(const char *text)
{
    int64_t ms = -42;
    ck_assert_msg(options_parse_duration(text, &ms) == 0, "duration '%s' rejected", text);
    return ms;
}

START_TEST(test_parse_duration)
{
    int64_t ms = -42;

    ck_assert_int_eq(duration_of("250ms"), 250);
    ck_assert_int_eq(duration_of("5s"), 5000);
    ck_assert_int_eq(duration_of("1m"), 60000);
    ck_assert_int_eq(duration_of("1h"), 3600000);
    ck_assert_int_eq(duration_of("2d"), 172800000);
    ck_assert_int_eq(duration_of("1.5s"), 1500);
    ck_assert_int_eq(duration_of("0.25h"), 900000);
    ck_assert_int_eq(duration_of("30"), 30000);
    ck_assert_int_eq(duration_of("0"), 0);

    const char *const bad[] = {"5x", "s", "", "-1s", "1.s", "5 s", "5S", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_msg(options_parse_duration(bad[i], &ms) == -1, "'%s' accepted", bad[i]);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(options_parse_duration("9999999999999999d", &ms), -1);
    ck_assert_int_eq(errno, ERANGE);
    ck_assert_int_eq(ms, -42);
}
END_TEST

START_TEST(test_parse_bool)
{
    const char *const yes[] = {"true", "TRUE", "Yes", "on"};
    const char *const no[] = {"false", "No", "OFF"};
    const char *const bad[] = {"maybe", "", "1", "0", "truee"};
    bool value;

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        value = false;
        ck_assert_int_eq(options_parse_bool(yes[i], &value), 0);
        ck_assert(value);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        value = true;
        ck_assert_int_eq(options_parse_bool(no[i], &value), 0);
        ck_assert(!value);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(options_parse_bool(bad[i], &value) == -1, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_parse_int)
{
    int64_t value = 0;

    ck_assert_int_eq(options_parse_int("42", &value), 0);
    ck_assert_int_eq(value, 42);
    ck_assert_int_eq(options_parse_int("-5", &value), 0);
    ck_assert_int_eq(value, -5);
    ck_assert_int_eq(options_parse_int("+7", &value), 0);
    ck_assert_int_eq(value, 7);
    ck_assert_int_eq(options_parse_int("9223372036854775807", &value), 0);
    ck_assert_int_eq(value, INT64_MAX);
    ck_assert_int_eq(options_parse_int("-9223372036854775808", &value), 0);
    ck_assert_int_eq(value, INT64_MIN);

    value = 3;
    ck_assert_int_eq(options_parse_int("9223372036854775808", &value), -1);
    ck_assert_int_eq(errno, ERANGE);
    ck_assert_int_eq(options_parse_int("-9223372036854775809", &value), -1);
    ck_assert_int_eq(errno, ERANGE);
    const char *const bad[] = {"12a", "", "-", " 5", "0x10", "1.0", "five", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(options_parse_int(bad[i], &value) == -1, "'%s' accepted", bad[i]);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(value, 3);
}
END_TEST

Suite *options_units_suite(void)
{
    Suite *s = suite_create("options_units");
    TCase *units = tcase_create("units");
    tcase_add_test(units, test_parse_size);
    tcase_add_test(units, test_parse_duration);
    tcase_add_test(units, test_parse_bool);
    tcase_add_test(units, test_parse_int);
    suite_add_tcase(s, units);

    return s;
}
