/* Shared between the parts of the `kubernetes` filter: filter_kubernetes.c
 * (options, validation, start) and k8s_hold.c (the records: enrichment and
 * holding them while their pod's metadata is on its way). */
#ifndef SKIFF_K8S_FILTER_H
#define SKIFF_K8S_FILTER_H

#include "hmap.h"
#include "k8s_api.h"
#include "k8s_cache.h"
#include "plugin_api.h"

#include <stdbool.h>
#include <stdint.h>

struct k8s_filter_options {
    char *api_url;
    char *token_file;
    char *ca_file;
    bool tls_verify;
    char *node_name;
    bool use_kubelet;
    char *kubelet_url;
    int64_t kubelet_interval_ms;
    bool labels;
    bool annotations;
    bool owner_references;
    bool dedot;
    bool namespace_labels;
    bool namespace_annotations;
    bool use_pod_annotations;
    bool merge_log;
    char *merge_log_key;
    bool merge_log_trim;
    bool keep_log;
    char *log_key;
    char *path_key;
    int64_t metadata_wait_ms;
    int64_t hold_buffer_size;
    int64_t cache_size;
    int64_t cache_ttl_ms;
    int64_t max_event_size;
    int64_t pod_get_rate;
    int64_t backoff_max_ms;
};

struct k8s_source;

/* Why a record went on without the API's metadata (only with what its file
 * name gives, or nothing when the name is not a pod's). */
enum k8s_no_meta {
    K8S_NO_META_PATH,       /* no path field, or not a pod's log file */
    K8S_NO_META_NOT_CACHED, /* metadata_wait is 0 and the pod is not known */
    K8S_NO_META_WAIT,       /* metadata_wait ran out */
    K8S_NO_META_API,        /* the API server is failing: no wait */
    K8S_NO_META_FULL,       /* hold_buffer_size was reached */
    K8S_NO_META_SHUTDOWN,   /* handed on at shutdown */
    K8S_NO_META_COUNT,
};

struct k8s_filter_metrics {
    struct metric *hits, *misses, *pods, *evicted;
    struct metric *held, *held_now, *held_bytes;
    struct metric *no_meta[K8S_NO_META_COUNT];
    struct metric *merge_failed;
    struct metric *merge_collisions;
    struct metric *excluded; /* dropped by exclude annotations; looked up on the first */
};

struct k8s_filter_state {
    struct instance *f;
    struct k8s_cache *cache;
    struct k8s_api *api;
    struct hmap sources;
    struct k8s_source *waiting; /* sources holding records, oldest first */
    struct k8s_source *waiting_tail;
    size_t held_records, held_bytes;
    struct loop_timer *timer;        /* the tick, while records wait */
    struct loop_timer *expire_timer; /* while a source or deleted pod is to expire */
    struct k8s_filter_metrics metrics;
    bool warned_no_path, warned_not_pod, warned_attach, warned_excluded, warned_collision;
    char *api_url, *ca_file; /* resolved */
    char *node_name;
    size_t path_key_len; /* strlen(path_key), read for every record */
};

/* k8s_hold.c */
enum filter_result k8s_filter_record(struct instance *f, struct instance *input, const char *tag,
                                     struct record *rec);
/* The cache changed or the API's health did: hands on what can go. */
void k8s_hold_changed(void *data);
/* Periodic while records wait: waits that are over, GETs for pods still
 * missing. */
void k8s_hold_tick(struct instance *f);
/* Forgets idle sources and pods deleted for cache_ttl; returns when the next
 * is due (INT64_MAX: none). */
int64_t k8s_hold_expire(struct instance *f, int64_t now);

/* filter_kubernetes.c: the timers, armed only while they have work. */
enum { K8S_EXPIRE_EVERY_MS = 1000 };
/* Starts the tick if it is not running (it stops when nothing waits). */
void k8s_tick_arm(struct instance *f);
/* Runs k8s_hold_expire in `delay_ms` (at least K8S_EXPIRE_EVERY_MS), unless
 * it is due already. */
void k8s_expire_arm(struct instance *f, int64_t delay_ms);
void k8s_hold_drain(struct instance *f);
/* Frees every source; records still held are freed unacknowledged. */
void k8s_hold_free(struct k8s_filter_state *state);

#endif
