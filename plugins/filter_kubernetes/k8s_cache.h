/* The kubernetes filter's pod cache: the Pod objects of this node by
 * "<namespace>/<name>", each with its `kubernetes` attachments (one per
 * container and log file's container id, built once and shared by every
 * record of that container), and, when namespace labels or annotations are
 * wanted, each namespace's `kubernetes_namespace` attachment
 * ({"name", "labels", "annotations"}, as Fluent Bit writes it). Bounded by a
 * number of pods (least recently used go first); a deleted pod stays for a
 * time-to-live so its last lines are still enriched. Not the API client: it
 * is fed objects and asked questions, nothing more. Pipeline thread only. */
#ifndef SKIFF_K8S_CACHE_H
#define SKIFF_K8S_CACHE_H

#include "k8s_meta.h"
#include "metrics.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

#define K8S_ATTACHMENT_KEY "kubernetes"
#define K8S_NAMESPACE_ATTACHMENT_KEY "kubernetes_namespace"

struct k8s_cache_options {
    size_t max_pods;
    int64_t ttl_ms; /* how long a deleted pod is kept */
    struct k8s_meta_options meta;
    bool namespace_labels;
    bool namespace_annotations;
    /* Counted when not NULL. */
    struct metric *hits, *misses, *size, *evicted;
};

struct k8s_cache;
struct k8s_pod;

struct k8s_cache *k8s_cache_create(const struct k8s_cache_options *opts);
void k8s_cache_destroy(struct k8s_cache *cache);

/* The pod, alive or deleted within its TTL, or NULL; counts a hit or miss
 * and makes the pod the most recently used. `uid`, when not NULL, must match
 * the pod's (a pod recreated under the same name is another pod). */
struct k8s_pod *k8s_cache_find(struct k8s_cache *cache, const char *namespace_name,
                               const char *name, const char *uid);
/* Adds or replaces a pod; takes ownership of *object. Returns the entry, or
 * NULL (object freed) if it has no metadata.namespace and metadata.name. */
struct k8s_pod *k8s_cache_put(struct k8s_cache *cache, struct value *object);
/* Marks the pod as deleted at `now_ms`; it is removed after the TTL. */
void k8s_cache_delete(struct k8s_cache *cache, const struct value *object, int64_t now_ms);
/* A full LIST: pods not put between begin and end are marked deleted. */
void k8s_cache_sync_begin(struct k8s_cache *cache);
void k8s_cache_sync_end(struct k8s_cache *cache, int64_t now_ms);
/* Removes the deleted pods whose TTL is over; returns when the next one's is
 * (INT64_MAX: no pod is deleted). */
int64_t k8s_cache_expire(struct k8s_cache *cache, int64_t now_ms);
size_t k8s_cache_count(const struct k8s_cache *cache);
/* Changes whenever a pod is put or removed: a k8s_pod pointer found while the
 * version was V stays valid, and the answer of k8s_cache_find the same,
 * while the version is V. */
uint64_t k8s_cache_version(const struct k8s_cache *cache);

/* Namespaces (only kept with namespace_labels or namespace_annotations). */
void k8s_cache_put_namespace(struct k8s_cache *cache, const struct value *object);
void k8s_cache_delete_namespace(struct k8s_cache *cache, const struct value *object);

/* Changes whenever a namespace is put or deleted: the answer of
 * k8s_namespace_attachment, and the attachment it points to, stay the same
 * while the version is V. */
uint64_t k8s_cache_namespaces_version(const struct k8s_cache *cache);
/* The namespace's `kubernetes_namespace` attachment (borrowed), or NULL if
 * the namespace is not known or neither labels nor annotations are wanted. */
struct attachment *k8s_namespace_attachment(struct k8s_cache *cache, const char *namespace_name);

/* The attachment for the records of `container` whose log file's name gives
 * `docker_id` (NULL: none; see k8s_meta_build), borrowed: record_attach
 * takes its own reference. NULL only if the metadata cannot be built. */
struct attachment *k8s_pod_attachment(struct k8s_cache *cache, struct k8s_pod *pod,
                                      const char *container, const char *docker_id);
const struct value *k8s_pod_object(const struct k8s_pod *pod);
/* Set once a problem with the pod's annotations was logged, so it is logged
 * once per pod version; cleared when the pod changes. */
bool *k8s_pod_warned(struct k8s_pod *pod);

#endif
