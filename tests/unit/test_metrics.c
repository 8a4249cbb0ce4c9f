/* Unit tests for the metrics registry: series identity, the exact Prometheus
 * text it renders, escaping, and counting from several threads. */
#include "suites.h"

#include "buf.h"
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COUNTING_THREADS = 4, ADDS_PER_THREAD = 10000 };

static struct buf rendered;

static void teardown(void)
{
    buf_free(&rendered);
    metrics_reset();
}

static const char *render(void)
{
    buf_reset(&rendered);
    metrics_render(&rendered);
    return buf_cstr(&rendered);
}

START_TEST(same_series_same_pointer)
{
    struct metric *a = metrics_counter("skiff_records_total", "Records.", "input=\"tail\"");
    struct metric *b = metrics_counter("skiff_records_total", "Records.", "input=\"tail\"");
    struct metric *other_labels = metrics_counter("skiff_records_total", "Records.", "input=\"x\"");
    struct metric *other_family = metrics_counter("skiff_bytes_total", "Bytes.", "input=\"tail\"");
    ck_assert_ptr_eq(a, b);
    ck_assert_ptr_ne(a, other_labels);
    ck_assert_ptr_ne(a, other_family);
}
END_TEST

START_TEST(pointers_stay_valid_as_the_registry_grows)
{
    struct metric *first = metrics_gauge("m_first", "First.", "");
    metric_set(first, 42);
    for (int i = 0; i < 200; i++) {
        char name[32], labels[32];
        snprintf(name, sizeof name, "m_family_%03d", i);
        snprintf(labels, sizeof labels, "n=\"%d\"", i);
        metrics_counter(name, "Filler.", labels);
        metrics_counter("m_first_many", "Filler.", labels);
    }
    ck_assert_ptr_eq(metrics_gauge("m_first", "First.", ""), first);
    ck_assert_int_eq(metric_get(first), 42);
}
END_TEST

START_TEST(render_exact_text)
{
    metric_add(metrics_counter("skiff_records_total", "Records read.", "input=\"tail\""), 5);
    metric_add(metrics_counter("skiff_records_total", "Records read.", "input=\"dummy\""), 2);
    metric_set(metrics_gauge("skiff_buffer_bytes", "Bytes buffered.", ""), 1024);
    ck_assert_str_eq(render(), "# HELP skiff_buffer_bytes Bytes buffered.\n"
                               "# TYPE skiff_buffer_bytes gauge\n"
                               "skiff_buffer_bytes 1024\n"
                               "# HELP skiff_records_total Records read.\n"
                               "# TYPE skiff_records_total counter\n"
                               "skiff_records_total{input=\"tail\"} 5\n"
                               "skiff_records_total{input=\"dummy\"} 2\n");
}
END_TEST

START_TEST(histogram_renders_cumulative_buckets_sum_and_count)
{
    static const double bounds[] = {0.1, 1};
    struct metric_histogram *h =
        metrics_histogram("skiff_latency_seconds", "Latency.", "instance=\"es\"", bounds, 2);
    ck_assert_ptr_eq(
        h, metrics_histogram("skiff_latency_seconds", "Latency.", "instance=\"es\"", bounds, 2));
    metric_observe(h, 0.05);
    metric_observe(h, 0.1); /* upper bounds are inclusive */
    metric_observe(h, 0.5);
    metric_observe(h, 3);
    ck_assert_str_eq(render(), "# HELP skiff_latency_seconds Latency.\n"
                               "# TYPE skiff_latency_seconds histogram\n"
                               "skiff_latency_seconds_bucket{instance=\"es\",le=\"0.1\"} 2\n"
                               "skiff_latency_seconds_bucket{instance=\"es\",le=\"1\"} 3\n"
                               "skiff_latency_seconds_bucket{instance=\"es\",le=\"+Inf\"} 4\n"
                               "skiff_latency_seconds_sum{instance=\"es\"} 3.650000\n"
                               "skiff_latency_seconds_count{instance=\"es\"} 4\n");
}
END_TEST

START_TEST(histogram_without_labels)
{
    static const double bounds[] = {1};
    metric_observe(metrics_histogram("h", "", "", bounds, 1), 2);
    ck_assert_str_eq(render(), "# HELP h\n"
                               "# TYPE h histogram\n"
                               "h_bucket{le=\"1\"} 0\n"
                               "h_bucket{le=\"+Inf\"} 1\n"
                               "h_sum 2.000000\n"
                               "h_count 1\n");
}
END_TEST

START_TEST(families_sorted_by_name)
{
    metrics_gauge("zeta", "Z.", "");
    metrics_gauge("alpha", "A.", "");
    metrics_counter("mid", "M.", "");
    metrics_counter("alpha_total", "AT.", "");
    ck_assert_str_eq(render(), "# HELP alpha A.\n# TYPE alpha gauge\nalpha 0\n"
                               "# HELP alpha_total AT.\n# TYPE alpha_total counter\nalpha_total 0\n"
                               "# HELP mid M.\n# TYPE mid counter\nmid 0\n"
                               "# HELP zeta Z.\n# TYPE zeta gauge\nzeta 0\n");
}
END_TEST

START_TEST(first_registration_fixes_type_and_help)
{
    struct metric *counter = metrics_counter("dual", "First help.", "");
    struct metric *gauge = metrics_gauge("dual", "Second help.", "k=\"v\"");
    ck_assert_ptr_ne(counter, gauge);
    metric_set(gauge, -3);
    ck_assert_str_eq(render(), "# HELP dual First help.\n"
                               "# TYPE dual counter\n"
                               "dual 0\n"
                               "dual{k=\"v\"} -3\n");
}
END_TEST

START_TEST(help_is_escaped)
{
    metrics_counter("h", "two\nlines, a back\\slash and \"quotes\"", "");
    ck_assert_str_eq(render(), "# HELP h two\\nlines, a back\\\\slash and \"quotes\"\n"
                               "# TYPE h counter\n"
                               "h 0\n");
}
END_TEST

START_TEST(empty_help_has_no_trailing_space)
{
    metrics_gauge("bare", "", "");
    ck_assert_str_eq(render(), "# HELP bare\n# TYPE bare gauge\nbare 0\n");
}
END_TEST

START_TEST(label_values_are_escaped)
{
    struct buf out = BUF_INIT;
    metrics_escape_label(&out, "a\\b\"c\nd");
    ck_assert_str_eq(buf_cstr(&out), "a\\\\b\\\"c\\nd");
    buf_reset(&out);
    metrics_escape_label(&out, "/var/log/containers/x.log");
    ck_assert_str_eq(buf_cstr(&out), "/var/log/containers/x.log");
    buf_free(&out);
}
END_TEST

START_TEST(labels_are_built_escaped)
{
    struct buf out = BUF_INIT;
    metrics_labels(&out, "instance", "es \"main\"", "reason", "shutdown", NULL);
    ck_assert_str_eq(buf_cstr(&out), "instance=\"es \\\"main\\\"\",reason=\"shutdown\"");
    metrics_labels(&out, "code", "429", NULL);
    ck_assert_str_eq(buf_cstr(&out),
                     "instance=\"es \\\"main\\\"\",reason=\"shutdown\",code=\"429\"");
    buf_reset(&out);
    metrics_labels(&out, "instance", "in", NULL, "ignored", NULL);
    ck_assert_str_eq(buf_cstr(&out), "instance=\"in\"");
    buf_free(&out);
}
END_TEST

START_TEST(reset_empties_the_registry)
{
    metric_add(metrics_counter("gone_total", "Gone.", ""), 7);
    metrics_reset();
    ck_assert_str_eq(render(), "");
    struct metric *again = metrics_counter("gone_total", "Gone.", "");
    ck_assert_int_eq(metric_get(again), 0);
}
END_TEST

static void *count_in_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS_PER_THREAD; i++)
        metric_add(metrics_counter("shared_total", "Shared.", "by=\"threads\""), 1);
    return NULL;
}

START_TEST(threads_register_and_count_concurrently)
{
    pthread_t threads[COUNTING_THREADS];
    for (int i = 0; i < COUNTING_THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, count_in_thread, NULL), 0);
    for (int i = 0; i < COUNTING_THREADS; i++)
        pthread_join(threads[i], NULL);
    struct metric *shared = metrics_counter("shared_total", "Shared.", "by=\"threads\"");
    ck_assert_int_eq(metric_get(shared), COUNTING_THREADS * ADDS_PER_THREAD);
    ck_assert_str_eq(render(), "# HELP shared_total Shared.\n"
                               "# TYPE shared_total counter\n"
                               "shared_total{by=\"threads\"} 40000\n");
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *suite = suite_create("metrics");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, same_series_same_pointer);
    tcase_add_test(tc, pointers_stay_valid_as_the_registry_grows);
    tcase_add_test(tc, render_exact_text);
    tcase_add_test(tc, families_sorted_by_name);
    tcase_add_test(tc, histogram_renders_cumulative_buckets_sum_and_count);
    tcase_add_test(tc, histogram_without_labels);
    tcase_add_test(tc, first_registration_fixes_type_and_help);
    tcase_add_test(tc, help_is_escaped);
    tcase_add_test(tc, empty_help_has_no_trailing_space);
    tcase_add_test(tc, label_values_are_escaped);
    tcase_add_test(tc, labels_are_built_escaped);
    tcase_add_test(tc, reset_empties_the_registry);
    tcase_add_test(tc, threads_register_and_count_concurrently);
    suite_add_tcase(suite, tc);
    return suite;
}
