/* Unit tests for reading the API server's answers (watch streams cut into
 * pieces of any size, events, lists) and for merge_log. */
#include "error_slot.h"
#include "suites.h"

#include "buf.h"
#include "json.h"
#include "json_parse.h"
#include "plugins/filter_kubernetes/k8s_api_internal.h"
#include "plugins/filter_kubernetes/k8s_merge.h"
#include "plugins/filter_kubernetes/k8s_watch_decode.h"

#include <stdlib.h>
#include <string.h>

struct lines {
    struct buf joined; /* lines separated by '|' */
    int count;
    int stop_after; /* 0: never */
};

static int collect(void *data, const char *line, size_t len)
{
    struct lines *l = data;
    if (l->count++)
        buf_append_byte(&l->joined, '|');
    buf_append(&l->joined, line, len);
    return l->stop_after && l->count >= l->stop_after ? -1 : 0;
}

static const char stream_text[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":\"x y\"}\n{\"partial\"";

START_TEST(test_stream_any_pieces)
{
    size_t len = strlen(stream_text);
    /* Every piece size from 1 byte to the whole text gives the same lines. */
    for (size_t piece = 1; piece <= len; piece++) {
        struct k8s_stream s;
        k8s_stream_init(&s, 64);
        struct lines l = {BUF_INIT, 0, 0};
        for (size_t at = 0; at < len; at += piece) {
            size_t n = len - at < piece ? len - at : piece;
            ck_assert_int_eq(k8s_stream_feed(&s, stream_text + at, n, collect, &l), 0);
        }
        ck_assert_str_eq(buf_cstr(&l.joined), "{\"a\":1}|{\"b\":2}|{\"c\":\"x y\"}");
        ck_assert_uint_eq(k8s_stream_pending(&s), strlen("{\"partial\""));
        k8s_stream_reset(&s);
        ck_assert_uint_eq(k8s_stream_pending(&s), 0);
        buf_free(&l.joined);
        k8s_stream_free(&s);
    }
}
END_TEST

START_TEST(test_stream_bound_and_stop)
{
    struct k8s_stream s;
    k8s_stream_init(&s, 8);
    struct lines l = {BUF_INIT, 0, 0};
    ck_assert_int_eq(k8s_stream_feed(&s, "12345678\n", 9, collect, &l), 0);
    ck_assert_int_eq(k8s_stream_feed(&s, "12345", 5, collect, &l), 0);
    ck_assert_int_eq(k8s_stream_feed(&s, "6789", 4, collect, &l), -2); /* 9 bytes held */
    ck_assert_uint_eq(k8s_stream_pending(&s), 0);
    ck_assert_int_eq(k8s_stream_feed(&s, "123456789\n", 10, collect, &l), -2);
    ck_assert_str_eq(buf_cstr(&l.joined), "12345678");

    l.stop_after = 2;
    ck_assert_int_eq(k8s_stream_feed(&s, "a\nb\nc\n", 6, collect, &l), -1);
    ck_assert_str_eq(buf_cstr(&l.joined), "12345678|a");
    buf_free(&l.joined);
    k8s_stream_free(&s);
}
END_TEST

static int decode(const char *line, struct k8s_event *ev, char **error)
{
    return k8s_event_decode(line, strlen(line), ev, error);
}

START_TEST(test_event_types)
{
    struct k8s_event ev;
    char *error = NULL;
    ck_assert_int_eq(decode("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
                            "{\"name\":\"p\",\"namespace\":\"n\",\"resourceVersion\":\"17\"}}}",
                            &ev, FRESH(error)),
                     0);
    ck_assert_int_eq(ev.type, K8S_EVENT_ADDED);
    ck_assert_str_eq(ev.resource_version, "17");
    ck_assert_str_eq(k8s_object_meta(&ev.object, "name"), "p");
    k8s_event_free(&ev);

    ck_assert_int_eq(
        decode("{\"object\":{\"metadata\":{}},\"type\":\"MODIFIED\"}", &ev, FRESH(error)), 0);
    ck_assert_int_eq(ev.type, K8S_EVENT_MODIFIED);
    ck_assert_ptr_null(ev.resource_version);
    k8s_event_free(&ev);

    ck_assert_int_eq(decode("{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"p\"}}}",
                            &ev, FRESH(error)),
                     0);
    ck_assert_int_eq(ev.type, K8S_EVENT_DELETED);
    k8s_event_free(&ev);

    ck_assert_int_eq(decode("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
                            "{\"resourceVersion\":\"99\"}}}",
                            &ev, FRESH(error)),
                     0);
    ck_assert_int_eq(ev.type, K8S_EVENT_BOOKMARK);
    ck_assert_str_eq(ev.resource_version, "99");
    k8s_event_free(&ev);

    ck_assert_int_eq(decode("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":"
                            "\"Failure\",\"message\":\"too old resource version: 5 (90)\","
                            "\"reason\":\"Expired\",\"code\":410}}",
                            &ev, FRESH(error)),
                     0);
    ck_assert_int_eq(ev.type, K8S_EVENT_ERROR);
    ck_assert_int_eq(ev.code, 410);
    k8s_event_free(&ev);
    free(error);
}
END_TEST

START_TEST(test_event_malformed)
{
    static const struct {
        const char *line, *error;
    } cases[] = {
        {"{\"type\":\"ADDED\",\"object\":{\"metadata\":", "end of input"},
        {"not json", "invalid literal"},
        {"[1,2]", "without a \"type\""},
        {"{\"type\":7,\"object\":{}}", "without a \"type\""},
        {"{\"type\":\"RENAMED\",\"object\":{}}", "unknown \"type\""},
        {"{\"type\":\"ADDED\"}", "without an \"object\""},
        {"{\"type\":\"ADDED\",\"object\":\"pod\"}", "without an \"object\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct k8s_event ev;
        char *error = NULL;
        ck_assert_int_eq(decode(cases[i].line, &ev, FRESH(error)), -1);
        ck_assert_msg(strstr(error, cases[i].error), "%s: got '%s'", cases[i].line, error);
        ck_assert_int_eq(ev.object.type, VALUE_NULL);
        ck_assert_ptr_null(ev.resource_version);
        free(error);
    }
}
END_TEST

START_TEST(test_list_decode)
{
    const char *list = "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"123\"},"
                       "\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":"
                       "\"b\"}}]}";
    struct value items;
    char *rv;
    char *error = NULL;
    ck_assert_int_eq(k8s_list_decode(list, strlen(list), &items, &rv, FRESH(error)), 0);
    ck_assert_int_eq(items.type, VALUE_ARRAY);
    ck_assert_uint_eq(items.as.array.count, 2);
    ck_assert_str_eq(rv, "123");
    value_free(&items);
    free(rv);

    const char *empty = "{\"kind\":\"PodList\",\"metadata\":{},\"items\":null}";
    ck_assert_int_eq(k8s_list_decode(empty, strlen(empty), &items, &rv, FRESH(error)), 0);
    ck_assert_uint_eq(items.as.array.count, 0);
    ck_assert_ptr_null(rv);
    value_free(&items);

    const char *bad[] = {"{\"kind\":\"Status\",\"code\":403}", "{\"items\":{}}", "{\"items\":["};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(k8s_list_decode(bad[i], strlen(bad[i]), &items, &rv, FRESH(error)), -1);
        ck_assert_int_eq(items.type, VALUE_NULL);
        ck_assert_ptr_null(rv);
    }
    free(error);
}
END_TEST

/* The record (with a `kubernetes` attachment) as JSON after k8s_merge_log on
 * `log`; checks how many members collided with keys the record had. */
static char *merged(const char *log, const char *merge_key, bool keep_log,
                    enum k8s_merge_result expect, uint32_t expect_collisions)
{
    struct record rec;
    record_init(&rec);
    struct value meta = value_map_new();
    struct value v = value_cstring("web-1");
    value_map_set(&meta.as.map, "pod_name", 8, &v);
    struct attachment *a = attachment_new("kubernetes", &meta);
    ck_assert_int_eq(record_attach(&rec, a), 0);
    attachment_unref(a);
    v = value_cstring("stdout");
    record_set_key(&rec, "stream", &v);
    v = value_cstring(log);
    record_set_key(&rec, "log", &v);
    struct k8s_merge_collisions collisions = {0};
    struct k8s_merge_options opts = {
        .log_key = "log", .merge_key = merge_key, .keep_log = keep_log, .trim = true};
    ck_assert_int_eq(k8s_merge_log(&rec, &opts, &collisions), expect);
    ck_assert_uint_eq(collisions.count, expect_collisions);
    /* The metadata stays the record's only `kubernetes`. */
    ck_assert_uint_eq(rec.attachment_count, 1);
    ck_assert_ptr_null(value_map_get(&rec.fields, "kubernetes", 10));
    struct value fields = {.type = VALUE_MAP, .as.map = rec.fields};
    struct buf b = BUF_INIT;
    json_write_value(&b, &fields, NULL);
    char *s = strdup(buf_cstr(&b));
    buf_free(&b);
    record_free(&rec);
    return s;
}

START_TEST(test_merge_log)
{
    /* The record's own `stream` and its metadata win: every key once. */
    char *s = merged("{\"level\":\"info\",\"stream\":\"x\",\"kubernetes\":{\"a\":1},\"n\":1}\n", "",
                     false, K8S_MERGE_OK, 2);
    ck_assert_str_eq(s, "{\"stream\":\"stdout\",\"level\":\"info\",\"n\":1}");
    free(s);
    s = merged(" {\"level\":\"info\"}", "app", false, K8S_MERGE_OK, 0);
    ck_assert_str_eq(s, "{\"stream\":\"stdout\",\"app\":{\"level\":\"info\"}}");
    free(s);
    /* With keep_log the original text stays and an inner `log` collides. */
    s = merged("{\"log\":\"inner\"}", "", true, K8S_MERGE_OK, 1);
    ck_assert_str_eq(s, "{\"stream\":\"stdout\",\"log\":\"{\\\"log\\\":\\\"inner\\\"}\"}");
    free(s);
    /* Without it, the inner `log` takes the text's place. */
    s = merged("{\"log\":\"inner\"}", "", false, K8S_MERGE_OK, 0);
    ck_assert_str_eq(s, "{\"stream\":\"stdout\",\"log\":\"inner\"}");
    free(s);
    /* merge_log_trim: line breaks and their written forms end no value. */
    s = merged("{\"msg\":\"done\\n\",\"raw\":\"a\\\\n\\r\\n\",\"n\":1}", "app", false, K8S_MERGE_OK,
               0);
    ck_assert_str_eq(s, "{\"stream\":\"stdout\",\"app\":{\"msg\":\"done\",\"raw\":\"a\",\"n\":1}}");
    free(s);
    /* An empty object adds no merge_log_key, as in Fluent Bit. */
    s = merged("{}", "app", false, K8S_MERGE_OK, 0);
    ck_assert_str_eq(s, "{\"stream\":\"stdout\"}");
    free(s);
    s = merged("plain text", "", false, K8S_MERGE_NONE, 0);
    free(s);
    s = merged("{not json", "", false, K8S_MERGE_FAILED, 0);
    free(s);
    s = merged("[1,2]", "", false, K8S_MERGE_NONE, 0);
    free(s);
}
END_TEST

/* Retries back off exponentially from backoff_min to backoff_max, each delay
 * between half and all of its step, and two clients do not draw the same
 * jitter. */
START_TEST(test_backoff)
{
    struct k8s_api a = {.opts = {.backoff_min_ms = 500, .backoff_max_ms = 30000},
                        .random_state = 12345};
    struct k8s_api b = a;
    b.random_state = 67890;
    static const int64_t steps[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    int same = 0;
    for (unsigned failures = 1; failures <= 9; failures++) {
        int64_t step = steps[failures - 1];
        for (int i = 0; i < 50; i++) {
            int64_t d = k8s_api_backoff_ms(&a, failures);
            ck_assert_msg(d >= step / 2 && d <= step, "failure %u: %lld not in [%lld, %lld]",
                          failures, (long long)d, (long long)(step / 2), (long long)step);
            same += d == k8s_api_backoff_ms(&b, failures);
        }
    }
    ck_assert_int_lt(same, 50);
}
END_TEST

Suite *k8s_watch_decode_suite(void)
{
    Suite *s = suite_create("k8s_watch_decode");
    TCase *tc = tcase_create("watch");
    tcase_add_test(tc, test_stream_any_pieces);
    tcase_add_test(tc, test_stream_bound_and_stop);
    tcase_add_test(tc, test_event_types);
    tcase_add_test(tc, test_event_malformed);
    tcase_add_test(tc, test_list_decode);
    tcase_add_test(tc, test_merge_log);
    tcase_add_test(tc, test_backoff);
    suite_add_tcase(s, tc);
    return s;
}
