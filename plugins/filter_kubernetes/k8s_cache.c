/* The pod cache (see k8s_cache.h): a hash map by "<namespace>/<name>" with a
 * least-recently-used list for the bound. A pod's attachments are built
 * lazily, on the first record of a container, and dropped when the pod
 * changes; a namespace's when it is put. */
#include "k8s_cache.h"

#include "hmap.h"
#include "k8s_watch_decode.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

struct k8s_container {
    struct k8s_container *next;
    char *name;
    char *docker_id; /* the log file's, or NULL */
    struct attachment *attachment;
};

struct k8s_pod {
    struct hmap_node node;
    struct k8s_pod *newer, *older; /* the LRU list */
    char *key;                     /* "<namespace>/<name>" */
    char *namespace_name;
    struct value object;
    bool warned;
    int64_t deleted_ms; /* 0 while the pod exists */
    uint64_t sync;      /* the sync round that last saw it */
    struct k8s_container *containers;
};

struct k8s_namespace {
    struct hmap_node node;
    char *name;
    struct attachment *attachment;
};

struct k8s_cache {
    struct k8s_cache_options opts;
    struct hmap pods, namespaces;
    struct k8s_pod *newest, *oldest;
    size_t count;
    uint64_t sync;
    uint64_t version;
    uint64_t namespaces_version; /* k8s_cache_namespaces_version */
};

static void count(struct metric *m, int64_t n)
{
    if (m)
        metric_add(m, n);
}

struct k8s_cache *k8s_cache_create(const struct k8s_cache_options *opts)
{
    struct k8s_cache *cache = xcalloc(1, sizeof *cache);
    cache->opts = *opts;
    return cache;
}

static void containers_free(struct k8s_pod *pod)
{
    for (struct k8s_container *c = pod->containers, *next; c; c = next) {
        next = c->next;
        attachment_unref(c->attachment);
        free(c->name);
        free(c->docker_id);
        free(c);
    }
    pod->containers = NULL;
}

static void lru_unlink(struct k8s_cache *cache, struct k8s_pod *pod)
{
    if (pod->newer)
        pod->newer->older = pod->older;
    else
        cache->newest = pod->older;
    if (pod->older)
        pod->older->newer = pod->newer;
    else
        cache->oldest = pod->newer;
    pod->newer = pod->older = NULL;
}

static void lru_push(struct k8s_cache *cache, struct k8s_pod *pod)
{
    pod->older = cache->newest;
    if (cache->newest)
        cache->newest->newer = pod;
    cache->newest = pod;
    if (!cache->oldest)
        cache->oldest = pod;
}

static void pod_remove(struct k8s_cache *cache, struct k8s_pod *pod)
{
    cache->version++;
    hmap_remove(&cache->pods, &pod->node);
    lru_unlink(cache, pod);
    containers_free(pod);
    value_free(&pod->object);
    free(pod->key);
    free(pod->namespace_name);
    free(pod);
    cache->count--;
    if (cache->opts.size)
        metric_set(cache->opts.size, (int64_t)cache->count);
}

static void namespace_free(struct k8s_namespace *ns)
{
    if (ns->attachment)
        attachment_unref(ns->attachment);
    free(ns->name);
    free(ns);
}

void k8s_cache_destroy(struct k8s_cache *cache)
{
    if (!cache)
        return;
    while (cache->oldest)
        pod_remove(cache, cache->oldest);
    hmap_free(&cache->pods);
    size_t bucket = 0;
    struct hmap_node *n = hmap_next(&cache->namespaces, &bucket, NULL);
    while (n) {
        struct hmap_node *next = hmap_next(&cache->namespaces, &bucket, n);
        namespace_free(hmap_entry(n, struct k8s_namespace, node));
        n = next;
    }
    hmap_free(&cache->namespaces);
    free(cache);
}

static struct k8s_pod *pod_lookup(const struct k8s_cache *cache, const char *key)
{
    uint64_t hash = hash_bytes(key, strlen(key));
    for (struct hmap_node *n = hmap_find(&cache->pods, hash); n; n = hmap_find_next(n)) {
        struct k8s_pod *pod = hmap_entry(n, struct k8s_pod, node);
        if (strcmp(pod->key, key) == 0)
            return pod;
    }
    return NULL;
}

static char *pod_key(const char *namespace_name, const char *name)
{
    return xasprintf("%s/%s", namespace_name, name);
}

struct k8s_pod *k8s_cache_find(struct k8s_cache *cache, const char *namespace_name,
                               const char *name, const char *uid)
{
    char *key = pod_key(namespace_name, name);
    struct k8s_pod *pod = pod_lookup(cache, key);
    free(key);
    if (pod && uid) {
        const char *pod_uid = k8s_object_meta(&pod->object, "uid");
        if (!pod_uid || strcmp(pod_uid, uid) != 0)
            pod = NULL;
    }
    if (!pod) {
        count(cache->opts.misses, 1);
        return NULL;
    }
    count(cache->opts.hits, 1);
    lru_unlink(cache, pod);
    lru_push(cache, pod);
    return pod;
}

static void cache_bound(struct k8s_cache *cache)
{
    while (cache->count > cache->opts.max_pods && cache->oldest) {
        pod_remove(cache, cache->oldest);
        count(cache->opts.evicted, 1);
    }
}

struct k8s_pod *k8s_cache_put(struct k8s_cache *cache, struct value *object)
{
    const char *name = k8s_object_meta(object, "name");
    const char *namespace_name = k8s_object_meta(object, "namespace");
    if (!name || !namespace_name) {
        value_free(object);
        return NULL;
    }
    char *key = pod_key(namespace_name, name);
    struct k8s_pod *pod = pod_lookup(cache, key);
    if (pod) {
        free(key);
        containers_free(pod);
        value_free(&pod->object);
        lru_unlink(cache, pod);
    } else {
        pod = xcalloc(1, sizeof *pod);
        pod->key = key;
        pod->namespace_name = xstrdup(namespace_name);
        hmap_insert(&cache->pods, &pod->node, hash_bytes(key, strlen(key)));
        cache->count++;
    }
    cache->version++;
    pod->object = *object;
    *object = value_null();
    pod->warned = false;
    pod->deleted_ms = 0;
    pod->sync = cache->sync;
    lru_push(cache, pod);
    if (cache->opts.size)
        metric_set(cache->opts.size, (int64_t)cache->count);
    cache_bound(cache); /* max_pods >= 1: never the newest */
    return pod;
}

void k8s_cache_delete(struct k8s_cache *cache, const struct value *object, int64_t now_ms)
{
    const char *name = k8s_object_meta(object, "name");
    const char *namespace_name = k8s_object_meta(object, "namespace");
    if (!name || !namespace_name)
        return;
    char *key = pod_key(namespace_name, name);
    struct k8s_pod *pod = pod_lookup(cache, key);
    free(key);
    if (pod && !pod->deleted_ms)
        pod->deleted_ms = now_ms > 0 ? now_ms : 1;
}

uint64_t k8s_cache_version(const struct k8s_cache *cache)
{
    return cache->version;
}

uint64_t k8s_cache_namespaces_version(const struct k8s_cache *cache)
{
    return cache->namespaces_version;
}

void k8s_cache_sync_begin(struct k8s_cache *cache)
{
    cache->sync++;
}

void k8s_cache_sync_end(struct k8s_cache *cache, int64_t now_ms)
{
    for (struct k8s_pod *pod = cache->newest; pod; pod = pod->older) {
        if (pod->sync != cache->sync && !pod->deleted_ms)
            pod->deleted_ms = now_ms > 0 ? now_ms : 1;
    }
}

int64_t k8s_cache_expire(struct k8s_cache *cache, int64_t now_ms)
{
    int64_t next = INT64_MAX;
    for (struct k8s_pod *pod = cache->oldest, *newer; pod; pod = newer) {
        newer = pod->newer;
        if (!pod->deleted_ms)
            continue;
        if (now_ms - pod->deleted_ms >= cache->opts.ttl_ms)
            pod_remove(cache, pod);
        else if (pod->deleted_ms + cache->opts.ttl_ms < next)
            next = pod->deleted_ms + cache->opts.ttl_ms;
    }
    return next;
}

size_t k8s_cache_count(const struct k8s_cache *cache)
{
    return cache->count;
}

/* ---- namespaces ---- */

static struct k8s_namespace *namespace_lookup(const struct k8s_cache *cache, const char *name)
{
    uint64_t hash = hash_bytes(name, strlen(name));
    for (struct hmap_node *n = hmap_find(&cache->namespaces, hash); n; n = hmap_find_next(n)) {
        struct k8s_namespace *ns = hmap_entry(n, struct k8s_namespace, node);
        if (strcmp(ns->name, name) == 0)
            return ns;
    }
    return NULL;
}

/* metadata.<key> of `object` if it is a map, else NULL. */
static const struct value *meta_map(const struct value *object, const char *key)
{
    const struct value *metadata = value_map_get(&object->as.map, "metadata", 8);
    if (!metadata || metadata->type != VALUE_MAP)
        return NULL;
    const struct value *m = value_map_get(&metadata->as.map, key, strlen(key));
    return m && m->type == VALUE_MAP ? m : NULL;
}

void k8s_cache_put_namespace(struct k8s_cache *cache, const struct value *object)
{
    const char *name = k8s_object_meta(object, "name");
    if (!name || (!cache->opts.namespace_labels && !cache->opts.namespace_annotations))
        return;
    struct k8s_namespace *ns = namespace_lookup(cache, name);
    if (!ns) {
        ns = xcalloc(1, sizeof *ns);
        ns->name = xstrdup(name);
        hmap_insert(&cache->namespaces, &ns->node, hash_bytes(name, strlen(name)));
    }
    struct value meta = value_map_new();
    struct value name_value = value_string(name, strlen(name));
    value_map_set(&meta.as.map, "name", 4, &name_value);
    bool dedot = cache->opts.meta.dedot;
    if (cache->opts.namespace_labels)
        k8s_meta_set_map(&meta, "labels", meta_map(object, "labels"), dedot);
    if (cache->opts.namespace_annotations)
        k8s_meta_set_map(&meta, "annotations", meta_map(object, "annotations"), dedot);
    if (ns->attachment)
        attachment_unref(ns->attachment);
    ns->attachment = attachment_new(K8S_NAMESPACE_ATTACHMENT_KEY, &meta);
    cache->namespaces_version++;
}

void k8s_cache_delete_namespace(struct k8s_cache *cache, const struct value *object)
{
    const char *name = k8s_object_meta(object, "name");
    struct k8s_namespace *ns = name ? namespace_lookup(cache, name) : NULL;
    if (!ns)
        return;
    hmap_remove(&cache->namespaces, &ns->node);
    namespace_free(ns);
    cache->namespaces_version++;
}

struct attachment *k8s_namespace_attachment(struct k8s_cache *cache, const char *namespace_name)
{
    const struct k8s_namespace *ns = namespace_lookup(cache, namespace_name);
    return ns ? ns->attachment : NULL;
}

/* ---- pod attachments ---- */

static bool same_id(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

struct attachment *k8s_pod_attachment(struct k8s_cache *cache, struct k8s_pod *pod,
                                      const char *container, const char *docker_id)
{
    struct k8s_container **link = &pod->containers;
    for (; *link; link = &(*link)->next) {
        if (strcmp((*link)->name, container) == 0 && same_id((*link)->docker_id, docker_id))
            return (*link)->attachment;
    }
    struct value meta;
    if (k8s_meta_build(&pod->object, container, docker_id, &cache->opts.meta, &meta) != 0)
        return NULL;
    struct k8s_container *c = xcalloc(1, sizeof *c);
    c->name = xstrdup(container);
    c->docker_id = docker_id ? xstrdup(docker_id) : NULL;
    c->attachment = attachment_new(K8S_ATTACHMENT_KEY, &meta);
    *link = c;
    return c->attachment;
}

const struct value *k8s_pod_object(const struct k8s_pod *pod)
{
    return &pod->object;
}

bool *k8s_pod_warned(struct k8s_pod *pod)
{
    return &pod->warned;
}
