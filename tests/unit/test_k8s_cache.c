/* Unit tests for the kubernetes filter's pod cache: lookups by name and uid,
 * the shared attachments, deletion with a TTL, the size bound, full LIST
 * syncs and namespace labels. */
#include "error_slot.h"
#include "suites.h"

#include "buf.h"
#include "json.h"
#include "json_parse.h"
#include "plugins/filter_kubernetes/k8s_cache.h"
#include "plugins/filter_kubernetes/k8s_logging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct value pod_value(const char *namespace_name, const char *name, const char *uid,
                              const char *app, bool excluded)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"%s\","
             "\"labels\":{\"app\":\"%s\",\"app.kubernetes.io/name\":\"x\"},"
             "\"annotations\":{\"skiff.io/exclude\":\"%s\"}},"
             "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"main\","
             "\"image\":\"img:1\"}]},"
             "\"status\":{\"containerStatuses\":[{\"name\":\"main\",\"image\":\"img:1\","
             "\"imageID\":\"img@sha256:ab\",\"containerID\":\"containerd://c1\"}]}}",
             name, namespace_name, uid, app, excluded ? "true" : "false");
    struct value v;
    char *error = NULL;
    ck_assert_msg(json_parse(json, strlen(json), &v, FRESH(error)) == 0, "%s", error);
    free(error);
    return v;
}

static struct k8s_cache *cache_new(size_t max_pods, int64_t ttl_ms)
{
    struct k8s_cache_options opts = {
        .max_pods = max_pods,
        .ttl_ms = ttl_ms,
        .meta = {.labels = true, .dedot = true},
        .namespace_labels = true,
    };
    return k8s_cache_create(&opts);
}

static void put(struct k8s_cache *cache, const char *ns, const char *name, const char *app)
{
    struct value v = pod_value(ns, name, "u-1", app, false);
    ck_assert_ptr_nonnull(k8s_cache_put(cache, &v));
    ck_assert_int_eq(v.type, VALUE_NULL);
}

static char *attachment_json(struct attachment *a)
{
    struct buf b = BUF_INIT;
    json_write_value(&b, &a->value, NULL);
    char *s = strdup(buf_cstr(&b));
    buf_free(&b);
    return s;
}

START_TEST(test_cache_find_and_share)
{
    struct k8s_cache *cache = cache_new(10, 1000);
    put(cache, "shop", "web-1", "web");
    ck_assert_ptr_null(k8s_cache_find(cache, "shop", "web-2", NULL));
    ck_assert_ptr_null(k8s_cache_find(cache, "other", "web-1", NULL));
    struct k8s_pod *pod = k8s_cache_find(cache, "shop", "web-1", NULL);
    ck_assert_ptr_nonnull(pod);
    ck_assert_ptr_eq(k8s_cache_find(cache, "shop", "web-1", "u-1"), pod);
    ck_assert_ptr_null(k8s_cache_find(cache, "shop", "web-1", "u-2")); /* recreated pod */

    /* One attachment per container, shared by every record. */
    struct attachment *a = k8s_pod_attachment(cache, pod, "main", NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(k8s_pod_attachment(cache, pod, "main", NULL), a);
    ck_assert_str_eq(a->key.ptr, "kubernetes");
    char *json = attachment_json(a);
    ck_assert_str_eq(json, "{\"pod_name\":\"web-1\",\"namespace_name\":\"shop\",\"pod_id\":"
                           "\"u-1\",\"host\":\"n1\",\"container_name\":\"main\","
                           "\"docker_id\":\"c1\",\"container_image\":\"img:1\","
                           "\"container_hash\":\"img@sha256:ab\",\"labels\":{\"app\":\"web\","
                           "\"app_kubernetes_io/name\":\"x\"}}");
    free(json);
    struct attachment *other = k8s_pod_attachment(cache, pod, "sidecar", NULL);
    ck_assert_ptr_nonnull(other);
    ck_assert_ptr_ne(other, a);
    /* A file of the container that names another container id (written
     * before a restart) has its own, with that id. */
    struct attachment *old = k8s_pod_attachment(cache, pod, "main", "c0");
    ck_assert_ptr_ne(old, a);
    ck_assert_ptr_eq(k8s_pod_attachment(cache, pod, "main", "c0"), old);
    json = attachment_json(old);
    ck_assert_ptr_nonnull(strstr(json, "\"docker_id\":\"c0\""));
    free(json);

    /* A record holding a reference keeps it alive past a pod update. */
    attachment_ref(a);
    uint64_t version = k8s_cache_version(cache);
    put(cache, "shop", "web-1", "web-v2");
    ck_assert_uint_ne(k8s_cache_version(cache), version);
    pod = k8s_cache_find(cache, "shop", "web-1", NULL);
    struct attachment *b = k8s_pod_attachment(cache, pod, "main", NULL);
    ck_assert_ptr_ne(b, a);
    json = attachment_json(b);
    ck_assert_ptr_nonnull(strstr(json, "\"app\":\"web-v2\""));
    free(json);
    json = attachment_json(a);
    ck_assert_ptr_nonnull(strstr(json, "\"app\":\"web\""));
    free(json);
    attachment_unref(a);
    k8s_cache_destroy(cache);
}
END_TEST

START_TEST(test_cache_counts)
{
    metrics_reset();
    struct metric *hits = metrics_counter("t_hits", "h", "");
    struct metric *misses = metrics_counter("t_misses", "m", "");
    struct metric *size = metrics_gauge("t_size", "s", "");
    struct metric *evicted = metrics_counter("t_evicted", "e", "");
    struct k8s_cache_options opts = {.max_pods = 2,
                                     .ttl_ms = 10,
                                     .hits = hits,
                                     .misses = misses,
                                     .size = size,
                                     .evicted = evicted};
    struct k8s_cache *cache = k8s_cache_create(&opts);
    put(cache, "a", "p1", "x");
    put(cache, "a", "p2", "x");
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "p1", NULL));
    ck_assert_ptr_null(k8s_cache_find(cache, "a", "p9", NULL));
    put(cache, "a", "p3", "x"); /* pushes out p2, the least recently used */
    ck_assert_int_eq(metric_get(hits), 1);
    ck_assert_int_eq(metric_get(misses), 1);
    ck_assert_int_eq(metric_get(size), 2);
    ck_assert_int_eq(metric_get(evicted), 1);
    ck_assert_ptr_null(k8s_cache_find(cache, "a", "p2", NULL));
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "p1", NULL));
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "p3", NULL));
    k8s_cache_destroy(cache);
    metrics_reset();
}
END_TEST

START_TEST(test_cache_delete_ttl)
{
    struct k8s_cache *cache = cache_new(10, 1000);
    put(cache, "a", "p1", "x");
    struct value gone = pod_value("a", "p1", "u-1", "x", false);
    /* Nothing deleted: nothing will expire (the filter's timer sleeps). */
    ck_assert(k8s_cache_expire(cache, 4000) == INT64_MAX);
    k8s_cache_delete(cache, &gone, 5000);
    value_free(&gone);
    /* When the next expiry is due, for the filter's one-shot timer. */
    ck_assert_int_eq(k8s_cache_expire(cache, 5999), 6000);
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "p1", NULL)); /* its last lines */
    ck_assert(k8s_cache_expire(cache, 6000) == INT64_MAX);
    ck_assert_ptr_null(k8s_cache_find(cache, "a", "p1", NULL));
    ck_assert_uint_eq(k8s_cache_count(cache), 0);

    /* Deleted, then added again before the TTL: alive. */
    put(cache, "a", "p2", "x");
    gone = pod_value("a", "p2", "u-1", "x", false);
    k8s_cache_delete(cache, &gone, 100);
    value_free(&gone);
    put(cache, "a", "p2", "x");
    k8s_cache_expire(cache, 100000);
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "p2", NULL));
    k8s_cache_destroy(cache);
}
END_TEST

START_TEST(test_cache_sync)
{
    struct k8s_cache *cache = cache_new(10, 1000);
    put(cache, "a", "stays", "x");
    put(cache, "a", "goes", "x");
    k8s_cache_sync_begin(cache);
    put(cache, "a", "stays", "x");
    put(cache, "a", "new", "x");
    k8s_cache_sync_end(cache, 50);
    k8s_cache_expire(cache, 1050);
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "stays", NULL));
    ck_assert_ptr_nonnull(k8s_cache_find(cache, "a", "new", NULL));
    ck_assert_ptr_null(k8s_cache_find(cache, "a", "goes", NULL));
    k8s_cache_destroy(cache);
}
END_TEST

START_TEST(test_cache_refuses_nameless)
{
    struct k8s_cache *cache = cache_new(10, 1000);
    const char *bad[] = {"{}", "[]", "{\"metadata\":{\"name\":\"x\"}}",
                         "{\"metadata\":{\"name\":\"\",\"namespace\":\"a\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct value v;
        ck_assert_int_eq(json_parse(bad[i], strlen(bad[i]), &v, NULL), 0);
        ck_assert_ptr_null(k8s_cache_put(cache, &v));
        ck_assert_int_eq(v.type, VALUE_NULL);
        k8s_cache_delete(cache, &v, 1);
    }
    ck_assert_uint_eq(k8s_cache_count(cache), 0);
    k8s_cache_destroy(cache);
}
END_TEST

/* A namespace's labels are its own attachment, kubernetes_namespace, as
 * Fluent Bit writes them: {"name", "labels"}; the pods' do not change. */
START_TEST(test_cache_exclude_and_namespace_labels)
{
    struct k8s_cache *cache = cache_new(10, 1000);
    struct value v = pod_value("ops", "noisy", "u-1", "x", true);
    struct k8s_pod *pod = k8s_cache_put(cache, &v);
    struct k8s_logging logging;
    k8s_logging_read(k8s_pod_object(pod), "main", &logging);
    ck_assert(k8s_logging_excluded(&logging, K8S_STREAM_OTHER));
    ck_assert_ptr_null(k8s_namespace_attachment(cache, "ops"));
    struct attachment *a = k8s_pod_attachment(cache, pod, "main", NULL);

    const char *ns_json = "{\"metadata\":{\"name\":\"ops\",\"labels\":{\"team.io/owner\":"
                          "\"sre\"},\"annotations\":{\"note\":\"x\"}}}";
    struct value ns;
    ck_assert_int_eq(json_parse(ns_json, strlen(ns_json), &ns, NULL), 0);
    k8s_cache_put_namespace(cache, &ns);
    struct attachment *n = k8s_namespace_attachment(cache, "ops");
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n->key.ptr, "kubernetes_namespace");
    char *json = attachment_json(n);
    ck_assert_str_eq(json, "{\"name\":\"ops\",\"labels\":{\"team_io/owner\":\"sre\"}}");
    free(json);
    ck_assert_ptr_null(k8s_namespace_attachment(cache, "other"));
    ck_assert_ptr_eq(k8s_pod_attachment(cache, pod, "main", NULL), a);
    json = attachment_json(a);
    ck_assert_ptr_null(strstr(json, "team"));
    free(json);
    k8s_cache_delete_namespace(cache, &ns);
    value_free(&ns);
    ck_assert_ptr_null(k8s_namespace_attachment(cache, "ops"));
    k8s_cache_destroy(cache);
}
END_TEST

Suite *k8s_cache_suite(void)
{
    Suite *s = suite_create("k8s_cache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, test_cache_find_and_share);
    tcase_add_test(tc, test_cache_counts);
    tcase_add_test(tc, test_cache_delete_ttl);
    tcase_add_test(tc, test_cache_sync);
    tcase_add_test(tc, test_cache_refuses_nameless);
    tcase_add_test(tc, test_cache_exclude_and_namespace_labels);
    suite_add_tcase(s, tc);
    return s;
}
