/* The kubernetes filter's link to the API server, on the pipeline loop through
 * http_client.h: one node-scoped LIST then WATCH of pods (and of namespaces
 * when their labels or annotations are wanted), relisting on 410 Gone,
 * reconnecting with exponential backoff and jitter; one rate-limited GET for a
 * pod the cache misses; or, with use_kubelet, polling the kubelet's /pods.
 * What it learns goes into the k8s_cache; the filter is told with `changed`.
 * Never blocks and never gives up: while the API is unreachable it retries. */
#ifndef SKIFF_K8S_API_H
#define SKIFF_K8S_API_H

#include "k8s_cache.h"

#include <stdbool.h>
#include <stdint.h>

struct loop;

struct k8s_api_options {
    const char *alias; /* for log lines and metric labels */
    const char *api_url;
    const char *kubelet_url; /* with use_kubelet */
    const char *token_file;  /* "" or NULL: no Authorization header */
    const char *ca_file;     /* NULL: the system's CAs */
    bool tls_verify;
    const char *node_name;
    bool use_kubelet;
    int64_t kubelet_interval_ms;
    bool watch_namespaces;
    size_t max_event_bytes; /* bound on one watch event */
    int64_t backoff_min_ms, backoff_max_ms;
    int64_t request_timeout_ms;
    int64_t watch_timeout_ms; /* the server ends a watch after about this long */
    int pod_gets_per_second;
};

/* The API's news for the filter: the cache changed (objects arrived) or the
 * link's health changed. */
typedef void k8s_api_changed_cb(void *data);

struct k8s_api;

/* Starts listing at once. Returns NULL after logging if the HTTP client
 * cannot be created. */
struct k8s_api *k8s_api_start(struct loop *loop, const struct k8s_api_options *opts,
                              struct k8s_cache *cache, k8s_api_changed_cb *changed, void *data);
void k8s_api_stop(struct k8s_api *api); /* cancels every request */

/* True once pods were listed, and while the link works (not in backoff after
 * a failure): records of an unknown pod are then worth holding a moment. */
bool k8s_api_healthy(const struct k8s_api *api);
/* True once the pods were listed (or polled from the kubelet) at least once. */
bool k8s_api_synced(const struct k8s_api *api);
/* True while namespaces are watched and their first LIST has neither
 * answered nor failed: a pod's metadata is then known without its
 * namespace's labels and annotations yet. */
bool k8s_api_namespaces_pending(const struct k8s_api *api);
/* Asks for one GET of a pod the cache misses. Returns false when the GET
 * must wait (pod_get_rate, or too many GETs in flight): ask again later.
 * Returns true once it is started, or made for the pod within the last
 * minute, or with use_kubelet (no GETs). */
bool k8s_api_fetch_pod(struct k8s_api *api, const char *namespace_name, const char *name);

#endif
