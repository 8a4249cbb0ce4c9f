/* Builds the `kubernetes` metadata map of a container (see k8s_meta.h). Reads
 * Pod objects defensively: they come from the network, so every member is
 * checked for its type before use. Not where metadata is cached or shared
 * between records: the filter does that with attachments. */
#include "k8s_meta.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_lists[] = {"containerStatuses", "initContainerStatuses",
                                           "ephemeralContainerStatuses"};
static const char *const spec_lists[] = {"containers", "initContainers", "ephemeralContainers"};

/* Member `key` of `v`, if `v` is a map and the member is of `type`. */
static const struct value *member(const struct value *v, const char *key, enum value_type type)
{
    if (!v || v->type != VALUE_MAP)
        return NULL;
    const struct value *m = value_map_get(&v->as.map, key, strlen(key));
    return m && m->type == type ? m : NULL;
}

/* Member `key` of `v` if it is a non-empty string. */
static const struct value *member_text(const struct value *v, const char *key)
{
    const struct value *m = member(v, key, VALUE_STRING);
    return m && m->as.string.len > 0 ? m : NULL;
}

static bool text_equals(const struct value *s, const char *text)
{
    return s->as.string.len == strlen(text) &&
           memcmp(s->as.string.ptr, text, s->as.string.len) == 0;
}

static void set_string(struct value *map, const char *key, const char *s, size_t len)
{
    struct value v = value_string(s, len);
    value_map_set(&map->as.map, key, strlen(key), &v);
}

/* Copies the string `s` under `key`; nothing if `s` is NULL. */
static void copy_text(struct value *map, const char *key, const struct value *s)
{
    if (s)
        set_string(map, key, s->as.string.ptr, s->as.string.len);
}

static void copy_cstring(struct value *map, const char *key, const char *s)
{
    if (s)
        set_string(map, key, s, strlen(s));
}

/* The item of `list` (an array of maps, or NULL) whose "name" is `name`. */
static const struct value *find_named(const struct value *list, const char *name)
{
    if (!list)
        return NULL;
    for (uint32_t i = 0; i < list->as.array.count; i++) {
        const struct value *item = &list->as.array.items[i];
        const struct value *item_name = member_text(item, "name");
        if (item_name && text_equals(item_name, name))
            return item;
    }
    return NULL;
}

/* The container `name` in any of the three `lists` of `parent`. */
static const struct value *find_container(const struct value *parent, const char *const lists[3],
                                          const char *name)
{
    for (size_t i = 0; i < 3; i++) {
        const struct value *found = find_named(member(parent, lists[i], VALUE_ARRAY), name);
        if (found)
            return found;
    }
    return NULL;
}

/* A status's containerID is "<runtime>://<id>" and its imageID may be
 * "docker-pullable://<image>@sha256:..." or "docker://sha256:...": dashboards
 * want what follows the scheme, as Fluent Bit gives it. A value without a
 * scheme (containerd's "docker.io/library/nginx@sha256:...") stays whole. */
static void copy_without_scheme(struct value *out, const char *key, const struct value *text)
{
    if (!text)
        return;
    const char *p = text->as.string.ptr;
    size_t len = text->as.string.len;
    const char *sep = memmem(p, len, "://", 3);
    if (sep) {
        len -= (size_t)(sep + 3 - p);
        p = sep + 3;
    }
    if (len > 0)
        set_string(out, key, p, len);
}

static void set_container_fields(struct value *out, const struct value *spec,
                                 const struct value *status, const char *container,
                                 const char *docker_id)
{
    const struct value *container_status = find_container(status, status_lists, container);
    const struct value *image = member_text(container_status, "image");
    if (!image)
        image = member_text(find_container(spec, spec_lists, container), "image");
    if (docker_id)
        copy_cstring(out, "docker_id", docker_id);
    else
        copy_without_scheme(out, "docker_id", member_text(container_status, "containerID"));
    copy_text(out, "container_image", image);
    copy_without_scheme(out, "container_hash", member_text(container_status, "imageID"));
}

/* The ownerReference marked controller: {"kind":..., "name":...}. */
static void set_owner(struct value *out, const struct value *metadata)
{
    const struct value *refs = member(metadata, "ownerReferences", VALUE_ARRAY);
    if (!refs)
        return;
    for (uint32_t i = 0; i < refs->as.array.count; i++) {
        const struct value *ref = &refs->as.array.items[i];
        const struct value *controller = member(ref, "controller", VALUE_BOOL);
        const struct value *kind = member_text(ref, "kind");
        const struct value *name = member_text(ref, "name");
        if (!controller || !controller->as.boolean || !kind || !name)
            continue;
        struct value owner = value_map_new();
        copy_text(&owner, "kind", kind);
        copy_text(&owner, "name", name);
        value_map_set(&out->as.map, "owner", strlen("owner"), &owner);
        return;
    }
}

void k8s_meta_set_map(struct value *out, const char *field, const struct value *source, bool dedot)
{
    if (!source || source->type != VALUE_MAP || source->as.map.count == 0)
        return;
    struct value copy = value_map_new();
    for (uint32_t i = 0; i < source->as.map.count; i++) {
        const struct map_entry *e = &source->as.map.entries[i];
        struct value v = value_clone(&e->value);
        char *key = xstrndup(e->key.ptr, e->key.len);
        for (size_t k = 0; dedot && k < e->key.len; k++) {
            if (key[k] == '.')
                key[k] = '_';
        }
        value_map_set(&copy.as.map, key, e->key.len, &v);
        free(key);
    }
    value_map_set(&out->as.map, field, strlen(field), &copy);
}

int k8s_meta_build(const struct value *pod, const char *container, const char *docker_id,
                   const struct k8s_meta_options *opts, struct value *out)
{
    const struct value *metadata = member(pod, "metadata", VALUE_MAP);
    const struct value *name = member_text(metadata, "name");
    const struct value *namespace_name = member_text(metadata, "namespace");
    if (!name || !namespace_name) {
        *out = value_null();
        return -1;
    }
    const struct value *spec = member(pod, "spec", VALUE_MAP);
    const struct value *status = member(pod, "status", VALUE_MAP);
    *out = value_map_new();
    copy_text(out, "pod_name", name);
    copy_text(out, "namespace_name", namespace_name);
    copy_text(out, "pod_id", member_text(metadata, "uid"));
    copy_text(out, "pod_ip", member_text(status, "podIP"));
    copy_text(out, "host", member_text(spec, "nodeName"));
    copy_cstring(out, "container_name", container);
    set_container_fields(out, spec, status, container, docker_id);
    set_owner(out, metadata);
    const struct value *refs = member(metadata, "ownerReferences", VALUE_ARRAY);
    if (opts->owner_references && refs && refs->as.array.count > 0) {
        struct value copy = value_clone(refs);
        value_map_set(&out->as.map, "ownerReferences", strlen("ownerReferences"), &copy);
    }
    if (opts->labels)
        k8s_meta_set_map(out, "labels", member(metadata, "labels", VALUE_MAP), opts->dedot);
    if (opts->annotations)
        k8s_meta_set_map(out, "annotations", member(metadata, "annotations", VALUE_MAP),
                         opts->dedot);
    return 0;
}

void k8s_meta_from_path(const struct k8s_path *path, struct value *out)
{
    *out = value_map_new();
    copy_cstring(out, "pod_name", path->pod_name);
    copy_cstring(out, "namespace_name", path->namespace_name);
    copy_cstring(out, "pod_id", path->pod_uid);
    copy_cstring(out, "container_name", path->container_name);
    copy_cstring(out, "docker_id", path->container_id);
}
