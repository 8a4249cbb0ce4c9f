/* Unit tests for the throttle filter (plugins/filter_throttle/): the sliding
 * window's arithmetic at chosen times (Fluent Bit's rule: a record passes
 * while the window holds fewer than rate × window), the interval's edge,
 * the table of windows per key (separation, least recently seen evicted,
 * idle keys forgotten, long keys cut), and the plugin on records: keys read
 * through the record API, drops counted, options checked at load. */
#include "suites.h"

#include "filter_harness.h"
#include "plugins/filter_throttle/throttle_window.h"

#include <stdlib.h>
#include <string.h>

/* rate 3 per 1 s interval over 2 intervals, pane 0 starting at 10 s. */
static const struct throttle_limits limits = {
    .rate = 3, .panes = 2, .interval_ms = 1000, .start_ms = 10000};

/* Takes `n` records at `now_ms`; returns how many passed. */
static int take(struct throttle_window *w, const struct throttle_limits *l, int64_t now_ms, int n)
{
    int passed = 0;
    for (int i = 0; i < n; i++)
        passed += throttle_window_take(w, l, throttle_pane_at(l, now_ms));
    return passed;
}

START_TEST(test_window_rate_times_panes)
{
    uint64_t counts[2];
    struct throttle_window w;
    throttle_window_init(&w, counts, 0);
    memset(counts, 0, sizeof counts);
    /* an empty window takes rate × panes at once (Fluent Bit's burst) */
    ck_assert_int_eq(take(&w, &limits, 10000, 10), 6);
    ck_assert_uint_eq(w.total, 6);
    /* the next pane: the first still counts, nothing passes */
    ck_assert_int_eq(take(&w, &limits, 11000, 5), 0);
    /* pane 2: pane 0's 6 left the window */
    ck_assert_int_eq(take(&w, &limits, 12500, 2), 2);
    ck_assert_int_eq(take(&w, &limits, 12999, 9), 4);
    /* pane 3: pane 1 held none, pane 2 holds 6 */
    ck_assert_int_eq(take(&w, &limits, 13000, 1), 0);
    /* pane 4: pane 2 left, 6 again */
    ck_assert_int_eq(take(&w, &limits, 14000, 7), 6);
}
END_TEST

START_TEST(test_window_slides_pane_by_pane)
{
    uint64_t counts[2] = {0};
    struct throttle_window w;
    throttle_window_init(&w, counts, 0);
    ck_assert_int_eq(take(&w, &limits, 10000, 4), 4);
    ck_assert_int_eq(take(&w, &limits, 11000, 1), 1);
    /* pane 2 drops pane 0's 4 but keeps pane 1's 1: 5 more */
    ck_assert_int_eq(take(&w, &limits, 12000, 9), 5);
    ck_assert_uint_eq(w.total, 6);
    ck_assert_uint_eq(counts[0], 5);
    ck_assert_uint_eq(counts[1], 1);
}
END_TEST

START_TEST(test_window_interval_edge)
{
    ck_assert_int_eq(throttle_pane_at(&limits, 0), 0); /* before start */
    ck_assert_int_eq(throttle_pane_at(&limits, 10000), 0);
    ck_assert_int_eq(throttle_pane_at(&limits, 10999), 0);
    ck_assert_int_eq(throttle_pane_at(&limits, 11000), 1);
    ck_assert_int_eq(throttle_pane_at(&limits, 11001), 1);

    /* window 1: a plain limit per interval; its last ms and the next one */
    const struct throttle_limits one = {
        .rate = 2, .panes = 1, .interval_ms = 1000, .start_ms = 10000};
    uint64_t counts[1] = {0};
    struct throttle_window w;
    throttle_window_init(&w, counts, 0);
    ck_assert_int_eq(take(&w, &one, 10999, 3), 2);
    ck_assert_int_eq(take(&w, &one, 11000, 3), 2);
}
END_TEST

START_TEST(test_window_long_gap_and_idle)
{
    uint64_t counts[2] = {0};
    struct throttle_window w;
    throttle_window_init(&w, counts, 0);
    ck_assert_int_eq(take(&w, &limits, 10000, 6), 6);
    ck_assert(!throttle_window_idle(&w, &limits, 1));
    ck_assert(throttle_window_idle(&w, &limits, 2));
    /* hours later: every pane left at once */
    ck_assert_int_eq(take(&w, &limits, 10000 + 3600 * 1000, 7), 6);
    ck_assert_int_eq(w.pane, 3600);
    /* a time in an older pane counts in the newest one */
    ck_assert_int_eq(take(&w, &limits, 10000, 1), 0);
}
END_TEST

static struct throttle_key *get(struct throttle_keys *keys, const char *key, int64_t pane)
{
    return throttle_keys_get(keys, &limits, key, strlen(key), pane);
}

START_TEST(test_keys_separate_windows)
{
    struct throttle_keys keys;
    throttle_keys_init(&keys, 8);
    struct throttle_key *a = get(&keys, "noisy", 0);
    for (int i = 0; i < 6; i++)
        ck_assert(throttle_window_take(&a->window, &limits, 0));
    ck_assert(!throttle_window_take(&get(&keys, "noisy", 0)->window, &limits, 0));
    /* another key still has its whole window */
    struct throttle_key *b = get(&keys, "quiet", 0);
    ck_assert_ptr_ne(a, b);
    ck_assert(throttle_window_take(&b->window, &limits, 0));
    ck_assert_ptr_eq(get(&keys, "noisy", 0), a);
    ck_assert_uint_eq(keys.count, 2);
    ck_assert_uint_eq(keys.evicted, 0);
    throttle_keys_free(&keys);
}
END_TEST

START_TEST(test_keys_evict_least_recently_seen)
{
    struct throttle_keys keys;
    throttle_keys_init(&keys, 2);
    ck_assert(throttle_window_take(&get(&keys, "a", 0)->window, &limits, 0));
    ck_assert(throttle_window_take(&get(&keys, "b", 0)->window, &limits, 0));
    get(&keys, "a", 0); /* a is now the most recently seen */
    ck_assert(throttle_window_take(&get(&keys, "c", 0)->window, &limits, 0));
    ck_assert_uint_eq(keys.count, 2);
    ck_assert_uint_eq(keys.evicted, 1);
    ck_assert_str_eq(keys.newest->text, "c");
    ck_assert_str_eq(keys.oldest->text, "a");
    /* b comes back with an empty window: what the eviction cost */
    struct throttle_key *b = get(&keys, "b", 0);
    ck_assert_uint_eq(b->window.total, 0);
    ck_assert_uint_eq(keys.evicted, 2);
    ck_assert_str_eq(keys.oldest->text, "c");
    throttle_keys_free(&keys);
}
END_TEST

START_TEST(test_keys_idle_forgotten_not_counted)
{
    struct throttle_keys keys;
    throttle_keys_init(&keys, 2);
    ck_assert(throttle_window_take(&get(&keys, "a", 0)->window, &limits, 0));
    ck_assert(throttle_window_take(&get(&keys, "b", 1)->window, &limits, 1));
    /* pane 2: a's records left its window; it is forgotten, not evicted */
    get(&keys, "c", 2);
    ck_assert_uint_eq(keys.count, 2);
    ck_assert_uint_eq(keys.evicted, 0);
    ck_assert_str_eq(keys.oldest->text, "b");
    /* much later: both idle ones go, two per lookup */
    get(&keys, "d", 50);
    ck_assert_uint_eq(keys.count, 1);
    ck_assert_uint_eq(keys.evicted, 0);
    throttle_keys_free(&keys);
}
END_TEST

START_TEST(test_keys_cut_at_max)
{
    char long_a[THROTTLE_KEY_MAX + 40], long_b[THROTTLE_KEY_MAX + 40];
    memset(long_a, 'p', sizeof long_a);
    memcpy(long_b, long_a, sizeof long_b);
    long_b[THROTTLE_KEY_MAX + 10] = 'q';
    struct throttle_keys keys;
    throttle_keys_init(&keys, 4);
    struct throttle_key *a = throttle_keys_get(&keys, &limits, long_a, sizeof long_a, 0);
    ck_assert(throttle_window_take(&a->window, &limits, 0));
    struct throttle_key *b = throttle_keys_get(&keys, &limits, long_b, sizeof long_b, 0);
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(a->len, THROTTLE_KEY_MAX);
    ck_assert_uint_eq(keys.count, 1);
    throttle_keys_free(&keys);
}
END_TEST

/* Runs the filter on a record made from `json`; returns its result. */
static enum filter_result run(struct filter_harness *h, const char *json, const char *kube)
{
    struct record rec;
    filter_harness_record(&rec, json);
    if (kube)
        filter_harness_attach(&rec, "kubernetes", kube);
    enum filter_result r = h->instance.plugin->filter(&h->instance, NULL, "t", &rec);
    record_free(&rec);
    return r;
}

static int kept(struct filter_harness *h, const char *json, const char *kube, int n)
{
    int passed = 0;
    for (int i = 0; i < n; i++)
        passed += run(h, json, kube) == FILTER_KEEP;
    return passed;
}

START_TEST(test_filter_one_window)
{
    struct filter_harness h;
    filter_harness_open(&h, "throttle", "rate: 2\nwindow: 3\n");
    ck_assert_int_eq(h.validated, 0);
    /* the harness's clock stands still: one pane, 2 × 3 pass */
    ck_assert_int_eq(kept(&h, "{\"log\":\"a\"}", NULL, 10), 6);
    struct metric *dropped = instance_dropped_counter(&h.instance, "throttled");
    ck_assert_int_eq(metric_get(dropped), 4);
    filter_harness_close(&h);
}
END_TEST

START_TEST(test_filter_per_key)
{
    struct filter_harness h;
    filter_harness_open(&h, "throttle", "rate: 1\nwindow: 2\nkey: kubernetes.pod_name\n");
    ck_assert_int_eq(h.validated, 0);
    /* a key in an attachment, as the kubernetes filter adds it */
    ck_assert_int_eq(kept(&h, "{}", "{\"pod_name\":\"noisy\"}", 5), 2);
    ck_assert_int_eq(kept(&h, "{}", "{\"pod_name\":\"quiet\"}", 1), 1);
    /* the same key in the record's own fields is the same window */
    ck_assert_int_eq(kept(&h, "{\"kubernetes\":{\"pod_name\":\"quiet\"}}", NULL, 3), 1);
    /* records without the field share one window */
    ck_assert_int_eq(kept(&h, "{\"log\":1}", NULL, 2), 2);
    ck_assert_int_eq(kept(&h, "{\"kubernetes\":{}}", NULL, 2), 0);
    /* a value that is not a string is keyed by its JSON */
    ck_assert_int_eq(kept(&h, "{}", "{\"pod_name\":{\"n\":1}}", 3), 2);
    ck_assert_int_eq(metric_get(instance_dropped_counter(&h.instance, "throttled")), 3 + 2 + 2 + 1);
    filter_harness_close(&h);
}
END_TEST

START_TEST(test_filter_max_keys)
{
    struct filter_harness h;
    filter_harness_open(&h, "throttle", "rate: 1\nwindow: 1\nkey: k\nmax_keys: 2\n");
    ck_assert_int_eq(h.validated, 0);
    ck_assert_int_eq(kept(&h, "{\"k\":\"a\"}", NULL, 2), 1);
    ck_assert_int_eq(kept(&h, "{\"k\":\"b\"}", NULL, 2), 1);
    ck_assert_int_eq(kept(&h, "{\"k\":\"c\"}", NULL, 2), 1); /* evicts a */
    ck_assert_int_eq(kept(&h, "{\"k\":\"a\"}", NULL, 2), 1); /* evicts b: a new window */
    filter_harness_close(&h);
}
END_TEST

static void expect_error(const char *yaml, const char *message)
{
    struct filter_harness h;
    filter_harness_open(&h, "throttle", yaml);
    ck_assert_int_eq(h.validated, -1);
    ck_assert_msg(strstr(filter_harness_diag(&h), message), "%s", filter_harness_diag(&h));
    filter_harness_close(&h);
}

START_TEST(test_filter_options_checked)
{
    expect_error("window: 5\n", "'rate'");
    expect_error("rate: 0\n", "rate");
    expect_error("rate: 5\nwindow: 0\n", "window");
    expect_error("rate: 5\ninterval: 0s\n", "interval");
    expect_error("rate: 5\nmax_keys: 10\n", "option 'max_keys' needs 'key'");
    expect_error("rate: 5\nkey: 'a..b'\n", "option 'key'");
    expect_error("rate: 5\nkey: k\nmax_keys: 0\n", "max_keys");
}
END_TEST

Suite *filter_throttle_suite(void)
{
    Suite *s = suite_create("filter_throttle");
    TCase *tc = tcase_create("window");
    tcase_add_test(tc, test_window_rate_times_panes);
    tcase_add_test(tc, test_window_slides_pane_by_pane);
    tcase_add_test(tc, test_window_interval_edge);
    tcase_add_test(tc, test_window_long_gap_and_idle);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys");
    tcase_add_test(tc, test_keys_separate_windows);
    tcase_add_test(tc, test_keys_evict_least_recently_seen);
    tcase_add_test(tc, test_keys_idle_forgotten_not_counted);
    tcase_add_test(tc, test_keys_cut_at_max);
    suite_add_tcase(s, tc);
    tc = tcase_create("filter");
    tcase_add_test(tc, test_filter_one_window);
    tcase_add_test(tc, test_filter_per_key);
    tcase_add_test(tc, test_filter_max_keys);
    tcase_add_test(tc, test_filter_options_checked);
    suite_add_tcase(s, tc);
    return s;
}
