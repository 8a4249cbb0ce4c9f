/* Unit tests for the record_modifier filter (plugins/filter_record_modifier/):
 * Fluent Bit's record, remove_key and allowlist_key (whitelist_key), with a
 * `record` key the record has replaced rather than written twice. */
#include "suites.h"

#include "filter_harness.h"

#include <stdlib.h>
#include <string.h>

/* The record_modifier filter's result, or its config error
 * (filter_harness.c). */
#define expect(yaml, json, expected) filter_harness_expect("record_modifier", yaml, json, expected)
#define expect_error(yaml, message) filter_harness_expect_error("record_modifier", yaml, message)

START_TEST(test_record_sets_and_replaces)
{
    expect("record:\n  host: node-1\n  n: 5\n  q: '5'\n", "{\"a\":1,\"host\":\"old\"}",
           "{\"a\":1,\"host\":\"node-1\",\"n\":5,\"q\":\"5\"}");
    expect("{}\n", "{\"a\":1}", "{\"a\":1}");
}
END_TEST

START_TEST(test_remove_key)
{
    expect("remove_key: [Secret, tmp_*]\n",
           "{\"a\":1,\"SECRET\":2,\"secretx\":3,\"tmp_a\":4,\"TMP_b\":5,\"tmp\":6}",
           "{\"a\":1,\"secretx\":3,\"tmp\":6}");
    expect("remove_key: '*'\nrecord: {k: v}\n", "{\"a\":1,\"b\":2}", "{\"k\":\"v\"}");
}
END_TEST

START_TEST(test_allowlist_key)
{
    expect("allowlist_key: [a, b*]\nrecord: {c: 1}\n", "{\"a\":1,\"bx\":2,\"c\":3,\"d\":4}",
           "{\"a\":1,\"bx\":2,\"c\":1}");
    expect("whitelist_key: a\nallowlist_key: b\n", "{\"a\":1,\"b\":2,\"c\":3}",
           "{\"a\":1,\"b\":2}");
}
END_TEST

/* The `kubernetes` attachment is a top-level key like the others; the shared
 * value stays for the records that refer to it. */
START_TEST(test_attachment)
{
    struct filter_harness h;
    struct record rec, other;
    filter_harness_open(&h, "record_modifier", "remove_key: kube*\n");
    filter_harness_record(&rec, "{\"log\":\"m\"}");
    filter_harness_attach(&rec, "kubernetes", "{\"pod_name\":\"p\"}");
    record_init(&other);
    ck_assert_int_eq(record_attach(&other, rec.attachments[0]), 0);
    char *got = filter_harness_run(&h, &rec);
    ck_assert_str_eq(got, "{\"log\":\"m\"}");
    free(got);
    ck_assert_ptr_nonnull(record_get_key(&other, "kubernetes"));
    record_free(&rec);
    filter_harness_close(&h);

    filter_harness_open(&h, "record_modifier", "allowlist_key: kubernetes\n");
    filter_harness_record(&rec, "{\"log\":\"m\"}");
    ck_assert_int_eq(record_attach(&rec, other.attachments[0]), 0);
    got = filter_harness_run(&h, &rec);
    ck_assert_str_eq(got, "{\"kubernetes\":{\"pod_name\":\"p\"}}");
    free(got);
    record_free(&rec);
    record_free(&other);
    filter_harness_close(&h);
}
END_TEST

START_TEST(test_validate)
{
    expect_error("remove_key: a\nallowlist_key: b\n",
                 "t.yaml:1:13: filter: options 'remove_key' and 'allowlist_key' exclude each "
                 "other");
    expect_error("remove_key: a\nwhitelist_key: b\n",
                 "t.yaml:1:13: filter: options 'remove_key' and 'allowlist_key' exclude each "
                 "other");
    expect_error("remove_key: ['']\n", "t.yaml:1:13: filter: option 'remove_key': an empty key");
}
END_TEST

Suite *filter_record_modifier_suite(void)
{
    Suite *s = suite_create("filter_record_modifier");
    TCase *tc = tcase_create("record_modifier");
    tcase_add_test(tc, test_record_sets_and_replaces);
    tcase_add_test(tc, test_remove_key);
    tcase_add_test(tc, test_allowlist_key);
    tcase_add_test(tc, test_attachment);
    tcase_add_test(tc, test_validate);
    suite_add_tcase(s, tc);
    return s;
}
