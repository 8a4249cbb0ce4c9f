/* Unit tests for the rewrite_tag filter's rules (plugins/filter_rewrite_tag):
 * the four parts of a rule and their load-time errors, which values match (as
 * Fluent Bit: strings only), the first rule winning, each part of NEW_TAG,
 * the tags that cannot be used, and NEW_TAG as a `match` pattern. */
#include "suites.h"

#include "plugins/filter_rewrite_tag/rewrite_rules.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rewrite_rules rules_of(const char *const *lines)
{
    struct rewrite_rules rules = {0};
    char *error = NULL;
    for (size_t i = 0; lines[i]; i++)
        ck_assert_msg(rewrite_rules_add(&rules, lines[i], &error) == 0, "%s: %s", lines[i], error);
    return rules;
}

static void put(struct record *rec, const char *key, struct value v)
{
    record_set_key(rec, key, &v);
}

/* The rule that matches `rec` under `line` alone and the tag it gives, in
 * `tag_out` ("-" when no rule matches). */
static void tag_for(const char *line, const char *tag, const struct record *rec, char *tag_out,
                    size_t size)
{
    const char *lines[] = {line, NULL};
    struct rewrite_rules rules = rules_of(lines);
    struct buf out = BUF_INIT;
    int index = rewrite_rules_match(&rules, rec);
    if (index < 0)
        buf_append_str(&out, "-");
    else
        rewrite_rules_tag(&rules, index, tag, rec, &out);
    snprintf(tag_out, size, "%s", buf_cstr(&out));
    buf_free(&out);
    rewrite_rules_free(&rules);
}

/* {log: "code=503 slow", level: "error", n: 7, ok: true, ratio: 0.5,
 *  k8s: {ns: "prod", labels: {"app.kubernetes.io/name": "web"}}} */
static void sample(struct record *rec)
{
    record_init(rec);
    put(rec, "log", value_cstring("code=503 slow"));
    put(rec, "level", value_cstring("error"));
    put(rec, "n", value_int(7));
    put(rec, "ok", value_bool(true));
    put(rec, "ratio", value_float(0.5));
    struct value labels = value_map_new();
    struct value web = value_cstring("web");
    value_map_set(&labels.as.map, "app.kubernetes.io/name", 22, &web);
    struct value k8s = value_map_new();
    struct value ns = value_cstring("prod");
    value_map_set(&k8s.as.map, "ns", 2, &ns);
    value_map_set(&k8s.as.map, "labels", 6, &labels);
    put(rec, "k8s", k8s);
}

#define CHECK_TAG(line, tag, expected)                                                             \
    do {                                                                                           \
        char got[512];                                                                             \
        tag_for(line, tag, &rec, got, sizeof got);                                                 \
        ck_assert_str_eq(got, expected);                                                           \
    } while (0)

START_TEST(test_new_tag_parts)
{
    struct record rec;
    sample(&rec);
    CHECK_TAG("log code=(5\\d\\d) x.$TAG false", "kube.web.a", "x.kube.web.a");
    CHECK_TAG("log code=(5\\d\\d) $TAG[0]-$TAG[2]-$TAG[3] false", "kube.web.a", "kube-a-");
    CHECK_TAG("log . $TAG[0] false", "nodots", "nodots");
    CHECK_TAG("log code=(5\\d\\d)\\s(\\w+) $0/$1/$2/$9 false", "t", "code=503 slow/503/slow/");
    CHECK_TAG("log (fast)|(slow) a$1b$2c false", "t", "abslowc");
    CHECK_TAG("level error ${k8s.ns}.$k8s['ns'].end false", "t", "prod.prod.end");
    CHECK_TAG("level error $k8s['labels']['app.kubernetes.io/name'] false", "t", "web");
    CHECK_TAG("level error ${k8s.labels[\"app.kubernetes.io/name\"]} false", "t", "web");
    CHECK_TAG("level error n$n.$ok.$ratio.$missing.$k8s-x false", "t", "n7.true.0.5..");
    CHECK_TAG("level error \"a b\" false", "t", "a b");
    record_free(&rec);
}
END_TEST

/* Only strings match, as in Fluent Bit; the first rule that matches wins. */
START_TEST(test_what_matches)
{
    struct record rec;
    sample(&rec);
    CHECK_TAG("n 7 x false", "t", "-");
    CHECK_TAG("ok true x false", "t", "-");
    CHECK_TAG("k8s . x false", "t", "-");
    CHECK_TAG("missing . x false", "t", "-");
    CHECK_TAG("$k8s['ns'] ^prod$ x false", "t", "x");
    CHECK_TAG("k8s.ns ^dev$ x false", "t", "-");

    const char *lines[] = {"n 7 first false", "level ^err second true", "log code third false",
                           NULL};
    struct rewrite_rules rules = rules_of(lines);
    ck_assert_int_eq(rewrite_rules_match(&rules, &rec), 1);
    ck_assert(rewrite_rules_keep(&rules, 1));
    ck_assert(!rewrite_rules_keep(&rules, 2));
    rewrite_rules_free(&rules);
    record_free(&rec);
}
END_TEST

static void check_error(const char *line, const char *expected)
{
    struct rewrite_rules rules = {0};
    char *error = NULL;
    ck_assert_int_eq(rewrite_rules_add(&rules, line, &error), -1);
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strstr(error, expected), "%s: got '%s', expected '%s'", line, error, expected);
    free(error);
    ck_assert_uint_eq(rules.count, 0);
    rewrite_rules_free(&rules);
}

START_TEST(test_rule_errors)
{
    check_error("log a b", "has 3 parts");
    check_error("log a b false extra", "has 5 parts");
    check_error("log \"a b false", "unterminated '\"'");
    check_error("log ( b false", "REGEX '('");
    check_error("log a b maybe", "KEEP 'maybe': use true or false");
    check_error("$ a b false", "KEY '$'");
    check_error("$items[0] a b false", "array indexes");
    check_error("log a b.$ false", "names nothing");
    check_error("log a b.${x false", "unterminated '${'");
    check_error("log a $TAG[x] false", "'$TAG['");
    check_error("log a ${a..b} false", "NEW_TAG '${a..b}'");

    const char *keeps[] = {"log a b TRUE", "log a b off", "log a b Yes", NULL};
    struct rewrite_rules rules = rules_of(keeps);
    ck_assert(rewrite_rules_keep(&rules, 0));
    ck_assert(!rewrite_rules_keep(&rules, 1));
    ck_assert(rewrite_rules_keep(&rules, 2));
    rewrite_rules_free(&rules);
}
END_TEST

START_TEST(test_unusable_tags)
{
    char long_tag[REWRITE_TAG_MAX + 2];
    memset(long_tag, 'a', sizeof long_tag);
    ck_assert_ptr_null(rewrite_tag_unusable(long_tag, REWRITE_TAG_MAX));
    ck_assert_ptr_nonnull(rewrite_tag_unusable(long_tag, REWRITE_TAG_MAX + 1));
    ck_assert_str_eq(rewrite_tag_unusable("", 0), "it is empty");
    ck_assert_ptr_nonnull(rewrite_tag_unusable("a\nb", 3));
    ck_assert_ptr_nonnull(rewrite_tag_unusable("a\0b", 3));
    ck_assert_ptr_nonnull(rewrite_tag_unusable("a\x7f", 2));
    ck_assert_ptr_null(rewrite_tag_unusable("app.web-1_x/é", strlen("app.web-1_x/é")));
}
END_TEST

START_TEST(test_tag_patterns)
{
    const char *cases[][2] = {
        {"log a errors false", "errors"},
        {"log a app.$1 false", "app.*"},
        {"log a $TAG false", "*"},
        {"log a x.${a.b}$c['d'] false", "x.*"},
        {"log a $TAG[1].$0.y true", "*.*.y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *pattern = rewrite_rule_tag_pattern(cases[i][0]);
        ck_assert_ptr_nonnull(pattern);
        ck_assert_str_eq(pattern, cases[i][1]);
        free(pattern);
    }
    ck_assert_ptr_null(rewrite_rule_tag_pattern("log a b.$ false"));
    ck_assert_ptr_null(rewrite_rule_tag_pattern("log"));
}
END_TEST

Suite *filter_rewrite_tag_suite(void)
{
    Suite *s = suite_create("filter_rewrite_tag");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_new_tag_parts);
    tcase_add_test(tc, test_what_matches);
    tcase_add_test(tc, test_rule_errors);
    tcase_add_test(tc, test_unusable_tags);
    tcase_add_test(tc, test_tag_patterns);
    suite_add_tcase(s, tc);
    return s;
}
