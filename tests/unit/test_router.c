/* Tag globs, pattern overlap (for the config's reachability check) and the
 * router's cached routes. */
#include "suites.h"

#include "router.h"
#include "tag_match.h"

#include <stdio.h>

START_TEST(test_tag_match_literal_and_star)
{
    ck_assert(tag_match("test", "test"));
    ck_assert(!tag_match("test", "tests"));
    ck_assert(!tag_match("tests", "test"));
    ck_assert(tag_match("*", ""));
    ck_assert(tag_match("*", "kube.var.log.containers.a.log"));
    ck_assert(tag_match("kube.*", "kube.var.log"));
    ck_assert(tag_match("kube.*", "kube."));
    ck_assert(!tag_match("kube.*", "kube"));
    ck_assert(!tag_match("kube.*", "audit.kube.x"));
    ck_assert(tag_match("*.log", "kube.a.log"));
    ck_assert(!tag_match("*.log", "kube.a.log.1"));
    ck_assert(tag_match("a*b*c", "aXXbYYc"));
    ck_assert(tag_match("a*b*c", "abc"));
    ck_assert(!tag_match("a*b*c", "acb"));
    ck_assert(tag_match("**", "x"));
    ck_assert(tag_match("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaab"));
    ck_assert(!tag_match("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

START_TEST(test_tag_patterns_overlap)
{
    ck_assert(tag_patterns_overlap("test", "test"));
    ck_assert(!tag_patterns_overlap("test", "tset"));
    ck_assert(tag_patterns_overlap("*", "anything"));
    ck_assert(tag_patterns_overlap("kube.*", "kube.var.log.containers.*"));
    ck_assert(tag_patterns_overlap("kube.*", "*"));
    ck_assert(!tag_patterns_overlap("kube.*", "audit.*"));
    ck_assert(tag_patterns_overlap("*.log", "kube.*"));
    ck_assert(tag_patterns_overlap("*ab*", "*ba*"));
    ck_assert(!tag_patterns_overlap("*x", "*y"));
    ck_assert(!tag_patterns_overlap("a*", "b*"));
    ck_assert(tag_patterns_overlap("", "*"));
    ck_assert(!tag_patterns_overlap("", "a"));
}
END_TEST

START_TEST(test_router_masks)
{
    const char *filters[] = {"kube.*", "*"};
    const char *outputs[] = {"kube.*", "audit", "*"};
    struct router *router = router_create(filters, 2, outputs, 3, 4);

    struct route r = router_lookup(router, "kube.app.log");
    ck_assert_uint_eq(r.filters, 0x3);
    ck_assert_uint_eq(r.outputs, 0x5);
    r = router_lookup(router, "audit");
    ck_assert_uint_eq(r.filters, 0x2);
    ck_assert_uint_eq(r.outputs, 0x6);
    /* Cached answers equal fresh ones, also after the cache was cleared by
     * more tags than it holds. */
    for (int round = 0; round < 3; round++) {
        char tag[32];
        for (int i = 0; i < 10; i++) {
            snprintf(tag, sizeof tag, "kube.%d", i);
            r = router_lookup(router, tag);
            ck_assert_uint_eq(r.outputs, 0x5);
            snprintf(tag, sizeof tag, "other.%d", i);
            r = router_lookup(router, tag);
            ck_assert_uint_eq(r.outputs, 0x4);
            ck_assert_uint_eq(r.filters, 0x2);
        }
    }
    router_destroy(router);
}
END_TEST

START_TEST(test_router_no_outputs)
{
    const char *outputs[] = {"kube.*"};
    struct router *router = router_create(NULL, 0, outputs, 1, 16);
    struct route r = router_lookup(router, "audit");
    ck_assert_uint_eq(r.outputs, 0);
    ck_assert_uint_eq(r.filters, 0);
    router_destroy(router);
}
END_TEST

Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");
    tcase_add_test(tc, test_tag_match_literal_and_star);
    tcase_add_test(tc, test_tag_patterns_overlap);
    tcase_add_test(tc, test_router_masks);
    tcase_add_test(tc, test_router_no_outputs);
    suite_add_tcase(s, tc);
    return s;
}
