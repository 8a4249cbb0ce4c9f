/* The kubernetes filter's API client (see k8s_api.h): requests with the
 * service account token and CA, the watchers of k8s_watcher.c, the per-pod
 * GETs, and the kubelet poller. */
#include "k8s_api_internal.h"

#include "json_parse.h"
#include "log.h"
#include "loop.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    MAX_TOKEN_BYTES = 64 << 10,
    MAX_FETCHES_IN_FLIGHT = 8,
    MAX_FETCHED_REMEMBERED = 4096,
    REFETCH_AFTER_MS = 60000,
};

/* A GET of one pod, in flight. */
struct pod_fetch {
    struct pod_fetch *next;
    struct k8s_api *api;
    struct http_call *call;
    char *url;
};

/* A pod asked for, so that it is asked for once. */
struct fetched {
    struct hmap_node node;
    char *key;
    int64_t at_ms;
};

/* ---- token ---- */

static void token_forget(struct k8s_api *api)
{
    api->token_size = -1;
}

/* Reads the token file again if it changed (projected tokens are rotated):
 * a stat before each request, a read only when something moved. */
static void token_refresh(struct k8s_api *api)
{
    const char *path = api->opts.token_file;
    if (!path || !path[0])
        return;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size == api->token_size && st.st_ino == api->token_ino &&
        st.st_mtim.tv_sec == api->token_mtime.tv_sec &&
        st.st_mtim.tv_nsec == api->token_mtime.tv_nsec)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *token = xmalloc(MAX_TOKEN_BYTES + 1);
    ssize_t n = fd >= 0 ? read(fd, token, MAX_TOKEN_BYTES) : -1;
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        if (!api->token_warned)
            log_warn(api->opts.alias, "token_file %s: %s; keeping the previous token", path,
                     n == 0 ? "empty" : strerror(err));
        api->token_warned = true;
        free(token);
        return;
    }
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
        n--;
    token[n] = '\0';
    free(api->auth_header);
    api->auth_header = xasprintf("Authorization: Bearer %s", token);
    secret_register(token);
    free(token);
    api->token_warned = false;
    api->token_size = st.st_size;
    api->token_ino = st.st_ino;
    api->token_mtime = st.st_mtim;
}

/* ---- requests ---- */

struct http_call *k8s_api_get(struct k8s_api *api, const char *url, int64_t timeout_ms,
                              http_data_cb *on_data, http_done_cb *on_done, void *data)
{
    token_refresh(api);
    const char *headers[2] = {"Accept: application/json", api->auth_header};
    struct http_request request = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .header_count = api->auth_header ? 2 : 1,
        .timeout_ms = timeout_ms,
        .tls = &api->tls,
        .on_data = on_data,
        .on_done = on_done,
        .data = data,
    };
    if (!on_data)
        request.max_response_bytes = 256u << 20; /* a LIST of a full node */
    return http_client_start(api->http, &request);
}

void k8s_api_count(struct k8s_api *api, const char *verb, const struct http_response *r)
{
    struct buf labels = BUF_INIT;
    char code[24] = "error";
    if (r->status > 0)
        snprintf(code, sizeof code, "%ld", r->status);
    metrics_labels(&labels, "instance", api->opts.alias, "verb", verb, "code", code, NULL);
    metric_add(metrics_counter("skiff_k8s_api_requests_total",
                               "Requests to the Kubernetes API (or kubelet), by verb and HTTP "
                               "status (\"error\": no answer)",
                               buf_cstr(&labels)),
               1);
    buf_free(&labels);
    if (r->status == 401)
        token_forget(api);
}

uint64_t k8s_api_random(struct k8s_api *api)
{
    /* xorshift64*: enough to spread retries, not for anything secret. */
    uint64_t x = api->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    api->random_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

int64_t k8s_api_backoff_ms(struct k8s_api *api, unsigned failures)
{
    int64_t delay = api->opts.backoff_min_ms;
    for (unsigned i = 1; i < failures && delay < api->opts.backoff_max_ms; i++)
        delay *= 2;
    if (delay > api->opts.backoff_max_ms)
        delay = api->opts.backoff_max_ms;
    /* Full jitter over the upper half: many nodes do not retry in step. */
    return delay / 2 + (int64_t)(k8s_api_random(api) % (uint64_t)(delay / 2 + 1));
}

void k8s_api_notify(struct k8s_api *api)
{
    api->changed(api->changed_data);
}

/* ---- per-pod GETs ---- */

static struct fetched *fetched_find(struct k8s_api *api, const char *key)
{
    uint64_t hash = hash_bytes(key, strlen(key));
    for (struct hmap_node *n = hmap_find(&api->fetched, hash); n; n = hmap_find_next(n)) {
        struct fetched *f = hmap_entry(n, struct fetched, node);
        if (strcmp(f->key, key) == 0)
            return f;
    }
    return NULL;
}

static void fetched_clear(struct k8s_api *api)
{
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&api->fetched, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&api->fetched, &bucket, n);
        struct fetched *f = hmap_entry(n, struct fetched, node);
        hmap_remove(&api->fetched, n);
        free(f->key);
        free(f);
        n = next;
    }
}

/* True if a pod GET may start now: a token bucket of pod_gets_per_second. */
static bool fetch_allowed(struct k8s_api *api)
{
    int64_t now = loop_now_ms(api->loop);
    double rate = api->opts.pod_gets_per_second;
    api->get_tokens += (double)(now - api->get_tokens_ms) * rate / 1000.0;
    api->get_tokens_ms = now;
    if (api->get_tokens > rate)
        api->get_tokens = rate;
    if (api->get_tokens < 1.0 || api->fetches_in_flight >= MAX_FETCHES_IN_FLIGHT)
        return false;
    api->get_tokens -= 1.0;
    return true;
}

static void fetch_free(struct k8s_api *api, struct pod_fetch *fetch)
{
    for (struct pod_fetch **p = &api->fetches; *p; p = &(*p)->next) {
        if (*p == fetch) {
            *p = fetch->next;
            break;
        }
    }
    api->fetches_in_flight--;
    free(fetch->url);
    free(fetch);
}

static void fetch_done(void *data, const struct http_response *r)
{
    struct pod_fetch *fetch = data;
    struct k8s_api *api = fetch->api;
    k8s_api_count(api, "get", r);
    if (r->status == 200) {
        struct value pod;
        if (json_parse(r->body, r->body_len, &pod, NULL) == 0 &&
            k8s_cache_put(api->cache, &pod) != NULL)
            k8s_api_notify(api);
        else
            metric_add(api->bad_events, 1);
    } else {
        log_debug(api->opts.alias, "get %s: %s", fetch->url,
                  r->error ? r->error : "no such pod (yet)");
    }
    fetch_free(api, fetch);
}

bool k8s_api_fetch_pod(struct k8s_api *api, const char *namespace_name, const char *name)
{
    if (api->opts.use_kubelet)
        return true;
    char *key = xasprintf("%s/%s", namespace_name, name);
    int64_t now = loop_now_ms(api->loop);
    struct fetched *f = fetched_find(api, key);
    bool recent = f && now - f->at_ms < REFETCH_AFTER_MS;
    if (recent || !fetch_allowed(api)) {
        free(key);
        return recent;
    }
    if (!f) {
        if (api->fetched.count >= MAX_FETCHED_REMEMBERED)
            fetched_clear(api);
        f = xcalloc(1, sizeof *f);
        f->key = key;
        hmap_insert(&api->fetched, &f->node, hash_bytes(key, strlen(key)));
    } else {
        free(key);
    }
    f->at_ms = now;
    struct pod_fetch *fetch = xcalloc(1, sizeof *fetch);
    fetch->api = api;
    fetch->url =
        xasprintf("%s/api/v1/namespaces/%s/pods/%s", api->opts.api_url, namespace_name, name);
    fetch->next = api->fetches;
    api->fetches = fetch;
    api->fetches_in_flight++;
    fetch->call =
        k8s_api_get(api, fetch->url, api->opts.request_timeout_ms, NULL, fetch_done, fetch);
    if (!fetch->call)
        fetch_free(api, fetch);
    return true;
}

/* ---- kubelet ---- */

static void kubelet_poll(struct loop *loop, struct loop_timer *timer, void *data);

static void kubelet_done(void *data, const struct http_response *r)
{
    struct k8s_api *api = data;
    api->kubelet_call = NULL;
    k8s_api_count(api, "kubelet_pods", r);
    struct value items;
    char *rv = NULL;
    char *error = NULL;
    if (r->error || r->status != 200 ||
        k8s_list_decode(r->body, r->body_len, &items, &rv, &error) != 0) {
        if (api->kubelet_failures++ == 0)
            log_warn(api->opts.alias,
                     "get %s: %s%s; records go on without metadata, polling "
                     "again",
                     api->kubelet_url, r->error ? r->error : "unusable answer ",
                     r->error ? ""
                     : error  ? error
                              : "(HTTP status not 200)");
        free(error);
        k8s_api_notify(api);
        return;
    }
    k8s_cache_sync_begin(api->cache);
    for (uint32_t i = 0; i < items.as.array.count; i++)
        k8s_cache_put(api->cache, &items.as.array.items[i]);
    k8s_cache_sync_end(api->cache, loop_now_ms(api->loop));
    if (api->kubelet_failures)
        log_info(api->opts.alias, "%s answers again", api->kubelet_url);
    api->kubelet_failures = 0;
    api->pods.synced = true;
    value_free(&items);
    free(rv);
    k8s_api_notify(api);
}

static void kubelet_poll(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct k8s_api *api = data;
    if (api->kubelet_call)
        return;
    api->kubelet_call =
        k8s_api_get(api, api->kubelet_url, api->opts.request_timeout_ms, NULL, kubelet_done, api);
}

/* ---- the client ---- */

struct k8s_api *k8s_api_start(struct loop *loop, const struct k8s_api_options *opts,
                              struct k8s_cache *cache, k8s_api_changed_cb *changed, void *data)
{
    struct http_client *http = http_client_create(loop);
    if (!http) {
        log_error(opts->alias, "cannot create an HTTP client for the Kubernetes API");
        return NULL;
    }
    struct k8s_api *api = xcalloc(1, sizeof *api);
    api->loop = loop;
    api->opts = *opts;
    api->cache = cache;
    api->changed = changed;
    api->changed_data = data;
    api->http = http;
    api->tls = (struct http_tls){.verify = opts->tls_verify, .ca_file = opts->ca_file};
    api->get_tokens = opts->pod_gets_per_second;
    api->get_tokens_ms = loop_now_ms(loop);
    token_forget(api);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    api->random_state = ((uint64_t)now.tv_nsec << 32) ^ (uint64_t)now.tv_sec ^
                        ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)api;
    if (!api->random_state)
        api->random_state = 1;
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", opts->alias, NULL);
    api->bad_events = metrics_counter("skiff_k8s_bad_events_total",
                                      "Watch events and answers that were malformed, truncated "
                                      "or too large",
                                      buf_cstr(&labels));
    buf_free(&labels);
    if (opts->use_kubelet) {
        api->kubelet_url = xasprintf("%s/pods", opts->kubelet_url);
        api->kubelet_timer = loop_add_timer(loop, 0, opts->kubelet_interval_ms, kubelet_poll, api);
    } else {
        k8s_watcher_init(&api->pods, api, true);
        k8s_watcher_start(&api->pods);
    }
    if (opts->watch_namespaces) {
        k8s_watcher_init(&api->namespaces, api, false);
        k8s_watcher_start(&api->namespaces);
    }
    return api;
}

void k8s_api_stop(struct k8s_api *api)
{
    if (!api)
        return;
    k8s_watcher_stop(&api->pods);
    k8s_watcher_stop(&api->namespaces);
    if (api->kubelet_timer)
        loop_cancel_timer(api->loop, api->kubelet_timer);
    if (api->kubelet_call)
        http_call_cancel(api->http, api->kubelet_call);
    while (api->fetches) {
        http_call_cancel(api->http, api->fetches->call);
        fetch_free(api, api->fetches);
    }
    http_client_destroy(api->http);
    fetched_clear(api);
    hmap_free(&api->fetched);
    free(api->kubelet_url);
    free(api->auth_header);
    free(api);
}

bool k8s_api_synced(const struct k8s_api *api)
{
    return api->pods.synced;
}

bool k8s_api_namespaces_pending(const struct k8s_api *api)
{
    return api->opts.watch_namespaces && !api->namespaces.synced && api->namespaces.failures == 0;
}

bool k8s_api_healthy(const struct k8s_api *api)
{
    if (api->opts.use_kubelet)
        return api->kubelet_failures == 0;
    return api->pods.failures == 0;
}
