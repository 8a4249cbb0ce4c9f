/* Shared between k8s_api.c (requests, token, GETs, kubelet polling) and
 * k8s_watcher.c (the LIST+WATCH state machine). Not for the filter. */
#ifndef SKIFF_K8S_API_INTERNAL_H
#define SKIFF_K8S_API_INTERNAL_H

#include "http_client.h"
#include "k8s_api.h"
#include "k8s_watch_decode.h"

#include "hmap.h"

#include <sys/types.h>
#include <time.h>

struct loop_timer;
struct pod_fetch;

/* One LIST+WATCH of a resource. */
struct k8s_watcher {
    struct k8s_api *api;
    const char *resource; /* "pods" or "namespaces", for logs and metrics */
    bool pods;
    char *list_url;
    char *url; /* of the request in flight */
    char *resource_version;
    struct http_call *call;
    struct loop_timer *timer;
    struct k8s_stream stream;
    const char *abort_reason; /* why on_data stopped the watch */
    bool relist;              /* the next request is a LIST */
    bool synced;
    bool warned_bad_event;
    unsigned failures;
    size_t events_applied; /* since `changed` was last called */
};

struct k8s_api {
    struct loop *loop;
    struct k8s_api_options opts;
    struct k8s_cache *cache;
    k8s_api_changed_cb *changed;
    void *changed_data;
    struct http_client *http;
    struct http_tls tls;
    /* The bearer token, re-read when the file changes. */
    char *auth_header;
    struct timespec token_mtime;
    off_t token_size;
    ino_t token_ino;
    bool token_warned;
    struct k8s_watcher pods, namespaces;
    /* use_kubelet */
    struct loop_timer *kubelet_timer;
    struct http_call *kubelet_call;
    char *kubelet_url;
    unsigned kubelet_failures;
    /* Per-pod GETs */
    struct pod_fetch *fetches; /* in flight */
    size_t fetches_in_flight;
    struct hmap fetched; /* pods already asked for, with when */
    double get_tokens;
    int64_t get_tokens_ms;
    struct metric *bad_events;
    uint64_t random_state; /* for jitter; seeded per process */
};

/* Starts a GET of `url` with the token and TLS settings; `on_data` NULL
 * collects the body. Returns NULL if the client refused (logged). */
struct http_call *k8s_api_get(struct k8s_api *api, const char *url, int64_t timeout_ms,
                              http_data_cb *on_data, http_done_cb *on_done, void *data);
/* Counts a finished request in skiff_k8s_api_requests_total{verb,code}; a 401
 * also makes the token be read again. */
void k8s_api_count(struct k8s_api *api, const char *verb, const struct http_response *response);
/* The delay before retry number `failures` (1, 2, ...): exponential from
 * backoff_min to backoff_max, with jitter. */
int64_t k8s_api_backoff_ms(struct k8s_api *api, unsigned failures);
/* A pseudo-random number for jitter: differs between nodes, unlike random()
 * without a seed. */
uint64_t k8s_api_random(struct k8s_api *api);
/* Tells the filter. */
void k8s_api_notify(struct k8s_api *api);

void k8s_watcher_init(struct k8s_watcher *w, struct k8s_api *api, bool pods);
void k8s_watcher_start(struct k8s_watcher *w);
void k8s_watcher_stop(struct k8s_watcher *w);

#endif
