/* The tail input's matching of inotify events against the globs: what
 * glob(3) with GLOB_BRACE would match, so a file named by an event is opened
 * exactly when a rescan would find it. */
#include "suites.h"

#include "plugins/in_tail/tail.h"

START_TEST(test_glob_match_like_glob)
{
    ck_assert(tail_glob_match("/var/log/containers/*.log", "/var/log/containers/a_b_c-123.log"));
    ck_assert(!tail_glob_match("/var/log/containers/*.log", "/var/log/containers/a.log.1"));
    /* `*` stops at '/', and does not match a leading '.'. */
    ck_assert(!tail_glob_match("/var/log/*.log", "/var/log/pods/x.log"));
    ck_assert(!tail_glob_match("/var/log/*.log", "/var/log/.hidden.log"));
    ck_assert(tail_glob_match("/var/log/.*.log", "/var/log/.hidden.log"));
    ck_assert(tail_glob_match("/var/log/pods/*/*/*.log", "/var/log/pods/ns_p_u/c/0.log"));
    ck_assert(tail_glob_match("/var/log/syslog", "/var/log/syslog"));
    ck_assert(tail_glob_match("/l/a?.[ch]og", "/l/ab.cog"));
}
END_TEST

START_TEST(test_glob_match_braces)
{
    ck_assert(tail_glob_match("/var/log/{syslog,kern.log}", "/var/log/syslog"));
    ck_assert(tail_glob_match("/var/log/{syslog,kern.log}", "/var/log/kern.log"));
    ck_assert(!tail_glob_match("/var/log/{syslog,kern.log}", "/var/log/auth.log"));
    /* Nested, empty and several groups. */
    ck_assert(tail_glob_match("/l/{a,{b,c}}.log", "/l/c.log"));
    ck_assert(tail_glob_match("/l/x{,-old}.log", "/l/x.log"));
    ck_assert(tail_glob_match("/l/x{,-old}.log", "/l/x-old.log"));
    ck_assert(tail_glob_match("/{l,m}/{a,b}*.log", "/m/b7.log"));
    ck_assert(!tail_glob_match("/{l,m}/{a,b}*.log", "/m/c7.log"));
    /* A '{' without its '}' is itself. */
    ck_assert(tail_glob_match("/l/a{b.log", "/l/a{b.log"));
}
END_TEST

Suite *tail_scan_suite(void)
{
    Suite *s = suite_create("tail_scan");
    TCase *tc = tcase_create("glob");
    tcase_add_test(tc, test_glob_match_like_glob);
    tcase_add_test(tc, test_glob_match_braces);
    suite_add_tcase(s, tc);
    return s;
}
