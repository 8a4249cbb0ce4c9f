/* Unit tests for the nest filter (plugins/filter_nest/): Fluent Bit's nest
 * and lift, with what skiff does where Fluent Bit would write a key twice. */
#include "suites.h"

#include "filter_harness.h"

#include <stdlib.h>
#include <string.h>

/* The nest filter's result, or its config error (filter_harness.c). */
#define expect(yaml, json, expected) filter_harness_expect("nest", yaml, json, expected)
#define expect_error(yaml, message) filter_harness_expect_error("nest", yaml, message)

START_TEST(test_nest_matches_in_order)
{
    expect("operation: nest\nwildcard: [k_*, solo]\nnest_under: n\n",
           "{\"a\":1,\"k_x\":2,\"solo\":3,\"solo2\":4,\"k_\":5}",
           "{\"a\":1,\"solo2\":4,\"n\":{\"k_x\":2,\"solo\":3,\"k_\":5}}");
    expect("operation: nest\nwildcard: '*'\nnest_under: all\n", "{\"a\":1,\"b\":\"x\"}",
           "{\"all\":{\"a\":1,\"b\":\"x\"}}");
}
END_TEST

START_TEST(test_nest_nothing_matches)
{
    expect("operation: nest\nwildcard: zz*\nnest_under: n\n", "{\"a\":1}", "{\"a\":1}");
    /* without `*`, exact: `k` is not a prefix */
    expect("operation: nest\nwildcard: k\nnest_under: n\n", "{\"kx\":1}", "{\"kx\":1}");
}
END_TEST

START_TEST(test_nest_under_exists)
{
    /* Fluent Bit writes `n` twice; the nested map wins, once */
    expect("operation: nest\nwildcard: k*\nnest_under: n\n", "{\"n\":\"old\",\"k\":1}",
           "{\"n\":{\"k\":1}}");
    /* nest_under matching the wildcard is nested into the new map */
    expect("operation: nest\nwildcard: k*\nnest_under: kk\n", "{\"kk\":0,\"k\":1}",
           "{\"kk\":{\"kk\":0,\"k\":1}}");
}
END_TEST

START_TEST(test_nest_prefixes)
{
    expect("operation: nest\nwildcard: p_*\nnest_under: n\nremove_prefix: p_\n",
           "{\"p_a\":1,\"p_b\":2}", "{\"n\":{\"a\":1,\"b\":2}}");
    expect("operation: nest\nwildcard: a\nnest_under: n\nadd_prefix: x_\n", "{\"a\":1}",
           "{\"n\":{\"x_a\":1}}");
}
END_TEST

START_TEST(test_lift)
{
    expect("operation: lift\nnested_under: m\n", "{\"a\":1,\"m\":{\"b\":2,\"c\":{\"d\":3}}}",
           "{\"a\":1,\"b\":2,\"c\":{\"d\":3}}");
    expect("operation: lift\nnested_under: m\nadd_prefix: m_\n", "{\"m\":{\"b\":2}}",
           "{\"m_b\":2}");
    expect("operation: lift\nnested_under: m\nremove_prefix: m_\n", "{\"m\":{\"m_b\":2,\"c\":3}}",
           "{\"b\":2,\"c\":3}");
    /* an empty map goes away */
    expect("operation: lift\nnested_under: m\n", "{\"a\":1,\"m\":{}}", "{\"a\":1}");
}
END_TEST

START_TEST(test_lift_collision_and_not_a_map)
{
    /* Fluent Bit writes `a` twice; the lifted value wins, once */
    expect("operation: lift\nnested_under: m\n", "{\"a\":1,\"m\":{\"a\":2}}", "{\"a\":2}");
    expect("operation: lift\nnested_under: m\n", "{\"m\":[1,2]}", "{\"m\":[1,2]}");
    expect("operation: lift\nnested_under: m\n", "{\"m\":\"s\"}", "{\"m\":\"s\"}");
    expect("operation: lift\nnested_under: m\n", "{\"a\":1}", "{\"a\":1}");
}
END_TEST

/* Lift the `kubernetes` attachment with a prefix and nest it back: the record
 * reads as before, and the shared attachment is untouched. */
START_TEST(test_kubernetes_attachment_round_trip)
{
    const char *kube = "{\"pod_name\":\"p\",\"labels\":{\"app\":\"web\"}}";
    struct filter_harness lift, nest;
    struct record rec, other;
    filter_harness_open(&lift, "nest",
                        "operation: lift\nnested_under: kubernetes\nadd_prefix: kubernetes_\n");
    filter_harness_open(&nest, "nest",
                        "operation: nest\nwildcard: kubernetes_*\nnest_under: kubernetes\n"
                        "remove_prefix: kubernetes_\n");
    filter_harness_record(&rec, "{\"log\":\"m\"}");
    filter_harness_attach(&rec, "kubernetes", kube);
    record_init(&other);
    ck_assert_int_eq(record_attach(&other, rec.attachments[0]), 0);

    char *lifted = filter_harness_run(&lift, &rec);
    ck_assert_str_eq(lifted,
                     "{\"log\":\"m\",\"kubernetes_pod_name\":\"p\",\"kubernetes_labels\":{\"app\":"
                     "\"web\"}}");
    ck_assert_int_eq(rec.attachment_count, 0);
    char *back = filter_harness_run(&nest, &rec);
    ck_assert_str_eq(back, "{\"log\":\"m\",\"kubernetes\":{\"pod_name\":\"p\",\"labels\":{\"app\":"
                           "\"web\"}}}");
    ck_assert_int_eq(other.attachment_count, 1);
    const struct value *shared = record_get_key(&other, "kubernetes");
    ck_assert_ptr_nonnull(shared);
    ck_assert_ptr_nonnull(value_map_get(&shared->as.map, "pod_name", 8));
    ck_assert_ptr_null(value_map_get(&shared->as.map, "kubernetes_pod_name", 19));
    free(lifted);
    free(back);
    record_free(&rec);
    record_free(&other);
    filter_harness_close(&lift);
    filter_harness_close(&nest);
}
END_TEST

START_TEST(test_validate)
{
    expect_error("operation: nest\nwildcard: a*\n",
                 "t.yaml:1:1: filter: option 'nest_under' is required with operation nest");
    expect_error("operation: nest\nnest_under: n\n",
                 "t.yaml:1:1: filter: option 'wildcard' is required with operation nest");
    expect_error("operation: lift\n",
                 "t.yaml:1:1: filter: option 'nested_under' is required with operation lift");
    expect_error("operation: lift\nnested_under: m\nadd_prefix: a\nremove_prefix: b\n",
                 "t.yaml:4:16: filter: options 'add_prefix' and 'remove_prefix' exclude each "
                 "other");
    struct filter_harness h;
    filter_harness_open(&h, "nest", "operation: flatten\nnested_under: m\n");
    ck_assert_int_eq(h.validated, -1);
    filter_harness_close(&h);
}
END_TEST

Suite *filter_nest_suite(void)
{
    Suite *s = suite_create("filter_nest");
    TCase *tc = tcase_create("nest");
    tcase_add_test(tc, test_nest_matches_in_order);
    tcase_add_test(tc, test_nest_nothing_matches);
    tcase_add_test(tc, test_nest_under_exists);
    tcase_add_test(tc, test_nest_prefixes);
    tcase_add_test(tc, test_lift);
    tcase_add_test(tc, test_lift_collision_and_not_a_map);
    tcase_add_test(tc, test_kubernetes_attachment_round_trip);
    tcase_add_test(tc, test_validate);
    suite_add_tcase(s, tc);
    return s;
}
