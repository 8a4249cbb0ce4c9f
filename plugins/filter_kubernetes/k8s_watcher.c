/* One LIST then WATCH of a resource (pods of this node, or namespaces), with
 * resourceVersion bookkeeping: a watch resumes from the last version seen; a
 * 410 Gone (as a status or as an ERROR event), a lost or unreadable event, or
 * a failure starts over with a LIST, failures after a backoff. */
#include "k8s_api_internal.h"

#include "json_parse.h"
#include "log.h"
#include "loop.h"
#include "plugin_api.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* A watch that ends sooner than this without an error counts as a failure,
 * so a server that closes every watch at once is not hammered. */
enum { MIN_WATCH_MS = 1000, CONTEXT_BYTES = 120 };

static void watcher_next(struct k8s_watcher *w);

static struct metric *restarts_counter(const struct k8s_watcher *w, const char *reason)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", w->api->opts.alias, "resource", w->resource, "reason",
                   reason, NULL);
    struct metric *m = metrics_counter("skiff_k8s_watch_restarts_total",
                                       "LISTs and WATCHes started again, by why the last ended",
                                       buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void watcher_on_timer(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct k8s_watcher *w = data;
    w->timer = NULL;
    watcher_next(w);
}

/* Schedules the next request: at once after a normal end or a 410, after a
 * backoff after a failure. Every failure relists: state may have been lost. */
static void watcher_retry(struct k8s_watcher *w, const char *reason, bool failed, bool relist)
{
    metric_add(restarts_counter(w, reason), 1);
    w->relist = w->relist || relist || failed;
    int64_t delay = 0;
    if (!failed && strcmp(reason, "closed_early") == 0) {
        delay = w->api->opts.backoff_min_ms;
    } else if (failed) {
        w->failures++;
        delay = k8s_api_backoff_ms(w->api, w->failures);
        if (w->pods && w->failures == 1)
            k8s_api_notify(w->api); /* no longer healthy */
    }
    w->timer = loop_add_timer(w->api->loop, delay, 0, watcher_on_timer, w);
}

/* Logs a failed request: a warning the first time in a row, then debug. */
static void watcher_log_failure(struct k8s_watcher *w, const char *verb,
                                const struct http_response *r)
{
    struct buf why = BUF_INIT;
    if (r->error)
        buf_append_str(&why, r->error);
    else
        buf_printf(&why, "HTTP %ld", r->status);
    if (r->status == 401)
        buf_append_str(&why, " (the token was refused; token_file is read again)");
    else if (r->status == 403)
        buf_append_str(&why, " (RBAC: the service account needs get, list and watch on pods "
                             "and namespaces)");
    else if (!r->error && r->body_len > 0) {
        /* Masked whole before the cut: a proxy may quote the token back. */
        char *body = xstrndup(r->body, r->body_len);
        char *masked = secret_mask(body);
        const char *text = masked ? masked : body;
        buf_printf(&why, ": %.*s", (int)strnlen(text, CONTEXT_BYTES), text);
        free(masked);
        free(body);
    }
    if (w->failures == 0)
        log_warn(w->api->opts.alias,
                 "%s %s: %s; records go on without API metadata, retrying with backoff", verb,
                 w->url, buf_cstr(&why));
    else
        log_debug(w->api->opts.alias, "%s %s: %s; retrying", verb, w->url, buf_cstr(&why));
    buf_free(&why);
}

/* A watch event that cannot be used: counted, logged once per watcher with
 * the start of the line for context. */
static void watcher_bad_event(struct k8s_watcher *w, const char *what, const char *line, size_t len,
                              const char *detail)
{
    metric_add(w->api->bad_events, 1);
    if (w->warned_bad_event)
        return;
    w->warned_bad_event = true;
    int shown = (int)(len < CONTEXT_BYTES ? len : CONTEXT_BYTES);
    log_warn(w->api->opts.alias,
             "watch %s: %s event (%s) near \"%.*s%s\"; listing again (counted in "
             "skiff_k8s_bad_events_total, logged once)",
             w->resource, what, detail, shown, line ? line : "", (size_t)shown < len ? "..." : "");
}

static void watcher_apply(struct k8s_watcher *w, struct k8s_event *ev)
{
    struct k8s_cache *cache = w->api->cache;
    int64_t now = loop_now_ms(w->api->loop);
    if (ev->type == K8S_EVENT_ADDED || ev->type == K8S_EVENT_MODIFIED) {
        if (w->pods)
            k8s_cache_put(cache, &ev->object);
        else
            k8s_cache_put_namespace(cache, &ev->object);
    } else if (ev->type == K8S_EVENT_DELETED) {
        if (w->pods)
            k8s_cache_delete(cache, &ev->object, now);
        else
            k8s_cache_delete_namespace(cache, &ev->object);
    }
    w->events_applied++;
}

static int watcher_on_line(void *data, const char *line, size_t len)
{
    struct k8s_watcher *w = data;
    struct k8s_event ev;
    char *error = NULL;
    if (k8s_event_decode(line, len, &ev, &error) != 0) {
        watcher_bad_event(w, "malformed", line, len, error);
        free(error);
        w->abort_reason = "malformed";
        return -1;
    }
    if (ev.type == K8S_EVENT_ERROR) {
        w->abort_reason = ev.code == 410 ? "gone" : "error_event";
        if (ev.code != 410)
            watcher_bad_event(w, "ERROR", line, len, "the server ended the watch");
        k8s_event_free(&ev);
        return -1;
    }
    if (ev.resource_version) {
        free(w->resource_version);
        w->resource_version = ev.resource_version;
        ev.resource_version = NULL;
    }
    if (ev.type != K8S_EVENT_BOOKMARK)
        watcher_apply(w, &ev);
    k8s_event_free(&ev);
    return 0;
}

static int watcher_on_data(void *data, const char *bytes, size_t len)
{
    struct k8s_watcher *w = data;
    int rc = k8s_stream_feed(&w->stream, bytes, len, watcher_on_line, w);
    if (rc == -2) {
        watcher_bad_event(w, "oversized", bytes, len, "larger than the event limit");
        w->abort_reason = "oversized";
    }
    if (w->events_applied) {
        w->events_applied = 0;
        k8s_api_notify(w->api);
    }
    return rc == 0 ? 0 : -1;
}

static void watcher_watch_done(void *data, const struct http_response *r)
{
    struct k8s_watcher *w = data;
    w->call = NULL;
    k8s_api_count(w->api, "watch", r);
    size_t pending = k8s_stream_pending(&w->stream);
    k8s_stream_reset(&w->stream);
    const char *reason = w->abort_reason;
    w->abort_reason = NULL;
    if (reason) {
        watcher_retry(w, reason, strcmp(reason, "gone") != 0, true);
        return;
    }
    if (r->status == 410) {
        watcher_retry(w, "gone", false, true);
        return;
    }
    if (pending)
        watcher_bad_event(w, "truncated", NULL, 0, "the stream ended inside an event");
    if (r->error || r->status != 200) {
        watcher_log_failure(w, "watch", r);
        watcher_retry(w, pending ? "truncated" : "failed", true, true);
        return;
    }
    if (pending) {
        watcher_retry(w, "truncated", false, true);
        return;
    }
    /* A watch the server closes at once is not a failure of the link, but
     * is not opened again at once either. */
    watcher_retry(w, r->elapsed_ms < MIN_WATCH_MS ? "closed_early" : "closed", false, false);
}

static void watcher_watch(struct k8s_watcher *w)
{
    struct k8s_api *api = w->api;
    /* Like client-go: a timeout between one and two times the setting, so
     * the watches of many nodes do not end together. */
    int64_t timeout_s = api->opts.watch_timeout_ms / 1000;
    timeout_s += (int64_t)(k8s_api_random(api) % (uint64_t)(timeout_s > 0 ? timeout_s : 1));
    free(w->url);
    w->url = xasprintf("%s%cwatch=1&allowWatchBookmarks=true&timeoutSeconds=%lld%s%s", w->list_url,
                       strchr(w->list_url, '?') ? '&' : '?', (long long)timeout_s,
                       w->resource_version ? "&resourceVersion=" : "",
                       w->resource_version ? w->resource_version : "");
    w->call =
        k8s_api_get(api, w->url, timeout_s * 1000 + 30000, watcher_on_data, watcher_watch_done, w);
    if (!w->call)
        watcher_retry(w, "failed", true, true);
}

static void watcher_list_done(void *data, const struct http_response *r)
{
    struct k8s_watcher *w = data;
    w->call = NULL;
    k8s_api_count(w->api, "list", r);
    if (r->error || r->status != 200) {
        watcher_log_failure(w, "list", r);
        watcher_retry(w, "failed", true, true);
        return;
    }
    struct value items;
    char *rv;
    char *error = NULL;
    if (k8s_list_decode(r->body, r->body_len, &items, &rv, &error) != 0) {
        watcher_bad_event(w, "unreadable list", r->body, r->body_len, error);
        free(error);
        watcher_retry(w, "malformed", true, true);
        return;
    }
    struct k8s_cache *cache = w->api->cache;
    if (w->pods)
        k8s_cache_sync_begin(cache);
    for (uint32_t i = 0; i < items.as.array.count; i++) {
        if (w->pods)
            k8s_cache_put(cache, &items.as.array.items[i]);
        else
            k8s_cache_put_namespace(cache, &items.as.array.items[i]);
    }
    if (w->pods)
        k8s_cache_sync_end(cache, loop_now_ms(w->api->loop));
    log_info(w->api->opts.alias, "listed %u %s%s", items.as.array.count, w->resource,
             w->failures ? " (the API server answers again)" : "");
    value_free(&items);
    free(w->resource_version);
    w->resource_version = rv;
    w->relist = false;
    w->failures = 0;
    w->synced = true;
    k8s_api_notify(w->api);
    watcher_watch(w);
}

static void watcher_list(struct k8s_watcher *w)
{
    free(w->url);
    w->url = xstrdup(w->list_url);
    w->call =
        k8s_api_get(w->api, w->url, w->api->opts.request_timeout_ms, NULL, watcher_list_done, w);
    if (!w->call)
        watcher_retry(w, "failed", true, true);
}

static void watcher_next(struct k8s_watcher *w)
{
    if (w->relist || !w->resource_version)
        watcher_list(w);
    else
        watcher_watch(w);
}

void k8s_watcher_init(struct k8s_watcher *w, struct k8s_api *api, bool pods)
{
    memset(w, 0, sizeof *w);
    w->api = api;
    w->pods = pods;
    w->resource = pods ? "pods" : "namespaces";
    if (pods)
        w->list_url = xasprintf("%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s",
                                api->opts.api_url, api->opts.node_name);
    else
        w->list_url = xasprintf("%s/api/v1/namespaces", api->opts.api_url);
    k8s_stream_init(&w->stream, api->opts.max_event_bytes);
    w->relist = true;
}

void k8s_watcher_start(struct k8s_watcher *w)
{
    watcher_next(w);
}

void k8s_watcher_stop(struct k8s_watcher *w)
{
    if (!w->api)
        return;
    if (w->call)
        http_call_cancel(w->api->http, w->call);
    if (w->timer)
        loop_cancel_timer(w->api->loop, w->timer);
    k8s_stream_free(&w->stream);
    free(w->list_url);
    free(w->url);
    free(w->resource_version);
    memset(w, 0, sizeof *w);
}
