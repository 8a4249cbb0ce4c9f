/* Filter `kubernetes`: adds the pod's metadata (namespace, pod, container,
 * image, labels, owner...) to the records of container log files, from a
 * node-scoped LIST+WATCH of the API server kept in a cache. This file holds
 * the options, their validation and the start; k8s_hold.c does the records,
 * k8s_api.c the API, k8s_cache.c the cache. */
#include "k8s_filter.h"

#include "cfg_node.h"
#include "diag.h"
#include "log.h"
#include "loop.h"
#include "xalloc.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define OPT(field) offsetof(struct k8s_filter_options, field)

enum { TICK_MIN_MS = 50, TICK_MAX_MS = 250 };

static const struct option_spec k8s_options_table[] = {
    {.name = "api_url",
     .type = OPT_STRING,
     .default_value = "",
     .offset = OPT(api_url),
     .description = "API server, http(s)://host[:port]; \"\": https://$KUBERNETES_SERVICE_HOST:"
                    "$KUBERNETES_SERVICE_PORT (in the cluster)"},
    {.name = "token_file",
     .type = OPT_STRING,
     .offset = OPT(token_file),
     .description = "bearer token, read again whenever the file changes; unset: the service "
                    "account's (" SA_DIR "/token) when api_url is unset (in the cluster), "
                    "none otherwise; \"\": send none"},
    {.name = "ca_file",
     .type = OPT_STRING,
     .offset = OPT(ca_file),
     .description = "CA bundle (PEM) to verify the API server with; unset: the service "
                    "account's (" SA_DIR "/ca.crt) when api_url is unset (in the cluster), the "
                    "system's otherwise; \"\": the system's"},
    {.name = "tls_verify",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(tls_verify),
     .description = "verify the server's certificate and name"},
    {.name = "node_name",
     .type = OPT_STRING,
     .default_value = "",
     .offset = OPT(node_name),
     .description = "this node, whose pods are watched; \"\": $NODE_NAME"},
    {.name = "use_kubelet",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(use_kubelet),
     .description = "poll the kubelet's /pods instead of watching the API server"},
    {.name = "kubelet_url",
     .type = OPT_STRING,
     .default_value = "https://127.0.0.1:10250",
     .offset = OPT(kubelet_url),
     .description = "the kubelet, with use_kubelet"},
    {.name = "kubelet_interval",
     .type = OPT_DURATION,
     .default_value = "10s",
     .min = 100,
     .max = 3600000,
     .offset = OPT(kubelet_interval_ms),
     .description = "how often the kubelet's /pods is read, with use_kubelet"},
    {.name = "labels",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(labels),
     .description = "add the pod's labels"},
    {.name = "annotations",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(annotations),
     .description = "add the pod's annotations"},
    {.name = "owner_references",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(owner_references),
     .description = "add the pod's ownerReferences as they are, as Fluent Bit's Owner_References "
                    "does (`owner`, its controller's kind and name, is always added)"},
    {.name = "dedot",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(dedot),
     .description = "replace '.' by '_' in label and annotation keys"},
    {.name = "namespace_labels",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(namespace_labels),
     .description = "add the namespace's labels under kubernetes_namespace (watches "
                    "namespaces)"},
    {.name = "namespace_annotations",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(namespace_annotations),
     .description = "add the namespace's annotations under kubernetes_namespace (watches "
                    "namespaces)"},
    {.name = "use_pod_annotations",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(use_pod_annotations),
     .description = "obey the pods' exclude and parser annotations, under skiff.io/ or "
                    "fluentbit.io/ (Fluent Bit's K8S-Logging.Exclude and K8S-Logging.Parser)"},
    {.name = "merge_log",
     .type = OPT_BOOL,
     .default_value = "false",
     .offset = OPT(merge_log),
     .description = "parse a `log_key` text that holds a JSON object into fields"},
    {.name = "merge_log_key",
     .type = OPT_STRING,
     .default_value = "",
     .offset = OPT(merge_log_key),
     .description = "field the merged object goes under; \"\": the record's root"},
    {.name = "merge_log_trim",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(merge_log_trim),
     .description = "remove line breaks (and written \\n, \\r) that end the merged object's "
                    "string values, as Fluent Bit does"},
    {.name = "keep_log",
     .type = OPT_BOOL,
     .default_value = "true",
     .offset = OPT(keep_log),
     .description = "keep the `log_key` text after merge_log or an annotation's parser"},
    {.name = "log_key",
     .type = OPT_STRING,
     .default_value = "log",
     .offset = OPT(log_key),
     .description = "field holding the container's line"},
    {.name = "path_key",
     .type = OPT_STRING,
     .default_value = "path",
     .offset = OPT(path_key),
     .description = "field holding the log file's path (the tail input's path_key)"},
    {.name = "metadata_wait",
     .type = OPT_DURATION,
     .default_value = "2s",
     .min = 0,
     .max = 60000,
     .offset = OPT(metadata_wait_ms),
     .description = "how long a new pod's records wait for its metadata; 0: never"},
    {.name = "hold_buffer_size",
     .type = OPT_SIZE,
     .default_value = "64MiB",
     .min = 64 << 10,
     .max = 1LL << 30,
     .offset = OPT(hold_buffer_size),
     .description = "records waiting for metadata beyond this go on without; they also count "
                    "against their input's buffer_limit, which pauses the input first"},
    {.name = "cache_size",
     .type = OPT_INT,
     .default_value = "5000",
     .min = 1,
     .max = 1000000,
     .offset = OPT(cache_size),
     .description = "pods kept in the cache"},
    {.name = "cache_ttl",
     .type = OPT_DURATION,
     .default_value = "5m",
     .min = 0,
     .max = 86400000,
     .offset = OPT(cache_ttl_ms),
     .description = "how long a deleted pod's metadata is kept for its last lines"},
    {.name = "max_event_size",
     .type = OPT_SIZE,
     .default_value = "16MiB",
     .min = 64 << 10,
     .max = 1LL << 30,
     .offset = OPT(max_event_size),
     .description = "largest watch event; a larger one is counted and the watch restarted"},
    {.name = "pod_get_rate",
     .type = OPT_INT,
     .default_value = "5",
     .min = 1,
     .max = 1000,
     .offset = OPT(pod_get_rate),
     .description = "GETs per second, at most, for pods the watch has not brought"},
    {.name = "backoff_max",
     .type = OPT_DURATION,
     .default_value = "30s",
     .min = 1000,
     .max = 3600000,
     .offset = OPT(backoff_max_ms),
     .description = "longest wait between attempts to reach the API server"},
    {0},
};

/* ---- validation ---- */

/* token_file and ca_file default to the service account's files only in the
 * cluster (api_url unset); with an explicit api_url they default to none and
 * the system's CAs. Returns "" for none. */
static const char *in_cluster_default(const struct k8s_filter_options *opts, const char *value,
                                      const char *service_account_file)
{
    if (value)
        return value;
    return opts->api_url[0] ? "" : service_account_file;
}

static const char *token_path(const struct k8s_filter_options *opts)
{
    return in_cluster_default(opts, opts->token_file, SA_DIR "/token");
}

static const char *ca_path(const struct k8s_filter_options *opts)
{
    return in_cluster_default(opts, opts->ca_file, SA_DIR "/ca.crt");
}

static bool needs_api_server(const struct k8s_filter_options *opts)
{
    return !opts->use_kubelet || opts->namespace_labels || opts->namespace_annotations;
}

static bool url_ok(const char *url)
{
    const char *rest = NULL;
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    return rest && rest[0] && rest[0] != '/' && rest[0] != ':' && !strchr(rest, ' ');
}

static void check_file(const char *option, const char *path, const struct cfg_node *node,
                       const char *context, struct diag_list *diags, int *problems)
{
    if (!path[0] || access(path, R_OK) == 0)
        return;
    const struct cfg_node *at = cfg_map_get(node, option);
    diag_add(diags, at ? at : node,
             "%s: option '%s': cannot read '%s': %s (outside a cluster set %s to a readable "
             "file, or to \"\" for %s)",
             context, option, path, strerror(errno), option,
             strcmp(option, "token_file") == 0 ? "no token" : "the system's CAs");
    (*problems)++;
}

/* user:password@ before the host: such a URL would show the password in every
 * log line that names the server, so it is refused (and not repeated). */
static bool url_has_credentials(const char *url)
{
    const char *authority = strstr(url, "://");
    authority = authority ? authority + 3 : url;
    size_t len = strcspn(authority, "/?#");
    return memchr(authority, '@', len) != NULL;
}

static void check_url(const char *option, const char *url, const struct cfg_node *node,
                      const char *context, struct diag_list *diags, int *problems)
{
    const struct cfg_node *at = cfg_map_get(node, option);
    if (url_has_credentials(url)) {
        diag_add(diags, at ? at : node,
                 "%s: option '%s': the URL holds credentials (user:password@), which would "
                 "show in logs; the API server takes a bearer token: use token_file",
                 context, option);
        (*problems)++;
        return;
    }
    if (url_ok(url))
        return;
    diag_add(diags, at ? at : node,
             "%s: option '%s': '%s' is not an http:// or https:// URL with a host", context, option,
             url);
    (*problems)++;
}

static int k8s_validate(const void *options, const struct cfg_node *node, const char *context,
                        struct diag_list *diags)
{
    const struct k8s_filter_options *opts = options;
    int problems = 0;
    if (needs_api_server(opts)) {
        if (opts->api_url[0])
            check_url("api_url", opts->api_url, node, context, diags, &problems);
        else if (!getenv("KUBERNETES_SERVICE_HOST")) {
            diag_add(diags, node,
                     "%s: api_url is not set and KUBERNETES_SERVICE_HOST is not in the "
                     "environment (not running in a pod?): set api_url",
                     context);
            problems++;
        }
    }
    if (opts->use_kubelet)
        check_url("kubelet_url", opts->kubelet_url, node, context, diags, &problems);
    check_file("token_file", token_path(opts), node, context, diags, &problems);
    if (opts->tls_verify)
        check_file("ca_file", ca_path(opts), node, context, diags, &problems);
    const char *env_node = getenv("NODE_NAME");
    if (!opts->node_name[0] && (!env_node || !env_node[0])) {
        diag_add(diags, node,
                 "%s: node_name is not set and NODE_NAME is not in the environment: set "
                 "node_name, or pass spec.nodeName as NODE_NAME in the DaemonSet",
                 context);
        problems++;
    }
    return problems ? -1 : 0;
}

/* ---- start and stop ---- */

/* A series of the filter; `reason` (NULL: none) labels it besides its instance. */
static struct metric *k8s_metric(const struct instance *f, bool gauge, const char *name,
                                 const char *help, const char *reason)
{
    struct buf labels = BUF_INIT;
    metrics_labels(&labels, "instance", f->alias, reason ? "reason" : NULL, reason, NULL);
    struct metric *m = gauge ? metrics_gauge(name, help, buf_cstr(&labels))
                             : metrics_counter(name, help, buf_cstr(&labels));
    buf_free(&labels);
    return m;
}

static void k8s_metrics_init(struct instance *f, struct k8s_filter_metrics *m)
{
    static const char *const reasons[K8S_NO_META_COUNT] = {
        [K8S_NO_META_PATH] = "not_a_pod_file", [K8S_NO_META_NOT_CACHED] = "not_cached",
        [K8S_NO_META_WAIT] = "wait_timeout",   [K8S_NO_META_API] = "api_unavailable",
        [K8S_NO_META_FULL] = "hold_full",      [K8S_NO_META_SHUTDOWN] = "shutdown",
    };
    m->hits =
        k8s_metric(f, false, "skiff_k8s_cache_hits_total", "Pod lookups the cache answered", NULL);
    m->misses = k8s_metric(f, false, "skiff_k8s_cache_misses_total",
                           "Pod lookups the cache could not answer", NULL);
    m->pods = k8s_metric(f, true, "skiff_k8s_cache_pods", "Pods in the cache", NULL);
    m->evicted = k8s_metric(f, false, "skiff_k8s_cache_evictions_total",
                            "Pods pushed out of the cache by cache_size", NULL);
    m->held = k8s_metric(f, false, "skiff_k8s_records_held_total",
                         "Records that waited for their pod's metadata", NULL);
    m->held_now = k8s_metric(f, true, "skiff_k8s_records_waiting",
                             "Records waiting for their pod's metadata now", NULL);
    m->held_bytes =
        k8s_metric(f, true, "skiff_k8s_records_waiting_bytes",
                   "Bytes of the records waiting now (bounded by hold_buffer_size)", NULL);
    for (int i = 0; i < K8S_NO_META_COUNT; i++)
        m->no_meta[i] = k8s_metric(f, false, "skiff_k8s_records_without_metadata_total",
                                   "Records that went on without the API's metadata", reasons[i]);
    m->merge_failed =
        k8s_metric(f, false, "skiff_k8s_merge_log_failures_total",
                   "log texts that looked like a JSON object but did not parse", NULL);
    m->merge_collisions =
        k8s_metric(f, false, "skiff_k8s_merge_key_collisions_total",
                   "members of merged lines left out because the record already had the key", NULL);
}

/* The timers run only while they have work, so that an idle node's agent
 * sleeps: the tick while records wait for metadata, the expiry when a source
 * or a deleted pod is due to be forgotten. */
static void k8s_on_tick(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct instance *f = data;
    struct k8s_filter_state *state = f->state;
    k8s_hold_tick(f);
    if (!state->waiting) {
        loop_cancel_timer(loop, timer); /* safe within its own callback */
        state->timer = NULL;
    }
}

void k8s_tick_arm(struct instance *f)
{
    const struct k8s_filter_options *opts = f->options;
    struct k8s_filter_state *state = f->state;
    if (state->timer)
        return;
    int64_t tick = opts->metadata_wait_ms / 4;
    tick = tick < TICK_MIN_MS ? TICK_MIN_MS : tick > TICK_MAX_MS ? TICK_MAX_MS : tick;
    state->timer = loop_add_timer(f->loop, tick, tick, k8s_on_tick, f);
}

static void k8s_on_expire(struct loop *loop, struct loop_timer *timer, void *data)
{
    struct instance *f = data;
    struct k8s_filter_state *state = f->state;
    state->expire_timer = NULL; /* one-shot */
    int64_t now = loop_now_ms(loop);
    int64_t due = k8s_hold_expire(f, now);
    if (due != INT64_MAX)
        k8s_expire_arm(f, due - now);
}

void k8s_expire_arm(struct instance *f, int64_t delay_ms)
{
    struct k8s_filter_state *state = f->state;
    if (state->expire_timer)
        return;
    /* At most one sweep per K8S_EXPIRE_EVERY_MS, however many are due. */
    if (delay_ms < K8S_EXPIRE_EVERY_MS)
        delay_ms = K8S_EXPIRE_EVERY_MS;
    state->expire_timer = loop_add_timer(f->loop, delay_ms, 0, k8s_on_expire, f);
}

static char *k8s_resolve_api_url(const struct k8s_filter_options *opts)
{
    if (opts->api_url[0]) {
        size_t len = strlen(opts->api_url);
        while (len > 0 && opts->api_url[len - 1] == '/')
            len--;
        return xstrndup(opts->api_url, len);
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host)
        return xstrdup("https://kubernetes.default.svc");
    bool ipv6 = strchr(host, ':') != NULL;
    return xasprintf("https://%s%s%s:%s", ipv6 ? "[" : "", host, ipv6 ? "]" : "",
                     port && port[0] ? port : "443");
}

static void k8s_destroy(struct instance *f);

static int k8s_init(struct instance *f)
{
    const struct k8s_filter_options *opts = f->options;
    struct k8s_filter_state *state = xcalloc(1, sizeof *state);
    state->f = f;
    state->path_key_len = strlen(opts->path_key);
    f->state = state;
    k8s_metrics_init(f, &state->metrics);
    state->api_url = k8s_resolve_api_url(opts);
    state->node_name = xstrdup(opts->node_name[0] ? opts->node_name : getenv("NODE_NAME"));
    struct k8s_cache_options cache_opts = {
        .max_pods = (size_t)opts->cache_size,
        .ttl_ms = opts->cache_ttl_ms,
        .meta = {.labels = opts->labels,
                 .annotations = opts->annotations,
                 .owner_references = opts->owner_references,
                 .dedot = opts->dedot},
        .namespace_labels = opts->namespace_labels,
        .namespace_annotations = opts->namespace_annotations,
        .hits = state->metrics.hits,
        .misses = state->metrics.misses,
        .size = state->metrics.pods,
        .evicted = state->metrics.evicted,
    };
    state->cache = k8s_cache_create(&cache_opts);
    struct k8s_api_options api_opts = {
        .alias = f->alias,
        .api_url = state->api_url,
        .kubelet_url = opts->kubelet_url,
        .token_file = token_path(opts),
        .ca_file = ca_path(opts)[0] ? ca_path(opts) : NULL,
        .tls_verify = opts->tls_verify,
        .node_name = state->node_name,
        .use_kubelet = opts->use_kubelet,
        .kubelet_interval_ms = opts->kubelet_interval_ms,
        .watch_namespaces = opts->namespace_labels || opts->namespace_annotations,
        .max_event_bytes = (size_t)opts->max_event_size,
        .backoff_min_ms = 500,
        .backoff_max_ms = opts->backoff_max_ms,
        .request_timeout_ms = 30000,
        .watch_timeout_ms = 300000,
        .pod_gets_per_second = (int)opts->pod_get_rate,
    };
    state->api = k8s_api_start(f->loop, &api_opts, state->cache, k8s_hold_changed, f);
    if (!state->api) {
        k8s_destroy(f); /* the pipeline destroys only what started */
        return -1;
    }
    log_info(f->alias, "node %s: metadata from %s", state->node_name,
             opts->use_kubelet ? opts->kubelet_url : state->api_url);
    if (!opts->tls_verify)
        log_warn(f->alias, "tls_verify is false: the API server's certificate is not checked, "
                           "so anyone on the path can read the token and forge pod metadata");
    return 0;
}

/* Records still held are freed unacknowledged: a restart reads them again. */
static void k8s_destroy(struct instance *f)
{
    struct k8s_filter_state *state = f->state;
    if (!state)
        return;
    k8s_api_stop(state->api);
    if (state->timer)
        loop_cancel_timer(f->loop, state->timer);
    if (state->expire_timer)
        loop_cancel_timer(f->loop, state->expire_timer);
    k8s_hold_free(state);
    k8s_cache_destroy(state->cache);
    free(state->api_url);
    free(state->node_name);
    free(state);
    f->state = NULL;
}

const struct plugin filter_kubernetes_plugin = {
    .name = "kubernetes",
    .kind = PLUGIN_FILTER,
    .description = "adds the pod's metadata (namespace, pod, container, image, labels, owner) "
                   "from the Kubernetes API",
    .options = k8s_options_table,
    .options_size = sizeof(struct k8s_filter_options),
    .validate = k8s_validate,
    .init = k8s_init,
    .destroy = k8s_destroy,
    .filter = k8s_filter_record,
    .drain = k8s_hold_drain,
};
